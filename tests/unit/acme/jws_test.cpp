#include "signet/acme/jws.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/key.h"

namespace signet::acme {
namespace {

using crypto::KeyAlgorithm;
using nlohmann::json;

// One key per algorithm per process (RSA generation is slow); `second` gives another of the kind.
const ossl::Pkey& key_for(KeyAlgorithm algorithm, bool second = false) {
  static std::map<std::pair<KeyAlgorithm, bool>, ossl::Pkey> cache;
  auto& slot = cache[{algorithm, second}];
  if (!slot) slot = crypto::generate_key(algorithm);
  return slot;
}

struct AlgorithmCase {
  KeyAlgorithm key;
  std::string alg;
};
const std::vector<AlgorithmCase> kEveryAlgorithm = {{KeyAlgorithm::EcP256, "ES256"},
                                                    {KeyAlgorithm::EcP384, "ES384"},
                                                    {KeyAlgorithm::Rsa2048, "RS256"},
                                                    {KeyAlgorithm::Ed25519, "EdDSA"}};

std::string b64(std::string_view text) { return base64url_encode(as_bytes(text)); }

const std::string kUrl = "https://ca.example/acme/new-order";
const std::string kKid = "https://ca.example/acme/acct/1";
const std::string kSignature = b64("not a real signature");

json kid_header() { return {{"alg", "ES256"}, {"nonce", "bm9uY2U"}, {"url", kUrl}, {"kid", kKid}}; }

json jwk_header(const EVP_PKEY* key) { return {{"nonce", "bm9uY2U"}, {"url", kUrl}, {"jwk", jwk_of(key)}}; }

// A flattened JWS whose signature is not checked: for the structural tests.
json outer_of(const json& header, std::string_view payload = "{}") {
  return {{"protected", b64(header.dump())}, {"payload", b64(payload)}, {"signature", kSignature}};
}

std::string body_of(const json& header, std::string_view payload = "{}") { return outer_of(header, payload).dump(); }

std::string body_with_protected_text(std::string_view protected_text) {
  return json{{"protected", b64(protected_text)}, {"payload", b64("{}")}, {"signature", kSignature}}.dump();
}

::testing::AssertionResult throws(const std::function<void()>& call, ErrorKind kind, std::string_view code,
                                  std::string_view fragment = {}) {
  try {
    call();
  } catch (const Error& e) {
    const std::string what = e.what();
    if (e.kind() != kind || e.code() != code || what.find(fragment) == std::string::npos) {
      return ::testing::AssertionFailure() << "threw " << to_string(e.kind()) << "/" << e.code() << ": " << what
                                           << " (expected " << to_string(kind) << "/" << code << " containing \""
                                           << fragment << "\")";
    }
    return ::testing::AssertionSuccess() << what;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-signet exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

::testing::AssertionResult refuses(std::string_view body, JwsKind kind, ErrorKind error_kind, std::string_view code,
                                   std::string_view fragment = {}) {
  return throws([&] { (void)parse_jws(body, kind); }, error_kind, code, fragment);
}

::testing::AssertionResult malformed(std::string_view body, std::string_view fragment = {},
                                     JwsKind kind = JwsKind::Request) {
  return refuses(body, kind, ErrorKind::Malformed, "malformed", fragment);
}

::testing::AssertionResult bad_public_key(const json& jwk, std::string_view fragment = {}) {
  return throws([&] { (void)parse_jwk(jwk); }, ErrorKind::PolicyDenied, "badPublicKey", fragment);
}

::testing::AssertionResult malformed_jwk(const json& jwk, std::string_view fragment = {}) {
  return throws([&] { (void)parse_jwk(jwk); }, ErrorKind::Malformed, "malformed", fragment);
}

Bytes hmac(const char* digest, ByteView key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(), as_bytes(data).data(),
                      data.size(), out.data(), out.size(), &len),
            nullptr);
  return Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(len));
}

// An External Account Binding as a client makes it (RFC 8555 section 7.3.4).
std::string eab_body(const std::string& alg, const char* digest, ByteView mac_key, const json& header_extra = {}) {
  json header = {{"alg", alg}, {"kid", "eab-key-1"}, {"url", "https://ca.example/acme/new-account"}};
  if (header_extra.is_object()) header.update(header_extra);
  const std::string protected_b64 = b64(header.dump());
  const std::string payload_b64 = b64(jwk_of(key_for(KeyAlgorithm::EcP256).get()).dump());
  const Bytes mac = hmac(digest, mac_key, protected_b64 + "." + payload_b64);
  return json{{"protected", protected_b64}, {"payload", payload_b64}, {"signature", base64url_encode(mac)}}.dump();
}

// A JWS given by its three base64url parts, as the RFC examples print them.
Jws jws_of_parts(std::string alg, const std::string& protected_b64, const std::string& payload_b64,
                 const std::string& signature_b64) {
  Jws jws;
  jws.alg = std::move(alg);
  jws.signing_input = protected_b64 + "." + payload_b64;
  jws.signature = base64url_decode(signature_b64).value();
  return jws;
}

// ---- base64url -------------------------------------------------------------------------------

TEST(Base64url, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg");
  EXPECT_EQ(b64("fo"), "Zm8");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foob"), "Zm9vYg");
  EXPECT_EQ(b64("fooba"), "Zm9vYmE");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode(Bytes{0xfb, 0xff, 0xbf}), "-_-_");
}

