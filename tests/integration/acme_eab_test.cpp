// ACME external account binding (RFC 8555 7.3.4) end to end: a real signetd with
// [acme] eab_required = true, keys made with `signet acme eab add`, new-account requests signed
// here (signet::acme::sign_jws and an HMAC over the account key) and sent with curl, then lego and
// certbot registering with --eab. The operator's `signet acme accounts` list and deactivate, and
// the CLI's refusals. pebble-challtestsrv is the mock DNS (every name is 127.0.0.1); lego answers
// its own http-01 challenge.
//
// One CA and one signetd for the suite; everything listens on 127.0.0.1 on ports from free_port().
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "signet/acme/jws.h"
#include "signet/core/bytes.h"
#include "signet/crypto/key.h"
#include "signet/db/sqlite.h"
#include "integration/acme_harness.h"
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

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

using Http = AcmeHttp;

std::string b64(std::string_view s) { return acme::base64url_encode(as_bytes(s)); }

Bytes hmac_sha256(ByteView key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), as_bytes(data).data(),
                      data.size(), out.data(), out.size(), &len),
            nullptr);
  return Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(len));
}

// A key made by `signet acme eab add --json`.
struct EabKey {
  std::string kid;
  std::string hmac;  // base64url, as printed
  std::string profile;
};

class AcmeEabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_.clear();
    dir_ = new TempDir();
    const fs::path d = dir_->path();
    const ProcessResult setup = make_test_ca(kSignet, d, "eab-ca", "ACME EAB Test CA", "acme eab passphrase");
    if (setup.exit_code != 0) {
      setup_error_ = "signet setup failed: " + describe(setup);
      return;
    }
    dns_port_ = free_port();
    mgmt_port_ = free_port();
    http01_port_ = free_port();
    std::string config = read_text(d / "signetd.toml");
    config += "\n[acme]\nenabled = true\neab_required = true\nprofile = \"acme-web\"\nhttp01_port = " +
              std::to_string(http01_port_) + "\nresolver = \"127.0.0.1:" + std::to_string(dns_port_) +
              "\"\nvalidation_timeout = \"3s\"\n"
              "[profiles.acme-web]\nextended_key_usage = [\"serverAuth\"]\n"
              "key_usage = [\"digitalSignature\", \"keyEncipherment\"]\ndns_suffixes = [\"example.com\"]\n"
              "[profiles.acme-org]\nextended_key_usage = [\"serverAuth\"]\n"
              "key_usage = [\"digitalSignature\", \"keyEncipherment\"]\ndns_suffixes = [\"example.org\"]\n";
    write_text(d / "signetd.toml", config);
    // The mock DNS (every A query is 127.0.0.1); its challenge servers are off.
    challtestsrv_ = new SignetdProcess(
        {"pebble-challtestsrv", "-dns01", "127.0.0.1:" + std::to_string(dns_port_), "-management",
         "127.0.0.1:" + std::to_string(mgmt_port_), "-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv6",
         ""},
        d / "challtestsrv.log");
    if (!challtestsrv_->wait_for_log("Starting management server")) {
      setup_error_ = "pebble-challtestsrv did not start: " + challtestsrv_->log();
      return;
    }
    daemon_ = new SignetdProcess(kSignetd, d / "signetd.toml", d / "signetd.log");
    if (!daemon_->wait_for_log("listening on")) {
      setup_error_ = "signetd did not start: " + daemon_->log();
      return;
    }
    https_ = daemon_->urls().first;
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete challtestsrv_;
    daemon_ = nullptr;
    challtestsrv_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }
  void TearDown() override {
    if (HasFailure() && daemon_ != nullptr) std::cerr << "signetd log:\n" << daemon_->log() << "\n";
  }

  static fs::path dir() { return dir_->path(); }
  static std::string url(const std::string& path) { return https_ + path; }
  static std::string directory_url() { return url("/acme/directory"); }

  // `signet --data-dir D --passphrase-file D/passphrase args...`
  static ProcessResult signet(std::vector<std::string> args) {
    std::vector<std::string> argv = {kSignet, "--data-dir", dir().string(), "--passphrase-file",
                                     (dir() / "passphrase").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv);
  }

  static EabKey eab_add(const std::string& name, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"acme", "eab", "add", name, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const ProcessResult r = signet(args);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    const json j = json::parse(r.out, nullptr, false);
    if (!j.is_object()) {
      ADD_FAILURE() << "not JSON: " << describe(r);
      return {};
    }
    return {j.value("kid", ""), j.value("hmac_key", ""), j.value("profile", "")};
  }

  // `signet acme eab list --json`, by kid.
  static std::map<std::string, json> eab_list() {
    const ProcessResult r = signet({"acme", "eab", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    std::map<std::string, json> out;
    const json j = json::parse(r.out, nullptr, false);
    if (!j.is_object()) return out;
    for (const json& k : j["eab_keys"]) out[k.value("kid", "")] = k;
    return out;
  }

  static Http curl(std::vector<std::string> args) {
    const fs::path headers = dir() / "headers.txt";
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "--cacert", (dir() / "ca.pem").string(),
                                     "-D", headers.string(), "-o", "-", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult r = run_process(argv);
    Http h;
    const std::size_t nl = r.out.rfind('\n');
    h.status = nl == std::string::npos ? 0 : std::atoi(r.out.c_str() + nl + 1);
    h.body = nl == std::string::npos ? r.out : r.out.substr(0, nl);
    h.headers = read_text(headers);
    return h;
  }

  static Http post_raw(const std::string& target, const std::string& body) {
    const fs::path file = dir() / "body.json";
    write_text(file, body);
    return curl({"-H", "Content-Type: application/jose+json", "--data-binary", "@" + file.string(), target});
  }

  static std::string nonce() { return curl({"-I", url("/acme/new-nonce")}).header("replay-nonce"); }

  struct Account {
    ossl::Pkey key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    std::string kid;  // its URL once created
  };

  static Http post(const Account& a, const std::string& target, const std::string& payload) {
    json header{{"url", target}, {"nonce", nonce()}};
    if (a.kid.empty()) {
      header["jwk"] = acme::jwk_of(a.key.get());
    } else {
      header["kid"] = a.kid;
    }
    return post_raw(target, acme::sign_jws(a.key.get(), header, payload));
  }

  // The externalAccountBinding a client makes: HS256 with `hmac_b64url` over `jwk`.
  static json binding(const std::string& kid, const std::string& hmac_b64url, const json& jwk,
                      const std::string& target = "") {
    const json header{{"alg", "HS256"}, {"kid", kid}, {"url", target.empty() ? url("/acme/new-account") : target}};
    const std::string protected_b64 = b64(header.dump());
    const std::string payload_b64 = b64(jwk.dump());
    const auto key = acme::base64url_decode(hmac_b64url);
    EXPECT_TRUE(key.has_value()) << hmac_b64url;
    const Bytes mac = hmac_sha256(key.value_or(Bytes{}), protected_b64 + "." + payload_b64);
    return {{"protected", protected_b64}, {"payload", payload_b64}, {"signature", acme::base64url_encode(mac)}};
  }

  static Http new_account(const Account& a, const json& eab) {
    json payload{{"termsOfServiceAgreed", true}, {"contact", {"mailto:ops@example.com"}}};
    if (!eab.is_null()) payload["externalAccountBinding"] = eab;
    // new-account always carries the jwk, whether or not the account exists.
    return post_raw(url("/acme/new-account"),
                    acme::sign_jws(a.key.get(), {{"url", url("/acme/new-account")}, {"nonce", nonce()},
                                                 {"jwk", acme::jwk_of(a.key.get())}},
                                   payload.dump()));
  }

  // A new account bound with `key`; its URL in kid.
  static Account bound_account(const EabKey& key) {
    Account a;
    const Http h = new_account(a, binding(key.kid, key.hmac, acme::jwk_of(a.key.get())));
    EXPECT_EQ(h.status, 201) << h.body;
    a.kid = h.header("location");
    return a;
  }

  static std::string id_of(const Account& a) { return a.kid.substr(a.kid.rfind('/') + 1); }

  static Http new_order(const Account& a, const std::string& name) {
    return post(a, url("/acme/new-order"), json{{"identifiers", {{{"type", "dns"}, {"value", name}}}}}.dump());
  }

  // Environment for lego and certbot: trust the suite's CA, never a proxy.
  static ProcessOptions client_options(int timeout_seconds) {
    ProcessOptions o;
    o.timeout_seconds = timeout_seconds;
    o.env["LEGO_CA_CERTIFICATES"] = (dir() / "ca.pem").string();
    o.env["REQUESTS_CA_BUNDLE"] = (dir() / "ca.pem").string();
    o.env["NO_PROXY"] = "*";
    o.unset_env = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    return o;
  }

  static ProcessResult certbot_register(const fs::path& d, const EabKey& key) {
    return run_process({"certbot", "register", "--server", directory_url(), "--eab-kid", key.kid, "--eab-hmac-key",
                        key.hmac, "--agree-tos", "-m", "a@example.com", "--non-interactive", "--no-eff-email",
                        "--config-dir", (d / "conf").string(), "--work-dir", (d / "work").string(), "--logs-dir",
                        (d / "logs").string()},
                       client_options(90));
  }

  // The audit rows of `action`, as "actor subject detail".
  static std::vector<std::string> audit(const std::string& action) {
    db::Database db = db::Database::open(dir() / "signet.db", db::OpenMode::ReadOnly);
    db::Statement s = db.prepare("SELECT actor, subject, detail FROM audit_log WHERE action = ? ORDER BY id");
    s.bind(1, action);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0) + " " + s.text(1) + " " + s.text(2));
    return out;
  }

  static std::string setup_error_;
  static TempDir* dir_;
  static SignetdProcess* daemon_;
  static SignetdProcess* challtestsrv_;
  static std::string https_;
  static std::uint16_t dns_port_, mgmt_port_, http01_port_;
};

