// parse_ocsp_request, CaSigner::sign_ocsp_response and ocsp_error_response. Requests come from the
// real `openssl ocsp` client and responses go back to it, which checks the signature, the nonce
// and the status the way relying parties do.
#include "signet/issuance/signer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
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
    spec.subject = {{"O", "Signet Tests"}, {"CN", "OCSP Test CA " + std::string(to_string(algorithm))}};
    spec.not_before = now() - 1h;
    Certificate cert = crypto::make_self_signed(key.get(), spec);
    signer = std::make_unique<CaSigner>(std::move(key), std::move(cert), std::vector<Certificate>{},
                                        PublicUrls{"http://127.0.0.1:8080"});
  }
  return *signer;
}

Certificate issue_leaf(const CaSigner& signer, const std::string& name = "leaf.example.test") {
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

std::string_view as_text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

template <typename T, int (*I2d)(const T*, unsigned char**)>
Bytes der_of(const T* value) {
  const int size = I2d(value, nullptr);
  Bytes der(static_cast<std::size_t>(size));
  unsigned char* out = der.data();
  EXPECT_EQ(I2d(value, &out), size);
  return der;
}

Bytes certid_der(const OCSP_CERTID* id) { return der_of<OCSP_CERTID, i2d_OCSP_CERTID>(id); }
Bytes response_der(const OCSP_RESPONSE* r) { return der_of<OCSP_RESPONSE, i2d_OCSP_RESPONSE>(r); }

Bytes octets(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return Bytes(ASN1_STRING_get0_data(s), ASN1_STRING_get0_data(s) + ASN1_STRING_length(s));
}

// The answer for every item of `request`.
OcspContent answer(const OcspRequest& request, OcspCertStatus status,
                   RevocationReason reason = RevocationReason::Unspecified) {
  OcspContent content;
  content.produced_at = now();
  content.nonce = request.nonce;
  for (const auto& item : request.items) {
    OcspSingle single;
    single.cert_id_der = item.cert_id_der;
    single.status = status;
    single.revoked_at = now() - 10min;
    single.reason = reason;
    single.this_update = now() - 1min;
    single.next_update = now() + 1h;
    content.responses.push_back(single);
  }
  return content;
}

// ca.pem and leaf PEMs in a directory, and the `openssl ocsp` client run over them.
struct OcspClient {
  test::TempDir dir;
  explicit OcspClient(const CaSigner& signer, const std::map<std::string, Certificate>& certs) {
    test::write_text(dir / "ca.pem", crypto::to_pem(signer.ca_certificate()));
    for (const auto& [name, cert] : certs) test::write_text(dir / name, crypto::to_pem(cert));
  }
  [[nodiscard]] std::string path(const std::string& name) const { return (dir / name).string(); }

  // `openssl ocsp -reqout`, with extra options such as -no_nonce or -sha256; returns the DER.
  Bytes request(const std::vector<std::string>& certs, const std::vector<std::string>& options = {}) const {
    // Options first: openssl wants a digest option before the -cert it applies to.
    std::vector<std::string> args{"ocsp"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"-issuer", path("ca.pem"), "-reqout", path("req.der")});
    for (const auto& c : certs) args.insert(args.end(), {"-cert", path(c)});
    test::openssl(args);
    return to_bytes(test::read_text(dir / "req.der"));
  }
  // Checks resp.der against req.der (signature and nonce) and prints the response.
  [[nodiscard]] test::ProcessResult check_against_request(const Bytes& response) const {
    test::write_text(dir / "resp.der", as_text(response));
    return test::run_process({"openssl", "ocsp", "-respin", path("resp.der"), "-reqin", path("req.der"),
                              "-VAfile", path("ca.pem"), "-resp_text"});
  }
  // Checks resp.der's signature and prints the status of each certificate, as a client would.
  [[nodiscard]] test::ProcessResult status_of(const Bytes& response, const std::vector<std::string>& certs,
                                              const std::vector<std::string>& options = {}) const {
    test::write_text(dir / "resp.der", as_text(response));
    std::vector<std::string> argv{"openssl", "ocsp"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"-respin", path("resp.der"), "-issuer", path("ca.pem"), "-VAfile", path("ca.pem"), "-no_nonce"});
    for (const auto& c : certs) argv.insert(argv.end(), {"-cert", path(c)});
    return test::run_process(argv);
  }
};

