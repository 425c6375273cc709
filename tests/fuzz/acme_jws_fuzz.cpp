// libFuzzer target: the ACME JWS parser (signet/acme/jws.h) as each kind of JWS (request, key
// change inner JWS, External Account Binding), the verification of what it accepts, and base64url.
//
// Every input is parsed twice: as a request body, and as the text of a protected header wrapped in
// a body (base64url hides the header's structure from the mutator; the seeds named header-* are
// such headers).
//
// Checks: only signet::Error escapes, with one of the ACME error types the HTTP layer answers with;
// nothing is left on OpenSSL's error queue. An accepted JWS agrees with itself: its signing input
// is "protected.payload" as received, the payload is that part decoded, POST-as-GET exactly when
// it is empty; its jwk reads back (parse_jwk of the stored members is the same key with the same
// thumbprint, and jwk_of the key gives those members back); verify_jws and verify_jws_hmac answer
// without throwing. base64url has one encoding per value: the input's bytes round-trip through
// encode and decode, and an input that decodes is the encoding of what it decodes to.
#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "signet/acme/jws.h"
#include "signet/core/error.h"
#include "signet/crypto/key.h"

namespace {

using signet::Bytes;
using signet::acme::Jws;
using signet::acme::JwsKind;

constexpr std::array kKinds = {JwsKind::Request, JwsKind::KeyChangeInner, JwsKind::ExternalAccountBinding};
constexpr std::array<std::string_view, 4> kCodes = {"malformed", "badNonce", "badSignatureAlgorithm", "badPublicKey"};

void check_base64url(std::string_view text) {
  const Bytes bytes(text.begin(), text.end());
  const std::string encoded = signet::acme::base64url_encode(bytes);
  FUZZ_CHECK(encoded.size() == (bytes.size() * 4 + 2) / 3, "the encoding has the wrong length");
  const auto decoded = signet::acme::base64url_decode(encoded);
  FUZZ_CHECK(decoded && *decoded == bytes, "decode(encode(x)) is not x");
  if (const auto as_text = signet::acme::base64url_decode(text)) {
    FUZZ_CHECK(signet::acme::base64url_encode(*as_text) == text, "a text that decodes is not the encoding of its bytes");
  }
}

void check_jwk(const signet::acme::Jwk& jwk) {
  FUZZ_CHECK(jwk.thumbprint == signet::acme::jwk_thumbprint(jwk), "the stored thumbprint is not the key's");
  const signet::acme::Jwk again = signet::acme::parse_jwk(jwk.json);
  FUZZ_CHECK(again.thumbprint == jwk.thumbprint, "the stored members give another thumbprint");
  FUZZ_CHECK(signet::crypto::same_public_key(again.key.get(), jwk.key.get()), "the stored members give another key");
  FUZZ_CHECK(signet::acme::jwk_of(jwk.key.get()) == jwk.json, "jwk_of does not give the stored members back");
}

void check_accepted(const Jws& jws, JwsKind kind) {
  const std::size_t dot = jws.signing_input.find('.');
  FUZZ_CHECK(dot != std::string::npos, "the signing input has no '.'");
  const auto payload = signet::acme::base64url_decode(std::string_view(jws.signing_input).substr(dot + 1));
  FUZZ_CHECK(payload && std::string(payload->begin(), payload->end()) == jws.payload,
             "the payload is not the signing input's second part decoded");
  FUZZ_CHECK(jws.post_as_get == jws.payload.empty(), "POST-as-GET is not the empty payload");
  FUZZ_CHECK(jws.protected_header.is_object(), "the protected header is not an object");
  FUZZ_CHECK((kind == JwsKind::Request) != jws.nonce.empty(), "a request without a nonce, or an inner JWS with one");
  FUZZ_CHECK(kind != JwsKind::Request || jws.kid.has_value() != jws.jwk.has_value(), "a request needs kid xor jwk");
  if (jws.jwk) {
    check_jwk(*jws.jwk);
    (void)signet::acme::verify_jws(jws, jws.jwk->key.get());
  }
  static const Bytes mac_key(32, 0x5a);
  const bool mac_ok = signet::acme::verify_jws_hmac(jws, mac_key);
  FUZZ_CHECK(!mac_ok || kind == JwsKind::ExternalAccountBinding, "an HMAC verified outside an EAB");
}

void check_body(std::string_view body) {
  for (const JwsKind kind : kKinds) {
    try {
      const Jws jws = signet::acme::parse_jws(body, kind);
      check_accepted(jws, kind);
    } catch (const signet::Error& e) {
      FUZZ_CHECK(std::find(kCodes.begin(), kCodes.end(), e.code()) != kCodes.end(), "unexpected error code " + e.code());
    } catch (...) {
      signet::fuzz::unexpected_exception("parse_jws");
    }
    FUZZ_CHECK(ERR_peek_error() == 0, "the JWS functions left an error on OpenSSL's queue");
  }
}

std::string body_with_header(std::string_view header) {
  static const std::string payload = signet::acme::base64url_encode(signet::as_bytes("{}"));
  static const std::string signature = signet::acme::base64url_encode(Bytes(64, 0x01));
  return R"({"protected":")" + signet::acme::base64url_encode(signet::as_bytes(header)) + R"(","payload":")" + payload +
         R"(","signature":")" + signature + R"("})";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = signet::fuzz::as_text(data, size);
  ERR_clear_error();
  check_body(text);
  check_body(body_with_header(text));
  check_base64url(text);
  return 0;
}
