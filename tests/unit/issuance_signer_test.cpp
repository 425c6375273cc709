// CaSigner::sign_certificate and the constructor's checks. Every certificate shape that matters is
// also handed to the real `openssl verify -x509_strict`, which is what relying parties run.
#include "signet/issuance/signer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "support/error_assert.h"
#include "support/openssl_cli.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace signet::issuance {
namespace {

using crypto::Certificate;
using crypto::KeyAlgorithm;
using test::capture_error;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const PublicUrls kUrls{"http://127.0.0.1:8080"};

TimePoint now() { return std::chrono::system_clock::now(); }
TimePoint at(std::int64_t unix_seconds) { return TimePoint{std::chrono::seconds(unix_seconds)}; }

Certificate make_ca_certificate(const EVP_PKEY* key, const std::string& name) {
  crypto::SelfSignedSpec spec;
  spec.subject = {{"O", "Signet Tests"}, {"CN", name}};
  spec.not_before = now() - 1h;
  return crypto::make_self_signed(key, spec);
}

// One CA per algorithm for the whole binary: RSA key generation is slow.
const CaSigner& signer_for(KeyAlgorithm algorithm) {
  static std::map<KeyAlgorithm, std::unique_ptr<CaSigner>> signers;
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  auto& signer = signers[algorithm];
  if (!signer) {
    ossl::Pkey key = crypto::generate_key(algorithm);
    Certificate cert = make_ca_certificate(key.get(), "Signer Test CA " + std::string(to_string(algorithm)));
    signer = std::make_unique<CaSigner>(std::move(key), std::move(cert), std::vector<Certificate>{}, kUrls);
  }
  return *signer;
}

// A public-only key, as a CSR delivers it.
ossl::Pkey subject_key(KeyAlgorithm algorithm) {
  const ossl::Pkey key = crypto::generate_key(algorithm);
  return crypto::parse_public_key_der(crypto::public_key_der(key.get()));
}

CertificateTemplate leaf_template(KeyAlgorithm key_algorithm = KeyAlgorithm::EcP256) {
  CertificateTemplate t;
  t.serial = Serial::random();
  t.subject = {{"CN", "leaf.example.test"}};
  t.dns_names = {"leaf.example.test", "www.example.test"};
  t.ip_addresses = {"192.0.2.1", "2001:db8::1"};
  t.not_before = now() - 1min;
  t.not_after = now() + 24h;
  t.key_usage.digital_signature = true;
  t.key_usage.key_encipherment = true;
  t.extended_key_usages = {"serverAuth"};
  t.public_key = subject_key(key_algorithm);
  return t;
}

// `openssl verify -x509_strict` of `leaf` under `ca`; returns what it printed, exit code first.
std::string openssl_verify(const Certificate& ca, const Certificate& leaf) {
  const test::TempDir dir;
  test::write_text(dir / "ca.pem", crypto::to_pem(ca));
  test::write_text(dir / "leaf.pem", crypto::to_pem(leaf));
  const test::ProcessResult r = test::run_process(
      {"openssl", "verify", "-x509_strict", "-CAfile", (dir / "ca.pem").string(), (dir / "leaf.pem").string()});
  return std::to_string(r.exit_code) + " " + r.out + r.err;
}

std::string openssl_text(const Certificate& cert) {
  const test::TempDir dir;
  test::write_text(dir / "c.pem", crypto::to_pem(cert));
  return test::openssl({"x509", "-in", (dir / "c.pem").string(), "-noout", "-text"});
}

// -1 when absent, else 0 or 1.
int criticality(const Certificate& cert, int nid) {
  const int index = X509_get_ext_by_NID(cert.x509(), nid, -1);
  return index < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(cert.x509(), index));
}

Bytes octets(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return Bytes(ASN1_STRING_get0_data(s), ASN1_STRING_get0_data(s) + ASN1_STRING_length(s));
}

std::set<int> key_usage_bits(const Certificate& cert) {
  ossl::Asn1BitStringPtr ku{static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(cert.x509(), NID_key_usage, nullptr, nullptr))};
  std::set<int> bits;
  for (int bit = 0; ku && bit < 9; ++bit) {
    if (ASN1_BIT_STRING_get_bit(ku.get(), bit) == 1) bits.insert(bit);
  }
  return bits;
}

