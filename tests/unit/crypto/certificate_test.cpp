#include "signet/crypto/certificate.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>

#include "signet/core/error.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "support/error_assert.h"
#include "support/openssl_cli.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace signet::crypto {
namespace {

using namespace std::chrono_literals;
using test::capture_error;

const ossl::Pkey& ec_key() {
  static const ossl::Pkey key = generate_key(KeyAlgorithm::EcP256);
  return key;
}

const ossl::Pkey& other_ec_key() {
  static const ossl::Pkey key = generate_key(KeyAlgorithm::EcP256);
  return key;
}

SelfSignedSpec spec(std::string cn, bool ca = true, bool key_cert_sign = true) {
  SelfSignedSpec s;
  s.common_name = std::move(cn);
  s.ca = ca;
  s.key_cert_sign = key_cert_sign;
  return s;
}

Certificate read_pem_cert(const std::filesystem::path& path) {
  ossl::Bio bio{BIO_new_file(path.c_str(), "r")};
  if (!bio) throw std::runtime_error("cannot open " + path.string());
  ossl::X509Ptr x{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  if (!x) throw std::runtime_error("not a PEM certificate: " + path.string());
  return Certificate::from_x509(x.get());
}

TimePoint at(std::int64_t unix_seconds) { return TimePoint{std::chrono::seconds(unix_seconds)}; }

// ---- make_self_signed and the accessors --------------------------------------------------------

TEST(MakeSelfSigned, CaCertificateHasCaFlagsAndOurKey) {
  const Certificate c = make_self_signed(ec_key().get(), spec("Signet Test CA"));
  EXPECT_TRUE(c.is_ca());
  EXPECT_TRUE(c.has_key_cert_sign());
  EXPECT_TRUE(c.self_issued());
  EXPECT_TRUE(c.issued_by(c));
  EXPECT_EQ(c.subject(), "CN=Signet Test CA");
  EXPECT_EQ(c.issuer(), "CN=Signet Test CA");
  EXPECT_TRUE(same_public_key(c.public_key(), ec_key().get()));
}

TEST(MakeSelfSigned, CaWithoutKeyCertSign) {
  const Certificate c = make_self_signed(ec_key().get(), spec("No keyCertSign", true, false));
  EXPECT_TRUE(c.is_ca());
  EXPECT_FALSE(c.has_key_cert_sign());
}

TEST(MakeSelfSigned, NonCaCertificate) {
  const Certificate c = make_self_signed(ec_key().get(), spec("leaf.example", false));
  EXPECT_FALSE(c.is_ca());
  EXPECT_FALSE(c.has_key_cert_sign());
  EXPECT_TRUE(c.self_issued());
  // Without keyCertSign a certificate issues nothing, not even itself: a leaf can never be taken
  // for an issuer in a chain.
  EXPECT_FALSE(c.issued_by(c));
}

TEST(MakeSelfSigned, WorksForEveryFastAlgorithm) {
  for (const KeyAlgorithm a : {KeyAlgorithm::EcP384, KeyAlgorithm::Ed25519, KeyAlgorithm::Rsa2048}) {
    const ossl::Pkey key = generate_key(a);
    const Certificate c = make_self_signed(key.get(), spec("CA " + std::string(to_string(a))));
    EXPECT_TRUE(c.issued_by(c)) << to_string(a);
    EXPECT_TRUE(same_public_key(c.public_key(), key.get())) << to_string(a);
  }
}

TEST(MakeSelfSigned, ValidityAndSerialAreAsSpecified) {
  SelfSignedSpec s = spec("Validity");
  s.not_before = at(1893456000);  // 2030-01-01T00:00:00Z
  s.validity = 24h;
  const Certificate c = make_self_signed(ec_key().get(), s);
  EXPECT_EQ(c.not_before(), at(1893456000));
  EXPECT_EQ(c.not_after(), at(1893456000 + 86400));
  // A positive serial of 128 bits; two certificates never share one.
  const std::string serial = c.serial_hex();
  EXPECT_EQ(serial.size(), 32u) << serial;
  EXPECT_NE(serial, make_self_signed(ec_key().get(), s).serial_hex());
}

TEST(MakeSelfSigned, DatesAfter2049UseGeneralizedTimeCorrectly) {
  SelfSignedSpec s = spec("Far future");
  s.not_before = at(2556144000);  // 2051-01-01T00:00:00Z
  s.validity = 48h;
  const Certificate c = make_self_signed(ec_key().get(), s);
  EXPECT_EQ(c.not_before(), at(2556144000));
  EXPECT_EQ(c.not_after(), at(2556144000 + 2 * 86400));
}

TEST(MakeSelfSigned, Utf8AndSpecialCharactersInTheName) {
  const Certificate utf8 = make_self_signed(ec_key().get(), spec("Zürich Root CA"));
  EXPECT_EQ(utf8.subject(), "CN=Zürich Root CA");
  const Certificate comma = make_self_signed(ec_key().get(), spec("Acme, Inc. CA"));
  EXPECT_EQ(comma.subject(), "CN=Acme\\, Inc. CA");
}

TEST(Certificate, FingerprintIsSha256OfDerAndFromX509RoundTrips) {
  const Certificate c = make_self_signed(ec_key().get(), spec("Fingerprint"));
  EXPECT_EQ(c.sha256_fingerprint(), sha256(c.der()));
  const Certificate again = Certificate::from_x509(c.x509());
  EXPECT_EQ(again.der(), c.der());
  const Certificate parsed = Certificate::from_der(c.der());
  EXPECT_EQ(parsed.subject(), c.subject());
  EXPECT_EQ(parsed.serial_hex(), c.serial_hex());
}

TEST(Certificate, CopiesShareTheParsedObject) {
  const Certificate a = make_self_signed(ec_key().get(), spec("Shared"));
  const Certificate b = a;  // NOLINT(performance-unnecessary-copy-initialization): under test
  EXPECT_EQ(a.x509(), b.x509());
  EXPECT_EQ(a.der(), b.der());
}

// ---- issued_by ---------------------------------------------------------------------------------

TEST(IssuedBy, FalseForAnotherKeyEvenWithTheSameName) {
  const Certificate mine = make_self_signed(ec_key().get(), spec("Same Name CA"));
  const Certificate impostor = make_self_signed(other_ec_key().get(), spec("Same Name CA"));
  EXPECT_FALSE(mine.issued_by(impostor));
  EXPECT_FALSE(impostor.issued_by(mine));
  const Certificate unrelated = make_self_signed(other_ec_key().get(), spec("Other CA"));
  EXPECT_FALSE(mine.issued_by(unrelated));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(IssuedBy, FollowsARealChainMadeByOpenssl) {
  test::TempDir dir;
  const test::OpensslChain chain = test::make_openssl_chain(dir.path());
  const Certificate root = read_pem_cert(chain.root_cert);
  const Certificate inter = read_pem_cert(chain.intermediate_cert);
  const Certificate leaf = read_pem_cert(chain.leaf_cert);
  EXPECT_TRUE(leaf.issued_by(inter));
  EXPECT_TRUE(inter.issued_by(root));
  EXPECT_TRUE(root.issued_by(root));
  EXPECT_FALSE(leaf.issued_by(root));
  EXPECT_FALSE(inter.issued_by(leaf));
  EXPECT_FALSE(root.issued_by(inter));
  EXPECT_TRUE(root.is_ca() && root.has_key_cert_sign() && root.self_issued());
  EXPECT_TRUE(inter.is_ca() && inter.has_key_cert_sign() && !inter.self_issued());
  EXPECT_FALSE(leaf.is_ca());
  EXPECT_FALSE(leaf.has_key_cert_sign());
  // RFC 2253 order: most specific first.
  EXPECT_EQ(inter.subject(), "CN=Test Intermediate CA,O=Signet Tests");
  EXPECT_EQ(inter.issuer(), "CN=Test Root CA,O=Signet Tests");
}

TEST(IsCa, Version1CertificateWithoutExtensionsIsNotACa) {
  // X509_check_ca() would count a v1 self-signed certificate as a CA; Signet requires cA TRUE.
  test::TempDir dir;
  test::openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                 (dir / "k.pem").string()});
  test::openssl({"req", "-new", "-key", (dir / "k.pem").string(), "-subj", "/CN=v1", "-out",
                 (dir / "r.csr").string()});
  test::openssl({"x509", "-req", "-in", (dir / "r.csr").string(), "-key", (dir / "k.pem").string(),
                 "-days", "1", "-out", (dir / "v1.pem").string()});
  const Certificate v1 = read_pem_cert(dir / "v1.pem");
  ASSERT_EQ(X509_get_version(v1.x509()), X509_VERSION_1) << "openssl made an extension-bearing cert";
  EXPECT_FALSE(v1.is_ca());
  EXPECT_FALSE(v1.has_key_cert_sign());
  EXPECT_TRUE(v1.self_issued());
}

// ---- parsing garbage ---------------------------------------------------------------------------

TEST(CertificateParse, GarbageTruncatedAndTrailingBytesAreRejected) {
  const Certificate c = make_self_signed(ec_key().get(), spec("Parse"));
  const Bytes& der = c.der();
  EXPECT_FALSE(Certificate::try_from_der(as_bytes("not a certificate")).has_value());
  EXPECT_FALSE(Certificate::try_from_der(ByteView{}).has_value());
  EXPECT_FALSE(Certificate::try_from_der(ByteView(der.data(), der.size() - 1)).has_value());
  EXPECT_FALSE(Certificate::try_from_der(ByteView(der.data(), der.size() / 2)).has_value());
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(Certificate::try_from_der(trailing).has_value());
  // A request is not a certificate.
  EXPECT_FALSE(Certificate::try_from_der(make_request(ec_key().get(), "r").der()).has_value());
  EXPECT_EQ(ERR_peek_error(), 0u);

  const Error e = capture_error([] { (void)Certificate::from_der(as_bytes("garbage")); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "certificate-malformed");
}

TEST(RequestParse, GarbageAndCertificatesAreRejected) {
  EXPECT_FALSE(CertificateRequest::try_from_der(as_bytes("not a request")).has_value());
  EXPECT_FALSE(CertificateRequest::try_from_der(ByteView{}).has_value());
  const Certificate c = make_self_signed(ec_key().get(), spec("Not a request"));
  EXPECT_FALSE(CertificateRequest::try_from_der(c.der()).has_value());
  const CertificateRequest r = make_request(ec_key().get(), "r");
  Bytes trailing = r.der();
  trailing.push_back(0);
  EXPECT_FALSE(CertificateRequest::try_from_der(trailing).has_value());
  const Error e = capture_error([] { (void)CertificateRequest::from_der(as_bytes("garbage")); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "request-malformed");
}

// ---- requests ----------------------------------------------------------------------------------

TEST(MakeRequest, IsSignedByTheKeyForEveryFastAlgorithm) {
  for (const KeyAlgorithm a : {KeyAlgorithm::EcP256, KeyAlgorithm::Ed25519, KeyAlgorithm::Rsa2048}) {
    const ossl::Pkey key = generate_key(a);
    const CertificateRequest r = make_request(key.get(), "host.example");
    EXPECT_TRUE(r.signature_valid()) << to_string(a);
    EXPECT_EQ(r.subject(), "CN=host.example");
    EXPECT_TRUE(same_public_key(r.public_key(), key.get()));
    const CertificateRequest parsed = CertificateRequest::from_der(r.der());
    EXPECT_TRUE(parsed.signature_valid());
  }
}

TEST(MakeRequest, TamperedSignatureDoesNotVerify) {
  const CertificateRequest r = make_request(ec_key().get(), "tamper.example");
  Bytes der = r.der();
  // The signature BIT STRING is at the end; flip a bit inside the ECDSA integer s, keeping the DER
  // structure intact.
  der[der.size() - 2] ^= 0x01;
  const auto tampered = CertificateRequest::try_from_der(der);
  ASSERT_TRUE(tampered.has_value());
  EXPECT_FALSE(tampered->signature_valid());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// ---- PEM, read by the real openssl ------------------------------------------------------------

TEST(ToPem, CertificateIsReadableByOpensslX509) {
  const Certificate c = make_self_signed(ec_key().get(), spec("PEM Test CA"));
  const std::string pem = to_pem(c);
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  test::ProcessOptions input;
  input.stdin_data = pem;
  const test::ProcessResult r =
      test::run_process({"openssl", "x509", "-noout", "-subject", "-serial"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("subject=CN = PEM Test CA"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("serial=" + c.serial_hex()), std::string::npos) << r.out;
}

TEST(ToPem, RequestIsReadableAndVerifiedByOpensslReq) {
  const CertificateRequest req = make_request(ec_key().get(), "csr.example");
  const std::string pem = to_pem(req);
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0), 0u);
  test::ProcessOptions input;
  input.stdin_data = pem;
  const test::ProcessResult r =
      test::run_process({"openssl", "req", "-noout", "-verify", "-subject"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("subject=CN = csr.example"), std::string::npos) << r.out;
  EXPECT_NE((r.out + r.err).find("verify OK"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace signet::crypto
