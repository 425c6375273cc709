// CertificateRequest::try_from_der parses a request in parts so that its public key goes through a
// cached decoder. These tests hold it to OpenSSL's own d2i_X509_REQ: the same fields, the same
// accept/reject answer and the same signature verdict, on requests made by the openssl CLI and on
// every single-byte corruption of them.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "support/openssl_cli.h"
#include "support/temp_dir.h"

namespace signet::crypto {
namespace {

struct Sample {
  std::string name;
  Bytes der;
};

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// CSRs as an operator makes them: `openssl req -new` with a subject and subjectAltName.
const std::vector<Sample>& samples() {
  static const std::vector<Sample> all = [] {
    const test::TempDir dir;
    std::vector<Sample> out;
    struct KeySpec {
      std::string name;
      std::vector<std::string> options;
      bool compressed = false;  // the EC point in compressed form (SEC 1 2.3.3)
    };
    const std::vector<KeySpec> keys = {
        {"ec-p256", {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}},
        {"ec-p256-compressed", {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}, true},
        {"ec-p384", {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"}},
        {"ec-p521", {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"}},
        {"rsa-2048", {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}},
        {"rsa-pss-2048", {"-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"}},
        {"ed25519", {"-algorithm", "ED25519"}},
    };
    for (const auto& [name, options, compressed] : keys) {
      const std::string key = (dir.path() / (name + ".key")).string();
      const std::string csr = (dir.path() / (name + ".der")).string();
      std::vector<std::string> gen = {"genpkey", "-out", key};
      gen.insert(gen.end(), options.begin(), options.end());
      (void)test::openssl(gen);
      if (compressed) {
        (void)test::openssl({"pkey", "-in", key, "-ec_conv_form", "compressed", "-out", key + ".c"});
        std::filesystem::rename(key + ".c", key);
      }
      (void)test::openssl({"req", "-new", "-key", key, "-subj", "/O=Example Ltd/CN=www.example.com", "-addext",
                           "subjectAltName=DNS:www.example.com,DNS:example.com,IP:192.0.2.7,email:ops@example.com",
                           "-outform", "DER", "-out", csr});
      out.push_back({name, read_file(csr)});
    }
    return out;
  }();
  return all;
}

// OpenSSL's own parse, the reference.
ossl::X509ReqPtr reference(ByteView der) {
  const unsigned char* p = der.data();
  ossl::X509ReqPtr req{d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()))};
  if (req && p != der.data() + der.size()) req.reset();
  ERR_clear_error();
  return req;
}

bool reference_verifies(X509_REQ* req) {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  const bool ok = key != nullptr && X509_REQ_verify(req, key) == 1;
  ERR_clear_error();
  return ok;
}

Bytes extensions_der(X509_REQ* req) {
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  Bytes out;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    unsigned char* der = nullptr;
    const int len = i2d_X509_EXTENSION(sk_X509_EXTENSION_value(exts, i), &der);
    if (len > 0) out.insert(out.end(), der, der + len);
    OPENSSL_free(der);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

TEST(RequestParse, MatchesOpensslOnRequestsMadeByTheOpensslCli) {
  for (const Sample& sample : samples()) {
    SCOPED_TRACE(sample.name);
    const auto ours = CertificateRequest::try_from_der(sample.der);
    const ossl::X509ReqPtr theirs = reference(sample.der);
    ASSERT_TRUE(ours.has_value());
    ASSERT_TRUE(theirs);
    EXPECT_EQ(ours->der(), sample.der);
    EXPECT_EQ(ours->subject(), "CN=www.example.com,O=Example Ltd");
    EXPECT_EQ(X509_NAME_cmp(X509_REQ_get_subject_name(ours->x509_req()), X509_REQ_get_subject_name(theirs.get())), 0);
    ASSERT_NE(ours->public_key(), nullptr);
    EXPECT_TRUE(same_public_key(ours->public_key(), X509_REQ_get0_pubkey(theirs.get())));
    EXPECT_EQ(EVP_PKEY_get_bits(ours->public_key()), EVP_PKEY_get_bits(X509_REQ_get0_pubkey(theirs.get())));
    EXPECT_FALSE(extensions_der(theirs.get()).empty());
    EXPECT_EQ(extensions_der(ours->x509_req()), extensions_der(theirs.get()));
    EXPECT_TRUE(ours->signature_valid());
    // The PEM is the bytes received, which the openssl CLI reads back as the same request.
    const test::TempDir dir;
    {
      std::ofstream pem(dir.path() / "r.pem");
      pem << to_pem(*ours);
    }
    (void)test::openssl({"req", "-in", (dir.path() / "r.pem").string(), "-outform", "DER", "-out",
                         (dir.path() / "r.der").string()});
    EXPECT_EQ(read_file(dir.path() / "r.der"), sample.der);
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
}

TEST(RequestParse, TheCommonKeyTypesTakeTheCachedDecoderPath) {
  // The fast path leaves the OpenSSL object's embedded key unset (it decodes the key itself);
  // d2i_X509_REQ sets it. This is what keeps issuance from building a key decoder per request.
  for (const Sample& sample : samples()) {
    if (sample.name == "rsa-pss-2048") continue;  // may take either path: the results are the same
    SCOPED_TRACE(sample.name);
    const auto ours = CertificateRequest::try_from_der(sample.der);
    ASSERT_TRUE(ours.has_value());
    EXPECT_EQ(X509_REQ_get0_pubkey(ours->x509_req()), nullptr);
    ERR_clear_error();
    EXPECT_NE(ours->public_key(), nullptr);
  }
}

// Where the signatureAlgorithm field lies: [start, end). It is outside the signed bytes.
std::pair<std::size_t, std::size_t> signature_algorithm_span(const Bytes& der) {
  const unsigned char* p = der.data();
  long length = 0;
  int tag = 0;
  int cls = 0;
  (void)ASN1_get_object(&p, &length, &tag, &cls, static_cast<long>(der.size()));  // the outer SEQUENCE
  const unsigned char* info = p;
  (void)ASN1_get_object(&p, &length, &tag, &cls, static_cast<long>(der.size()));
  const unsigned char* algorithm = p + length;
  p = algorithm;
  (void)ASN1_get_object(&p, &length, &tag, &cls, static_cast<long>(der.data() + der.size() - algorithm));
  EXPECT_GT(info, der.data());
  return {static_cast<std::size_t>(algorithm - der.data()), static_cast<std::size_t>(p + length - der.data())};
}

TEST(RequestParse, EveryCorruptionGetsOpensslsAnswer) {
  // Each byte XORed with three masks: the request must parse exactly when d2i_X509_REQ parses it,
  // and its signature must verify exactly when OpenSSL's does. A change to the signed part or to
  // the signature must fail it; the signatureAlgorithm field is not signed, and OpenSSL tolerates
  // some changes there (RSA-PSS parameters), so there only the agreement is required.
  for (const Sample& sample : samples()) {
    SCOPED_TRACE(sample.name);
    const auto [unsigned_from, unsigned_to] = signature_algorithm_span(sample.der);
    int parsed = 0;
    for (std::size_t i = 0; i < sample.der.size(); ++i) {
      for (const int mask : {0x01, 0x80, 0xff}) {
        Bytes der = sample.der;
        der[i] = static_cast<std::uint8_t>(der[i] ^ mask);
        const auto ours = CertificateRequest::try_from_der(der);
        const ossl::X509ReqPtr theirs = reference(der);
        ASSERT_EQ(ours.has_value(), theirs != nullptr) << "byte " << i << " ^ " << mask;
        if (!ours) continue;
        ++parsed;
        ASSERT_EQ(ours->signature_valid(), reference_verifies(theirs.get())) << "byte " << i << " ^ " << mask;
        if (i < unsigned_from || i >= unsigned_to) {
          EXPECT_FALSE(ours->signature_valid()) << "byte " << i << " ^ " << mask;
        }
      }
    }
    EXPECT_GT(parsed, 0) << "some corruptions keep the structure, so the signature check was exercised";
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(RequestParse, TruncationsAreRejected) {
  for (const Sample& sample : samples()) {
    for (std::size_t n = 0; n < sample.der.size(); ++n) {
      EXPECT_FALSE(CertificateRequest::try_from_der(ByteView(sample.der.data(), n)).has_value())
          << sample.name << " cut to " << n << " bytes";
    }
  }
}

TEST(RequestParse, BerThatOpensslAcceptsStillParsesAndVerifies) {
  // An indefinite-length outer SEQUENCE (BER, not DER): not the fast path's, so d2i_X509_REQ
  // parses it, and the signature (over the unchanged certificationRequestInfo) still verifies.
  const Bytes& der = samples().front().der;
  ASSERT_EQ(der[0], 0x30);
  const std::size_t header = (der[1] & 0x80) != 0 ? 2 + (der[1] & 0x7f) : 2;
  Bytes ber = {0x30, 0x80};
  ber.insert(ber.end(), der.begin() + static_cast<std::ptrdiff_t>(header), der.end());
  ber.push_back(0x00);
  ber.push_back(0x00);
  ASSERT_TRUE(reference(ber));
  const auto ours = CertificateRequest::try_from_der(ber);
  ASSERT_TRUE(ours.has_value());
  EXPECT_TRUE(ours->signature_valid());
  EXPECT_EQ(ours->der(), ber);
}

// A request signed with MD5 or SHA-1 is a well-formed request whose signature verifies: the parser
// says so, as OpenSSL does. Refusing it is policy's decision ("csr-weak-signature"), made on the
// signature algorithm that the parser hands over unchanged.
TEST(RequestParse, RequestsSignedWithMd5OrSha1ParseAndVerifyLikeOpenssl) {
  const test::TempDir dir;
  const std::string key = (dir.path() / "rsa.key").string();
  (void)test::openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key});
  for (const auto& [digest, algorithm] : {std::pair<std::string, int>{"-md5", NID_md5WithRSAEncryption},
                                          std::pair<std::string, int>{"-sha1", NID_sha1WithRSAEncryption}}) {
    SCOPED_TRACE(digest);
    const std::string csr = (dir.path() / ("r" + digest + ".der")).string();
    (void)test::openssl({"req", "-new", "-key", key, digest, "-subj", "/CN=www.example.com", "-outform", "DER",
                         "-out", csr});
    const Bytes der = read_file(csr);
    const auto ours = CertificateRequest::try_from_der(der);
    const ossl::X509ReqPtr theirs = reference(der);
    ASSERT_TRUE(ours.has_value());
    ASSERT_TRUE(theirs);
    EXPECT_EQ(ours->signature_valid(), reference_verifies(theirs.get()));
    EXPECT_TRUE(ours->signature_valid());
    EXPECT_EQ(X509_REQ_get_signature_nid(ours->x509_req()), algorithm);
  }
}

}  // namespace
}  // namespace signet::crypto
