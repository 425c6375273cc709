// The issuance path end to end, as clients and relying parties see it: a real signetd on
// loopback, a CA made by `signet setup --answers`, curl as the API client and openssl as the
// relying party. Issue, fetch, verify (`openssl verify -x509_strict`), revoke, then the CRL
// (`openssl crl`, `openssl verify -crl_check`) and OCSP (`openssl ocsp`, POST and GET) say so; the
// operator CLI's `signet issue` and `signet revoke` go through the same path and the daemon sees
// them. Then every kind of bad input the issue lists gets a clear error and changes nothing.
//
// Tokens are passed to curl in a header file (-H @FILE), never in argv.
//
// With SIGNET_TEST_LEDGER=postgresql in the environment (the CTest entry
// signet_integration_tests_postgresql), the whole suite runs again with the ledger in a PostgreSQL
// database ([database] url) on a server the test starts, the CLI's commands included.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pwd.h>
#include <unistd.h>

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

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

struct HttpResult {
  int status = 0;
  std::string body;
  std::string headers;  // raw response headers
  std::string curl_error;

  [[nodiscard]] json body_json() const {
    return json::parse(body, nullptr, false);
  }
  [[nodiscard]] std::string error_code() const {
    const json j = body_json();
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "<no error body: " + body + ">";
  }
  [[nodiscard]] std::string header(const std::string& lowercase_name) const {
    std::smatch m;
    const std::regex re("(^|\n)" + lowercase_name + ": ([^\r\n]*)", std::regex::icase);
    return std::regex_search(headers, m, re) ? std::string(m[2]) : std::string();
  }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A CA made once for the suite, three API clients, and one signetd serving it.
class IssuanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const fs::path d = dir_->path();
    const ProcessResult setup = make_test_ca(kSignet, d, "issuing-ca", "Issuance Test CA", "issuance test passphrase");
    ASSERT_EQ(setup.exit_code, 0) << describe(setup);
    std::string config = read_text(d / "signetd.toml");
    config +=
        "\n[server]\nmax_body_bytes = 16384\n"
        "[crl]\ndebounce = \"3s\"\n"  // longer than the 2 s revision poll, so it runs in between
        "[profiles.internal]\nkey_usage = [\"digitalSignature\"]\nextended_key_usage = [\"serverAuth\"]\n"
        "max_validity = \"30d\"\ndns_suffixes = [\"internal.test\"]\nkey_types = [\"ec-p256\", \"rsa\"]\n"
        "min_rsa_bits = 3072\n";
    config += test_ledger_config("issuance");
    write_text(d / "signetd.toml", config);

