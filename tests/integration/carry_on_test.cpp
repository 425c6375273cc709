// Restore, reinstall, run: the journey the seeds are about, with the real binaries. Server A issues
// and revokes and is backed up; server B is made from that backup by `signet setup --answers` in
// mode restore-then-reinstall with no [daemon] table, started with exactly the command setup
// printed, and then carries on as A: on A's ports and URLs it answers OCSP for A's certificates
// (good and revoked), publishes a CRL whose number follows A's, and issues to A's API client
// certificates that carry A's URLs. `signetd --check` passes on B and writes nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <csignal>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/openssl_cli.h"
#include "support/process.h"
#include "support/signetd_process.h"
#include "support/temp_dir.h"

namespace signet::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kSignetd = SIGNETD_PATH;
const std::string kSignet = SIGNET_CLI_PATH;
constexpr std::string_view kPublicHost = "ca.carry-on.test";

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// One server's data directory and passphrase file, and the CLI run against it.
struct Server {
  fs::path dir;
  fs::path passphrase;
  ProcessResult signet(std::vector<std::string> args) const {
    args.insert(args.begin(), kSignet);
    ProcessOptions o;
    o.env = {{"SIGNET_DATA_DIR", dir.string()}, {"SIGNET_PASSPHRASE_FILE", passphrase.string()}};
    return run_process(args, o);
  }
};

// The start command `signet setup` printed last: "Start signetd with:\n  COMMAND".
std::vector<std::string> printed_start_command(const std::string& out) {
  const std::size_t at = out.rfind("Start signetd with:\n");
  if (at == std::string::npos) return {};
  std::istringstream line(out.substr(at + std::string("Start signetd with:\n").size()));
  std::vector<std::string> words;
  for (std::string w; line >> w;) words.push_back(w);
  return words;
}

