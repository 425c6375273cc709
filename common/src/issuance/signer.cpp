// CaSigner: construction (everything that can be computed once) and certificate signing. CRLs are
// in crl.cpp, OCSP in ocsp.cpp.
#include "signet/issuance/signer.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include "signet/core/error.h"
#include "signet/crypto/key.h"

namespace signet::issuance {

namespace {

constexpr std::size_t kMaxSerialBytes = 20;

[[noreturn]] void build_failed(std::string_view what) {
  throw_openssl(ErrorKind::Crypto, "certificate-build-failed", what);
}

Bytes digest_of(const EVP_MD* md, const unsigned char* data, std::size_t size) {
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int len = 0;
  if (EVP_Digest(data, size, out.data(), &len, md, nullptr) != 1) {
    throw_openssl(ErrorKind::Crypto, "digest-failed", "hashing failed");
  }
  out.resize(len);
  return out;
}

// The signature digest for the CA key; null for Ed25519 (PureEdDSA hashes internally).
const EVP_MD* signature_digest(const EVP_PKEY* key) {
  const auto algorithm = crypto::algorithm_of(key);
  if (!algorithm) {
    throw Error(ErrorKind::Unsupported, "ca-key-unsupported",
                "the CA key is " + crypto::describe_key(key) +
                    "; Signet signs with EC P-256, EC P-384, RSA (2048 to 4096 bits) or Ed25519 keys");
  }
  switch (*algorithm) {
    case crypto::KeyAlgorithm::EcP384: return EVP_sha384();
    case crypto::KeyAlgorithm::Ed25519: return nullptr;
    case crypto::KeyAlgorithm::EcP256:
    case crypto::KeyAlgorithm::Rsa2048:
    case crypto::KeyAlgorithm::Rsa3072:
    case crypto::KeyAlgorithm::Rsa4096: return EVP_sha256();
  }
  return EVP_sha256();
}

void require_valid_base_url(const std::string& base) {
  const bool scheme = base.starts_with("http://") || base.starts_with("https://");
  const std::size_t host = base.find("://") + 3;
  const bool ok = scheme && base.size() > host && base.back() != '/' &&
                  std::none_of(base.begin(), base.end(), [](char c) {
                    return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f;
                  });
  if (!ok) {
    throw Error(ErrorKind::Malformed, "public-url-invalid",
                "the public base URL \"" + base +
                    "\" is not usable; give an http:// URL without a trailing slash, such as "
                    "\"http://ca.example.test\"");
  }
}

ossl::X509ExtensionPtr make_extension(int nid, bool critical, void* value) {
  ossl::X509ExtensionPtr ext{X509V3_EXT_i2d(nid, critical ? 1 : 0, value)};
  if (!ext) build_failed("encoding an extension failed");
  return ext;
}

// An IA5String for a URI, a DNS name or an rfc822Name.
ossl::Asn1Ia5StringPtr ia5_string(std::string_view value) {
  if (std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    throw Error(ErrorKind::Malformed, "name-invalid",
                "the name \"" + std::string(value) + "\" is not ASCII (use the A-label form of an IDN)");
  }
  ossl::Asn1Ia5StringPtr text{ASN1_IA5STRING_new()};
  if (!text || ASN1_STRING_set(text.get(), value.data(), static_cast<int>(value.size())) != 1) {
    build_failed("building a name failed");
  }
  return text;
}

ossl::GeneralNamePtr ia5_general_name(int type, std::string_view value) {
  ossl::Asn1Ia5StringPtr text = ia5_string(value);
  ossl::GeneralNamePtr name{GENERAL_NAME_new()};
  if (!name) build_failed("building a name failed");
  GENERAL_NAME_set0_value(name.get(), type, text.release());
  return name;
}

void push_name(GENERAL_NAMES* names, ossl::GeneralNamePtr name) {
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) build_failed("building a name list failed");
  static_cast<void>(name.release());
}

ossl::GeneralNamePtr ip_general_name(const std::string& text) {
  ossl::Asn1OctetStringPtr address{a2i_IPADDRESS(text.c_str())};
  if (!address) {
    ERR_clear_error();
    throw Error(ErrorKind::Malformed, "ip-address-invalid",
                "\"" + text + "\" is not an IPv4 or IPv6 address");
  }
  ossl::GeneralNamePtr name{GENERAL_NAME_new()};
  if (!name) build_failed("building a name failed");
  GENERAL_NAME_set0_value(name.get(), GEN_IPADD, address.release());
  return name;
}

int eku_nid(const std::string& name) {
  static constexpr std::pair<std::string_view, int> kEkus[] = {
      {"serverAuth", NID_server_auth},   {"clientAuth", NID_client_auth},
      {"codeSigning", NID_code_sign},    {"emailProtection", NID_email_protect},
      {"timeStamping", NID_time_stamp},  {"OCSPSigning", NID_OCSP_sign},
  };
  for (const auto& [text, nid] : kEkus) {
    if (name == text) return nid;
  }
  throw Error(ErrorKind::Malformed, "eku-unknown", "unknown extended key usage \"" + name + "\"");
}

void add_extension(X509* cert, const X509_EXTENSION* ext) {
  // X509_add_ext copies; the shared, precomputed extension is only read.
  if (X509_add_ext(cert, const_cast<X509_EXTENSION*>(ext), -1) != 1) build_failed("adding an extension failed");
}

void add_extension(X509* cert, int nid, bool critical, void* value) {
  if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
    build_failed("adding an extension failed");
  }
}