// ---- round trips with the openssl CLI ---------------------------------------------------------

TEST(OcspRoundTrip, GoodWithNonceVerifiesInOpenssl) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer);
  const OcspClient client(signer, {{"leaf.pem", leaf}});

  const OcspRequest request = parse_ocsp_request(client.request({"leaf.pem"}));
  ASSERT_EQ(request.items.size(), 1u);
  const OcspRequestItem& item = request.items[0];
  EXPECT_EQ(item.hash_algorithm, "sha1");
  EXPECT_EQ(item.issuer_name_hash, signer.issuer_name_sha1());
  EXPECT_EQ(item.issuer_key_hash, signer.issuer_key_sha1());
  EXPECT_EQ(item.serial.hex(), leaf.serial_hex());
  ASSERT_TRUE(request.nonce.has_value());
  EXPECT_EQ(request.nonce->size(), 16u);  // openssl's default nonce

  const Bytes response = signer.sign_ocsp_response(answer(request, OcspCertStatus::Good));
  const test::ProcessResult checked = client.check_against_request(response);
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_THAT(checked.err, HasSubstr("Response verify OK"));
  EXPECT_THAT(checked.err, Not(HasSubstr("nonce")));  // neither "no nonce" nor "Nonce Verify error"
  EXPECT_THAT(checked.err, Not(HasSubstr("Nonce")));
  EXPECT_THAT(checked.out, HasSubstr("Cert Status: good"));
  EXPECT_THAT(checked.out, HasSubstr("OCSP Nonce"));
  std::string key_id = to_hex(signer.issuer_key_sha1());
  std::transform(key_id.begin(), key_id.end(), key_id.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  EXPECT_THAT(checked.out, HasSubstr("Responder Id: " + key_id));

  const test::ProcessResult status = client.status_of(response, {"leaf.pem"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.err, HasSubstr("Response verify OK"));
  EXPECT_THAT(status.out, HasSubstr("leaf.pem: good"));
  EXPECT_THAT(status.out, Not(HasSubstr("WARNING")));
}

TEST(OcspRoundTrip, RevokedWithReasonAndTime) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer);
  const OcspClient client(signer, {{"leaf.pem", leaf}});
  const OcspRequest request = parse_ocsp_request(client.request({"leaf.pem"}));
  const Bytes response = signer.sign_ocsp_response(answer(request, OcspCertStatus::Revoked, RevocationReason::KeyCompromise));

  const test::ProcessResult checked = client.check_against_request(response);
  EXPECT_THAT(checked.err, HasSubstr("Response verify OK"));
  EXPECT_THAT(checked.err, Not(HasSubstr("nonce")));
  const test::ProcessResult status = client.status_of(response, {"leaf.pem"});
  EXPECT_THAT(status.err, HasSubstr("Response verify OK"));
  EXPECT_THAT(status.out, HasSubstr("leaf.pem: revoked"));
  EXPECT_THAT(status.out, HasSubstr("Reason: keyCompromise"));
  EXPECT_THAT(status.out, HasSubstr("Revocation Time:"));
}

TEST(OcspRoundTrip, RevokedForAnUnspecifiedReasonStatesNoReason) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer);
  const OcspClient client(signer, {{"leaf.pem", leaf}});
  const OcspRequest request = parse_ocsp_request(client.request({"leaf.pem"}));
  const Bytes response = signer.sign_ocsp_response(answer(request, OcspCertStatus::Revoked));
  const test::ProcessResult status = client.status_of(response, {"leaf.pem"});
  EXPECT_THAT(status.err, HasSubstr("Response verify OK"));
  EXPECT_THAT(status.out, HasSubstr("leaf.pem: revoked"));
  EXPECT_THAT(status.out, Not(HasSubstr("Reason:")));
}

TEST(OcspRoundTrip, UnknownWithoutNonce) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer);
  const OcspClient client(signer, {{"leaf.pem", leaf}});
  const OcspRequest request = parse_ocsp_request(client.request({"leaf.pem"}, {"-no_nonce"}));
  EXPECT_FALSE(request.nonce.has_value());
  const Bytes response = signer.sign_ocsp_response(answer(request, OcspCertStatus::Unknown));

  const test::ProcessResult checked = client.check_against_request(response);
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_THAT(checked.err, HasSubstr("Response verify OK"));
  EXPECT_THAT(checked.err, Not(HasSubstr("nonce")));
  EXPECT_THAT(checked.out, Not(HasSubstr("OCSP Nonce")));
  EXPECT_THAT(client.status_of(response, {"leaf.pem"}).out, HasSubstr("leaf.pem: unknown"));
}

