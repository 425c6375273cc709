// CaSigner::sign_crl. Every CRL is checked by the real `openssl crl` (signature) and `openssl verify
// -crl_check` (revocation), as relying parties would.
#include "signet/issuance/signer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/key.h"
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
using ::testing::Not;
using namespace std::chrono_literals;

TimePoint now() { return std::chrono::system_clock::now(); }
TimePoint at(std::int64_t unix_seconds) { return TimePoint{std::chrono::seconds(unix_seconds)}; }

const CaSigner& signer_for(KeyAlgorithm algorithm) {
  static std::map<KeyAlgorithm, std::unique_ptr<CaSigner>> signers;
  auto& signer = signers[algorithm];
  if (!signer) {
    ossl::Pkey key = crypto::generate_key(algorithm);
    crypto::SelfSignedSpec spec;
    spec.subject = {{"O", "Signet Tests"}, {"CN", "CRL Test CA " + std::string(to_string(algorithm))}};
    spec.not_before = now() - 1h;
    Certificate cert = crypto::make_self_signed(key.get(), spec);
    signer = std::make_unique<CaSigner>(std::move(key), std::move(cert), std::vector<Certificate>{},
                                        PublicUrls{"http://127.0.0.1:8080"});
  }
  return *signer;
}

Certificate issue_leaf(const CaSigner& signer, const std::string& name) {
  CertificateTemplate t;
  t.serial = Serial::random();
  t.subject = {{"CN", name}};
  t.dns_names = {name};
  t.not_before = now() - 1min;
  t.not_after = now() + 24h;
  t.key_usage.digital_signature = true;
  t.extended_key_usages = {"serverAuth"};
  t.public_key = crypto::generate_key(KeyAlgorithm::EcP256);
  return signer.sign_certificate(t);
}

CrlContent crl_content(std::int64_t number) {
  CrlContent c;
  c.number = number;
  c.this_update = now() - 1min;
  c.next_update = now() + 24h;
  return c;
}

ossl::X509CrlPtr parse_crl(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::X509CrlPtr crl{d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()))};
  EXPECT_TRUE(crl);
  EXPECT_EQ(p, der.data() + der.size());
  return crl;
}

std::string_view as_text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// Files for the openssl CLI: ca.pem, crl.der, crl.pem and one PEM per certificate given.
struct CrlFiles {
  test::TempDir dir;
  CrlFiles(const CaSigner& signer, const Bytes& crl, const std::map<std::string, Certificate>& certs = {}) {
    test::write_text(dir / "ca.pem", crypto::to_pem(signer.ca_certificate()));
    test::write_text(dir / "crl.der", as_text(crl));
    test::openssl({"crl", "-inform", "DER", "-in", path("crl.der"), "-out", path("crl.pem")});
    for (const auto& [name, cert] : certs) test::write_text(dir / name, crypto::to_pem(cert));
  }
  [[nodiscard]] std::string path(const std::string& name) const { return (dir / name).string(); }
  // `openssl crl -CAfile`: checks the CRL's signature against the CA. Exit code, then output.
  [[nodiscard]] std::string verify_crl() const {
    const auto r = test::run_process(
        {"openssl", "crl", "-inform", "DER", "-in", path("crl.der"), "-CAfile", path("ca.pem"), "-noout"});
    return std::to_string(r.exit_code) + " " + r.out + r.err;
  }
  [[nodiscard]] std::string verify_cert(const std::string& name, bool use_deltas = false) const {
    std::vector<std::string> argv{"openssl", "verify", "-crl_check", "-CAfile", path("ca.pem"), "-CRLfile", path("crl.pem")};
    if (use_deltas) argv.push_back("-use_deltas");
    argv.push_back(path(name));
    const auto r = test::run_process(argv);
    return std::to_string(r.exit_code) + " " + r.out + r.err;
  }
  [[nodiscard]] std::string text() const {
    return test::openssl({"crl", "-inform", "DER", "-in", path("crl.der"), "-noout", "-text"});
  }
};

// ---- with the openssl CLI ---------------------------------------------------------------------