void set_time(ASN1_TIME* field, TimePoint t) {
  // ASN1_TIME_set picks UTCTime through 2049 and GeneralizedTime after, as RFC 5280 4.1.2.5 wants.
  if (ASN1_TIME_set(field, std::chrono::system_clock::to_time_t(t)) == nullptr) {
    build_failed("setting a validity date failed");
  }
}

void set_subject(X509_NAME* name, const crypto::NameEntries& entries) {
  for (const auto& [attribute, value] : entries) {
    if (X509_NAME_add_entry_by_txt(name, attribute.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      throw_openssl(ErrorKind::Malformed, "name-invalid",
                    "the name attribute " + attribute + "=\"" + value + "\" is not valid");
    }
  }
}

// The encoded public key, in an OpenSSL allocation that X509_PUBKEY_set0_param can take over.
ossl::OpensslBuffer openssl_copy(ByteView bytes) {
  ossl::OpensslBuffer copy{static_cast<unsigned char*>(OPENSSL_malloc(std::max<std::size_t>(bytes.size(), 1)))};
  if (!copy) build_failed("out of memory");
  std::copy(bytes.begin(), bytes.end(), copy.get());
  return copy;
}

// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1).
std::optional<Bytes> rsa_public_key_der(const EVP_PKEY* key) {
  BIGNUM* raw_n = nullptr;
  BIGNUM* raw_e = nullptr;
  const bool got_n = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &raw_n) == 1;
  const ossl::BignumPtr n{raw_n};
  const bool got_e = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &raw_e) == 1;
  const ossl::BignumPtr e{raw_e};
  if (!got_n || !got_e) return std::nullopt;
  Bytes integers;
  for (const BIGNUM* value : {n.get(), e.get()}) {
    ossl::Asn1IntegerPtr integer{BN_to_ASN1_INTEGER(value, nullptr)};
    const int size = integer ? i2d_ASN1_INTEGER(integer.get(), nullptr) : 0;
    if (size <= 0) return std::nullopt;
    integers.resize(integers.size() + static_cast<std::size_t>(size));
    unsigned char* out = integers.data() + integers.size() - static_cast<std::size_t>(size);
    if (i2d_ASN1_INTEGER(integer.get(), &out) != size) return std::nullopt;
  }
  const int content = static_cast<int>(integers.size());
  Bytes der(static_cast<std::size_t>(ASN1_object_size(1, content, V_ASN1_SEQUENCE)));
  unsigned char* out = der.data();
  ASN1_put_object(&out, 1, content, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  std::copy(integers.begin(), integers.end(), out);
  return der;
}

