// Symmetric primitives used by the key store: randomness, SHA-256, AES-256-GCM and scrypt.
//
// Sealed blobs have the layout  nonce (12) || ciphertext || tag (16).  open() authenticates before
// it returns anything; on failure it returns std::nullopt and leaves no plaintext behind, so that
// callers can turn an authentication failure into a finding rather than an exception.
//
// Thread-safety: all functions are reentrant; they use only their arguments and OpenSSL's
// thread-safe global state.
#pragma once

#include <cstdint>
#include <optional>

#include "signet/core/bytes.h"

namespace signet::crypto {

inline constexpr std::size_t kAeadKeySize = 32;
inline constexpr std::size_t kAeadNonceSize = 12;
inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::size_t kAeadOverhead = kAeadNonceSize + kAeadTagSize;

// Fills `out` with bytes from OpenSSL's CSPRNG. Throws Error(Crypto) if the RNG fails.
void random_bytes(std::span<std::uint8_t> out);
[[nodiscard]] Bytes random_bytes(std::size_t n);

[[nodiscard]] Bytes sha256(ByteView data);

// Constant-time equality of two byte strings (lengths are not secret).
[[nodiscard]] bool equal_constant_time(ByteView a, ByteView b) noexcept;

// AES-256-GCM with a fresh random nonce. `key` must be 32 bytes.
[[nodiscard]] Bytes aead_seal(ByteView key, ByteView plaintext, ByteView aad);
// Returns the plaintext, or std::nullopt when the blob is too short or fails authentication.
[[nodiscard]] std::optional<SecretBytes> aead_open(ByteView key, ByteView sealed, ByteView aad);

// scrypt cost parameters. Stored with every store so that they can be raised later.
struct ScryptParams {
  std::uint64_t n = 0;  // CPU/memory cost, a power of two
  std::uint32_t r = 0;  // block size
  std::uint32_t p = 0;  // parallelism

  // The production default: N=2^17, r=8, p=1 (128 MiB, roughly 0.3 s on this class of machine).
  [[nodiscard]] static ScryptParams strong() noexcept { return {1u << 17, 8, 1}; }
  // For tests only: fast and weak. A store created with it is flagged by `signet store check`.
  [[nodiscard]] static ScryptParams insecure_for_tests() noexcept { return {1u << 10, 8, 1}; }
  // True when cheaper than strong(): worth a warning.
  [[nodiscard]] bool weaker_than_default() const noexcept;
  // Throws Error(Malformed) when the parameters are not usable (N not a power of two > 1,
  // r or p zero, memory above 1 GiB): a hand-edited store must not make us allocate wildly.
  void validate() const;
  friend bool operator==(const ScryptParams&, const ScryptParams&) = default;
};

// Derives a 32-byte key from a passphrase and salt. Throws Error(Crypto) on failure.
[[nodiscard]] SecretBytes scrypt(ByteView passphrase, ByteView salt, const ScryptParams& params);

}  // namespace signet::crypto
