// ACME (RFC 8555) as a client that follows the RFC to the letter sees it, request by request: a
// real signetd on loopback, requests signed here (signet::acme::sign_jws) and sent with curl,
// pebble-challtestsrv as the DNS the CA resolves names with and as the http-01 responder. Every
// kind of bad input gets its RFC 8555 problem document, a fresh nonce, and changes nothing.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "signet/acme/jws.h"
#include "signet/core/bytes.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "integration/acme_harness.h"
#include "support/postgres_server.h"
#include "support/openssl_cli.h"
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

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

using Http = AcmeHttp;

std::string b64(std::string_view s) { return acme::base64url_encode(as_bytes(s)); }

// A CA with ACME, a mock DNS that knows only the names a test adds, its http-01 responder, and
// signetd.
class AcmeProtocolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const fs::path d = dir_->path();
    const ProcessResult setup = make_test_ca(kSignet, d, "acme-ca", "ACME Protocol Test CA", "acme test passphrase");
    ASSERT_EQ(setup.exit_code, 0) << describe(setup);
    dns_port_ = free_port();
    management_port_ = free_port();
    http01_port_ = free_port();
    challtestsrv_ = new SignetdProcess(
        {"pebble-challtestsrv", "-dns01", "127.0.0.1:" + std::to_string(dns_port_), "-management",
         "127.0.0.1:" + std::to_string(management_port_), "-http01", "127.0.0.1:" + std::to_string(http01_port_),
         "-https01", "", "-tlsalpn01", "", "-defaultIPv4", "", "-defaultIPv6", ""},
        d / "challtestsrv.log");
    ASSERT_TRUE(challtestsrv_->wait_for_log("Starting management server")) << challtestsrv_->log();
    std::string config = read_text(d / "signetd.toml");
    config += "\n[acme]\nenabled = true\nprofile = \"acme-web\"\nhttp01_port = " + std::to_string(http01_port_) +
              "\nresolver = \"127.0.0.1:" + std::to_string(dns_port_) +
              "\"\nvalidation_timeout = \"2s\"\norders_per_account_per_hour = 6\n"
              "terms_of_service = \"https://ca.example.com/terms\"\n"
              "[profiles.acme-web]\nextended_key_usage = [\"serverAuth\"]\n"
              "key_usage = [\"digitalSignature\", \"keyEncipherment\"]\ndns_suffixes = [\"example.com\"]\n"
              "ip_networks = [\"127.0.0.0/8\"]\nallow_wildcards = true\nkey_types = [\"ec-p256\", \"rsa\"]\n";
    config += test_ledger_config("acme_protocol");
    write_text(d / "signetd.toml", config);
    daemon_ = new SignetdProcess(kSignetd, d / "signetd.toml", d / "signetd.log");
    ASSERT_TRUE(daemon_->wait_for_log("listening on")) << daemon_->log();
    https_ = daemon_->urls().first;
    ASSERT_FALSE(https_.empty()) << daemon_->log();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete challtestsrv_;
    daemon_ = nullptr;
    challtestsrv_ = nullptr;
    delete dir_;
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "signetd log:\n" << daemon_->log() << "\n";
  }

  static std::string url(const std::string& path) { return https_ + path; }

  // curl with the CA's certificate; -D for the headers.
  // A file name of its own for each call: tests post from several threads at once.
  static fs::path scratch(const std::string& what) {
    static std::atomic<int> next{0};
    return dir_->path() / (what + "-" + std::to_string(next++));
  }

  static Http curl(std::vector<std::string> args) {
    const fs::path headers = scratch("headers");
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "--cacert", (dir_->path() / "ca.pem").string(),
                                     "-D", headers.string(), "-o", "-", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult r = run_process(argv);
    Http h;
    const std::size_t nl = r.out.rfind('\n');
    h.status = nl == std::string::npos ? 0 : std::atoi(r.out.c_str() + nl + 1);
    h.body = nl == std::string::npos ? r.out : r.out.substr(0, nl);
    h.headers = read_text(headers);
    fs::remove(headers);
    return h;
  }

  static Http post_raw(const std::string& target, const std::string& body,
                       const std::string& type = "application/jose+json") {
    const fs::path file = scratch("body");
    write_text(file, body);
    Http h = curl({"-H", "Content-Type: " + type, "--data-binary", "@" + file.string(), target});
    fs::remove(file);
    return h;
  }

  static std::string nonce() {
    const Http h = curl({"-I", url("/acme/new-nonce")});
    return h.header("replay-nonce");
  }

  // A client's account: its key, and its URL once created.
  struct Account {
    ossl::Pkey key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    std::string kid;
  };

  static Http post(const Account& a, const std::string& target, const std::string& payload, bool jwk = false,
                   json extra = json::object()) {
    json header{{"url", target}, {"nonce", nonce()}};
    if (jwk || a.kid.empty()) {
      header["jwk"] = acme::jwk_of(a.key.get());
    } else {
      header["kid"] = a.kid;
    }
    for (auto& [k, v] : extra.items()) header[k] = v;
    return post_raw(target, acme::sign_jws(a.key.get(), header, payload));
  }

  static Account new_account() {
    Account a;
    const Http h = post(a, url("/acme/new-account"), R"({"termsOfServiceAgreed": true})", true);
    EXPECT_EQ(h.status, 201) << h.body;
    a.kid = h.header("location");
    return a;
  }

  static void add_a(const std::string& host, const std::string& address) {
    const ProcessResult r = run_process(
        {"curl", "-sS", "-d", json{{"host", host + "."}, {"addresses", {address}}}.dump(),
         "http://127.0.0.1:" + std::to_string(management_port_) + "/add-a"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
  }
  static void add_http01(const std::string& token, const std::string& content) {
    const ProcessResult r = run_process(
        {"curl", "-sS", "-d", json{{"token", token}, {"content", content}}.dump(),
         "http://127.0.0.1:" + std::to_string(management_port_) + "/add-http01"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
  }

  static std::string thumbprint(const Account& a) { return acme::parse_jwk(acme::jwk_of(a.key.get())).thumbprint; }

  // An order for `names`, with the http-01 challenge of each authorization answered rightly by the
  // responder and validated; returns the order (its URL in "url").
  static json ready_order(const Account& a, const std::vector<std::string>& names) {
    json ids = json::array();
    for (const std::string& n : names) {
      ids.push_back({{"type", "dns"}, {"value", n}});
      add_a(n, "127.0.0.1");
    }
    const Http created = post(a, url("/acme/new-order"), json{{"identifiers", ids}}.dump());
    EXPECT_EQ(created.status, 201) << created.body;
    json order = created.body_json();
    order["url"] = created.header("location");
    for (const json& authz_url : order["authorizations"]) {
      const json authz = post(a, authz_url.get<std::string>(), "").body_json();
      for (const json& ch : authz["challenges"]) {
        if (ch["type"] != "http-01") continue;
        add_http01(ch["token"].get<std::string>(), ch["token"].get<std::string>() + "." + thumbprint(a));
        const Http answered = post(a, ch["url"].get<std::string>(), "{}");
        EXPECT_EQ(answered.status, 200) << answered.body;
        EXPECT_EQ(answered.body_json().value("status", ""), "valid") << answered.body;
      }
    }
    return order;
  }

  // A DER CSR for `names` with a new key of `newkey` (openssl req -newkey's argument), base64url.
  static std::string csr(const std::vector<std::string>& names, const std::string& newkey = "ec",
                         const std::vector<std::string>& extra = {"-pkeyopt", "ec_paramgen_curve:P-256"}) {
    std::string san;
    for (const std::string& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
    const fs::path out = dir_->path() / "csr.der";
    std::vector<std::string> args = {"req", "-new", "-newkey", newkey, "-nodes", "-keyout",
                                     (dir_->path() / "csr.key").string(), "-subj", "/CN=" + names.front()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-addext", "subjectAltName=" + san, "-outform", "DER", "-out", out.string()});
    openssl(args);
    const std::string der = read_text(out);
    return acme::base64url_encode(as_bytes(der));
  }

  static Http finalize(const Account& a, const json& order, const std::string& csr_b64) {
    return post(a, order["finalize"].get<std::string>(), json{{"csr", csr_b64}}.dump());
  }

  static TempDir* dir_;
  static SignetdProcess* daemon_;
  static SignetdProcess* challtestsrv_;
  static std::string https_;
  static std::uint16_t dns_port_, management_port_, http01_port_;
};

TempDir* AcmeProtocolTest::dir_ = nullptr;
SignetdProcess* AcmeProtocolTest::daemon_ = nullptr;
SignetdProcess* AcmeProtocolTest::challtestsrv_ = nullptr;
std::string AcmeProtocolTest::https_;
std::uint16_t AcmeProtocolTest::dns_port_ = 0;
std::uint16_t AcmeProtocolTest::management_port_ = 0;
std::uint16_t AcmeProtocolTest::http01_port_ = 0;

TEST_F(AcmeProtocolTest, DirectoryAndNoncesFollowTheRfc) {
  const Http dir = curl({url("/acme/directory")});
  ASSERT_EQ(dir.status, 200) << dir.body;
  const json j = dir.body_json();
  for (const char* key : {"newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"}) {
    EXPECT_TRUE(j.value(key, "").starts_with(https_ + "/acme/")) << key << ": " << dir.body;
  }
  EXPECT_EQ(j["meta"]["termsOfService"], "https://ca.example.com/terms");
  EXPECT_EQ(j["meta"]["externalAccountRequired"], false);

  const Http head = curl({"-I", url("/acme/new-nonce")});
  EXPECT_EQ(head.status, 200);
  const Http get = curl({url("/acme/new-nonce")});
  EXPECT_EQ(get.status, 204);
  EXPECT_EQ(get.header("cache-control"), "no-store");
  EXPECT_NE(head.header("replay-nonce"), get.header("replay-nonce"));
  EXPECT_EQ(head.header("replay-nonce").size(), 32u);
}

TEST_F(AcmeProtocolTest, AccountsAreCreatedOnceAndFoundByKey) {
  Account a;
  const Http created = post(a, url("/acme/new-account"),
                            R"({"termsOfServiceAgreed": true, "contact": ["mailto:ops@example.com"]})", true);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = created.header("location");
  EXPECT_TRUE(location.starts_with(https_ + "/acme/acct/")) << location;
  EXPECT_EQ(created.body_json()["status"], "valid");
  EXPECT_FALSE(created.header("replay-nonce").empty());

  // The same key again: the same account, 200.
  const Http again = post(a, url("/acme/new-account"), R"({"termsOfServiceAgreed": true})", true);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.header("location"), location);
  const Http existing = post(a, url("/acme/new-account"), R"({"onlyReturnExisting": true})", true);
  EXPECT_EQ(existing.status, 200) << existing.body;
  EXPECT_EQ(existing.header("location"), location);

  Account stranger;
  const Http none = post(stranger, url("/acme/new-account"), R"({"onlyReturnExisting": true})", true);
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.problem(), "accountDoesNotExist");
  const Http no_terms = post(stranger, url("/acme/new-account"), R"({})", true);
  EXPECT_EQ(no_terms.problem(), "malformed");
  EXPECT_NE(no_terms.detail().find("https://ca.example.com/terms"), std::string::npos) << no_terms.detail();
  const Http bad_contact = post(stranger, url("/acme/new-account"),
                                R"({"termsOfServiceAgreed": true, "contact": ["tel:+15555550100"]})", true);
  EXPECT_EQ(bad_contact.problem(), "unsupportedContact");
  const Http invalid_contact = post(stranger, url("/acme/new-account"),
                                    R"({"termsOfServiceAgreed": true, "contact": ["mailto:not an address"]})", true);
  EXPECT_EQ(invalid_contact.problem(), "invalidContact");

  // POST-as-GET reads it; contact updates; another account cannot read it.
  a.kid = location;
  const Http read = post(a, location, "");
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body_json()["contact"], json::array({"mailto:ops@example.com"}));
  const Http update = post(a, location, R"({"contact": ["mailto:new@example.com"]})");
  EXPECT_EQ(update.body_json()["contact"], json::array({"mailto:new@example.com"}));
  const Account other = new_account();
  EXPECT_EQ(post(other, location, "").problem(), "unauthorized");
}

TEST_F(AcmeProtocolTest, MalformedRequestsGetProblemDocumentsAndFreshNonces) {
  const Account a = new_account();
  const std::string target = url("/acme/new-order");
  const std::string order = R"({"identifiers": [{"type": "dns", "value": "m.example.com"}]})";

  const Http not_json = post_raw(target, "this is not JSON");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(not_json.problem(), "malformed");
  EXPECT_EQ(not_json.header("content-type"), "application/problem+json");
  EXPECT_FALSE(not_json.header("replay-nonce").empty());

  const Http wrong_type = post_raw(target, acme::sign_jws(a.key.get(), {{"url", target}, {"nonce", nonce()}, {"kid", a.kid}}, order),
                                   "application/json");
  EXPECT_EQ(wrong_type.status, 415);

  // alg "none": no signature at all.
  const std::string none_header = json{{"alg", "none"}, {"url", target}, {"nonce", nonce()}, {"kid", a.kid}}.dump();
  const Http alg_none = post_raw(target, json{{"protected", b64(none_header)}, {"payload", b64(order)}, {"signature", ""}}.dump());
  EXPECT_EQ(alg_none.problem(), "badSignatureAlgorithm");

  // A signature by another key than the account's.
  Account impostor;
  impostor.kid = a.kid;
  const Http forged = post(impostor, target, order);
  EXPECT_EQ(forged.status, 400);
  EXPECT_EQ(forged.problem(), "malformed");
  EXPECT_NE(forged.detail().find("signature"), std::string::npos) << forged.detail();

  // The url header must be the request's URL.
  const Http elsewhere = post_raw(target, acme::sign_jws(a.key.get(), {{"url", url("/acme/new-account")},
                                                                       {"nonce", nonce()}, {"kid", a.kid}}, order));
  EXPECT_EQ(elsewhere.problem(), "unauthorized");

  // A nonce is good once; one never issued is refused.
  const std::string n = nonce();
  const Http first = post_raw(target, acme::sign_jws(a.key.get(), {{"url", target}, {"nonce", n}, {"kid", a.kid}}, order));
  EXPECT_EQ(first.status, 201) << first.body;
  const Http replay = post_raw(target, acme::sign_jws(a.key.get(), {{"url", target}, {"nonce", n}, {"kid", a.kid}}, order));
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(replay.problem(), "badNonce");
  EXPECT_FALSE(replay.header("replay-nonce").empty());
  const Http invented = post_raw(target, acme::sign_jws(a.key.get(), {{"url", target}, {"nonce", b64("invented nonce 123456")},
                                                                      {"kid", a.kid}}, order));
  EXPECT_EQ(invented.problem(), "badNonce");

  // kid for newAccount, jwk elsewhere, and a kid that is no account.
  EXPECT_EQ(post(a, url("/acme/new-account"), R"({"termsOfServiceAgreed": true})", false).problem(), "malformed");
  EXPECT_EQ(post(a, target, order, true).problem(), "malformed");
  Account ghost;
  ghost.kid = https_ + "/acme/acct/doesnotexist";
  EXPECT_EQ(post(ghost, target, order).problem(), "accountDoesNotExist");

  // A payload that is not an object.
  EXPECT_EQ(post(a, target, "[1, 2]").problem(), "malformed");
}

TEST_F(AcmeProtocolTest, OrdersOutsideTheProfileAreRejected) {
  const Account a = new_account();
  const auto order = [&](const std::string& identifiers) {
    return post(a, url("/acme/new-order"), R"({"identifiers": )" + identifiers + "}");
  };
  const Http outside = order(R"([{"type": "dns", "value": "www.example.org"}])");
  EXPECT_EQ(outside.status, 400);
  EXPECT_EQ(outside.problem(), "rejectedIdentifier");
  EXPECT_NE(outside.detail().find("www.example.org"), std::string::npos) << outside.detail();
  EXPECT_EQ(order(R"([{"type": "email", "value": "a@example.com"}])").problem(), "unsupportedIdentifier");
  EXPECT_EQ(order(R"([{"type": "dns", "value": "com"}])").problem(), "rejectedIdentifier");
  EXPECT_EQ(order(R"([{"type": "dns", "value": "bad_name.example.com"}])").problem(), "rejectedIdentifier");
  EXPECT_EQ(order(R"([{"type": "ip", "value": "10.0.0.1"}])").problem(), "rejectedIdentifier");
  EXPECT_EQ(order(R"([])").problem(), "malformed");
  EXPECT_EQ(post(a, url("/acme/new-order"),
                 R"({"identifiers": [{"type": "dns", "value": "a.example.com"}], "notBefore": "2030-01-01T00:00:00Z"})")
                .problem(),
            "malformed");

  // A wildcard is offered dns-01 only; an IP address http-01 and tls-alpn-01 (RFC 8738).
  const Http mixed = order(R"([{"type": "dns", "value": "*.w.example.com"}, {"type": "ip", "value": "127.0.0.1"}])");
  ASSERT_EQ(mixed.status, 201) << mixed.body;
  std::set<std::string> wildcard_types, ip_types;
  const json mixed_order = mixed.body_json();
  for (const json& u : mixed_order["authorizations"]) {
    const Http got = post(a, u.get<std::string>(), "");
    ASSERT_EQ(got.status, 200) << got.body;
    const json authz = got.body_json();
    auto& types = authz["identifier"]["type"] == "ip" ? ip_types : wildcard_types;
    for (const json& ch : authz["challenges"]) types.insert(ch["type"].get<std::string>());
    if (authz["identifier"]["type"] == "dns") {
      EXPECT_EQ(authz["identifier"]["value"], "w.example.com");
      EXPECT_EQ(authz["wildcard"], true);
    }
  }
  EXPECT_EQ(wildcard_types, (std::set<std::string>{"dns-01"}));
  EXPECT_EQ(ip_types, (std::set<std::string>{"http-01", "tls-alpn-01"}));
}

TEST_F(AcmeProtocolTest, AnOrderGoesFromPendingToValidAndItsCertificateVerifies) {
  const Account a = new_account();
  json order = ready_order(a, {"www.example.com", "api.example.com"});
  const std::string order_url = order["url"];
  const Http ready = post(a, order_url, "");
  ASSERT_EQ(ready.body_json()["status"], "ready") << ready.body;

  // A CSR for other names, or a weak key, is badCSR and the order stays ready.
  const Http other_names = finalize(a, order, csr({"www.example.com"}));
  EXPECT_EQ(other_names.problem(), "badCSR");
  const Http weak = finalize(a, order, csr({"www.example.com", "api.example.com"}, "rsa:1024", {}));
  EXPECT_EQ(weak.problem(), "badCSR") << weak.body;
  EXPECT_EQ(post(a, order_url, "").body_json()["status"], "ready");

  const Http done = finalize(a, order, csr({"api.example.com", "www.example.com"}));
  ASSERT_EQ(done.status, 200) << done.body;
  const json valid = done.body_json();
  EXPECT_EQ(valid["status"], "valid");
  // Finalized once only.
  EXPECT_EQ(finalize(a, order, csr({"api.example.com", "www.example.com"})).problem(), "orderNotReady");

  // POST-as-GET downloads the chain; a plain GET does not.
  const Http pem = post(a, valid["certificate"].get<std::string>(), "");
  ASSERT_EQ(pem.status, 200) << pem.body;
  EXPECT_EQ(pem.header("content-type"), "application/pem-certificate-chain");
  EXPECT_NE(curl({valid["certificate"].get<std::string>()}).status, 200);
  write_text(dir_->path() / "issued.pem", pem.body);
  const std::string verified =
      openssl({"verify", "-CAfile", (dir_->path() / "ca.pem").string(), (dir_->path() / "issued.pem").string()});
  EXPECT_NE(verified.find(": OK"), std::string::npos) << verified;
  const std::string text = openssl({"x509", "-in", (dir_->path() / "issued.pem").string(), "-noout", "-ext", "subjectAltName"});
  EXPECT_NE(text.find("DNS:www.example.com"), std::string::npos) << text;
  EXPECT_NE(text.find("DNS:api.example.com"), std::string::npos) << text;

  // Another account sees neither the order nor the certificate.
  const Account other = new_account();
  EXPECT_EQ(post(other, order_url, "").status, 404);
  EXPECT_EQ(post(other, valid["certificate"].get<std::string>(), "").status, 404);

  // A second order for the same names reuses the valid authorizations: ready at once.
  const Http again = post(a, url("/acme/new-order"),
                          R"({"identifiers": [{"type": "dns", "value": "www.example.com"}, {"type": "dns", "value": "api.example.com"}]})");
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.body_json()["status"], "ready");
  EXPECT_EQ(again.body_json()["authorizations"], order["authorizations"]);
}

TEST_F(AcmeProtocolTest, FinalizingAPendingOrderIsOrderNotReady) {
  const Account a = new_account();
  add_a("pending.example.com", "127.0.0.1");
  const Http created = post(a, url("/acme/new-order"), R"({"identifiers": [{"type": "dns", "value": "pending.example.com"}]})");
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(created.body_json()["status"], "pending");
  const Http early = finalize(a, created.body_json(), csr({"pending.example.com"}));
  EXPECT_EQ(early.status, 403);
  EXPECT_EQ(early.problem(), "orderNotReady");
  // Pending resources tell the client to poll soon.
  const Http polled = post(a, created.header("location"), "");
  EXPECT_EQ(polled.header("retry-after"), "1");
}

TEST_F(AcmeProtocolTest, FailedValidationsNameWhatWentWrong) {
  const Account a = new_account();
  const auto first_http01 = [&](const std::string& name) {
    const Http created = post(a, url("/acme/new-order"), json{{"identifiers", {{{"type", "dns"}, {"value", name}}}}}.dump());
    EXPECT_EQ(created.status, 201) << created.body;
    const json authz = post(a, created.body_json()["authorizations"][0].get<std::string>(), "").body_json();
    for (const json& ch : authz["challenges"]) {
      if (ch["type"] == "http-01") return std::make_pair(ch, created.header("location"));
    }
    return std::make_pair(json(), std::string());
  };

  // The wrong content: incorrectResponse; the authorization and the order become invalid.
  add_a("wrong.example.com", "127.0.0.1");
  const auto [wrong, wrong_order] = first_http01("wrong.example.com");
  add_http01(wrong["token"].get<std::string>(), "not the key authorization");
  const Http answered = post(a, wrong["url"].get<std::string>(), "{}");
  EXPECT_EQ(answered.body_json()["status"], "invalid") << answered.body;
  EXPECT_EQ(answered.body_json()["error"]["type"], "urn:ietf:params:acme:error:incorrectResponse") << answered.body;
  EXPECT_EQ(post(a, wrong_order, "").body_json()["status"], "invalid");
  // An invalid challenge is not validated again.
  EXPECT_EQ(post(a, wrong["url"].get<std::string>(), "{}").body_json()["status"], "invalid");
  // Another challenge of the invalid authorization can no longer be answered (found by a tester:
  // it said "pending").
  const json wrong_authz = post(a, answered.header("link").substr(1, answered.header("link").find('>') - 1), "").body_json();
  for (const json& ch : wrong_authz["challenges"]) {
    if (ch["type"] != "dns-01") continue;
    const Http over = post(a, ch["url"].get<std::string>(), "{}");
    EXPECT_EQ(over.problem(), "malformed") << over.body;
    EXPECT_NE(over.detail().find("invalid"), std::string::npos) << over.detail();
  }

  // A name the DNS does not know: dns.
  const auto [unknown, unknown_order] = first_http01("nowhere.example.com");
  const Http no_dns = post(a, unknown["url"].get<std::string>(), "{}");
  EXPECT_EQ(no_dns.body_json()["error"]["type"], "urn:ietf:params:acme:error:dns") << no_dns.body;

  // A responder that accepts the connection and never answers: connection, after the 2 s timeout.
  std::optional<SilentListener> silent;
  silent.emplace(http01_port_, "127.0.0.3");
  add_a("hangs.example.com", "127.0.0.3");
  const auto [hangs, hangs_order] = first_http01("hangs.example.com");
  const auto started = std::chrono::steady_clock::now();
  Http hung = post(a, hangs["url"].get<std::string>(), "{}");
  // Answered "processing" after 2 s at most, or with the outcome: poll until it is there.
  for (int i = 0; i < 20 && hung.body_json()["status"] == "processing"; ++i) {
    std::this_thread::sleep_for(250ms);
    hung = post(a, hangs["url"].get<std::string>(), "");
  }
  const auto took = std::chrono::steady_clock::now() - started;
  silent.reset();
  EXPECT_EQ(hung.body_json()["error"]["type"], "urn:ietf:params:acme:error:connection") << hung.body;
  EXPECT_LT(took, 10s);
}

TEST_F(AcmeProtocolTest, KeyRolloverMovesTheAccountToTheNewKey) {
  Account a = new_account();
  Account next;
  const std::string target = url("/acme/key-change");
  const json inner_payload{{"account", a.kid}, {"oldKey", acme::jwk_of(a.key.get())}};
  const std::string inner = acme::sign_jws(next.key.get(), {{"url", target}, {"jwk", acme::jwk_of(next.key.get())}},
                                           inner_payload.dump());
  const Http changed = post(a, target, inner);
  ASSERT_EQ(changed.status, 200) << changed.body;
  // The old key no longer signs for the account; the new one does.
  EXPECT_EQ(post(a, a.kid, "").problem(), "malformed");
  next.kid = a.kid;
  EXPECT_EQ(post(next, a.kid, "").status, 200);
  // newAccount with the new key finds the same account.
  EXPECT_EQ(post(next, url("/acme/new-account"), R"({"onlyReturnExisting": true})", true).header("location"), a.kid);

  // A key in use by another account: 409 with that account's URL.
  const Account other = new_account();
  const json steal{{"account", next.kid}, {"oldKey", acme::jwk_of(next.key.get())}};
  const std::string steal_inner =
      acme::sign_jws(other.key.get(), {{"url", target}, {"jwk", acme::jwk_of(other.key.get())}}, steal.dump());
  const Http conflict = post(next, target, steal_inner);
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_EQ(conflict.header("location"), other.kid);
}

TEST_F(AcmeProtocolTest, ADeactivatedAccountCanDoNothingMore) {
  const Account a = new_account();
  const Http off = post(a, a.kid, R"({"status": "deactivated"})");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(off.body_json()["status"], "deactivated");
  const Http refused = post(a, url("/acme/new-order"), R"({"identifiers": [{"type": "dns", "value": "d.example.com"}]})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.problem(), "unauthorized");
}

TEST_F(AcmeProtocolTest, RevocationByTheAccountOrTheCertificateKey) {
  const Account a = new_account();
  const json order = ready_order(a, {"revoked.example.com"});
  const std::string request = csr({"revoked.example.com"});
  const std::string cert_key = (dir_->path() / "csr.key").string();
  const Http done = finalize(a, order, request);
  ASSERT_EQ(done.status, 200) << done.body;
  const Http pem = post(a, done.body_json()["certificate"].get<std::string>(), "");
  write_text(dir_->path() / "to-revoke.pem", pem.body);
  const std::string der = openssl({"x509", "-in", (dir_->path() / "to-revoke.pem").string(), "-outform", "DER"});
  const std::string cert_b64 = acme::base64url_encode(as_bytes(der));

  // Another account may not revoke it.
  const Account other = new_account();
  const Http stranger = post(other, url("/acme/revoke-cert"), json{{"certificate", cert_b64}}.dump());
  EXPECT_EQ(stranger.problem(), "unauthorized");
  EXPECT_EQ(post(a, url("/acme/revoke-cert"), json{{"certificate", cert_b64}, {"reason", 6}}.dump()).problem(),
            "badRevocationReason");

  // Signed with the certificate's own key (jwk), as a key holder without the account would.
  Account holder;
  holder.key = crypto::parse_private_key_der(as_bytes(openssl({"pkey", "-in", cert_key, "-outform", "DER"})));
  const Http revoked = post(holder, url("/acme/revoke-cert"), json{{"certificate", cert_b64}, {"reason", 1}}.dump(), true);
  EXPECT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(post(a, url("/acme/revoke-cert"), json{{"certificate", cert_b64}}.dump()).problem(), "alreadyRevoked");
}

TEST_F(AcmeProtocolTest, OrdersPerAccountAreLimited) {
  const Account a = new_account();
  Http last;
  for (int i = 0; i < 7; ++i) {
    last = post(a, url("/acme/new-order"),
                json{{"identifiers", {{{"type", "dns"}, {"value", "n" + std::to_string(i) + ".example.com"}}}}}.dump());
  }
  EXPECT_EQ(last.status, 429) << last.body;
  EXPECT_EQ(last.problem(), "rateLimited");
  EXPECT_FALSE(last.header("retry-after").empty());
}

TEST_F(AcmeProtocolTest, OneAccountsHangingTargetsDoNotHoldUpAnotherAccountsValidation) {
  const SilentListener silent(http01_port_, "127.0.0.3");
  // One account asks for 40 validations of targets that hang until the 2 s timeout.
  const Account slow = new_account();
  json ids = json::array();
  for (int i = 0; i < 40; ++i) {
    const std::string name = "slow" + std::to_string(i) + ".example.com";
    add_a(name, "127.0.0.3");
    ids.push_back({{"type", "dns"}, {"value", name}});
  }
  const Http created = post(slow, url("/acme/new-order"), json{{"identifiers", ids}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  std::vector<std::string> challenges;
  const json slow_order = created.body_json();
  for (const json& u : slow_order["authorizations"]) {
    const json authz = post(slow, u.get<std::string>(), "").body_json();
    for (const json& ch : authz["challenges"]) {
      if (ch["type"] == "http-01") challenges.push_back(ch["url"].get<std::string>());
    }
  }
  ASSERT_EQ(challenges.size(), 40u);
  std::vector<std::thread> posts;
  for (const std::string& ch : challenges) posts.emplace_back([&, ch] { (void)post(slow, ch, "{}"); });
  std::this_thread::sleep_for(1s);
  // Another account's validation runs at once: its answer is the outcome, not "processing".
  const Account quick = new_account();
  const auto started = std::chrono::steady_clock::now();
  const json order = ready_order(quick, {"quick.example.com"});
  const auto took = std::chrono::steady_clock::now() - started;
  for (auto& t : posts) t.join();
  EXPECT_EQ(post(quick, order["url"].get<std::string>(), "").body_json()["status"], "ready");
  EXPECT_LT(took, 2s) << "another account's hanging validations delayed this one";
}

TEST_F(AcmeProtocolTest, FoundByTestersDuplicateMembersMediaTypeAndWrongMethods) {
  const Account a = new_account();
  // A payload with a member twice: a proxy and this server could read different requests.
  const Http twice = post(a, url("/acme/new-order"),
                          R"({"identifiers": [{"type": "dns", "value": "a.example.com"}], "identifiers": []})");
  EXPECT_EQ(twice.problem(), "malformed");
  EXPECT_NE(twice.detail().find("more than once"), std::string::npos) << twice.detail();
  const Http not_json = post(a, url("/acme/new-order"), "{\"identifiers\": NaN}");
  EXPECT_NE(not_json.detail().find("not JSON"), std::string::npos) << not_json.detail();

  // The media type's case and parameters do not matter (RFC 9110 8.3.1).
  const std::string target = url("/acme/new-order");
  const Http charset = post_raw(target, acme::sign_jws(a.key.get(), {{"url", target}, {"nonce", nonce()}, {"kid", a.kid}},
                                                       R"({"identifiers": [{"type": "dns", "value": "c.example.com"}]})"),
                                "Application/JOSE+JSON; charset=utf-8");
  EXPECT_EQ(charset.status, 201) << charset.body;

  // A GET of a POST-as-GET resource, and an unknown path: problem documents with a nonce.
  const Http get = curl({charset.header("location")});
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("content-type"), "application/problem+json");
  EXPECT_FALSE(get.header("replay-nonce").empty());
  const Http unknown = post(a, url("/acme/no-such-thing"), "");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.problem(), "malformed");

  // A key change to the key the account has already.
  const std::string kc = url("/acme/key-change");
  const std::string inner = acme::sign_jws(a.key.get(), {{"url", kc}, {"jwk", acme::jwk_of(a.key.get())}},
                                           json{{"account", a.kid}, {"oldKey", acme::jwk_of(a.key.get())}}.dump());
  const Http same = post(a, kc, inner);
  EXPECT_EQ(same.status, 400) << same.body;
  EXPECT_NE(same.detail().find("current key"), std::string::npos) << same.detail();
}

TEST_F(AcmeProtocolTest, FoundByTestersACsrWithTheAccountKeyIsRefused) {
  const Account a = new_account();
  const json order = ready_order(a, {"samekey.example.com"});
  // A CSR signed with the account's own key.
  const fs::path key = dir_->path() / "account.key";
  write_text(key, "");
  const SecretBytes der = crypto::private_key_der(a.key.get());
  write_text(key, std::string(der.as_string_view()));
  const fs::path out = dir_->path() / "samekey.der";
  openssl({"req", "-new", "-key", key.string(), "-keyform", "DER", "-subj", "/CN=samekey.example.com", "-addext",
           "subjectAltName=DNS:samekey.example.com", "-outform", "DER", "-out", out.string()});
  const Http refused = finalize(a, order, acme::base64url_encode(as_bytes(read_text(out))));
  EXPECT_EQ(refused.problem(), "badCSR") << refused.body;
  EXPECT_EQ(post(a, order["url"].get<std::string>(), "").body_json()["status"], "ready");
}

TEST_F(AcmeProtocolTest, FoundByTestersStoppingDoesNotWaitForQueuedValidations) {
  const SilentListener silent(http01_port_, "127.0.0.3");
  const Account slow = new_account();
  json ids = json::array();
  for (int i = 0; i < 20; ++i) {
    const std::string name = "stop" + std::to_string(i) + ".example.com";
    add_a(name, "127.0.0.3");
    ids.push_back({{"type", "dns"}, {"value", name}});
  }
  const Http created = post(slow, url("/acme/new-order"), json{{"identifiers", ids}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const json slow_order = created.body_json();
  std::vector<std::thread> posts;
  for (const json& u : slow_order["authorizations"]) {
    const json authz = post(slow, u.get<std::string>(), "").body_json();
    for (const json& ch : authz["challenges"]) {
      if (ch["type"] == "http-01") posts.emplace_back([&, ch_url = ch["url"].get<std::string>()] { (void)post(slow, ch_url, "{}"); });
    }
  }
  for (auto& t : posts) t.join();
  // 20 validations of 2 s, 4 at a time: 10 s of queue. The stop waits for the running ones only.
  const auto started = std::chrono::steady_clock::now();
  daemon_->signal(SIGTERM);
  EXPECT_EQ(daemon_->wait(30s), 0) << daemon_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 6s);
  // The challenges it left processing are validated again by the next start.
  delete daemon_;
  daemon_ = new SignetdProcess(kSignetd, dir_->path() / "signetd.toml", dir_->path() / "signetd-2.log");
  ASSERT_TRUE(daemon_->wait_for_log("listening on")) << daemon_->log();
  https_ = daemon_->urls().first;
}

}  // namespace
}  // namespace signet::test