// Fills in the SubjectPublicKeyInfo of `cert` from `key` without OSSL_ENCODER. X509_set_pubkey
// builds an encoder chain on every call in OpenSSL 3.0, which costs several times the signature
// itself; the three key types we issue for have simple SPKIs (RFC 5480, RFC 8017, RFC 8410).
// Returns false when `key` is something else (the caller then takes the slow, general path).
bool set_public_key_fast(X509* cert, const EVP_PKEY* key) {
  int algorithm = NID_undef;
  int parameter_type = V_ASN1_UNDEF;
  void* parameter = nullptr;
  std::optional<Bytes> encoded;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t group_len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_len) != 1) break;
      int curve = OBJ_txt2nid(group);  // "prime256v1"
      if (curve == NID_undef) curve = EC_curve_nist2nid(group);  // "P-256"
      // "pub" keeps the key's point format (a compressed point stays compressed), as the encoder
      // does; "encoded-pub-key" would always give the uncompressed form.
      // One call with room for the largest point (P-521 uncompressed: 133 bytes): asking for the
      // size first would encode the point twice.
      Bytes point(160);
      std::size_t point_len = 0;
      if (curve == NID_undef || EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                                                point.size(), &point_len) != 1) {
        break;
      }
      point.resize(point_len);
      algorithm = NID_X9_62_id_ecPublicKey;
      parameter_type = V_ASN1_OBJECT;
      parameter = OBJ_nid2obj(curve);  // namedCurve; a static object
      encoded = std::move(point);
      break;
    }
    case EVP_PKEY_ED25519: {
      Bytes raw(32);
      std::size_t raw_len = raw.size();
      if (EVP_PKEY_get_raw_public_key(key, raw.data(), &raw_len) != 1 || raw_len != raw.size()) break;
      algorithm = NID_ED25519;  // parameters absent (RFC 8410 3)
      encoded = std::move(raw);
      break;
    }
    case EVP_PKEY_RSA:
      algorithm = NID_rsaEncryption;
      parameter_type = V_ASN1_NULL;
      encoded = rsa_public_key_der(key);
      break;
    default: break;
  }
  ERR_clear_error();
  if (!encoded) return false;
  ossl::OpensslBuffer bits = openssl_copy(*encoded);
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(algorithm), parameter_type, parameter,
                             bits.get(), static_cast<int>(encoded->size())) != 1) {
    build_failed("setting the subject public key failed");
  }
  static_cast<void>(bits.release());  // now owned by the certificate
  return true;
}

void set_public_key(X509* cert, EVP_PKEY* key) {
  if (!set_public_key_fast(cert, key) && X509_set_pubkey(cert, key) != 1) {
    build_failed("setting the subject public key failed");
  }
}

// The extensions every certificate shares, built once per CaSigner.

ossl::X509ExtensionPtr make_basic_constraints() {
  ossl::BasicConstraintsPtr bc{BASIC_CONSTRAINTS_new()};
  if (!bc) build_failed("building basicConstraints failed");
  bc->ca = 0;
  return make_extension(NID_basic_constraints, true, bc.get());
}

// The CA's own SKI when it has one (so that chains match however that SKI was computed), else the
// RFC 5280 method 1 hash of its key.
ossl::X509ExtensionPtr make_authority_key_id(const ASN1_OCTET_STRING* ca_ski, const Bytes& ca_key_sha1) {
  ERR_clear_error();  // X509_get0_subject_key_id may leave a note when the CA has no SKI
  ossl::AuthorityKeyIdPtr akid{AUTHORITY_KEYID_new()};
  if (!akid) build_failed("building the authority key identifier failed");
  akid->keyid = ca_ski != nullptr ? ASN1_OCTET_STRING_dup(ca_ski) : ASN1_OCTET_STRING_new();
  if (akid->keyid == nullptr ||
      (ca_ski == nullptr &&
       ASN1_OCTET_STRING_set(akid->keyid, ca_key_sha1.data(), static_cast<int>(ca_key_sha1.size())) != 1)) {
    build_failed("building the authority key identifier failed");
  }
  return make_extension(NID_authority_key_identifier, false, akid.get());
}

// cRLDistributionPoints, or freshestCRL (the same syntax, RFC 5280 4.2.1.15) with NID_freshest_crl.
ossl::X509ExtensionPtr make_crl_distribution_points(const std::string& url, int nid = NID_crl_distribution_points) {
  ossl::DistPointPtr point{DIST_POINT_new()};
  ossl::CrlDistPointsPtr points{CRL_DIST_POINTS_new()};
  if (!point || !points) build_failed("building the CRL distribution point failed");
  point->distpoint = DIST_POINT_NAME_new();  // owned by `point` from here on
  ossl::GeneralNamesPtr names{GENERAL_NAMES_new()};
  if (point->distpoint == nullptr || !names) build_failed("building the CRL distribution point failed");
  push_name(names.get(), ia5_general_name(GEN_URI, url));
  point->distpoint->type = 0;  // fullName
  point->distpoint->name.fullname = names.release();
  if (sk_DIST_POINT_push(points.get(), point.get()) == 0) build_failed("building the CRL distribution point failed");
  static_cast<void>(point.release());
  return make_extension(nid, false, points.get());
}

