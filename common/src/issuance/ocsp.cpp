// OCSP (RFC 6960): parsing requests, signing responses, and the fixed unsuccessful responses.
#include "signet/issuance/signer.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include <algorithm>
#include <string_view>

#include "signet/core/error.h"

namespace signet::issuance {

namespace {

constexpr int kMaxRequestItems = 16;
// RFC 8954 2.1: Nonce ::= OCTET STRING(SIZE(1..32)); a responder should refuse a longer one.
constexpr int kMaxNonceBytes = 32;
constexpr int kMaxSerialBytes = 20;

[[noreturn]] void malformed_request(std::string_view why) {
  ERR_clear_error();
  throw Error(ErrorKind::Malformed, "ocsp-request-malformed",
              "the OCSP request is malformed: " + std::string(why));
}

[[noreturn]] void build_failed(std::string_view what) {
  throw_openssl(ErrorKind::Crypto, "ocsp-response-build-failed", what);
}

Bytes string_bytes(const ASN1_STRING* s) {
  const unsigned char* data = ASN1_STRING_get0_data(s);
  return Bytes(data, data + ASN1_STRING_length(s));
}

template <typename T, int (*I2d)(const T*, unsigned char**)>
Bytes to_der(const T* value) {
  const int size = I2d(value, nullptr);
  Bytes der(static_cast<std::size_t>(std::max(size, 0)));
  unsigned char* out = der.data();
  if (size <= 0 || I2d(value, &out) != size) build_failed("DER encoding failed");
  return der;
}

OcspRequestItem parse_item(OCSP_ONEREQ* one) {
  OCSP_CERTID* id = OCSP_onereq_get0_id(one);
  ASN1_OCTET_STRING* name_hash = nullptr;
  ASN1_OCTET_STRING* key_hash = nullptr;
  ASN1_OBJECT* hash_algorithm = nullptr;
  ASN1_INTEGER* serial = nullptr;
  if (id == nullptr || OCSP_id_get0_info(&name_hash, &hash_algorithm, &key_hash, &serial, id) != 1) {
    malformed_request("a CertID is missing");
  }
  OcspRequestItem item;
  int hash_size = 0;
  switch (OBJ_obj2nid(hash_algorithm)) {
    case NID_sha1: item.hash_algorithm = "sha1", hash_size = 20; break;
    case NID_sha256: item.hash_algorithm = "sha256", hash_size = 32; break;
    default: malformed_request("the CertID hash algorithm is neither SHA-1 nor SHA-256");
  }
  if (ASN1_STRING_length(name_hash) != hash_size || ASN1_STRING_length(key_hash) != hash_size) {
    malformed_request("a CertID hash has the wrong length for " + item.hash_algorithm);
  }
  item.issuer_name_hash = string_bytes(name_hash);
  item.issuer_key_hash = string_bytes(key_hash);

  // The INTEGER's content is its magnitude; its type says the sign.
  Bytes magnitude = string_bytes(serial);
  magnitude.erase(magnitude.begin(),
                  std::find_if(magnitude.begin(), magnitude.end(), [](std::uint8_t b) { return b != 0; }));
  if (ASN1_STRING_type(serial) != V_ASN1_INTEGER || magnitude.empty() ||
      magnitude.size() > static_cast<std::size_t>(kMaxSerialBytes)) {
    malformed_request("a serial number is not a positive integer of at most 20 bytes");
  }
  item.serial.bytes = std::move(magnitude);
  item.cert_id_der = to_der<OCSP_CERTID, i2d_OCSP_CERTID>(id);
  return item;
}

std::optional<Bytes> parse_nonce(OCSP_REQUEST* req) {
  const int index = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
  if (index < 0) return std::nullopt;
  // extnValue holds the DER of Nonce ::= OCTET STRING (RFC 8954); we keep and echo its content.
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, index));
  const unsigned char* p = ASN1_STRING_get0_data(value);
  const unsigned char* end = p + ASN1_STRING_length(value);
  ossl::Asn1OctetStringPtr nonce{d2i_ASN1_OCTET_STRING(nullptr, &p, ASN1_STRING_length(value))};
  if (!nonce || p != end) malformed_request("the nonce is not an OCTET STRING");
  if (ASN1_STRING_length(nonce.get()) < 1 || ASN1_STRING_length(nonce.get()) > kMaxNonceBytes) {
    malformed_request("the nonce is not 1 to 32 bytes long (RFC 8954)");
  }
  return string_bytes(nonce.get());
}