TEST(CaSignerSignCrl, OpensslVerifiesItAndSeesTheRevokedCertificateOnly) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate revoked = issue_leaf(signer, "revoked.example.test");
  const Certificate kept = issue_leaf(signer, "kept.example.test");
  CrlContent content = crl_content(7);
  content.revoked.push_back({*Serial::parse_hex(revoked.serial_hex()), now() - 30s, RevocationReason::KeyCompromise});
  const CrlFiles files(signer, signer.sign_crl(content), {{"revoked.pem", revoked}, {"kept.pem", kept}});

  EXPECT_THAT(files.verify_crl(), ::testing::StartsWith("0 "));
  EXPECT_THAT(files.verify_crl(), HasSubstr("verify OK"));
  const std::string revoked_result = files.verify_cert("revoked.pem");
  EXPECT_THAT(revoked_result, Not(::testing::StartsWith("0 ")));
  EXPECT_THAT(revoked_result, HasSubstr("certificate revoked"));
  EXPECT_THAT(files.verify_cert("kept.pem"), HasSubstr("kept.pem: OK"));

  const std::string text = files.text();
  EXPECT_THAT(text, HasSubstr("Version 2 (0x1)"));
  EXPECT_THAT(text, ::testing::ContainsRegex("X509v3 CRL Number: *\n *7\n"));
  EXPECT_THAT(text, HasSubstr("Serial Number: " + revoked.serial_hex()));
  EXPECT_THAT(text, HasSubstr("Key Compromise"));
  EXPECT_THAT(text, Not(HasSubstr("Delta CRL Indicator")));
}

TEST(CaSignerSignCrl, AnEmptyCrlVerifiesAndRevokesNothing) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer, "leaf.example.test");
  const CrlFiles files(signer, signer.sign_crl(crl_content(1)), {{"leaf.pem", leaf}});
  EXPECT_THAT(files.verify_crl(), HasSubstr("verify OK"));
  EXPECT_THAT(files.verify_cert("leaf.pem"), HasSubstr("leaf.pem: OK"));
  EXPECT_THAT(files.text(), HasSubstr("No Revoked Certificates."));
}

TEST(CaSignerSignCrl, DeltaCrlCarriesACriticalDeltaIndicatorAndVerifies) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate revoked = issue_leaf(signer, "delta.example.test");
  CrlContent content = crl_content(12);
  content.delta_base = 10;
  content.revoked.push_back({*Serial::parse_hex(revoked.serial_hex()), now() - 30s, RevocationReason::Superseded});
  const Bytes der = signer.sign_crl(content);

  const ossl::X509CrlPtr crl = parse_crl(der);
  int critical = -1;
  ossl::Asn1IntegerPtr base{static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_delta_crl, &critical, nullptr))};
  ASSERT_TRUE(base);
  EXPECT_EQ(critical, 1);
  EXPECT_EQ(ASN1_INTEGER_get(base.get()), 10);

  const CrlFiles files(signer, der, {{"revoked.pem", revoked}});
  EXPECT_THAT(files.verify_crl(), HasSubstr("verify OK"));
  EXPECT_THAT(files.text(), HasSubstr("X509v3 Delta CRL Indicator: critical"));
  EXPECT_THAT(files.text(), HasSubstr("Serial Number: " + revoked.serial_hex()));
  EXPECT_THAT(files.text(), HasSubstr("Superseded"));
}

