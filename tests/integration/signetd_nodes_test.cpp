// Several signetd nodes on one PostgreSQL ledger, made the way an operator makes them: node A by
// `signet setup --answers` with a [database] section, nodes B and C by `signet backup create` on A,
// then `signet setup` in mode restore-then-reinstall on their own data directories (each node has
// its own key store with the CA key; the ledger is shared). Real signetd processes on loopback,
// curl as the API client, openssl as the relying party, a PostgreSQL 15 server the test starts.
//
// Every wait is bounded; the figures (how fast a revocation reaches the other nodes) are measured
// by tests/bench/nodes.sh, not asserted here.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "signet/acme/jws.h"
#include "signet/crypto/key.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "support/openssl_cli.h"
#include "support/postgres_server.h"
#include "support/process.h"
#include "support/signetd_process.h"
#include "support/temp_dir.h"

namespace signet::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kSignetd = SIGNETD_PATH;
const std::string kSignet = SIGNET_CLI_PATH;
constexpr std::string_view kPassphrase = "nodes test passphrase";

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

ProcessResult cli(const fs::path& data_dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kSignet};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.env["SIGNET_DATA_DIR"] = data_dir.string();
  o.env["SIGNET_PASSPHRASE_FILE"] = (data_dir / "passphrase").string();
  return run_process(argv, o);
}

struct Http {
  int status = 0;
  std::string body;
  std::string headers;
  [[nodiscard]] json body_json() const { return json::parse(body, nullptr, false); }
};

// curl with `args` to `url`, trusting `ca`; its files in `scratch`.
Http curl_to(const fs::path& scratch, const fs::path& ca, const std::vector<std::string>& args, const std::string& url) {
  static std::atomic<int> next{0};
  const std::string n = std::to_string(++next);
  const fs::path out = scratch / ("body-" + n);
  const fs::path headers = scratch / ("headers-" + n);
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", "30", "--cacert", ca.string(), "-o", out.string(),
                                   "-D", headers.string(), "-w", "%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  const ProcessResult r = run_process(argv);
  Http h;
  h.status = std::atoi(r.out.c_str());
  if (fs::exists(out)) h.body = read_text(out);
  if (fs::exists(headers)) h.headers = read_text(headers);
  return h;
}

// The first CA with its ledger in PostgreSQL, and nodes made from its backup.
class Cluster {
 public:
  // `extra_config` goes into node A's signetd.toml before its backup, so every node has it.
  Cluster(PostgresServer& server, const std::string& database, const std::string& extra_config = "")
      : server_(server), database_(database) {
    (void)server_.create_database(database_);
    const fs::path a = node_dir(0);
    fs::create_directories(a);
    fs::permissions(a, fs::perms::owner_all);
    const ProcessResult setup = make_test_ca(kSignet, a, "issuing-ca", "Nodes Test CA", std::string(kPassphrase));
    EXPECT_EQ(setup.exit_code, 0) << describe(setup);
    write_text(a / "signetd.toml", read_text(a / "signetd.toml") + "[crl]\ndebounce = \"1s\"\n[database]\nurl = \"" +
                                       server_.url(database_) + "\"\npassword_file = \"" +
                                       server_.password_file().string() + "\"\n" + extra_config);
    const ProcessResult ops = cli(a, {"clients", "add", "ops", "--profile", "*", "--admin", "--json"});
    EXPECT_EQ(ops.exit_code, 0) << describe(ops);
    if (ops.exit_code == 0) {
      write_text(dir_ / "ops.auth",
                 "Authorization: Bearer " + json::parse(ops.out).at("token").get<std::string>() + "\n");
    }
    write_text(dir_ / "backup-passphrase", "nodes test backup passphrase\n");
    const ProcessResult backup = cli(a, {"backup", "create", "--out", (dir_ / "a.backup").string(),
                                         "--backup-passphrase-file", (dir_ / "backup-passphrase").string()});
    EXPECT_EQ(backup.exit_code, 0) << describe(backup);
  }

  // Node `i` > 0: restored from A's backup into its own data dir, then reinstalled.
  void add_node(int i) {
    const fs::path d = node_dir(i);
    fs::create_directories(d);
    fs::permissions(d, fs::perms::owner_all);
    write_text(d / "passphrase", std::string(kPassphrase));
    const std::string https_port = std::to_string(free_port());
    const std::string http_port = std::to_string(free_port());
    write_text(d / "answers.toml", "mode = \"restore-then-reinstall\"\ndata_dir = \"" + d.string() +
                                       "\"\nkey_name = \"issuing-ca\"\nbackup_file = \"" +
                                       (dir_ / "a.backup").string() + "\"\n[daemon]\nhttps_port = " + https_port +
                                       "\nhttp_port = " + http_port + "\n");
    ProcessOptions o;
    o.env = {{"SIGNET_DATA_DIR", d.string()}, {"SIGNET_PASSPHRASE_FILE", (d / "passphrase").string()}};
    const ProcessResult r = run_process({kSignet, "setup", "--answers", (d / "answers.toml").string(),
                                         "--backup-passphrase-file", (dir_ / "backup-passphrase").string()},
                                        o);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const std::string config = read_text(d / "signetd.toml");
    ASSERT_TRUE(contains(config, server_.url(database_))) << "the backup's [database] carries over:\n" << config;
    write_text(d / "signetd.toml",
               std::regex_replace(config, std::regex("port = (" + https_port + "|" + http_port + ")\n"), "port = 0\n"));
  }

  // Starts node `i`; false when it did not come up.
  bool start(int i) {
    nodes_[i] = std::make_unique<SignetdProcess>(kSignetd, node_dir(i) / "signetd.toml",
                                                 node_dir(i) / ("signetd-" + std::to_string(starts_++) + ".log"));
    if (!nodes_[i]->wait_for_log("listening on")) return false;
    urls_[i] = nodes_[i]->urls();
    return true;
  }
  SignetdProcess& node(int i) { return *nodes_[i]; }
  void forget(int i) { nodes_[i].reset(); }

