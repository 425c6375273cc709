#include "signet/crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <openssl/decoder.h>

#include <array>
#include <map>
#include <memory>
#include <string>

#include "signet/core/error.h"
#include "signet/crypto/primitives.h"

namespace signet::crypto {

namespace {

struct AlgorithmInfo {
  KeyAlgorithm algorithm;
  std::string_view name;
};

constexpr std::array kAlgorithms = {
    AlgorithmInfo{KeyAlgorithm::EcP256, "ec-p256"},   AlgorithmInfo{KeyAlgorithm::EcP384, "ec-p384"},
    AlgorithmInfo{KeyAlgorithm::Rsa2048, "rsa-2048"}, AlgorithmInfo{KeyAlgorithm::Rsa3072, "rsa-3072"},
    AlgorithmInfo{KeyAlgorithm::Rsa4096, "rsa-4096"}, AlgorithmInfo{KeyAlgorithm::Ed25519, "ed25519"},
};

std::string group_name(const EVP_PKEY* key) {
  char name[80] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) {
    ERR_clear_error();
    return {};
  }
  return std::string(name, len);
}

}  // namespace

std::string_view to_string(KeyAlgorithm algorithm) noexcept {
  for (const auto& info : kAlgorithms) {
    if (info.algorithm == algorithm) return info.name;
  }
  return "unknown";
}

std::optional<KeyAlgorithm> parse_algorithm(std::string_view name) noexcept {
  for (const auto& info : kAlgorithms) {
    if (info.name == name) return info.algorithm;
  }
  return std::nullopt;
}

const std::vector<KeyAlgorithm>& all_algorithms() noexcept {
  static const std::vector<KeyAlgorithm> all = [] {
    std::vector<KeyAlgorithm> v;
    for (const auto& info : kAlgorithms) v.push_back(info.algorithm);
    return v;
  }();
  return all;
}

std::string algorithm_list() {
  std::string out;
  for (const auto& info : kAlgorithms) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

ossl::Pkey generate_key(KeyAlgorithm algorithm) {
  EVP_PKEY* key = nullptr;
  switch (algorithm) {
    case KeyAlgorithm::EcP256: key = EVP_EC_gen("P-256"); break;
    case KeyAlgorithm::EcP384: key = EVP_EC_gen("P-384"); break;
    case KeyAlgorithm::Rsa2048: key = EVP_RSA_gen(2048); break;
    case KeyAlgorithm::Rsa3072: key = EVP_RSA_gen(3072); break;
    case KeyAlgorithm::Rsa4096: key = EVP_RSA_gen(4096); break;
    case KeyAlgorithm::Ed25519: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (key == nullptr) {
    throw_openssl(ErrorKind::Crypto, "keygen-failed",
                  "generating a " + std::string(to_string(algorithm)) + " key failed");
  }
  return ossl::Pkey(key);
}

std::optional<KeyAlgorithm> algorithm_of(const EVP_PKEY* key) {
  if (key == nullptr) return std::nullopt;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519: return KeyAlgorithm::Ed25519;
    case EVP_PKEY_RSA:
      switch (EVP_PKEY_get_bits(key)) {
        case 2048: return KeyAlgorithm::Rsa2048;
        case 3072: return KeyAlgorithm::Rsa3072;
        case 4096: return KeyAlgorithm::Rsa4096;
        default: return std::nullopt;
      }
    case EVP_PKEY_EC: {
      const std::string group = group_name(key);
      if (group == "prime256v1" || group == "P-256") return KeyAlgorithm::EcP256;
      if (group == "secp384r1" || group == "P-384") return KeyAlgorithm::EcP384;
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

std::string describe_key(const EVP_PKEY* key) {
  if (key == nullptr) return "no key";
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return "RSA " + std::to_string(EVP_PKEY_get_bits(key)) + "-bit";
    case EVP_PKEY_EC: return "EC " + group_name(key);
    default: {
      const char* name = EVP_PKEY_get0_type_name(key);
      return name != nullptr ? name : "unknown key type";
    }
  }
}

Bytes public_key_der(const EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) throw_openssl(ErrorKind::Crypto, "encode-failed", "encoding a public key failed");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

SecretBytes private_key_der(const EVP_PKEY* key) {
  ossl::Pkcs8Ptr p8{EVP_PKEY2PKCS8(key)};
  if (!p8) throw_openssl(ErrorKind::Crypto, "encode-failed", "encoding a private key failed");
  const int len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  if (len <= 0) throw_openssl(ErrorKind::Crypto, "encode-failed", "encoding a private key failed");
  SecretBytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p) != len) {
    throw_openssl(ErrorKind::Crypto, "encode-failed", "encoding a private key failed");
  }
  return out;
}

namespace {

const char* decoder_key_type(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::EcP256:
    case KeyAlgorithm::EcP384: return "EC";
    case KeyAlgorithm::Rsa2048:
    case KeyAlgorithm::Rsa3072:
    case KeyAlgorithm::Rsa4096: return "RSA";
    case KeyAlgorithm::Ed25519: return "ED25519";
  }
  return "EC";
}

// A decoder context bound to one output slot. OSSL_DECODER_CTX writes the decoded key through the
// EVP_PKEY** it was created with, so the slot lives beside the context at a stable address.
struct CachedDecoder {
  EVP_PKEY* out = nullptr;
  OSSL_DECODER_CTX* ctx = nullptr;
  CachedDecoder(const char* structure, const char* key_type, int selection) {
    ctx = OSSL_DECODER_CTX_new_for_pkey(&out, "DER", structure, key_type, selection, nullptr, nullptr);
  }
  ~CachedDecoder() { OSSL_DECODER_CTX_free(ctx); }
  CachedDecoder(const CachedDecoder&) = delete;
  CachedDecoder& operator=(const CachedDecoder&) = delete;
};

ossl::Pkey decode_with(OSSL_DECODER_CTX* ctx, EVP_PKEY*& out, ByteView der) {
  out = nullptr;
  const unsigned char* p = der.data();
  std::size_t left = der.size();
  const bool ok = ctx != nullptr && OSSL_DECODER_from_data(ctx, &p, &left) == 1;
  ossl::Pkey key(out);
  out = nullptr;
  if (!ok || left != 0) {
    ERR_clear_error();
    return nullptr;
  }
  return key;
}

ossl::Pkey decode(ByteView der, const char* structure, int selection,
                  std::optional<KeyAlgorithm> expected) {
  if (der.empty()) return nullptr;
  if (expected) {
    // One cached context per thread, structure and key type.
    thread_local std::map<std::pair<std::string, std::string>, std::unique_ptr<CachedDecoder>> cache;
    const char* type = decoder_key_type(*expected);
    auto& slot = cache[{structure, type}];
    if (!slot) slot = std::make_unique<CachedDecoder>(structure, type, selection);
    if (ossl::Pkey key = decode_with(slot->ctx, slot->out, der)) return key;
  }
  CachedDecoder any(structure, nullptr, selection);
  return decode_with(any.ctx, any.out, der);
}

}  // namespace

