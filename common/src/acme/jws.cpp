#include "signet/acme/jws.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <algorithm>
#include <array>
#include <bit>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"

namespace signet::acme {

namespace {

// ---- base64url -------------------------------------------------------------------------------

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> kSextets = [] {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}();

// ---- errors ----------------------------------------------------------------------------------

[[noreturn]] void malformed(const std::string& message) {
  throw Error(ErrorKind::Malformed, "malformed", message);
}

[[noreturn]] void bad_public_key(const std::string& message) {
  throw Error(ErrorKind::PolicyDenied, "badPublicKey", message);
}

std::string in_quotes(std::string_view name) { return "\"" + std::string(name) + "\""; }

std::string joined(std::span<const std::string_view> names) {
  std::string out;
  for (const std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// ---- JSON ------------------------------------------------------------------------------------

// nlohmann keeps the last of two members with the same name while other JOSE libraries keep the
// first, so a client and this server could disagree on what was signed; RFC 7515 section 4 allows
// refusing such an object, and that is safer. `what` names the text in messages.
nlohmann::json parse_object(std::string_view text, const std::string& what) {
  std::vector<std::set<std::string>> names;  // per depth, the member names of the open object
  std::string duplicate;
  const nlohmann::json::parser_callback_t callback = [&](int depth, nlohmann::json::parse_event_t event,
                                                         nlohmann::json& parsed) {
    const auto level = static_cast<std::size_t>(depth);
    if (event == nlohmann::json::parse_event_t::object_start) {
      // The object's members are reported one level deeper than the object itself.
      if (names.size() < level + 2) names.resize(level + 2);
      names[level + 1].clear();
    } else if (event == nlohmann::json::parse_event_t::key && level < names.size()) {
      const auto& name = parsed.get_ref<const std::string&>();
      if (!names[level].insert(name).second && duplicate.empty()) duplicate = name;
    }
    return true;
  };
  nlohmann::json value = nlohmann::json::parse(text, callback, false);
  if (value.is_discarded()) malformed(what + " is not JSON");
  if (!value.is_object()) malformed(what + " is not a JSON object");
  if (!duplicate.empty()) malformed(what + " has the member " + in_quotes(duplicate) + " more than once");
  return value;
}

// The string member `name` of `object`; `what` names the object in messages.
const std::string& string_member(const nlohmann::json& object, std::string_view name, const std::string& what) {
  const auto it = object.find(name);
  if (it == object.end()) malformed(what + " has no " + in_quotes(name));
  if (!it->is_string()) malformed(what + "'s " + in_quotes(name) + " is not a string");
  return it->get_ref<const std::string&>();
}

Bytes base64url_member(const nlohmann::json& object, std::string_view name, const std::string& what) {
  auto bytes = base64url_decode(string_member(object, name, what));
  if (!bytes) malformed(what + "'s " + in_quotes(name) + " is not base64url (RFC 4648 section 5, no padding)");
  return std::move(*bytes);
}

std::string as_string(const Bytes& bytes) { return {bytes.begin(), bytes.end()}; }

// ---- JWK -------------------------------------------------------------------------------------

const std::string kJwk = "the JWK";

// Members that only a private or a symmetric key has (RFC 7518 sections 6.2.2, 6.3.2 and 6.4).
constexpr std::array<std::string_view, 8> kPrivateMembers = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

Jwk make_jwk(ossl::Pkey key, nlohmann::json canonical) {
  Jwk jwk{std::move(key), std::move(canonical), {}};
  jwk.thumbprint = jwk_thumbprint(jwk);
  return jwk;
}

struct Curve {
  std::string_view crv;
  int nid;
  std::size_t size;  // bytes of a coordinate
};
constexpr std::array kCurves = {Curve{"P-256", NID_X9_62_prime256v1, 32}, Curve{"P-384", NID_secp384r1, 48}};

// RFC 7518 section 6.2.1.2: a coordinate is the full size of the curve's field, leading zeros
// included, so that the thumbprint of a key has one form only.
Bytes coordinate(const nlohmann::json& jwk, std::string_view name, const Curve& curve) {
  Bytes value = base64url_member(jwk, name, kJwk);
  if (value.size() != curve.size) {
    malformed("the JWK's " + in_quotes(name) + " is " + std::to_string(value.size()) + " bytes; a " +
              std::string(curve.crv) + " coordinate is exactly " + std::to_string(curve.size) +
              " (RFC 7518 section 6.2.1.2)");
  }
  return value;
}

// ec_public_key refuses a point off the curve already; the full check also refuses one outside the
// prime-order subgroup, which costs one scalar multiplication per new key.
bool public_key_valid(EVP_PKEY* key) {
  ossl::PkeyCtx ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr)};
  const bool ok = ctx && EVP_PKEY_public_check(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

Jwk parse_ec(const nlohmann::json& jwk) {
  const std::string& crv = string_member(jwk, "crv", kJwk);
  const auto curve = std::find_if(kCurves.begin(), kCurves.end(), [&](const Curve& c) { return c.crv == crv; });
  if (curve == kCurves.end()) bad_public_key("the JWK's curve " + in_quotes(crv) + " is not supported; use P-256 or P-384");
  const Bytes x = coordinate(jwk, "x", *curve);
  const Bytes y = coordinate(jwk, "y", *curve);
  Bytes point{0x04};
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  ossl::Pkey key = crypto::ec_public_key(curve->nid, point);
  if (!key || !public_key_valid(key.get())) {
    bad_public_key("the JWK's \"x\" and \"y\" are not a valid point on " + crv);
  }
  return make_jwk(std::move(key), {{"crv", crv}, {"kty", "EC"}, {"x", base64url_encode(x)}, {"y", base64url_encode(y)}});
}

// A Base64urlUInt (RFC 7518 section 2): big-endian, no leading zero octet, so one value has one
// encoding and one thumbprint.
Bytes unsigned_member(const nlohmann::json& jwk, std::string_view name) {
  Bytes value = base64url_member(jwk, name, kJwk);
  if (value.empty() || (value.size() > 1 && value[0] == 0)) {
    malformed("the JWK's " + in_quotes(name) + " is not a minimal unsigned integer (RFC 7518 section 2: no leading zero octets)");
  }
  return value;
}

std::size_t bit_length(ByteView minimal) {
  return (minimal.size() - 1) * 8 + static_cast<std::size_t>(std::bit_width(minimal[0]));
}

// OSSL_PARAM integers are in native byte order, JWK integers big-endian.
Bytes native_order(ByteView big_endian) {
  Bytes out(big_endian.begin(), big_endian.end());
  if constexpr (std::endian::native == std::endian::little) std::reverse(out.begin(), out.end());
  return out;
}

ossl::Pkey rsa_public_key(ByteView n, ByteView e) {
  Bytes n_native = native_order(n);
  Bytes e_native = native_order(e);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, n_native.data(), n_native.size()),
      OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, e_native.data(), e_native.size()),
      OSSL_PARAM_construct_end()};
  ossl::PkeyCtx ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)};
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return ossl::Pkey(key);
}