std::string AcmeEabTest::setup_error_;
TempDir* AcmeEabTest::dir_ = nullptr;
SignetdProcess* AcmeEabTest::daemon_ = nullptr;
SignetdProcess* AcmeEabTest::challtestsrv_ = nullptr;
std::string AcmeEabTest::https_;
std::uint16_t AcmeEabTest::dns_port_ = 0;
std::uint16_t AcmeEabTest::mgmt_port_ = 0;
std::uint16_t AcmeEabTest::http01_port_ = 0;

TEST_F(AcmeEabTest, TheDirectorySaysABindingIsRequired) {
  const Http dir = curl({directory_url()});
  ASSERT_EQ(dir.status, 200) << dir.body;
  EXPECT_EQ(dir.body_json()["meta"]["externalAccountRequired"], true) << dir.body;
}

TEST_F(AcmeEabTest, EabAddPrintsTheKeyOnceAndNeverAgain) {
  const ProcessResult text = signet({"acme", "eab", "add", "text output"});
  ASSERT_EQ(text.exit_code, 0) << describe(text);
  std::smatch kid, hmac;
  ASSERT_TRUE(std::regex_search(text.out, kid, std::regex("Key id: +([A-Za-z0-9_-]{22})\n"))) << text.out;
  ASSERT_TRUE(std::regex_search(text.out, hmac, std::regex("HMAC key: +([A-Za-z0-9_-]{43})\n"))) << text.out;
  EXPECT_TRUE(contains(text.out, "shown this once")) << text.out;
  EXPECT_TRUE(contains(text.out, "--eab-kid " + std::string(kid[1]) + " --eab-hmac-key " + std::string(hmac[1])))
      << text.out;
  EXPECT_TRUE(contains(text.out, "--eab --kid " + std::string(kid[1]) + " --hmac " + std::string(hmac[1]))) << text.out;
  EXPECT_TRUE(contains(text.out, "profile acme-web")) << text.out;  // [acme] profile by default

  const EabKey j = eab_add("json output", {"--profile", "acme-org"});
  EXPECT_EQ(j.kid.size(), 22u);
  ASSERT_EQ(acme::base64url_decode(j.hmac).value_or(Bytes{}).size(), 32u) << j.hmac;
  EXPECT_EQ(j.profile, "acme-org");

  // Listed without the HMAC key, by name and profile, unused.
  const ProcessResult list_text = signet({"acme", "eab", "list"});
  ASSERT_EQ(list_text.exit_code, 0) << describe(list_text);
  EXPECT_TRUE(contains(list_text.out, std::string(kid[1]) + "  text output  profile acme-web")) << list_text.out;
  EXPECT_TRUE(contains(list_text.out, "unused")) << list_text.out;
  const ProcessResult list_json = signet({"acme", "eab", "list", "--json"});
  for (const std::string& secret : {std::string(hmac[1]), j.hmac}) {
    EXPECT_FALSE(contains(list_text.out, secret));
    EXPECT_FALSE(contains(list_json.out, secret));
    EXPECT_FALSE(contains(daemon_->log(), secret));
  }
  const auto keys = eab_list();
  ASSERT_TRUE(keys.contains(j.kid));
  EXPECT_EQ(keys.at(j.kid)["name"], "json output");
  EXPECT_EQ(keys.at(j.kid)["profile"], "acme-org");
  EXPECT_TRUE(keys.at(j.kid)["account"].is_null());
  EXPECT_TRUE(keys.at(j.kid)["removed_at"].is_null());
  // Audited, as `signet clients add` is, without the key.
  bool audited = false;
  for (const std::string& row : audit("acme.eab.add")) {
    EXPECT_FALSE(contains(row, j.hmac)) << row;
    if (row.starts_with("operator:") && contains(row, j.kid + " name=json output profile=acme-org")) audited = true;
  }
  EXPECT_TRUE(audited);
}