TEST(OcspRoundTrip, OpensslNoticesAMissingOrWrongNonce) {
  // The nonce checks above only mean something if openssl really compares.
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer);
  const OcspClient client(signer, {{"leaf.pem", leaf}});
  const OcspRequest request = parse_ocsp_request(client.request({"leaf.pem"}));
  OcspContent content = answer(request, OcspCertStatus::Good);
  content.nonce.reset();
  EXPECT_THAT(client.check_against_request(signer.sign_ocsp_response(content)).err,
              HasSubstr("WARNING: no nonce in response"));
  content.nonce = Bytes(16, 0x42);
  const test::ProcessResult wrong = client.check_against_request(signer.sign_ocsp_response(content));
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.err, HasSubstr("Nonce Verify error"));
}

TEST(OcspRoundTrip, Sha256CertIdIsAcceptedAndEchoed) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer);
  const OcspClient client(signer, {{"leaf.pem", leaf}});
  const OcspRequest request = parse_ocsp_request(client.request({"leaf.pem"}, {"-sha256"}));
  ASSERT_EQ(request.items.size(), 1u);
  EXPECT_EQ(request.items[0].hash_algorithm, "sha256");
  EXPECT_EQ(request.items[0].issuer_name_hash, signer.issuer_name_sha256());
  EXPECT_EQ(request.items[0].issuer_key_hash, signer.issuer_key_sha256());
  const Bytes response = signer.sign_ocsp_response(answer(request, OcspCertStatus::Good));
  EXPECT_THAT(client.check_against_request(response).err, HasSubstr("Response verify OK"));
  const test::ProcessResult status = client.status_of(response, {"leaf.pem"}, {"-sha256"});
  EXPECT_THAT(status.out, HasSubstr("leaf.pem: good"));
}

TEST(OcspRoundTrip, SeveralCertificatesInOneRequest) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate a = issue_leaf(signer, "a.example.test");
  const Certificate b = issue_leaf(signer, "b.example.test");
  const OcspClient client(signer, {{"a.pem", a}, {"b.pem", b}});
  const OcspRequest request = parse_ocsp_request(client.request({"a.pem", "b.pem"}));
  ASSERT_EQ(request.items.size(), 2u);
  EXPECT_EQ(request.items[0].serial.hex(), a.serial_hex());
  EXPECT_EQ(request.items[1].serial.hex(), b.serial_hex());
  OcspContent content = answer(request, OcspCertStatus::Good);
  content.responses[1].status = OcspCertStatus::Revoked;
  content.responses[1].reason = RevocationReason::Superseded;
  const Bytes response = signer.sign_ocsp_response(content);
  EXPECT_THAT(client.check_against_request(response).err, HasSubstr("Response verify OK"));
  const test::ProcessResult status = client.status_of(response, {"a.pem", "b.pem"});
  EXPECT_THAT(status.out, HasSubstr("a.pem: good"));
  EXPECT_THAT(status.out, HasSubstr("b.pem: revoked"));
  EXPECT_THAT(status.out, HasSubstr("Reason: superseded"));
}

class OcspRoundTripCaKey : public ::testing::TestWithParam<std::pair<KeyAlgorithm, int>> {};

