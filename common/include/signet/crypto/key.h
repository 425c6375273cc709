// Asymmetric keys: the algorithms Signet supports, generation, DER encodings, comparison and the
// pairwise-consistency (sign and verify) test.
//
// Functions named parse_* return a null Pkey when the input does not parse, because the integrity
// check reports that as a finding; everything else throws signet::Error.
//
// Thread-safety: reentrant. A built EVP_PKEY may be read from several threads.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/handles.h"

namespace signet::crypto {

enum class KeyAlgorithm { EcP256, EcP384, Rsa2048, Rsa3072, Rsa4096, Ed25519 };

// "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519": the stable names used in
// the store, on the command line and in JSON.
[[nodiscard]] std::string_view to_string(KeyAlgorithm algorithm) noexcept;
[[nodiscard]] std::optional<KeyAlgorithm> parse_algorithm(std::string_view name) noexcept;
[[nodiscard]] const std::vector<KeyAlgorithm>& all_algorithms() noexcept;
// "ec-p256, ec-p384, ..." for error messages.
[[nodiscard]] std::string algorithm_list();

// Generates a fresh key. Throws Error(Crypto).
[[nodiscard]] ossl::Pkey generate_key(KeyAlgorithm algorithm);

// The supported algorithm that `key` is (type, curve and size), or std::nullopt when it is none of
// them (an RSA-1024 key, a secp256k1 key, a DSA key...).
[[nodiscard]] std::optional<KeyAlgorithm> algorithm_of(const EVP_PKEY* key);
// A description such as "RSA 1024-bit" or "EC secp256k1" for messages about unsupported keys.
[[nodiscard]] std::string describe_key(const EVP_PKEY* key);

// SubjectPublicKeyInfo DER of the public half of `key`.
[[nodiscard]] Bytes public_key_der(const EVP_PKEY* key);
// PKCS#8 PrivateKeyInfo DER (unencrypted) of `key`; secret.
[[nodiscard]] SecretBytes private_key_der(const EVP_PKEY* key);

// Parses SubjectPublicKeyInfo DER; null when it does not parse or has trailing bytes.
// With `expected`, a decoder for that key type is tried first (cached per thread: OpenSSL 3.0
// builds a decoder chain per call otherwise, which costs ten times the parse itself); the generic
// decoder is the fallback, so the result never depends on the hint.
[[nodiscard]] ossl::Pkey parse_public_key_der(ByteView der,
                                              std::optional<KeyAlgorithm> expected = std::nullopt);
// The EC public key `point` (SEC 1 2.3.4: 04 X Y, or 02/03 X) on the named curve `curve_nid`,
// as a key of its own. Built from a per-thread key holding only that curve's domain parameters, so
// the curve is not set up again for every key (a quarter of the cost of parsing a CSR in OpenSSL
// 3.0); the point gets the same checks as in a decoded SPKI (it must lie on the curve). Null when
// the curve is unknown or the point is not valid on it, or is not in one of those two forms.
[[nodiscard]] ossl::Pkey ec_public_key(int curve_nid, ByteView point);
// Parses unencrypted PKCS#8 PrivateKeyInfo DER; null when it does not parse or has trailing bytes.
// `expected` as for parse_public_key_der.
[[nodiscard]] ossl::Pkey parse_private_key_der(ByteView der,
                                               std::optional<KeyAlgorithm> expected = std::nullopt);

// SHA-256 of the SubjectPublicKeyInfo DER.
[[nodiscard]] Fingerprint fingerprint_of_spki(ByteView spki_der);

// True when both keys have the same type and public components.
[[nodiscard]] bool same_public_key(const EVP_PKEY* a, const EVP_PKEY* b);

// Signs a fresh random message with `private_key` and verifies it with `public_key`.
// Returns false (never throws) when either step fails.
[[nodiscard]] bool pairwise_consistent(const EVP_PKEY* private_key, const EVP_PKEY* public_key);

}  // namespace signet::crypto