TEST(Base64url, RoundTripsEveryLengthAndByte) {
  Bytes bytes;
  for (int i = 0; i < 300; ++i) {
    const auto decoded = base64url_decode(base64url_encode(bytes));
    ASSERT_TRUE(decoded.has_value()) << i;
    EXPECT_EQ(*decoded, bytes) << i;
    bytes.push_back(static_cast<std::uint8_t>(i * 7 + 3));
  }
}

TEST(Base64url, EmptyDecodesToEmpty) {
  const auto decoded = base64url_decode("");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->empty());
}

TEST(Base64url, RefusesPadding) {
  for (const char* text : {"Zg==", "Zm8=", "Zm9v====", "=", "Zg=", "Zm9v="}) {
    EXPECT_FALSE(base64url_decode(text).has_value()) << text;
  }
}

TEST(Base64url, RefusesTheStandardAlphabetAndWhitespace) {
  for (const char* text : {"ab+c", "ab/c", "+-__", "Zm9 v", "Zm9v\n", " Zm9v", "Zm\r\n9v", "Zm9v\t"}) {
    EXPECT_FALSE(base64url_decode(text).has_value()) << text;
  }
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)).has_value());
  EXPECT_FALSE(base64url_decode("Zm9\xc3\xa9").has_value());
}

TEST(Base64url, RefusesAFinalGroupThatCannotBeAnEncoding) {
  // One character alone carries 6 bits, less than a byte.
  for (const char* text : {"Z", "Zm9vY", "A"}) EXPECT_FALSE(base64url_decode(text).has_value()) << text;
  // "Zg" and "Zm8" end with zero bits; their neighbours set bits no byte holds.
  EXPECT_TRUE(base64url_decode("Zg").has_value());
  EXPECT_TRUE(base64url_decode("Zm8").has_value());
  for (const char* text : {"Zh", "Zv", "Z_", "Zm9", "Zm-", "Zm_"}) {
    EXPECT_FALSE(base64url_decode(text).has_value()) << text;
  }
}

// ---- JWK -------------------------------------------------------------------------------------

TEST(Jwk, ParsesWhatJwkOfWritesForEveryAlgorithm) {
  for (const auto& c : kEveryAlgorithm) {
    const EVP_PKEY* key = key_for(c.key).get();
    const json written = jwk_of(key);
    const Jwk parsed = parse_jwk(written);
    EXPECT_TRUE(crypto::same_public_key(parsed.key.get(), key)) << c.alg;
    EXPECT_EQ(parsed.json, written) << c.alg;
    EXPECT_EQ(parsed.thumbprint, jwk_thumbprint(parsed)) << c.alg;
    EXPECT_EQ(parsed.thumbprint.size(), 43u) << c.alg;
    EXPECT_EQ(jwk_of(parsed.key.get()), written) << c.alg;
  }
}

TEST(Jwk, KeepsOnlyTheRequiredMembersInCanonicalOrder) {
  json jwk = jwk_of(key_for(KeyAlgorithm::EcP256).get());
  jwk["use"] = "sig";
  jwk["kid"] = "my key";
  jwk["alg"] = "ES256";
  const Jwk parsed = parse_jwk(jwk);
  EXPECT_EQ(parsed.json.dump().rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0u) << parsed.json.dump();
  EXPECT_EQ(parsed.json.size(), 4u);
}