TEST_P(OcspRoundTripCaKey, OpensslVerifiesTheResponse) {
  const CaSigner& signer = signer_for(GetParam().first);
  const Certificate leaf = issue_leaf(signer);
  const OcspClient client(signer, {{"leaf.pem", leaf}});
  const OcspRequest request = parse_ocsp_request(client.request({"leaf.pem"}));
  const Bytes response = signer.sign_ocsp_response(answer(request, OcspCertStatus::Good));

  const unsigned char* p = response.data();
  const ossl::OcspResponsePtr parsed{d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(response.size()))};
  ASSERT_TRUE(parsed);
  const ossl::OcspBasicRespPtr basic{OCSP_response_get1_basic(parsed.get())};
  ASSERT_TRUE(basic);
  EXPECT_EQ(OBJ_obj2nid(OCSP_resp_get0_tbs_sigalg(basic.get())->algorithm), GetParam().second);

  const test::ProcessResult checked = client.check_against_request(response);
  EXPECT_THAT(checked.err, HasSubstr("Response verify OK"));
  EXPECT_THAT(checked.err, Not(HasSubstr("nonce")));
  EXPECT_THAT(client.status_of(response, {"leaf.pem"}).out, HasSubstr("leaf.pem: good"));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, OcspRoundTripCaKey,
                         ::testing::Values(std::pair{KeyAlgorithm::EcP256, NID_ecdsa_with_SHA256},
                                           std::pair{KeyAlgorithm::EcP384, NID_ecdsa_with_SHA384},
                                           std::pair{KeyAlgorithm::Rsa2048, NID_sha256WithRSAEncryption},
                                           std::pair{KeyAlgorithm::Ed25519, NID_ED25519}),
                         [](const auto& param_info) {
                           std::string name(to_string(param_info.param.first));
                           std::erase(name, '-');
                           return name;
                         });

// ---- the response's structure -----------------------------------------------------------------

TEST(OcspResponse, ResponderIdByKeyNoCertificatesAndTheGivenTimes) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer);
  const ossl::OcspCertIdPtr id{OCSP_cert_to_id(EVP_sha1(), leaf.x509(), signer.ca_certificate().x509())};
  OcspContent content;
  content.produced_at = at(1893456000);
  OcspSingle single;
  single.cert_id_der = certid_der(id.get());
  single.status = OcspCertStatus::Revoked;
  single.revoked_at = at(1893400000);
  single.reason = RevocationReason::AffiliationChanged;
  single.this_update = at(1893450000);
  content.responses = {single};  // next_update left unset: omitted
  content.nonce = Bytes{};       // an empty nonce is echoed as one, not replaced

  const Bytes der = signer.sign_ocsp_response(content);
  const unsigned char* p = der.data();
  const ossl::OcspResponsePtr response{d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()))};
  ASSERT_TRUE(response);
  EXPECT_EQ(OCSP_response_status(response.get()), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  const ossl::OcspBasicRespPtr basic{OCSP_response_get1_basic(response.get())};
  ASSERT_TRUE(basic);

  const ASN1_OCTET_STRING* key_id = nullptr;
  const X509_NAME* name = nullptr;
  ASSERT_EQ(OCSP_resp_get0_id(basic.get(), &key_id, &name), 1);
  EXPECT_EQ(name, nullptr);
  EXPECT_EQ(octets(key_id), signer.issuer_key_sha1());
  EXPECT_EQ(OCSP_resp_get0_certs(basic.get()), nullptr);  // the optional certs field is absent
  EXPECT_EQ(ASN1_TIME_cmp_time_t(OCSP_resp_get0_produced_at(basic.get()), 1893456000), 0);

  ASSERT_EQ(OCSP_resp_count(basic.get()), 1);
  OCSP_SINGLERESP* answer_one = OCSP_resp_get0(basic.get(), 0);
  EXPECT_EQ(certid_der(OCSP_SINGLERESP_get0_id(answer_one)), single.cert_id_der);
  int reason = -2;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  EXPECT_EQ(OCSP_single_get0_status(answer_one, &reason, &revoked_at, &this_update, &next_update),
            V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(reason, 3);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(revoked_at, 1893400000), 0);
  EXPECT_EQ(ASN1_STRING_type(this_update), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(this_update, 1893450000), 0);
  EXPECT_EQ(next_update, nullptr);

  const int nonce_index = OCSP_BASICRESP_get_ext_by_NID(basic.get(), NID_id_pkix_OCSP_Nonce, -1);
  ASSERT_GE(nonce_index, 0);
  EXPECT_EQ(octets(X509_EXTENSION_get_data(OCSP_BASICRESP_get_ext(basic.get(), nonce_index))), (Bytes{0x04, 0x00}));
}

TEST(OcspResponse, RefusesNoAnswerAndAnUnparsableCertId) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  OcspContent content;
  content.produced_at = now();
  EXPECT_EQ(capture_error([&] { static_cast<void>(signer.sign_ocsp_response(content)); }).code(), "ocsp-response-empty");
  OcspSingle single;
  single.cert_id_der = {0x30, 0x03, 0x02, 0x01, 0x01};
  single.this_update = now();
  content.responses = {single};
  const Error e = capture_error([&] { static_cast<void>(signer.sign_ocsp_response(content)); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "ocsp-certid-malformed");
}