ossl::X509ExtensionPtr make_authority_info_access(const std::string& ocsp, const std::string& ca_issuers) {
  ossl::AuthorityInfoAccessPtr aia{AUTHORITY_INFO_ACCESS_new()};
  if (!aia) build_failed("building authority information access failed");
  for (const auto& [method, url] : {std::pair{NID_ad_OCSP, &ocsp}, std::pair{NID_ad_ca_issuers, &ca_issuers}}) {
    ossl::AccessDescriptionPtr description{ACCESS_DESCRIPTION_new()};
    if (!description) build_failed("building authority information access failed");
    description->method = OBJ_nid2obj(method);  // a static object: nothing to free
    // ACCESS_DESCRIPTION_new made an empty location; fill it in.
    GENERAL_NAME_set0_value(description->location, GEN_URI, ia5_string(*url).release());
    if (sk_ACCESS_DESCRIPTION_push(aia.get(), description.get()) == 0) {
      build_failed("building authority information access failed");
    }
    static_cast<void>(description.release());
  }
  return make_extension(NID_info_access, false, aia.get());
}

}  // namespace

CaSigner::CaSigner(ossl::Pkey ca_key, crypto::Certificate ca_certificate,
                   std::vector<crypto::Certificate> chain, PublicUrls urls)
    : key_(std::move(ca_key)), ca_(std::move(ca_certificate)), chain_(std::move(chain)), urls_(std::move(urls)) {
  // A public key alone, or someone else's key, must fail here rather than at the first signature.
  if (!crypto::same_public_key(key_.get(), ca_.public_key()) ||
      !crypto::pairwise_consistent(key_.get(), ca_.public_key())) {
    throw Error(ErrorKind::Integrity, "ca-key-mismatch",
                "the CA private key does not belong to the CA certificate " + ca_.subject());
  }
  digest_ = signature_digest(key_.get());
  require_valid_base_url(urls_.base);
  ca_chain_pem_ = crypto::to_pem(ca_);
  for (const auto& c : chain_) ca_chain_pem_ += crypto::to_pem(c);

  // CertID hashes (RFC 6960 4.1.1): over the issuer's name DER and its key's BIT STRING value.
  const X509_NAME* ca_name = X509_get_subject_name(ca_.x509());
  Bytes name_der(static_cast<std::size_t>(std::max(i2d_X509_NAME(ca_name, nullptr), 0)));
  unsigned char* out = name_der.data();
  if (name_der.empty() || i2d_X509_NAME(ca_name, &out) != static_cast<int>(name_der.size())) {
    build_failed("encoding the CA name failed");
  }
  const ASN1_BIT_STRING* key_bits = X509_get0_pubkey_bitstr(ca_.x509());
  if (key_bits == nullptr) build_failed("reading the CA public key failed");
  const auto key_size = static_cast<std::size_t>(ASN1_STRING_length(key_bits));
  name_sha1_ = digest_of(EVP_sha1(), name_der.data(), name_der.size());
  name_sha256_ = digest_of(EVP_sha256(), name_der.data(), name_der.size());
  key_sha1_ = digest_of(EVP_sha1(), ASN1_STRING_get0_data(key_bits), key_size);
  key_sha256_ = digest_of(EVP_sha256(), ASN1_STRING_get0_data(key_bits), key_size);

  basic_constraints_ = make_basic_constraints();
  authority_key_id_ = make_authority_key_id(X509_get0_subject_key_id(ca_.x509()), key_sha1_);
  crl_distribution_points_ = make_crl_distribution_points(urls_.crl());
  if (urls_.publishes_delta) freshest_crl_ = make_crl_distribution_points(urls_.delta_crl(), NID_freshest_crl);
  authority_info_access_ = make_authority_info_access(urls_.ocsp(), urls_.ca_certificate());
}

ossl::MdCtx CaSigner::new_sign_context() const {
  ossl::MdCtx ctx{EVP_MD_CTX_new()};
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_, nullptr, key_.get()) != 1) {
    throw_openssl(ErrorKind::Crypto, "sign-failed", "preparing to sign with the CA key failed");
  }
  return ctx;
}

