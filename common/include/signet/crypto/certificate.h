// X.509 certificates and PKCS#10 requests as immutable values, and a small builder for
// self-signed certificates and requests.
//
// Certificate and CertificateRequest share their parsed OpenSSL object (copies are cheap and
// read-only). from_der() throws Error(Malformed); try_from_der() returns std::nullopt.
//
// Thread-safety: values are immutable after construction and safe to share between threads.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/handles.h"

namespace signet::crypto {

using TimePoint = std::chrono::system_clock::time_point;

class Certificate {
 public:
  [[nodiscard]] static Certificate from_der(ByteView der);
  [[nodiscard]] static std::optional<Certificate> try_from_der(ByteView der);
  [[nodiscard]] static Certificate from_x509(const X509* cert);
  // Takes `cert` (just built and signed) as it is: encodes it once and keeps the object, without
  // the parse from_x509 does (OpenSSL 3.0 builds a key decoder for every parse, ~100 us).
  // Throws Error(Crypto) when it does not encode.
  [[nodiscard]] static Certificate adopt(ossl::X509Ptr cert);

  [[nodiscard]] const Bytes& der() const noexcept { return der_; }
  [[nodiscard]] X509* x509() const noexcept { return x509_.get(); }
  // The subject and issuer in RFC 2253 form ("CN=Example CA,O=Example").
  [[nodiscard]] std::string subject() const;
  [[nodiscard]] std::string issuer() const;
  [[nodiscard]] std::string serial_hex() const;
  [[nodiscard]] TimePoint not_before() const;
  [[nodiscard]] TimePoint not_after() const;
  // The certificate's public key (owned by the certificate). For an adopted certificate it is
  // decoded from the DER on first use (once, thread-safe), since a freshly built one has only the
  // encoded key.
  [[nodiscard]] EVP_PKEY* public_key() const;
  // basicConstraints present, critical or not, with cA TRUE.
  [[nodiscard]] bool is_ca() const;
  // keyUsage present and asserting keyCertSign.
  [[nodiscard]] bool has_key_cert_sign() const;
  [[nodiscard]] bool self_issued() const;
  // True when `issuer`'s subject is this certificate's issuer, `issuer` may sign certificates (its
  // keyUsage, when present, includes keyCertSign) and its key verifies our signature.
  [[nodiscard]] bool issued_by(const Certificate& issuer) const;
  // SHA-256 over the DER.
  [[nodiscard]] Bytes sha256_fingerprint() const;

 private:
  struct LazyKey;  // the decoded key of an adopted certificate
  Certificate(std::shared_ptr<X509> x509, Bytes der, std::shared_ptr<LazyKey> lazy = nullptr)
      : x509_(std::move(x509)), der_(std::move(der)), lazy_key_(std::move(lazy)) {}
  std::shared_ptr<X509> x509_;
  Bytes der_;
  std::shared_ptr<LazyKey> lazy_key_;
};

class CertificateRequest {
 public:
  // Parses a DER PKCS#10 request. The public key is decoded with a cached decoder (OpenSSL 3.0's
  // d2i_X509_REQ builds a fresh key decoder for each request, which is most of the cost of a
  // parse); a request that this path does not take is parsed by d2i_X509_REQ, with the same result.
  [[nodiscard]] static CertificateRequest from_der(ByteView der);
  [[nodiscard]] static std::optional<CertificateRequest> try_from_der(ByteView der);
  // Takes a request already parsed (from PEM, say) without parsing it again; keeps its DER.
  // Throws Error(Malformed) when it does not encode.
  [[nodiscard]] static CertificateRequest adopt(ossl::X509ReqPtr req);

  [[nodiscard]] const Bytes& der() const noexcept { return der_; }
  // The request's fields, for reading (subject, attributes, algorithms). Its embedded public key
  // may be absent: use public_key().
  [[nodiscard]] X509_REQ* x509_req() const noexcept { return req_.get(); }
  [[nodiscard]] std::string subject() const;
  [[nodiscard]] EVP_PKEY* public_key() const;
  // True when the request's self-signature verifies with its own public key, over the
  // certificationRequestInfo exactly as received.
  [[nodiscard]] bool signature_valid() const;

 private:
  [[nodiscard]] static std::optional<CertificateRequest> try_fast(ByteView der);
  CertificateRequest(std::shared_ptr<X509_REQ> req, Bytes der)
      : req_(std::move(req)), der_(std::move(der)) {}
  std::shared_ptr<X509_REQ> req_;
  Bytes der_;
  // Set when parsed by the fast path: the key, and where certificationRequestInfo lies in der_.
  std::shared_ptr<EVP_PKEY> key_;
  std::size_t info_offset_ = 0;
  std::size_t info_length_ = 0;
};

// What a self-signed certificate should say. Used by setup to make a root CA certificate and by
// tests to make certificates with particular defects.
// A subject distinguished name as (attribute, value) pairs in order, e.g. {{"C", "DE"}, {"O",
// "Example"}, {"CN", "Example Root CA"}}. Values are UTF-8.
using NameEntries = std::vector<std::pair<std::string, std::string>>;

struct SelfSignedSpec {
  std::string common_name;
  NameEntries subject;         // when not empty, used instead of CN=common_name
  std::optional<int> path_length;  // basicConstraints pathLenConstraint of a CA
  std::chrono::seconds validity = std::chrono::hours(24 * 365);
  TimePoint not_before = std::chrono::system_clock::now();
  bool ca = true;              // basicConstraints cA
  bool key_cert_sign = true;   // keyUsage keyCertSign (with cRLSign) when ca
};

// Signs a certificate for `key` with `key` itself. Throws Error(Crypto).
[[nodiscard]] Certificate make_self_signed(const EVP_PKEY* key, const SelfSignedSpec& spec);
// A PKCS#10 request for `key` with subject CN=common_name. Throws Error(Crypto).
[[nodiscard]] CertificateRequest make_request(const EVP_PKEY* key, const std::string& common_name);
// A PKCS#10 request with a full subject. Throws Error(Crypto), Error(Malformed) for a bad name.
[[nodiscard]] CertificateRequest make_request(const EVP_PKEY* key, const NameEntries& subject);

// A TLS server certificate signed by a CA.
struct ServerCertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::chrono::seconds validity = std::chrono::hours(24 * 397);
  TimePoint not_before = std::chrono::system_clock::now();
};
// Issues a certificate for `subject_key` signed with `ca_key` under `ca_cert`: random positive
// 128-bit serial, SKI/AKI, basicConstraints CA:FALSE, keyUsage digitalSignature (and
// keyEncipherment for RSA), EKU serverAuth, the SANs. Never past the CA certificate's notAfter.
[[nodiscard]] Certificate issue_server_certificate(const EVP_PKEY* ca_key, const Certificate& ca_cert,
                                                   const EVP_PKEY* subject_key,
                                                   const ServerCertificateSpec& spec);

// PEM armour ("-----BEGIN CERTIFICATE-----" ...).
[[nodiscard]] std::string to_pem(const Certificate& cert);
[[nodiscard]] std::string to_pem(const CertificateRequest& req);

}  // namespace signet::crypto