  [[nodiscard]] fs::path node_dir(int i) const { return dir_ / ("node-" + std::to_string(i)); }
  [[nodiscard]] fs::path ca_pem() const { return node_dir(0) / "ca.pem"; }
  [[nodiscard]] const fs::path& dir() const { return dir_.path(); }

  Http curl(int i, const std::string& method, const std::string& path, const std::string& body = "",
            const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"-X", method, "-H", "@" + (dir_ / "ops.auth").string()};
    if (!body.empty()) {
      const fs::path file = dir_ / ("request-" + std::to_string(++requests_));
      write_text(file, body);
      args.insert(args.end(), {"-H", "Content-Type: application/json", "--data-binary", "@" + file.string()});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return curl_to(dir_.path(), ca_pem(), args, path.rfind("http", 0) == 0 ? path : urls_[i].first + path);
  }

  // A new CSR for `name`; returns its path.
  fs::path csr(const std::string& name) {
    const int n = ++requests_;
    const fs::path key = dir_ / ("leaf-" + std::to_string(n) + ".key");
    const fs::path csr = dir_ / ("leaf-" + std::to_string(n) + ".csr");
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             key.string(), "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name, "-out", csr.string()});
    return csr;
  }

  // Issues through node `i`: the status, and the serial on 201.
  std::pair<int, std::string> issue(int i, const fs::path& csr) {
    const Http r = curl(i, "POST", "/api/v1/certificates",
                        json{{"csr", read_text(csr)}, {"profile", "server-tls"}}.dump());
    const json j = r.body_json();
    return {r.status, r.status == 201 && j.is_object() ? j.value("serial", "") : std::string()};
  }

  // Every serial node `i` lists, by paging through GET /api/v1/certificates.
  std::vector<std::string> listed(int i) {
    std::vector<std::string> out;
    std::string next = "/api/v1/certificates?limit=100";
    for (int pages = 0; pages < 100 && !next.empty(); ++pages) {
      const Http r = curl(i, "GET", next);
      EXPECT_EQ(r.status, 200) << r.body;
      const json j = r.body_json();
      if (!j.is_object()) break;
      for (const json& item : j.at("items")) out.push_back(item.at("serial").get<std::string>());
      next = j.value("next", "");
    }
    return out;
  }

  // The certificate with `serial` in PEM, from node i's API.
  fs::path certificate(int i, const std::string& serial) {
    const Http r = curl(i, "GET", "/api/v1/certificates/" + serial);
    const fs::path pem = dir_ / ("cert-" + serial + ".pem");
    write_text(pem, r.body_json().value("certificate", ""));
    return pem;
  }

  // `openssl ocsp` against node i: "good", "revoked", "unknown", or what openssl said.
  std::string ocsp(int i, const fs::path& cert, bool nonce = true) {
    std::vector<std::string> argv = {"openssl", "ocsp", "-issuer", ca_pem().string(), "-cert", cert.string(),
                                     "-url", urls_[i].second + "/ocsp", "-CAfile", ca_pem().string(),
                                     "-timeout", "20"};
    if (!nonce) argv.push_back("-no_nonce");
    const ProcessResult r = run_process(argv);
    const std::string text = r.out + r.err;
    for (const char* status : {"revoked", "good", "unknown"}) {
      if (contains(text, std::string(": ") + status)) return status;
    }
    return text;
  }

  // Node i's CRL as text (openssl crl -text).
  std::string crl(int i) {
    const int n = ++requests_;
    const fs::path der = dir_ / ("crl-" + std::to_string(n) + ".der");
    const ProcessResult r = run_process({"curl", "-sS", "--max-time", "30", "-o", der.string(), urls_[i].second + "/crl"});
    if (r.exit_code != 0) return r.err;
    return openssl({"crl", "-inform", "DER", "-in", der.string(), "-noout", "-text"});
  }

  [[nodiscard]] const std::string& https_url(int i) { return urls_[i].first; }
  PostgresServer& server() { return server_; }
  [[nodiscard]] const std::string& database() const { return database_; }

 private:
  PostgresServer& server_;
  std::string database_;
  TempDir dir_;
  std::map<int, std::unique_ptr<SignetdProcess>> nodes_;
  std::map<int, std::pair<std::string, std::string>> urls_;
  std::atomic<int> requests_{0};  // names scratch files; requests run from several threads
  int starts_ = 0;
};

// Waits (bounded) until `f` returns true.
template <typename F>
bool eventually(F f, std::chrono::seconds limit = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return f();
}

TEST(SignetdNodes, ThreeNodesIssueAtOnceAndEverySerialIsEverywhereOnce) {
  Cluster c(PostgresServer::shared(), "nodes_three");
  c.add_node(1);
  c.add_node(2);
  const ProcessResult check = run_process({kSignetd, "--config", (c.node_dir(1) / "signetd.toml").string(), "--check"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);
  EXPECT_TRUE(contains(check.out + check.err, "ledger in PostgreSQL")) << describe(check);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.start(i)) << c.node(i).log();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(contains(c.node(i).log(), "the ledger is the PostgreSQL database")) << c.node(i).log();

  constexpr int kEach = 6;
  std::vector<std::vector<fs::path>> csrs(3);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < kEach; ++k) csrs[i].push_back(c.csr("n" + std::to_string(i) + "-" + std::to_string(k) + ".example.test"));
  }
  std::vector<std::future<std::vector<std::string>>> work;
  for (int i = 0; i < 3; ++i) {
    work.push_back(std::async(std::launch::async, [&c, &csrs, i] {
      std::vector<std::string> serials;
      for (const fs::path& csr : csrs[i]) {
        const auto [status, serial] = c.issue(i, csr);
        EXPECT_EQ(status, 201);
        if (!serial.empty()) serials.push_back(serial);
      }
      return serials;
    }));
  }
  std::multiset<std::string> issued;
  for (auto& w : work) {
    for (const std::string& s : w.get()) issued.insert(s);
  }
  ASSERT_EQ(issued.size(), static_cast<std::size_t>(3 * kEach));
  EXPECT_EQ(std::set<std::string>(issued.begin(), issued.end()).size(), issued.size()) << "a serial answered twice";
  // The CLI's client and the daemon's TLS certificates are not in the API's list; only these are.
  for (int i = 0; i < 3; ++i) {
    const std::vector<std::string> seen = c.listed(i);
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << "node " << i << " listed a serial twice";
    for (const std::string& s : issued) EXPECT_TRUE(unique.contains(s)) << "node " << i << " lacks " << s;
  }
  // A certificate from node 2 verifies against the CA every node serves.
  const fs::path pem = c.certificate(0, *issued.begin());
  EXPECT_TRUE(contains(openssl({"verify", "-CAfile", c.ca_pem().string(), pem.string()}), ": OK"));
}