crypto::Certificate CaSigner::sign_certificate(const CertificateTemplate& tmpl) const {
  const auto first = std::find_if(tmpl.serial.bytes.begin(), tmpl.serial.bytes.end(),
                                  [](std::uint8_t b) { return b != 0; });
  const auto serial_size = static_cast<std::size_t>(tmpl.serial.bytes.end() - first);
  if (serial_size == 0 || serial_size > kMaxSerialBytes) {
    throw Error(ErrorKind::Malformed, "serial-invalid",
                "a certificate serial must be a positive number of at most 20 bytes");
  }
  if (tmpl.not_after < tmpl.not_before) {
    throw Error(ErrorKind::Malformed, "validity-invalid", "the certificate would expire before it starts");
  }
  if (tmpl.public_key == nullptr) {
    throw Error(ErrorKind::Malformed, "public-key-missing", "the certificate template has no public key");
  }
  const bool has_san = !tmpl.dns_names.empty() || !tmpl.ip_addresses.empty() || !tmpl.emails.empty();
  if (tmpl.subject.empty() && !has_san) {
    throw Error(ErrorKind::Malformed, "name-missing",
                "a certificate needs a subject or at least one subject alternative name");
  }

  ossl::X509Ptr cert{X509_new()};
  if (!cert) build_failed("X509_new failed");
  X509* x = cert.get();
  if (X509_set_version(x, X509_VERSION_3) != 1 ||
      ASN1_STRING_set(X509_get_serialNumber(x), &*first, static_cast<int>(serial_size)) != 1 ||
      X509_set_issuer_name(x, X509_get_subject_name(ca_.x509())) != 1) {
    build_failed("building a certificate failed");
  }
  set_public_key(x, tmpl.public_key.get());
  set_time(X509_getm_notBefore(x), tmpl.not_before);
  set_time(X509_getm_notAfter(x), tmpl.not_after);
  set_subject(X509_get_subject_name(x), tmpl.subject);

  add_extension(x, basic_constraints_.get());

  const int key_type = EVP_PKEY_get_base_id(tmpl.public_key.get());
  const KeyUsage& ku = tmpl.key_usage;
  const std::pair<bool, int> bits[] = {
      {ku.digital_signature, 0},
      {ku.content_commitment, 1},
      {ku.key_encipherment && key_type == EVP_PKEY_RSA, 2},
      {ku.key_agreement && key_type == EVP_PKEY_EC, 4},
  };
  if (std::any_of(std::begin(bits), std::end(bits), [](const auto& b) { return b.first; })) {
    ossl::Asn1BitStringPtr usage{ASN1_BIT_STRING_new()};
    if (!usage) build_failed("building keyUsage failed");
    for (const auto& [asserted, bit] : bits) {
      if (asserted && ASN1_BIT_STRING_set_bit(usage.get(), bit, 1) != 1) build_failed("building keyUsage failed");
    }
    add_extension(x, NID_key_usage, true, usage.get());
  }

  if (!tmpl.extended_key_usages.empty()) {
    ossl::ExtendedKeyUsagePtr eku{sk_ASN1_OBJECT_new_null()};
    if (!eku) build_failed("building extendedKeyUsage failed");
    for (const auto& name : tmpl.extended_key_usages) {
      // Static objects: EXTENDED_KEY_USAGE_free leaves them alone.
      if (sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(eku_nid(name))) == 0) build_failed("building extendedKeyUsage failed");
    }
    add_extension(x, NID_ext_key_usage, false, eku.get());
  }

  // SKI, RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value.
  const ASN1_BIT_STRING* key_bits = X509_get0_pubkey_bitstr(x);
  if (key_bits == nullptr) build_failed("reading the subject public key failed");
  const Bytes ski = digest_of(EVP_sha1(), ASN1_STRING_get0_data(key_bits),
                              static_cast<std::size_t>(ASN1_STRING_length(key_bits)));
  ossl::Asn1OctetStringPtr ski_value{ASN1_OCTET_STRING_new()};
  if (!ski_value || ASN1_OCTET_STRING_set(ski_value.get(), ski.data(), static_cast<int>(ski.size())) != 1) {
    build_failed("building the subject key identifier failed");
  }
  add_extension(x, NID_subject_key_identifier, false, ski_value.get());
  add_extension(x, authority_key_id_.get());

  if (has_san) {
    ossl::GeneralNamesPtr names{GENERAL_NAMES_new()};
    if (!names) build_failed("building subjectAltName failed");
    for (const auto& dns : tmpl.dns_names) push_name(names.get(), ia5_general_name(GEN_DNS, dns));
    for (const auto& ip : tmpl.ip_addresses) push_name(names.get(), ip_general_name(ip));
    for (const auto& email : tmpl.emails) push_name(names.get(), ia5_general_name(GEN_EMAIL, email));
    // RFC 5280 4.2.1.6: with an empty subject the SAN carries the identity and must be critical.
    add_extension(x, NID_subject_alt_name, tmpl.subject.empty(), names.get());
  }
  add_extension(x, crl_distribution_points_.get());
  if (freshest_crl_) add_extension(x, freshest_crl_.get());
  add_extension(x, authority_info_access_.get());

  const ossl::MdCtx ctx = new_sign_context();
  if (X509_sign_ctx(x, ctx.get()) <= 0) {
    throw_openssl(ErrorKind::Crypto, "certificate-sign-failed", "signing a certificate failed");
  }
  return crypto::Certificate::adopt(std::move(cert));
}

}  // namespace signet::issuance
