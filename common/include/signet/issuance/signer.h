// CaSigner: the only code that uses the CA private key. It signs end-entity certificates, CRLs and
// OCSP responses for one CA certificate.
//
// Every certificate it signs carries: the serial given, the CA certificate's subject as issuer,
// SKI (SHA-1 of the subject public key, RFC 5280 4.2.1.2 method 1) and AKI (the CA's SKI, else
// computed from its key), basicConstraints CA:FALSE (critical), keyUsage (critical), EKU, SANs
// (critical when the subject is empty), a CRL distribution point and AIA (OCSP and caIssuers)
// from the public URLs, and freshestCRL when delta CRLs are published. The signature algorithm follows the CA key: ECDSA with SHA-256 for P-256,
// SHA-384 for P-384, RSA PKCS#1 v1.5 with SHA-256, Ed25519.
//
// Thread-safety: all methods are const and safe to call from many threads at once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/handles.h"
#include "signet/issuance/names.h"
#include "signet/issuance/profile.h"

namespace signet::issuance {

using TimePoint = std::chrono::system_clock::time_point;

// Where relying parties find the CA's public material (plain HTTP, from [public] base_url).
struct PublicUrls {
  std::string base;  // "http://127.0.0.1:8080", no trailing slash
  // Delta CRLs are published ([crl] delta): certificates and full CRLs then carry freshestCRL
  // (RFC 5280 4.2.1.15, 5.2.6) pointing at delta_crl(), so relying parties find the delta.
  bool publishes_delta = false;

  [[nodiscard]] std::string ca_certificate() const { return base + "/ca.crt"; }  // DER, caIssuers
  [[nodiscard]] std::string crl() const { return base + "/crl"; }                // DER full CRL
  [[nodiscard]] std::string delta_crl() const { return base + "/crl/delta"; }    // DER delta CRL
  [[nodiscard]] std::string ocsp() const { return base + "/ocsp"; }
};

// What the policy approved: everything the certificate will say.
struct CertificateTemplate {
  Serial serial;
  crypto::NameEntries subject;  // may be empty (then the SANs are critical)
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // textual, "192.0.2.1" or "2001:db8::1"
  std::vector<std::string> emails;
  TimePoint not_before;
  TimePoint not_after;
  KeyUsage key_usage;
  std::vector<std::string> extended_key_usages;  // names as in Profile
  ossl::Pkey public_key;                         // the subject's key (from the CSR)
};

struct RevokedEntry {
  Serial serial;
  TimePoint revoked_at;
  RevocationReason reason = RevocationReason::Unspecified;
};

struct CrlContent {
  std::int64_t number = 0;  // cRLNumber
  std::optional<std::int64_t> delta_base;  // set for a delta CRL: deltaCRLIndicator (base number)
  TimePoint this_update;
  TimePoint next_update;
  std::vector<RevokedEntry> revoked;  // reasonCode omitted for Unspecified (RFC 5280 5.3.1)
};

enum class OcspCertStatus { Good, Revoked, Unknown };

// One SingleResponse, answering one CertID of the request.
struct OcspSingle {
  Bytes cert_id_der;  // the CertID exactly as the request carried it (hash algorithm preserved)
  OcspCertStatus status = OcspCertStatus::Unknown;
  TimePoint revoked_at;  // for Revoked
  RevocationReason reason = RevocationReason::Unspecified;
  TimePoint this_update;
  TimePoint next_update;  // omitted when left at TimePoint{} ("newer information is always available")
};

struct OcspContent {
  std::vector<OcspSingle> responses;
  TimePoint produced_at;
  std::optional<Bytes> nonce;  // the request's nonce extension value, echoed when present
};

class CaSigner {
 public:
  // `ca_key` must match `ca_certificate` (Error(Integrity, "ca-key-mismatch") otherwise) and be
  // EC P-256, EC P-384, RSA or Ed25519 (Error(Unsupported, "ca-key-unsupported")). `urls.base`
  // must be an http:// or https:// URL without a trailing slash (Error(Malformed,
  // "public-url-invalid")).
  // `chain` is what clients get after the CA certificate (empty for a root CA).
  CaSigner(ossl::Pkey ca_key, crypto::Certificate ca_certificate, std::vector<crypto::Certificate> chain,
           PublicUrls urls);