ossl::Pkey parse_public_key_der(ByteView der, std::optional<KeyAlgorithm> expected) {
  return decode(der, "SubjectPublicKeyInfo", EVP_PKEY_PUBLIC_KEY, expected);
}

namespace {

// A key with the domain parameters of one named curve and no point: what ec_public_key copies.
ossl::Pkey ec_parameters_key(int curve_nid) {
  const char* name = OBJ_nid2sn(curve_nid);
  ossl::PkeyCtx ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  if (name == nullptr || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(name), 0),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEY_PARAMETERS, params) != 1) return nullptr;
  return ossl::Pkey(key);
}

}  // namespace

ossl::Pkey ec_public_key(int curve_nid, ByteView point) {
  // Only the two SEC 1 forms; anything else (the point at infinity, hybrid forms) is left to the
  // general decoder, so that this never accepts what it would refuse.
  if (point.empty() || (point[0] != 0x04 && point[0] != 0x02 && point[0] != 0x03)) return nullptr;
  thread_local std::map<int, ossl::Pkey> curves;
  auto found = curves.find(curve_nid);
  if (found == curves.end()) {
    ossl::Pkey parameters = ec_parameters_key(curve_nid);
    if (!parameters) {
      ERR_clear_error();
      return nullptr;
    }
    found = curves.emplace(curve_nid, std::move(parameters)).first;
  }
  const std::size_t field = static_cast<std::size_t>((EVP_PKEY_get_bits(found->second.get()) + 7) / 8);
  if (point.size() != (point[0] == 0x04 ? 1 + 2 * field : 1 + field)) return nullptr;
  ossl::Pkey key{EVP_PKEY_dup(found->second.get())};
  if (!key || EVP_PKEY_set1_encoded_public_key(key.get(), point.data(), point.size()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return key;
}

ossl::Pkey parse_private_key_der(ByteView der, std::optional<KeyAlgorithm> expected) {
  return decode(der, "PrivateKeyInfo", EVP_PKEY_KEYPAIR, expected);
}

Fingerprint fingerprint_of_spki(ByteView spki_der) { return Fingerprint{sha256(spki_der)}; }

bool same_public_key(const EVP_PKEY* a, const EVP_PKEY* b) {
  if (a == nullptr || b == nullptr) return false;
  const int r = EVP_PKEY_eq(a, b);
  ERR_clear_error();
  return r == 1;
}

bool pairwise_consistent(const EVP_PKEY* private_key, const EVP_PKEY* public_key) {
  if (private_key == nullptr || public_key == nullptr) return false;
  std::array<std::uint8_t, 32> message{};
  random_bytes(message);
  const bool ed = EVP_PKEY_get_base_id(private_key) == EVP_PKEY_ED25519;
  const EVP_MD* md = ed ? nullptr : EVP_sha256();

  ossl::MdCtx sign_ctx{EVP_MD_CTX_new()};
  std::size_t sig_len = 0;
  std::vector<std::uint8_t> sig;
  bool ok = sign_ctx &&
            EVP_DigestSignInit_ex(sign_ctx.get(), nullptr, ed ? nullptr : "SHA256", nullptr,
                                  nullptr, const_cast<EVP_PKEY*>(private_key), nullptr) == 1 &&
            EVP_DigestSign(sign_ctx.get(), nullptr, &sig_len, message.data(), message.size()) == 1;
  if (ok) {
    sig.resize(sig_len);
    ok = EVP_DigestSign(sign_ctx.get(), sig.data(), &sig_len, message.data(), message.size()) == 1;
    sig.resize(sig_len);
  }
  ossl::MdCtx verify_ctx{EVP_MD_CTX_new()};
  ok = ok && verify_ctx &&
       EVP_DigestVerifyInit(verify_ctx.get(), nullptr, md, nullptr,
                            const_cast<EVP_PKEY*>(public_key)) == 1 &&
       EVP_DigestVerify(verify_ctx.get(), sig.data(), sig.size(), message.data(), message.size()) ==
           1;
  ERR_clear_error();
  return ok;
}

}  // namespace signet::crypto
