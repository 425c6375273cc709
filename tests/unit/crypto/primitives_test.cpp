#include "signet/crypto/primitives.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "signet/core/error.h"
#include "signet/crypto/handles.h"
#include "support/error_assert.h"

namespace signet::crypto {
namespace {

using test::capture_error;

Bytes key_of(std::uint8_t fill) { return Bytes(kAeadKeySize, fill); }

std::string str(const SecretBytes& s) { return std::string(s.as_string_view()); }

// ---- random, hash, comparison -----------------------------------------------------------------

TEST(RandomBytes, GivesRequestedLengthAndFreshValues) {
  const Bytes a = random_bytes(32);
  const Bytes b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_NE(a, Bytes(32, 0));
  EXPECT_TRUE(random_bytes(0).empty());
  std::span<std::uint8_t> nothing;
  EXPECT_NO_THROW(random_bytes(nothing));
}

TEST(Sha256, MatchesKnownVectors) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256(ByteView{})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(EqualConstantTime, ComparesContentAndLength) {
  EXPECT_TRUE(equal_constant_time(as_bytes("abc"), as_bytes("abc")));
  EXPECT_TRUE(equal_constant_time(ByteView{}, ByteView{}));
  EXPECT_FALSE(equal_constant_time(as_bytes("abc"), as_bytes("abd")));
  EXPECT_FALSE(equal_constant_time(as_bytes("abc"), as_bytes("ab")));
  EXPECT_FALSE(equal_constant_time(as_bytes("a"), ByteView{}));
}

// ---- AES-256-GCM ------------------------------------------------------------------------------

TEST(Aead, RoundTripWithLayoutNonceCiphertextTag) {
  const Bytes key = random_bytes(kAeadKeySize);
  const std::string plain = "private key bytes";
  const Bytes sealed = aead_seal(key, as_bytes(plain), as_bytes("identity"));
  ASSERT_EQ(sealed.size(), kAeadNonceSize + plain.size() + kAeadTagSize);
  const auto opened = aead_open(key, sealed, as_bytes("identity"));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(str(*opened), plain);
}

TEST(Aead, CiphertextIsNotThePlaintext) {
  const Bytes key = random_bytes(kAeadKeySize);
  const std::string plain(64, 'A');
  const Bytes sealed = aead_seal(key, as_bytes(plain), {});
  const std::string body(sealed.begin() + kAeadNonceSize, sealed.end() - kAeadTagSize);
  EXPECT_NE(body, plain);
}

TEST(Aead, InteroperatesWithPlainOpensslGcm) {
  // Decrypt with the EVP API directly: proves the documented layout nonce(12)||ct||tag(16).
  const Bytes key = random_bytes(kAeadKeySize);
  const std::string plain = "interop";
  const std::string aad = "aad";
  const Bytes sealed = aead_seal(key, as_bytes(plain), as_bytes(aad));
  ossl::CipherCtx ctx{EVP_CIPHER_CTX_new()};
  ASSERT_EQ(EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), sealed.data()), 1);
  int len = 0;
  ASSERT_EQ(EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())),
            1);
  std::string out(plain.size(), '\0');
  ASSERT_EQ(EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                              sealed.data() + kAeadNonceSize, static_cast<int>(plain.size())),
            1);
  Bytes tag(sealed.end() - kAeadTagSize, sealed.end());
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagSize), tag.data()), 1);
  int fin = 0;
  EXPECT_EQ(EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &fin), 1);
  EXPECT_EQ(out, plain);
}

TEST(Aead, EmptyPlaintextAndEmptyAadWork) {
  const Bytes key = random_bytes(kAeadKeySize);
  const Bytes sealed = aead_seal(key, ByteView{}, ByteView{});
  EXPECT_EQ(sealed.size(), kAeadOverhead);
  const auto opened = aead_open(key, sealed, ByteView{});
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(opened->empty());
  // The tag still authenticates the (empty) AAD: a non-empty AAD must not open it.
  EXPECT_FALSE(aead_open(key, sealed, as_bytes("x")).has_value());
}