class CarryOnTest : public ::testing::Test {
 protected:
  Server make_server(const std::string& name, const std::string& passphrase) {
    Server s{tmp_.path() / name, tmp_.path() / (name + ".pass")};
    fs::create_directory(s.dir);
    fs::permissions(s.dir, fs::perms::owner_all, fs::perm_options::replace);
    write_text(s.passphrase, passphrase + "\n");
    fs::permissions(s.passphrase, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    return s;
  }

  // openssl ocsp against `http` for `cert`: "good", "revoked" or what went wrong.
  std::string ocsp_status(const std::string& http, const fs::path& ca, const fs::path& cert) {
    const ProcessResult r = run_process({"openssl", "ocsp", "-issuer", ca.string(), "-cert", cert.string(), "-url",
                                         http + "/ocsp", "-CAfile", ca.string()});
    if (contains(r.out, ": good")) return "good";
    if (contains(r.out, ": revoked")) return "revoked";
    return describe(r);
  }

  long crl_number(const std::string& http) {
    const fs::path file = tmp_.path() / ("crl-" + std::to_string(++n_) + ".der");
    const ProcessResult get = run_process({"curl", "-sS", "--max-time", "30", "-o", file.string(), http + "/crl"});
    if (get.exit_code != 0) return -1;
    const std::string text = openssl({"crl", "-inform", "DER", "-in", file.string(), "-noout", "-crlnumber"});
    const std::size_t eq = text.find('=');
    return eq == std::string::npos ? -1 : std::stol(text.substr(eq + 1), nullptr, 16);
  }

  // Issues a certificate for `name` through the REST API with `auth_file`; returns its PEM file.
  fs::path issue(const std::string& https, const fs::path& ca, const fs::path& auth_file, const std::string& name) {
    const fs::path key = tmp_.path() / (name + ".key");
    const fs::path csr = tmp_.path() / (name + ".csr");
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.string(),
             "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name, "-out", csr.string()});
    const fs::path body = tmp_.path() / (name + ".json");
    write_text(body, json{{"csr", read_text(csr)}, {"profile", "server-tls"}}.dump());
    const ProcessResult r = run_process({"curl", "-sS", "--max-time", "30", "--cacert", ca.string(), "-H",
                                         "@" + auth_file.string(), "-H", "Content-Type: application/json",
                                         "--data-binary", "@" + body.string(), https + "/api/v1/certificates"});
    const json j = json::parse(r.out, nullptr, false);
    if (!j.is_object() || !j.contains("certificate")) {
      ADD_FAILURE() << "issuance failed: " << describe(r);
      return {};
    }
    const fs::path pem = tmp_.path() / (name + ".pem");
    write_text(pem, j["certificate"].get<std::string>());
    serials_[name] = j["serial"].get<std::string>();
    return pem;
  }

  TempDir tmp_;
  int n_ = 0;
  std::map<std::string, std::string> serials_;
};

TEST_F(CarryOnTest, ServerBRestoredFromABackupCarriesOnAsServerA) {
  const std::uint16_t https_port = free_port();
  std::uint16_t http_port = free_port();
  while (http_port == https_port) http_port = free_port();
  const std::string public_url = "http://" + std::string(kPublicHost) + ":" + std::to_string(http_port);

  // ---- server A, set up as an operator would, with its own settings in signetd.toml
  const Server a = make_server("a", "the passphrase of server A");
  const fs::path answers_a = tmp_.path() / "a.toml";
  write_text(answers_a, "mode = \"new-key\"\ndata_dir = \"" + a.dir.string() +
                            "\"\nkey_name = \"corp-ca\"\n[identity]\ncommon_name = \"Carry On CA\"\n"
                            "organization = \"Example\"\ncountry = \"DE\"\n[daemon]\nhttps_port = " +
                            std::to_string(https_port) + "\nhttp_port = " + std::to_string(http_port) +
                            "\ntls_names = [\"localhost\", \"127.0.0.1\"]\npublic_base_url = \"" + public_url + "\"\n");
  const ProcessResult setup_a = a.signet({"setup", "--answers", answers_a.string()});
  ASSERT_EQ(setup_a.exit_code, 0) << describe(setup_a);
  std::string config_a = read_text(a.dir / "signetd.toml");
  config_a += "\n[crl]\ndebounce = \"0s\"\n\n[log]\nlevel = \"debug\"\n";
  write_text(a.dir / "signetd.toml", config_a);
  const ProcessResult client = a.signet({"clients", "add", "app", "--profile", "server-tls", "--json"});
  ASSERT_EQ(client.exit_code, 0) << describe(client);
  const fs::path auth = tmp_.path() / "app.auth";
  write_text(auth, "Authorization: Bearer " + json::parse(client.out).at("token").get<std::string>() + "\n");

  const std::vector<std::string> start_a = printed_start_command(setup_a.out);
  ASSERT_EQ(start_a.size(), 3u) << setup_a.out;
  ASSERT_EQ(start_a[1], "--config");
  long a_crl = 0;
  fs::path good;
  fs::path revoked;
  {
    SignetdProcess server_a(start_a[0], start_a[2], tmp_.path() / "a.log");
    ASSERT_TRUE(server_a.wait_for_log("listening on")) << server_a.log();
    const auto [https, http] = server_a.urls();
    ASSERT_EQ(https, "https://127.0.0.1:" + std::to_string(https_port));
    good = issue(https, a.dir / "ca.pem", auth, "good.carry-on.test");
    revoked = issue(https, a.dir / "ca.pem", auth, "revoked.carry-on.test");
    ASSERT_FALSE(good.empty());
    ASSERT_FALSE(revoked.empty());
    const ProcessResult revoke = a.signet({"revoke", serials_["revoked.carry-on.test"], "--reason", "keyCompromise"});
    ASSERT_EQ(revoke.exit_code, 0) << describe(revoke);
    // signetd notices a revocation made outside it and publishes a new CRL.
    ASSERT_TRUE(server_a.wait_for_log_count("published CRL number", 2)) << server_a.log();
    ASSERT_EQ(ocsp_status(http, a.dir / "ca.pem", revoked), "revoked");
    a_crl = crl_number(http);
    ASSERT_GT(a_crl, 0);
    // The backup is taken while A runs.
    const fs::path backup_pass = tmp_.path() / "backup.pass";
    write_text(backup_pass, "the backup passphrase of server A\n");
    const ProcessResult backup = a.signet({"backup", "create", "--out", (tmp_.path() / "a.sbk").string(),
                                           "--insecure-fast-kdf", "--backup-passphrase-file", backup_pass.string()});
    ASSERT_EQ(backup.exit_code, 0) << describe(backup);
    EXPECT_TRUE(contains(backup.out, "installation's configuration")) << backup.out;
    server_a.signal(SIGTERM);
    ASSERT_EQ(server_a.wait(std::chrono::seconds(30)), 0) << server_a.log();
  }

  // ---- inspect shows what the backup carries
  const Server b = make_server("b", "the passphrase of server B");
  const ProcessResult inspect = b.signet({"backup", "inspect", (tmp_.path() / "a.sbk").string(),
                                          "--backup-passphrase-file", (tmp_.path() / "backup.pass").string()});
  ASSERT_EQ(inspect.exit_code, 0) << describe(inspect);
  EXPECT_TRUE(contains(inspect.out, public_url)) << inspect.out;
  EXPECT_TRUE(contains(inspect.out, "127.0.0.1:" + std::to_string(https_port))) << inspect.out;

  // ---- server B: restore-then-reinstall, no [daemon] table
  const fs::path answers_b = tmp_.path() / "b.toml";
  write_text(answers_b, "mode = \"restore-then-reinstall\"\ndata_dir = \"" + b.dir.string() +
                            "\"\nkey_name = \"corp-ca\"\nbackup_file = \"a.sbk\"\n");  // beside the answers file
  const ProcessResult setup_b = b.signet({"setup", "--answers", answers_b.string(), "--backup-passphrase-file",
                                          (tmp_.path() / "backup.pass").string()});
  ASSERT_EQ(setup_b.exit_code, 0) << describe(setup_b);
  EXPECT_TRUE(contains(setup_b.out, "signetd --check passes")) << setup_b.out;
  const std::vector<std::string> start_b = printed_start_command(setup_b.out);
  ASSERT_EQ(start_b.size(), 3u) << setup_b.out;
  ASSERT_EQ(start_b[1], "--config");
  EXPECT_EQ(fs::path(start_b[2]), b.dir / "signetd.toml");
  // A's own settings came along; the paths are B's.
  const std::string config_b = read_text(b.dir / "signetd.toml");
  EXPECT_TRUE(contains(config_b, "level = 'debug'")) << config_b;
  EXPECT_TRUE(contains(config_b, public_url)) << config_b;
  EXPECT_FALSE(contains(config_b, a.dir.string())) << config_b;

  // signetd --check passes and changes nothing.
  const std::string db_before = read_text(b.dir / "signet.db");
  const ProcessResult check = run_process({start_b[0], "--config", start_b[2], "--check"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);
  EXPECT_EQ(read_text(b.dir / "signet.db"), db_before) << "signetd --check wrote to the store";

  SignetdProcess server_b(start_b[0], start_b[2], tmp_.path() / "b.log");
  ASSERT_TRUE(server_b.wait_for_log("listening on")) << server_b.log();
  const auto [https, http] = server_b.urls();
  ASSERT_TRUE(server_b.wait_for_log("published CRL number")) << server_b.log();
  const long b_first_crl = crl_number(http);
  EXPECT_GT(b_first_crl, a_crl) << "B's first CRL number must follow A's";
  EXPECT_EQ(https, "https://127.0.0.1:" + std::to_string(https_port));
  EXPECT_EQ(http, "http://127.0.0.1:" + std::to_string(http_port));
  // OCSP for A's certificates, good and revoked.
  EXPECT_EQ(ocsp_status(http, b.dir / "ca.pem", good), "good");
  EXPECT_EQ(ocsp_status(http, b.dir / "ca.pem", revoked), "revoked");
  // A's API client issues on B, with A's URLs in the certificate; its serial is new.
  const fs::path on_b = issue(https, b.dir / "ca.pem", auth, "on-b.carry-on.test");
  ASSERT_FALSE(on_b.empty());
  const std::string text = openssl({"x509", "-in", on_b.string(), "-noout", "-text"});
  EXPECT_TRUE(contains(text, "URI:" + public_url + "/crl")) << text;
  EXPECT_TRUE(contains(text, "OCSP - URI:" + public_url + "/ocsp")) << text;
  EXPECT_NE(serials_["on-b.carry-on.test"], serials_["good.carry-on.test"]);
  EXPECT_NE(serials_["on-b.carry-on.test"], serials_["revoked.carry-on.test"]);
  const std::string verified = openssl({"verify", "-x509_strict", "-CAfile", (b.dir / "ca.pem").string(), on_b.string()});
  EXPECT_TRUE(contains(verified, ": OK")) << verified;
  // The CRL continues A's numbers and still lists A's revocation.
  const ProcessResult revoke_b = b.signet({"revoke", serials_["on-b.carry-on.test"], "--reason", "superseded"});
  ASSERT_EQ(revoke_b.exit_code, 0) << describe(revoke_b);
  ASSERT_TRUE(server_b.wait_for_log_count("published CRL number", 2)) << server_b.log();
  EXPECT_GT(crl_number(http), a_crl);
  const fs::path crl = tmp_.path() / "b-final.crl";
  ASSERT_EQ(run_process({"curl", "-sS", "-o", crl.string(), http + "/crl"}).exit_code, 0);
  const std::string crl_text = openssl({"crl", "-inform", "DER", "-in", crl.string(), "-noout", "-text"});
  EXPECT_TRUE(contains(crl_text, serials_["revoked.carry-on.test"])) << crl_text;
}

}  // namespace
}  // namespace signet::test
