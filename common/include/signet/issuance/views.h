// Narrow views of the signer and the ledger for the code that answers relying parties (the OCSP
// responder, the CRL publisher, the public routes). They can read certificate status and sign
// OCSP responses and CRLs, and nothing else: no certificate issuance, no revocation, no API
// clients. A component that only answers status gets only these, so that a bug in it (or an
// attacker who finds one) cannot reach the issuing side. Each view wraps the real object by
// composition and forwards the few calls it allows.
//
// tests/unit/issuance_views_test.cpp checks at compile time that no issuing or writing method is
// reachable through them; add a method here only if the public side really needs it.
//
// Thread-safety: as the wrapped objects (every method may be called from any thread). A view does
// not own what it wraps, except RevocationSigner, which shares ownership of the signer; the
// wrapped Ledger must outlive LedgerReader and CrlIssuer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/certificate.h"
#include "signet/issuance/ledger.h"
#include "signet/issuance/signer.h"

namespace signet::issuance {

// Signs OCSP responses and CRLs with the CA key; cannot sign a certificate.
class RevocationSigner {
 public:
  // `signer` must not be null (Error(Internal, "signer-missing")).
  explicit RevocationSigner(std::shared_ptr<const CaSigner> signer);

  [[nodiscard]] const crypto::Certificate& ca_certificate() const noexcept;
  [[nodiscard]] const std::string& ca_chain_pem() const noexcept;
  // True when `der` is a whole CRL issued and signed by this CA (one another node published).
  [[nodiscard]] bool signed_this_crl(ByteView der) const;
  // The CertID hashes that name this CA in an OCSP request (see CaSigner).
  [[nodiscard]] const Bytes& issuer_name_sha1() const noexcept;
  [[nodiscard]] const Bytes& issuer_key_sha1() const noexcept;
  [[nodiscard]] const Bytes& issuer_name_sha256() const noexcept;
  [[nodiscard]] const Bytes& issuer_key_sha256() const noexcept;

  // As CaSigner::sign_ocsp_response and CaSigner::sign_crl (same errors).
  [[nodiscard]] Bytes sign_ocsp_response(const OcspContent& content) const;
  [[nodiscard]] Bytes sign_crl(const CrlContent& content) const;

 private:
  std::shared_ptr<const CaSigner> signer_;
};

// Reads what relying parties may learn from the ledger: one certificate's status and the
// revocations. Cannot write anything, nor read API clients or their tokens.
class LedgerReader {
 public:
  explicit LedgerReader(Ledger& ledger) : ledger_(ledger) {}

  // The certificate's record (its state and revocation), std::nullopt for an unknown serial.
  [[nodiscard]] std::optional<CertificateRecord> find(const Serial& serial) const;
  // As Ledger::revoked, Ledger::revoked_since and Ledger::revocation_revision.
  [[nodiscard]] std::vector<RevokedEntry> revoked(std::chrono::seconds grace = std::chrono::hours(24 * 30)) const;
  [[nodiscard]] std::vector<RevokedEntry> revoked_since(std::int64_t since_revision) const;
  [[nodiscard]] std::int64_t revocation_revision() const;

 private:
  Ledger& ledger_;
};

// A signed CRL and the cRLNumber it carries.
struct IssuedCrl {
  Bytes der;
  std::int64_t number = 0;
};

// Issues CRLs: takes the next cRLNumber from the ledger (the only ledger write the public side
// makes) and signs the CRL with it. Cannot sign anything but a CRL.
class CrlIssuer {
 public:
  CrlIssuer(Ledger& ledger, RevocationSigner signer) : ledger_(ledger), signer_(std::move(signer)) {}

  // Signs `content` with the next CRL number (content.number is ignored). The number is durable
  // before the CRL is signed, so that no two CRLs ever share one, even across a crash. Throws as
  // Ledger::next_crl_number and CaSigner::sign_crl.
  [[nodiscard]] IssuedCrl issue(CrlContent content);

  // As Ledger::shares_crls, hold_crl_builder, publish_crl and newest_crl: several nodes on one
  // PostgreSQL ledger serve the CRLs one of them builds.
  [[nodiscard]] bool shared() const { return ledger_.shares_crls(); }
  [[nodiscard]] bool hold_builder() { return ledger_.hold_crl_builder(); }
  bool publish(const std::string& kind, const SharedCrl& crl) { return ledger_.publish_crl(kind, crl); }
  [[nodiscard]] std::optional<SharedCrl> newest(const std::string& kind) const { return ledger_.newest_crl(kind); }

 private:
  Ledger& ledger_;
  RevocationSigner signer_;
};

}  // namespace signet::issuance