// No EVP_PKEY_public_check for RSA: OpenSSL's runs a Miller-Rabin round on n, a quarter of a
// second for 8192 bits, which anyone could make the server do; the cheap checks are done here.
Jwk parse_rsa(const nlohmann::json& jwk) {
  const Bytes n = unsigned_member(jwk, "n");
  const Bytes e = unsigned_member(jwk, "e");
  const std::size_t bits = bit_length(n);
  if (bits < 2048 || bits > 8192) {
    bad_public_key("the JWK is a " + std::to_string(bits) + "-bit RSA key; RSA keys of 2048 to 8192 bits are accepted");
  }
  if ((n.back() & 1) == 0) bad_public_key("the JWK's RSA modulus is even");
  if (bit_length(e) < 17 || bit_length(e) > 64 || (e.back() & 1) == 0) {
    bad_public_key("the JWK's RSA public exponent must be odd, at least 65537 and at most 64 bits");
  }
  ossl::Pkey key = rsa_public_key(n, e);
  if (!key) bad_public_key("the JWK's RSA modulus and exponent do not make a key");
  return make_jwk(std::move(key), {{"e", base64url_encode(e)}, {"kty", "RSA"}, {"n", base64url_encode(n)}});
}

Jwk parse_okp(const nlohmann::json& jwk) {
  const std::string& crv = string_member(jwk, "crv", kJwk);
  if (crv != "Ed25519") bad_public_key("the JWK's curve " + in_quotes(crv) + " is not supported; use Ed25519");
  const Bytes x = base64url_member(jwk, "x", kJwk);
  if (x.size() != 32) malformed("the JWK's \"x\" is " + std::to_string(x.size()) + " bytes; an Ed25519 key is 32");
  ossl::Pkey key{EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, x.data(), x.size())};
  if (!key) {
    ERR_clear_error();
    bad_public_key("the JWK's \"x\" is not an Ed25519 public key");
  }
  return make_jwk(std::move(key), {{"crv", crv}, {"kty", "OKP"}, {"x", base64url_encode(x)}});
}

