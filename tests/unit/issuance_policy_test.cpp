#include "signet/issuance/policy.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/handles.h"
#include "signet/crypto/key.h"
#include "support/error_assert.h"

namespace signet::issuance {
namespace {

using namespace std::chrono_literals;
using test::capture_error;

constexpr auto kDay = std::chrono::hours(24);

// ---- building CSRs ------------------------------------------------------------------------------

enum class SanType { Dns, Ip, Email, Uri, RawIp };
struct San {
  SanType type;
  std::string value;  // text, or for RawIp the raw octets
};
San dns(std::string v) { return {SanType::Dns, std::move(v)}; }
San ip(std::string v) { return {SanType::Ip, std::move(v)}; }
San email(std::string v) { return {SanType::Email, std::move(v)}; }
San uri(std::string v) { return {SanType::Uri, std::move(v)}; }

struct ExtensionStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};


ossl::GeneralNamePtr general_name(const San& san) {
  ossl::GeneralNamePtr gn{GENERAL_NAME_new()};
  EXPECT_TRUE(gn);
  if (san.type == SanType::Ip || san.type == SanType::RawIp) {
    ASN1_OCTET_STRING* os = nullptr;
    if (san.type == SanType::Ip) {
      os = a2i_IPADDRESS(san.value.c_str());
    } else {
      os = ASN1_OCTET_STRING_new();
      EXPECT_EQ(ASN1_OCTET_STRING_set(os, reinterpret_cast<const unsigned char*>(san.value.data()),
                                      static_cast<int>(san.value.size())),
                1);
    }
    EXPECT_NE(os, nullptr) << san.value;
    GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, os);
    return gn;
  }
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  EXPECT_EQ(ASN1_STRING_set(s, san.value.data(), static_cast<int>(san.value.size())), 1);
  const int type = san.type == SanType::Dns ? GEN_DNS : san.type == SanType::Email ? GEN_EMAIL : GEN_URI;
  GENERAL_NAME_set0_value(gn.get(), type, s);
  return gn;
}

// How a test CSR is signed: with `digest` (null: SHA-256; Ed25519 and Ed448 take none), and for
// an RSA key with RSASSA-PSS padding when `pss` is set.
struct SignWith {
  const EVP_MD* digest = nullptr;
  bool pss = false;
};

// A PKCS#10 request for `key`, built with the OpenSSL API so that it can say things Signet's own
// builder never would: `subject` (may be empty), a subjectAltName extension request with `sans`
// (none when empty), signed by `signing_key` (null: by `key` itself) as `how` says.
crypto::CertificateRequest make_csr(const EVP_PKEY* key, const crypto::NameEntries& subject = {},
                                    const std::vector<San>& sans = {}, const EVP_PKEY* signing_key = nullptr,
                                    SignWith how = {}) {
  ossl::X509ReqPtr req{X509_REQ_new()};
  EXPECT_TRUE(req);
  EXPECT_EQ(X509_REQ_set_version(req.get(), 0), 1);
  ossl::X509NamePtr name{X509_NAME_new()};
  for (const auto& [attr, value] : subject) {
    EXPECT_EQ(X509_NAME_add_entry_by_txt(name.get(), attr.c_str(), MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0),
              1)
        << attr << "=" << value;
  }
  EXPECT_EQ(X509_REQ_set_subject_name(req.get(), name.get()), 1);
  EXPECT_EQ(X509_REQ_set_pubkey(req.get(), const_cast<EVP_PKEY*>(key)), 1);
  if (!sans.empty()) {
    ossl::GeneralNamesPtr names{GENERAL_NAMES_new()};
    for (const San& san : sans) {
      ossl::GeneralNamePtr gn = general_name(san);
      EXPECT_GT(sk_GENERAL_NAME_push(names.get(), gn.get()), 0);
      (void)gn.release();
    }
    std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackFree> exts{sk_X509_EXTENSION_new_null()};
    X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get());
    EXPECT_NE(ext, nullptr);
    EXPECT_GT(sk_X509_EXTENSION_push(exts.get(), ext), 0);
    EXPECT_EQ(X509_REQ_add_extensions(req.get(), exts.get()), 1);
  }
  EVP_PKEY* signer = const_cast<EVP_PKEY*>(signing_key != nullptr ? signing_key : key);
  const int signer_type = EVP_PKEY_get_base_id(signer);
  const bool digestless = signer_type == EVP_PKEY_ED25519 || signer_type == EVP_PKEY_ED448;
  const EVP_MD* digest = digestless ? nullptr : how.digest != nullptr ? how.digest : EVP_sha256();
  ossl::MdCtx ctx{EVP_MD_CTX_new()};
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), &pctx, digest, nullptr, signer), 1);
  if (how.pss) {
    EXPECT_GT(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 0);
  }
  EXPECT_GT(X509_REQ_sign_ctx(req.get(), ctx.get()), 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req.get(), &der);
  EXPECT_GT(len, 0);
  Bytes bytes(der, der + len);
  OPENSSL_free(der);
  return crypto::CertificateRequest::from_der(bytes);
}

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

ossl::Pkey q_keygen_rsa(std::size_t bits) {
  ossl::Pkey k{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits)};
  EXPECT_TRUE(k);
  return k;
}

// A 2048-bit RSA key with public exponent `e` (odd: OpenSSL generates no other).
ossl::Pkey rsa_key_with_exponent(unsigned e) {
  ossl::PkeyCtx ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)};
  EXPECT_TRUE(ctx);
  EXPECT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048), 1);
  BIGNUM* exponent = BN_new();
  EXPECT_EQ(BN_set_word(exponent, e), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), exponent), 1);
  BN_free(exponent);
  EVP_PKEY* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_keygen(ctx.get(), &raw), 1);
  return ossl::Pkey{raw};
}

ossl::Pkey keygen_ec(const char* curve) {
  ossl::PkeyCtx ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  EXPECT_TRUE(ctx);
  EXPECT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_group_name(ctx.get(), curve), 1);
  EVP_PKEY* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_keygen(ctx.get(), &raw), 1);
  return ossl::Pkey{raw};
}

