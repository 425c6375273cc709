#include "signet/issuance/views.h"

#include <openssl/x509.h>

#include "signet/core/error.h"
#include "signet/crypto/handles.h"

namespace signet::issuance {

RevocationSigner::RevocationSigner(std::shared_ptr<const CaSigner> signer) : signer_(std::move(signer)) {
  if (!signer_) throw Error(ErrorKind::Internal, "signer-missing", "a revocation signer needs the CA signer");
}

bool RevocationSigner::signed_this_crl(ByteView der) const {
  const unsigned char* p = der.data();
  ossl::X509CrlPtr crl{d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()))};
  if (!crl || p != der.data() + der.size()) return false;
  X509* ca = signer_->ca_certificate().x509();
  EVP_PKEY* key = X509_get0_pubkey(ca);
  return key != nullptr && X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca)) == 0 &&
         X509_CRL_verify(crl.get(), key) == 1;
}

const crypto::Certificate& RevocationSigner::ca_certificate() const noexcept { return signer_->ca_certificate(); }
const std::string& RevocationSigner::ca_chain_pem() const noexcept { return signer_->ca_chain_pem(); }
const Bytes& RevocationSigner::issuer_name_sha1() const noexcept { return signer_->issuer_name_sha1(); }
const Bytes& RevocationSigner::issuer_key_sha1() const noexcept { return signer_->issuer_key_sha1(); }
const Bytes& RevocationSigner::issuer_name_sha256() const noexcept { return signer_->issuer_name_sha256(); }
const Bytes& RevocationSigner::issuer_key_sha256() const noexcept { return signer_->issuer_key_sha256(); }

Bytes RevocationSigner::sign_ocsp_response(const OcspContent& content) const {
  return signer_->sign_ocsp_response(content);
}

Bytes RevocationSigner::sign_crl(const CrlContent& content) const { return signer_->sign_crl(content); }

std::optional<CertificateRecord> LedgerReader::find(const Serial& serial) const { return ledger_.find(serial); }

std::vector<RevokedEntry> LedgerReader::revoked(std::chrono::seconds grace) const { return ledger_.revoked(grace); }

std::vector<RevokedEntry> LedgerReader::revoked_since(std::int64_t since_revision) const {
  return ledger_.revoked_since(since_revision);
}

std::int64_t LedgerReader::revocation_revision() const { return ledger_.revocation_revision(); }

IssuedCrl CrlIssuer::issue(CrlContent content) {
  content.number = ledger_.next_crl_number();
  IssuedCrl out;
  out.der = signer_.sign_crl(content);
  out.number = content.number;
  return out;
}

}  // namespace signet::issuance
