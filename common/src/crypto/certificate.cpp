#include "signet/crypto/certificate.h"

#include <mutex>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "signet/core/error.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"

namespace signet::crypto {

namespace {

std::string name_to_string(const X509_NAME* name) {
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    ERR_clear_error();
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

TimePoint to_time_point(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return TimePoint{};
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  const bool ok = ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  if (!ok) throw_openssl(ErrorKind::Crypto, "certificate-build-failed", "adding an extension failed");
}

void add_name_entries(X509_NAME* name, const NameEntries& entries) {
  for (const auto& [attribute, value] : entries) {
    if (X509_NAME_add_entry_by_txt(name, attribute.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      throw_openssl(ErrorKind::Malformed, "name-invalid",
                    "the name attribute " + attribute + "=\"" + value + "\" is not valid");
    }
  }
}

Bytes random_serial() {
  Bytes serial = random_bytes(16);
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x01;  // and a full 128 bits long
  return serial;
}

const EVP_MD* digest_for(const EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

}  // namespace

std::optional<Certificate> Certificate::try_from_der(ByteView der) {
  const unsigned char* p = der.data();
  X509* raw = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr || p != der.data() + der.size()) {
    X509_free(raw);
    ERR_clear_error();
    return std::nullopt;
  }
  return Certificate(std::shared_ptr<X509>(raw, X509_free), Bytes(der.begin(), der.end()));
}

Certificate Certificate::from_der(ByteView der) {
  auto cert = try_from_der(der);
  if (!cert) {
    throw Error(ErrorKind::Malformed, "certificate-malformed",
                "the data is not a DER-encoded X.509 certificate");
  }
  return *std::move(cert);
}

Certificate Certificate::from_x509(const X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) throw_openssl(ErrorKind::Crypto, "encode-failed", "encoding a certificate failed");
  Bytes bytes(der, der + len);
  OPENSSL_free(der);
  return from_der(bytes);
}

Certificate Certificate::adopt(ossl::X509Ptr cert) {
  if (!cert) throw Error(ErrorKind::Internal, "certificate-missing", "no certificate to adopt");
  const int len = i2d_X509(cert.get(), nullptr);
  Bytes der(static_cast<std::size_t>(std::max(len, 0)));
  unsigned char* out = der.data();
  if (len <= 0 || i2d_X509(cert.get(), &out) != len) {
    throw_openssl(ErrorKind::Crypto, "encode-failed", "encoding a certificate failed");
  }
  return Certificate(std::shared_ptr<X509>(cert.release(), X509_free), std::move(der), std::make_shared<LazyKey>());
}

std::string Certificate::subject() const { return name_to_string(X509_get_subject_name(x509())); }
std::string Certificate::issuer() const { return name_to_string(X509_get_issuer_name(x509())); }

std::string Certificate::serial_hex() const {
  ossl::BignumPtr bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509()), nullptr)};
  char* hex = bn ? BN_bn2hex(bn.get()) : nullptr;
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  return out;
}

TimePoint Certificate::not_before() const { return to_time_point(X509_get0_notBefore(x509())); }
TimePoint Certificate::not_after() const { return to_time_point(X509_get0_notAfter(x509())); }

struct Certificate::LazyKey {
  std::once_flag once;
  ossl::Pkey key;
};

EVP_PKEY* Certificate::public_key() const {
  if (lazy_key_) {
    std::call_once(lazy_key_->once, [this] {
      const unsigned char* p = der_.data();
      const ossl::X509Ptr parsed{d2i_X509(nullptr, &p, static_cast<long>(der_.size()))};
      if (parsed) lazy_key_->key.reset(X509_get_pubkey(parsed.get()));  // a new reference
      ERR_clear_error();
    });
    return lazy_key_->key.get();
  }
  EVP_PKEY* key = X509_get0_pubkey(x509());
  if (key == nullptr) ERR_clear_error();
  return key;
}