    for (const auto& [name, flags] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"web", {"--profile", "server-tls,internal"}},
             {"other", {"--profile", "server-tls"}},
             {"ops", {"--profile", "*", "--admin"}},
             {"device", {"--profile", "client-tls"}}}) {
      std::vector<std::string> args = {"clients", "add", name, "--json"};
      args.insert(args.end(), flags.begin(), flags.end());
      const ProcessResult r = cli(args);
      ASSERT_EQ(r.exit_code, 0) << describe(r);
      const json j = json::parse(r.out);
      write_text(d / (name + ".auth"), "Authorization: Bearer " + j.at("token").get<std::string>() + "\n");
    }
    write_text(d / "bad.auth", "Authorization: Bearer sgt_this-token-was-never-issued\n");

    daemon_ = new SignetdProcess(kSignetd, d / "signetd.toml", d / "signetd.log");
    ASSERT_TRUE(daemon_->wait_for_log("listening on")) << daemon_->log();
    std::tie(https_, http_) = daemon_->urls();
    ASSERT_FALSE(http_.empty()) << daemon_->log();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    delete dir_;
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "signetd log:\n" << daemon_->log() << "\n";
  }

  static fs::path dir() { return dir_->path(); }
  static bool on_postgres() { return test_ledger_on_postgres(); }
  static fs::path ca_pem() { return dir() / "ca.pem"; }

  // The signet CLI on the suite's store; `o` may add to its environment or remove from it.
  static ProcessResult cli(const std::vector<std::string>& args, ProcessOptions o = {}) {
    std::vector<std::string> argv = {kSignet};
    argv.insert(argv.end(), args.begin(), args.end());
    o.env["SIGNET_DATA_DIR"] = dir().string();
    o.env["SIGNET_PASSPHRASE_FILE"] = (dir() / "passphrase").string();
    return run_process(argv, o);
  }

  // `signet clients add NAME --profile PROFILES --json`; writes NAME.auth with its token.
  static void add_client(const std::string& name, const std::string& profiles) {
    const ProcessResult r = cli({"clients", "add", name, "--profile", profiles, "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json j = json::parse(r.out);
    write_text(dir() / (name + ".auth"), "Authorization: Bearer " + j.at("token").get<std::string>() + "\n");
  }

  // The audit rows of `action` about `subject`, oldest first: "actor | detail".
  static std::vector<std::string> audit_rows(const std::string& action, const std::string& subject) {
    if (on_postgres()) {
      const std::string out = PostgresServer::shared().psql(
          "issuance", "SELECT actor || ' | ' || detail FROM audit_log WHERE action = '" + action + "' AND subject = '" +
                          subject + "' ORDER BY id");
      std::vector<std::string> rows;
      std::istringstream lines(out);
      for (std::string line; std::getline(lines, line);) rows.push_back(line);
      return rows;
    }
    db::Database db = db::Database::open(keystore::KeyStore::database_path(dir()), db::OpenMode::ReadOnly);
    db::Statement s = db.prepare("SELECT actor, detail FROM audit_log WHERE action = ? AND subject = ? ORDER BY id");
    s.bind(1, action).bind(2, subject);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0) + " | " + s.text(1));
    return out;
  }

  // curl against the daemon. `url` is a path on https_ (default) or a full URL; `auth` is the
  // name of a client ("web", "ops", ...) or "" for none; extra curl arguments follow.
  static HttpResult curl(const std::string& method, const std::string& url, const std::string& auth = "",
                         const std::vector<std::string>& extra = {}) {
    static int n = 0;
    const fs::path body = dir() / ("curl-body-" + std::to_string(++n));
    const fs::path headers = dir() / ("curl-headers-" + std::to_string(n));
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "30", "--cacert", ca_pem().string(), "-X",
                                     method, "-o", body.string(), "-D", headers.string(), "-w", "%{http_code}"};
    if (!auth.empty()) {
      argv.push_back("-H");
      argv.push_back("@" + (dir() / (auth + ".auth")).string());
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url.rfind("http", 0) == 0 ? url : https_ + url);
    const ProcessResult r = run_process(argv);
    HttpResult out;
    out.status = std::atoi(r.out.c_str());
    out.curl_error = r.err;
    if (fs::exists(body)) out.body = read_text(body);
    if (fs::exists(headers)) out.headers = read_text(headers);
    return out;
  }

  // POST `body` as JSON to `path`.
  static HttpResult post_json(const std::string& path, const std::string& auth, const std::string& body,
                              std::vector<std::string> extra = {}) {
    static int n = 0;
    const fs::path file = dir() / ("request-" + std::to_string(++n) + ".json");
    write_text(file, body);
    extra.insert(extra.begin(), {"-H", "Content-Type: application/json", "--data-binary", "@" + file.string()});
    return curl("POST", path, auth, extra);
  }

  // A new EC P-256 key and CSR for `name` (a SAN too): {key, csr} paths.
  static std::pair<fs::path, fs::path> make_csr(const std::string& name, const std::string& key_spec = "ec") {
    static int n = 0;
    const fs::path key = dir() / ("leaf-" + std::to_string(++n) + ".key");
    const fs::path csr = dir() / ("leaf-" + std::to_string(n) + ".csr");
    std::vector<std::string> args = {"req", "-new", "-newkey", key_spec};
    if (key_spec == "ec") args.insert(args.end(), {"-pkeyopt", "ec_paramgen_curve:P-256"});
    args.insert(args.end(), {"-nodes", "-keyout", key.string(), "-subj", "/CN=" + name, "-addext",
                             "subjectAltName=" + std::string(contains(name, "@") ? "email:" : "DNS:") + name, "-out",
                             csr.string()});
    openssl(args);
    return {key, csr};
  }

  // The JSON of an issuance request; `more` is extra members ("\"validity\":\"30d\"").
  static std::string issue_body(const fs::path& csr, const std::string& profile, const std::string& more = "") {
    std::string body = json{{"csr", read_text(csr)}, {"profile", profile}}.dump();
    if (!more.empty()) body.insert(body.size() - 1, "," + more);
    return body;
  }

  struct Issued {
    std::string serial;
    fs::path key;
    fs::path cert;  // the leaf alone
    json answer;
  };
  // Issues a certificate for `name` through the API as `auth`; fails the test on anything but 201.
  static Issued issue(const std::string& name, const std::string& auth = "web",
                      const std::string& profile = "server-tls") {
    const auto [key, csr] = make_csr(name);
    const HttpResult r = post_json("/api/v1/certificates", auth, issue_body(csr, profile));
    EXPECT_EQ(r.status, 201) << r.body << r.curl_error;
    Issued out;
    out.answer = r.body_json();
    if (r.status != 201 || !out.answer.is_object()) return out;
    out.serial = out.answer.value("serial", "");
    out.key = key;
    out.cert = dir() / ("cert-" + out.serial + ".pem");
    write_text(out.cert, out.answer.value("certificate", ""));
    return out;
  }

  // `openssl ocsp` against the daemon's POST /ocsp; its stdout and stderr together.
  static std::string ocsp_status(const fs::path& cert) {
    const ProcessResult r = run_process({"openssl", "ocsp", "-issuer", ca_pem().string(), "-cert", cert.string(),
                                         "-url", http_ + "/ocsp", "-CAfile", ca_pem().string(), "-resp_text"});
    return r.out + r.err;
  }

  // The current full CRL, as PEM in a file.
  static fs::path fetch_crl(const std::string& name) {
    const HttpResult r = curl("GET", http_ + "/crl");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "application/pkix-crl");
    const fs::path der = dir() / (name + ".crl.der");
    std::ofstream(der, std::ios::binary) << r.body;
    const fs::path pem = dir() / (name + ".crl.pem");
    openssl({"crl", "-inform", "DER", "-in", der.string(), "-out", pem.string()});
    return pem;
  }

  // Waits (bounded) until the CRL lists `serial` (hex, as openssl prints it).
  static bool crl_lists(const std::string& serial, const std::string& name) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      const fs::path pem = fetch_crl(name);
      if (contains(openssl({"crl", "-in", pem.string(), "-noout", "-text"}), "Serial Number: " + serial)) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  static TempDir* dir_;
  static SignetdProcess* daemon_;
  static std::string https_;
  static std::string http_;
};
TempDir* IssuanceTest::dir_ = nullptr;
SignetdProcess* IssuanceTest::daemon_ = nullptr;
std::string IssuanceTest::https_;
std::string IssuanceTest::http_;