// The certificate's SubjectPublicKeyInfo, as encoded in it.
Bytes spki_der(const Certificate& cert) {
  const X509_PUBKEY* spki = X509_get_X509_PUBKEY(cert.x509());
  Bytes der(static_cast<std::size_t>(i2d_X509_PUBKEY(spki, nullptr)));
  unsigned char* out = der.data();
  EXPECT_EQ(i2d_X509_PUBKEY(spki, &out), static_cast<int>(der.size()));
  return der;
}

constexpr int kDigitalSignature = 0, kContentCommitment = 1, kKeyEncipherment = 2, kKeyAgreement = 4;

// ---- the certificate's contents ---------------------------------------------------------------

TEST(CaSignerSignCertificate, CarriesEverythingTheTemplateAndTheCaSay) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CertificateTemplate t = leaf_template();
  t.emails = {"admin@example.test"};
  t.extended_key_usages = {"serverAuth", "clientAuth"};
  t.not_before = at(1893456000);  // 2030-01-01
  t.not_after = at(1893456000 + 90 * 86400);
  const Certificate cert = signer.sign_certificate(t);
  X509* x = cert.x509();

  EXPECT_EQ(X509_get_version(x), X509_VERSION_3);
  EXPECT_EQ(cert.serial_hex(), t.serial.hex());
  EXPECT_EQ(cert.subject(), "CN=leaf.example.test");
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(signer.ca_certificate().x509())), 0);
  EXPECT_EQ(cert.not_before(), t.not_before);
  EXPECT_EQ(cert.not_after(), t.not_after);
  EXPECT_TRUE(crypto::same_public_key(cert.public_key(), t.public_key.get()));
  EXPECT_TRUE(cert.issued_by(signer.ca_certificate()));
  EXPECT_FALSE(cert.is_ca());
  EXPECT_EQ(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);

  EXPECT_EQ(criticality(cert, NID_basic_constraints), 1);
  EXPECT_EQ(criticality(cert, NID_key_usage), 1);
  EXPECT_EQ(key_usage_bits(cert), (std::set<int>{kDigitalSignature}));  // EC key: no keyEncipherment
  EXPECT_EQ(criticality(cert, NID_ext_key_usage), 0);
  EXPECT_EQ(X509_get_extended_key_usage(x), static_cast<std::uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(criticality(cert, NID_subject_alt_name), 0);  // the subject is not empty
  EXPECT_EQ(criticality(cert, NID_crl_distribution_points), 0);
  EXPECT_EQ(criticality(cert, NID_info_access), 0);

  // SKI by RFC 5280 method 1; AKI is the CA's SKI.
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(x);
  ossl::Md sha1{EVP_MD_fetch(nullptr, "SHA1", nullptr)};
  Bytes expected_ski(20);
  ASSERT_EQ(EVP_Digest(ASN1_STRING_get0_data(bits), static_cast<std::size_t>(ASN1_STRING_length(bits)),
                       expected_ski.data(), nullptr, sha1.get(), nullptr), 1);
  EXPECT_EQ(octets(X509_get0_subject_key_id(x)), expected_ski);
  EXPECT_EQ(octets(X509_get0_authority_key_id(x)), octets(X509_get0_subject_key_id(signer.ca_certificate().x509())));
  EXPECT_EQ(criticality(cert, NID_subject_key_identifier), 0);
  EXPECT_EQ(criticality(cert, NID_authority_key_identifier), 0);

  const std::string text = openssl_text(cert);
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  EXPECT_THAT(text, HasSubstr("DNS:leaf.example.test, DNS:www.example.test, IP Address:192.0.2.1, "
                              "IP Address:2001:DB8:0:0:0:0:0:1, email:admin@example.test"));
  EXPECT_THAT(text, HasSubstr("URI:http://127.0.0.1:8080/crl"));
  EXPECT_THAT(text, HasSubstr("OCSP - URI:http://127.0.0.1:8080/ocsp"));
  EXPECT_THAT(text, HasSubstr("CA Issuers - URI:http://127.0.0.1:8080/ca.crt"));
  EXPECT_THAT(text, HasSubstr("TLS Web Server Authentication, TLS Web Client Authentication"));
}

TEST(CaSignerSignCertificate, PassesOpensslStrictVerification) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate cert = signer.sign_certificate(leaf_template());
  const std::string result = openssl_verify(signer.ca_certificate(), cert);
  EXPECT_THAT(result, ::testing::StartsWith("0 "));
  EXPECT_THAT(result, HasSubstr("leaf.pem: OK"));
}