// ---- jwk_of ------------------------------------------------------------------------------------

// A public BIGNUM parameter of `key`, big-endian, left-padded to `width` bytes (0: minimal).
Bytes bn_param(const EVP_PKEY* key, const char* name, std::size_t width = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    throw_openssl(ErrorKind::Crypto, "encode-failed", std::string("reading ") + name + " of a public key failed");
  }
  const ossl::BignumPtr bn{raw};
  Bytes out(width != 0 ? width : static_cast<std::size_t>(BN_num_bytes(bn.get())));
  if (BN_bn2binpad(bn.get(), out.data(), static_cast<int>(out.size())) < 0) {
    throw_openssl(ErrorKind::Crypto, "encode-failed", std::string("encoding ") + name + " of a public key failed");
  }
  return out;
}

nlohmann::json ec_jwk(const EVP_PKEY* key, std::string_view crv, std::size_t size) {
  return {{"crv", crv},
          {"kty", "EC"},
          {"x", base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, size))},
          {"y", base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, size))}};
}

nlohmann::json ed25519_jwk(const EVP_PKEY* key) {
  Bytes x(32);
  std::size_t len = x.size();
  if (EVP_PKEY_get_raw_public_key(key, x.data(), &len) != 1 || len != x.size()) {
    throw_openssl(ErrorKind::Crypto, "encode-failed", "reading an Ed25519 public key failed");
  }
  return {{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", base64url_encode(x)}};
}

// ---- algorithms ------------------------------------------------------------------------------

struct Algorithm {
  std::string_view name;
  const char* digest;       // nullptr for EdDSA, which hashes internally
  std::size_t ecdsa_half;   // bytes of r (and of s) for ECDSA, 0 otherwise
};
constexpr std::array kAlgorithms = {Algorithm{"ES256", "SHA256", 32}, Algorithm{"ES384", "SHA384", 48},
                                    Algorithm{"RS256", "SHA256", 0}, Algorithm{"EdDSA", nullptr, 0}};
constexpr std::array<std::string_view, 4> kSignatureNames = {"ES256", "ES384", "RS256", "EdDSA"};
constexpr std::array<std::string_view, 3> kMacNames = {"HS256", "HS384", "HS512"};

const Algorithm* find_algorithm(std::string_view name) {
  const auto it = std::find_if(kAlgorithms.begin(), kAlgorithms.end(), [&](const Algorithm& a) { return a.name == name; });
  return it == kAlgorithms.end() ? nullptr : &*it;
}

const char* mac_digest(std::string_view alg) {
  if (alg == "HS256") return "SHA256";
  if (alg == "HS384") return "SHA384";
  if (alg == "HS512") return "SHA512";
  return nullptr;
}

bool key_fits(std::string_view alg, const EVP_PKEY* key) {
  if (alg == "ES256") return crypto::algorithm_of(key) == crypto::KeyAlgorithm::EcP256;
  if (alg == "ES384") return crypto::algorithm_of(key) == crypto::KeyAlgorithm::EcP384;
  if (alg == "RS256") return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
  if (alg == "EdDSA") return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
  return false;
}

const Algorithm& algorithm_for(const EVP_PKEY* key) {
  for (const Algorithm& alg : kAlgorithms) {
    if (key_fits(alg.name, key)) return alg;
  }
  throw Error(ErrorKind::Unsupported, "badSignatureAlgorithm",
              "a " + crypto::describe_key(key) + " key has no JWS algorithm here; use " + joined(kSignatureNames));
}

// ECDSA_SIG has no owner in handles.h (which this change may not edit); it belongs there.

// JWS carries ECDSA signatures as r || s (RFC 7518 section 3.4), OpenSSL takes DER.
std::optional<Bytes> ecdsa_der(ByteView raw) {
  const std::size_t half = raw.size() / 2;
  ossl::BignumPtr r{BN_bin2bn(raw.data(), static_cast<int>(half), nullptr)};
  ossl::BignumPtr s{BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr)};
  ossl::EcdsaSig sig{ECDSA_SIG_new()};
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  const ossl::OpensslBuffer owned{der};
  if (len <= 0) return std::nullopt;
  return Bytes(der, der + len);
}

Bytes ecdsa_raw(ByteView der, std::size_t half) {
  const unsigned char* p = der.data();
  const ossl::EcdsaSig sig{d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()))};
  if (!sig) throw_openssl(ErrorKind::Crypto, "sign-failed", "decoding an ECDSA signature failed");
  Bytes raw(2 * half);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), static_cast<int>(half)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + half, static_cast<int>(half)) < 0) {
    throw_openssl(ErrorKind::Crypto, "sign-failed", "encoding an ECDSA signature failed");
  }
  return raw;
}