// openssl prints serials in upper-case hex with an even number of digits.
std::string openssl_serial(const fs::path& cert) {
  std::string s = openssl({"x509", "-in", cert.string(), "-noout", "-serial"});
  s = s.substr(s.find('=') + 1);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

TEST_F(IssuanceTest, IssueVerifyRevokeThenCrlAndOcspSaySo) {
  const auto [key, csr] = make_csr("www.example.test");
  const HttpResult r = post_json("/api/v1/certificates", "web", issue_body(csr, "server-tls", R"("validity":"30d")"));
  ASSERT_EQ(r.status, 201) << r.body << r.curl_error;
  const json answer = r.body_json();
  const std::string serial = answer.at("serial");
  EXPECT_EQ(r.header("location"), "/api/v1/certificates/" + serial);
  EXPECT_EQ(answer.at("profile"), "server-tls");
  EXPECT_EQ(answer.at("names"), json::array({"dns:www.example.test"}));
  const fs::path cert = dir() / "www.pem";
  write_text(cert, answer.at("certificate").get<std::string>());
  const fs::path chain = dir() / "www-chain.pem";
  write_text(chain, answer.at("chain").get<std::string>());
  EXPECT_EQ(read_text(chain), read_text(ca_pem()));

  // The relying party's view: it chains to the CA, strictly, for TLS servers.
  const ProcessResult verify = run_process({"openssl", "verify", "-x509_strict", "-purpose", "sslserver", "-CAfile",
                                            ca_pem().string(), cert.string()});
  EXPECT_EQ(verify.exit_code, 0) << describe(verify);
  EXPECT_TRUE(contains(verify.out, ": OK")) << describe(verify);
  const std::string text = openssl({"x509", "-in", cert.string(), "-noout", "-text"});
  EXPECT_TRUE(contains(text, "DNS:www.example.test")) << text;
  EXPECT_TRUE(contains(text, "TLS Web Server Authentication")) << text;
  EXPECT_TRUE(contains(text, "CA:FALSE")) << text;
  EXPECT_TRUE(contains(text, "Subject Key Identifier")) << text;
  EXPECT_TRUE(contains(text, "Authority Key Identifier")) << text;
  EXPECT_TRUE(contains(text, "URI:" + std::string("http://127.0.0.1:"))) << text;  // CDP and AIA
  EXPECT_TRUE(contains(text, "OCSP - URI:http://127.0.0.1:")) << text;
  EXPECT_TRUE(contains(text, "CA Issuers - URI:http://127.0.0.1:")) << text;
  // Positive, at least 128 bits, and what the API said.
  const std::string os = openssl_serial(cert);
  EXPECT_GE(os.size(), 32U) << os;
  EXPECT_LT(os[0], '8') << os;
  EXPECT_EQ(lower(os), lower(serial));
  // 30 days, as asked.
  const std::string end = openssl({"x509", "-in", cert.string(), "-noout", "-checkend", std::to_string(29 * 86400)});
  EXPECT_TRUE(contains(end, "will not expire")) << end;
  EXPECT_NE(run_process({"openssl", "x509", "-in", cert.string(), "-noout", "-checkend", std::to_string(31 * 86400)})
                .exit_code,
            0);

  // Fetch it back.
  const HttpResult got = curl("GET", "/api/v1/certificates/" + serial, "web");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body_json().at("status"), "valid");
  EXPECT_EQ(got.body_json().at("certificate"), answer.at("certificate"));

  // OCSP before: good, and the response verifies against the CA.
  std::string ocsp = ocsp_status(cert);
  EXPECT_TRUE(contains(ocsp, "Response verify OK")) << ocsp;
  EXPECT_TRUE(contains(ocsp, cert.string() + ": good")) << ocsp;

  // Revoke, with a reason.
  const HttpResult rev = post_json("/api/v1/certificates/" + serial + "/revoke", "web", R"({"reason":"keyCompromise"})");
  ASSERT_EQ(rev.status, 200) << rev.body;
  EXPECT_EQ(rev.body_json().at("status"), "revoked");
  EXPECT_EQ(rev.body_json().at("revocation_reason"), "keyCompromise");

  // OCSP after: revoked at once (the cached "good" answer is dropped).
  ocsp = ocsp_status(cert);
  EXPECT_TRUE(contains(ocsp, "Response verify OK")) << ocsp;
  EXPECT_TRUE(contains(ocsp, cert.string() + ": revoked")) << ocsp;
  EXPECT_TRUE(contains(ocsp, "Reason: keyCompromise")) << ocsp;

  // The CRL, regenerated after the debounce: openssl accepts it and refuses the certificate.
  ASSERT_TRUE(crl_lists(os, "after-revoke")) << "the CRL never listed " << os;
  const fs::path crl = fetch_crl("after-revoke");
  const ProcessResult crl_check = run_process({"openssl", "crl", "-in", crl.string(), "-CAfile", ca_pem().string(),
                                               "-noout"});
  EXPECT_EQ(crl_check.exit_code, 0) << describe(crl_check);
  EXPECT_TRUE(contains(crl_check.out + crl_check.err, "verify OK")) << describe(crl_check);
  const ProcessResult revoked = run_process({"openssl", "verify", "-x509_strict", "-crl_check", "-CAfile",
                                             ca_pem().string(), "-CRLfile", crl.string(), cert.string()});
  EXPECT_NE(revoked.exit_code, 0) << describe(revoked);
  EXPECT_TRUE(contains(revoked.out + revoked.err, "certificate revoked")) << describe(revoked);
  const std::string crl_text = openssl({"crl", "-in", crl.string(), "-noout", "-text"});
  EXPECT_TRUE(contains(crl_text, "Key Compromise")) << crl_text;
  EXPECT_TRUE(contains(crl_text, "X509v3 CRL Number")) << crl_text;

  // A certificate that was not revoked still passes the CRL check.
  const Issued other = issue("still-good.example.test");
  const ProcessResult good = run_process({"openssl", "verify", "-x509_strict", "-crl_check", "-CAfile",
                                          ca_pem().string(), "-CRLfile", crl.string(), other.cert.string()});
  EXPECT_EQ(good.exit_code, 0) << describe(good);

  // The record says revoked; revoking again is a conflict that changes nothing.
  EXPECT_EQ(curl("GET", "/api/v1/certificates/" + serial, "web").body_json().at("status"), "revoked");
  const HttpResult twice = post_json("/api/v1/certificates/" + serial + "/revoke", "web", R"({"reason":"superseded"})");
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(twice.error_code(), "already-revoked");
  EXPECT_EQ(curl("GET", "/api/v1/certificates/" + serial, "web").body_json().at("revocation_reason"), "keyCompromise");
  // The daemon's own revocation is published once: the poller (every 2 s) does not take it for one
  // made outside the daemon (the CLI test, which does make one, runs later).
  EXPECT_FALSE(daemon_->wait_for_log("revocations made outside the daemon", 3s)) << daemon_->log();
}

TEST_F(IssuanceTest, CrlAndCaCertificateAreServedWithTheirTypesAndCacheHeaders) {
  const HttpResult crl = curl("GET", http_ + "/crl");
  ASSERT_EQ(crl.status, 200);
  EXPECT_EQ(crl.header("content-type"), "application/pkix-crl");
  EXPECT_TRUE(contains(crl.header("cache-control"), "max-age=")) << crl.headers;
  EXPECT_FALSE(crl.header("expires").empty()) << crl.headers;
  EXPECT_FALSE(crl.header("last-modified").empty()) << crl.headers;
  const HttpResult der = curl("GET", http_ + "/ca.crt");
  ASSERT_EQ(der.status, 200);
  EXPECT_EQ(der.header("content-type"), "application/pkix-cert");
  const fs::path file = dir() / "served-ca.der";
  std::ofstream(file, std::ios::binary) << der.body;
  EXPECT_EQ(openssl({"x509", "-inform", "DER", "-in", file.string()}), read_text(ca_pem()));
  // No delta CRL unless configured, and the error says how to turn it on.
  const HttpResult delta = curl("GET", http_ + "/crl/delta");
  EXPECT_EQ(delta.status, 404);
  EXPECT_EQ(delta.error_code(), "delta-crl-disabled");
}

