// KeyStore::derive_secret: HKDF-SHA256 of the store's data key, per purpose. Deterministic for a
// store (across reopening and passphrase changes, which re-wrap the data key but keep it), distinct
// between purposes and between stores.
#include <gtest/gtest.h>

#include <string_view>

#include "signet/crypto/primitives.h"
#include "signet/keystore/store.h"
#include "support/temp_dir.h"

namespace signet::keystore {
namespace {

constexpr std::string_view kPass = "derive test passphrase";
constexpr std::string_view kOtherPass = "another derive passphrase";

Passphrase pass(std::string_view s) { return Passphrase(as_bytes(s)); }
const crypto::ScryptParams kFastKdf = crypto::ScryptParams::insecure_for_tests();

Bytes copy(const SecretBytes& s) { return Bytes(s.view().begin(), s.view().end()); }

class KeyStoreDeriveTest : public ::testing::Test {
 protected:
  test::TempDir tmp_;
};

TEST_F(KeyStoreDeriveTest, DeriveSecretIsStablePerStoreAndPurpose) {
  const Bytes first = copy(KeyStore::create(tmp_ / "a", pass(kPass), kFastKdf).derive_secret("acme eab"));
  ASSERT_EQ(first.size(), crypto::kAeadKeySize);
  KeyStore reopened = KeyStore::open(tmp_ / "a", pass(kPass));
  EXPECT_EQ(copy(reopened.derive_secret("acme eab")), first);
  EXPECT_EQ(copy(reopened.derive_secret("acme eab")), first);
}

TEST_F(KeyStoreDeriveTest, DeriveSecretDiffersByPurposeAndByStore) {
  KeyStore a = KeyStore::create(tmp_ / "a", pass(kPass), kFastKdf);
  KeyStore b = KeyStore::create(tmp_ / "b", pass(kPass), kFastKdf);
  const Bytes eab = copy(a.derive_secret("acme eab"));
  EXPECT_NE(copy(a.derive_secret("acme eab2")), eab);
  EXPECT_NE(copy(a.derive_secret("")), eab);
  EXPECT_NE(copy(b.derive_secret("acme eab")), eab);
}

TEST_F(KeyStoreDeriveTest, DeriveSecretSurvivesAPassphraseChange) {
  Bytes before;
  {
    KeyStore store = KeyStore::create(tmp_ / "a", pass(kPass), kFastKdf);
    before = copy(store.derive_secret("acme eab"));
    store.change_passphrase(pass(kOtherPass), kFastKdf);
    EXPECT_EQ(copy(store.derive_secret("acme eab")), before);
  }
  KeyStore reopened = KeyStore::open(tmp_ / "a", pass(kOtherPass));
  EXPECT_EQ(copy(reopened.derive_secret("acme eab")), before);
}

TEST_F(KeyStoreDeriveTest, ASecretSealedUnderTheDerivedKeyOpensOnlyWithIt) {
  KeyStore a = KeyStore::create(tmp_ / "a", pass(kPass), kFastKdf);
  KeyStore b = KeyStore::create(tmp_ / "b", pass(kPass), kFastKdf);
  const Bytes hmac = crypto::random_bytes(32);
  const Bytes sealed = crypto::aead_seal(a.derive_secret("acme eab").view(), hmac, as_bytes("kid-1"));
  const auto opened = crypto::aead_open(a.derive_secret("acme eab").view(), sealed, as_bytes("kid-1"));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(copy(*opened), hmac);
  EXPECT_FALSE(crypto::aead_open(a.derive_secret("acme eab").view(), sealed, as_bytes("kid-2")).has_value());
  EXPECT_FALSE(crypto::aead_open(b.derive_secret("acme eab").view(), sealed, as_bytes("kid-1")).has_value());
}

}  // namespace
}  // namespace signet::keystore