bool Certificate::is_ca() const {
  // X509_check_ca() also counts v1 self-signed certificates; we want an explicit cA TRUE.
  int crit = 0;
  ossl::BasicConstraintsPtr bc{static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(x509(), NID_basic_constraints, &crit, nullptr))};
  ERR_clear_error();
  return bc && bc->ca != 0;
}

bool Certificate::has_key_cert_sign() const {
  const uint32_t usage = X509_get_key_usage(x509());
  ERR_clear_error();
  // X509_get_key_usage returns UINT32_MAX when the extension is absent.
  return usage != UINT32_MAX && (usage & KU_KEY_CERT_SIGN) != 0;
}

bool Certificate::self_issued() const {
  return X509_NAME_cmp(X509_get_subject_name(x509()), X509_get_issuer_name(x509())) == 0;
}

bool Certificate::issued_by(const Certificate& issuer) const {
  const bool ok = X509_check_issued(issuer.x509(), x509()) == X509_V_OK &&
                  X509_verify(x509(), issuer.public_key()) == 1;
  ERR_clear_error();
  return ok;
}

Bytes Certificate::sha256_fingerprint() const { return sha256(der_); }

namespace {

// One DER element: its tag, and where its contents start and end within the buffer.
struct Tlv {
  std::uint8_t tag = 0;
  std::size_t begin = 0;  // the tag byte
  std::size_t body = 0;   // the first content byte
  std::size_t end = 0;    // one past the last content byte
};

// Whether an element may be followed by others before `limit`, or must be the last one.
enum class Extent { Any, ToLimit };

// Reads the element at `at`, which must carry `tag` and end at or before `limit` (exactly at it
// with Extent::ToLimit). Low tag numbers and definite lengths only (DER); anything else is left to
// d2i_X509_REQ.
std::optional<Tlv> read_tlv(ByteView der, std::size_t at, std::size_t limit, std::uint8_t tag,
                            Extent extent = Extent::Any) {
  if (limit > der.size() || at + 2 > limit) return std::nullopt;
  Tlv t;
  t.begin = at;
  t.tag = der[at];
  if (t.tag != tag || (t.tag & 0x1f) == 0x1f) return std::nullopt;
  std::size_t pos = at + 1;
  std::size_t length = der[pos++];
  if (length & 0x80) {
    const std::size_t bytes = length & 0x7f;
    if (bytes == 0 || bytes > 3 || pos + bytes > limit) return std::nullopt;
    length = 0;
    for (std::size_t i = 0; i < bytes; ++i) length = (length << 8) | der[pos++];
  }
  if (length > limit - pos) return std::nullopt;
  t.body = pos;
  t.end = pos + length;
  if (extent == Extent::ToLimit && t.end != limit) return std::nullopt;
  return t;
}

// d2i of `type` over exactly [begin, end) of `der`; nullptr unless it consumes all of it.
template <typename T, T* (*D2i)(T**, const unsigned char**, long), void (*Free)(T*)>
std::unique_ptr<T, ossl::Deleter<Free>> d2i_exact(ByteView der, std::size_t begin, std::size_t end) {
  const unsigned char* p = der.data() + begin;
  std::unique_ptr<T, ossl::Deleter<Free>> out{D2i(nullptr, &p, static_cast<long>(end - begin))};
  if (out && p != der.data() + end) out.reset();
  return out;
}

// The key-decoder hint for an SPKI algorithm (the decoder is cached per key type).
std::optional<KeyAlgorithm> decoder_hint(const ASN1_OBJECT* algorithm) {
  switch (OBJ_obj2nid(algorithm)) {
    case NID_X9_62_id_ecPublicKey: return KeyAlgorithm::EcP256;  // the EC decoder, any curve
    case NID_rsaEncryption: return KeyAlgorithm::Rsa2048;        // the RSA decoder, any size
    case NID_ED25519: return KeyAlgorithm::Ed25519;
    default: return std::nullopt;
  }
}

// An id-ecPublicKey SPKI with a named curve (RFC 5480 2.1.1) through ec_public_key; null for
// anything else, which the caller decodes in full.
ossl::Pkey named_curve_key(const X509_ALGOR& algorithm, const ASN1_BIT_STRING& bits) {
  const ASN1_OBJECT* oid = nullptr;
  int parameter_type = V_ASN1_UNDEF;
  const void* parameter = nullptr;
  X509_ALGOR_get0(&oid, &parameter_type, &parameter, &algorithm);
  if (OBJ_obj2nid(oid) != NID_X9_62_id_ecPublicKey || parameter_type != V_ASN1_OBJECT) return nullptr;
  if ((bits.flags & ASN1_STRING_FLAG_BITS_LEFT) != 0 && (bits.flags & 0x07) != 0) return nullptr;
  const int curve = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(parameter));
  if (curve == NID_undef) return nullptr;
  return ec_public_key(curve, ByteView(ASN1_STRING_get0_data(&bits), static_cast<std::size_t>(ASN1_STRING_length(&bits))));
}