TEST(CaSignerSignCertificate, SerialMatchesOpensslAndIsPositiveEvenWithTheTopBitSet) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CertificateTemplate t = leaf_template();
  t.serial = Serial{{0xff, 0x00, 0x01}};
  const Certificate cert = signer.sign_certificate(t);
  EXPECT_EQ(cert.serial_hex(), "FF0001");
  const test::TempDir dir;
  test::write_text(dir / "c.pem", crypto::to_pem(cert));
  EXPECT_EQ(test::openssl({"x509", "-in", (dir / "c.pem").string(), "-noout", "-serial"}), "serial=FF0001\n");
  // Leading zero bytes are not part of the number.
  t.serial = Serial{{0x00, 0x00, 0x7f}};
  EXPECT_EQ(signer.sign_certificate(t).serial_hex(), "7F");
}

TEST(CaSignerSignCertificate, DatesAfter2049AreGeneralizedTime) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CertificateTemplate t = leaf_template();
  t.not_before = at(2556144000);  // 2051-01-01
  t.not_after = at(2556144000 + 86400);
  const Certificate cert = signer.sign_certificate(t);
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notBefore(cert.x509())), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(cert.not_before(), t.not_before);
  EXPECT_EQ(cert.not_after(), t.not_after);
  t.not_before = at(1893456000);
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notBefore(signer.sign_certificate(t).x509())), V_ASN1_UTCTIME);
}

// ---- keyUsage follows the subject key ---------------------------------------------------------

struct KeyUsageCase {
  KeyAlgorithm subject;
  KeyUsage asked;
  std::set<int> expected;  // empty: no keyUsage extension at all
};

void PrintTo(const KeyUsageCase& c, std::ostream* os) {
  *os << to_string(c.subject) << " asking ds=" << c.asked.digital_signature << " ke=" << c.asked.key_encipherment
      << " ka=" << c.asked.key_agreement << " cc=" << c.asked.content_commitment;
}

class CaSignerKeyUsage : public ::testing::TestWithParam<KeyUsageCase> {};

TEST_P(CaSignerKeyUsage, AssertsOnlyWhatTheSubjectKeyCanDo) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CertificateTemplate t = leaf_template(GetParam().subject);
  t.key_usage = GetParam().asked;
  const Certificate cert = signer.sign_certificate(t);
  EXPECT_EQ(key_usage_bits(cert), GetParam().expected);
  EXPECT_EQ(criticality(cert, NID_key_usage), GetParam().expected.empty() ? -1 : 1);
  EXPECT_EQ(spki_der(cert), crypto::public_key_der(t.public_key.get()));
  EXPECT_THAT(openssl_verify(signer.ca_certificate(), cert), HasSubstr(": OK"));
}

INSTANTIATE_TEST_SUITE_P(
    SubjectKeys, CaSignerKeyUsage,
    ::testing::Values(
        KeyUsageCase{KeyAlgorithm::Rsa2048, {true, true, true, false}, {kDigitalSignature, kKeyEncipherment}},
        KeyUsageCase{KeyAlgorithm::EcP256, {true, true, true, false}, {kDigitalSignature, kKeyAgreement}},
        KeyUsageCase{KeyAlgorithm::EcP384, {false, false, true, false}, {kKeyAgreement}},
        KeyUsageCase{KeyAlgorithm::Ed25519, {true, true, true, false}, {kDigitalSignature}},
        KeyUsageCase{KeyAlgorithm::EcP256, {true, false, false, true}, {kDigitalSignature, kContentCommitment}},
        // Nothing left to assert: no extension rather than an empty one.
        KeyUsageCase{KeyAlgorithm::EcP256, {false, true, false, false}, {}},
        KeyUsageCase{KeyAlgorithm::Ed25519, {false, true, true, false}, {}}));