TEST(SignetdNodes, ARevocationOnOneNodeReachesTheOcspAndCrlOfTheOthers) {
  Cluster c(PostgresServer::shared(), "nodes_revoke");
  c.add_node(1);
  c.add_node(2);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.start(i)) << c.node(i).log();
  const auto [status, serial] = c.issue(0, c.csr("revoked.example.test"));
  ASSERT_EQ(status, 201);
  const fs::path pem = c.certificate(1, serial);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.ocsp(i, pem), "good") << "node " << i;  // cached on every node now

  const Http revoke = c.curl(2, "POST", "/api/v1/certificates/" + serial + "/revoke", R"({"reason":"keyCompromise"})");
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(eventually([&] { return c.ocsp(i, pem) == "revoked"; })) << "node " << i << ": " << c.ocsp(i, pem);
    EXPECT_TRUE(eventually([&] { return contains(c.crl(i), "Serial Number: " + serial); })) << "node " << i;
  }
  // One node builds the CRLs, every node serves the newest: the same CRL, whichever node is asked.
  EXPECT_TRUE(eventually([&] {
    std::set<std::string> crls;
    for (int i = 0; i < 3; ++i) crls.insert(c.crl(i));
    return crls.size() == 1 && contains(*crls.begin(), "Serial Number: " + serial);
  })) << c.crl(0) << c.crl(1) << c.crl(2);
}

TEST(SignetdNodes, APublishedCrlEditedByHandIsNeverServed) {
  Cluster c(PostgresServer::shared(), "nodes_tampered");
  c.add_node(1);
  ASSERT_TRUE(c.start(0)) << c.node(0).log();
  ASSERT_TRUE(c.start(1)) << c.node(1).log();
  const std::string good = c.crl(1);
  ASSERT_TRUE(contains(good, "Certificate Revocation List")) << good;
  (void)c.server().psql(c.database(), "UPDATE published_crls SET der = '\\xdeadbeef', number = 999 WHERE kind = 'full'");
  ASSERT_TRUE(c.node(1).wait_for_log("not a CRL this CA signed")) << c.node(1).log();
  EXPECT_EQ(c.crl(1), good) << "the one before, not the edited bytes";
  // The builder's next CRL replaces the edited row, and every node serves it.
  const auto [status, serial] = c.issue(0, c.csr("tampered.example.test"));
  ASSERT_EQ(status, 201);
  ASSERT_EQ(c.curl(0, "POST", "/api/v1/certificates/" + serial + "/revoke", R"({"reason":"superseded"})").status, 200);
  EXPECT_TRUE(eventually([&] { return contains(c.crl(1), "Serial Number: " + serial); }, 20s)) << c.node(1).log();
}

TEST(SignetdNodes, WhenTheCrlBuilderDiesAnotherNodeTakesOver) {
  Cluster c(PostgresServer::shared(), "nodes_builder");
  c.add_node(1);
  c.add_node(2);
  ASSERT_TRUE(c.start(0)) << c.node(0).log();  // the first node up builds
  for (int i = 1; i < 3; ++i) ASSERT_TRUE(c.start(i)) << c.node(i).log();
  ASSERT_TRUE(eventually([&] { return contains(c.node(1).log(), "built by the node that builds"); }))
      << c.node(1).log();
  const auto [status, serial] = c.issue(1, c.csr("takeover.example.test"));
  ASSERT_EQ(status, 201);
  c.node(0).signal(SIGKILL);
  EXPECT_EQ(c.node(0).wait(10s), 128 + SIGKILL);
  c.forget(0);
  const Http revoke = c.curl(2, "POST", "/api/v1/certificates/" + serial + "/revoke", R"({"reason":"superseded"})");
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  // A node that is left builds a CRL with the revocation, and both serve it.
  EXPECT_TRUE(eventually([&] {
    const std::string one = c.crl(1);
    return contains(one, "Serial Number: " + serial) && one == c.crl(2);
  }, 30s)) << c.crl(1) << c.node(1).log() << c.node(2).log();
}

TEST(SignetdNodes, ANodeKilledUnderLoadLosesNothingAClientReceived) {
  Cluster c(PostgresServer::shared(), "nodes_kill");
  c.add_node(1);
  ASSERT_TRUE(c.start(0)) << c.node(0).log();
  ASSERT_TRUE(c.start(1)) << c.node(1).log();
  std::vector<fs::path> csrs;
  for (int k = 0; k < 20; ++k) csrs.push_back(c.csr("kill-" + std::to_string(k) + ".example.test"));
  std::atomic<bool> killed{false};
  auto load = std::async(std::launch::async, [&] {
    std::vector<std::string> received;
    for (const fs::path& csr : csrs) {
      const auto [status, serial] = c.issue(1, csr);
      if (status == 201) received.push_back(serial);
      if (killed) break;
    }
    return received;
  });
  std::this_thread::sleep_for(700ms);
  c.node(1).signal(SIGKILL);
  killed = true;
  EXPECT_EQ(c.node(1).wait(10s), 128 + SIGKILL);
  const std::vector<std::string> received = load.get();
  const std::vector<std::string> listed = c.listed(0);
  const std::set<std::string> on_a(listed.begin(), listed.end());
  for (const std::string& s : received) EXPECT_TRUE(on_a.contains(s)) << s << " was answered but is not in the ledger";
  // The killed node comes back and carries on.
  ASSERT_TRUE(c.start(1)) << c.node(1).log();
  EXPECT_EQ(c.issue(1, c.csr("after-kill.example.test")).first, 201);
}