TEST(Aead, EverySealUsesAFreshNonce) {
  const Bytes key = random_bytes(kAeadKeySize);
  const Bytes a = aead_seal(key, as_bytes("same"), as_bytes("aad"));
  const Bytes b = aead_seal(key, as_bytes("same"), as_bytes("aad"));
  EXPECT_NE(Bytes(a.begin(), a.begin() + kAeadNonceSize), Bytes(b.begin(), b.begin() + kAeadNonceSize));
  EXPECT_NE(a, b);
}

TEST(Aead, AnyFlippedBitInNonceCiphertextOrTagFailsAuthentication) {
  const Bytes key = random_bytes(kAeadKeySize);
  const Bytes sealed = aead_seal(key, as_bytes("sixteen byte msg"), as_bytes("aad"));
  const std::size_t ct_end = sealed.size() - kAeadTagSize;
  struct Region { const char* name; std::size_t index; };
  for (const Region r : {Region{"nonce first", 0}, Region{"nonce last", kAeadNonceSize - 1},
                         Region{"ciphertext first", kAeadNonceSize},
                         Region{"ciphertext last", ct_end - 1}, Region{"tag first", ct_end},
                         Region{"tag last", sealed.size() - 1}}) {
    for (const std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      Bytes tampered = sealed;
      tampered[r.index] ^= mask;
      EXPECT_FALSE(aead_open(key, tampered, as_bytes("aad")).has_value())
          << r.name << " mask " << int{mask};
    }
  }
  EXPECT_TRUE(aead_open(key, sealed, as_bytes("aad")).has_value()) << "control";
}

TEST(Aead, WrongAadOrKeyFailsAuthentication) {
  const Bytes key = key_of(0x11);
  const Bytes sealed = aead_seal(key, as_bytes("secret"), as_bytes("store-1/key-7"));
  EXPECT_FALSE(aead_open(key, sealed, as_bytes("store-1/key-8")).has_value());
  EXPECT_FALSE(aead_open(key, sealed, as_bytes("store-1/key-7 ")).has_value());
  EXPECT_FALSE(aead_open(key, sealed, ByteView{}).has_value());
  EXPECT_FALSE(aead_open(key_of(0x12), sealed, as_bytes("store-1/key-7")).has_value());
}

TEST(Aead, TruncatedOrExtendedBlobFails) {
  const Bytes key = random_bytes(kAeadKeySize);
  const Bytes sealed = aead_seal(key, as_bytes("some plaintext"), {});
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_FALSE(aead_open(key, ByteView(sealed.data(), n), {}).has_value()) << "length " << n;
  }
  Bytes longer = sealed;
  longer.push_back(0);
  EXPECT_FALSE(aead_open(key, longer, {}).has_value());
}

TEST(Aead, WrongKeySizeIsAnInternalError) {
  const Bytes short_key(16, 1);
  const Error e = capture_error([&] { (void)aead_seal(short_key, as_bytes("x"), {}); });
  EXPECT_EQ(e.kind(), ErrorKind::Internal);
  EXPECT_EQ(e.code(), "bad-key-size");
  const Bytes sealed = aead_seal(key_of(1), as_bytes("x"), {});
  const Error o = capture_error([&] { (void)aead_open(Bytes(33, 1), sealed, {}); });
  EXPECT_EQ(o.code(), "bad-key-size");
}

// ---- scrypt -----------------------------------------------------------------------------------