Bytes digest_sign(const EVP_PKEY* key, const char* digest, std::string_view input) {
  ossl::MdCtx ctx{EVP_MD_CTX_new()};
  std::size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, const_cast<EVP_PKEY*>(key), nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, as_bytes(input).data(), input.size()) != 1) {
    throw_openssl(ErrorKind::Crypto, "sign-failed", "signing a JWS failed");
  }
  Bytes signature(len);
  if (EVP_DigestSign(ctx.get(), signature.data(), &len, as_bytes(input).data(), input.size()) != 1) {
    throw_openssl(ErrorKind::Crypto, "sign-failed", "signing a JWS failed");
  }
  signature.resize(len);
  return signature;
}

// ---- protected header ------------------------------------------------------------------------

// What messages call the JWS of each kind.
std::string jws_what(JwsKind kind) {
  switch (kind) {
    case JwsKind::Request: return "the request body";
    case JwsKind::KeyChangeInner: return "the key change's inner JWS";
    case JwsKind::ExternalAccountBinding: return "the external account binding";
  }
  return "the JWS";
}

std::string header_what(JwsKind kind) {
  return kind == JwsKind::Request ? "the JWS protected header" : "the protected header of " + jws_what(kind);
}

const std::string& nonempty_string(const nlohmann::json& header, std::string_view name, const std::string& what) {
  const std::string& value = string_member(header, name, what);
  if (value.empty()) malformed(what + "'s " + in_quotes(name) + " is empty");
  return value;
}

void check_alg(const std::string& alg, JwsKind kind) {
  const bool eab = kind == JwsKind::ExternalAccountBinding;
  const std::span<const std::string_view> accepted = eab ? std::span<const std::string_view>(kMacNames)
                                                         : std::span<const std::string_view>(kSignatureNames);
  if (std::find(accepted.begin(), accepted.end(), alg) != accepted.end()) return;
  throw Error(ErrorKind::Unsupported, "badSignatureAlgorithm",
              "the JWS algorithm " + in_quotes(alg) + " is not accepted" +
                  (eab ? " for an external account binding" : "") + "; use one of " + joined(accepted));
}

// Which of "jwk" and "kid" each kind needs (RFC 8555 sections 6.2, 7.3.4 and 7.3.5).
void check_key_members(bool has_jwk, bool has_kid, JwsKind kind, const std::string& what) {
  switch (kind) {
    case JwsKind::Request:
      if (has_jwk && has_kid) malformed(what + " has both \"jwk\" and \"kid\"; send exactly one");
      if (!has_jwk && !has_kid) malformed(what + " has neither \"jwk\" nor \"kid\"; send exactly one");
      return;
    case JwsKind::KeyChangeInner:
      if (!has_jwk) malformed(what + " has no \"jwk\"; it carries the new key (RFC 8555 section 7.3.5)");
      if (has_kid) malformed(what + " has a \"kid\"; it names the new key with \"jwk\" only");
      return;
    case JwsKind::ExternalAccountBinding:
      if (!has_kid) malformed(what + " has no \"kid\" naming the external account (RFC 8555 section 7.3.4)");
      if (has_jwk) malformed(what + " has a \"jwk\"; the account key is its payload (RFC 8555 section 7.3.4)");
      return;
  }
}