// ---- fixture ------------------------------------------------------------------------------------

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_key_ = new ossl::Pkey(crypto::generate_key(crypto::KeyAlgorithm::EcP256));
    ec_key_ = new ossl::Pkey(crypto::generate_key(crypto::KeyAlgorithm::EcP256));
    crypto::SelfSignedSpec spec;
    spec.common_name = "Policy Test CA";
    spec.validity = 10 * 365 * kDay;
    spec.not_before = std::chrono::system_clock::now() - 1h;
    ca_ = new crypto::Certificate(crypto::make_self_signed(ca_key_->get(), spec));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete ec_key_;
    delete ca_key_;
  }

  [[nodiscard]] static const EVP_PKEY* key() { return ec_key_->get(); }
  [[nodiscard]] static const crypto::Certificate& ca() { return *ca_; }

  static Profile server() { return default_profiles().at("server-tls"); }
  static Profile client() { return default_profiles().at("client-tls"); }
  static Profile restricted() {
    Profile p = server();
    p.name = "restricted";
    p.dns_suffixes = {"example.test"};
    p.ip_networks = {IpNetwork::parse("10.0.0.0/8")};
    p.email_domains = {"example.test"};
    return p;
  }
  // restricted(), with wildcards allowed.
  static Profile wildcards() {
    Profile p = restricted();
    p.name = "wildcards";
    p.allow_wildcards = true;
    return p;
  }
  // server(), with wildcards allowed.
  static Profile any_wildcard() {
    Profile p = server();
    p.name = "any-wildcard";
    p.allow_wildcards = true;
    return p;
  }

  [[nodiscard]] Approved approve(const Profile& profile, const crypto::CertificateRequest& csr,
                                 std::optional<std::chrono::seconds> validity = std::nullopt) const {
    return evaluate(profile, csr, validity, ca(), now_, "web-1");
  }
  [[nodiscard]] Error refusal(const Profile& profile, const crypto::CertificateRequest& csr,
                              std::optional<std::chrono::seconds> validity = std::nullopt) const {
    return capture_error([&] { (void)approve(profile, csr, validity); });
  }
  // The refusal for a CSR naming exactly `sans` (and no CN), under `profile`.
  [[nodiscard]] Error refusal_for(const Profile& profile, std::vector<San> sans) const {
    return refusal(profile, make_csr(key(), {}, std::move(sans)));
  }
  [[nodiscard]] std::vector<std::string> names_for(const Profile& profile, std::vector<San> sans,
                                                   crypto::NameEntries subject = {}) const {
    return approve(profile, make_csr(key(), std::move(subject), std::move(sans))).intent.names;
  }

  static void expect_denied(const Error& e, const std::string& code) {
    EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied) << e.what();
    EXPECT_EQ(e.code(), code) << e.what();
  }

  TimePoint now_ = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  // The notAfter of a certificate valid for `life` issued at now_: from notBefore (a minute back),
  // both ends included (RFC 5280 4.1.2.5).
  [[nodiscard]] TimePoint ends(std::chrono::seconds life) const { return now_ - 60s + life - 1s; }

  static inline ossl::Pkey* ca_key_ = nullptr;
  static inline ossl::Pkey* ec_key_ = nullptr;
  static inline crypto::Certificate* ca_ = nullptr;
};

// ---- parse_csr ----------------------------------------------------------------------------------

TEST_F(PolicyTest, ParseCsrAcceptsPem) {
  const auto csr = make_csr(key(), {{"CN", "www.example.test"}}, {dns("www.example.test")});
  const auto parsed = parse_csr(crypto::to_pem(csr));
  EXPECT_EQ(parsed.der(), csr.der());
  EXPECT_TRUE(parsed.signature_valid());
}

TEST_F(PolicyTest, ParseCsrAcceptsPemWithSurroundingText) {
  const auto csr = make_csr(key(), {{"CN", "www.example.test"}});
  const auto parsed = parse_csr("request for www:\n" + crypto::to_pem(csr) + "\nthanks\n");
  EXPECT_EQ(parsed.der(), csr.der());
}

TEST_F(PolicyTest, ParseCsrAcceptsTheNewCertificateRequestHeader) {
  const auto csr = make_csr(key(), {{"CN", "www.example.test"}});
  std::string pem = crypto::to_pem(csr);
  for (const std::string from : {"BEGIN CERTIFICATE REQUEST", "END CERTIFICATE REQUEST"}) {
    const auto at = pem.find(from);
    ASSERT_NE(at, std::string::npos);
    pem.replace(at, from.size(), from.substr(0, from.find(' ') + 1) + "NEW " + from.substr(from.find(' ') + 1));
  }
  ASSERT_NE(pem.find("-----BEGIN NEW CERTIFICATE REQUEST-----"), std::string::npos) << pem;
  EXPECT_EQ(parse_csr(pem).der(), csr.der());
}

TEST_F(PolicyTest, ParseCsrAcceptsDer) {
  const auto csr = make_csr(key(), {{"CN", "www.example.test"}});
  EXPECT_EQ(parse_csr(as_string(csr.der())).der(), csr.der());
}