// Copies the SPKI's algorithm and key bits into `pub` without decoding the key.
bool copy_spki(X509_PUBKEY* pub, const X509_ALGOR* algorithm, const ASN1_BIT_STRING* bits) {
  const ASN1_OBJECT* oid = nullptr;
  int parameter_type = V_ASN1_UNDEF;
  const void* parameter = nullptr;
  X509_ALGOR_get0(&oid, &parameter_type, &parameter, algorithm);
  void* copy = nullptr;
  switch (parameter_type) {
    case V_ASN1_UNDEF:
    case V_ASN1_NULL: break;
    case V_ASN1_OBJECT:  // a named curve
      copy = OBJ_dup(static_cast<const ASN1_OBJECT*>(parameter));
      if (copy == nullptr) return false;
      break;
    default: return false;  // explicit parameters and the like: the slow path
  }
  if ((bits->flags & 0x07) != 0 && (bits->flags & ASN1_STRING_FLAG_BITS_LEFT) != 0) return false;
  const int length = ASN1_STRING_length(bits);
  auto* data = static_cast<unsigned char*>(OPENSSL_memdup(ASN1_STRING_get0_data(bits), static_cast<std::size_t>(length)));
  ASN1_OBJECT* oid_copy = OBJ_dup(oid);
  if ((data == nullptr && length > 0) || oid_copy == nullptr ||
      X509_PUBKEY_set0_param(pub, oid_copy, parameter_type, copy, data, length) != 1) {
    OPENSSL_free(data);
    ASN1_OBJECT_free(oid_copy);
    if (parameter_type == V_ASN1_OBJECT) ASN1_OBJECT_free(static_cast<ASN1_OBJECT*>(copy));
    return false;
  }
  return true;
}

using AlgorPtr = std::unique_ptr<X509_ALGOR, ossl::Deleter<X509_ALGOR_free>>;
using BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, ossl::Deleter<ASN1_BIT_STRING_free>>;

// An AlgorithmIdentifier followed by a BIT STRING: the shape of both an SPKI's contents and the
// tail of a signed structure. Both null unless each parses exactly.
struct AlgorithmAndBits {
  AlgorPtr algorithm;
  BitStringPtr bits;
};

AlgorithmAndBits read_algorithm_and_bits(ByteView der, const Tlv& algorithm, const Tlv& bits) {
  AlgorithmAndBits out{d2i_exact<X509_ALGOR, d2i_X509_ALGOR, X509_ALGOR_free>(der, algorithm.begin, algorithm.end),
                       d2i_exact<ASN1_BIT_STRING, d2i_ASN1_BIT_STRING, ASN1_BIT_STRING_free>(der, bits.begin, bits.end)};
  if (!out.algorithm || !out.bits) out = {};
  return out;
}

}  // namespace

// CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }
// CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name,
//                                         subjectPKInfo SubjectPublicKeyInfo, attributes [0] }
// Each part but the key is parsed with OpenSSL's own d2i; the key with the cached decoder.
std::optional<CertificateRequest> CertificateRequest::try_fast(ByteView der) {
  const auto outer = read_tlv(der, 0, der.size(), 0x30, Extent::ToLimit);
  if (!outer) return std::nullopt;
  const auto info = read_tlv(der, outer->body, outer->end, 0x30);
  if (!info) return std::nullopt;
  const auto sig_alg = read_tlv(der, info->end, outer->end, 0x30);
  if (!sig_alg) return std::nullopt;
  const auto signature = read_tlv(der, sig_alg->end, outer->end, 0x03, Extent::ToLimit);
  if (!signature) return std::nullopt;

  const auto version = read_tlv(der, info->body, info->end, 0x02);
  if (!version || version->end != version->body + 1 || der[version->body] != 0) return std::nullopt;
  const auto subject = read_tlv(der, version->end, info->end, 0x30);
  if (!subject) return std::nullopt;
  const auto spki = read_tlv(der, subject->end, info->end, 0x30);
  if (!spki) return std::nullopt;
  const auto attributes = read_tlv(der, spki->end, info->end, 0xa0, Extent::ToLimit);
  if (!attributes) return std::nullopt;
  const auto key_alg = read_tlv(der, spki->body, spki->end, 0x30);
  if (!key_alg) return std::nullopt;
  const auto key_bits = read_tlv(der, key_alg->end, spki->end, 0x03, Extent::ToLimit);
  if (!key_bits) return std::nullopt;

  const AlgorithmAndBits key_info = read_algorithm_and_bits(der, *key_alg, *key_bits);
  if (!key_info.algorithm) return std::nullopt;
  ossl::Pkey key = named_curve_key(*key_info.algorithm, *key_info.bits);
  if (!key) {
    key = parse_public_key_der(der.subspan(spki->begin, spki->end - spki->begin),
                               decoder_hint(key_info.algorithm->algorithm));
  }
  if (!key) return std::nullopt;

  ossl::X509ReqPtr req{X509_REQ_new()};
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) return std::nullopt;
  const auto name = d2i_exact<X509_NAME, d2i_X509_NAME, X509_NAME_free>(der, subject->begin, subject->end);
  if (!name || X509_REQ_set_subject_name(req.get(), name.get()) != 1) return std::nullopt;
  if (!copy_spki(X509_REQ_get_X509_PUBKEY(req.get()), key_info.algorithm.get(), key_info.bits.get())) {
    return std::nullopt;
  }
  for (std::size_t at = attributes->body; at < attributes->end;) {
    const auto attribute = read_tlv(der, at, attributes->end, 0x30);
    if (!attribute) return std::nullopt;
    const auto parsed =
        d2i_exact<X509_ATTRIBUTE, d2i_X509_ATTRIBUTE, X509_ATTRIBUTE_free>(der, attribute->begin, attribute->end);
    if (!parsed || X509_REQ_add1_attr(req.get(), parsed.get()) != 1) return std::nullopt;
    at = attribute->end;
  }
  AlgorithmAndBits signed_by = read_algorithm_and_bits(der, *sig_alg, *signature);
  if (!signed_by.algorithm || X509_REQ_set1_signature_algo(req.get(), signed_by.algorithm.get()) != 1) {
    return std::nullopt;
  }
  X509_REQ_set0_signature(req.get(), signed_by.bits.release());

  CertificateRequest out(std::shared_ptr<X509_REQ>(req.release(), X509_REQ_free), Bytes(der.begin(), der.end()));
  out.key_ = std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
  out.info_offset_ = info->begin;
  out.info_length_ = info->end - info->begin;
  return out;
}

std::optional<CertificateRequest> CertificateRequest::try_from_der(ByteView der) {
  std::optional<CertificateRequest> fast = try_fast(der);
  ERR_clear_error();
  if (fast) return fast;
  const unsigned char* p = der.data();
  X509_REQ* raw = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr || p != der.data() + der.size()) {
    X509_REQ_free(raw);
    ERR_clear_error();
    return std::nullopt;
  }
  return CertificateRequest(std::shared_ptr<X509_REQ>(raw, X509_REQ_free),
                            Bytes(der.begin(), der.end()));
}

