#include "signet/crypto/key.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>

#include <map>
#include <string>

#include "signet/crypto/primitives.h"

namespace signet::crypto {
namespace {

// One key per algorithm per process: RSA generation is slow, RSA-4096 especially.
const ossl::Pkey& key_for(KeyAlgorithm a) {
  static std::map<KeyAlgorithm, ossl::Pkey> cache;
  auto& slot = cache[a];
  if (!slot) slot = generate_key(a);
  return slot;
}

// The fast algorithms, for tests that loop over several.
const std::vector<KeyAlgorithm> kFast = {KeyAlgorithm::EcP256, KeyAlgorithm::EcP384,
                                         KeyAlgorithm::Ed25519, KeyAlgorithm::Rsa2048};

ossl::Pkey rsa1024() { return ossl::Pkey(EVP_RSA_gen(1024)); }
ossl::Pkey secp256k1() { return ossl::Pkey(EVP_EC_gen("secp256k1")); }

Bytes with_trailing_byte(ByteView der) {
  Bytes b(der.begin(), der.end());
  b.push_back(0x00);
  return b;
}

// ---- names -----------------------------------------------------------------------------------

TEST(AlgorithmNames, RoundTripAndAreTheStableStrings) {
  const std::vector<std::string> expected = {"ec-p256",  "ec-p384",  "rsa-2048",
                                             "rsa-3072", "rsa-4096", "ed25519"};
  ASSERT_EQ(all_algorithms().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(to_string(all_algorithms()[i]), expected[i]);
    EXPECT_EQ(parse_algorithm(expected[i]), all_algorithms()[i]);
    EXPECT_NE(algorithm_list().find(expected[i]), std::string::npos);
  }
  EXPECT_EQ(algorithm_list(), "ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519");
}

TEST(AlgorithmNames, UnknownNamesAreNullopt) {
  for (const char* name : {"", "EC-P256", "rsa-1024", "ed448", "ec-p256 ", "rsa"}) {
    EXPECT_FALSE(parse_algorithm(name).has_value()) << name;
  }
  EXPECT_EQ(to_string(static_cast<KeyAlgorithm>(99)), "unknown");
}

// ---- generation and classification ----------------------------------------------------------

TEST(GenerateKey, EachAlgorithmIsRecognisedAsItself) {
  for (const KeyAlgorithm a : all_algorithms()) {
    const ossl::Pkey& key = key_for(a);
    ASSERT_TRUE(key) << to_string(a);
    EXPECT_EQ(algorithm_of(key.get()), a) << to_string(a) << " is " << describe_key(key.get());
    EXPECT_TRUE(pairwise_consistent(key.get(), key.get())) << to_string(a);
  }
}

TEST(GenerateKey, GivesFreshKeysEachTime) {
  const ossl::Pkey a = generate_key(KeyAlgorithm::EcP256);
  const ossl::Pkey b = generate_key(KeyAlgorithm::EcP256);
  EXPECT_FALSE(same_public_key(a.get(), b.get()));
}

TEST(AlgorithmOf, UnsupportedKeysAreNullopt) {
  const ossl::Pkey small_rsa = rsa1024();
  const ossl::Pkey k1 = secp256k1();
  const ossl::Pkey ed448{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448")};
  const ossl::Pkey x25519{EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")};
  ASSERT_TRUE(small_rsa && k1 && ed448 && x25519);
  EXPECT_FALSE(algorithm_of(small_rsa.get()).has_value());
  EXPECT_FALSE(algorithm_of(k1.get()).has_value());
  EXPECT_FALSE(algorithm_of(ed448.get()).has_value());
  EXPECT_FALSE(algorithm_of(x25519.get()).has_value());
  EXPECT_FALSE(algorithm_of(nullptr).has_value());
}

TEST(DescribeKey, NamesTypeAndSizeForMessages) {
  EXPECT_EQ(describe_key(rsa1024().get()), "RSA 1024-bit");
  EXPECT_EQ(describe_key(secp256k1().get()), "EC secp256k1");
  EXPECT_EQ(describe_key(key_for(KeyAlgorithm::EcP256).get()), "EC prime256v1");
  EXPECT_EQ(describe_key(key_for(KeyAlgorithm::Ed25519).get()), "ED25519");
  EXPECT_EQ(describe_key(nullptr), "no key");
}

// ---- DER round trips --------------------------------------------------------------------------

TEST(PublicKeyDer, RoundTripsForEveryAlgorithmWithAndWithoutHint) {
  for (const KeyAlgorithm a : all_algorithms()) {
    const ossl::Pkey& key = key_for(a);
    const Bytes der = public_key_der(key.get());
    for (const auto hint : {std::optional<KeyAlgorithm>{}, std::optional<KeyAlgorithm>{a}}) {
      const ossl::Pkey parsed = parse_public_key_der(der, hint);
      ASSERT_TRUE(parsed) << to_string(a);
      EXPECT_TRUE(same_public_key(parsed.get(), key.get())) << to_string(a);
      EXPECT_EQ(algorithm_of(parsed.get()), a);
      EXPECT_EQ(public_key_der(parsed.get()), der) << "re-encoding must be byte-identical";
    }
  }
}

TEST(PrivateKeyDer, RoundTripsForEveryAlgorithmWithAndWithoutHint) {
  for (const KeyAlgorithm a : all_algorithms()) {
    const ossl::Pkey& key = key_for(a);
    const SecretBytes der = private_key_der(key.get());
    for (const auto hint : {std::optional<KeyAlgorithm>{}, std::optional<KeyAlgorithm>{a}}) {
      const ossl::Pkey parsed = parse_private_key_der(der.view(), hint);
      ASSERT_TRUE(parsed) << to_string(a);
      EXPECT_TRUE(same_public_key(parsed.get(), key.get())) << to_string(a);
      EXPECT_EQ(algorithm_of(parsed.get()), a);
      // The parsed key is a working private key for the original public key.
      EXPECT_TRUE(pairwise_consistent(parsed.get(), key.get())) << to_string(a);
    }
  }
}

TEST(ParseDer, WrongHintStillParsesThroughTheFallback) {
  const std::pair<KeyAlgorithm, KeyAlgorithm> cases[] = {
      {KeyAlgorithm::EcP256, KeyAlgorithm::Rsa2048},
      {KeyAlgorithm::Rsa2048, KeyAlgorithm::Ed25519},
      {KeyAlgorithm::Ed25519, KeyAlgorithm::EcP384},
      {KeyAlgorithm::EcP384, KeyAlgorithm::EcP256},  // same decoder type, other curve
  };
  for (const auto& [actual, hint] : cases) {
    const ossl::Pkey& key = key_for(actual);
    const ossl::Pkey pub = parse_public_key_der(public_key_der(key.get()), hint);
    ASSERT_TRUE(pub) << to_string(actual) << " with hint " << to_string(hint);
    EXPECT_EQ(algorithm_of(pub.get()), actual);
    const ossl::Pkey priv = parse_private_key_der(private_key_der(key.get()).view(), hint);
    ASSERT_TRUE(priv) << to_string(actual) << " with hint " << to_string(hint);
    EXPECT_EQ(algorithm_of(priv.get()), actual);
    EXPECT_TRUE(same_public_key(priv.get(), key.get()));
  }
}

TEST(ParseDer, CachedDecoderStaysUsableAfterFailuresAndAcrossKeys) {
  // The hinted decoder is cached per thread: a failure or a previous key must not leak into the
  // next result.
  const Bytes p256 = public_key_der(key_for(KeyAlgorithm::EcP256).get());
  const Bytes p384 = public_key_der(key_for(KeyAlgorithm::EcP384).get());
  for (int round = 0; round < 3; ++round) {
    EXPECT_FALSE(parse_public_key_der(as_bytes("garbage"), KeyAlgorithm::EcP256));
    const ossl::Pkey a = parse_public_key_der(p256, KeyAlgorithm::EcP256);
    const ossl::Pkey b = parse_public_key_der(p384, KeyAlgorithm::EcP256);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(algorithm_of(a.get()), KeyAlgorithm::EcP256);
    EXPECT_EQ(algorithm_of(b.get()), KeyAlgorithm::EcP384);
    EXPECT_FALSE(same_public_key(a.get(), b.get()));
  }
}

TEST(ParseDer, TrailingGarbageIsRejected) {
  for (const KeyAlgorithm a : kFast) {
    const ossl::Pkey& key = key_for(a);
    const Bytes pub = public_key_der(key.get());
    const SecretBytes priv = private_key_der(key.get());
    EXPECT_FALSE(parse_public_key_der(with_trailing_byte(pub))) << to_string(a);
    EXPECT_FALSE(parse_public_key_der(with_trailing_byte(pub), a)) << to_string(a);
    EXPECT_FALSE(parse_private_key_der(with_trailing_byte(priv.view()))) << to_string(a);
    EXPECT_FALSE(parse_private_key_der(with_trailing_byte(priv.view()), a)) << to_string(a);
  }
}

TEST(ParseDer, TruncatedEmptyGarbageAndWrongStructureAreNull) {
  const ossl::Pkey& key = key_for(KeyAlgorithm::EcP256);
  const Bytes pub = public_key_der(key.get());
  const SecretBytes priv = private_key_der(key.get());
  EXPECT_FALSE(parse_public_key_der(ByteView(pub.data(), pub.size() - 1)));
  EXPECT_FALSE(parse_private_key_der(ByteView(priv.data(), priv.size() - 1)));
  EXPECT_FALSE(parse_public_key_der(ByteView{}));
  EXPECT_FALSE(parse_private_key_der(ByteView{}, KeyAlgorithm::EcP256));
  EXPECT_FALSE(parse_public_key_der(as_bytes("-----BEGIN PUBLIC KEY-----")));
  // A private key is not a public key and the other way round.
  EXPECT_FALSE(parse_public_key_der(priv.view()));
  EXPECT_FALSE(parse_private_key_der(pub));
  EXPECT_FALSE(parse_private_key_der(pub, KeyAlgorithm::EcP256));
}

TEST(ParseDer, FailuresLeaveNoOpensslErrorsBehind) {
  ERR_clear_error();
  (void)parse_public_key_der(as_bytes("garbage"), KeyAlgorithm::Rsa2048);
  (void)parse_private_key_der(as_bytes("garbage"));
  EXPECT_EQ(ERR_peek_error(), 0u) << "a stale error would end up in the next unrelated message";
}

TEST(ParseDer, UnsupportedKeysStillParseSoTheCheckCanNameThem) {
  const ossl::Pkey small = rsa1024();
  const ossl::Pkey parsed = parse_private_key_der(private_key_der(small.get()).view());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(describe_key(parsed.get()), "RSA 1024-bit");
  EXPECT_FALSE(algorithm_of(parsed.get()).has_value());
}

// ---- EC public keys from a curve and a point ----------------------------------------------------

// The key's point in the given SEC 1 form.
Bytes ec_point(const EVP_PKEY* key, bool compressed) {
  ossl::Pkey copy{EVP_PKEY_dup(const_cast<EVP_PKEY*>(key))};
  EXPECT_EQ(EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           compressed ? "compressed" : "uncompressed"), 1);
  Bytes point(200);
  std::size_t length = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(copy.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                            point.size(), &length), 1);
  point.resize(length);
  return point;
}

TEST(EcPublicKey, GivesTheSameKeyAsTheDecoderInBothPointForms) {
  for (const auto& [curve, key] : {std::pair{NID_X9_62_prime256v1, ossl::Pkey(EVP_EC_gen("P-256"))},
                                   std::pair{NID_secp384r1, ossl::Pkey(EVP_EC_gen("P-384"))},
                                   std::pair{NID_secp521r1, ossl::Pkey(EVP_EC_gen("P-521"))},
                                   std::pair{NID_secp256k1, secp256k1()}}) {
    SCOPED_TRACE(OBJ_nid2sn(curve));
    for (const bool compressed : {false, true}) {
      const ossl::Pkey built = ec_public_key(curve, ec_point(key.get(), compressed));
      ASSERT_TRUE(built);
      EXPECT_TRUE(same_public_key(built.get(), key.get()));
      EXPECT_EQ(EVP_PKEY_get_bits(built.get()), EVP_PKEY_get_bits(key.get()));
      EXPECT_TRUE(pairwise_consistent(key.get(), built.get())) << "it verifies the key's signatures";
      // It keeps the form it was given, as a decoded key does: a certificate for it keeps it too.
      EXPECT_EQ(ec_point(built.get(), compressed), ec_point(key.get(), compressed));
      ossl::Pkey decoded = parse_public_key_der(public_key_der(built.get()));
      ASSERT_TRUE(decoded);
      EXPECT_TRUE(same_public_key(decoded.get(), key.get()));
    }
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(EcPublicKey, RefusesPointsOffTheCurveOrInAnotherFormAndUnknownCurves) {
  const ossl::Pkey key{EVP_EC_gen("P-256")};
  const Bytes good = ec_point(key.get(), false);
  ASSERT_EQ(good.size(), 65u);
  Bytes off_curve = good;
  off_curve[40] ^= 0x01;
  EXPECT_FALSE(ec_public_key(NID_X9_62_prime256v1, off_curve));
  EXPECT_FALSE(ec_public_key(NID_X9_62_prime256v1, Bytes{0x00})) << "the point at infinity";
  EXPECT_FALSE(ec_public_key(NID_X9_62_prime256v1, Bytes{})) << "empty";
  EXPECT_FALSE(ec_public_key(NID_X9_62_prime256v1, ByteView(good).first(64))) << "truncated";
  Bytes longer = good;
  longer.push_back(0x00);
  EXPECT_FALSE(ec_public_key(NID_X9_62_prime256v1, longer)) << "a trailing byte";
  Bytes hybrid = good;
  hybrid[0] = 0x06;
  EXPECT_FALSE(ec_public_key(NID_X9_62_prime256v1, hybrid)) << "the hybrid form";
  EXPECT_FALSE(ec_public_key(NID_secp384r1, good)) << "a P-256 point is not a P-384 point";
  EXPECT_FALSE(ec_public_key(NID_rsaEncryption, good)) << "not a curve";
  EXPECT_FALSE(ec_public_key(NID_undef, good));
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_TRUE(ec_public_key(NID_X9_62_prime256v1, good)) << "and still works after the refusals";
}

// ---- fingerprints and comparison --------------------------------------------------------------

TEST(Fingerprint, IsSha256OfTheSpki) {
  const Bytes spki = public_key_der(key_for(KeyAlgorithm::Ed25519).get());
  const Fingerprint fp = fingerprint_of_spki(spki);
  EXPECT_EQ(fp.bytes, sha256(spki));
  EXPECT_EQ(fp.hex().size(), 64u);
}

TEST(SamePublicKey, ComparesTypeAndComponents) {
  const ossl::Pkey& ec = key_for(KeyAlgorithm::EcP256);
  const ossl::Pkey pub_only = parse_public_key_der(public_key_der(ec.get()));
  const ossl::Pkey other = generate_key(KeyAlgorithm::EcP256);
  EXPECT_TRUE(same_public_key(ec.get(), ec.get()));
  EXPECT_TRUE(same_public_key(ec.get(), pub_only.get()));
  EXPECT_FALSE(same_public_key(ec.get(), other.get()));
  EXPECT_FALSE(same_public_key(ec.get(), key_for(KeyAlgorithm::EcP384).get()));
  EXPECT_FALSE(same_public_key(ec.get(), key_for(KeyAlgorithm::Ed25519).get()));
  EXPECT_FALSE(same_public_key(ec.get(), nullptr));
  EXPECT_FALSE(same_public_key(nullptr, nullptr));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// ---- pairwise consistency ---------------------------------------------------------------------

TEST(PairwiseConsistent, HoldsForEachAlgorithmAgainstItsPublicHalf) {
  for (const KeyAlgorithm a : kFast) {
    const ossl::Pkey& key = key_for(a);
    const ossl::Pkey pub = parse_public_key_der(public_key_der(key.get()));
    EXPECT_TRUE(pairwise_consistent(key.get(), pub.get())) << to_string(a);
  }
}

TEST(PairwiseConsistent, FalseForMismatchedKeysWithoutThrowing) {
  for (const KeyAlgorithm a : kFast) {
    const ossl::Pkey& key = key_for(a);
    const ossl::Pkey other = generate_key(a == KeyAlgorithm::Rsa2048 ? KeyAlgorithm::EcP256 : a);
    bool result = true;
    EXPECT_NO_THROW(result = pairwise_consistent(key.get(), other.get())) << to_string(a);
    EXPECT_FALSE(result) << to_string(a);
  }
  // Different types in both directions.
  EXPECT_FALSE(pairwise_consistent(key_for(KeyAlgorithm::Ed25519).get(), key_for(KeyAlgorithm::EcP256).get()));
  EXPECT_FALSE(pairwise_consistent(key_for(KeyAlgorithm::EcP256).get(), key_for(KeyAlgorithm::Rsa2048).get()));
  EXPECT_FALSE(pairwise_consistent(key_for(KeyAlgorithm::Rsa2048).get(), key_for(KeyAlgorithm::Ed25519).get()));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(PairwiseConsistent, PublicOnlyKeyCannotSignAndNullIsFalse) {
  const ossl::Pkey& key = key_for(KeyAlgorithm::EcP256);
  const ossl::Pkey pub = parse_public_key_der(public_key_der(key.get()));
  EXPECT_FALSE(pairwise_consistent(pub.get(), pub.get()));
  EXPECT_FALSE(pairwise_consistent(nullptr, key.get()));
  EXPECT_FALSE(pairwise_consistent(key.get(), nullptr));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace signet::crypto