TEST(SignetdNodes, WithoutItsDatabaseANodeAnswers503AndCachedOcspThenRecovers) {
  PostgresServer server;  // its own, to stop
  Cluster c(server, "nodes_outage");
  ASSERT_TRUE(c.start(0)) << c.node(0).log();
  const auto [status, serial] = c.issue(0, c.csr("before.example.test"));
  ASSERT_EQ(status, 201);
  const fs::path pem = c.certificate(0, serial);
  ASSERT_EQ(c.ocsp(0, pem, false), "good");
  const auto [status2, serial2] = c.issue(0, c.csr("uncached.example.test"));
  ASSERT_EQ(status2, 201);
  const fs::path uncached = c.certificate(0, serial2);
  const std::size_t before = c.listed(0).size();

  server.stop();
  const Http refused = c.curl(0, "POST", "/api/v1/certificates",
                              json{{"csr", read_text(c.csr("during.example.test"))}, {"profile", "server-tls"}}.dump());
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_TRUE(contains(refused.headers, "Retry-After") || contains(refused.headers, "retry-after")) << refused.headers;
  EXPECT_EQ(c.ocsp(0, pem, false), "good") << "served from the cache while the database is away";
  EXPECT_TRUE(contains(c.ocsp(0, pem, true), "good")) << "a request with a nonce too, without the nonce";
  // A certificate whose status is not cached: tryLater, which clients retry.
  EXPECT_TRUE(contains(c.ocsp(0, uncached, false), "trylater")) << c.ocsp(0, uncached, false);

  server.start();
  EXPECT_TRUE(eventually([&] { return c.issue(0, c.csr("after.example.test")).first == 201; }))
      << c.node(0).log();
  EXPECT_EQ(c.listed(0).size(), before + 1) << "the refused request left nothing; the later one is there";
}

TEST(SignetdNodes, WhenTheDatabaseHangsANodeStillServesCachedOcspCrlsAndHealth) {
  // statement_timeout 1 s: a statement the server does not answer is given up 6 s after it was sent.
  Cluster c(PostgresServer::shared(), "nodes_hang", "statement_timeout = \"1s\"\n");
  ASSERT_TRUE(c.start(0)) << c.node(0).log();
  const auto [status, serial] = c.issue(0, c.csr("hang.example.test"));
  ASSERT_EQ(status, 201);
  const fs::path cert = c.certificate(0, serial);
  ASSERT_EQ(c.ocsp(0, cert, false), "good");  // now in the cache

  c.server().freeze();
  struct Thaw {
    PostgresServer& server;
    ~Thaw() { server.thaw(); }
  } thaw{c.server()};
  // What is served from memory does not wait on the database.
  EXPECT_EQ(c.ocsp(0, cert, false), "good");
  EXPECT_TRUE(contains(c.crl(0), "Certificate Revocation List")) << "the CRL is served from memory";
  const ProcessResult health = run_process({"curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                            c.https_url(0) + "/healthz", "--cacert", c.ca_pem().string()});
  EXPECT_EQ(health.out, "200") << describe(health);
  // What needs the database answers 503, after the client-side deadline, not never.
  const Http api = c.curl(0, "GET", "/api/v1/certificates/" + serial);
  EXPECT_EQ(api.status, 503) << api.body;
  EXPECT_TRUE(contains(api.headers, "Retry-After") || contains(api.headers, "retry-after")) << api.headers;
  // While the API waits, the I/O threads still serve OCSP.
  auto waiting = std::async(std::launch::async, [&c, &serial] { return c.curl(0, "GET", "/api/v1/certificates/" + serial); });
  EXPECT_EQ(c.ocsp(0, cert, false), "good");
  EXPECT_EQ(waiting.get().status, 503);

  c.server().thaw();
  EXPECT_TRUE(eventually([&] { return c.issue(0, c.csr("after.example.test")).first == 201; }, 30s))
      << c.node(0).log();
}

TEST(SignetdNodes, ANodeRefusesADatabaseOfAnotherCa) {
  PostgresServer& server = PostgresServer::shared();
  Cluster first(server, "nodes_owner");
  ASSERT_TRUE(first.start(0)) << first.node(0).log();  // records its CA in the database
  first.forget(0);

  // Another CA, pointed at the same database.
  TempDir other;
  const ProcessResult setup = make_test_ca(kSignet, other.path(), "other-ca", "Other CA", "other ca passphrase");
  ASSERT_EQ(setup.exit_code, 0) << describe(setup);
  write_text(other / "signetd.toml", read_text(other / "signetd.toml") + "[database]\nurl = \"" +
                                         server.url("nodes_owner") + "\"\npassword_file = \"" +
                                         server.password_file().string() + "\"\n");
  SignetdProcess node(kSignetd, other / "signetd.toml", other / "signetd.log");
  EXPECT_NE(node.wait(20s), 0);
  EXPECT_TRUE(contains(node.log(), "database-of-another-ca") || contains(node.log(), "ledger of another CA"))
      << node.log();
  EXPECT_TRUE(contains(node.log(), "Nodes Test CA")) << node.log();
  // So does `signetd --check`, which reads the database without writing to it.
  const ProcessResult check = run_process({kSignetd, "--config", (other / "signetd.toml").string(), "--check"});
  EXPECT_NE(check.exit_code, 0);
  EXPECT_TRUE(contains(check.out + check.err, "another CA")) << describe(check);
  // The CLI refuses it the same way.
  const ProcessResult listing = cli(other.path(), {"clients", "list"});
  EXPECT_NE(listing.exit_code, 0);
  EXPECT_TRUE(contains(listing.err, "another CA")) << describe(listing);

  // A wrong password: refused at startup, the password never in the log.
  write_text(other / "wrong-password", "not the password\n");
  write_text(other / "signetd.toml",
             std::regex_replace(read_text(other / "signetd.toml"), std::regex("password_file = \"[^\"]*\""),
                                "password_file = \"" + (other / "wrong-password").string() + "\""));
  SignetdProcess wrong(kSignetd, other / "signetd.toml", other / "wrong.log");
  EXPECT_NE(wrong.wait(20s), 0);
  EXPECT_TRUE(contains(wrong.log(), "database-login-failed") || contains(wrong.log(), "password authentication failed"))
      << wrong.log();
  EXPECT_FALSE(contains(wrong.log(), "not the password"));
}

}  // namespace
}  // namespace signet::test