TEST(OcspResponse, TwoThreadsSignAtOnce) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  const Certificate leaf = issue_leaf(signer);
  const ossl::OcspCertIdPtr id{OCSP_cert_to_id(EVP_sha1(), leaf.x509(), signer.ca_certificate().x509())};
  OcspRequest request;
  request.items.push_back(OcspRequestItem{certid_der(id.get()), "sha1", {}, {}, {}});
  request.nonce = Bytes(16, 0x01);
  const OcspContent content = answer(request, OcspCertStatus::Good);
  std::vector<std::vector<Bytes>> signed_by_thread(2);
  std::vector<std::thread> threads;
  for (auto& out : signed_by_thread) {
    threads.emplace_back([&signer, &content, &out] {
      for (int i = 0; i < 100; ++i) out.push_back(signer.sign_ocsp_response(content));
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& list : signed_by_thread) {
    ASSERT_EQ(list.size(), 100u);
    for (const Bytes& der : list) {
      const unsigned char* p = der.data();
      const ossl::OcspResponsePtr response{d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()))};
      ASSERT_TRUE(response);
      const ossl::OcspBasicRespPtr basic{OCSP_response_get1_basic(response.get())};
      ASSERT_TRUE(basic);
      ASSERT_EQ(OCSP_resp_count(basic.get()), 1);
    }
  }
  // And one of them, chosen at random by scheduling, verifies in openssl like any other.
  const OcspClient client(signer, {{"leaf.pem", leaf}});
  EXPECT_THAT(client.status_of(signed_by_thread[1].back(), {"leaf.pem"}).err, HasSubstr("Response verify OK"));
}

// ---- malformed requests -----------------------------------------------------------------------

// A request built with the OpenSSL API, for shapes the CLI will not make.
struct RequestBuilder {
  ossl::OcspRequestPtr req{OCSP_REQUEST_new()};

  void add(ossl::OcspCertIdPtr id) {
    ASSERT_NE(OCSP_request_add0_id(req.get(), id.get()), nullptr);
    static_cast<void>(id.release());
  }
  void add_for(const CaSigner& signer, const EVP_MD* md = EVP_sha1()) {
    add(ossl::OcspCertIdPtr{OCSP_cert_to_id(md, issue_leaf(signer).x509(), signer.ca_certificate().x509())});
  }
  // A CertID with the CA's hashes and the given serial.
  void add_serial(const CaSigner& signer, long serial) {
    ossl::Asn1IntegerPtr number{ASN1_INTEGER_new()};
    ASN1_INTEGER_set(number.get(), serial);
    add(ossl::OcspCertIdPtr{OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(signer.ca_certificate().x509()),
                                             X509_get0_pubkey_bitstr(signer.ca_certificate().x509()), number.get())});
  }
  void add_nonce(std::size_t size) {
    if (size == 0) {  // OCSP_request_add1_nonce would make a 16-byte one
      ossl::Asn1OctetStringPtr value{ASN1_OCTET_STRING_new()};
      const unsigned char empty_octet_string[] = {0x04, 0x00};
      ASSERT_EQ(ASN1_OCTET_STRING_set(value.get(), empty_octet_string, 2), 1);
      ossl::X509ExtensionPtr ext{X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_Nonce, 0, value.get())};
      ASSERT_EQ(OCSP_REQUEST_add_ext(req.get(), ext.get(), -1), 1);
      return;
    }
    Bytes nonce(size, 0x5a);
    ASSERT_EQ(OCSP_request_add1_nonce(req.get(), nonce.data(), static_cast<int>(nonce.size())), 1);
  }
  [[nodiscard]] Bytes der() const { return der_of<OCSP_REQUEST, i2d_OCSP_REQUEST>(req.get()); }
};

void expect_malformed(const Bytes& der, const std::string& why) {
  const Error e = capture_error([&] { static_cast<void>(parse_ocsp_request(der)); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed) << why;
  EXPECT_EQ(e.code(), "ocsp-request-malformed") << why;
  EXPECT_THAT(e.what(), HasSubstr(why));
}

TEST(ParseOcspRequest, RefusesGarbageAndTrailingBytes) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  expect_malformed({}, "not a DER-encoded OCSPRequest");
  expect_malformed(to_bytes("GET /ocsp HTTP/1.1\r\n"), "not a DER-encoded OCSPRequest");
  expect_malformed({0x30, 0x03, 0x02, 0x01, 0x01}, "not a DER-encoded OCSPRequest");

  RequestBuilder b;
  b.add_for(signer);
  Bytes der = b.der();
  EXPECT_NO_THROW(static_cast<void>(parse_ocsp_request(der)));
  der.push_back(0x00);
  expect_malformed(der, "bytes follow the request");
  der.pop_back();
  der.pop_back();
  expect_malformed(der, "not a DER-encoded OCSPRequest");
}