TEST_F(AcmeEabTest, NewAccountsNeedAValidUnusedBinding) {
  const EabKey key = eab_add("team a");
  Account a;
  const json jwk = acme::jwk_of(a.key.get());

  const Http none = new_account(a, json());
  EXPECT_EQ(none.status, 400) << none.body;
  EXPECT_EQ(none.problem(), "externalAccountRequired");

  const EabKey other = eab_add("someone else's");
  const Http wrong_mac = new_account(a, binding(key.kid, other.hmac, jwk));
  EXPECT_EQ(wrong_mac.status, 403) << wrong_mac.body;
  EXPECT_EQ(wrong_mac.problem(), "unauthorized");
  EXPECT_TRUE(contains(wrong_mac.detail(), "MAC does not verify")) << wrong_mac.detail();

  const Http unknown = new_account(a, binding("no-such-kid", key.hmac, jwk));
  EXPECT_EQ(unknown.status, 403) << unknown.body;
  EXPECT_EQ(unknown.problem(), "unauthorized");
  EXPECT_TRUE(contains(unknown.detail(), "not known")) << unknown.detail();

  Account stranger;
  const Http other_key = new_account(a, binding(key.kid, key.hmac, acme::jwk_of(stranger.key.get())));
  EXPECT_EQ(other_key.problem(), "malformed");
  EXPECT_TRUE(contains(other_key.detail(), "payload must be the account key")) << other_key.detail();

  const Http elsewhere = new_account(a, binding(key.kid, key.hmac, jwk, url("/acme/new-order")));
  EXPECT_EQ(elsewhere.problem(), "malformed");
  EXPECT_TRUE(contains(elsewhere.detail(), "\"url\"")) << elsewhere.detail();

  const Http not_jws = new_account(a, json("a string"));
  EXPECT_EQ(not_jws.problem(), "malformed");

  // None of these made an account or used the key.
  EXPECT_TRUE(eab_list().at(key.kid)["account"].is_null());

  const Http created = new_account(a, binding(key.kid, key.hmac, jwk));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = created.header("location");
  a.kid = location;
  EXPECT_EQ(eab_list().at(key.kid)["account"], id_of(a));
  EXPECT_TRUE(contains(daemon_->log(), "with external account binding key " + key.kid)) << daemon_->log();

  // The account's key again: the account, as RFC 8555 7.3.1 says (the binding is not looked at).
  const Http again = new_account(a, binding(key.kid, key.hmac, jwk));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.header("location"), location);

  // The same key id for another account key: a key binds one account.
  Account second;
  const Http reused = new_account(second, binding(key.kid, key.hmac, acme::jwk_of(second.key.get())));
  EXPECT_EQ(reused.status, 403) << reused.body;
  EXPECT_EQ(reused.problem(), "unauthorized");
  EXPECT_TRUE(contains(reused.detail(), "used already")) << reused.detail();
  second.kid.clear();
  const Http lookup = post_raw(url("/acme/new-account"),
                               acme::sign_jws(second.key.get(),
                                              {{"url", url("/acme/new-account")}, {"nonce", nonce()},
                                               {"jwk", acme::jwk_of(second.key.get())}},
                                              R"({"onlyReturnExisting": true})"));
  EXPECT_EQ(lookup.problem(), "accountDoesNotExist");

  // A removed key binds nothing.
  const ProcessResult removed = signet({"acme", "eab", "remove", other.kid});
  ASSERT_EQ(removed.exit_code, 0) << describe(removed);
  const Http with_removed = new_account(second, binding(other.kid, other.hmac, acme::jwk_of(second.key.get())));
  EXPECT_EQ(with_removed.status, 403) << with_removed.body;
  EXPECT_EQ(with_removed.problem(), "unauthorized");
  const auto keys = eab_list();
  EXPECT_FALSE(keys.at(other.kid)["removed_at"].is_null());
  EXPECT_TRUE(keys.at(other.kid)["account"].is_null());
  // The account stays usable: it orders under [acme] profile.
  EXPECT_EQ(new_order(a, "a.example.com").status, 201);
}