namespace signet::test {
namespace {

// A single-node CA on SQLite grows into a PostgreSQL one: `signet ledger migrate --from-sqlite`
// moves everything, all or nothing, and the daemon then serves the same certificates, tokens and
// revocations from the database.
// ACME behind a load balancer: every request names the one URL the nodes are reached by (node A's
// here), and lands on either node (curl --connect-to). A client's account, orders and nonces must
// be good on every node, and a nonce good once across them.
class AcmeOnNodes {
 public:
  explicit AcmeOnNodes(Cluster& c) : c_(c) {}

  // Node i's answer to a request for `url` (a URL of node A).
  Http send(int i, std::vector<std::string> args, const std::string& url) {
    const std::string a = c_.https_url(0).substr(std::string("https://").size());
    const std::string b = c_.https_url(i).substr(std::string("https://").size());
    args.insert(args.begin(), {"--connect-to", a + ":" + b});
    return curl_to(c_.dir(), c_.ca_pem(), args, url);
  }
  static std::string header(const Http& h, const std::string& name) {
    std::smatch m;
    const std::regex re("(^|\n)" + name + ": ([^\r\n]*)", std::regex::icase);
    return std::regex_search(h.headers, m, re) ? std::string(m[2]) : std::string();
  }
  std::string url(const std::string& path) { return c_.https_url(0) + path; }
  std::string nonce(int i) { return header(send(i, {"-I"}, url("/acme/new-nonce")), "replay-nonce"); }

  // A JWS for `target` over `payload`, with a nonce from node `nonce_from`.
  std::string jws(int nonce_from, const std::string& target, const std::string& payload) {
    json header{{"url", target}, {"nonce", nonce(nonce_from)}};
    if (kid.empty()) {
      header["jwk"] = acme::jwk_of(key.get());
    } else {
      header["kid"] = kid;
    }
    return acme::sign_jws(key.get(), header, payload);
  }
  Http post_body(int i, const std::string& target, const std::string& body) {
    const fs::path file = c_.dir() / ("acme-request-" + std::to_string(++requests_));
    write_text(file, body);
    return send(i, {"-H", "Content-Type: application/jose+json", "--data-binary", "@" + file.string()}, target);
  }
  // Posts to node i with a nonce from the other node.
  Http post(int i, const std::string& target, const std::string& payload) {
    return post_body(i, target, jws(1 - i, target, payload));
  }

  ossl::Pkey key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  std::string kid;