  [[nodiscard]] const crypto::Certificate& ca_certificate() const noexcept { return ca_; }
  [[nodiscard]] const std::vector<crypto::Certificate>& chain() const noexcept { return chain_; }
  // The CA certificate and then `chain`, PEM: what clients get after their own certificate.
  [[nodiscard]] const std::string& ca_chain_pem() const noexcept { return ca_chain_pem_; }
  [[nodiscard]] const PublicUrls& urls() const noexcept { return urls_; }
  // SHA-1 of the CA's subject name DER and of its public key BIT STRING: the CertID hashes an
  // OCSP request must carry (with SHA-1; the SHA-256 ones are accepted too).
  [[nodiscard]] const Bytes& issuer_name_sha1() const noexcept { return name_sha1_; }
  [[nodiscard]] const Bytes& issuer_key_sha1() const noexcept { return key_sha1_; }
  [[nodiscard]] const Bytes& issuer_name_sha256() const noexcept { return name_sha256_; }
  [[nodiscard]] const Bytes& issuer_key_sha256() const noexcept { return key_sha256_; }

  // Builds and signs. Throws Error(Crypto) when OpenSSL fails, Error(Malformed) for a name
  // OpenSSL refuses, a serial that is zero or over 20 bytes, notAfter before notBefore, an unknown
  // EKU name, or no name at all (empty subject and no SAN). Does not apply policy: the caller
  // passes an approved template.
  [[nodiscard]] crypto::Certificate sign_certificate(const CertificateTemplate& tmpl) const;
  // A v2 CRL (DER) with AKI, cRLNumber, and for a delta CRL the deltaCRLIndicator (a full CRL
  // carries freshestCRL instead when urls().publishes_delta); each entry
  // with its revocation date and reasonCode. Entries are sorted by serial. Throws Error(Malformed)
  // for a negative number, nextUpdate not after thisUpdate or an invalid serial.
  [[nodiscard]] Bytes sign_crl(const CrlContent& content) const;
  // A successful OCSPResponse (DER): BasicOCSPResponse signed by the CA key itself (no delegated
  // responder), responderID byKey, no certificates, the nonce echoed when present. A revoked
  // status carries revocationReason unless it is Unspecified. Throws Error(Malformed) for no
  // responses or a cert_id_der that does not parse.
  [[nodiscard]] Bytes sign_ocsp_response(const OcspContent& content) const;

 private:
  // A fresh signing context for the CA key (one per call: contexts are not shareable).
  [[nodiscard]] ossl::MdCtx new_sign_context() const;

  ossl::Pkey key_;
  crypto::Certificate ca_;
  std::vector<crypto::Certificate> chain_;
  std::string ca_chain_pem_;
  PublicUrls urls_;
  Bytes name_sha1_, key_sha1_, name_sha256_, key_sha256_;
  // Built once by the constructor and only read afterwards, so that signing does no parsing.
  const EVP_MD* digest_ = nullptr;  // null for Ed25519, which hashes internally
  ossl::X509ExtensionPtr basic_constraints_;        // critical CA:FALSE
  ossl::X509ExtensionPtr authority_key_id_;         // keyIdentifier only; certificates and CRLs
  ossl::X509ExtensionPtr crl_distribution_points_;  // urls_.crl()
  ossl::X509ExtensionPtr freshest_crl_;             // urls_.delta_crl(); null without delta CRLs
  ossl::X509ExtensionPtr authority_info_access_;    // OCSP urls_.ocsp(), caIssuers urls_.ca_certificate()
};

// A parsed OCSP request (RFC 6960 4.1.1).
struct OcspRequestItem {
  Bytes cert_id_der;        // re-encoded CertID, to echo
  std::string hash_algorithm;  // "sha1" or "sha256"; others are refused at parse
  Bytes issuer_name_hash;
  Bytes issuer_key_hash;
  Serial serial;
};
struct OcspRequest {
  std::vector<OcspRequestItem> items;  // 1..16
  std::optional<Bytes> nonce;          // id-pkix-ocsp-nonce value (the OCTET STRING content)
};
// Parses a DER OCSPRequest. Throws Error(Malformed, "ocsp-request-malformed") for garbage, trailing
// bytes, no request, more than 16, an unsupported hash algorithm (or hashes of the wrong length),
// a serial that is not a positive INTEGER of at most 20 bytes, a nonce that is not an OCTET
// STRING of 1 to 32 bytes (RFC 8954), or a critical extension other than the nonce.
// Signed requests are accepted, their signature ignored (RFC 6960 allows it).
[[nodiscard]] OcspRequest parse_ocsp_request(ByteView der);

// An unsuccessful OCSPResponse (no responseBytes) with the given status: 1 malformedRequest,
// 2 internalError, 3 tryLater, 5 sigRequired, 6 unauthorized. Throws Error(Internal) for any other.
[[nodiscard]] Bytes ocsp_error_response(int response_status);

}  // namespace signet::issuance
