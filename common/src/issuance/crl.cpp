// CaSigner::sign_crl: full and delta CRLs (RFC 5280 section 5).
#include "signet/issuance/signer.h"

#include <openssl/x509v3.h>

#include <algorithm>

#include "signet/core/error.h"

namespace signet::issuance {

namespace {

[[noreturn]] void build_failed(std::string_view what) {
  throw_openssl(ErrorKind::Crypto, "crl-build-failed", what);
}

ossl::Asn1TimePtr asn1_time(TimePoint t) {
  // UTCTime through 2049, GeneralizedTime after (RFC 5280 5.1.2.4).
  ossl::Asn1TimePtr time{ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(t))};
  if (!time) build_failed("encoding a CRL date failed");
  return time;
}

ossl::Asn1IntegerPtr serial_integer(const Serial& serial) {
  const auto first = std::find_if(serial.bytes.begin(), serial.bytes.end(), [](std::uint8_t b) { return b != 0; });
  const auto size = static_cast<std::size_t>(serial.bytes.end() - first);
  if (size == 0 || size > 20) {
    throw Error(ErrorKind::Malformed, "serial-invalid",
                "a revoked serial must be a positive number of at most 20 bytes");
  }
  ossl::Asn1IntegerPtr value{ASN1_INTEGER_new()};
  if (!value || ASN1_STRING_set(value.get(), &*first, static_cast<int>(size)) != 1) {
    build_failed("encoding a serial failed");
  }
  return value;
}

ossl::Asn1IntegerPtr crl_number(std::int64_t number) {
  ossl::Asn1IntegerPtr value{ASN1_INTEGER_new()};
  if (!value || ASN1_INTEGER_set_int64(value.get(), number) != 1) build_failed("encoding a CRL number failed");
  return value;
}

ossl::X509RevokedPtr revoked_entry(const RevokedEntry& entry) {
  ossl::X509RevokedPtr revoked{X509_REVOKED_new()};
  if (!revoked || X509_REVOKED_set_serialNumber(revoked.get(), serial_integer(entry.serial).get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), asn1_time(entry.revoked_at).get()) != 1) {
    build_failed("building a CRL entry failed");
  }
  if (entry.reason != RevocationReason::Unspecified) {  // RFC 5280 5.3.1: omit unspecified
    ossl::Asn1EnumeratedPtr reason{ASN1_ENUMERATED_new()};
    if (!reason || ASN1_ENUMERATED_set(reason.get(), static_cast<long>(entry.reason)) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0, X509V3_ADD_DEFAULT) != 1) {
      build_failed("adding a CRL reason code failed");
    }
  }
  return revoked;
}

}  // namespace

Bytes CaSigner::sign_crl(const CrlContent& content) const {
  if (content.number < 0 || (content.delta_base && *content.delta_base < 0)) {
    throw Error(ErrorKind::Malformed, "crl-number-invalid", "CRL numbers are never negative");
  }
  if (content.next_update <= content.this_update) {
    throw Error(ErrorKind::Malformed, "crl-dates-invalid", "a CRL's nextUpdate must be after its thisUpdate");
  }

  ossl::X509CrlPtr crl{X509_CRL_new()};
  if (!crl) build_failed("X509_CRL_new failed");
  X509_CRL* c = crl.get();
  if (X509_CRL_set_version(c, X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(c, X509_get_subject_name(ca_.x509())) != 1 ||
      X509_CRL_set1_lastUpdate(c, asn1_time(content.this_update).get()) != 1 ||
      X509_CRL_set1_nextUpdate(c, asn1_time(content.next_update).get()) != 1) {
    build_failed("building a CRL failed");
  }
  for (const RevokedEntry& entry : content.revoked) {
    ossl::X509RevokedPtr revoked = revoked_entry(entry);
    if (X509_CRL_add0_revoked(c, revoked.get()) != 1) build_failed("adding a CRL entry failed");
    static_cast<void>(revoked.release());
  }
  // Sorted by serial: deterministic output, and relying parties that bisect need no re-sort.
  if (X509_CRL_sort(c) != 1) build_failed("sorting a CRL failed");

  // X509_CRL_add_ext copies; the shared extension is only read.
  if (X509_CRL_add_ext(c, const_cast<X509_EXTENSION*>(authority_key_id_.get()), -1) != 1 ||
      X509_CRL_add1_ext_i2d(c, NID_crl_number, crl_number(content.number).get(), 0, X509V3_ADD_DEFAULT) != 1) {
    build_failed("adding a CRL extension failed");
  }
  // RFC 5280 5.2.4: deltaCRLIndicator is critical, so that a relying party that does not know delta
  // CRLs never takes one for a complete CRL.
  if (content.delta_base &&
      X509_CRL_add1_ext_i2d(c, NID_delta_crl, crl_number(*content.delta_base).get(), 1, X509V3_ADD_DEFAULT) != 1) {
    build_failed("adding the delta CRL indicator failed");
  }
  // RFC 5280 5.2.6: a complete CRL says where its delta is (openssl -use_deltas looks for it).
  if (!content.delta_base && freshest_crl_ &&
      X509_CRL_add_ext(c, const_cast<X509_EXTENSION*>(freshest_crl_.get()), -1) != 1) {
    build_failed("adding freshestCRL failed");
  }

  const ossl::MdCtx ctx = new_sign_context();
  if (X509_CRL_sign_ctx(c, ctx.get()) <= 0) {
    throw_openssl(ErrorKind::Crypto, "crl-sign-failed", "signing a CRL failed");
  }
  const int size = i2d_X509_CRL(c, nullptr);
  Bytes der(static_cast<std::size_t>(std::max(size, 0)));
  unsigned char* out = der.data();
  if (size <= 0 || i2d_X509_CRL(c, &out) != size) build_failed("encoding a CRL failed");
  return der;
}

}  // namespace signet::issuance