void read_nonce(Jws& jws, JwsKind kind, const std::string& what) {
  const nlohmann::json& header = jws.protected_header;
  if (kind == JwsKind::ExternalAccountBinding && header.contains("nonce")) {
    malformed(what + " has a \"nonce\"; it must have none (RFC 8555 section 7.3.4)");
  }
  if (kind != JwsKind::Request) return;  // the inner JWS's nonce is ignored (RFC 8555 section 7.3.5)
  const auto it = header.find("nonce");
  // RFC 8555 section 6.5: a missing or unusable nonce is badNonce, which clients retry.
  if (it == header.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw Error(ErrorKind::Malformed, "badNonce",
                what + " has no \"nonce\" string; take one from the Replay-Nonce header of any response or from newNonce");
  }
  jws.nonce = it->get<std::string>();
}

void read_header(Jws& jws, JwsKind kind) {
  const nlohmann::json& header = jws.protected_header;
  const std::string what = header_what(kind);
  if (header.contains("crit")) malformed(what + " has \"crit\"; no JWS extension is understood here");
  jws.alg = string_member(header, "alg", what);
  check_alg(jws.alg, kind);
  jws.url = nonempty_string(header, "url", what);
  const bool has_jwk = header.contains("jwk");
  const bool has_kid = header.contains("kid");
  check_key_members(has_jwk, has_kid, kind, what);
  if (has_kid) jws.kid = nonempty_string(header, "kid", what);
  if (has_jwk) jws.jwk = parse_jwk(header.at("jwk"));
  read_nonce(jws, kind, what);
}

}  // namespace

// ---- public functions ------------------------------------------------------------------------