// With delta CRLs published, certificates and full CRLs carry freshestCRL; without it `openssl
// verify -use_deltas` never looks at the delta, and a revocation listed only there goes unseen.
TEST(CaSignerSignCrl, WithDeltaCrlsFreshestCrlLetsOpensslUseTheDelta) {
  ossl::Pkey key = crypto::generate_key(KeyAlgorithm::EcP256);
  crypto::SelfSignedSpec spec;
  spec.common_name = "Delta CRL Test CA";
  spec.not_before = now() - 1h;
  Certificate cert = crypto::make_self_signed(key.get(), spec);
  const CaSigner signer(std::move(key), cert, {}, PublicUrls{"http://127.0.0.1:8080", true});
  const Certificate leaf = issue_leaf(signer, "late.example.test");
  const Bytes full = signer.sign_crl(crl_content(20));  // before the revocation
  CrlContent delta = crl_content(21);
  delta.delta_base = 20;
  delta.revoked.push_back({*Serial::parse_hex(leaf.serial_hex()), now() - 30s, RevocationReason::KeyCompromise});
  const Bytes delta_der = signer.sign_crl(delta);

  const CrlFiles files(signer, full, {{"leaf.pem", leaf}});
  EXPECT_THAT(files.text(), HasSubstr("X509v3 Freshest CRL"));
  EXPECT_THAT(files.text(), HasSubstr("URI:http://127.0.0.1:8080/crl/delta"));
  EXPECT_THAT(test::openssl({"x509", "-in", files.path("leaf.pem"), "-noout", "-text"}),
              HasSubstr("X509v3 Freshest CRL"));
  const CrlFiles delta_files(signer, delta_der);
  EXPECT_THAT(delta_files.text(), Not(HasSubstr("Freshest CRL")));
  // Both CRLs in one file, as a relying party that fetched both would have them.
  test::write_text(files.dir / "crl.pem", test::read_text(files.dir / "crl.pem") +
                                              test::read_text(delta_files.dir / "crl.pem"));
  EXPECT_THAT(files.verify_cert("leaf.pem"), HasSubstr("leaf.pem: OK"));  // the full CRL alone
  const std::string with_deltas = files.verify_cert("leaf.pem", true);
  EXPECT_THAT(with_deltas, Not(::testing::StartsWith("0 ")));
  EXPECT_THAT(with_deltas, HasSubstr("certificate revoked"));
}

TEST(CaSignerSignCrl, WithoutDeltaCrlsThereIsNoFreshestCrl) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer, "plain.example.test");
  const CrlFiles files(signer, signer.sign_crl(crl_content(3)), {{"leaf.pem", leaf}});
  EXPECT_THAT(files.text(), Not(HasSubstr("Freshest CRL")));
  EXPECT_THAT(test::openssl({"x509", "-in", files.path("leaf.pem"), "-noout", "-text"}), Not(HasSubstr("Freshest CRL")));
}

// ---- the structure ----------------------------------------------------------------------------

TEST(CaSignerSignCrl, StructureIsV2WithIssuerAkiNumberAndReasonCodes) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CrlContent content = crl_content(0x1234567890);
  content.this_update = at(1893456000);
  content.next_update = at(1893456000 + 7 * 86400);
  content.revoked = {
      {Serial{{0x30}}, at(1893450000), RevocationReason::Unspecified},
      {Serial{{0x10}}, at(1893440000), RevocationReason::KeyCompromise},
      {Serial{{0xff, 0x01}}, at(1893430000), RevocationReason::AaCompromise},
  };
  const ossl::X509CrlPtr crl = parse_crl(signer.sign_crl(content));
  X509_CRL* c = crl.get();

  EXPECT_EQ(X509_CRL_get_version(c), X509_CRL_VERSION_2);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(signer.ca_certificate().x509())), 0);
  EXPECT_EQ(X509_CRL_get_signature_nid(c), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_CRL_verify(c, signer.ca_certificate().public_key()), 1);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(c), 1893456000), 0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(c), 1893456000 + 7 * 86400), 0);

  int critical = -1;
  ossl::Asn1IntegerPtr number{static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(c, NID_crl_number, &critical, nullptr))};
  ASSERT_TRUE(number);
  EXPECT_EQ(critical, 0);
  std::int64_t value = 0;
  ASSERT_EQ(ASN1_INTEGER_get_int64(&value, number.get()), 1);
  EXPECT_EQ(value, 0x1234567890);

  ossl::AuthorityKeyIdPtr akid{static_cast<AUTHORITY_KEYID*>(X509_CRL_get_ext_d2i(c, NID_authority_key_identifier, &critical, nullptr))};
  ASSERT_TRUE(akid);
  EXPECT_EQ(critical, 0);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(signer.ca_certificate().x509())), 0);
  EXPECT_EQ(X509_CRL_get_ext_by_NID(c, NID_delta_crl, -1), -1);

  // Entries sorted by serial; reasonCode present except for unspecified.
  const STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(c);
  ASSERT_EQ(sk_X509_REVOKED_num(entries), 3);
  const auto entry = [&](int i) { return sk_X509_REVOKED_value(entries, i); };
  const auto serial = [&](int i) { return ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(entry(i))); };
  const auto reason = [&](int i) -> long {
    ossl::Asn1EnumeratedPtr r{static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(entry(i), NID_crl_reason, &critical, nullptr))};
    return r ? ASN1_ENUMERATED_get(r.get()) : -1;
  };
  EXPECT_EQ(serial(0), 0x10);
  EXPECT_EQ(reason(0), 1);
  EXPECT_EQ(critical, 0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(entry(0)), 1893440000), 0);
  EXPECT_EQ(serial(1), 0x30);
  EXPECT_EQ(reason(1), -1);
  EXPECT_EQ(X509_REVOKED_get_ext_count(entry(1)), 0);
  EXPECT_EQ(serial(2), 0xff01);
  EXPECT_EQ(reason(2), 10);
}