TEST_F(IssuanceTest, OcspGetWithARawSlashInTheBase64AndPostAgree) {
  const Issued leaf = issue("ocsp-get.example.test");
  ASSERT_FALSE(leaf.serial.empty());
  // Requests with a nonce differ every time: make them until the base64 has a '/', which RFC 6960
  // appendix A allows unencoded in the path (the chance that 40 tries all miss is below 1e-15).
  std::string b64;
  fs::path req;
  for (int i = 0; i < 40 && !contains(b64, "/"); ++i) {
    req = dir() / ("ocsp-get-" + std::to_string(i) + ".der");
    openssl({"ocsp", "-issuer", ca_pem().string(), "-cert", leaf.cert.string(), "-reqout", req.string()});
    b64 = openssl({"base64", "-A", "-in", req.string()});
    while (!b64.empty() && std::isspace(static_cast<unsigned char>(b64.back()))) b64.pop_back();
  }
  ASSERT_TRUE(contains(b64, "/")) << b64;
  for (const bool encode : {false, true}) {
    std::string path = b64;
    if (encode) {
      path = std::regex_replace(path, std::regex("/"), "%2F");
      path = std::regex_replace(path, std::regex("\\+"), "%2B");
      path = std::regex_replace(path, std::regex("="), "%3D");
    }
    const HttpResult r = curl("GET", http_ + "/ocsp/" + path);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/ocsp-response");
    const fs::path resp = dir() / (encode ? "ocsp-get-encoded.resp" : "ocsp-get-raw.resp");
    std::ofstream(resp, std::ios::binary) << r.body;
    // -reqin only (with -cert, openssl would build a new request with a new nonce to compare).
    const ProcessResult check = run_process({"openssl", "ocsp", "-respin", resp.string(), "-reqin", req.string(),
                                             "-resp_text", "-CAfile", ca_pem().string(), "-VAfile", ca_pem().string()});
    EXPECT_TRUE(contains(check.out + check.err, "Response verify OK")) << describe(check);
    EXPECT_FALSE(contains(check.out + check.err, "Nonce Verify error")) << describe(check);
    EXPECT_TRUE(contains(check.out, "Cert Status: good")) << describe(check);
    EXPECT_TRUE(contains(lower(check.out), lower(leaf.serial))) << describe(check);
  }
}

TEST_F(IssuanceTest, OcspNonceIsEchoedAndUnknownSerialIsUnknown) {
  const Issued leaf = issue("ocsp-nonce.example.test");
  ASSERT_FALSE(leaf.serial.empty());
  // openssl ocsp sends a nonce by default and fails the check when the response lacks it.
  const std::string with_nonce = ocsp_status(leaf.cert);
  EXPECT_TRUE(contains(with_nonce, "Response verify OK")) << with_nonce;
  EXPECT_FALSE(contains(with_nonce, "WARNING: no nonce in response")) << with_nonce;
  EXPECT_TRUE(contains(with_nonce, "OCSP Nonce")) << with_nonce;

  // A serial this CA never issued: "unknown", still signed by the CA.
  const ProcessResult r = run_process({"openssl", "ocsp", "-issuer", ca_pem().string(), "-serial",
                                       "0x1234567890ABCDEF", "-url", http_ + "/ocsp", "-CAfile", ca_pem().string()});
  EXPECT_TRUE(contains(r.out + r.err, "Response verify OK")) << describe(r);
  EXPECT_TRUE(contains(r.out, ": unknown")) << describe(r);
}

TEST_F(IssuanceTest, MalformedOcspRequestGetsMalformedRequest) {
  const fs::path garbage = dir() / "garbage-ocsp.der";
  write_text(garbage, "this is not DER");
  const HttpResult post = curl("POST", http_ + "/ocsp", "",
                               {"-H", "Content-Type: application/ocsp-request", "--data-binary", "@" + garbage.string()});
  ASSERT_EQ(post.status, 200);  // RFC 6960 A.1: an unsuccessful OCSP response is still HTTP 200
  const fs::path resp = dir() / "malformed.resp";
  std::ofstream(resp, std::ios::binary) << post.body;
  const ProcessResult r = run_process({"openssl", "ocsp", "-respin", resp.string(), "-resp_text", "-noverify"});
  EXPECT_TRUE(contains(lower(r.out + r.err), "malformedrequest")) << describe(r);
  const HttpResult get = curl("GET", http_ + "/ocsp/not-base64!!");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, post.body);
  // An OCSP request for another CA's certificate: "unauthorized" (RFC 6960 2.3).
  const TempDir other;
  const OpensslChain chain = make_openssl_chain(other.path());
  const ProcessResult foreign =
      run_process({"openssl", "ocsp", "-issuer", chain.intermediate_cert.string(), "-cert", chain.leaf_cert.string(),
                   "-url", http_ + "/ocsp", "-noverify"});
  EXPECT_TRUE(contains(lower(foreign.out + foreign.err), "unauthorized")) << describe(foreign);
}