TEST(CaSignerSignCertificate, SubjectPublicKeyInfoIsExactlyOpensslsForEveryKeyType) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  std::vector<ossl::Pkey> keys;
  for (const KeyAlgorithm a : {KeyAlgorithm::EcP256, KeyAlgorithm::EcP384, KeyAlgorithm::Rsa2048, KeyAlgorithm::Ed25519}) {
    keys.push_back(subject_key(a));
  }
  // Key types the profiles never allow still make a correct certificate (by the general path).
  keys.emplace_back(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
  keys.emplace_back(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
  {
    ossl::PkeyCtx ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr)};
    EVP_PKEY* raw = nullptr;
    ASSERT_TRUE(ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 && EVP_PKEY_keygen(ctx.get(), &raw) == 1);
    keys.emplace_back(raw);
  }
  // An RSA key with a big public exponent, and an EC key from a compressed point.
  {
    ossl::PkeyCtx ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)};
    ossl::BignumPtr e{BN_new()};
    ASSERT_TRUE(ctx && e && BN_set_word(e.get(), 0x10000001) == 1);
    EVP_PKEY* raw = nullptr;
    ASSERT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()), 1);
    ASSERT_EQ(EVP_PKEY_keygen(ctx.get(), &raw), 1);
    keys.emplace_back(raw);
    ossl::Pkey ec = crypto::generate_key(KeyAlgorithm::EcP256);
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(ec.get(), "point-format", "compressed"), 1);
    keys.push_back(crypto::parse_public_key_der(crypto::public_key_der(ec.get())));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ossl::Pkey& key = keys[i];
    ASSERT_TRUE(key) << i;
    const std::string description = crypto::describe_key(key.get());
    CertificateTemplate t = leaf_template();
    t.public_key = std::move(key);
    const Certificate cert = signer.sign_certificate(t);
    EXPECT_EQ(spki_der(cert), crypto::public_key_der(t.public_key.get())) << description;
    EXPECT_TRUE(crypto::same_public_key(cert.public_key(), t.public_key.get())) << description;
    EXPECT_THAT(openssl_verify(signer.ca_certificate(), cert), HasSubstr(": OK")) << description;
  }
}

// ---- every CA key type ------------------------------------------------------------------------

struct CaCase {
  KeyAlgorithm ca;
  int signature_nid;
};

class CaSignerCaKey : public ::testing::TestWithParam<CaCase> {};

TEST_P(CaSignerCaKey, SignsWithTheDigestOfTheCaKeyAndOpensslAccepts) {
  const CaSigner& signer = signer_for(GetParam().ca);
  const Certificate cert = signer.sign_certificate(leaf_template());
  EXPECT_EQ(X509_get_signature_nid(cert.x509()), GetParam().signature_nid);
  EXPECT_TRUE(cert.issued_by(signer.ca_certificate()));
  EXPECT_THAT(openssl_verify(signer.ca_certificate(), cert), HasSubstr("leaf.pem: OK"));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CaSignerCaKey,
                         ::testing::Values(CaCase{KeyAlgorithm::EcP256, NID_ecdsa_with_SHA256},
                                           CaCase{KeyAlgorithm::EcP384, NID_ecdsa_with_SHA384},
                                           CaCase{KeyAlgorithm::Rsa2048, NID_sha256WithRSAEncryption},
                                           CaCase{KeyAlgorithm::Ed25519, NID_ED25519}),
                         [](const auto& param_info) {
                           std::string name(to_string(param_info.param.ca));
                           std::erase(name, '-');
                           return name;
                         });

// ---- names ------------------------------------------------------------------------------------

TEST(CaSignerSignCertificate, EmptySubjectMakesTheSanCritical) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CertificateTemplate t = leaf_template();
  t.subject.clear();
  const Certificate cert = signer.sign_certificate(t);
  EXPECT_EQ(cert.subject(), "");
  EXPECT_EQ(criticality(cert, NID_subject_alt_name), 1);
  // -x509_strict refuses an empty subject with a non-critical SAN, so this checks both ways.
  EXPECT_THAT(openssl_verify(signer.ca_certificate(), cert), HasSubstr(": OK"));
}

TEST(CaSignerSignCertificate, SubjectOnlyHasNoSanAndNoEku) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CertificateTemplate t = leaf_template();
  t.subject = {{"C", "DE"}, {"O", "Zürich, Inc."}, {"CN", "Client 7"}};
  t.dns_names.clear();
  t.ip_addresses.clear();
  t.extended_key_usages.clear();
  const Certificate cert = signer.sign_certificate(t);
  EXPECT_EQ(cert.subject(), "CN=Client 7,O=Zürich\\, Inc.,C=DE");
  EXPECT_EQ(criticality(cert, NID_subject_alt_name), -1);
  EXPECT_EQ(criticality(cert, NID_ext_key_usage), -1);
  EXPECT_THAT(openssl_verify(signer.ca_certificate(), cert), HasSubstr(": OK"));
}