TEST(CaSignerSignCrl, DatesAfter2049AreGeneralizedTime) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  CrlContent content = crl_content(1);
  content.this_update = at(2556144000);  // 2051-01-01
  content.next_update = at(2556144000 + 86400);
  const ossl::X509CrlPtr crl = parse_crl(signer.sign_crl(content));
  EXPECT_EQ(ASN1_STRING_type(X509_CRL_get0_lastUpdate(crl.get())), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl.get()), 2556144000 + 86400), 0);
}

// ---- every CA key type ------------------------------------------------------------------------

class CaSignerCrlCaKey : public ::testing::TestWithParam<std::pair<KeyAlgorithm, int>> {};

TEST_P(CaSignerCrlCaKey, OpensslVerifiesTheCrlAndTheRevocation) {
  const CaSigner& signer = signer_for(GetParam().first);
  const Certificate revoked = issue_leaf(signer, "revoked.example.test");
  CrlContent content = crl_content(3);
  content.revoked.push_back({*Serial::parse_hex(revoked.serial_hex()), now() - 30s, RevocationReason::CessationOfOperation});
  const Bytes der = signer.sign_crl(content);
  EXPECT_EQ(X509_CRL_get_signature_nid(parse_crl(der).get()), GetParam().second);
  const CrlFiles files(signer, der, {{"revoked.pem", revoked}});
  EXPECT_THAT(files.verify_crl(), HasSubstr("verify OK"));
  EXPECT_THAT(files.verify_cert("revoked.pem"), HasSubstr("certificate revoked"));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CaSignerCrlCaKey,
                         ::testing::Values(std::pair{KeyAlgorithm::EcP256, NID_ecdsa_with_SHA256},
                                           std::pair{KeyAlgorithm::EcP384, NID_ecdsa_with_SHA384},
                                           std::pair{KeyAlgorithm::Rsa2048, NID_sha256WithRSAEncryption},
                                           std::pair{KeyAlgorithm::Ed25519, NID_ED25519}),
                         [](const auto& param_info) {
                           std::string name(to_string(param_info.param.first));
                           std::erase(name, '-');
                           return name;
                         });

// ---- refusals ---------------------------------------------------------------------------------

TEST(CaSignerSignCrl, RefusesContentThatCannotMakeAValidCrl) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const auto refused = [&](auto edit) {
    CrlContent c = crl_content(5);
    edit(c);
    return capture_error([&] { static_cast<void>(signer.sign_crl(c)); });
  };
  EXPECT_EQ(refused([](CrlContent& c) { c.number = -1; }).code(), "crl-number-invalid");
  EXPECT_EQ(refused([](CrlContent& c) { c.delta_base = -1; }).code(), "crl-number-invalid");
  EXPECT_EQ(refused([](CrlContent& c) { c.next_update = c.this_update; }).code(), "crl-dates-invalid");
  const Error e = refused([](CrlContent& c) { c.revoked.push_back({Serial{}, now(), RevocationReason::Superseded}); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "serial-invalid");
}

}  // namespace
}  // namespace signet::issuance