TEST_F(IssuanceTest, CliIssueAndRevokeGoThroughTheSamePathAndTheDaemonSeesThem) {
  const auto [key, csr] = make_csr("cli.example.test");
  const fs::path out = dir() / "cli-issued.pem";
  const ProcessResult issued = cli({"issue", "--csr", csr.string(), "--profile", "server-tls", "--out", out.string(),
                                    "--json"});
  ASSERT_EQ(issued.exit_code, 0) << describe(issued);
  const std::string serial = json::parse(issued.out).at("serial");
  const ProcessResult verify =
      run_process({"openssl", "verify", "-x509_strict", "-CAfile", ca_pem().string(), out.string()});
  EXPECT_EQ(verify.exit_code, 0) << describe(verify);
  // --out never overwrites.
  const ProcessResult again = cli({"issue", "--csr", csr.string(), "--profile", "server-tls", "--out", out.string()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_TRUE(contains(again.err, "exists")) << describe(again);

  // The daemon's database has it: an admin sees it, owned by the operator.
  const HttpResult got = curl("GET", "/api/v1/certificates/" + serial, "ops");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_TRUE(contains(got.body_json().at("client").get<std::string>(), "operator:")) << got.body;
  EXPECT_TRUE(contains(ocsp_status(out), ": good"));

  const ProcessResult revoked = cli({"revoke", serial, "--reason", "superseded"});
  ASSERT_EQ(revoked.exit_code, 0) << describe(revoked);
  // The daemon notices within its polling interval and drops its cached OCSP answers.
  std::string ocsp;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    ocsp = ocsp_status(out);
    if (contains(ocsp, ": revoked")) break;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_TRUE(contains(ocsp, ": revoked")) << ocsp;
  EXPECT_TRUE(contains(ocsp, "Reason: superseded")) << ocsp;
  EXPECT_TRUE(crl_lists(openssl_serial(out), "cli-revoke"));
  // Twice from the CLI: a clear error, exit non-zero.
  const ProcessResult twice = cli({"revoke", serial, "--reason", "superseded"});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_TRUE(contains(twice.err, "already")) << describe(twice);
}

TEST_F(IssuanceTest, ListPagesThroughEverythingForAnAdminAndOwnCertificatesForOthers) {
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(issue("page-" + std::to_string(i) + ".example.test", "other").serial.empty());
  std::set<std::string> seen;
  std::string next = "/api/v1/certificates?limit=2";
  int pages = 0;
  while (!next.empty() && pages < 100) {
    const HttpResult r = curl("GET", next, "ops");
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = r.body_json();
    EXPECT_LE(j.at("items").size(), 2U);
    for (const auto& item : j.at("items")) EXPECT_TRUE(seen.insert(item.at("serial")).second) << "repeated";
    next = j.value("next", "");
    ++pages;
  }
  EXPECT_GE(seen.size(), 3U);
  EXPECT_GE(pages, 2);
  // "other" sees its three; "web" sees none of them.
  const json own = curl("GET", "/api/v1/certificates?limit=1000", "other").body_json();
  EXPECT_EQ(own.at("items").size(), 3U) << own.dump();
  for (const auto& item : own.at("items")) EXPECT_EQ(item.at("client"), "other");
  // Kept in a variable: a range-for over a member of a temporary reads freed memory (ASan).
  const json web = curl("GET", "/api/v1/certificates?limit=1000", "web").body_json();
  for (const auto& item : web.at("items")) {
    EXPECT_EQ(item.at("client"), "web");
  }
  const HttpResult bad_limit = curl("GET", "/api/v1/certificates?limit=0", "ops");
  EXPECT_EQ(bad_limit.status, 400);
  EXPECT_EQ(bad_limit.error_code(), "invalid-limit");
  // A filter it does not understand is refused, not ignored (which would list everything).
  for (const char* value : {"maybe", "TRUE", "yes", ""}) {
    const HttpResult bad_revoked = curl("GET", std::string("/api/v1/certificates?revoked=") + value, "ops");
    EXPECT_EQ(bad_revoked.status, 400) << value;
    EXPECT_EQ(bad_revoked.error_code(), "invalid-revoked") << value;
  }
  EXPECT_EQ(curl("GET", "/api/v1/certificates?revoked=false", "ops").status, 200);
}

TEST_F(IssuanceTest, AnotherClientsCertificateIsNotFoundAndCannotBeRevoked) {
  const Issued mine = issue("mine.example.test", "other");
  ASSERT_FALSE(mine.serial.empty());
  const HttpResult get = curl("GET", "/api/v1/certificates/" + mine.serial, "web");
  EXPECT_EQ(get.status, 404);
  EXPECT_EQ(get.error_code(), "certificate-not-found");
  const HttpResult rev = post_json("/api/v1/certificates/" + mine.serial + "/revoke", "web", "{}");
  EXPECT_EQ(rev.status, 404);
  EXPECT_EQ(curl("GET", "/api/v1/certificates/" + mine.serial, "other").body_json().at("status"), "valid");
  // An admin may revoke it.
  EXPECT_EQ(post_json("/api/v1/certificates/" + mine.serial + "/revoke", "ops", "{}").status, 200);
}

TEST_F(IssuanceTest, ClientCertificateFromThisCaAuthenticatesAndOneFromAnotherCaDoesNot) {
  const auto [key, csr] = make_csr("device.example.test");
  const HttpResult r = post_json("/api/v1/certificates", "device", issue_body(csr, "client-tls"));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string serial = r.body_json().at("serial");
  const fs::path cert = dir() / "device.pem";
  write_text(cert, r.body_json().at("certificate").get<std::string>());

  // With the certificate and no token: acts as "device".
  const HttpResult me = curl("GET", "/api/v1/certificates/" + serial, "", {"--cert", cert.string(), "--key", key.string()});
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.body_json().value("client", ""), "device");

  // A certificate from another CA.
  const TempDir other;
  const OpensslChain chain = make_openssl_chain(other.path());
  const HttpResult foreign = curl("GET", "/api/v1/certificates/" + serial, "",
                                  {"--cert", chain.leaf_cert.string(), "--key", chain.leaf_key.string()});
  EXPECT_EQ(foreign.status, 401) << foreign.body;
  EXPECT_EQ(foreign.error_code(), "client-certificate-untrusted");
  EXPECT_TRUE(contains(foreign.body, "not issued by this CA")) << foreign.body;

  // A server certificate from this CA has no clientAuth.
  const Issued server = issue("not-a-client.example.test");
  const HttpResult no_eku = curl("GET", "/api/v1/certificates/" + serial, "",
                                 {"--cert", server.cert.string(), "--key", server.key.string()});
  EXPECT_EQ(no_eku.status, 401) << no_eku.body;
  EXPECT_TRUE(contains(no_eku.body, "clientAuth")) << no_eku.body;

  // Once revoked, the certificate no longer authenticates.
  ASSERT_EQ(post_json("/api/v1/certificates/" + serial + "/revoke", "ops", "{}").status, 200);
  const HttpResult after = curl("GET", "/api/v1/certificates/" + serial, "", {"--cert", cert.string(), "--key", key.string()});
  EXPECT_EQ(after.status, 401) << after.body;
  EXPECT_TRUE(contains(after.body, "revoked")) << after.body;
}

TEST_F(IssuanceTest, ClientsAddChecksTheProfilesAndTheName) {
  const ProcessResult unknown = cli({"clients", "add", "ghost", "--profile", "server-tls,nosuch"});
  EXPECT_NE(unknown.exit_code, 0) << describe(unknown);
  for (const char* part : {"no profile \"nosuch\"", "signetd.toml", "internal", "[profiles.nosuch]"}) {
    EXPECT_TRUE(contains(unknown.err, part)) << part << "\n" << describe(unknown);
  }
  // The profile defined in signetd.toml is known; the client was not added by the refusal.
  EXPECT_FALSE(contains(cli({"clients", "list"}).out, "ghost"));
  const ProcessResult same = cli({"clients", "add", "WEB", "--profile", "internal"});
  EXPECT_NE(same.exit_code, 0) << describe(same);
  EXPECT_TRUE(contains(same.err, "ignoring case")) << describe(same);
  const ProcessResult ok = cli({"clients", "add", "internal-only", "--profile", "internal"});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_EQ(cli({"clients", "remove", "internal-only"}).exit_code, 0);
}

TEST_F(IssuanceTest, BadCredentialsAre401WithoutDetail) {
  const auto [key, csr] = make_csr("nobody.example.test");
  const std::string body = issue_body(csr, "server-tls");
  const HttpResult none = post_json("/api/v1/certificates", "", body);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.error_code(), "unauthorized");
  EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"signet\"");
  const HttpResult bad = post_json("/api/v1/certificates", "bad", body);
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.error_code(), "unauthorized");
  write_text(dir() / "basic.auth", "Authorization: Basic dXNlcjpwYXNz\n");
  EXPECT_EQ(post_json("/api/v1/certificates", "basic", body).status, 401);
  // The token never reaches the log, good or bad.
  const std::string web_token = read_text(dir() / "web.auth").substr(std::string("Authorization: Bearer ").size(), 20);
  EXPECT_FALSE(contains(daemon_->log(), web_token));
  EXPECT_FALSE(contains(daemon_->log(), "this-token-was-never-issued"));
  // Nothing was issued for it.
  const json all = curl("GET", "/api/v1/certificates?limit=1000", "ops").body_json();
  for (const auto& item : all.at("items")) EXPECT_NE(item.at("names"), json::array({"dns:nobody.example.test"}));
  // The log says why each was refused (never with the token), and who read the list.
  EXPECT_TRUE(daemon_->wait_for_log("POST /api/v1/certificates 401", 5s)) << daemon_->log();
  for (const char* why : {"auth-failed=no-credentials", "auth-failed=token-invalid", "auth-failed=authorization-malformed",
                          "GET /api/v1/certificates 200"}) {
    EXPECT_TRUE(daemon_->wait_for_log(why, 5s)) << why << "\n" << daemon_->log();
  }
  const std::string log = daemon_->log();
  const auto list_line = log.find("GET /api/v1/certificates 200");
  ASSERT_NE(list_line, std::string::npos);
  EXPECT_NE(log.substr(list_line, log.find('\n', list_line) - list_line).find("client=ops"), std::string::npos) << log;
}