TEST(JwkThumbprint, MatchesTheRfc7638Example) {
  // RFC 7638 section 3.1; "alg" and "kid" are not part of the thumbprint.
  const json jwk = {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj"
       "hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQv"
       "RL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnq"
       "DKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  const Jwk parsed = parse_jwk(jwk);
  EXPECT_EQ(parsed.thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(jwk_thumbprint(parsed), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(EVP_PKEY_get_bits(parsed.key.get()), 2048);
}

TEST(JwkThumbprint, MatchesTheRfc8037Ed25519Example) {
  // RFC 8037 appendix A.3.
  const Jwk parsed = parse_jwk({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}});
  EXPECT_EQ(parsed.thumbprint, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST(Jwk, RefusesPrivateMembers) {
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    json jwk = jwk_of(key_for(KeyAlgorithm::EcP256).get());
    jwk[member] = "AQAB";
    EXPECT_TRUE(malformed_jwk(jwk, std::string("private member \"") + member + "\"")) << member;
  }
}

TEST(Jwk, RefusesWhatIsNotAKey) {
  EXPECT_TRUE(malformed_jwk("a string", "not a JSON object"));
  EXPECT_TRUE(malformed_jwk(json::array(), "not a JSON object"));
  EXPECT_TRUE(malformed_jwk(json::object(), "has no \"kty\""));
  EXPECT_TRUE(malformed_jwk({{"kty", 1}}, "\"kty\" is not a string"));
  EXPECT_TRUE(bad_public_key({{"kty", "DSA"}}, "key type \"DSA\""));
  EXPECT_TRUE(malformed_jwk({{"kty", "EC"}, {"crv", "P-256"}}, "has no \"x\""));
  EXPECT_TRUE(malformed_jwk({{"kty", "RSA"}, {"n", "AQAB"}}, "has no \"e\""));
  EXPECT_TRUE(malformed_jwk({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AQAB="}}, "not base64url"));
}

TEST(Jwk, RefusesRsaKeysOf1024Bits) {
  const ossl::Pkey weak{EVP_RSA_gen(1024)};
  ASSERT_TRUE(weak);
  EXPECT_TRUE(bad_public_key(jwk_of(weak.get()), "1024-bit RSA key"));
}

TEST(Jwk, RefusesRsaExponentsBelow65537EvenOrHuge) {
  const json good = jwk_of(key_for(KeyAlgorithm::Rsa2048).get());
  for (const char* e : {"Aw", "AQ", "AQAA", "__8", "AQAC", "AQAAAAAAAAAB"}) {
    json jwk = good;
    jwk["e"] = e;
    EXPECT_TRUE(bad_public_key(jwk, "public exponent")) << e;
  }
  json largest = good;
  largest["e"] = base64url_encode(Bytes{0x80, 0, 0, 0, 0, 0, 0, 1});  // 64 bits, odd
  EXPECT_NO_THROW((void)parse_jwk(largest));
}

TEST(Jwk, RefusesRsaIntegersWithLeadingZeros) {
  const json good = jwk_of(key_for(KeyAlgorithm::Rsa2048).get());
  json jwk = good;
  jwk["e"] = "AAEAAQ";
  EXPECT_TRUE(malformed_jwk(jwk, "minimal unsigned integer"));
  jwk = good;
  Bytes n = base64url_decode(good["n"].get<std::string>()).value();
  n.insert(n.begin(), 0);
  jwk["n"] = base64url_encode(n);
  EXPECT_TRUE(malformed_jwk(jwk, "minimal unsigned integer"));
  jwk["n"] = "";
  EXPECT_TRUE(malformed_jwk(jwk, "minimal unsigned integer"));
}

TEST(Jwk, RefusesRsaModuliOutsideTheRangeOrEven) {
  json jwk = jwk_of(key_for(KeyAlgorithm::Rsa2048).get());
  Bytes n(1025, 0xff);  // 8200 bits
  jwk["n"] = base64url_encode(n);
  EXPECT_TRUE(bad_public_key(jwk, "8200-bit"));
  n.assign(256, 0xff);
  n.back() = 0xfe;
  jwk["n"] = base64url_encode(n);
  EXPECT_TRUE(bad_public_key(jwk, "modulus is even"));
}

TEST(Jwk, RefusesAnEcPointOffTheCurve) {
  json jwk = jwk_of(key_for(KeyAlgorithm::EcP256).get());
  Bytes y = base64url_decode(jwk["y"].get<std::string>()).value();
  y.back() ^= 0x01;
  jwk["y"] = base64url_encode(y);
  EXPECT_TRUE(bad_public_key(jwk, "not a valid point on P-256"));
  jwk["x"] = base64url_encode(Bytes(32, 0));
  jwk["y"] = base64url_encode(Bytes(32, 0));
  EXPECT_TRUE(bad_public_key(jwk, "not a valid point"));
}

TEST(Jwk, RefusesEcCoordinatesOfTheWrongSize) {
  const json good = jwk_of(key_for(KeyAlgorithm::EcP256).get());
  Bytes x = base64url_decode(good["x"].get<std::string>()).value();
  json jwk = good;
  jwk["x"] = base64url_encode(ByteView(x).subspan(1));
  EXPECT_TRUE(malformed_jwk(jwk, "\"x\" is 31 bytes"));
  x.insert(x.begin(), 0);
  jwk["x"] = base64url_encode(x);
  EXPECT_TRUE(malformed_jwk(jwk, "\"x\" is 33 bytes"));
  // A P-256 key labelled P-384: its coordinates are too short for that curve.
  jwk = good;
  jwk["crv"] = "P-384";
  EXPECT_TRUE(malformed_jwk(jwk, "exactly 48"));
}

TEST(Jwk, RefusesUnsupportedCurves) {
  json jwk = jwk_of(key_for(KeyAlgorithm::EcP256).get());
  for (const char* crv : {"P-521", "secp256k1", "p-256", ""}) {
    jwk["crv"] = crv;
    EXPECT_TRUE(bad_public_key(jwk, "is not supported")) << crv;
  }
  json okp = jwk_of(key_for(KeyAlgorithm::Ed25519).get());
  for (const char* crv : {"Ed448", "X25519"}) {
    okp["crv"] = crv;
    EXPECT_TRUE(bad_public_key(okp, "use Ed25519")) << crv;
  }
  okp["crv"] = "Ed25519";
  okp["x"] = base64url_encode(Bytes(31, 1));
  EXPECT_TRUE(malformed_jwk(okp, "31 bytes"));
}

TEST(Jwk, JwkOfRefusesKeysWithoutAJwkForm) {
  const ossl::Pkey k1{EVP_EC_gen("secp256k1")};
  ASSERT_TRUE(k1);
  EXPECT_TRUE(throws([&] { (void)jwk_of(k1.get()); }, ErrorKind::Unsupported, "badPublicKey"));
}

// ---- signing and verification ----------------------------------------------------------------

TEST(JwsVerify, RoundTripsEveryAlgorithmWithAJwk) {
  for (const auto& c : kEveryAlgorithm) {
    const EVP_PKEY* key = key_for(c.key).get();
    const std::string body = sign_jws(key, jwk_header(key), R"({"termsOfServiceAgreed":true})");
    const Jws jws = parse_jws(body);
    EXPECT_EQ(jws.alg, c.alg);
    EXPECT_EQ(jws.nonce, "bm9uY2U");
    EXPECT_EQ(jws.url, kUrl);
    EXPECT_FALSE(jws.kid.has_value());
    ASSERT_TRUE(jws.jwk.has_value()) << c.alg;
    EXPECT_TRUE(crypto::same_public_key(jws.jwk->key.get(), key)) << c.alg;
    EXPECT_EQ(jws.payload, R"({"termsOfServiceAgreed":true})");
    EXPECT_FALSE(jws.post_as_get);
    EXPECT_TRUE(verify_jws(jws, jws.jwk->key.get())) << c.alg;
    EXPECT_TRUE(verify_jws(jws, key)) << c.alg;
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
}

TEST(JwsVerify, RoundTripsWithAKid) {
  for (const auto& c : kEveryAlgorithm) {
    const EVP_PKEY* key = key_for(c.key).get();
    json header = kid_header();
    header.erase("alg");
    const Jws jws = parse_jws(sign_jws(key, header, "{}"));
    EXPECT_EQ(jws.kid, kKid);
    EXPECT_FALSE(jws.jwk.has_value());
    EXPECT_TRUE(verify_jws(jws, key)) << c.alg;
  }
}

TEST(JwsVerify, PostAsGetHasAnEmptyPayload) {
  const EVP_PKEY* key = key_for(KeyAlgorithm::EcP256).get();
  const Jws jws = parse_jws(sign_jws(key, kid_header(), ""));
  EXPECT_TRUE(jws.post_as_get);
  EXPECT_EQ(jws.payload, "");
  EXPECT_EQ(jws.signing_input.back(), '.');
  EXPECT_TRUE(verify_jws(jws, key));
  // "{}" is not POST-as-GET, nor is any other payload.
  EXPECT_FALSE(parse_jws(sign_jws(key, kid_header(), "{}")).post_as_get);
}

TEST(JwsVerify, FailsWithAnotherKeyOfTheSameKind) {
  for (const auto& c : kEveryAlgorithm) {
    const Jws jws = parse_jws(sign_jws(key_for(c.key).get(), kid_header(), "{}"));
    EXPECT_FALSE(verify_jws(jws, key_for(c.key, true).get())) << c.alg;
  }
}

TEST(JwsVerify, FailsWhenABitIsFlipped) {
  for (const auto& c : kEveryAlgorithm) {
    const EVP_PKEY* key = key_for(c.key).get();
    const Jws jws = parse_jws(sign_jws(key, kid_header(), R"({"a":1})"));
    for (std::size_t at : {std::size_t{0}, jws.signature.size() / 2, jws.signature.size() - 1}) {
      Jws tampered = parse_jws(sign_jws(key, kid_header(), R"({"a":1})"));
      tampered.signature = jws.signature;
      tampered.signature[at] ^= 0x01;
      EXPECT_FALSE(verify_jws(tampered, key)) << c.alg << " signature byte " << at;
    }
    Jws tampered = parse_jws(sign_jws(key, kid_header(), R"({"a":1})"));
    tampered.signing_input.back() ^= 0x01;
    EXPECT_FALSE(verify_jws(tampered, key)) << c.alg << " signing input";
  }
}

TEST(JwsVerify, FailsWhenTheAlgDoesNotFitTheKey) {
  // The header's alg names the algorithm; a P-256 key under ES384 and the like must not verify.
  const struct {
    KeyAlgorithm key;
    std::string claimed;
  } cases[] = {{KeyAlgorithm::EcP256, "ES384"}, {KeyAlgorithm::EcP384, "ES256"}, {KeyAlgorithm::EcP256, "RS256"},
               {KeyAlgorithm::Rsa2048, "ES256"}, {KeyAlgorithm::Ed25519, "ES256"}, {KeyAlgorithm::EcP256, "EdDSA"},
               {KeyAlgorithm::Rsa2048, "EdDSA"},  {KeyAlgorithm::EcP256, "HS256"},  {KeyAlgorithm::EcP256, "none"}};
  for (const auto& c : cases) {
    const EVP_PKEY* key = key_for(c.key).get();
    Jws jws = parse_jws(sign_jws(key, kid_header(), "{}"));
    ASSERT_TRUE(verify_jws(jws, key));
    jws.alg = c.claimed;
    EXPECT_FALSE(verify_jws(jws, key)) << c.claimed;
  }
}

TEST(JwsVerify, ASignatureOfTheWrongLengthIsFalseNotAnError) {
  for (const auto& c : kEveryAlgorithm) {
    const EVP_PKEY* key = key_for(c.key).get();
    Jws jws = parse_jws(sign_jws(key, kid_header(), "{}"));
    const Bytes good = jws.signature;
    jws.signature.push_back(0);
    EXPECT_FALSE(verify_jws(jws, key)) << c.alg;
    jws.signature.assign(good.begin(), good.end() - 1);
    EXPECT_FALSE(verify_jws(jws, key)) << c.alg;
    jws.signature.clear();
    EXPECT_FALSE(verify_jws(jws, key)) << c.alg;
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
}

TEST(JwsVerify, EcdsaSignaturesOfZeroOrTheOrderFail) {
  const EVP_PKEY* key = key_for(KeyAlgorithm::EcP256).get();
  Jws jws = parse_jws(sign_jws(key, kid_header(), "{}"));
  jws.signature.assign(64, 0);
  EXPECT_FALSE(verify_jws(jws, key));
  jws.signature.assign(64, 0xff);
  EXPECT_FALSE(verify_jws(jws, key));
}

TEST(JwsVerify, NullKeyIsFalse) {
  const Jws jws = parse_jws(sign_jws(key_for(KeyAlgorithm::EcP256).get(), kid_header(), "{}"));
  EXPECT_FALSE(verify_jws(jws, nullptr));
}

TEST(JwsVerify, EcdsaSignaturesAreRawRAndS) {
  const Jws p256 = parse_jws(sign_jws(key_for(KeyAlgorithm::EcP256).get(), kid_header(), "{}"));
  EXPECT_EQ(p256.signature.size(), 64u);
  const Jws p384 = parse_jws(sign_jws(key_for(KeyAlgorithm::EcP384).get(), kid_header(), "{}"));
  EXPECT_EQ(p384.signature.size(), 96u);
}

// ---- known-answer vectors from the RFCs ------------------------------------------------------

const std::string kRfc7515Payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

TEST(JwsVectors, VerifiesRfc7515AppendixA3Es256) {
  const Jwk jwk = parse_jwk({{"kty", "EC"},
                             {"crv", "P-256"},
                             {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                             {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}});
  Jws jws = jws_of_parts("ES256", "eyJhbGciOiJFUzI1NiJ9", kRfc7515Payload,
                         "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
  EXPECT_TRUE(verify_jws(jws, jwk.key.get()));
  jws.signature.back() ^= 0x01;
  EXPECT_FALSE(verify_jws(jws, jwk.key.get()));
}

TEST(JwsVectors, VerifiesRfc8037AppendixA4Ed25519) {
  const Jwk jwk = parse_jwk({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}});
  Jws jws = jws_of_parts("EdDSA", "eyJhbGciOiJFZERTQSJ9", "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
                         "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  EXPECT_TRUE(verify_jws(jws, jwk.key.get()));
  jws.signing_input.back() ^= 0x01;
  EXPECT_FALSE(verify_jws(jws, jwk.key.get()));
}

TEST(JwsVectors, VerifiesRfc7515AppendixA1Hs256) {
  const Bytes key =
      base64url_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow").value();
  Jws jws = jws_of_parts("HS256", "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9", kRfc7515Payload,
                         "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  EXPECT_TRUE(verify_jws_hmac(jws, key));
  jws.signature[0] ^= 0x01;
  EXPECT_FALSE(verify_jws_hmac(jws, key));
}

// ---- parse_jws: structure --------------------------------------------------------------------

TEST(JwsParse, AcceptsTheBaseRequest) {
  const Jws jws = parse_jws(body_of(kid_header(), R"({"x":1})"));
  EXPECT_EQ(jws.alg, "ES256");
  EXPECT_EQ(jws.kid, kKid);
  EXPECT_EQ(jws.payload, R"({"x":1})");
  EXPECT_EQ(jws.signature, base64url_decode(kSignature).value());
  EXPECT_EQ(jws.protected_header, kid_header());
  EXPECT_EQ(jws.signing_input, b64(kid_header().dump()) + "." + b64(R"({"x":1})"));
}

TEST(JwsParse, RefusesBodiesThatAreNotAFlattenedJws) {
  EXPECT_TRUE(malformed("", "request body is not JSON"));
  EXPECT_TRUE(malformed("{", "request body is not JSON"));
  EXPECT_TRUE(malformed("{} x", "request body is not JSON"));
  EXPECT_TRUE(malformed("[]", "request body is not a JSON object"));
  EXPECT_TRUE(malformed("\"protected\"", "request body is not a JSON object"));
  EXPECT_TRUE(malformed(R"({"a":1} /* comment */)", "not JSON"));
  json outer = outer_of(kid_header());
  outer["signatures"] = json::array({{{"protected", outer["protected"]}, {"signature", kSignature}}});
  EXPECT_TRUE(malformed(outer.dump(), "has \"signatures\""));
  outer = outer_of(kid_header());
  outer["header"] = {{"kid", kKid}};
  EXPECT_TRUE(malformed(outer.dump(), "has \"header\""));
}

TEST(JwsParse, RefusesMissingOrBadMembers) {
  for (const char* member : {"protected", "payload", "signature"}) {
    json outer = outer_of(kid_header());
    outer.erase(member);
    EXPECT_TRUE(malformed(outer.dump(), std::string("has no \"") + member + "\"")) << member;
    outer[member] = 5;
    EXPECT_TRUE(malformed(outer.dump(), std::string("\"") + member + "\" is not a string")) << member;
    outer[member] = nullptr;
    EXPECT_TRUE(malformed(outer.dump(), std::string("\"") + member + "\" is not a string")) << member;
    for (const char* suffix : {"=", "+", "/", " "}) {
      outer = outer_of(kid_header());
      outer[member] = outer[member].get<std::string>() + suffix;
      EXPECT_TRUE(malformed(outer.dump(), std::string("\"") + member + "\" is not base64url")) << member << suffix;
    }
  }
  json outer = outer_of(kid_header());
  outer["protected"] = b64(kid_header().dump()) + "==";
  EXPECT_TRUE(malformed(outer.dump(), "not base64url"));
}

TEST(JwsParse, RefusesAProtectedHeaderThatIsNotAJsonObject) {
  EXPECT_TRUE(malformed(body_with_protected_text("{\"alg\":"), "protected header is not JSON"));
  EXPECT_TRUE(malformed(body_with_protected_text(""), "protected header is not JSON"));
  EXPECT_TRUE(malformed(body_with_protected_text("[1]"), "protected header is not a JSON object"));
  EXPECT_TRUE(malformed(body_with_protected_text("\"ES256\""), "protected header is not a JSON object"));
  EXPECT_TRUE(malformed(body_with_protected_text("{\"alg\":\"\xff\"}"), "protected header is not JSON"));
}

TEST(JwsParse, RefusesBothOrNeitherOfJwkAndKid) {
  json header = jwk_header(key_for(KeyAlgorithm::EcP256).get());
  header["alg"] = "ES256";
  header["kid"] = kKid;
  EXPECT_TRUE(malformed(body_of(header), "both \"jwk\" and \"kid\""));
  header.erase("jwk");
  header.erase("kid");
  EXPECT_TRUE(malformed(body_of(header), "neither \"jwk\" nor \"kid\""));
}

TEST(JwsParse, RefusesAKidThatIsNotAString) {
  json header = kid_header();
  header["kid"] = 1;
  EXPECT_TRUE(malformed(body_of(header), "\"kid\" is not a string"));
  header["kid"] = json::array({kKid});
  EXPECT_TRUE(malformed(body_of(header), "\"kid\" is not a string"));
  header["kid"] = "";
  EXPECT_TRUE(malformed(body_of(header), "\"kid\" is empty"));
}

TEST(JwsParse, RefusesAJwkThatIsNotAnObject) {
  json header = kid_header();
  header.erase("kid");
  header["jwk"] = "AQAB";
  EXPECT_TRUE(malformed(body_of(header), "JWK is not a JSON object"));
}

TEST(JwsParse, PassesOnTheJwkErrors) {
  const ossl::Pkey weak{EVP_RSA_gen(1024)};
  json header = jwk_header(weak.get());
  header["alg"] = "RS256";
  EXPECT_TRUE(refuses(body_of(header), JwsKind::Request, ErrorKind::PolicyDenied, "badPublicKey", "1024-bit"));
  header["jwk"] = jwk_of(key_for(KeyAlgorithm::EcP256).get());
  header["jwk"]["d"] = "AQAB";
  EXPECT_TRUE(malformed(body_of(header), "private member \"d\""));
}

TEST(JwsParse, RefusesAMissingOrBadUrl) {
  json header = kid_header();
  header.erase("url");
  EXPECT_TRUE(malformed(body_of(header), "the JWS protected header has no \"url\""));
  header["url"] = 5;
  EXPECT_TRUE(malformed(body_of(header), "\"url\" is not a string"));
  header["url"] = "";
  EXPECT_TRUE(malformed(body_of(header), "\"url\" is empty"));
}

TEST(JwsParse, RefusesAMissingOrBadAlg) {
  json header = kid_header();
  header.erase("alg");
  EXPECT_TRUE(malformed(body_of(header), "has no \"alg\""));
  header["alg"] = json::array({"ES256"});
  EXPECT_TRUE(malformed(body_of(header), "\"alg\" is not a string"));
}

TEST(JwsParse, RefusesCrit) {
  json header = kid_header();
  header["crit"] = json::array({"b64"});
  header["b64"] = false;
  EXPECT_TRUE(malformed(body_of(header), "\"crit\""));
  header["crit"] = json::array();
  EXPECT_TRUE(malformed(body_of(header), "\"crit\""));
}

TEST(JwsParse, RefusesDuplicateMemberNames) {
  EXPECT_TRUE(malformed(
      body_with_protected_text(R"({"alg":"ES256","nonce":"n","url":"https://a/","url":"https://b/","kid":"k"})"),
      "protected header has the member \"url\" more than once"));
  EXPECT_TRUE(malformed(body_with_protected_text(R"({"alg":"none","alg":"ES256","nonce":"n","url":"u","kid":"k"})"),
                        "\"alg\" more than once"));
  // Inside the jwk.
  json header = jwk_header(key_for(KeyAlgorithm::EcP256).get());
  header["alg"] = "ES256";
  std::string text = header.dump();
  const std::string kty = R"("kty":"EC")";
  text.insert(text.find(kty), kty + ",");
  EXPECT_TRUE(malformed(body_with_protected_text(text), "\"kty\" more than once"));
  // In the body.
  const std::string body = R"({"protected":")" + b64(kid_header().dump()) + R"(","payload":"","payload":"e30","signature":")" +
                           kSignature + R"("})";
  EXPECT_TRUE(malformed(body, "request body has the member \"payload\" more than once"));
}

TEST(JwsParse, AcceptsTheSameNameInSeparateObjects) {
  json header = kid_header();
  header["ext1"] = {{"n", 1}, {"m", {{"n", 2}}}};
  header["ext2"] = json::array({{{"n", 1}}, {{"n", 1}}});
  header["n"] = 3;
  EXPECT_NO_THROW((void)parse_jws(body_of(header)));
}

TEST(JwsParse, RefusesBodiesOver64KiB) {
  json outer = outer_of(kid_header());
  outer["padding"] = std::string(kMaxJwsBytes, 'a');
  EXPECT_TRUE(malformed(outer.dump(), "at most 65536"));
  // Just under the limit is fine, unknown outer members are ignored.
  outer["padding"] = std::string(kMaxJwsBytes - outer_of(kid_header()).dump().size() - 20, 'a');
  ASSERT_LE(outer.dump().size(), kMaxJwsBytes);
  EXPECT_NO_THROW((void)parse_jws(outer.dump()));
}

TEST(JwsParse, SurvivesDeeplyNestedJson) {
  const std::string deep = std::string(20000, '[') + std::string(20000, ']');
  EXPECT_TRUE(malformed(deep, "not a JSON object"));
  EXPECT_TRUE(malformed(std::string(10000, '{'), "not JSON"));
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += R"({"a":)";
  nested += "1" + std::string(5000, '}');
  EXPECT_TRUE(malformed(body_with_protected_text(nested), "has no \"alg\""));
}

// ---- parse_jws: nonce and algorithms ---------------------------------------------------------

TEST(JwsParse, AMissingNonceIsBadNonce) {
  json header = kid_header();
  header.erase("nonce");
  EXPECT_TRUE(refuses(body_of(header), JwsKind::Request, ErrorKind::Malformed, "badNonce", "\"nonce\""));
  header["nonce"] = 5;
  EXPECT_TRUE(refuses(body_of(header), JwsKind::Request, ErrorKind::Malformed, "badNonce"));
  header["nonce"] = "";
  EXPECT_TRUE(refuses(body_of(header), JwsKind::Request, ErrorKind::Malformed, "badNonce"));
}

TEST(JwsParse, RefusesAlgorithmsOutsideTheList) {
  for (const char* alg : {"none", "HS256", "HS384", "HS512", "RS384", "RS512", "PS256", "ES512", "ES256K", "Ed25519",
                          "es256", "ES256 ", ""}) {
    json header = kid_header();
    header["alg"] = alg;
    EXPECT_TRUE(refuses(body_of(header), JwsKind::Request, ErrorKind::Unsupported, "badSignatureAlgorithm",
                        "use one of ES256, ES384, RS256, EdDSA"))
        << alg;
    EXPECT_TRUE(refuses(body_of(header), JwsKind::KeyChangeInner, ErrorKind::Unsupported, "badSignatureAlgorithm"))
        << alg;
  }
}

// ---- key change ------------------------------------------------------------------------------

json inner_header(const EVP_PKEY* key) { return {{"url", "https://ca.example/acme/key-change"}, {"jwk", jwk_of(key)}}; }

TEST(JwsKeyChange, ParsesAnInnerJwsWithoutANonce) {
  const EVP_PKEY* key = key_for(KeyAlgorithm::EcP384).get();
  const Jws jws = parse_jws(sign_jws(key, inner_header(key), R"({"account":"a","oldKey":{}})"), JwsKind::KeyChangeInner);
  EXPECT_EQ(jws.nonce, "");
  ASSERT_TRUE(jws.jwk.has_value());
  EXPECT_TRUE(verify_jws(jws, jws.jwk->key.get()));
  // The same without a nonce is not a request.
  EXPECT_TRUE(refuses(sign_jws(key, inner_header(key), "{}"), JwsKind::Request, ErrorKind::Malformed, "badNonce"));
}

TEST(JwsKeyChange, IgnoresANonceInTheInnerJws) {
  const EVP_PKEY* key = key_for(KeyAlgorithm::EcP256).get();
  json header = inner_header(key);
  header["nonce"] = 17;
  const Jws jws = parse_jws(sign_jws(key, header, "{}"), JwsKind::KeyChangeInner);
  EXPECT_EQ(jws.nonce, "");
}

TEST(JwsKeyChange, RequiresAJwkAndNoKid) {
  const EVP_PKEY* key = key_for(KeyAlgorithm::EcP256).get();
  json header = inner_header(key);
  header["kid"] = kKid;
  EXPECT_TRUE(malformed(sign_jws(key, header, "{}"), "has a \"kid\"", JwsKind::KeyChangeInner));
  header.erase("jwk");
  EXPECT_TRUE(malformed(sign_jws(key, header, "{}"), "has no \"jwk\"", JwsKind::KeyChangeInner));
  header = inner_header(key);
  header.erase("url");
  EXPECT_TRUE(malformed(sign_jws(key, header, "{}"), "has no \"url\"", JwsKind::KeyChangeInner));
}

// ---- external account binding ----------------------------------------------------------------

const Bytes kMacKey = base64url_decode("zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W").value();

TEST(JwsEab, VerifiesEveryHmacAlgorithm) {
  for (const auto& [alg, digest] : {std::pair{"HS256", "SHA256"}, std::pair{"HS384", "SHA384"},
                                    std::pair{"HS512", "SHA512"}}) {
    const Jws jws = parse_jws(eab_body(alg, digest, kMacKey), JwsKind::ExternalAccountBinding);
    EXPECT_EQ(jws.alg, alg);
    EXPECT_EQ(jws.kid, "eab-key-1");
    EXPECT_EQ(jws.nonce, "");
    EXPECT_EQ(parse_jwk(json::parse(jws.payload)).thumbprint,
              parse_jwk(jwk_of(key_for(KeyAlgorithm::EcP256).get())).thumbprint);
    EXPECT_TRUE(verify_jws_hmac(jws, kMacKey)) << alg;
    EXPECT_FALSE(verify_jws(jws, key_for(KeyAlgorithm::EcP256).get())) << alg;
  }
}

TEST(JwsEab, FailsWithAnotherKeyOrATamperedMac) {
  const Jws jws = parse_jws(eab_body("HS256", "SHA256", kMacKey), JwsKind::ExternalAccountBinding);
  Bytes other = kMacKey;
  other[0] ^= 0x01;
  EXPECT_FALSE(verify_jws_hmac(jws, other));
  EXPECT_FALSE(verify_jws_hmac(jws, {}));
  Jws tampered = parse_jws(eab_body("HS256", "SHA256", kMacKey), JwsKind::ExternalAccountBinding);
  tampered.signature.back() ^= 0x80;
  EXPECT_FALSE(verify_jws_hmac(tampered, kMacKey));
  tampered.signature.pop_back();
  EXPECT_FALSE(verify_jws_hmac(tampered, kMacKey));
  // The MAC is bound to the algorithm named.
  Jws relabelled = parse_jws(eab_body("HS256", "SHA256", kMacKey), JwsKind::ExternalAccountBinding);
  relabelled.alg = "HS384";
  EXPECT_FALSE(verify_jws_hmac(relabelled, kMacKey));
}

TEST(JwsEab, VerifyHmacIsFalseForASignatureAlgorithm) {
  const Jws jws = parse_jws(sign_jws(key_for(KeyAlgorithm::EcP256).get(), kid_header(), "{}"));
  EXPECT_FALSE(verify_jws_hmac(jws, kMacKey));
}

TEST(JwsEab, RefusesWhatRfc8555Forbids) {
  EXPECT_TRUE(malformed(eab_body("HS256", "SHA256", kMacKey, {{"nonce", "bm9uY2U"}}), "has a \"nonce\"",
                        JwsKind::ExternalAccountBinding));
  EXPECT_TRUE(malformed(eab_body("HS256", "SHA256", kMacKey, {{"jwk", jwk_of(key_for(KeyAlgorithm::EcP256).get())}}),
                        "has a \"jwk\"", JwsKind::ExternalAccountBinding));
  json no_kid = json::parse(eab_body("HS256", "SHA256", kMacKey));
  json header = json::parse(base64url_decode(no_kid["protected"].get<std::string>()).value());
  header.erase("kid");
  no_kid["protected"] = b64(header.dump());
  EXPECT_TRUE(malformed(no_kid.dump(), "has no \"kid\"", JwsKind::ExternalAccountBinding));
  for (const char* alg : {"ES256", "RS256", "EdDSA", "none", "HS1"}) {
    EXPECT_TRUE(refuses(eab_body(alg, "SHA256", kMacKey), JwsKind::ExternalAccountBinding, ErrorKind::Unsupported,
                        "badSignatureAlgorithm", "use one of HS256, HS384, HS512"))
        << alg;
  }
  // An EAB is not a request: HS256 is refused there.
  EXPECT_TRUE(refuses(eab_body("HS256", "SHA256", kMacKey, {{"nonce", "bm9uY2U"}}), JwsKind::Request,
                      ErrorKind::Unsupported, "badSignatureAlgorithm"));
}

TEST(JwsSign, RefusesKeysWithoutAJwsAlgorithm) {
  const ossl::Pkey k1{EVP_EC_gen("secp256k1")};
  ASSERT_TRUE(k1);
  EXPECT_TRUE(throws([&] { (void)sign_jws(k1.get(), kid_header(), "{}"); }, ErrorKind::Unsupported,
                     "badSignatureAlgorithm"));
}

TEST(JwsSign, SetsAlgFromTheKey) {
  json header = kid_header();
  header["alg"] = "none";
  const Jws jws = parse_jws(sign_jws(key_for(KeyAlgorithm::Ed25519).get(), header, "{}"));
  EXPECT_EQ(jws.alg, "EdDSA");
}

}  // namespace
}  // namespace signet::acme