 private:
  Cluster& c_;
  int requests_ = 0;
};

TEST(SignetdNodes, AcmeAccountsOrdersAndNoncesAreSharedByTheNodes) {
  TempDir scratch;
  const std::uint16_t dns_port = free_port();
  const std::uint16_t management_port = free_port();
  const std::uint16_t http01_port = free_port();
  SignetdProcess challenges({"pebble-challtestsrv", "-dns01", "127.0.0.1:" + std::to_string(dns_port), "-management",
                             "127.0.0.1:" + std::to_string(management_port), "-http01",
                             "127.0.0.1:" + std::to_string(http01_port), "-https01", "", "-tlsalpn01", "",
                             "-defaultIPv4", "", "-defaultIPv6", ""},
                            scratch.path() / "challtestsrv.log");
  ASSERT_TRUE(challenges.wait_for_log("Starting management server")) << challenges.log();
  const std::string management = "http://127.0.0.1:" + std::to_string(management_port);

  Cluster c(PostgresServer::shared(), "nodes_acme",
            "statement_timeout = \"2s\"\n"
            "[acme]\nenabled = true\nprofile = \"acme-web\"\nhttp01_port = " + std::to_string(http01_port) +
                "\nresolver = \"127.0.0.1:" + std::to_string(dns_port) +
                "\"\nvalidation_timeout = \"5s\"\n"
                "[profiles.acme-web]\nextended_key_usage = [\"serverAuth\"]\nkey_usage = [\"digitalSignature\"]\n"
                "dns_suffixes = [\"example.com\"]\nkey_types = [\"ec-p256\"]\n");
  c.add_node(1);
  ASSERT_TRUE(c.start(0)) << c.node(0).log();
  ASSERT_TRUE(c.start(1)) << c.node(1).log();
  AcmeOnNodes client(c);

  // The account is made on node B with a nonce of node A's; a request whose signature does not
  // verify does not use the nonce up (nor fill the nonce table).
  const std::string new_account = client.url("/acme/new-account");
  const json header{{"url", new_account}, {"nonce", client.nonce(0)}, {"jwk", acme::jwk_of(client.key.get())}};
  const ossl::Pkey stranger = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  const Http forged =
      client.post_body(1, new_account, acme::sign_jws(stranger.get(), header, R"({"termsOfServiceAgreed": true})"));
  EXPECT_EQ(forged.status, 400) << forged.body;
  EXPECT_TRUE(contains(forged.body, "signature")) << forged.body;
  EXPECT_EQ(c.server().psql("nodes_acme", "SELECT count(*) FROM acme_nonces"), "0\n");
  const std::string body = acme::sign_jws(client.key.get(), header, R"({"termsOfServiceAgreed": true})");
  const Http created = client.post_body(1, new_account, body);
  ASSERT_EQ(created.status, 201) << created.body << "\n" << c.node(1).log();
  client.kid = AcmeOnNodes::header(created, "location");
  ASSERT_TRUE(client.kid.starts_with(client.url("/acme/acct/"))) << client.kid;
  // The same request again, on node A: its nonce was used on B.
  const Http replayed = client.post_body(0, new_account, body);
  EXPECT_EQ(replayed.status, 400) << replayed.body;
  EXPECT_TRUE(contains(replayed.body, "badNonce")) << replayed.body;
  EXPECT_FALSE(AcmeOnNodes::header(replayed, "replay-nonce").empty());

  // An order on node A, its authorization and challenge through node B, finalized on A, the
  // certificate fetched from B.
  const std::string name = "shared.example.com";
  ASSERT_EQ(run_process({"curl", "-sS", "-d", json{{"host", name + "."}, {"addresses", {"127.0.0.1"}}}.dump(),
                         management + "/add-a"})
                .exit_code,
            0);
  const Http order = client.post(0, client.url("/acme/new-order"),
                                 json{{"identifiers", {{{"type", "dns"}, {"value", name}}}}}.dump());
  ASSERT_EQ(order.status, 201) << order.body;
  const json o = json::parse(order.body);
  const std::string order_url = AcmeOnNodes::header(order, "location");
  const Http authz = client.post(1, o.at("authorizations").at(0).get<std::string>(), "");
  ASSERT_EQ(authz.status, 200) << authz.body;
  std::string challenge_url;
  const json authorization = json::parse(authz.body);
  for (const json& ch : authorization.at("challenges")) {
    if (ch.at("type") != "http-01") continue;
    challenge_url = ch.at("url").get<std::string>();
    const std::string token = ch.at("token").get<std::string>();
    const std::string thumbprint = acme::parse_jwk(acme::jwk_of(client.key.get())).thumbprint;
    ASSERT_EQ(run_process({"curl", "-sS", "-d", json{{"token", token}, {"content", token + "." + thumbprint}}.dump(),
                           management + "/add-http01"})
                  .exit_code,
              0);
  }
  ASSERT_FALSE(challenge_url.empty()) << authz.body;
  // The ledger cannot take the outcome at first (the authorizations locked past statement_timeout):
  // the node validates again once it can, and the order settles without the client doing more.
  auto authz_locked = std::async(std::launch::async, [&c] {
    return c.server().psql("nodes_acme",
                           "BEGIN; LOCK TABLE acme_authorizations IN EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT");
  });
  ASSERT_TRUE(eventually([&c] {
    return c.server().psql("nodes_acme", "SELECT count(*) FROM pg_locks WHERE relation = "
                                         "'acme_authorizations'::regclass AND mode = 'ExclusiveLock'") == "1\n";
  }));
  const Http answered = client.post(1, challenge_url, "{}");
  ASSERT_EQ(answered.status, 200) << answered.body;
  (void)authz_locked.get();
  ASSERT_TRUE(eventually([&] { return contains(client.post(0, order_url, "").body, "\"ready\""); }, 40s))
      << client.post(0, order_url, "").body << "\n" << c.node(1).log();
  EXPECT_TRUE(contains(c.node(1).log(), "validating it again in 5 s")) << c.node(1).log();

  const fs::path der = scratch.path() / "csr.der";
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           (scratch.path() / "leaf.key").string(), "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name,
           "-outform", "DER", "-out", der.string()});
  const std::string csr_payload = json{{"csr", acme::base64url_encode(as_bytes(read_text(der)))}}.dump();
  // While the ledger cannot record a certificate (a table locked past statement_timeout), finalize
  // answers 503 and the order stays ready for the retry.
  auto locked = std::async(std::launch::async, [&c] {
    return c.server().psql("nodes_acme",
                           "BEGIN; LOCK TABLE issued_certificates IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT");
  });
  ASSERT_TRUE(eventually([&c] {
    return c.server().psql("nodes_acme", "SELECT count(*) FROM pg_locks WHERE relation = "
                                         "'issued_certificates'::regclass AND mode = 'AccessExclusiveLock'") == "1\n";
  }));
  const Http refused = client.post(0, o.at("finalize").get<std::string>(), csr_payload);
  EXPECT_EQ(refused.status, 503) << refused.body;
  (void)locked.get();
  EXPECT_TRUE(contains(client.post(1, order_url, "").body, "\"ready\"")) << client.post(1, order_url, "").body;

  const Http finalized = client.post(0, o.at("finalize").get<std::string>(), csr_payload);
  ASSERT_EQ(finalized.status, 200) << finalized.body;
  std::string certificate_url;
  ASSERT_TRUE(eventually([&] {
    const json j = json::parse(client.post(1, order_url, "").body, nullptr, false);
    if (j.is_object() && j.value("status", "") == "valid") certificate_url = j.value("certificate", "");
    return !certificate_url.empty();
  }));
  const Http pem = client.post(1, certificate_url, "");
  ASSERT_EQ(pem.status, 200) << pem.body;
  const fs::path leaf = scratch.path() / "leaf.pem";
  write_text(leaf, pem.body);
  EXPECT_TRUE(contains(openssl({"verify", "-CAfile", c.ca_pem().string(), leaf.string()}), "OK"));