TEST(ParseOcspRequest, RefusesNoItemsAndMoreThanSixteen) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  expect_malformed(RequestBuilder{}.der(), "asks about no certificate");
  RequestBuilder b;
  for (int i = 1; i <= 16; ++i) b.add_serial(signer, i);
  EXPECT_EQ(parse_ocsp_request(b.der()).items.size(), 16u);
  b.add_serial(signer, 17);
  expect_malformed(b.der(), "asks about 17 certificates");
}

TEST(ParseOcspRequest, RefusesHashesOtherThanSha1AndSha256) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  for (const EVP_MD* md : {EVP_sha384(), EVP_sha512(), EVP_md5()}) {
    RequestBuilder b;
    b.add_for(signer, md);
    expect_malformed(b.der(), "neither SHA-1 nor SHA-256");
  }
  // A SHA-1 CertID whose hash is 32 bytes long.
  RequestBuilder b;
  b.add_serial(signer, 5);
  ASN1_OCTET_STRING* name_hash = nullptr;
  ASSERT_EQ(OCSP_id_get0_info(&name_hash, nullptr, nullptr, nullptr,
                              OCSP_onereq_get0_id(OCSP_request_onereq_get0(b.req.get(), 0))), 1);
  const Bytes long_hash(32, 0x11);
  ASSERT_EQ(ASN1_OCTET_STRING_set(name_hash, long_hash.data(), 32), 1);
  expect_malformed(b.der(), "wrong length for sha1");
}

TEST(ParseOcspRequest, RefusesSerialsThatAreNotPositive) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  for (const long serial : {0L, -5L}) {
    RequestBuilder b;
    b.add_serial(signer, serial);
    expect_malformed(b.der(), "not a positive integer");
  }
  RequestBuilder b;
  b.add_serial(signer, 0x1234);
  EXPECT_EQ(parse_ocsp_request(b.der()).items.at(0).serial.hex(), "1234");
}

TEST(ParseOcspRequest, AcceptsNoncesOfOneTo32Bytes) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  for (const std::size_t size : {std::size_t{1}, std::size_t{16}, std::size_t{32}}) {
    RequestBuilder b;
    b.add_for(signer);
    b.add_nonce(size);
    EXPECT_EQ(parse_ocsp_request(b.der()).nonce, Bytes(size, 0x5a));
  }
  // RFC 8954: Nonce ::= OCTET STRING(SIZE(1..32)).
  for (const std::size_t size : {std::size_t{0}, std::size_t{33}, std::size_t{128}}) {
    RequestBuilder b;
    b.add_for(signer);
    b.add_nonce(size);
    expect_malformed(b.der(), "not 1 to 32 bytes long");
  }
}

TEST(ParseOcspRequest, RefusesCriticalExtensionsItDoesNotKnow) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  // A critical extension of the request (here: the CRL references of RFC 6960 4.4.2).
  const auto crl_ref = [] {
    ossl::Asn1OctetStringPtr value{ASN1_OCTET_STRING_new()};
    const unsigned char empty_sequence[] = {0x30, 0x00};
    EXPECT_EQ(ASN1_OCTET_STRING_set(value.get(), empty_sequence, 2), 1);
    return ossl::X509ExtensionPtr{X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_CrlID, 1, value.get())};
  };
  RequestBuilder whole;
  whole.add_for(signer);
  ASSERT_EQ(OCSP_REQUEST_add_ext(whole.req.get(), crl_ref().get(), -1), 1);
  expect_malformed(whole.der(), "the request has a critical extension this responder does not know (1.3.6.1.5.5.7.48.1.3)");
  // The same on one CertID.
  RequestBuilder one;
  one.add_for(signer);
  ASSERT_EQ(OCSP_ONEREQ_add_ext(OCSP_request_onereq_get0(one.req.get(), 0), crl_ref().get(), -1), 1);
  expect_malformed(one.der(), "a CertID has a critical extension");
  // Not critical, it is ignored (RFC 6960 4.4); a nonce marked critical is understood.
  RequestBuilder ignored;
  ignored.add_for(signer);
  ossl::X509ExtensionPtr plain = crl_ref();
  ASSERT_EQ(X509_EXTENSION_set_critical(plain.get(), 0), 1);
  ASSERT_EQ(OCSP_REQUEST_add_ext(ignored.req.get(), plain.get(), -1), 1);
  EXPECT_EQ(parse_ocsp_request(ignored.der()).items.size(), 1u);
  RequestBuilder critical_nonce;
  critical_nonce.add_for(signer);
  critical_nonce.add_nonce(16);
  ASSERT_EQ(X509_EXTENSION_set_critical(OCSP_REQUEST_get_ext(critical_nonce.req.get(), 0), 1), 1);
  EXPECT_EQ(parse_ocsp_request(critical_nonce.der()).nonce, Bytes(16, 0x5a));
}