TEST_F(AcmeEabTest, ABoundAccountOrdersUnderItsKeysProfile) {
  const Account web = bound_account(eab_add("web team"));
  const Account org = bound_account(eab_add("org team", {"--profile", "acme-org"}));

  EXPECT_EQ(new_order(web, "www.example.com").status, 201);
  const Http web_org = new_order(web, "www.example.org");
  EXPECT_EQ(web_org.problem(), "rejectedIdentifier") << web_org.body;

  EXPECT_EQ(new_order(org, "www.example.org").status, 201);
  const Http org_web = new_order(org, "www.example.com");
  EXPECT_EQ(org_web.problem(), "rejectedIdentifier") << org_web.body;
}

TEST_F(AcmeEabTest, TheOperatorListsAndDeactivatesAccounts) {
  const EabKey key = eab_add("to deactivate");
  const Account a = bound_account(key);
  const std::string id = id_of(a);

  ProcessResult r = signet({"acme", "accounts", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json listed;
  const json all = json::parse(r.out);
  for (const json& acct : all["accounts"]) {
    if (acct.value("id", "") == id) listed = acct;
  }
  ASSERT_TRUE(listed.is_object()) << id << " not in " << r.out;
  EXPECT_EQ(listed["status"], "valid");
  EXPECT_EQ(listed["eab_kid"], key.kid);
  EXPECT_EQ(listed["created_from"], "127.0.0.1");
  EXPECT_EQ(listed["contact"], json::array({"mailto:ops@example.com"}));
  r = signet({"acme", "accounts", "list"});
  EXPECT_TRUE(contains(r.out, id + "  valid")) << r.out;

  EXPECT_EQ(post(a, a.kid, "").status, 200);
  r = signet({"acme", "accounts", "deactivate", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "Deactivated ACME account " + id)) << r.out;
  const Http refused = new_order(a, "after.example.com");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.problem(), "unauthorized");
  EXPECT_TRUE(contains(refused.detail(), "deactivated")) << refused.detail();

  r = signet({"acme", "accounts", "list", "--json"});
  const json after = json::parse(r.out);
  for (const json& acct : after["accounts"]) {
    if (acct.value("id", "") == id) {
      EXPECT_EQ(acct["status"], "deactivated");
    }
  }
  ASSERT_EQ(audit("acme.account.deactivate").size(), 1u);
  EXPECT_TRUE(audit("acme.account.deactivate")[0].starts_with("operator:")) << audit("acme.account.deactivate")[0];
  EXPECT_TRUE(contains(audit("acme.account.deactivate")[0], id));
}

TEST_F(AcmeEabTest, TheCliRefusesUnknownProfilesKeysAndAccounts) {
  ProcessResult r = signet({"acme", "eab", "add", "nobody", "--profile", "no-such-profile"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "profile-unknown")) << r.err;
  EXPECT_TRUE(contains(r.err, "acme-web")) << r.err;  // names the profiles there are
  EXPECT_FALSE(contains(signet({"acme", "eab", "list"}).out, "nobody"));

  r = signet({"acme", "eab", "remove", "no-such-kid"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "eab-key-not-found")) << r.err;

  r = signet({"acme", "accounts", "deactivate", "no-such-account"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "acme-account-not-found")) << r.err;

  r = signet({"acme", "eab", "add"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);

  // Without the store passphrase, nothing.
  ProcessOptions no_passphrase;
  no_passphrase.unset_env = {"SIGNET_PASSPHRASE_FILE"};
  r = run_process({kSignet, "--data-dir", dir().string(), "acme", "eab", "list"}, no_passphrase);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

TEST_F(AcmeEabTest, LegoRegistersWithABindingAndGetsACertificate) {
  const EabKey key = eab_add("lego");
  const fs::path path = dir() / "lego";
  const ProcessResult r = run_process(
      {"lego", "--server", directory_url(), "--email", "a@example.com", "--accept-tos", "--path", path.string(), "--eab",
       "--kid", key.kid, "--hmac", key.hmac, "--domains", "lego.example.com", "--http", "--http.port",
       "127.0.0.1:" + std::to_string(http01_port_), "run"},
      client_options(90));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const fs::path cert = path / "certificates" / "lego.example.com.crt";
  ASSERT_TRUE(fs::exists(cert));
  const ProcessResult verify =
      run_process({"openssl", "verify", "-purpose", "sslserver", "-CAfile", (dir() / "ca.pem").string(), cert.string()});
  EXPECT_EQ(verify.exit_code, 0) << describe(verify);
  const json bound = eab_list().at(key.kid)["account"];
  EXPECT_TRUE(bound.is_string()) << bound;

  // Another lego account with the same key id: refused, and lego says why.
  const ProcessResult again = run_process(
      {"lego", "--server", directory_url(), "--email", "b@example.com", "--accept-tos", "--path",
       (dir() / "lego-2").string(), "--eab", "--kid", key.kid, "--hmac", key.hmac, "--domains", "lego2.example.com",
       "--http", "--http.port", "127.0.0.1:" + std::to_string(http01_port_), "run"},
      client_options(90));
  EXPECT_NE(again.exit_code, 0) << describe(again);
  EXPECT_TRUE(contains(again.out + again.err, "used already")) << describe(again);
}

TEST_F(AcmeEabTest, CertbotRegistersWithABinding) {
  const EabKey key = eab_add("certbot");
  ProcessResult r = certbot_register(dir() / "certbot", key);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(eab_list().at(key.kid)["account"].is_string());

  // Without a binding, certbot hears what it needs.
  r = run_process({"certbot", "register", "--server", directory_url(), "--agree-tos", "-m", "a@example.com",
                   "--non-interactive", "--no-eff-email", "--config-dir", (dir() / "certbot-2" / "conf").string(),
                   "--work-dir", (dir() / "certbot-2" / "work").string(), "--logs-dir",
                   (dir() / "certbot-2" / "logs").string()},
                  client_options(90));
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "external account binding")) << describe(r);
}

}  // namespace
}  // namespace signet::test
