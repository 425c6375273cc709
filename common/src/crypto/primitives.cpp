#include "signet/crypto/primitives.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <limits>

#include "signet/core/error.h"
#include "signet/crypto/handles.h"

namespace signet::crypto {

void random_bytes(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  if (out.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    throw_openssl(ErrorKind::Crypto, "rng-failed", "the random number generator failed");
  }
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  random_bytes(out);
  return out;
}

Bytes sha256(ByteView data) {
  Bytes out(32);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw_openssl(ErrorKind::Crypto, "digest-failed", "SHA-256 failed");
  }
  return out;
}

bool equal_constant_time(ByteView a, ByteView b) noexcept {
  return a.size() == b.size() && (a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0);
}

namespace {

const EVP_CIPHER* aes256gcm() {
  // Fetched once per process; EVP_CIPHER objects are immutable and thread-safe once fetched.
  static const ossl::Cipher cipher{EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)};
  if (!cipher) throw_openssl(ErrorKind::Crypto, "cipher-unavailable", "AES-256-GCM is unavailable");
  return cipher.get();
}

int checked_int(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Error(ErrorKind::Malformed, "too-large", "input too large for AES-GCM");
  }
  return static_cast<int>(n);
}

void require_key(ByteView key) {
  if (key.size() != kAeadKeySize) {
    throw Error(ErrorKind::Internal, "bad-key-size", "AES-256-GCM needs a 32-byte key");
  }
}

}  // namespace

Bytes aead_seal(ByteView key, ByteView plaintext, ByteView aad) {
  require_key(key);
  Bytes out(kAeadNonceSize + plaintext.size() + kAeadTagSize);
  random_bytes(std::span(out.data(), kAeadNonceSize));
  ossl::CipherCtx ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), aes256gcm(), key.data(), out.data(), nullptr) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), checked_int(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), out.data() + kAeadNonceSize, &len, plaintext.data(),
                        checked_int(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + kAeadNonceSize + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAeadTagSize,
                          out.data() + kAeadNonceSize + plaintext.size()) != 1) {
    throw_openssl(ErrorKind::Crypto, "encrypt-failed", "AES-256-GCM encryption failed");
  }
  return out;
}

std::optional<SecretBytes> aead_open(ByteView key, ByteView sealed, ByteView aad) {
  require_key(key);
  if (sealed.size() < kAeadOverhead) return std::nullopt;
  const std::size_t ct_len = sealed.size() - kAeadOverhead;
  const std::uint8_t* nonce = sealed.data();
  const std::uint8_t* ct = sealed.data() + kAeadNonceSize;
  // The tag is read through a copy: EVP_CTRL_GCM_SET_TAG takes a non-const pointer.
  std::uint8_t tag[kAeadTagSize];
  std::copy_n(sealed.data() + kAeadNonceSize + ct_len, kAeadTagSize, tag);

  SecretBytes plain(ct_len);
  ossl::CipherCtx ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), aes256gcm(), key.data(), nonce, nullptr) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), checked_int(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), plain.data(), &len, ct, checked_int(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAeadTagSize, tag) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &final_len) != 1) {
    ERR_clear_error();
    return std::nullopt;  // `plain` is wiped by its destructor
  }
  return plain;
}

bool ScryptParams::weaker_than_default() const noexcept {
  const ScryptParams d = strong();
  return n * r < d.n * d.r || p < d.p;
}

void ScryptParams::validate() const {
  const bool power_of_two = n > 1 && (n & (n - 1)) == 0;
  constexpr std::uint64_t kMaxMemory = 1ull << 30;
  if (!power_of_two || r == 0 || p == 0 || r > 64 || p > 64 || n > (1ull << 24) ||
      128ull * r * n > kMaxMemory) {
    throw Error(ErrorKind::Malformed, "kdf-params-invalid",
                "the stored scrypt parameters (N=" + std::to_string(n) + ", r=" +
                    std::to_string(r) + ", p=" + std::to_string(p) +
                    ") are not valid; the store metadata was damaged or edited: restore it from a "
                    "backup");
  }
}

SecretBytes scrypt(ByteView passphrase, ByteView salt, const ScryptParams& params) {
  params.validate();
  ossl::Kdf kdf{EVP_KDF_fetch(nullptr, "SCRYPT", nullptr)};
  ossl::KdfCtx ctx{kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr};
  if (!ctx) throw_openssl(ErrorKind::Crypto, "kdf-unavailable", "scrypt is unavailable");
  std::uint64_t n = params.n;
  std::uint32_t r = params.r;
  std::uint32_t p = params.p;
  // Allow what the parameters need plus headroom: 128*r*N for V, 256*r*p for B.
  std::uint64_t maxmem = 128ull * r * n + 256ull * r * p + (1u << 20);
  const OSSL_PARAM ossl_params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        const_cast<std::uint8_t*>(passphrase.data()),
                                        passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes key(kAeadKeySize);
  if (EVP_KDF_derive(ctx.get(), key.data(), key.size(), ossl_params) != 1) {
    throw_openssl(ErrorKind::Crypto, "kdf-failed", "scrypt key derivation failed");
  }
  return key;
}

}  // namespace signet::crypto