TEST(CaSignerSignCertificate, EveryProfileEkuNameIsKnown) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CertificateTemplate t = leaf_template();
  t.extended_key_usages = {"serverAuth", "clientAuth", "codeSigning", "emailProtection", "timeStamping", "OCSPSigning"};
  const Certificate cert = signer.sign_certificate(t);
  EXPECT_EQ(X509_get_extended_key_usage(cert.x509()),
            static_cast<std::uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT | XKU_CODE_SIGN | XKU_SMIME |
                                       XKU_TIMESTAMP | XKU_OCSP_SIGN));
}

// ---- refusals ---------------------------------------------------------------------------------

TEST(CaSignerSignCertificate, RefusesTemplatesThatCannotMakeAValidCertificate) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const auto refused = [&](auto edit) {
    CertificateTemplate t = leaf_template();
    edit(t);
    return capture_error([&] { static_cast<void>(signer.sign_certificate(t)); });
  };
  const auto check = [](const Error& e, const std::string& code) {
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << e.what();
    EXPECT_EQ(e.code(), code) << e.what();
  };
  check(refused([](CertificateTemplate& t) { t.serial = Serial{}; }), "serial-invalid");
  check(refused([](CertificateTemplate& t) { t.serial = Serial{{0, 0}}; }), "serial-invalid");
  check(refused([](CertificateTemplate& t) { t.serial = Serial{Bytes(21, 0x11)}; }), "serial-invalid");
  check(refused([](CertificateTemplate& t) { t.not_after = t.not_before - 1s; }), "validity-invalid");
  check(refused([](CertificateTemplate& t) { t.public_key.reset(); }), "public-key-missing");
  check(refused([](CertificateTemplate& t) { t.ip_addresses = {"192.0.2.300"}; }), "ip-address-invalid");
  check(refused([](CertificateTemplate& t) { t.dns_names = {"bücher.example"}; }), "name-invalid");
  check(refused([](CertificateTemplate& t) { t.subject = {{"NoSuchAttribute", "x"}}; }), "name-invalid");
  check(refused([](CertificateTemplate& t) { t.extended_key_usages = {"anyThing"}; }), "eku-unknown");
  check(refused([](CertificateTemplate& t) {
          t.subject.clear();
          t.dns_names.clear();
          t.ip_addresses.clear();
        }),
        "name-missing");
}

// ---- construction -----------------------------------------------------------------------------

TEST(CaSignerConstruction, RefusesAKeyThatIsNotTheCertificates) {
  ossl::Pkey key = crypto::generate_key(KeyAlgorithm::EcP256);
  const ossl::Pkey other_key = crypto::generate_key(KeyAlgorithm::EcP256);
  const Certificate other = make_ca_certificate(other_key.get(), "Other CA");
  const Error e = capture_error([&] { CaSigner(std::move(key), other, {}, kUrls); });
  EXPECT_EQ(e.kind(), ErrorKind::Integrity);
  EXPECT_EQ(e.code(), "ca-key-mismatch");
}

TEST(CaSignerConstruction, RefusesThePublicHalfOnly) {
  const ossl::Pkey key = crypto::generate_key(KeyAlgorithm::EcP256);
  const Certificate cert = make_ca_certificate(key.get(), "Public Only CA");
  ossl::Pkey public_only = crypto::parse_public_key_der(crypto::public_key_der(key.get()));
  const Error e = capture_error([&] { CaSigner(std::move(public_only), cert, {}, kUrls); });
  EXPECT_EQ(e.code(), "ca-key-mismatch");
}

TEST(CaSignerConstruction, RefusesAnUnsupportedCaKey) {
  ossl::Pkey key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521")};
  ASSERT_TRUE(key);
  const Certificate cert = make_ca_certificate(key.get(), "P-521 CA");
  const Error e = capture_error([&] { CaSigner(std::move(key), cert, {}, kUrls); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.code(), "ca-key-unsupported");
  EXPECT_THAT(e.what(), HasSubstr("secp521r1"));
}

TEST(CaSignerConstruction, RefusesUnusableBaseUrls) {
  for (const std::string base : {"", "ftp://ca.example", "http://", "http://ca.example/", "ca.example",
                                 "http://ca.example/a b"}) {
    ossl::Pkey key = crypto::generate_key(KeyAlgorithm::EcP256);
    const Certificate cert = make_ca_certificate(key.get(), "URL CA");
    const Error e = capture_error([&] { CaSigner(std::move(key), cert, {}, PublicUrls{base}); });
    EXPECT_EQ(e.code(), "public-url-invalid") << base;
  }
}

TEST(CaSignerConstruction, ExposesTheCertIdHashesOpensslComputes) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  // OCSP_cert_to_id computes the issuer hashes the way every OCSP client does.
  const Certificate leaf = signer.sign_certificate(leaf_template());
  for (const auto& [md, name_hash, key_hash] :
       {std::tuple{EVP_sha1(), &signer.issuer_name_sha1(), &signer.issuer_key_sha1()},
        std::tuple{EVP_sha256(), &signer.issuer_name_sha256(), &signer.issuer_key_sha256()}}) {
    ossl::OcspCertIdPtr id{OCSP_cert_to_id(md, leaf.x509(), signer.ca_certificate().x509())};
    ASSERT_TRUE(id);
    ASN1_OCTET_STRING* n = nullptr;
    ASN1_OCTET_STRING* k = nullptr;
    ASSERT_EQ(OCSP_id_get0_info(&n, nullptr, &k, nullptr, id.get()), 1);
    EXPECT_EQ(octets(n), *name_hash);
    EXPECT_EQ(octets(k), *key_hash);
  }
}