TEST(ParseOcspRequest, RefusesANonceThatIsNotAnOctetString) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  RequestBuilder b;
  b.add_for(signer);
  // Some pre-RFC 8954 clients put the raw bytes in extnValue; echoing them back would not match.
  ossl::Asn1OctetStringPtr raw{ASN1_OCTET_STRING_new()};
  ASSERT_EQ(ASN1_OCTET_STRING_set(raw.get(), reinterpret_cast<const unsigned char*>("raw nonce"), 9), 1);
  ossl::X509ExtensionPtr ext{X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_Nonce, 0, raw.get())};
  ASSERT_EQ(OCSP_REQUEST_add_ext(b.req.get(), ext.get(), -1), 1);
  expect_malformed(b.der(), "nonce is not an OCTET STRING");
}

TEST(ParseOcspRequest, AcceptsASignedRequestAndIgnoresItsSignature) {
  const CaSigner& signer = signer_for(KeyAlgorithm::EcP256);
  RequestBuilder b;
  b.add_for(signer);
  const ossl::Pkey requester_key = crypto::generate_key(KeyAlgorithm::EcP256);
  crypto::SelfSignedSpec spec;
  spec.common_name = "Requester";
  spec.ca = false;
  const Certificate requester = crypto::make_self_signed(requester_key.get(), spec);
  ASSERT_EQ(OCSP_request_sign(b.req.get(), requester.x509(), requester_key.get(), EVP_sha256(), nullptr, 0), 1);
  ASSERT_EQ(OCSP_request_is_signed(b.req.get()), 1);
  EXPECT_EQ(parse_ocsp_request(b.der()).items.size(), 1u);
}

// ---- unsuccessful responses -------------------------------------------------------------------

TEST(OcspErrorResponse, ParsesWithItsStatusAndNoBody) {
  for (const int status : {1, 2, 3, 5, 6}) {
    const Bytes der = ocsp_error_response(status);
    const unsigned char* p = der.data();
    const ossl::OcspResponsePtr response{d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()))};
    ASSERT_TRUE(response) << status;
    EXPECT_EQ(p, der.data() + der.size());
    EXPECT_EQ(OCSP_response_status(response.get()), status);
    // Byte for byte what OpenSSL's own encoder makes.
    const ossl::OcspResponsePtr expected{OCSP_response_create(status, nullptr)};
    EXPECT_EQ(der, response_der(expected.get()));
  }
}

TEST(OcspErrorResponse, OpensslReadsMalformedRequest) {
  const test::TempDir dir;
  test::write_text(dir / "err.der", as_text(ocsp_error_response(1)));
  const test::ProcessResult r =
      test::run_process({"openssl", "ocsp", "-respin", (dir / "err.der").string(), "-resp_text"});
  EXPECT_THAT(r.out, HasSubstr("Responder Error: malformedrequest (1)"));
}

TEST(OcspErrorResponse, RefusesStatusesThatAreNotErrors) {
  for (const int status : {0, 4, 7, -1, 256}) {
    const Error e = capture_error([&] { static_cast<void>(ocsp_error_response(status)); });
    EXPECT_EQ(e.kind(), ErrorKind::Internal) << status;
    EXPECT_EQ(e.code(), "ocsp-status-invalid") << status;
  }
}

}  // namespace
}  // namespace signet::issuance