  // The operator sees the account from either node's CLI.
  const ProcessResult listed = cli(c.node_dir(1), {"acme", "accounts", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << describe(listed);
  EXPECT_TRUE(contains(listed.out, client.kid.substr(client.kid.rfind('/') + 1))) << listed.out;
}

TEST(LedgerMigrate, ASingleNodeCaMovesItsLedgerIntoPostgresAllOrNothing) {
  PostgresServer& server = PostgresServer::shared();
  TempDir d;
  ASSERT_EQ(make_test_ca(kSignet, d.path(), "issuing-ca", "Migrating CA", std::string(kPassphrase)).exit_code, 0);
  const ProcessResult web = cli(d.path(), {"clients", "add", "web", "--profile", "*", "--admin", "--json"});
  ASSERT_EQ(web.exit_code, 0) << describe(web);
  const std::string token = json::parse(web.out).at("token").get<std::string>();
  ASSERT_EQ(cli(d.path(), {"clients", "add", "gone", "--profile", "*"}).exit_code, 0);
  ASSERT_EQ(cli(d.path(), {"clients", "remove", "gone"}).exit_code, 0);
  std::vector<std::string> serials;
  for (int i = 0; i < 3; ++i) {
    const fs::path key = d / ("k" + std::to_string(i) + ".pem");
    const fs::path csr = d / ("r" + std::to_string(i) + ".csr");
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.string(),
             "-subj", "/CN=m" + std::to_string(i) + ".example.test", "-addext",
             "subjectAltName=DNS:m" + std::to_string(i) + ".example.test", "-out", csr.string()});
    const fs::path out = d / ("c" + std::to_string(i) + ".pem");
    const ProcessResult r = cli(d.path(), {"issue", "--csr", csr.string(), "--profile", "server-tls", "--out",
                                           out.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    serials.push_back(json::parse(r.out).at("serial").get<std::string>());
  }
  ASSERT_EQ(cli(d.path(), {"revoke", serials[1], "--reason", "keyCompromise"}).exit_code, 0);
  // The single node publishes a CRL or two before it grows.
  {
    SignetdProcess before(kSignetd, d / "signetd.toml", d / "before.log");
    ASSERT_TRUE(before.wait_for_log("listening on")) << before.log();
  }

  // ACME: two external account binding keys, one of which bound an account with an order (rows as
  // signetd writes them).
  std::map<std::string, std::string> kids;
  for (const std::string team : {"team-a", "team-b"}) {
    const ProcessResult eab = cli(d.path(), {"acme", "eab", "add", team, "--profile", "server-tls", "--json"});
    ASSERT_EQ(eab.exit_code, 0) << describe(eab);
    kids[team] = json::parse(eab.out).at("kid").get<std::string>();
  }
  {
    db::Database db = db::Database::open(keystore::KeyStore::database_path(d.path()), db::OpenMode::ReadWrite);
    db.exec("INSERT INTO acme_accounts VALUES ('acct-1', 'thumb-1', '{\"kty\":\"EC\"}', 'valid', "
            "'[\"mailto:ops@example.test\"]', '" + kids["team-b"] + "', 1700000000, '127.0.0.1');"
            "UPDATE acme_eab_keys SET account_id = 'acct-1' WHERE kid = '" + kids["team-b"] + "';"
            "INSERT INTO acme_orders VALUES ('order-1', 'acct-1', 'valid', '[{\"type\":\"dns\",\"value\":"
            "\"m0.example.test\"}]', '[\"authz-1\"]', NULL, 4000000000, NULL, '" + serials[0] + "', 1700000000);"
            "INSERT INTO acme_authorizations VALUES ('authz-1', 'acct-1', 'dns', 'm0.example.test', 0, 'valid', "
            "4000000000, 1700000000);"
            "INSERT INTO acme_challenges VALUES ('ch-z', 'authz-1', 'http-01', 'tok-1', 'valid', 1700000001, NULL, "
            "'127.0.0.1'), ('ch-a', 'authz-1', 'dns-01', 'tok-2', 'pending', NULL, NULL, NULL);");
  }

  // Without [database], the command says what to do.
  ProcessResult r = cli(d.path(), {"ledger", "migrate", "--from-sqlite"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "[database]")) << describe(r);

  (void)server.create_database("migrate");
  const std::string sqlite_config = read_text(d / "signetd.toml");
  write_text(d / "sqlite.toml", sqlite_config);
  write_text(d / "signetd.toml", sqlite_config + "[database]\nurl = \"" + server.url("migrate") +
                                     "\"\npassword_file = \"" + server.password_file().string() + "\"\n");
  // A signetd started on the empty database before the move is refused: it would serve CRLs and
  // OCSP without the store's revocations.
  {
    SignetdProcess early(kSignetd, d / "signetd.toml", d / "early.log");
    EXPECT_NE(early.wait(20s), 0);
    EXPECT_TRUE(contains(early.log(), "is empty: move them first with `signet ledger migrate --from-sqlite`"))
        << early.log();
    r = cli(d.path(), {"clients", "list"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.err, "signet ledger migrate --from-sqlite")) << describe(r);
  }
  // Not while a signetd still writes to the store's ledger: what it issued afterwards would be lost.
  {
    SignetdProcess running(kSignetd, d / "sqlite.toml", d / "running.log");
    ASSERT_TRUE(running.wait_for_log("listening on")) << running.log();
    r = cli(d.path(), {"ledger", "migrate", "--from-sqlite"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.err, "signetd-running") || contains(r.err, "a signetd is running")) << describe(r);
    EXPECT_EQ(server.psql("migrate", "SELECT count(*) FROM issued_certificates"), "0\n") << "nothing was moved";
  }
  // Not while an EAB key has bound no account: the other nodes could not unseal it.
  r = cli(d.path(), {"ledger", "migrate", "--from-sqlite"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "eab-keys-unused") && contains(r.err, "team-a") && !contains(r.err, "team-b"))
      << describe(r);
  EXPECT_EQ(server.psql("migrate", "SELECT count(*) FROM issued_certificates"), "0\n");
  ASSERT_EQ(cli(d.path(), {"acme", "eab", "remove", kids["team-a"], "--config", (d / "sqlite.toml").string()}).exit_code,
            0);

  r = cli(d.path(), {"ledger", "migrate", "--from-sqlite", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json moved = json::parse(r.out);
  EXPECT_EQ(moved.at("acme_accounts"), 1);
  EXPECT_EQ(moved.at("acme_orders"), 1);
  EXPECT_EQ(server.psql("migrate", "SELECT string_agg(id, ',' ORDER BY seq) FROM acme_challenges"), "ch-z,ch-a\n")
      << "challenges keep their order";
  EXPECT_EQ(server.psql("migrate", "SELECT count(*) FROM acme_eab_keys"), "2\n") << "the used and the removed key";
  EXPECT_EQ(server.psql("migrate", "SELECT eab_kid FROM acme_accounts"), kids["team-b"] + "\n")
      << "the account keeps the key that gives its profile";
  EXPECT_EQ(moved.at("revoked"), 1);
  EXPECT_EQ(moved.at("clients"), 2) << "the removed client's tombstone too";
  EXPECT_EQ(moved.at("certificates"), 3);
  EXPECT_GE(moved.at("crl_number").get<int>(), 1);
  EXPECT_EQ(server.psql("migrate", "SELECT count(*) FROM issued_certificates"),
            std::to_string(moved.at("certificates").get<int>()) + "\n");
  EXPECT_TRUE(contains(server.psql("migrate", "SELECT detail FROM audit_log WHERE action = 'ledger.migrate'"),
                       "1 revoked"));

  // Twice: refused, and nothing changes.
  r = cli(d.path(), {"ledger", "migrate", "--from-sqlite"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "database-not-empty") || contains(r.err, "already")) << describe(r);
  EXPECT_EQ(server.psql("migrate", "SELECT count(*) FROM api_clients"), "2\n");

  // The store's copy is marked as moved: neither a signetd nor the CLI use it any more.
  SignetdProcess stale(kSignetd, d / "sqlite.toml", d / "stale.log");
  EXPECT_NE(stale.wait(20s), 0);
  EXPECT_TRUE(contains(stale.log(), "ledger-moved") || contains(stale.log(), "was moved to the PostgreSQL database"))
      << stale.log();
  r = cli(d.path(), {"clients", "list", "--config", (d / "sqlite.toml").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "moved")) << describe(r);

  // The daemon on the database: the same token, the same certificates, the revocation, a CRL
  // number that continues the store's.
  SignetdProcess node(kSignetd, d / "signetd.toml", d / "after.log");
  ASSERT_TRUE(node.wait_for_log("listening on")) << node.log();
  const auto [https, http] = node.urls();
  write_text(d / "web.auth", "Authorization: Bearer " + token + "\n");
  const ProcessResult got = run_process({"curl", "-sS", "--cacert", (d / "ca.pem").string(), "-H",
                                         "@" + (d / "web.auth").string(), https + "/api/v1/certificates/" + serials[1]});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(json::parse(got.out, nullptr, false).value("status", ""), "revoked") << got.out;
  const fs::path crl = d / "after.crl";
  ASSERT_EQ(run_process({"curl", "-sS", "-o", crl.string(), http + "/crl"}).exit_code, 0);
  const std::string text = openssl({"crl", "-inform", "DER", "-in", crl.string(), "-noout", "-text"});
  EXPECT_TRUE(contains(text, "Serial Number: " + serials[1])) << text;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("X509v3 CRL Number: *\\n *([0-9]+)"))) << text;
  EXPECT_GT(std::stoll(m[1]), moved.at("crl_number").get<long long>());

  // The ACME account and its EAB key, through the CLI on the database.
  r = cli(d.path(), {"acme", "accounts", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "acct-1")) << r.out;
  r = cli(d.path(), {"acme", "eab", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, kids["team-b"]) && contains(r.out, "acct-1")) << r.out;
  // No new key on a shared ledger.
  r = cli(d.path(), {"acme", "eab", "add", "team-c", "--profile", "server-tls"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "eab-needs-sqlite") || contains(r.err, "single node")) << describe(r);
}

TEST(LedgerMigrate, ARowTheDatabaseRefusesMovesNothing) {
  PostgresServer& server = PostgresServer::shared();
  TempDir d;
  ASSERT_EQ(make_test_ca(kSignet, d.path(), "issuing-ca", "Broken CA", std::string(kPassphrase)).exit_code, 0);
  ASSERT_EQ(cli(d.path(), {"clients", "add", "web", "--profile", "*"}).exit_code, 0);
  // A hand edit of the store: a serial in lowercase, which the database's schema refuses.
  const ProcessResult edit = run_process(
      {"sqlite3", (d / "signet.db").string(),
       "INSERT INTO issued_certificates (serial, state, profile, client, subject, names, requested_at, not_before, "
       "not_after) VALUES ('abcd', 'intent', 'server-tls', 'x', '', '[]', 0, 0, 0)"});
  ASSERT_EQ(edit.exit_code, 0) << describe(edit);
  (void)server.create_database("migrate_broken");
  write_text(d / "signetd.toml", read_text(d / "signetd.toml") + "[database]\nurl = \"" +
                                     server.url("migrate_broken") + "\"\npassword_file = \"" +
                                     server.password_file().string() + "\"\n");
  const ProcessResult r = cli(d.path(), {"ledger", "migrate", "--from-sqlite"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "constraint")) << describe(r);
  EXPECT_EQ(server.psql("migrate_broken", "SELECT count(*) FROM api_clients"), "0\n");
  EXPECT_EQ(server.psql("migrate_broken", "SELECT count(*) FROM issued_certificates"), "0\n");
}

}  // namespace
}  // namespace signet::test