TEST(CaSignerConstruction, CaWithoutSkiGetsAnAkiHashedFromItsKey) {
  const test::TempDir dir;
  const std::string key_path = (dir / "ca.key").string();
  const std::string cert_path = (dir / "ca.pem").string();
  test::openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key_path});
  test::openssl({"req", "-x509", "-new", "-key", key_path, "-subj", "/CN=No SKI CA", "-days", "3", "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-addext", "subjectKeyIdentifier=none", "-addext", "authorityKeyIdentifier=none", "-out", cert_path});
  ossl::Bio key_bio{BIO_new_file(key_path.c_str(), "r")};
  ossl::Pkey key{PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr)};
  ossl::Bio cert_bio{BIO_new_file(cert_path.c_str(), "r")};
  ossl::X509Ptr x509{PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)};
  ASSERT_TRUE(key && x509);
  const Certificate ca = Certificate::from_x509(x509.get());
  ASSERT_EQ(X509_get0_subject_key_id(ca.x509()), nullptr);

  const CaSigner signer(std::move(key), ca, {}, kUrls);
  const Certificate leaf = signer.sign_certificate(leaf_template());
  EXPECT_EQ(octets(X509_get0_authority_key_id(leaf.x509())), signer.issuer_key_sha1());
  // Not -x509_strict: that also demands an SKI in the CA certificate, which this one lacks.
  test::write_text(dir / "leaf.pem", crypto::to_pem(leaf));
  EXPECT_EQ(test::openssl({"verify", "-CAfile", cert_path, (dir / "leaf.pem").string()}),
            (dir / "leaf.pem").string() + ": OK\n");
}

TEST(CaSignerConstruction, KeepsTheChainAndUrls) {
  ossl::Pkey key = crypto::generate_key(KeyAlgorithm::EcP256);
  const Certificate cert = make_ca_certificate(key.get(), "Chained CA");
  const Certificate root = signer_for(KeyAlgorithm::EcP256).ca_certificate();
  const CaSigner signer(std::move(key), cert, {root}, PublicUrls{"https://pki.example.test:8443"});
  ASSERT_EQ(signer.chain().size(), 1u);
  EXPECT_EQ(signer.chain()[0].der(), root.der());
  EXPECT_EQ(signer.ca_certificate().der(), cert.der());
  EXPECT_EQ(signer.urls().crl(), "https://pki.example.test:8443/crl");
}

// ---- concurrency ------------------------------------------------------------------------------

TEST(CaSignerSignCertificate, TwoThreadsSignAtOnce) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  constexpr int kPerThread = 200;
  std::vector<std::vector<Certificate>> issued(2);
  std::vector<std::thread> threads;
  for (auto& out : issued) {
    threads.emplace_back([&signer, &out] {
      CertificateTemplate t = leaf_template();
      for (int i = 0; i < kPerThread; ++i) {
        t.serial = Serial::random();
        out.push_back(signer.sign_certificate(t));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> serials;
  for (const auto& list : issued) {
    ASSERT_EQ(list.size(), static_cast<std::size_t>(kPerThread));
    for (const Certificate& cert : list) {
      EXPECT_TRUE(cert.issued_by(signer.ca_certificate()));
      serials.insert(cert.serial_hex());
    }
  }
  EXPECT_EQ(serials.size(), 2u * kPerThread);
}

}  // namespace
}  // namespace signet::issuance