TEST(Scrypt, MatchesRfc7914Vector) {
  // RFC 7914 section 12: P="password", S="NaCl", N=1024, r=8, p=16; the first 32 of 64 bytes.
  const SecretBytes k = scrypt(as_bytes("password"), as_bytes("NaCl"), ScryptParams{1024, 8, 16});
  EXPECT_EQ(to_hex(k.view()), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
}

TEST(Scrypt, IsDeterministicAndThirtyTwoBytes) {
  const auto params = ScryptParams::insecure_for_tests();
  const SecretBytes a = scrypt(as_bytes("correct horse"), as_bytes("salt-1"), params);
  const SecretBytes b = scrypt(as_bytes("correct horse"), as_bytes("salt-1"), params);
  EXPECT_EQ(a.size(), kAeadKeySize);
  EXPECT_EQ(to_hex(a.view()), to_hex(b.view()));
}

TEST(Scrypt, EveryInputChangesTheKey) {
  const ScryptParams base = ScryptParams::insecure_for_tests();
  const std::string ref = to_hex(scrypt(as_bytes("pass"), as_bytes("salt"), base).view());
  EXPECT_NE(ref, to_hex(scrypt(as_bytes("pass"), as_bytes("salu"), base).view()));
  EXPECT_NE(ref, to_hex(scrypt(as_bytes("pasS"), as_bytes("salt"), base).view()));
  EXPECT_NE(ref, to_hex(scrypt(as_bytes("pass"), as_bytes("salt"), {base.n * 2, base.r, base.p}).view()));
  EXPECT_NE(ref, to_hex(scrypt(as_bytes("pass"), as_bytes("salt"), {base.n, base.r + 1, base.p}).view()));
  EXPECT_NE(ref, to_hex(scrypt(as_bytes("pass"), as_bytes("salt"), {base.n, base.r, base.p + 1}).view()));
}

TEST(Scrypt, InvalidParametersAreRefusedBeforeDeriving) {
  const Error e = capture_error([] { (void)scrypt(as_bytes("p"), as_bytes("s"), ScryptParams{1000, 8, 1}); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "kdf-params-invalid");
}

TEST(ScryptParams, PresetsAreValid) {
  EXPECT_NO_THROW(ScryptParams::strong().validate());
  EXPECT_NO_THROW(ScryptParams::insecure_for_tests().validate());
  EXPECT_EQ(ScryptParams::strong(), (ScryptParams{1u << 17, 8, 1}));
}

TEST(ScryptParams, ValidateRejectsUnusableParameters) {
  const ScryptParams bad[] = {
      {0, 8, 1},                 // N zero
      {1, 8, 1},                 // N one
      {3, 8, 1},                 // not a power of two
      {1000, 8, 1},              // not a power of two
      {(1u << 17) + 1, 8, 1},    // off by one
      {1u << 10, 0, 1},          // r zero
      {1u << 10, 8, 0},          // p zero
      {1u << 10, 65, 1},         // r too large
      {1u << 10, 8, 65},         // p too large
      {1ull << 25, 1, 1},        // N too large
      {1ull << 24, 8, 1},        // 2 GiB of memory
      {1ull << 21, 8, 1},        // 2 GiB of memory
      {1ull << 63, 8, 1},        // would overflow a naive memory computation
  };
  for (const ScryptParams& p : bad) {
    const Error e = capture_error([&] { p.validate(); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << p.n << "/" << p.r << "/" << p.p;
    EXPECT_EQ(e.code(), "kdf-params-invalid") << p.n << "/" << p.r << "/" << p.p;
    EXPECT_NE(std::string(e.what()).find("N=" + std::to_string(p.n)), std::string::npos) << e.what();
  }
}

TEST(ScryptParams, ValidateAcceptsTheLimits) {
  EXPECT_NO_THROW((ScryptParams{2, 1, 1}.validate()));
  EXPECT_NO_THROW((ScryptParams{1u << 20, 8, 1}.validate()));  // exactly 1 GiB
  EXPECT_NO_THROW((ScryptParams{1u << 10, 64, 64}.validate()));
}

TEST(ScryptParams, WeakerThanDefault) {
  EXPECT_FALSE(ScryptParams::strong().weaker_than_default());
  EXPECT_TRUE(ScryptParams::insecure_for_tests().weaker_than_default());
  EXPECT_TRUE((ScryptParams{1u << 16, 8, 1}.weaker_than_default()));
  EXPECT_TRUE((ScryptParams{1u << 17, 4, 1}.weaker_than_default()));
  EXPECT_FALSE((ScryptParams{1u << 18, 8, 1}.weaker_than_default()));
  EXPECT_FALSE((ScryptParams{1u << 17, 8, 2}.weaker_than_default()));
  EXPECT_FALSE((ScryptParams{1u << 16, 16, 1}.weaker_than_default()));  // same memory cost
}

}  // namespace
}  // namespace signet::crypto
