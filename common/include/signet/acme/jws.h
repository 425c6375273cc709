// JWS for ACME (RFC 8555 section 6.2, RFC 7515, RFC 7517, RFC 7638): the flattened JSON
// serialization of a request, the account key it carries (jwk) or names (kid), and its signature.
//
// Only what RFC 8555 allows is accepted: the flattened serialization (no "signatures" array, no
// unprotected "header"), a protected header with "alg", "nonce" and "url" and exactly one of
// "jwk" and "kid", and the algorithms ES256, ES384, RS256 (RSA modulus of 2048 to 8192 bits, public
// exponent 65537 or more) and EdDSA (Ed25519). "none" and the MAC algorithms are refused for
// requests; HS256/HS384/HS512 only sign an External Account Binding (RFC 8555 section 7.3.4).
//
// Errors are signet::Error whose code() is the ACME error type without its URN prefix, so that the
// HTTP layer answers with it as is: "malformed", "badSignatureAlgorithm", "badPublicKey",
// "unauthorized". The message says what is wrong in words a client's operator can act on.
//
// Thread-safety: pure functions and immutable values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "signet/core/bytes.h"
#include "signet/crypto/handles.h"

namespace signet::acme {

// base64url (RFC 4648 section 5) without padding, as JOSE uses it.
[[nodiscard]] std::string base64url_encode(ByteView bytes);
// std::nullopt for padding, whitespace, characters outside the alphabet or a bad final group.
[[nodiscard]] std::optional<Bytes> base64url_decode(std::string_view text);

// An account's public key.
struct Jwk {
  ossl::Pkey key;
  nlohmann::json json;      // the required members only (RFC 7638 order), as stored for the account
  std::string thumbprint;   // base64url(SHA-256 of the RFC 7638 canonical JSON)
};

// Parses an RFC 7517 public key: kty "EC" (crv P-256 or P-384, x and y of the curve's size, a point
// on the curve), "RSA" (n, e; 2048..8192 bits, e >= 65537 and odd) or "OKP" (crv Ed25519, x of 32
// bytes). A private member ("d", "p", ...) is refused. RSA's n and e must have no leading zero
// octet (RFC 7518 section 2, Base64urlUInt), and e at most 64 bits: a longer exponent makes every
// verification as costly as a private-key operation. Error(Malformed, "malformed") for a key
// that is not one of these; Error(PolicyDenied, "badPublicKey") for a weak or unsupported one.
[[nodiscard]] Jwk parse_jwk(const nlohmann::json& jwk);
// The RFC 7638 thumbprint of a key built from its canonical members.
[[nodiscard]] std::string jwk_thumbprint(const Jwk& jwk);
// The same key as a JWK (for tests and key change): the RFC 7638 members, as parse_jwk stores
// them. Error(Unsupported, "badPublicKey") for a key type or curve that has no JWK form here.
[[nodiscard]] nlohmann::json jwk_of(const EVP_PKEY* public_key);

// A request as it arrived: the fields are decoded but the signature is not checked yet (the caller
// first finds the account key for a kid).
struct Jws {
  std::string alg;                 // "ES256", "ES384", "RS256", "EdDSA", or HS* (only inside EAB)
  std::string nonce;               // "" when absent (EAB and key change inner JWS have none)
  std::string url;
  std::optional<std::string> kid;  // exactly one of kid and jwk is set for an outer request
  std::optional<Jwk> jwk;
  std::string payload;             // decoded; "" for POST-as-GET
  bool post_as_get = false;        // the payload member was ""
  nlohmann::json protected_header;
  std::string signing_input;       // ASCII(protected_b64 || '.' || payload_b64)
  Bytes signature;                 // decoded
};

// Parses a flattened JWS (RFC 7515 section 7.2.2) as RFC 8555 section 6.2 restricts it. At most
// kMaxJwsBytes of body. Error(Malformed, "malformed") for anything structural (a member name twice
// in the body or the protected header, a "crit" header: no extension is understood);
// Error(Unsupported, "badSignatureAlgorithm") for an alg outside the list (including "none" and
// HS*); Error(Malformed, "badNonce") for a request without a nonce.
// KeyChangeInner: "jwk" and "url" required, no "kid"; a "nonce" is ignored (RFC 8555 section
// 7.3.5) and Jws::nonce stays "". ExternalAccountBinding: "kid" and "url" required, no "jwk", no
// "nonce" (RFC 8555 section 7.3.4), and only HS256/384/512.
inline constexpr std::size_t kMaxJwsBytes = 64 * 1024;
enum class JwsKind { Request, KeyChangeInner, ExternalAccountBinding };
[[nodiscard]] Jws parse_jws(std::string_view body, JwsKind kind = JwsKind::Request);

// True when `jws.signature` verifies over jws.signing_input with `key` under jws.alg (ECDSA as
// raw r||s of the curve's size, RFC 7518 section 3.4). False for a wrong signature, or an alg that
// does not fit the key (ES256 with a P-384 key, RS256 with an EC key).
[[nodiscard]] bool verify_jws(const Jws& jws, const EVP_PKEY* key);
// For an EAB: the HMAC of jws.signing_input under `hmac_key` with jws.alg (HS256/384/512),
// compared in constant time. False for an empty key or an alg that is not HS*.
[[nodiscard]] bool verify_jws_hmac(const Jws& jws, ByteView hmac_key);

// A JSON object as RFC 7515 section 4 lets a server require it: valid JSON, an object, and no
// member name twice at any depth (nlohmann keeps the last of two, other libraries the first, so a
// client and this server could disagree on what was signed). For payloads too. `what` names the
// text in messages ("the JWS payload"). Error(Malformed, "malformed").
[[nodiscard]] nlohmann::json parse_json_object(std::string_view text, const std::string& what);

// Signs like a client (tests, benchmarks and fuzz seeds): a flattened JWS with the given protected
// header members (alg is chosen from the key: ES256 for P-256, ES384 for P-384, RS256, EdDSA) and
// payload ("" gives POST-as-GET).
[[nodiscard]] std::string sign_jws(const EVP_PKEY* private_key, nlohmann::json protected_header,
                                   std::string_view payload);

}  // namespace signet::acme