CertificateRequest CertificateRequest::adopt(ossl::X509ReqPtr req) {
  if (!req) throw Error(ErrorKind::Internal, "request-missing", "no certificate request to adopt");
  const int len = i2d_X509_REQ(req.get(), nullptr);
  Bytes der(static_cast<std::size_t>(std::max(len, 0)));
  unsigned char* out = der.data();
  if (len <= 0 || i2d_X509_REQ(req.get(), &out) != len) {
    ERR_clear_error();
    throw Error(ErrorKind::Malformed, "request-malformed", "the certificate request does not encode");
  }
  return CertificateRequest(std::shared_ptr<X509_REQ>(req.release(), X509_REQ_free), std::move(der));
}

CertificateRequest CertificateRequest::from_der(ByteView der) {
  auto req = try_from_der(der);
  if (!req) {
    throw Error(ErrorKind::Malformed, "request-malformed",
                "the data is not a DER-encoded PKCS#10 certificate request");
  }
  return *std::move(req);
}

std::string CertificateRequest::subject() const {
  return name_to_string(X509_REQ_get_subject_name(x509_req()));
}

EVP_PKEY* CertificateRequest::public_key() const {
  if (key_) return key_.get();
  EVP_PKEY* key = X509_REQ_get0_pubkey(x509_req());
  if (key == nullptr) ERR_clear_error();
  return key;
}

bool CertificateRequest::signature_valid() const {
  EVP_PKEY* key = public_key();
  if (key == nullptr) return false;
  if (info_length_ == 0) {
    const bool ok = X509_REQ_verify(x509_req(), key) == 1;
    ERR_clear_error();
    return ok;
  }
  // Over the received bytes of certificationRequestInfo (as d2i_X509_REQ's cached encoding
  // would be), not a re-encoding: an ASN1_ANY SEQUENCE is written out exactly as held.
  const X509_ALGOR* algorithm = nullptr;
  const ASN1_BIT_STRING* signature = nullptr;
  X509_REQ_get0_signature(x509_req(), &signature, &algorithm);
  std::unique_ptr<ASN1_STRING, ossl::Deleter<ASN1_STRING_free>> info{ASN1_STRING_type_new(V_ASN1_SEQUENCE)};
  bool ok = info && ASN1_STRING_set(info.get(), der_.data() + info_offset_, static_cast<int>(info_length_)) == 1;
  if (ok) {
    ASN1_TYPE as_any{};
    as_any.type = V_ASN1_SEQUENCE;
    as_any.value.sequence = info.get();
    ok = ASN1_item_verify_ex(ASN1_ITEM_rptr(ASN1_ANY), algorithm, signature, &as_any, nullptr, key, nullptr,
                             nullptr) == 1;
  }
  ERR_clear_error();
  return ok;
}

Certificate make_self_signed(const EVP_PKEY* key, const SelfSignedSpec& spec) {
  ossl::X509Ptr cert{X509_new()};
  if (!cert) throw_openssl(ErrorKind::Crypto, "certificate-build-failed", "X509_new failed");
  const Bytes serial = random_serial();
  ossl::BignumPtr bn{BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr)};
  auto nb = std::chrono::system_clock::to_time_t(spec.not_before);
  auto na = std::chrono::system_clock::to_time_t(spec.not_before + spec.validity);
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = bn && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &nb) != nullptr &&
            X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, 0, &na) != nullptr &&
            X509_set_issuer_name(cert.get(), name) == 1 &&
            X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(key)) == 1;
  if (!ok) throw_openssl(ErrorKind::Crypto, "certificate-build-failed", "building a certificate failed");
  add_name_entries(name, spec.subject.empty() ? NameEntries{{"CN", spec.common_name}} : spec.subject);
  if (X509_set_issuer_name(cert.get(), name) != 1) {
    throw_openssl(ErrorKind::Crypto, "certificate-build-failed", "building a certificate failed");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  if (spec.ca) {
    const std::string bc = spec.path_length ? "critical,CA:TRUE,pathlen:" + std::to_string(*spec.path_length)
                                            : std::string("critical,CA:TRUE");
    add_ext(cert.get(), &ctx, NID_basic_constraints, bc.c_str());
    add_ext(cert.get(), &ctx, NID_key_usage,
            spec.key_cert_sign ? "critical,keyCertSign,cRLSign,digitalSignature"
                               : "critical,digitalSignature");
  } else {
    add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  }
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), const_cast<EVP_PKEY*>(key), digest_for(key)) <= 0) {
    throw_openssl(ErrorKind::Crypto, "certificate-sign-failed", "signing a certificate failed");
  }
  return Certificate::adopt(std::move(cert));
}