TEST_F(IssuanceTest, BadRequestsGetAStableCodeAndIssueNothing) {
  const auto count_issued = [] {
    return curl("GET", "/api/v1/certificates?limit=1000", "ops").body_json().at("items").size();
  };
  const std::size_t before = count_issued();
  const auto [key, csr] = make_csr("bad-input.example.test");
  const std::string pem = read_text(csr);

  struct Case {
    std::string what;
    std::string body;
    int status;
    std::string code;
  };
  // A CSR whose signature no longer verifies: one bit of the signature flipped.
  const fs::path der = dir() / "bad-signature.der";
  openssl({"req", "-in", csr.string(), "-outform", "DER", "-out", der.string()});
  std::string bytes = read_text(der);
  bytes.back() = static_cast<char>(bytes.back() ^ 0x01);
  write_text(der, bytes);
  const std::string bad_signature = openssl({"req", "-inform", "DER", "-in", der.string()});
  const auto [weak_key, weak_csr] = make_csr("weak.example.test", "rsa:1024");
  const auto [rsa2k_key, rsa2k_csr] = make_csr("rsa.internal.test", "rsa:2048");
  const auto [in_key, in_csr] = make_csr("app.internal.test");
  // Names no certificate of server-tls may carry, and a request signed with SHA-1.
  const auto [wild_key, wild_csr] = make_csr("*.example.test");
  const auto [tld_key, tld_csr] = make_csr("com");
  const auto [wild_tld_key, wild_tld_csr] = make_csr("*.co.uk");
  const std::string sha1_csr = openssl({"req", "-new", "-key", key.string(), "-sha1", "-subj", "/CN=sha1.example.test",
                                        "-addext", "subjectAltName=DNS:sha1.example.test"});

  const std::vector<Case> cases = {
      {"not JSON", "{\"csr\": ", 400, "malformed-json"},
      {"JSON but not an object", "[1, 2]", 400, "malformed-json"},
      {"no csr", R"({"profile":"server-tls"})", 400, "csr-missing"},
      {"no profile", json{{"csr", pem}}.dump(), 400, "profile-missing"},
      {"unknown field", json{{"csr", pem}, {"profile", "server-tls"}, {"color", "red"}}.dump(), 400, "unknown-field"},
      {"garbage CSR", json{{"csr", "hello"}, {"profile", "server-tls"}}.dump(), 400, "csr-malformed"},
      {"truncated CSR", json{{"csr", pem.substr(0, pem.size() / 2)}, {"profile", "server-tls"}}.dump(), 400,
       "csr-malformed"},
      {"bad CSR signature", json{{"csr", bad_signature}, {"profile", "server-tls"}}.dump(), 422,
       "csr-signature-invalid"},
      {"RSA 1024", json{{"csr", read_text(weak_csr)}, {"profile", "server-tls"}}.dump(), 422, "key-too-weak"},
      {"RSA under the profile's minimum", json{{"csr", read_text(rsa2k_csr)}, {"profile", "internal"}}.dump(), 422,
       "key-too-weak"},
      {"name outside the profile", json{{"csr", pem}, {"profile", "internal"}}.dump(), 422, "name-not-allowed"},
      {"validity over the profile", json{{"csr", read_text(in_csr)}, {"profile", "internal"}, {"validity", "31d"}}.dump(),
       422, "validity-too-long"},
      {"validity not a duration", json{{"csr", pem}, {"profile", "server-tls"}, {"validity", "soon"}}.dump(), 400,
       "invalid-duration"},
      {"unknown profile", json{{"csr", pem}, {"profile", "nope"}}.dump(), 422, "profile-unknown"},
      {"profile not granted", json{{"csr", pem}, {"profile", "client-tls"}}.dump(), 403, "profile-not-allowed"},
      {"wildcard without allow_wildcards", json{{"csr", read_text(wild_csr)}, {"profile", "server-tls"}}.dump(), 422,
       "wildcard-not-allowed"},
      {"a public suffix", json{{"csr", read_text(tld_csr)}, {"profile", "server-tls"}}.dump(), 422,
       "name-public-suffix"},
      {"a wildcard under a public suffix", json{{"csr", read_text(wild_tld_csr)}, {"profile", "server-tls"}}.dump(), 422,
       "name-public-suffix"},
      {"CSR signed with SHA-1", json{{"csr", sha1_csr}, {"profile", "server-tls"}}.dump(), 422, "csr-weak-signature"},
  };
  for (const Case& c : cases) {
    const HttpResult r = post_json("/api/v1/certificates", "web", c.body);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
    EXPECT_EQ(r.error_code(), c.code) << c.what << ": " << r.body;
    const json j = r.body_json();
    if (j.is_object() && j.contains("error")) {
      EXPECT_FALSE(j["error"].value("message", "").empty()) << c.what;
      EXPECT_EQ(j["error"].value("request_id", ""), r.header("x-request-id")) << c.what;
    }
  }
  // The restricted profile does issue what it allows.
  EXPECT_EQ(post_json("/api/v1/certificates", "web", json{{"csr", read_text(in_csr)}, {"profile", "internal"}}.dump())
                .status,
            201);

  // Not JSON at all.
  const HttpResult form = curl("POST", "/api/v1/certificates", "web",
                               {"-H", "Content-Type: application/x-www-form-urlencoded", "--data", "csr=x"});
  EXPECT_EQ(form.status, 415);
  EXPECT_EQ(form.error_code(), "unsupported-media-type");

  // A body over [server] max_body_bytes (16 KiB here).
  const HttpResult big = post_json("/api/v1/certificates", "web", json{{"csr", std::string(20000, 'A')}, {"profile", "server-tls"}}.dump());
  EXPECT_EQ(big.status, 413) << big.body;

  // Serials: not hex, and unknown.
  const HttpResult not_hex = curl("GET", "/api/v1/certificates/xyz", "web");
  EXPECT_EQ(not_hex.status, 400);
  EXPECT_EQ(not_hex.error_code(), "serial-invalid");
  const HttpResult unknown = curl("GET", "/api/v1/certificates/0123456789ABCDEF0123456789ABCDEF", "web");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.error_code(), "certificate-not-found");
  const HttpResult unknown_revoke =
      post_json("/api/v1/certificates/0123456789ABCDEF0123456789ABCDEF/revoke", "ops", R"({"reason":"superseded"})");
  EXPECT_EQ(unknown_revoke.status, 404);
  const HttpResult bad_reason =
      post_json("/api/v1/certificates/0123456789ABCDEF0123456789ABCDEF/revoke", "ops", R"({"reason":"bored"})");
  EXPECT_EQ(bad_reason.status, 400);
  EXPECT_EQ(bad_reason.error_code(), "reason-invalid");

  // Only the one good request above was issued.
  EXPECT_EQ(count_issued(), before + 1);
  // And the daemon is still serving.
  EXPECT_EQ(curl("GET", http_ + "/healthz").status, 200);
}