std::string base64url_encode(ByteView bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t group = 0;
  int bits = 0;
  for (const std::uint8_t byte : bytes) {
    group = (group << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(group >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(group << (6 - bits)) & 0x3f];
  return out;
}

std::optional<Bytes> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t group = 0;
  int bits = 0;
  for (const char c : text) {
    const int sextet = kSextets[static_cast<unsigned char>(c)];
    if (sextet < 0) return std::nullopt;
    group = (group << 6) | static_cast<std::uint32_t>(sextet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(group >> bits));
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes (RFC 4648 section 3.5).
  if ((group & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

Jwk parse_jwk(const nlohmann::json& jwk) {
  if (!jwk.is_object()) malformed("the JWK is not a JSON object");
  for (const std::string_view name : kPrivateMembers) {
    if (jwk.contains(name)) malformed("the JWK has the private member " + in_quotes(name) + "; send the public key only");
  }
  const std::string& kty = string_member(jwk, "kty", kJwk);
  if (kty == "EC") return parse_ec(jwk);
  if (kty == "RSA") return parse_rsa(jwk);
  if (kty == "OKP") return parse_okp(jwk);
  bad_public_key("the JWK's key type " + in_quotes(kty) + " is not supported; use EC (P-256, P-384), RSA or OKP (Ed25519)");
}

std::string jwk_thumbprint(const Jwk& jwk) {
  // json objects keep their members sorted and dump() adds no whitespace: RFC 7638's canonical form.
  return base64url_encode(crypto::sha256(as_bytes(jwk.json.dump())));
}

nlohmann::json jwk_of(const EVP_PKEY* public_key) {
  switch (EVP_PKEY_get_base_id(public_key)) {
    case EVP_PKEY_RSA:
      return {{"e", base64url_encode(bn_param(public_key, OSSL_PKEY_PARAM_RSA_E))},
              {"kty", "RSA"},
              {"n", base64url_encode(bn_param(public_key, OSSL_PKEY_PARAM_RSA_N))}};
    case EVP_PKEY_ED25519: return ed25519_jwk(public_key);
    case EVP_PKEY_EC:
      if (crypto::algorithm_of(public_key) == crypto::KeyAlgorithm::EcP256) return ec_jwk(public_key, "P-256", 32);
      if (crypto::algorithm_of(public_key) == crypto::KeyAlgorithm::EcP384) return ec_jwk(public_key, "P-384", 48);
      break;
    default: break;
  }
  throw Error(ErrorKind::Unsupported, "badPublicKey", "a " + crypto::describe_key(public_key) + " key has no JWK form here");
}

Jws parse_jws(std::string_view body, JwsKind kind) {
  if (body.size() > kMaxJwsBytes) {
    malformed("the request body is " + std::to_string(body.size()) + " bytes; a JWS of at most " +
              std::to_string(kMaxJwsBytes) + " is accepted");
  }
  const std::string what = jws_what(kind);
  const nlohmann::json outer = parse_object(body, what);
  for (const char* name : {"signatures", "header"}) {
    if (outer.contains(name)) {
      malformed(what + " has " + in_quotes(name) + "; only the flattened JWS serialization with a protected header is accepted (RFC 8555 section 6.2)");
    }
  }
  const std::string& protected_b64 = string_member(outer, "protected", what);
  const std::string& payload_b64 = string_member(outer, "payload", what);
  Jws jws;
  jws.protected_header = parse_object(as_string(base64url_member(outer, "protected", what)), header_what(kind));
  jws.payload = as_string(base64url_member(outer, "payload", what));
  jws.post_as_get = payload_b64.empty();
  jws.signature = base64url_member(outer, "signature", what);
  jws.signing_input = protected_b64 + "." + payload_b64;
  read_header(jws, kind);
  return jws;
}

bool verify_jws(const Jws& jws, const EVP_PKEY* key) {
  const Algorithm* alg = find_algorithm(jws.alg);
  if (alg == nullptr || key == nullptr || !key_fits(alg->name, key)) return false;
  ByteView signature = jws.signature;
  Bytes der;
  if (alg->ecdsa_half != 0) {
    if (signature.size() != 2 * alg->ecdsa_half) return false;
    auto converted = ecdsa_der(signature);
    if (!converted) {
      ERR_clear_error();
      return false;
    }
    der = std::move(*converted);
    signature = der;
  }
  const ByteView input = as_bytes(jws.signing_input);
  ossl::MdCtx ctx{EVP_MD_CTX_new()};
  const bool ok =
      ctx &&
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, alg->digest, nullptr, nullptr, const_cast<EVP_PKEY*>(key), nullptr) == 1 &&
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), input.data(), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

bool verify_jws_hmac(const Jws& jws, ByteView hmac_key) {
  const char* digest = mac_digest(jws.alg);
  if (digest == nullptr || hmac_key.empty()) return false;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t len = 0;
  const ByteView input = as_bytes(jws.signing_input);
  const bool ok = EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, hmac_key.data(), hmac_key.size(), input.data(),
                            input.size(), mac.data(), mac.size(), &len) != nullptr;
  ERR_clear_error();
  return ok && crypto::equal_constant_time(ByteView(mac.data(), len), jws.signature);
}

std::string sign_jws(const EVP_PKEY* private_key, nlohmann::json protected_header, std::string_view payload) {
  const Algorithm& alg = algorithm_for(private_key);
  protected_header["alg"] = alg.name;
  const std::string protected_b64 = base64url_encode(as_bytes(protected_header.dump()));
  const std::string payload_b64 = base64url_encode(as_bytes(payload));
  Bytes signature = digest_sign(private_key, alg.digest, protected_b64 + "." + payload_b64);
  if (alg.ecdsa_half != 0) signature = ecdsa_raw(signature, alg.ecdsa_half);
  return nlohmann::json{{"protected", protected_b64}, {"payload", payload_b64}, {"signature", base64url_encode(signature)}}
      .dump();
}

nlohmann::json parse_json_object(std::string_view text, const std::string& what) { return parse_object(text, what); }

}  // namespace signet::acme