ossl::Asn1TimePtr asn1_time(TimePoint t) {
  ossl::Asn1TimePtr time{ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(t))};
  if (!time) build_failed("encoding an OCSP date failed");
  return time;
}

void add_single(OCSP_BASICRESP* basic, const OcspSingle& single) {
  const unsigned char* p = single.cert_id_der.data();
  ossl::OcspCertIdPtr id{d2i_OCSP_CERTID(nullptr, &p, static_cast<long>(single.cert_id_der.size()))};
  if (!id || p != single.cert_id_der.data() + single.cert_id_der.size()) {
    ERR_clear_error();
    throw Error(ErrorKind::Malformed, "ocsp-certid-malformed", "an OCSP response names a CertID that does not parse");
  }
  int status = V_OCSP_CERTSTATUS_UNKNOWN;
  int reason = OCSP_REVOKED_STATUS_NOSTATUS;
  ossl::Asn1TimePtr revoked_at;
  switch (single.status) {
    case OcspCertStatus::Good: status = V_OCSP_CERTSTATUS_GOOD; break;
    case OcspCertStatus::Unknown: status = V_OCSP_CERTSTATUS_UNKNOWN; break;
    case OcspCertStatus::Revoked:
      status = V_OCSP_CERTSTATUS_REVOKED;
      revoked_at = asn1_time(single.revoked_at);
      // As in CRLs (RFC 5280 5.3.1), an unspecified reason is left out rather than stated.
      if (single.reason != RevocationReason::Unspecified) reason = static_cast<int>(single.reason);
      break;
  }
  const ossl::Asn1TimePtr this_update = asn1_time(single.this_update);
  const ossl::Asn1TimePtr next_update = single.next_update == TimePoint{} ? nullptr : asn1_time(single.next_update);
  // Times are copied as GeneralizedTime, which RFC 6960 requires.
  if (OCSP_basic_add1_status(basic, id.get(), status, reason, revoked_at.get(), this_update.get(),
                             next_update.get()) == nullptr) {
    build_failed("adding an OCSP single response failed");
  }
}

void add_nonce(OCSP_BASICRESP* basic, const Bytes& nonce) {
  // Built by hand: OCSP_basic_add1_nonce would replace an empty nonce with a random one.
  ossl::Asn1OctetStringPtr inner{ASN1_OCTET_STRING_new()};
  if (!inner || ASN1_OCTET_STRING_set(inner.get(), nonce.data(), static_cast<int>(nonce.size())) != 1) {
    build_failed("encoding the nonce failed");
  }
  const Bytes inner_der = to_der<ASN1_OCTET_STRING, i2d_ASN1_OCTET_STRING>(inner.get());
  ossl::Asn1OctetStringPtr value{ASN1_OCTET_STRING_new()};
  if (!value || ASN1_OCTET_STRING_set(value.get(), inner_der.data(), static_cast<int>(inner_der.size())) != 1) {
    build_failed("encoding the nonce failed");
  }
  ossl::X509ExtensionPtr ext{X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_Nonce, 0, value.get())};
  if (!ext || OCSP_BASICRESP_add_ext(basic, ext.get(), -1) != 1) build_failed("adding the nonce failed");
}

// RFC 6960 4.4 (and RFC 5280 4.2): an extension marked critical that is not understood means the
// request asks for something this responder would not do. Only the nonce is understood, and only
// in the request itself.
template <typename Owner, int (*Count)(Owner*), X509_EXTENSION* (*Get)(Owner*, int)>
void refuse_unknown_critical(Owner* owner, bool nonce_understood, std::string_view where) {
  for (int i = 0; i < Count(owner); ++i) {
    X509_EXTENSION* ext = Get(owner, i);
    if (X509_EXTENSION_get_critical(ext) != 1) continue;
    if (nonce_understood && OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_id_pkix_OCSP_Nonce) continue;
    char oid[80] = {};
    OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1);
    malformed_request(std::string(where) + " has a critical extension this responder does not know (" + oid + ")");
  }
}

}  // namespace

