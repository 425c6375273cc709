// Byte containers and strong types for values that must not be mixed up.
//
// Bytes is plain data. SecretBytes wipes its contents with OPENSSL_cleanse when it is destroyed or
// reassigned; use it for passphrases, data keys and private key plaintext. Strong types (KeyId,
// Fingerprint) make it a compile error to pass one where the other is expected.
//
// Thread-safety: values; the usual rules for standard containers apply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace signet {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

[[nodiscard]] inline ByteView as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Lower-case hex, no separators.
[[nodiscard]] std::string to_hex(ByteView bytes);
// The value of one hex digit (either case), or -1.
[[nodiscard]] int hex_digit_value(char c) noexcept;
// Decodes hex of either case, no separators; std::nullopt for an odd length or a non-hex character.
[[nodiscard]] std::optional<Bytes> from_hex(std::string_view hex);
// Upper-case hex with ':' between bytes, as `openssl x509 -fingerprint` prints.
[[nodiscard]] std::string to_colon_hex(ByteView bytes);

// Contiguous secret bytes, wiped on destruction. Not copyable by accident: copies are explicit.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size);
  SecretBytes(ByteView bytes);  // NOLINT(google-explicit-constructor): a copy of secret input
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  [[nodiscard]] SecretBytes clone() const { return SecretBytes(view()); }
  [[nodiscard]] std::uint8_t* data() noexcept { return bytes_.data(); }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return bytes_.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }
  [[nodiscard]] ByteView view() const noexcept { return bytes_; }
  [[nodiscard]] std::string_view as_string_view() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  // Shrinks to `size` bytes, wiping the tail.
  void truncate(std::size_t size);
  // Appends, growing through a fresh buffer so that no unwiped copy is left behind.
  void append(ByteView more);
  void wipe() noexcept;

 private:
  std::vector<std::uint8_t> bytes_;
};

// A passphrase is secret text.
using Passphrase = SecretBytes;

// Row id of a key entry in its store; part of the entry's AAD.
struct KeyId {
  std::int64_t value = 0;
  friend bool operator==(KeyId, KeyId) = default;
};

// SHA-256 of a SubjectPublicKeyInfo DER encoding.
struct Fingerprint {
  Bytes bytes;
  [[nodiscard]] std::string hex() const { return to_hex(bytes); }
  [[nodiscard]] std::string colon_hex() const { return to_colon_hex(bytes); }
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

}  // namespace signet