TEST_F(IssuanceTest, HalfOpenClientDoesNotBlockOthers) {
  // A client that opens the TLS port and says nothing, and one that sends half a request.
  const std::string port = https_.substr(https_.rfind(':') + 1);
  const auto open_https = [] {  // the daemon's own count of open HTTPS connections
    const HttpResult m = curl("GET", http_ + "/metrics");
    const std::string series = "\nsignet_connections_open{listener=\"https\"} ";
    const std::size_t at = m.body.find(series);
    return at == std::string::npos ? 0.0 : std::stod(m.body.substr(at + series.size()));  // none yet
  };
  const double open_before = open_https();
  ProcessOptions o;
  o.timeout_seconds = 30;
  std::thread silent([&] { (void)run_process({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + port + "; sleep 3"}, o); });
  std::thread half([&] {  // through TLS, so that the half request reaches the HTTP layer
    (void)run_process({"bash", "-c",
                       "(printf 'POST /api/v1/certificates HTTP/1.1\\r\\n'; sleep 3) | openssl s_client -quiet "
                       "-connect 127.0.0.1:" + port + " >/dev/null 2>&1"},
                      o);
  });
  // Both are connected (the daemon counts them) before the issuance starts.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (open_https() < open_before + 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // polling the daemon's gauge, not waiting a guessed time
  }
  EXPECT_GE(open_https(), open_before + 2);
  const Issued meanwhile = issue("meanwhile.example.test");
  EXPECT_FALSE(meanwhile.serial.empty());
  silent.join();
  half.join();
}

TEST_F(IssuanceTest, MetricsCountIssuancesRefusalsAndOcsp) {
  // The daemon may be shared with the suite's other tests (one process runs them all): what this
  // test checks is what its own issuance added, so failed units are compared with their count before.
  const auto sample = [](const std::string& body, const std::string& series) {  // "\nSERIES VALUE"
    const std::size_t at = body.find("\n" + series + " ");
    return at == std::string::npos ? -1.0 : std::stod(body.substr(at + series.size() + 2));
  };
  const HttpResult before = curl("GET", http_ + "/metrics");
  ASSERT_EQ(before.status, 200);
  const double failed_before = sample(before.body, "signet_db_failed_write_units_total");
  ASSERT_GE(failed_before, 0.0) << before.body;
  ASSERT_FALSE(issue("metrics.example.test").serial.empty());
  const HttpResult m = curl("GET", http_ + "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_TRUE(contains(m.body, "signet_certificates_issued_total{profile=\"server-tls\"}")) << m.body;
  EXPECT_TRUE(contains(m.body, "signet_issuance_duration_seconds_bucket")) << m.body;
  EXPECT_TRUE(contains(m.body, "# TYPE signet_ocsp_responses_total counter")) << m.body;
  // The issuance's intent and certificate went through the database writer: at least one fsynced
  // commit (the certificate), and as many write units as both took.
  const auto value = [&](const std::string& series) { return sample(m.body, series); };
  EXPECT_GE(value("signet_db_commits_total{sync=\"full\"}"), 1.0) << m.body;
  EXPECT_GE(value("signet_db_commits_total{sync=\"normal\"}"), 0.0) << m.body;
  EXPECT_GE(value("signet_db_write_units_total"), 2.0) << m.body;
  EXPECT_EQ(value("signet_db_failed_write_units_total"), failed_before) << m.body;
}