OcspRequest parse_ocsp_request(ByteView der) {
  const unsigned char* p = der.data();
  ossl::OcspRequestPtr req{d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size()))};
  if (!req) malformed_request("it is not a DER-encoded OCSPRequest");
  if (p != der.data() + der.size()) malformed_request("bytes follow the request");
  const int count = OCSP_request_onereq_count(req.get());
  if (count <= 0) malformed_request("it asks about no certificate");
  if (count > kMaxRequestItems) {
    malformed_request("it asks about " + std::to_string(count) + " certificates; at most 16 are answered");
  }
  OcspRequest out;
  out.items.reserve(static_cast<std::size_t>(count));
  refuse_unknown_critical<OCSP_REQUEST, OCSP_REQUEST_get_ext_count, OCSP_REQUEST_get_ext>(req.get(), true,
                                                                                        "the request");
  for (int i = 0; i < count; ++i) {
    OCSP_ONEREQ* one = OCSP_request_onereq_get0(req.get(), i);
    refuse_unknown_critical<OCSP_ONEREQ, OCSP_ONEREQ_get_ext_count, OCSP_ONEREQ_get_ext>(one, false, "a CertID");
    out.items.push_back(parse_item(one));
  }
  out.nonce = parse_nonce(req.get());
  return out;
}

Bytes CaSigner::sign_ocsp_response(const OcspContent& content) const {
  if (content.responses.empty()) {
    throw Error(ErrorKind::Malformed, "ocsp-response-empty", "an OCSP response must answer at least one CertID");
  }
  ossl::OcspBasicRespPtr basic{OCSP_BASICRESP_new()};
  if (!basic) build_failed("OCSP_BASICRESP_new failed");
  for (const OcspSingle& single : content.responses) add_single(basic.get(), single);
  if (content.nonce) add_nonce(basic.get(), *content.nonce);

  // OpenSSL has no setter for producedAt and OCSP_basic_sign_ctx would stamp the wall clock; we
  // want the injected time, so we set the field we own in place and pass OCSP_NOTIME.
  auto* produced_at = const_cast<ASN1_GENERALIZEDTIME*>(OCSP_resp_get0_produced_at(basic.get()));
  if (ASN1_GENERALIZEDTIME_set(produced_at, std::chrono::system_clock::to_time_t(content.produced_at)) == nullptr) {
    build_failed("setting producedAt failed");
  }

  // The CA is its own responder: responderID byKey, no certificates (the client has the issuer).
  const ossl::MdCtx ctx = new_sign_context();
  if (OCSP_basic_sign_ctx(basic.get(), ca_.x509(), ctx.get(), nullptr,
                          OCSP_NOCERTS | OCSP_RESPID_KEY | OCSP_NOTIME) != 1) {
    throw_openssl(ErrorKind::Crypto, "ocsp-sign-failed", "signing an OCSP response failed");
  }
  ossl::OcspResponsePtr response{OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get())};
  if (!response) build_failed("building the OCSP response failed");
  return to_der<OCSP_RESPONSE, i2d_OCSP_RESPONSE>(response.get());
}

Bytes ocsp_error_response(int response_status) {
  switch (response_status) {
    case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
    case OCSP_RESPONSE_STATUS_INTERNALERROR:
    case OCSP_RESPONSE_STATUS_TRYLATER:
    case OCSP_RESPONSE_STATUS_SIGREQUIRED:
    case OCSP_RESPONSE_STATUS_UNAUTHORIZED: break;
    default:
      throw Error(ErrorKind::Internal, "ocsp-status-invalid",
                  "OCSP response status " + std::to_string(response_status) + " is not an error status");
  }
  // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } with responseBytes absent: five fixed
  // bytes, no need for OpenSSL.
  return Bytes{0x30, 0x03, 0x0a, 0x01, static_cast<std::uint8_t>(response_status)};
}

}  // namespace signet::issuance