CertificateRequest make_request(const EVP_PKEY* key, const NameEntries& subject) {
  ossl::X509ReqPtr req{X509_REQ_new()};
  if (!req) throw_openssl(ErrorKind::Crypto, "request-build-failed", "building a request failed");
  add_name_entries(X509_REQ_get_subject_name(req.get()), subject);
  if (X509_REQ_set_pubkey(req.get(), const_cast<EVP_PKEY*>(key)) != 1 ||
      X509_REQ_sign(req.get(), const_cast<EVP_PKEY*>(key), digest_for(key)) <= 0) {
    throw_openssl(ErrorKind::Crypto, "request-build-failed", "signing a request failed");
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req.get(), &der);
  if (len <= 0) throw_openssl(ErrorKind::Crypto, "encode-failed", "encoding a request failed");
  Bytes bytes(der, der + len);
  OPENSSL_free(der);
  return CertificateRequest::from_der(bytes);
}

Certificate issue_server_certificate(const EVP_PKEY* ca_key, const Certificate& ca_cert,
                                     const EVP_PKEY* subject_key, const ServerCertificateSpec& spec) {
  ossl::X509Ptr cert{X509_new()};
  if (!cert) throw_openssl(ErrorKind::Crypto, "certificate-build-failed", "X509_new failed");
  const Bytes serial = random_serial();
  ossl::BignumPtr bn{BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr)};
  std::time_t nb = std::chrono::system_clock::to_time_t(spec.not_before);
  std::time_t na = std::chrono::system_clock::to_time_t(std::min(spec.not_before + spec.validity, ca_cert.not_after()));
  bool ok = bn && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &nb) != nullptr &&
            X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, 0, &na) != nullptr &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.x509())) == 1 &&
            X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(subject_key)) == 1;
  if (!ok) throw_openssl(ErrorKind::Crypto, "certificate-build-failed", "building a certificate failed");
  add_name_entries(X509_get_subject_name(cert.get()), {{"CN", spec.common_name}});

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert.x509(), cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), &ctx, NID_key_usage,
          EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA ? "critical,digitalSignature,keyEncipherment"
                                                           : "critical,digitalSignature");
  add_ext(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& d : spec.dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : spec.ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  if (!san.empty()) add_ext(cert.get(), &ctx, NID_subject_alt_name, san.c_str());
  if (X509_sign(cert.get(), const_cast<EVP_PKEY*>(ca_key), digest_for(ca_key)) <= 0) {
    throw_openssl(ErrorKind::Crypto, "certificate-sign-failed", "signing a certificate failed");
  }
  return Certificate::adopt(std::move(cert));
}

CertificateRequest make_request(const EVP_PKEY* key, const std::string& common_name) {
  return make_request(key, NameEntries{{"CN", common_name}});
}

namespace {

// PEM of DER as held: the bytes received or built, never a re-encoding of the parsed fields.
std::string pem_of_der(const char* label, const Bytes& der) {
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio(bio.get(), label, "", der.data(), static_cast<long>(der.size())) <= 0) {
    throw_openssl(ErrorKind::Crypto, "encode-failed", "PEM encoding failed");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

std::string to_pem(const Certificate& cert) { return pem_of_der("CERTIFICATE", cert.der()); }

std::string to_pem(const CertificateRequest& req) { return pem_of_der("CERTIFICATE REQUEST", req.der()); }

}  // namespace signet::crypto