TEST_F(PolicyTest, ParseCsrRefusesEmptyInput) {
  const Error e = capture_error([] { (void)parse_csr(""); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "csr-malformed");
  EXPECT_NE(std::string(e.what()).find("is empty"), std::string::npos) << e.what();
}

TEST_F(PolicyTest, ParseCsrRefusesGarbage) {
  for (const std::string& garbage : {std::string("hello"), std::string("\x30\x03\x02\x01\x01", 5),
                                    std::string(1000, '\xff'), std::string(1, '\0')}) {
    const Error e = capture_error([&] { (void)parse_csr(garbage); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "csr-malformed");
  }
}

TEST_F(PolicyTest, ParseCsrRefusesTruncatedPem) {
  const std::string pem = crypto::to_pem(make_csr(key(), {{"CN", "www.example.test"}}));
  for (const std::size_t keep : {pem.size() / 2, pem.size() - 30, std::size_t{40}}) {
    SCOPED_TRACE(keep);
    const Error e = capture_error([&] { (void)parse_csr(pem.substr(0, keep)); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "csr-malformed");
  }
}

TEST_F(PolicyTest, ParseCsrRefusesDamagedPemBody) {
  std::string pem = crypto::to_pem(make_csr(key(), {{"CN", "www.example.test"}}));
  const auto body = pem.find('\n') + 1;
  pem.replace(body, 8, "AAAAAAAA");
  const Error e = capture_error([&] { (void)parse_csr(pem); });
  EXPECT_EQ(e.code(), "csr-malformed");
}

TEST_F(PolicyTest, ParseCsrRefusesTruncatedDer) {
  const Bytes der = make_csr(key(), {{"CN", "www.example.test"}}).der();
  const Error e = capture_error([&] { (void)parse_csr(as_string(Bytes(der.begin(), der.end() - 10))); });
  EXPECT_EQ(e.code(), "csr-malformed");
}

TEST_F(PolicyTest, ParseCsrRefusesDerWithTrailingBytes) {
  const Bytes der = make_csr(key(), {{"CN", "www.example.test"}}).der();
  const Error e = capture_error([&] { (void)parse_csr(as_string(der) + "x"); });
  EXPECT_EQ(e.code(), "csr-malformed");
}

TEST_F(PolicyTest, ParseCsrRefusesPemOfAnotherKind) {
  const Error e = capture_error([] { (void)parse_csr(crypto::to_pem(ca())); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "csr-malformed");
  EXPECT_NE(std::string(e.what()).find("PEM of another kind"), std::string::npos) << e.what();

  const Error k =
      capture_error([] { (void)parse_csr("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"); });
  EXPECT_EQ(k.code(), "csr-malformed");
}

TEST_F(PolicyTest, ParseCsrRefusesACertificateInDer) {
  const Error e = capture_error([] { (void)parse_csr(as_string(ca().der())); });
  EXPECT_EQ(e.code(), "csr-malformed");
}

TEST_F(PolicyTest, ParseCsrRefusesMoreThan64KiB) {
  const std::string pem = crypto::to_pem(make_csr(key(), {{"CN", "www.example.test"}}));
  const Error e = capture_error([&] { (void)parse_csr(pem + std::string(64 * 1024, '\n')); });
  EXPECT_EQ(e.code(), "csr-malformed");
  EXPECT_NE(std::string(e.what()).find("64 KiB"), std::string::npos) << e.what();
}

// ---- the happy path -----------------------------------------------------------------------------

TEST_F(PolicyTest, ApprovesAndFillsTheTemplateAndTheIntent) {
  const auto csr = make_csr(key(), {{"O", "Example"}, {"CN", "www.example.test"}},
                            {dns("www.example.test"), dns("API.Example.Test"), ip("192.0.2.10"), ip("2001:db8::1")});
  const Profile profile = server();
  const Approved a = evaluate(profile, csr, 30 * kDay, ca(), now_, "web-1");

  EXPECT_EQ(a.tmpl.subject, (crypto::NameEntries{{"CN", "www.example.test"}}));  // only CN = the first name
  EXPECT_EQ(a.tmpl.dns_names, (std::vector<std::string>{"www.example.test", "api.example.test"}));
  EXPECT_EQ(a.tmpl.ip_addresses, (std::vector<std::string>{"192.0.2.10", "2001:db8::1"}));
  EXPECT_TRUE(a.tmpl.emails.empty());
  EXPECT_EQ(a.tmpl.key_usage, profile.key_usage);
  EXPECT_EQ(a.tmpl.extended_key_usages, std::vector<std::string>{"serverAuth"});
  EXPECT_EQ(a.tmpl.not_before, now_ - 60s);
  EXPECT_EQ(a.tmpl.not_after, ends(30 * kDay));
  ASSERT_TRUE(a.tmpl.public_key);
  EXPECT_TRUE(crypto::same_public_key(a.tmpl.public_key.get(), key()));

  // Serial: positive, no leading zero byte, at most 20 bytes; 159 random bits make fewer than 16
  // bytes a 2^-32 event.
  const Bytes& serial = a.tmpl.serial.bytes;
  ASSERT_FALSE(serial.empty());
  EXPECT_GE(serial.size(), 16u);
  EXPECT_LE(serial.size(), 20u);
  EXPECT_NE(serial.front(), 0);
  if (serial.size() == 20) {
    EXPECT_EQ(serial.front() & 0x80, 0);
  }

  EXPECT_EQ(a.intent.serial, a.tmpl.serial);
  EXPECT_EQ(a.intent.profile, "server-tls");
  EXPECT_EQ(a.intent.client, "web-1");
  EXPECT_EQ(a.intent.subject, "CN=www.example.test");
  // The CN repeats a SAN, so it is not counted twice.
  EXPECT_EQ(a.intent.names, (std::vector<std::string>{"dns:www.example.test", "dns:api.example.test",
                                                     "ip:192.0.2.10", "ip:2001:db8::1"}));
  EXPECT_EQ(a.intent.not_before, a.tmpl.not_before);
  EXPECT_EQ(a.intent.not_after, a.tmpl.not_after);
}

TEST_F(PolicyTest, EachApprovalDrawsAFreshSerial) {
  const auto csr = make_csr(key(), {}, {dns("www.example.test")});
  EXPECT_NE(approve(server(), csr).tmpl.serial, approve(server(), csr).tmpl.serial);
}

TEST_F(PolicyTest, ApprovesEverySupportedKeyType) {
  for (const auto alg : {crypto::KeyAlgorithm::EcP256, crypto::KeyAlgorithm::EcP384, crypto::KeyAlgorithm::Ed25519,
                         crypto::KeyAlgorithm::Rsa2048}) {
    SCOPED_TRACE(std::string(crypto::to_string(alg)));
    const ossl::Pkey k = crypto::generate_key(alg);
    const Approved a = approve(server(), make_csr(k.get(), {}, {dns("www.example.test")}));
    EXPECT_TRUE(crypto::same_public_key(a.tmpl.public_key.get(), k.get()));
  }
}

TEST_F(PolicyTest, ACsrMadeBySignetsOwnBuilderIsApproved) {
  const auto csr = crypto::make_request(key(), "host.example.test");
  EXPECT_EQ(approve(server(), csr).intent.names, std::vector<std::string>{"dns:host.example.test"});
}

TEST_F(PolicyTest, ANameFromTheCnAloneIsUsedAndLowerCased) {
  const Approved a = approve(server(), make_csr(key(), {{"CN", "Host.Example.TEST"}}));
  EXPECT_EQ(a.intent.names, std::vector<std::string>{"dns:host.example.test"});
  EXPECT_EQ(a.tmpl.dns_names, std::vector<std::string>{"host.example.test"});
  EXPECT_EQ(a.intent.subject, "CN=host.example.test");
}

TEST_F(PolicyTest, ACnThatIsAnIpAddressIsAnIpName) {
  EXPECT_EQ(names_for(server(), {}, {{"CN", "192.0.2.7"}}), std::vector<std::string>{"ip:192.0.2.7"});
  EXPECT_EQ(names_for(server(), {}, {{"CN", "2001:DB8::7"}}), std::vector<std::string>{"ip:2001:db8::7"});
}

TEST_F(PolicyTest, ACnThatIsAnEmailAddressIsAnEmailName) {
  const Approved a = approve(client(), make_csr(key(), {{"CN", "Alice@Example.TEST"}}));
  EXPECT_EQ(a.intent.names, std::vector<std::string>{"email:Alice@example.test"});  // domain lower-cased only
  EXPECT_EQ(a.tmpl.emails, std::vector<std::string>{"Alice@example.test"});
}

TEST_F(PolicyTest, SanNamesComeBeforeTheCnAndDuplicatesCountOnce) {
  EXPECT_EQ(names_for(server(), {dns("b.example.test"), dns("B.example.test"), ip("192.0.2.1"), ip("192.0.2.1")},
                      {{"CN", "a.example.test"}}),
            (std::vector<std::string>{"dns:b.example.test", "ip:192.0.2.1", "dns:a.example.test"}));
}

TEST_F(PolicyTest, TheSubjectIsTheFirstNameEvenWhenItIsAnIpAddress) {
  const Approved a = approve(server(), make_csr(key(), {}, {ip("192.0.2.1"), dns("www.example.test")}));
  EXPECT_EQ(a.tmpl.subject, (crypto::NameEntries{{"CN", "192.0.2.1"}}));
  EXPECT_EQ(a.intent.subject, "CN=192.0.2.1");
}

TEST_F(PolicyTest, AFirstNameLongerThan64CharactersLeavesTheSubjectEmpty) {
  const std::string longname = std::string(63, 'a') + ".example.test";
  const Approved a = approve(server(), make_csr(key(), {}, {dns(longname)}));
  EXPECT_TRUE(a.tmpl.subject.empty());
  EXPECT_EQ(a.intent.subject, "");
  EXPECT_EQ(a.tmpl.dns_names, std::vector<std::string>{longname});
}

TEST_F(PolicyTest, TheIntentSubjectIsInRfc2253FormWithEscapes) {
  const Approved a = approve(client(), make_csr(key(), {}, {email("a+b,c@example.test")}));
  EXPECT_EQ(a.tmpl.subject, (crypto::NameEntries{{"CN", "a+b,c@example.test"}}));
  EXPECT_EQ(a.intent.subject, "CN=a\\+b\\,c@example.test");
}

TEST_F(PolicyTest, TheClientIsRecordedInTheIntent) {
  const auto csr = make_csr(key(), {}, {dns("www.example.test")});
  EXPECT_EQ(evaluate(server(), csr, std::nullopt, ca(), now_, "operator:root").intent.client, "operator:root");
}

// ---- keys ---------------------------------------------------------------------------------------

TEST_F(PolicyTest, Rsa1024IsTooWeak) {
  const ossl::Pkey weak = q_keygen_rsa(1024);
  const Error e = refusal(server(), make_csr(weak.get(), {}, {dns("www.example.test")}));
  expect_denied(e, "key-too-weak");
  EXPECT_NE(std::string(e.what()).find("1024 bits"), std::string::npos) << e.what();
}

TEST_F(PolicyTest, RsaUnderTheProfilesMinimumIsTooWeak) {
  Profile p = server();
  p.min_rsa_bits = 3072;
  const ossl::Pkey k = crypto::generate_key(crypto::KeyAlgorithm::Rsa2048);
  const Error e = refusal(p, make_csr(k.get(), {}, {dns("www.example.test")}));
  expect_denied(e, "key-too-weak");
  EXPECT_NE(std::string(e.what()).find("at least 3072"), std::string::npos) << e.what();
}

TEST_F(PolicyTest, RsaUnder2048IsTooWeakEvenWhenTheProfileSaysLess) {
  Profile p = server();
  p.min_rsa_bits = 1024;  // parse_profiles never allows this; evaluate must not rely on it
  const ossl::Pkey weak = q_keygen_rsa(1024);
  expect_denied(refusal(p, make_csr(weak.get(), {}, {dns("www.example.test")})), "key-too-weak");
}

TEST_F(PolicyTest, Secp256k1IsRefused) {
  const ossl::Pkey k = keygen_ec("secp256k1");
  const Error e = refusal(server(), make_csr(k.get(), {}, {dns("www.example.test")}));
  expect_denied(e, "key-type-not-allowed");
  EXPECT_NE(std::string(e.what()).find("secp256k1"), std::string::npos) << e.what();
}

TEST_F(PolicyTest, P521IsRefused) {
  const ossl::Pkey k = keygen_ec("P-521");
  expect_denied(refusal(server(), make_csr(k.get(), {}, {dns("www.example.test")})), "key-type-not-allowed");
}

TEST_F(PolicyTest, Ed448IsRefused) {
  ossl::Pkey k{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448")};
  ASSERT_TRUE(k);
  const Error e = refusal(server(), make_csr(k.get(), {}, {dns("www.example.test")}));
  expect_denied(e, "key-type-not-allowed");
}

TEST_F(PolicyTest, AKeyTypeTheProfileDoesNotListIsRefused) {
  Profile p = server();
  p.key_types = {"ec-p256"};
  for (const auto alg : {crypto::KeyAlgorithm::EcP384, crypto::KeyAlgorithm::Ed25519, crypto::KeyAlgorithm::Rsa2048}) {
    SCOPED_TRACE(std::string(crypto::to_string(alg)));
    const ossl::Pkey k = crypto::generate_key(alg);
    const Error e = refusal(p, make_csr(k.get(), {}, {dns("www.example.test")}));
    expect_denied(e, "key-type-not-allowed");
    EXPECT_NE(std::string(e.what()).find("it allows ec-p256"), std::string::npos) << e.what();
  }
  (void)approve(p, make_csr(key(), {}, {dns("www.example.test")}));  // P-256 still passes
}

// ---- CSR signature ------------------------------------------------------------------------------

TEST_F(PolicyTest, ACsrWithADamagedSignatureIsRefused) {
  Bytes der = make_csr(key(), {}, {dns("www.example.test")}).der();
  der.back() ^= 0x01;  // the last byte belongs to the signature BIT STRING
  const auto csr = parse_csr(as_string(der));
  ASSERT_FALSE(csr.signature_valid());
  expect_denied(refusal(server(), csr), "csr-signature-invalid");
}

TEST_F(PolicyTest, ACsrSignedByAnotherKeyIsRefused) {
  const ossl::Pkey other = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  const auto csr = make_csr(key(), {}, {dns("www.example.test")}, other.get());
  expect_denied(refusal(server(), csr), "csr-signature-invalid");
}

TEST_F(PolicyTest, AnEd25519CsrWithADamagedSignatureIsRefused) {
  const ossl::Pkey k = crypto::generate_key(crypto::KeyAlgorithm::Ed25519);
  Bytes der = make_csr(k.get(), {}, {dns("www.example.test")}).der();
  der.back() ^= 0x80;
  expect_denied(refusal(server(), parse_csr(as_string(der))), "csr-signature-invalid");
}

// A CSR's signature proves that the requester holds the key; with a digest whose collisions can be
// made (MD5, SHA-1) it proves nothing, so it is refused even though it verifies.
TEST_F(PolicyTest, ACsrSignedWithSha1OrMd5IsRefused) {
  const ossl::Pkey rsa = q_keygen_rsa(2048);
  struct Case {
    const EVP_PKEY* key;
    SignWith how;
    const char* digest;  // as the message names it
  };
  for (const Case& c : {Case{rsa.get(), {EVP_sha1(), false}, "SHA1"}, Case{rsa.get(), {EVP_md5(), false}, "MD5"},
                        Case{key(), {EVP_sha1(), false}, "SHA1"}, Case{rsa.get(), {EVP_sha1(), true}, "SHA1"}}) {
    SCOPED_TRACE(c.digest + std::string(c.how.pss ? " PSS" : "") + " " + OBJ_nid2sn(EVP_PKEY_get_base_id(c.key)));
    const auto csr = make_csr(c.key, {}, {dns("www.example.test")}, nullptr, c.how);
    ASSERT_TRUE(csr.signature_valid()) << "the signature itself verifies; only its digest is weak";
    const Error e = refusal(server(), csr);
    expect_denied(e, "csr-weak-signature");
    EXPECT_NE(std::string(e.what()).find(c.digest), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos) << "says what to do: " << e.what();
  }
}

TEST_F(PolicyTest, CsrsSignedWithSha2OrEd25519AreAccepted) {
  const ossl::Pkey rsa = q_keygen_rsa(2048);
  const ossl::Pkey ed = crypto::generate_key(crypto::KeyAlgorithm::Ed25519);
  (void)approve(server(), make_csr(rsa.get(), {}, {dns("www.example.test")}, nullptr, {EVP_sha256(), false}));
  (void)approve(server(), make_csr(rsa.get(), {}, {dns("www.example.test")}, nullptr, {EVP_sha256(), true}));
  (void)approve(server(), make_csr(rsa.get(), {}, {dns("www.example.test")}, nullptr, {EVP_sha512(), false}));
  (void)approve(server(), make_csr(key(), {}, {dns("www.example.test")}, nullptr, {EVP_sha384(), false}));
  (void)approve(server(), make_csr(ed.get(), {}, {dns("www.example.test")}));
}

// ---- names --------------------------------------------------------------------------------------

// A certificate for a whole public suffix (a TLD, "co.uk", a hosting platform's "github.io") is
// never right, under any profile.
TEST_F(PolicyTest, APublicSuffixIsNoCertificateName) {
  for (const char* name : {"com", "co.uk", "github.io", "COM", "foo.ck", "xn--55qx5d.cn"}) {
    SCOPED_TRACE(name);
    const Error e = refusal_for(server(), {dns("www.example.test"), dns(name)});
    expect_denied(e, "name-public-suffix");
    EXPECT_NE(std::string(e.what()).find("public suffix"), std::string::npos) << e.what();
    expect_denied(refusal_for(client(), {dns(name)}), "name-public-suffix");
  }
  expect_denied(refusal(server(), make_csr(key(), {{"CN", "com"}})), "name-public-suffix");
}

// The list's default rule would make every unlisted top-level label a suffix; internal single-label
// names are not.
TEST_F(PolicyTest, SingleLabelAndInternalNamesAreNoPublicSuffixes) {
  for (const char* name : {"localhost", "myhost", "internal", "example.co.uk", "www.ck", "a.github.io"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(names_for(server(), {dns(name)}), std::vector<std::string>{"dns:" + std::string(name)});
  }
  EXPECT_EQ(names_for(server(), {}, {{"CN", "localhost"}}), std::vector<std::string>{"dns:localhost"});
}

TEST_F(PolicyTest, TheDefaultProfilesRefuseWildcards) {
  for (const Profile& p : {server(), client()}) {
    SCOPED_TRACE(p.name);
    const Error e = refusal_for(p, {dns("*.example.test")});
    expect_denied(e, "wildcard-not-allowed");
    EXPECT_NE(std::string(e.what()).find("allow_wildcards"), std::string::npos) << e.what();
    expect_denied(refusal(p, make_csr(key(), {{"CN", "*.example.test"}})), "wildcard-not-allowed");
  }
  // Under a public suffix, the suffix is what is wrong: allowing wildcards would not help.
  for (const char* name : {"*.com", "*.co.uk", "*.github.io"}) {
    SCOPED_TRACE(name);
    expect_denied(refusal_for(server(), {dns(name)}), "name-public-suffix");
  }
}

TEST_F(PolicyTest, AWildcardOrAnEmptyLabelInAnEmailDomainIsInvalid) {
  for (const char* addr : {"a@*.example.com", "a@", "@example.com", "a@example..com", "a@.example.com",
                           "a@example.com.", "a@*"}) {
    SCOPED_TRACE(addr);
    expect_denied(refusal_for(client(), {email(addr)}), "name-invalid");
    expect_denied(refusal(client(), make_csr(key(), {{"CN", addr}})), "name-invalid");
  }
}


TEST_F(PolicyTest, DnsSuffixAllowsTheNameAndNamesBelowIt) {
  const Profile p = restricted();
  EXPECT_EQ(names_for(p, {dns("example.test")}), std::vector<std::string>{"dns:example.test"});
  EXPECT_EQ(names_for(p, {dns("www.example.test")}), std::vector<std::string>{"dns:www.example.test"});
  EXPECT_EQ(names_for(p, {dns("a.b.c.example.test")}), std::vector<std::string>{"dns:a.b.c.example.test"});
  EXPECT_EQ(names_for(p, {dns("WWW.EXAMPLE.TEST")}), std::vector<std::string>{"dns:www.example.test"});
}

TEST_F(PolicyTest, DnsSuffixMatchesOnLabelBoundariesOnly) {
  const Profile p = restricted();
  for (const char* name : {"badexample.test", "example.test.evil.test", "test", "xample.test", "www.example.testx",
                           "other.test"}) {
    SCOPED_TRACE(name);
    const Error e = refusal_for(p, {dns(name)});
    expect_denied(e, "name-not-allowed");
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
}

TEST_F(PolicyTest, OneNameOutsideTheSuffixesRefusesTheWholeRequest) {
  expect_denied(refusal_for(restricted(), {dns("www.example.test"), dns("www.other.test")}), "name-not-allowed");
}

TEST_F(PolicyTest, ACnOutsideTheSuffixesIsRefusedToo) {
  const auto csr = make_csr(key(), {{"CN", "www.other.test"}}, {dns("www.example.test")});
  expect_denied(refusal(restricted(), csr), "name-not-allowed");
}

TEST_F(PolicyTest, AWildcardIsAllowedUnderItsSuffixWhenTheProfileAllowsWildcards) {
  const Approved a = approve(wildcards(), make_csr(key(), {}, {dns("*.example.test")}));
  EXPECT_EQ(a.tmpl.dns_names, std::vector<std::string>{"*.example.test"});
  EXPECT_EQ(a.intent.names, std::vector<std::string>{"dns:*.example.test"});
  EXPECT_EQ(names_for(wildcards(), {dns("*.www.example.test")}), std::vector<std::string>{"dns:*.www.example.test"});
  EXPECT_EQ(names_for(any_wildcard(), {dns("*.anything.test")}), std::vector<std::string>{"dns:*.anything.test"});
  // Under a registered domain below a multi-label suffix, and under an internal name.
  EXPECT_EQ(names_for(any_wildcard(), {dns("*.example.co.uk")}), std::vector<std::string>{"dns:*.example.co.uk"});
  EXPECT_EQ(names_for(any_wildcard(), {dns("*.myhost")}), std::vector<std::string>{"dns:*.myhost"});
  // A wildcard CN is a DNS name like the others: allowed here, with the same rules.
  EXPECT_EQ(names_for(wildcards(), {}, {{"CN", "*.example.test"}}), std::vector<std::string>{"dns:*.example.test"});
}

TEST_F(PolicyTest, AWildcardOutsideItsSuffixIsRefused) {
  expect_denied(refusal_for(wildcards(), {dns("*.badexample.test")}), "name-not-allowed");
  expect_denied(refusal_for(wildcards(), {dns("*.test")}), "name-not-allowed");
}

TEST_F(PolicyTest, AWildcardDirectlyUnderAPublicSuffixIsRefusedEvenWhenWildcardsAreAllowed) {
  for (const char* name : {"*.com", "*.co.uk", "*.github.io", "*.foo.ck", "*.COM"}) {
    SCOPED_TRACE(name);
    const Error e = refusal_for(any_wildcard(), {dns(name)});
    expect_denied(e, "name-public-suffix");
    EXPECT_NE(std::string(e.what()).find("public suffix"), std::string::npos) << e.what();
    expect_denied(refusal(any_wildcard(), make_csr(key(), {{"CN", name}})), "name-public-suffix");
  }
}

TEST_F(PolicyTest, AMalformedWildcardIsInvalid) {
  for (const Profile& p : {server(), any_wildcard()}) {
    for (const char* name : {"*", "*.", "a.*.example.test", "**.example.test", "w*.example.test", "*.*.example.test",
                             "*example.test", "a*.example.test", "*a.example.test"}) {
      SCOPED_TRACE(p.name + " " + name);
      expect_denied(refusal_for(p, {dns(name)}), "name-invalid");
      expect_denied(refusal(p, make_csr(key(), {{"CN", name}})), "name-invalid");
    }
  }
}

TEST_F(PolicyTest, AllowingWildcardsNeverAllowsThemInEmailAddresses) {
  Profile p = client();
  p.allow_wildcards = true;
  expect_denied(refusal_for(p, {email("a@*.example.com")}), "name-invalid");
  expect_denied(refusal(p, make_csr(key(), {{"CN", "a@*.example.com"}})), "name-invalid");
}

TEST_F(PolicyTest, AnInvalidDnsNameIsRefused) {
  for (const std::string& name :
       {std::string(""), std::string("bad_name.example.test"), std::string("-www.example.test"),
        std::string("www-.example.test"), std::string("www..example.test"), std::string(".example.test"),
        std::string("example.test."), std::string("exa mple.test"), std::string("www.example.test/path"),
        std::string(64, 'a') + ".example.test", std::string("xn--\xc3\xa9.example.test"),
        std::string("www.example.test\0evil.test", 26)}) {
    SCOPED_TRACE(name);
    expect_denied(refusal_for(server(), {dns(name)}), "name-invalid");
  }
}

TEST_F(PolicyTest, IdnaLabelsMustBeValidALabels) {
  // Valid A-labels (bücher, a Cyrillic and a Chinese name) are issued, in any case.
  for (const char* name : {"xn--bcher-kva.example.test", "XN--BCHER-KVA.example.test", "www.xn--80ak6aa92e.test",
                           "xn--55qx5d.example.test"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(names_for(server(), {dns(name)}).size(), 1u);
  }
  // Not Punycode, Punycode of a character IDNA2008 forbids (an emoji), "??--" other than "xn--".
  for (const char* name : {"xn--zz.example.test", "xn--.example.test", "xn--ls8h.example.test",
                           "xn--bcher-kva-.example.test", "ab--cd.example.test", "*.xn--zz.example.test"}) {
    SCOPED_TRACE(name);
    const Error e = refusal_for(any_wildcard(), {dns(name)});
    expect_denied(e, "name-invalid");
    EXPECT_NE(std::string(e.what()).find("A-label"), std::string::npos) << e.what();
  }
}

TEST_F(PolicyTest, AnIpAddressIsNoDnsName) {
  for (const char* name : {"127.0.0.1", "10.1.2.3", "1.2.3.4.5", "example.123"}) {
    SCOPED_TRACE(name);
    expect_denied(refusal_for(server(), {dns(name)}), "name-invalid");
  }
  // Digits are fine in every label but the last.
  EXPECT_EQ(names_for(server(), {dns("123.example.test")}), std::vector<std::string>{"dns:123.example.test"});
  EXPECT_EQ(names_for(server(), {dns("host1.test2")}), std::vector<std::string>{"dns:host1.test2"});
}

TEST_F(PolicyTest, AddressesThatAreNoHostsAreRefused) {
  for (const char* addr : {"0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1", "239.255.255.250", "::", "ff02::1",
                           "::ffff:0.0.0.0", "::ffff:255.255.255.255", "::ffff:224.0.0.1"}) {
    SCOPED_TRACE(addr);
    const Error e = refusal_for(server(), {ip(addr)});
    expect_denied(e, "name-invalid");
    EXPECT_NE(std::string(e.what()).find("not one host's"), std::string::npos) << e.what();
    expect_denied(refusal(server(), make_csr(key(), {{"CN", addr}})), "name-invalid");
  }
  // Loopback, private and link-local addresses name a host.
  for (const char* addr : {"127.0.0.1", "10.0.0.1", "169.254.1.1", "::1", "fe80::1", "::ffff:10.0.0.1"}) {
    SCOPED_TRACE(addr);
    EXPECT_EQ(names_for(server(), {ip(addr)}).size(), 1u);
  }
}

TEST_F(PolicyTest, AnEmailAddressNamesOneMailboxAtADomainSomeoneHolds) {
  for (const char* addr : {"*@example.test", "a*b@example.test"}) {
    SCOPED_TRACE(addr);
    expect_denied(refusal_for(client(), {email(addr)}), "name-invalid");
    expect_denied(refusal(client(), make_csr(key(), {{"CN", addr}})), "name-invalid");
  }
  for (const char* addr : {"a@com", "a@co.uk", "a@github.io", "a@COM"}) {
    SCOPED_TRACE(addr);
    const Error e = refusal_for(client(), {email(addr)});
    expect_denied(e, "name-public-suffix");
    EXPECT_NE(std::string(e.what()).find("no one has a mailbox"), std::string::npos) << e.what();
    expect_denied(refusal(client(), make_csr(key(), {{"CN", addr}})), "name-public-suffix");
  }
  EXPECT_EQ(names_for(client(), {email("a@example.co.uk")}), std::vector<std::string>{"email:a@example.co.uk"});
}

TEST_F(PolicyTest, ARefusedNameIsShownWithItsControlBytesEscaped) {
  // A NUL inside the name must not end the message a C client reads (nor hide the rest).
  const Error e = refusal_for(server(), {dns(std::string("www.example.test\0evil\x7f\x01.test", 28))});
  expect_denied(e, "name-invalid");
  const std::string what = e.what();
  EXPECT_EQ(what.find('\0'), std::string::npos);
  EXPECT_NE(what.find("www.example.test\\x00evil\\x7F\\x01.test"), std::string::npos) << what;
  EXPECT_NE(what.find("not a valid DNS name"), std::string::npos) << what;
  const Error cn = refusal(server(), make_csr(key(), {{"CN", "bad\x1b[31mname"}}));
  EXPECT_NE(std::string(cn.what()).find("bad\\x1B[31mname"), std::string::npos) << cn.what();
}

TEST_F(PolicyTest, AnRsaKeyWithASmallOrEvenExponentIsRefused) {
  for (const unsigned exponent : {3u, 17u, 257u}) {
    SCOPED_TRACE(exponent);
    const ossl::Pkey rsa = rsa_key_with_exponent(exponent);
    const Error e = refusal(server(), make_csr(rsa.get(), {}, {dns("www.example.test")}));
    expect_denied(e, "key-too-weak");
    EXPECT_NE(std::string(e.what()).find("65537"), std::string::npos) << e.what();
  }
  (void)approve(server(), make_csr(rsa_key_with_exponent(65537).get(), {}, {dns("www.example.test")}));
}

TEST_F(PolicyTest, TheLongestValidDnsNamesAreAccepted) {
  const std::string label63(63, 'a');
  EXPECT_EQ(names_for(server(), {dns(label63 + ".example.test")}),
            std::vector<std::string>{"dns:" + label63 + ".example.test"});
  // 253 characters: four 63-character labels minus two, joined by dots.
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_EQ(names_for(server(), {dns(name253)}).size(), 1u);
  expect_denied(refusal_for(server(), {dns(name253 + "b")}), "name-invalid");
}

TEST_F(PolicyTest, ACnThatIsNoNameIsRefused) {
  const Error e = refusal(server(), make_csr(key(), {{"CN", "My Web Server"}}));
  expect_denied(e, "name-invalid");
  EXPECT_NE(std::string(e.what()).find("subjectAltName"), std::string::npos) << e.what();
  // Also when the SANs themselves are fine: every CN is checked.
  expect_denied(refusal(server(), make_csr(key(), {{"CN", "My Web Server"}}, {dns("www.example.test")})),
                "name-invalid");
}

TEST_F(PolicyTest, IpAddressesMustBeInsideTheProfilesNetworks) {
  const Profile p = restricted();  // 10.0.0.0/8
  EXPECT_EQ(names_for(p, {ip("10.1.2.3")}), std::vector<std::string>{"ip:10.1.2.3"});
  EXPECT_EQ(names_for(p, {ip("10.255.255.255")}), std::vector<std::string>{"ip:10.255.255.255"});
  for (const char* addr : {"11.0.0.1", "9.255.255.255", "192.0.2.1", "fd00::1", "::ffff:10.0.0.1"}) {
    SCOPED_TRACE(addr);
    const Error e = refusal_for(p, {ip(addr)});
    expect_denied(e, "name-not-allowed");
    EXPECT_NE(std::string(e.what()).find("IP address"), std::string::npos) << e.what();
  }
}

TEST_F(PolicyTest, IpV6NetworksAreMatched) {
  Profile p = restricted();
  p.ip_networks = {IpNetwork::parse("2001:db8::/32")};
  EXPECT_EQ(names_for(p, {ip("2001:db8:1::5")}), std::vector<std::string>{"ip:2001:db8:1::5"});
  expect_denied(refusal_for(p, {ip("2001:db9::5")}), "name-not-allowed");
  expect_denied(refusal_for(p, {ip("10.0.0.1")}), "name-not-allowed");
}

TEST_F(PolicyTest, AProfileWithNoNetworksRefusesEveryIpAddress) {
  expect_denied(refusal_for(client(), {ip("192.0.2.1")}), "name-not-allowed");
  expect_denied(refusal(client(), make_csr(key(), {{"CN", "192.0.2.1"}})), "name-not-allowed");
}

TEST_F(PolicyTest, AnIpSanOfTheWrongLengthIsInvalid) {
  for (const std::string& raw : {std::string("\x0a\x00\x00", 3), std::string("\x0a\x00\x00\x01\x00", 5),
                                std::string(8, '\x0a'), std::string()}) {
    expect_denied(refusal_for(server(), {San{SanType::RawIp, raw}}), "name-invalid");
  }
}

TEST_F(PolicyTest, EmailDomainsMustMatchExactly) {
  const Profile p = restricted();  // email_domains = {"example.test"}
  EXPECT_EQ(names_for(p, {email("alice@example.test")}), std::vector<std::string>{"email:alice@example.test"});
  EXPECT_EQ(names_for(p, {email("Alice@EXAMPLE.test")}), std::vector<std::string>{"email:Alice@example.test"});
  for (const char* addr : {"bob@other.test", "bob@sub.example.test", "bob@badexample.test"}) {
    SCOPED_TRACE(addr);
    const Error e = refusal_for(p, {email(addr)});
    expect_denied(e, "name-not-allowed");
    EXPECT_NE(std::string(e.what()).find("email address"), std::string::npos) << e.what();
  }
}

TEST_F(PolicyTest, AProfileWithNoEmailDomainsRefusesEmail) {
  expect_denied(refusal_for(server(), {email("alice@example.test")}), "name-not-allowed");
  EXPECT_EQ(names_for(client(), {email("alice@anything.test")}), std::vector<std::string>{"email:alice@anything.test"});
}

TEST_F(PolicyTest, AnInvalidEmailAddressIsRefused) {
  for (const std::string& addr :
       {std::string("no-at-sign"), std::string("@example.test"), std::string("a@b@example.test"),
        std::string("alice@"), std::string("alice@bad_domain.test"), std::string("al ice@example.test"),
        std::string("alice\x01@example.test"), std::string("al\xc3\xa9@example.test")}) {
    SCOPED_TRACE(addr);
    expect_denied(refusal_for(client(), {email(addr)}), "name-invalid");
  }
}

// A CN that holds an email address becomes an rfc822Name SAN, so it must pass the same checks as
// an email SAN.
TEST_F(PolicyTest, AnInvalidEmailAddressInTheCnIsRefused) {
  for (const std::string& addr : {std::string("al ice@example.test"), std::string("alice\x01@example.test"),
                                  std::string("al\xc3\xa9@example.test"), std::string("a@b@example.test"),
                                  std::string("@example.test"), std::string("alice@")}) {
    SCOPED_TRACE(addr);
    expect_denied(refusal(client(), make_csr(key(), {{"CN", addr}})), "name-invalid");
  }
}

TEST_F(PolicyTest, AUriSanIsRefused) {
  const Error e = refusal_for(server(), {dns("www.example.test"), uri("https://www.example.test/")});
  expect_denied(e, "name-not-allowed");
  EXPECT_NE(std::string(e.what()).find("only DNS, IP and email"), std::string::npos) << e.what();
}

TEST_F(PolicyTest, TooManyNamesAreRefused) {
  Profile p = server();
  p.max_names = 2;
  EXPECT_EQ(names_for(p, {dns("a.example.test"), dns("b.example.test")}).size(), 2u);
  // Duplicates are counted once.
  EXPECT_EQ(names_for(p, {dns("a.example.test"), dns("b.example.test"), dns("A.example.test")}).size(), 2u);
  const Error e = refusal_for(p, {dns("a.example.test"), dns("b.example.test"), ip("192.0.2.1")});
  expect_denied(e, "name-not-allowed");
  EXPECT_NE(std::string(e.what()).find("3 names"), std::string::npos) << e.what();
  // The CN counts.
  expect_denied(refusal(p, make_csr(key(), {{"CN", "c.example.test"}}, {dns("a.example.test"), dns("b.example.test")})),
                "name-not-allowed");
}

TEST_F(PolicyTest, TheDefaultLimitIsAHundredNames) {
  std::vector<San> sans;
  for (int i = 0; i < 100; ++i) sans.push_back(dns("h" + std::to_string(i) + ".example.test"));
  EXPECT_EQ(names_for(server(), sans).size(), 100u);
  sans.push_back(dns("h100.example.test"));
  expect_denied(refusal_for(server(), sans), "name-not-allowed");
}

TEST_F(PolicyTest, ACsrWithNoNamesIsRefused) {
  expect_denied(refusal(server(), make_csr(key())), "no-names");
  expect_denied(refusal(server(), make_csr(key(), {{"O", "Example"}, {"C", "DE"}})), "no-names");
}

// ---- validity -----------------------------------------------------------------------------------

TEST_F(PolicyTest, TheDefaultValidityIsUsedWhenNoneIsAsked) {
  Profile p = server();
  p.default_validity = 7 * kDay;
  p.max_validity = 30 * kDay;
  const Approved a = approve(p, make_csr(key(), {}, {dns("www.example.test")}));
  EXPECT_EQ(a.tmpl.not_after, ends(7 * kDay));
  EXPECT_EQ(a.tmpl.not_before, now_ - 60s);
  EXPECT_EQ(a.intent.not_after, ends(7 * kDay));
}

TEST_F(PolicyTest, TheRequestedValidityIsUsed) {
  const Approved a = approve(server(), make_csr(key(), {}, {dns("www.example.test")}), 1h);
  EXPECT_EQ(a.tmpl.not_after, ends(1h));
}

TEST_F(PolicyTest, ExactlyTheMaximumValidityIsAllowed) {
  const Approved a = approve(server(), make_csr(key(), {}, {dns("www.example.test")}), 90 * kDay);
  EXPECT_EQ(a.tmpl.not_after, ends(90 * kDay));
  // Valid for 90 days in all, the backdated minute included: never longer than the profile allows.
  EXPECT_EQ(a.tmpl.not_after - a.tmpl.not_before + 1s, 90 * kDay);
}

TEST_F(PolicyTest, AValidityOverTheMaximumIsRefused) {
  const auto csr = make_csr(key(), {}, {dns("www.example.test")});
  const Error e = refusal(server(), csr, 90 * kDay + 1s);
  expect_denied(e, "validity-too-long");
  EXPECT_NE(std::string(e.what()).find("(90d)"), std::string::npos) << e.what();
  expect_denied(refusal(server(), csr, 365 * kDay), "validity-too-long");
}

TEST_F(PolicyTest, AValidityThatIsNotPositiveIsRefused) {
  const auto csr = make_csr(key(), {}, {dns("www.example.test")});
  expect_denied(refusal(server(), csr, 0s), "validity-invalid");
  expect_denied(refusal(server(), csr, -1h), "validity-invalid");
}

TEST_F(PolicyTest, AValidityUnderTenMinutesIsRefused) {
  // notBefore is a minute back: a 1 s or 30 s certificate would have run out when it arrived.
  const auto csr = make_csr(key(), {}, {dns("www.example.test")});
  for (const std::chrono::seconds short_life : {1s, 30s, 120s, 10min - 1s}) {
    SCOPED_TRACE(short_life.count());
    const Error e = refusal(server(), csr, short_life);
    expect_denied(e, "validity-too-short");
    EXPECT_NE(std::string(e.what()).find("10m or more"), std::string::npos) << e.what();
  }
  const Approved a = approve(server(), csr, 10min);
  EXPECT_EQ(a.tmpl.not_after, ends(10min));
  EXPECT_GT(a.tmpl.not_after, now_ + 8min);
}

TEST_F(PolicyTest, AValidityBeyondTheCaCertificateIsRefusedNotShortened) {
  const ossl::Pkey ca_key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  crypto::SelfSignedSpec spec;
  spec.common_name = "Short-lived CA";
  spec.not_before = now_ - 1h;
  spec.validity = 10 * kDay + 1h;  // expires 10 days from now
  const crypto::Certificate short_ca = crypto::make_self_signed(ca_key.get(), spec);
  const auto csr = make_csr(key(), {}, {dns("www.example.test")});

  const Error e = capture_error([&] { (void)evaluate(server(), csr, 30 * kDay, short_ca, now_, "web-1"); });
  expect_denied(e, "validity-beyond-ca");
  // The default (90 days) is refused the same way.
  expect_denied(capture_error([&] { (void)evaluate(server(), csr, std::nullopt, short_ca, now_, "web-1"); }),
                "validity-beyond-ca");
  // Up to the CA's notAfter is fine.
  const Approved a = evaluate(server(), csr, 5 * kDay, short_ca, now_, "web-1");
  EXPECT_EQ(a.tmpl.not_after, ends(5 * kDay));
  // 10 days from notBefore (a minute back) and the last second included end at the CA's notAfter.
  EXPECT_EQ(evaluate(server(), csr, 10 * kDay + 61s, short_ca, now_, "web-1").tmpl.not_after, short_ca.not_after());
  expect_denied(capture_error([&] { (void)evaluate(server(), csr, 10 * kDay + 62s, short_ca, now_, "web-1"); }),
                "validity-beyond-ca");
}

TEST_F(PolicyTest, ACaCertificateNotValidYetIsRefused) {
  const ossl::Pkey ca_key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  crypto::SelfSignedSpec spec;
  spec.common_name = "Future CA";
  spec.not_before = now_ + 1h;
  spec.validity = 365 * kDay;
  const crypto::Certificate future_ca = crypto::make_self_signed(ca_key.get(), spec);
  const auto csr = make_csr(key(), {}, {dns("www.example.test")});
  expect_denied(capture_error([&] { (void)evaluate(server(), csr, 1h, future_ca, now_, "web-1"); }),
                "ca-not-yet-valid");
}

// ---- order of checks ----------------------------------------------------------------------------

TEST_F(PolicyTest, AWeakKeyIsReportedBeforeAnythingElse) {
  const ossl::Pkey weak = q_keygen_rsa(1024);
  const ossl::Pkey other = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  // Bad signature, no names and a bad validity too: the key is what the requester must fix first.
  expect_denied(refusal(server(), make_csr(weak.get(), {}, {}, other.get()), 0s), "key-too-weak");
}

TEST_F(PolicyTest, ABadSignatureIsReportedBeforeNames) {
  const ossl::Pkey other = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  expect_denied(refusal(restricted(), make_csr(key(), {}, {uri("https://x.test/")}, other.get())),
                "csr-signature-invalid");
}

}  // namespace
}  // namespace signet::issuance