// Removing and adding a client again is how an operator rotates a leaked credential: the client
// added again is another client, and nothing of the removed one works or shows again. (Kept after
// the CLI test above: the removal revokes outside the daemon, which the first test must not see.)
TEST_F(IssuanceTest, ARemovedClientNeverComesBackUnderItsName) {
  add_client("carol", "client-tls");
  fs::rename(dir() / "carol.auth", dir() / "carol-old.auth");
  const auto [key, csr] = make_csr("carol.example.test");
  const HttpResult r = post_json("/api/v1/certificates", "carol-old", issue_body(csr, "client-tls"));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string serial = r.body_json().at("serial");
  const fs::path cert = dir() / "carol-old.pem";
  write_text(cert, r.body_json().at("certificate").get<std::string>());
  const std::vector<std::string> as_old_cert = {"--cert", cert.string(), "--key", key.string()};
  ASSERT_EQ(curl("GET", "/api/v1/certificates/" + serial, "", as_old_cert).status, 200);
  ASSERT_TRUE(contains(ocsp_status(cert), ": good"));

  // Removed: the CLI says what it revoked.
  const ProcessResult removed = cli({"clients", "remove", "carol"});
  ASSERT_EQ(removed.exit_code, 0) << describe(removed);
  EXPECT_TRUE(contains(removed.out, "Revoked its 1 client certificate (cessationOfOperation)")) << removed.out;
  EXPECT_TRUE(contains(removed.out, "  " + serial + "\n")) << removed.out;
  add_client("carol", "client-tls");

  // The old certificate and token do not work for the new carol.
  const HttpResult old_cert = curl("GET", "/api/v1/certificates/" + serial, "", as_old_cert);
  EXPECT_EQ(old_cert.status, 401) << old_cert.body;
  EXPECT_EQ(old_cert.error_code(), "client-certificate-untrusted");
  const auto [key2, csr2] = make_csr("carol2.example.test");
  const HttpResult with_old_cert = post_json("/api/v1/certificates", "", issue_body(csr2, "client-tls"), as_old_cert);
  EXPECT_EQ(with_old_cert.status, 401) << with_old_cert.body;
  EXPECT_EQ(curl("GET", "/api/v1/certificates?limit=1000", "carol-old").status, 401);

  // The new carol sees nothing of the old one's.
  const HttpResult mine = curl("GET", "/api/v1/certificates?limit=1000", "carol");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.body_json().at("items"), json::array()) << mine.body;
  EXPECT_EQ(curl("GET", "/api/v1/certificates/" + serial, "carol").status, 404);
  EXPECT_EQ(post_json("/api/v1/certificates/" + serial + "/revoke", "carol", "{}").status, 404);
  // An admin asking for "carol" gets the client of that name now; the old one's certificate is
  // in the full listing, under its own client id.
  const HttpResult by_name = curl("GET", "/api/v1/certificates?limit=1000&client=carol", "ops");
  ASSERT_EQ(by_name.status, 200) << by_name.body;
  EXPECT_EQ(by_name.body_json().at("items"), json::array()) << by_name.body;
  const HttpResult record = curl("GET", "/api/v1/certificates/" + serial, "ops");
  ASSERT_EQ(record.status, 200) << record.body;
  EXPECT_EQ(record.body_json().at("status"), "revoked");
  EXPECT_EQ(record.body_json().at("revocation_reason"), "cessationOfOperation");
  EXPECT_EQ(curl("GET", "/api/v1/certificates?client=nobody", "ops").error_code(), "client-not-found");

  // Relying parties learn it too: OCSP (once the daemon's poller has seen the CLI's revocation)
  // and the CRL.
  std::string ocsp;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    ocsp = ocsp_status(cert);
    if (contains(ocsp, ": revoked")) break;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_TRUE(contains(ocsp, ": revoked")) << ocsp;
  EXPECT_TRUE(contains(ocsp, "Reason: cessationOfOperation")) << ocsp;
  EXPECT_TRUE(crl_lists(openssl_serial(cert), "client-removed"));

  // Audited: the revocation and the removal, naming the certificate.
  const std::vector<std::string> revocation = audit_rows("certificate.revoke", serial);
  ASSERT_EQ(revocation.size(), 1u);
  EXPECT_TRUE(contains(revocation[0], "cessationOfOperation")) << revocation[0];
  EXPECT_TRUE(contains(revocation[0], "client carol (id ")) << revocation[0];
  const std::vector<std::string> removal = audit_rows("client.remove", "carol");
  ASSERT_EQ(removal.size(), 1u);
  EXPECT_TRUE(contains(removal[0], "revoked 1 client certificate: " + serial)) << removal[0];
}

// The operator named in the audit log is the real uid's user, whatever $USER says.
TEST_F(IssuanceTest, TheCliOperatorIsTheRealUserNotUSER) {
  std::string real = "uid:" + std::to_string(::getuid());
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) real = found->pw_name;
  ASSERT_NE(real, "mallory");
  ProcessOptions as_mallory;
  as_mallory.env = {{"USER", "mallory"}, {"LOGNAME", "mallory"}};
  as_mallory.unset_env = {"SUDO_USER"};

  const auto [key, csr] = make_csr("audited.example.test");
  const fs::path out = dir() / "audited.pem";
  const ProcessResult issued =
      cli({"issue", "--csr", csr.string(), "--profile", "server-tls", "--out", out.string(), "--json"}, as_mallory);
  ASSERT_EQ(issued.exit_code, 0) << describe(issued);
  const std::string serial = json::parse(issued.out).at("serial");
  const HttpResult got = curl("GET", "/api/v1/certificates/" + serial, "ops");
  EXPECT_EQ(got.body_json().value("client", ""), "operator:" + real) << got.body;

  const ProcessResult revoked = cli({"revoke", serial, "--reason", "superseded"}, as_mallory);
  ASSERT_EQ(revoked.exit_code, 0) << describe(revoked);
  const std::vector<std::string> rows = audit_rows("certificate.revoke", serial);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].substr(0, rows[0].find(" | ")), "operator:" + real) << rows[0];

  // Under sudo, the user who went through it follows, as supplementary information.
  ProcessOptions via_sudo = as_mallory;
  via_sudo.unset_env.clear();
  via_sudo.env["SUDO_USER"] = "alice";
  const ProcessResult added = cli({"clients", "add", "sudo-added", "--profile", "server-tls"}, via_sudo);
  ASSERT_EQ(added.exit_code, 0) << describe(added);
  const std::vector<std::string> add_rows = audit_rows("client.add", "sudo-added");
  ASSERT_EQ(add_rows.size(), 1u);
  EXPECT_EQ(add_rows[0].substr(0, add_rows[0].find(" | ")), "operator:" + real + " (sudo from alice)") << add_rows[0];
}

}  // namespace
}  // namespace signet::test
