// The integrity check (DESIGN.md, "Integrity: what valid means").
//
// Two kinds of test live here:
//  - IntegrityOfStoreEditedBehindItsBack: a real store whose signet.db is edited with SQL on a
//    separate connection, the way damage happens in life (a hand edit, a bad script, a row copied
//    between stores). Each test asserts the finding, that the entry is excluded and not reusable,
//    and that the untouched entries stay reusable.
//  - IntegrityOfEntrySealedByHand: check_key() on a KeyRecord sealed by the test with its own
//    store id and data key. Only this way can a test make a ciphertext that authenticates but holds
//    the wrong plaintext (a wrong key, a key of the wrong curve, a key that fails the pairwise
//    test).
#include "signet/keystore/integrity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/keystore/store.h"
#include "support/store_edit.h"
#include "support/temp_dir.h"

namespace signet::keystore {
namespace {

using crypto::KeyAlgorithm;
using std::chrono::hours;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr auto kDay = hours(24);

Passphrase store_passphrase() { return Passphrase(as_bytes("integrity test passphrase")); }

TimePoint now() { return std::chrono::system_clock::now(); }

// ---- looking at a report ------------------------------------------------------------------

const KeyVerdict* find_verdict(const std::vector<KeyVerdict>& list, const std::string& name) {
  const auto it = std::find_if(list.begin(), list.end(),
                               [&name](const KeyVerdict& v) { return v.name == name; });
  return it == list.end() ? nullptr : &*it;
}

std::string describe(const KeyVerdict& verdict) {
  std::string out = verdict.name + ":";
  for (const Finding& f : verdict.findings) out += " " + std::string(f.code_name());
  return out;
}

std::vector<FindingCode> error_codes(const KeyVerdict& verdict) {
  std::vector<FindingCode> out;
  for (const Finding& f : verdict.findings) {
    if (f.severity == Severity::Error) out.push_back(f.code);
  }
  return out;
}

const Finding* finding(const KeyVerdict& verdict, FindingCode code) {
  for (const Finding& f : verdict.findings) {
    if (f.code == code) return &f;
  }
  return nullptr;
}

// The verdict of `name` after checking that the entry is excluded, not reusable and carries
// `code`. Null (with a test failure) when it is not.
const KeyVerdict* excluded_with(const IntegrityReport& report, const std::string& name,
                                FindingCode code) {
  if (find_verdict(report.reusable, name) != nullptr) {
    ADD_FAILURE() << name << " is offered for reuse, but should be excluded with "
                  << code_string(code) << " (" << describe(*find_verdict(report.reusable, name))
                  << ")";
    return nullptr;
  }
  const KeyVerdict* v = find_verdict(report.excluded, name);
  if (v == nullptr) {
    ADD_FAILURE() << name << " is missing from the report";
    return nullptr;
  }
  EXPECT_FALSE(v->reusable());
  if (!v->has_finding(code)) {
    ADD_FAILURE() << name << " was excluded, but without " << code_string(code) << ": "
                  << describe(*v);
    return nullptr;
  }
  return v;
}

// The verdict of `name` after checking that it is offered for reuse.
const KeyVerdict* reusable(const IntegrityReport& report, const std::string& name) {
  if (const KeyVerdict* bad = find_verdict(report.excluded, name)) {
    ADD_FAILURE() << name << " was excluded: " << describe(*bad);
    return nullptr;
  }
  const KeyVerdict* v = find_verdict(report.reusable, name);
  if (v == nullptr) ADD_FAILURE() << name << " is missing from the report";
  return v;
}

void expect_intact(const IntegrityReport& report, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const KeyVerdict* v = reusable(report, name);
    if (v != nullptr) {
      EXPECT_THAT(v->findings, IsEmpty()) << describe(*v);
    }
  }
}

// ---- certificates and requests ------------------------------------------------------------

crypto::Certificate self_signed(const EVP_PKEY* key, const std::string& cn, bool ca,
                                bool key_cert_sign = true, TimePoint not_before = now() - hours(1),
                                std::chrono::seconds validity = 30 * kDay) {
  crypto::SelfSignedSpec spec;
  spec.common_name = cn;
  spec.ca = ca;
  spec.key_cert_sign = key_cert_sign;
  spec.not_before = not_before;
  spec.validity = validity;
  return crypto::make_self_signed(key, spec);
}

// A certificate for `subject_key` issued by `issuer_key` (whose certificate is `issuer`): the
// key's own certificate in a two-level chain. Only setup makes these in production, through the
// issuance code, so the test builds it with OpenSSL directly.
crypto::Certificate issued_certificate(const EVP_PKEY* subject_key, const std::string& cn,
                                       const EVP_PKEY* issuer_key,
                                       const crypto::Certificate& issuer) {
  ossl::X509Ptr cert{X509_new()};
  EXPECT_TRUE(cert);
  bool ok = X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 86400) != nullptr &&
            X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                       0) == 1 &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer.x509())) == 1 &&
            X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(subject_key)) == 1;
  ok = ok && X509_sign(cert.get(), const_cast<EVP_PKEY*>(issuer_key), EVP_sha256()) > 0;
  EXPECT_TRUE(ok) << drain_openssl_errors();
  return crypto::Certificate::from_x509(cert.get());
}

// Replaces the first occurrence of `from` in `der` by `to` (same length): an edit inside the
// signed part of a structure that leaves it parseable.
Bytes replace_text(Bytes der, std::string_view from, std::string_view to) {
  EXPECT_EQ(from.size(), to.size());
  const ByteView needle = as_bytes(from);
  const auto it = std::search(der.begin(), der.end(), needle.begin(), needle.end());
  EXPECT_NE(it, der.end()) << "\"" << from << "\" is not in the DER";
  if (it != der.end()) std::copy(to.begin(), to.end(), it);
  return der;
}

// ---- a real store, edited with SQL ----------------------------------------------------------

// Three keys: alpha and bravo (ec-p256), charlie (ed25519). Each test damages the store's
// database on its own SQLite connection while no KeyStore has it open, then opens the store and
// checks every entry.
class IntegrityOfStoreEditedBehindItsBack : public ::testing::Test {
 protected:
  void SetUp() override {
    KeyStore store = KeyStore::create(dir_.path(), store_passphrase(),
                                      crypto::ScryptParams::insecure_for_tests());
    store.generate("alpha", KeyAlgorithm::EcP256);
    store.generate("bravo", KeyAlgorithm::EcP256);
    store.generate("charlie", KeyAlgorithm::Ed25519);
  }

  [[nodiscard]] KeyStore open_store(const Clock& clock = SystemClock::instance()) const {
    return KeyStore::open(dir_.path(), store_passphrase(), clock);
  }
  [[nodiscard]] IntegrityReport check_all(const Clock& clock = SystemClock::instance()) const {
    return open_store(clock).check_all();
  }
  [[nodiscard]] test::StoreEditor edit() const { return test::StoreEditor(dir_.path()); }

  // The private key of an entry, through the store's own API (while it is still intact).
  [[nodiscard]] ossl::Pkey private_key(const std::string& name) const {
    return open_store().unlock_key(name).key;
  }

  // Attaches a self-signed certificate for the entry's own key through the store's API.
  crypto::Certificate attach_own_certificate(const std::string& name, bool ca) const {
    KeyStore store = open_store();
    const crypto::Certificate cert = self_signed(store.unlock_key(name).key.get(), name, ca);
    store.attach_certificate(name, cert);
    return cert;
  }

  crypto::CertificateRequest attach_own_request(const std::string& name,
                                                const std::string& cn) const {
    KeyStore store = open_store();
    const crypto::CertificateRequest req =
        crypto::make_request(store.unlock_key(name).key.get(), cn);
    store.attach_request(name, req);
    return req;
  }

  test::TempDir dir_;
};

TEST_F(IntegrityOfStoreEditedBehindItsBack, UntouchedStoreOffersEveryKeyWithoutFindings) {
  const IntegrityReport report = check_all();
  EXPECT_EQ(report.checked(), 3u);
  EXPECT_THAT(report.excluded, IsEmpty());
  expect_intact(report, {"alpha", "bravo", "charlie"});
}

// Rule 1: complete.

TEST_F(IntegrityOfStoreEditedBehindItsBack, NulledCiphertextIsPrivateKeyMissing) {
  edit().exec("UPDATE keys SET encrypted_private_key = NULL WHERE name = 'alpha'");

  KeyStore store = open_store();
  const IntegrityReport report = store.check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::PrivateKeyMissing);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::PrivateKeyMissing));
  const Finding* f = finding(*v, FindingCode::PrivateKeyMissing);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->code_name(), "private-key-missing");
  EXPECT_EQ(f->severity, Severity::Error);
  EXPECT_FALSE(f->fix.empty());
  expect_intact(report, {"bravo", "charlie"});

  // Nor can it be unlocked by name.
  try {
    (void)store.unlock_key("alpha");
    ADD_FAILURE() << "unlock_key returned a key for an entry without a private key";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "key-invalid");
    EXPECT_THAT(e.what(), HasSubstr("private-key-missing"));
  }
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, BlankedCiphertextIsPrivateKeyMissing) {
  edit().exec("UPDATE keys SET encrypted_private_key = x'' WHERE name = 'bravo'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "bravo", FindingCode::PrivateKeyMissing);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::PrivateKeyMissing));
  expect_intact(report, {"alpha", "charlie"});
}

// The Q174781 shape: an entry made from a certificate request alone. It has a public key and a
// request, but a request cannot be turned back into a private key.
TEST_F(IntegrityOfStoreEditedBehindItsBack, RowHoldingOnlyARequestIsPrivateKeyMissing) {
  const ossl::Pkey key = crypto::generate_key(KeyAlgorithm::EcP256);
  const Bytes spki = crypto::public_key_der(key.get());
  const crypto::CertificateRequest req = crypto::make_request(key.get(), "csr-only.example");
  {
    test::StoreEditor ed = edit();
    ed.db()
        .prepare(
            "INSERT INTO keys (name, algorithm, public_key, fingerprint, "
            "encrypted_private_key, source, created_at) "
            "VALUES ('csr-only', 'ec-p256', ?, ?, NULL, 'imported', 0)")
        .bind(1, ByteView(spki))
        .bind(2, ByteView(crypto::sha256(spki)))
        .run();
    ed.insert_request("csr-only", req.der());
  }

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "csr-only", FindingCode::PrivateKeyMissing);
  ASSERT_NE(v, nullptr);
  // Diagnosed precisely: the request itself is fine, the key is what is missing.
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::PrivateKeyMissing));
  EXPECT_EQ(v->request_count, 1u);
  const Finding* f = finding(*v, FindingCode::PrivateKeyMissing);
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(f->message, HasSubstr("certificate request"));
  // A local entry: delete it first (a copy with its fingerprint is not added while it is here),
  // then re-import the private key or restore a backup that holds it.
  EXPECT_THAT(f->fix, HasSubstr("signet keys delete"));
  EXPECT_THAT(f->fix, HasSubstr("signet keys import"));
  EXPECT_THAT(f->fix, HasSubstr("signet backup restore"));
  expect_intact(report, {"alpha", "bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, RowHoldingOnlyACertificateIsPrivateKeyMissing) {
  const ossl::Pkey key = crypto::generate_key(KeyAlgorithm::EcP256);
  const crypto::Certificate cert = self_signed(key.get(), "cert-only", /*ca=*/true);
  {
    test::StoreEditor ed = edit();
    ed.exec(
        "INSERT INTO keys (name, algorithm, public_key, fingerprint, encrypted_private_key, "
        "source, created_at) VALUES ('cert-only', 'ec-p256', NULL, NULL, NULL, 'imported', 0)");
    ed.insert_certificate("cert-only", kRoleCa, 0, cert.der());
  }

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "cert-only", FindingCode::PrivateKeyMissing);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->has_finding(FindingCode::PublicKeyMissing));
  EXPECT_TRUE(v->has_finding(FindingCode::FingerprintMissing));
  ASSERT_EQ(v->certificates.size(), 1u);
  EXPECT_EQ(v->certificates[0].subject, "CN=cert-only");
  EXPECT_THAT(finding(*v, FindingCode::PrivateKeyMissing)->message, HasSubstr("certificate"));
  expect_intact(report, {"alpha", "bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, NulledPublicKeyIsPublicKeyMissing) {
  edit().exec("UPDATE keys SET public_key = NULL WHERE name = 'alpha'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::PublicKeyMissing);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::PublicKeyMissing));
  EXPECT_EQ(finding(*v, FindingCode::PublicKeyMissing)->code_name(), "public-key-missing");
  expect_intact(report, {"bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, NulledFingerprintIsFingerprintMissing) {
  edit().exec("UPDATE keys SET fingerprint = NULL WHERE name = 'charlie'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "charlie", FindingCode::FingerprintMissing);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::FingerprintMissing));
  EXPECT_EQ(v->fingerprint_hex, "");
  expect_intact(report, {"alpha", "bravo"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack,
       AlgorithmColumnNamingNoKnownAlgorithmIsAlgorithmUnknown) {
  edit().exec("UPDATE keys SET algorithm = 'ec-p521' WHERE name = 'alpha'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::AlgorithmUnknown);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->algorithm, "ec-p521");
  EXPECT_THAT(finding(*v, FindingCode::AlgorithmUnknown)->message, HasSubstr("ec-p521"));
  // The algorithm is part of the ciphertext's identity.
  EXPECT_TRUE(v->has_finding(FindingCode::CiphertextAuthFailed));
  expect_intact(report, {"bravo", "charlie"});
}

// Rule 4 (stored public key and fingerprint).

TEST_F(IntegrityOfStoreEditedBehindItsBack, TruncatedPublicKeyIsPublicKeyMalformed) {
  edit().exec("UPDATE keys SET public_key = substr(public_key, 1, 40) WHERE name = 'bravo'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "bravo", FindingCode::PublicKeyMalformed);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->has_finding(FindingCode::FingerprintMismatch));
  EXPECT_EQ(finding(*v, FindingCode::PublicKeyMalformed)->code_name(), "public-key-malformed");
  expect_intact(report, {"alpha", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, PublicKeyWithTrailingBytesIsPublicKeyMalformed) {
  {
    test::StoreEditor ed = edit();
    Bytes spki = *ed.key_blob("charlie", "public_key");
    spki.push_back(0x00);
    ed.set_key_blob("charlie", "public_key", spki);
  }

  const IntegrityReport report = check_all();
  ASSERT_NE(excluded_with(report, "charlie", FindingCode::PublicKeyMalformed), nullptr);
  expect_intact(report, {"alpha", "bravo"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack,
       PublicKeyOfAnotherAlgorithmIsPublicKeyAlgorithmMismatch) {
  // alpha (ec-p256) gets charlie's Ed25519 public key and fingerprint.
  edit().exec(
      "UPDATE keys SET (public_key, fingerprint) = "
      "(SELECT public_key, fingerprint FROM keys WHERE name = 'charlie') WHERE name = 'alpha'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::PublicKeyAlgorithmMismatch);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(finding(*v, FindingCode::PublicKeyAlgorithmMismatch)->message, HasSubstr("ec-p256"));
  EXPECT_TRUE(v->has_finding(FindingCode::CiphertextAuthFailed));
  // The entry it was copied from is not harmed.
  expect_intact(report, {"bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, AlgorithmColumnChangedToAnotherCurveIsCaught) {
  {
    test::StoreEditor ed = edit();
    ed.set_key_text("alpha", "algorithm", "ec-p384");
    ed.set_key_text("charlie", "algorithm", "ec-p256");
  }

  const IntegrityReport report = check_all();
  for (const char* name : {"alpha", "charlie"}) {
    const KeyVerdict* v = excluded_with(report, name, FindingCode::PublicKeyAlgorithmMismatch);
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(v->has_finding(FindingCode::CiphertextAuthFailed)) << describe(*v);
  }
  expect_intact(report, {"bravo"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, FlippedFingerprintByteIsFingerprintMismatch) {
  edit().flip_key_byte("alpha", "fingerprint", 5);

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::FingerprintMismatch);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(finding(*v, FindingCode::FingerprintMismatch)->code_name(), "fingerprint-mismatch");
  EXPECT_TRUE(v->has_finding(FindingCode::CiphertextAuthFailed));
  expect_intact(report, {"bravo", "charlie"});
}

// The public key column replaced, the fingerprint (part of the AAD) kept: the ciphertext still
// authenticates, so it is the derived public key that gives the edit away.
TEST_F(IntegrityOfStoreEditedBehindItsBack, ReplacedPublicKeyIsPublicKeyMismatch) {
  edit().exec(
      "UPDATE keys SET public_key = (SELECT public_key FROM keys WHERE name = 'bravo') "
      "WHERE name = 'alpha'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::PublicKeyMismatch);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::FingerprintMismatch,
                                                    FindingCode::PublicKeyMismatch));
  EXPECT_EQ(finding(*v, FindingCode::PublicKeyMismatch)->code_name(), "public-key-mismatch");
  expect_intact(report, {"bravo", "charlie"});
}

// Rule 2: the ciphertext authenticates under this store's data key with the entry's identity.

class IntegrityOfTruncatedCiphertext : public IntegrityOfStoreEditedBehindItsBack,
                                       public ::testing::WithParamInterface<int> {};

TEST_P(IntegrityOfTruncatedCiphertext, TooShortToHoldAKeyIsCiphertextMalformed) {
  edit().exec("UPDATE keys SET encrypted_private_key = substr(encrypted_private_key, 1, " +
              std::to_string(GetParam()) + ") WHERE name = 'alpha'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::CiphertextMalformed);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CiphertextMalformed));
  const Finding* f = finding(*v, FindingCode::CiphertextMalformed);
  EXPECT_EQ(f->code_name(), "ciphertext-malformed");
  EXPECT_THAT(f->message, HasSubstr(std::to_string(GetParam()) + " bytes"));
  expect_intact(report, {"bravo", "charlie"});
}

// 28 bytes is a nonce and a tag around nothing.
INSTANTIATE_TEST_SUITE_P(ShorterThanNonceAndTag, IntegrityOfTruncatedCiphertext,
                         ::testing::Values(1, 12, 27, 28));

TEST_F(IntegrityOfStoreEditedBehindItsBack, CiphertextTruncatedInsideTheKeyFailsAuthentication) {
  edit().exec(
      "UPDATE keys SET encrypted_private_key = substr(encrypted_private_key, 1, 29) "
      "WHERE name = 'alpha'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::CiphertextAuthFailed);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CiphertextAuthFailed));
}

// Which byte of nonce || ciphertext || tag is flipped: 0 = the first, -1 = the last.
class IntegrityOfFlippedCiphertextByte : public IntegrityOfStoreEditedBehindItsBack,
                                         public ::testing::WithParamInterface<int> {};

TEST_P(IntegrityOfFlippedCiphertextByte, IsCiphertextAuthFailed) {
  {
    test::StoreEditor ed = edit();
    const std::size_t size = ed.key_blob("bravo", "encrypted_private_key")->size();
    const int at = GetParam();
    ed.flip_key_byte("bravo", "encrypted_private_key",
                     at >= 0 ? static_cast<std::size_t>(at) : size - static_cast<std::size_t>(-at),
                     0x80);
  }

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "bravo", FindingCode::CiphertextAuthFailed);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CiphertextAuthFailed));
  const Finding* f = finding(*v, FindingCode::CiphertextAuthFailed);
  EXPECT_EQ(f->code_name(), "ciphertext-auth-failed");
  EXPECT_THAT(f->fix, HasSubstr("signet backup restore"));
  EXPECT_THAT(f->fix, HasSubstr("signet keys delete"));
  expect_intact(report, {"alpha", "charlie"});
}

// The nonce, the first ciphertext byte, the middle of the key, the tag.
INSTANTIATE_TEST_SUITE_P(NonceCiphertextAndTag, IntegrityOfFlippedCiphertextByte,
                         ::testing::Values(0, 11, 12, 60, -16, -1));

TEST_F(IntegrityOfStoreEditedBehindItsBack, SwappedCiphertextsFailAuthenticationInBothRows) {
  edit().swap_key_blobs("alpha", "bravo", "encrypted_private_key");

  const IntegrityReport report = check_all();
  for (const char* name : {"alpha", "bravo"}) {
    const KeyVerdict* v = excluded_with(report, name, FindingCode::CiphertextAuthFailed);
    ASSERT_NE(v, nullptr);
    EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CiphertextAuthFailed));
  }
  expect_intact(report, {"charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, RowCopiedInFromAnotherStoreFailsAuthentication) {
  test::TempDir other_dir;
  {
    KeyStore other = KeyStore::create(other_dir.path(), store_passphrase(),
                                      crypto::ScryptParams::insecure_for_tests());
    other.generate("foreign", KeyAlgorithm::EcP256);
  }
  {
    test::StoreEditor ed = edit();
    ed.exec("ATTACH DATABASE '" + KeyStore::database_path(other_dir.path()).string() +
            "' AS other");
    ed.exec(
        "INSERT INTO keys (name, algorithm, public_key, fingerprint, encrypted_private_key, "
        "source, created_at, comment) SELECT name, algorithm, public_key, fingerprint, "
        "encrypted_private_key, source, created_at, comment FROM other.keys");
    ed.exec("DETACH DATABASE other");
  }

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "foreign", FindingCode::CiphertextAuthFailed);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CiphertextAuthFailed));
  expect_intact(report, {"alpha", "bravo", "charlie"});
}

// The same key imported into another store under the same key id: only the store (its id and
// data key) differs, and that is enough.
TEST_F(IntegrityOfStoreEditedBehindItsBack, SameKeysCiphertextFromAnotherStoreFailsAuthentication) {
  test::TempDir twin_dir;
  {
    KeyStore twin = KeyStore::create(twin_dir.path(), store_passphrase(),
                                     crypto::ScryptParams::insecure_for_tests());
    KeyMaterial material;
    material.key = private_key("alpha");
    material.format = "pkcs8-der";
    twin.import("alpha", std::move(material));
  }
  {
    test::StoreEditor ours = edit();
    test::StoreEditor twin(twin_dir.path());
    ASSERT_EQ(ours.key_id("alpha"), twin.key_id("alpha"));
    ASSERT_EQ(ours.key_blob("alpha", "fingerprint"), twin.key_blob("alpha", "fingerprint"));
    ours.set_key_blob("alpha", "encrypted_private_key",
                      twin.key_blob("alpha", "encrypted_private_key"));
  }

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::CiphertextAuthFailed);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CiphertextAuthFailed));
  expect_intact(report, {"bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, RenumberedRowFailsAuthentication) {
  edit().exec("UPDATE keys SET id = 1000 WHERE name = 'bravo'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "bravo", FindingCode::CiphertextAuthFailed);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->id, KeyId{1000});
  expect_intact(report, {"alpha", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, RenamedRowStaysValid) {
  // The name is deliberately not part of the identity (rename() is a plain UPDATE).
  edit().exec("UPDATE keys SET name = 'alpha-renamed' WHERE name = 'alpha'");

  const IntegrityReport report = check_all();
  expect_intact(report, {"alpha-renamed", "bravo", "charlie"});
}

// A key is offered only if it passed just now: damage done while the store is open (signetd
// running, an operator at the sqlite3 prompt) is seen by the very next check, without reopening.
TEST_F(IntegrityOfStoreEditedBehindItsBack, DamageWhileTheStoreIsOpenIsSeenByTheNextCheck) {
  KeyStore store = open_store();
  ASSERT_EQ(store.check_all().reusable.size(), 3u);
  edit().flip_key_byte("charlie", "encrypted_private_key", 40);

  const IntegrityReport report = store.check_all();
  ASSERT_NE(excluded_with(report, "charlie", FindingCode::CiphertextAuthFailed), nullptr);
  expect_intact(report, {"alpha", "bravo"});
  EXPECT_THROW((void)store.unlock_key("charlie"), Error);
}

// KeyStore::check(names), what `signet keys verify NAME...` runs: one verdict per name asked,
// in the order asked, damaged or not, even when a name is asked twice.
TEST_F(IntegrityOfStoreEditedBehindItsBack, CheckByNameGivesOneVerdictPerNameInTheOrderAsked) {
  edit().flip_key_byte("alpha", "encrypted_private_key", 30);

  KeyStore store = open_store();
  const std::vector<std::string> names = {"charlie", "alpha", "bravo", "alpha", "charlie"};
  const std::vector<KeyVerdict> verdicts = store.check(names);
  ASSERT_EQ(verdicts.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(verdicts[i].name, names[i]) << "verdict " << i;
    EXPECT_EQ(verdicts[i].reusable(), names[i] != "alpha") << describe(verdicts[i]);
    EXPECT_EQ(verdicts[i].has_finding(FindingCode::CiphertextAuthFailed), names[i] == "alpha");
  }
}

// Rule 6: certificates.

TEST_F(IntegrityOfStoreEditedBehindItsBack, TruncatedCertificateIsCertificateMalformed) {
  attach_own_certificate("alpha", /*ca=*/true);
  ASSERT_TRUE(reusable(check_all(), "alpha"));
  edit().exec("UPDATE key_certificates SET der = substr(der, 1, 100)");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::CertificateMalformed);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CertificateMalformed));
  ASSERT_EQ(v->certificates.size(), 1u);
  EXPECT_EQ(v->certificates[0].role, "ca");
  EXPECT_EQ(v->certificates[0].subject, "");
  expect_intact(report, {"bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack,
       AnotherKeysCertificateAttachedIsCertificateKeyMismatch) {
  attach_own_certificate("bravo", /*ca=*/true);
  edit().exec(
      "INSERT INTO key_certificates (key_id, role, position, der, added_at) "
      "SELECT (SELECT id FROM keys WHERE name = 'alpha'), role, position, der, added_at "
      "FROM key_certificates WHERE key_id = (SELECT id FROM keys WHERE name = 'bravo')");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::CertificateKeyMismatch);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CertificateKeyMismatch));
  const Finding* f = finding(*v, FindingCode::CertificateKeyMismatch);
  EXPECT_EQ(f->code_name(), "certificate-key-mismatch");
  EXPECT_THAT(f->message, HasSubstr("CN=bravo"));
  // bravo, whose certificate it is, is untouched.
  expect_intact(report, {"bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack,
       CertificateOverwrittenWithAnotherKeysIsCertificateKeyMismatch) {
  attach_own_certificate("alpha", /*ca=*/false);
  const crypto::Certificate charlies = attach_own_certificate("charlie", /*ca=*/false);
  {
    test::StoreEditor ed = edit();
    const auto rows = ed.certificates("alpha");
    ASSERT_EQ(rows.size(), 1u);
    ed.set_certificate_der(rows[0].id, charlies.der());
  }

  const IntegrityReport report = check_all();
  ASSERT_NE(excluded_with(report, "alpha", FindingCode::CertificateKeyMismatch), nullptr);
  expect_intact(report, {"bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, CaCertificateWithoutKeyCertSignIsCaCertificateNotCa) {
  const crypto::Certificate cert =
      self_signed(private_key("alpha").get(), "alpha", /*ca=*/true, /*key_cert_sign=*/false);
  edit().insert_certificate("alpha", kRoleCa, 0, cert.der());

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::CaCertificateNotCa);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CaCertificateNotCa));
  const Finding* f = finding(*v, FindingCode::CaCertificateNotCa);
  EXPECT_EQ(f->code_name(), "ca-certificate-not-ca");
  EXPECT_THAT(f->message, HasSubstr("keyUsage keyCertSign"));
  EXPECT_THAT(f->message, ::testing::Not(HasSubstr("basicConstraints")));
  expect_intact(report, {"bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, LeafCertificateRelabelledCaIsCaCertificateNotCa) {
  attach_own_certificate("charlie", /*ca=*/false);
  ASSERT_TRUE(reusable(check_all(), "charlie"));
  edit().exec("UPDATE key_certificates SET role = 'ca' WHERE role = 'leaf'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "charlie", FindingCode::CaCertificateNotCa);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(finding(*v, FindingCode::CaCertificateNotCa)->message,
              HasSubstr("basicConstraints CA:TRUE and keyUsage keyCertSign"));
  expect_intact(report, {"alpha", "bravo"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, UnknownCertificateRoleIsCertificateRoleUnknown) {
  attach_own_certificate("bravo", /*ca=*/true);
  edit().exec("UPDATE key_certificates SET role = 'root'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "bravo", FindingCode::CertificateRoleUnknown);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::CertificateRoleUnknown));
  EXPECT_THAT(finding(*v, FindingCode::CertificateRoleUnknown)->message, HasSubstr("\"root\""));
  expect_intact(report, {"alpha", "charlie"});
}

// An entry imported with its own certificate and the root that issued it (leaf, then chain).
class IntegrityOfIssuedKeysChain : public IntegrityOfStoreEditedBehindItsBack {
 protected:
  void SetUp() override {
    IntegrityOfStoreEditedBehindItsBack::SetUp();
    const ossl::Pkey root_key = crypto::generate_key(KeyAlgorithm::EcP256);
    const crypto::Certificate root = self_signed(root_key.get(), "Test Root", /*ca=*/true);
    KeyMaterial material;
    material.key = crypto::generate_key(KeyAlgorithm::EcP256);
    material.certificates = {issued_certificate(material.key.get(), "issued", root_key.get(), root),
                             root};
    material.format = "pem";
    open_store().import("issued", std::move(material));
  }
};

TEST_F(IntegrityOfIssuedKeysChain, IntactChainIsValid) {
  const IntegrityReport report = check_all();
  const KeyVerdict* v = reusable(report, "issued");
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(v->findings, IsEmpty());
  ASSERT_EQ(v->certificates.size(), 2u);
  EXPECT_EQ(v->certificates[0].role, "leaf");
  EXPECT_EQ(v->certificates[1].role, "chain");
  EXPECT_EQ(v->certificates[1].subject, "CN=Test Root");
}

TEST_F(IntegrityOfIssuedKeysChain,
       ChainCertificateReplacedWithUnrelatedCaIsChainCertificateUnrelated) {
  const ossl::Pkey stranger = crypto::generate_key(KeyAlgorithm::EcP256);
  const crypto::Certificate unrelated = self_signed(stranger.get(), "Test Root", /*ca=*/true);
  edit().exec("UPDATE key_certificates SET der = x'" + to_hex(unrelated.der()) +
              "' WHERE role = 'chain'");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "issued", FindingCode::ChainCertificateUnrelated);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::ChainCertificateUnrelated));
  EXPECT_EQ(finding(*v, FindingCode::ChainCertificateUnrelated)->code_name(),
            "chain-certificate-unrelated");
  expect_intact(report, {"alpha", "bravo", "charlie"});
}

TEST_F(IntegrityOfIssuedKeysChain,
       ChainLeftWithoutTheKeysOwnCertificateIsChainCertificateUnrelated) {
  edit().exec("DELETE FROM key_certificates WHERE role = 'leaf'");

  const IntegrityReport report = check_all();
  ASSERT_NE(excluded_with(report, "issued", FindingCode::ChainCertificateUnrelated), nullptr);
}

TEST_F(IntegrityOfIssuedKeysChain, ChainReorderedBeforeTheKeysOwnCertificateIsCaught) {
  edit().exec("UPDATE key_certificates SET position = 5 WHERE role = 'leaf'");

  const IntegrityReport report = check_all();
  ASSERT_NE(excluded_with(report, "issued", FindingCode::ChainCertificateUnrelated), nullptr);
}

// Requests.

TEST_F(IntegrityOfStoreEditedBehindItsBack, TruncatedRequestIsRequestMalformed) {
  attach_own_request("alpha", "alpha.example");
  edit().exec("UPDATE key_requests SET der = substr(der, 1, 50)");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::RequestMalformed);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::RequestMalformed));
  EXPECT_EQ(finding(*v, FindingCode::RequestMalformed)->code_name(), "request-malformed");
  expect_intact(report, {"bravo", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, RequestWithEditedSubjectIsRequestMalformed) {
  const crypto::CertificateRequest req = attach_own_request("charlie", "charlie.example");
  edit().set_requests_der("charlie", replace_text(req.der(), "charlie.example", "mallory.example"));

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "charlie", FindingCode::RequestMalformed);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(finding(*v, FindingCode::RequestMalformed)->message,
              HasSubstr("signature that does not verify"));
  expect_intact(report, {"alpha", "bravo"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, AnotherKeysRequestAttachedIsRequestKeyMismatch) {
  attach_own_request("bravo", "bravo.example");
  edit().exec(
      "INSERT INTO key_requests (key_id, der, added_at) "
      "SELECT (SELECT id FROM keys WHERE name = 'alpha'), der, added_at FROM key_requests");

  const IntegrityReport report = check_all();
  const KeyVerdict* v = excluded_with(report, "alpha", FindingCode::RequestKeyMismatch);
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(error_codes(*v), UnorderedElementsAre(FindingCode::RequestKeyMismatch));
  EXPECT_EQ(finding(*v, FindingCode::RequestKeyMismatch)->code_name(), "request-key-mismatch");
  expect_intact(report, {"bravo", "charlie"});
}

// Validity: warnings, never exclusions.

TEST_F(IntegrityOfStoreEditedBehindItsBack, ExpiredCertificateWarnsButKeyStaysReusable) {
  {
    KeyStore store = open_store();
    const crypto::Certificate old = self_signed(store.unlock_key("alpha").key.get(), "alpha",
                                                /*ca=*/true, true, now() - 30 * kDay, kDay);
    store.attach_certificate("alpha", old);  // allowed: an expired certificate is a warning
  }

  KeyStore store = open_store();
  const IntegrityReport report = store.check_all();
  const KeyVerdict* v = reusable(report, "alpha");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->reusable());
  ASSERT_TRUE(v->has_finding(FindingCode::CertificateExpired)) << describe(*v);
  const Finding* f = finding(*v, FindingCode::CertificateExpired);
  EXPECT_EQ(f->severity, Severity::Warning);
  EXPECT_EQ(f->code_name(), "certificate-expired");
  EXPECT_THAT(f->fix, HasSubstr("new certificate"));
  EXPECT_THAT(report.excluded, IsEmpty());
  // And it can be used.
  EXPECT_TRUE(store.unlock_key("alpha").key);
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, ClockPastTheCertificatesEndWarnsExpired) {
  attach_own_certificate("bravo", /*ca=*/true);  // valid for 30 days

  const FixedClock later(now() + 365 * kDay);
  const IntegrityReport report = check_all(later);
  const KeyVerdict* v = reusable(report, "bravo");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->has_finding(FindingCode::CertificateExpired)) << describe(*v);
  EXPECT_FALSE(v->has_finding(FindingCode::CertificateNotYetValid));
  expect_intact(report, {"alpha", "charlie"});
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, ClockBeforeTheCertificatesStartWarnsNotYetValid) {
  attach_own_certificate("bravo", /*ca=*/false);

  const FixedClock earlier(now() - 10 * kDay);
  const IntegrityReport report = check_all(earlier);
  const KeyVerdict* v = reusable(report, "bravo");
  ASSERT_NE(v, nullptr);
  ASSERT_TRUE(v->has_finding(FindingCode::CertificateNotYetValid)) << describe(*v);
  const Finding* f = finding(*v, FindingCode::CertificateNotYetValid);
  EXPECT_EQ(f->severity, Severity::Warning);
  EXPECT_EQ(f->code_name(), "certificate-not-yet-valid");
  EXPECT_THAT(report.excluded, IsEmpty());
}

TEST_F(IntegrityOfStoreEditedBehindItsBack, FutureDatedCertificateWarnsNotYetValid) {
  const crypto::Certificate future = self_signed(private_key("charlie").get(), "charlie",
                                                 /*ca=*/true, true, now() + 7 * kDay, 30 * kDay);
  edit().insert_certificate("charlie", kRoleCa, 0, future.der());

  const IntegrityReport report = check_all();
  const KeyVerdict* v = reusable(report, "charlie");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->has_finding(FindingCode::CertificateNotYetValid)) << describe(*v);
}

// ---- entries sealed by the test itself -------------------------------------------------------

// A store id and data key of the test's own, so that the test can seal any plaintext with an
// entry's real identity as AAD: a ciphertext that authenticates and holds the wrong thing.
class IntegrityOfEntrySealedByHand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_a_ = crypto::generate_key(KeyAlgorithm::EcP256);
    key_b_ = crypto::generate_key(KeyAlgorithm::EcP256);
    key_p384_ = crypto::generate_key(KeyAlgorithm::EcP384);
    key_ed_ = crypto::generate_key(KeyAlgorithm::Ed25519);
  }
  static void TearDownTestSuite() {
    key_a_.reset();
    key_b_.reset();
    key_p384_.reset();
    key_ed_.reset();
  }

  [[nodiscard]] KeyContext context() const { return KeyContext{store_id_, data_key_}; }

  // An entry that claims `algorithm` and `public_key`, whose ciphertext holds `plaintext`.
  [[nodiscard]] KeyRecord sealed_entry(std::int64_t id, const std::string& algorithm,
                                       const EVP_PKEY* public_key, ByteView plaintext) const {
    KeyRecord r;
    r.id = KeyId{id};
    r.name = "entry-" + std::to_string(id);
    r.algorithm = algorithm;
    r.public_key = crypto::public_key_der(public_key);
    r.fingerprint = crypto::sha256(*r.public_key);
    r.encrypted_private_key = crypto::aead_seal(
        data_key_, plaintext, entry_aad(store_id_, r.id, algorithm, *r.fingerprint));
    r.source = std::string(kSourceGenerated);
    return r;
  }

  // A sound entry for `key`, exactly as the store would write it.
  [[nodiscard]] KeyRecord intact_entry(std::int64_t id, const EVP_PKEY* key) const {
    const SecretBytes plain = crypto::private_key_der(key);
    return sealed_entry(id, std::string(crypto::to_string(*crypto::algorithm_of(key))), key,
                        plain.view());
  }

  [[nodiscard]] KeyVerdict check(const KeyRecord& record, TimePoint at = now()) const {
    return check_key(context(), record, at);
  }

  static inline ossl::Pkey key_a_;
  static inline ossl::Pkey key_b_;
  static inline ossl::Pkey key_p384_;
  static inline ossl::Pkey key_ed_;
  Bytes store_id_ = crypto::random_bytes(16);
  Bytes data_key_ = crypto::random_bytes(crypto::kAeadKeySize);
};

// An EC P-256 private key whose secret scalar is `scalar_of`'s but whose embedded public point is
// `point_of`'s: damage inside the plaintext that leaves the public half looking right. Only the
// sign-and-verify round trip can catch it.
ossl::Pkey ec_key_with_foreign_public_point(const EVP_PKEY* scalar_of, const EVP_PKEY* point_of) {
  BIGNUM* scalar = nullptr;
  unsigned char point[133];
  std::size_t point_len = 0;
  EXPECT_EQ(EVP_PKEY_get_bn_param(scalar_of, OSSL_PKEY_PARAM_PRIV_KEY, &scalar), 1);
  const ossl::BignumPtr scalar_owner(scalar);
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(point_of, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                            &point_len),
            1);
  std::unique_ptr<OSSL_PARAM_BLD, ossl::Deleter<OSSL_PARAM_BLD_free>> build{OSSL_PARAM_BLD_new()};
  EXPECT_TRUE(build);
  char group[] = "P-256";
  EXPECT_EQ(OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0), 1);
  EXPECT_EQ(OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar), 1);
  EXPECT_EQ(
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point, point_len), 1);
  std::unique_ptr<OSSL_PARAM, ossl::Deleter<OSSL_PARAM_free>> params{
      OSSL_PARAM_BLD_to_param(build.get())};
  const ossl::PkeyCtx ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  EVP_PKEY* out = nullptr;
  EXPECT_TRUE(params && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
              EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_KEYPAIR, params.get()) == 1)
      << drain_openssl_errors();
  return ossl::Pkey(out);
}

TEST_F(IntegrityOfEntrySealedByHand, EntrySealedLikeTheStoreDoesIsValid) {
  for (const EVP_PKEY* key : {key_a_.get(), key_p384_.get(), key_ed_.get()}) {
    const KeyVerdict v = check(intact_entry(3, key));
    EXPECT_TRUE(v.reusable()) << describe(v);
    EXPECT_THAT(v.findings, IsEmpty()) << describe(v);
  }
}

TEST_F(IntegrityOfEntrySealedByHand, AuthenticGarbageIsPrivateKeyMalformed) {
  const KeyVerdict v =
      check(sealed_entry(4, "ec-p256", key_a_.get(), as_bytes("not a PKCS#8 key")));
  EXPECT_FALSE(v.reusable());
  ASSERT_THAT(error_codes(v), UnorderedElementsAre(FindingCode::PrivateKeyMalformed));
  EXPECT_EQ(finding(v, FindingCode::PrivateKeyMalformed)->code_name(), "private-key-malformed");
}

TEST_F(IntegrityOfEntrySealedByHand, AuthenticButTruncatedPkcs8IsPrivateKeyMalformed) {
  const SecretBytes plain = crypto::private_key_der(key_a_.get());
  const KeyVerdict v =
      check(sealed_entry(4, "ec-p256", key_a_.get(), plain.view().first(plain.size() - 10)));
  EXPECT_THAT(error_codes(v), UnorderedElementsAre(FindingCode::PrivateKeyMalformed));
}

TEST_F(IntegrityOfEntrySealedByHand, AuthenticKeyOfAnotherCurveIsPrivateKeyAlgorithmMismatch) {
  const SecretBytes p384 = crypto::private_key_der(key_p384_.get());
  const KeyVerdict v = check(sealed_entry(5, "ec-p256", key_a_.get(), p384.view()));
  EXPECT_FALSE(v.reusable());
  ASSERT_TRUE(v.has_finding(FindingCode::PrivateKeyAlgorithmMismatch)) << describe(v);
  EXPECT_THAT(finding(v, FindingCode::PrivateKeyAlgorithmMismatch)->message,
              HasSubstr("secp384r1"));
  EXPECT_TRUE(v.has_finding(FindingCode::PublicKeyMismatch));

  const SecretBytes ed = crypto::private_key_der(key_ed_.get());
  const KeyVerdict v_ed = check(sealed_entry(6, "ec-p256", key_a_.get(), ed.view()));
  EXPECT_TRUE(v_ed.has_finding(FindingCode::PrivateKeyAlgorithmMismatch)) << describe(v_ed);
}

TEST_F(IntegrityOfEntrySealedByHand, AuthenticOtherKeyOfTheSameCurveIsPublicKeyMismatch) {
  const SecretBytes other = crypto::private_key_der(key_b_.get());
  const KeyVerdict v = check(sealed_entry(7, "ec-p256", key_a_.get(), other.view()));
  EXPECT_FALSE(v.reusable());
  EXPECT_THAT(error_codes(v), UnorderedElementsAre(FindingCode::PublicKeyMismatch));
}

TEST_F(IntegrityOfEntrySealedByHand, ScalarWithForeignPublicPointFailsThePairwiseCheck) {
  const ossl::Pkey broken = ec_key_with_foreign_public_point(key_b_.get(), key_a_.get());
  ASSERT_TRUE(broken);
  ASSERT_TRUE(crypto::same_public_key(broken.get(), key_a_.get()));  // the shape under test
  const SecretBytes plain = crypto::private_key_der(broken.get());
  const KeyVerdict v = check(sealed_entry(8, "ec-p256", key_a_.get(), plain.view()));
  EXPECT_FALSE(v.reusable());
  ASSERT_THAT(error_codes(v), UnorderedElementsAre(FindingCode::PairwiseCheckFailed));
  EXPECT_EQ(finding(v, FindingCode::PairwiseCheckFailed)->code_name(), "pairwise-check-failed");
}

// Two stores never share a data key in practice, so only a hand-made context can show that the
// store id is bound as well: the same data key under another store id does not open the entry.
TEST_F(IntegrityOfEntrySealedByHand, EntryOfAnotherStoreIdFailsAuthenticationEvenUnderTheSameKey) {
  const KeyRecord r = intact_entry(12, key_a_.get());
  const Bytes other_store_id = crypto::random_bytes(16);
  const KeyVerdict v = check_key(KeyContext{other_store_id, data_key_}, r, now());
  EXPECT_FALSE(v.reusable());
  EXPECT_THAT(error_codes(v), UnorderedElementsAre(FindingCode::CiphertextAuthFailed));
  EXPECT_TRUE(check(r).reusable());
}

TEST_F(IntegrityOfEntrySealedByHand, DecryptPrivateKeyGivesTheKeyOnlyWhenItAuthenticates) {
  KeyRecord r = intact_entry(9, key_a_.get());
  const ossl::Pkey key = decrypt_private_key(context(), r);
  ASSERT_TRUE(key);
  EXPECT_TRUE(crypto::same_public_key(key.get(), key_a_.get()));

  r.encrypted_private_key->back() ^= 0x01;
  EXPECT_FALSE(decrypt_private_key(context(), r));
  r = intact_entry(9, key_a_.get());
  r.id = KeyId{10};
  EXPECT_FALSE(decrypt_private_key(context(), r));
  r = intact_entry(9, key_a_.get());
  r.encrypted_private_key.reset();
  EXPECT_FALSE(decrypt_private_key(context(), r));
}

// ---- every code, produced -------------------------------------------------------------------

// One entry damaged so that check_key must report `code`. The switch has no default: a new
// FindingCode does not compile here until it has a way to be produced.
class IntegrityOfDamagedEntries : public IntegrityOfEntrySealedByHand {
 protected:
  [[nodiscard]] KeyRecord record_producing(FindingCode code) const {
    KeyRecord r = intact_entry(11, key_a_.get());
    const auto attach = [&r](std::string_view role, const crypto::Certificate& cert) {
      r.certificates.push_back(AttachedCertificate{
          0, std::string(role), static_cast<std::int64_t>(r.certificates.size()), cert.der(), 0});
    };
    switch (code) {
      case FindingCode::PrivateKeyMissing:
        r.encrypted_private_key.reset();
        break;
      case FindingCode::PublicKeyMissing:
        r.public_key.reset();
        break;
      case FindingCode::FingerprintMissing:
        r.fingerprint = Bytes{};
        break;
      case FindingCode::AlgorithmUnknown:
        r.algorithm = "dsa-1024";
        break;
      case FindingCode::PublicKeyMalformed:
        r.public_key = Bytes{0x30, 0x03, 0x02, 0x01, 0x00};
        break;
      case FindingCode::PublicKeyAlgorithmMismatch:
        r.algorithm = "ed25519";
        break;
      case FindingCode::FingerprintMismatch:
        r.fingerprint->at(0) ^= 0x01;
        break;
      case FindingCode::CiphertextMalformed:
        r.encrypted_private_key->resize(10);
        break;
      case FindingCode::CiphertextAuthFailed:
        r.encrypted_private_key->at(20) ^= 0x01;
        break;
      case FindingCode::PrivateKeyMalformed:
        r = sealed_entry(11, "ec-p256", key_a_.get(), as_bytes("garbage"));
        break;
      case FindingCode::PrivateKeyAlgorithmMismatch:
        r = sealed_entry(11, "ec-p256", key_a_.get(),
                         crypto::private_key_der(key_ed_.get()).view());
        break;
      case FindingCode::PublicKeyMismatch:
        r = sealed_entry(11, "ec-p256", key_a_.get(), crypto::private_key_der(key_b_.get()).view());
        break;
      case FindingCode::PairwiseCheckFailed:
        r = sealed_entry(11, "ec-p256", key_a_.get(),
                         crypto::private_key_der(
                             ec_key_with_foreign_public_point(key_b_.get(), key_a_.get()).get())
                             .view());
        break;
      case FindingCode::CertificateMalformed:
        attach(kRoleLeaf, own(false));
        r.certificates[0].der.pop_back();
        break;
      case FindingCode::CertificateKeyMismatch:
        attach(kRoleCa, self_signed(key_b_.get(), "other", true));
        break;
      case FindingCode::CaCertificateNotCa:
        attach(kRoleCa, own(false));
        break;
      case FindingCode::CertificateRoleUnknown:
        attach("intermediate", own(true));
        break;
      case FindingCode::ChainCertificateUnrelated:
        attach(kRoleCa, own(true));
        attach(kRoleChain, self_signed(key_b_.get(), "unrelated root", true));
        break;
      case FindingCode::RequestMalformed:
        r.requests.push_back(AttachedRequest{0, Bytes{1, 2, 3}, 0});
        break;
      case FindingCode::RequestKeyMismatch:
        r.requests.push_back(AttachedRequest{0, crypto::make_request(key_b_.get(), "b").der(), 0});
        break;
      case FindingCode::CertificateExpired:
        attach(kRoleCa, self_signed(key_a_.get(), "old", true, true, now() - 10 * kDay, kDay));
        break;
      case FindingCode::CertificateNotYetValid:
        attach(kRoleCa, self_signed(key_a_.get(), "new", true, true, now() + 10 * kDay, kDay));
        break;
    }
    return r;
  }

  [[nodiscard]] static crypto::Certificate own(bool ca) {
    return self_signed(key_a_.get(), "own", ca);
  }
};

class IntegrityFindingCode : public IntegrityOfDamagedEntries,
                             public ::testing::WithParamInterface<FindingCode> {};

TEST_P(IntegrityFindingCode, IsProducedWithMessageFixAndStableName) {
  const FindingCode code = GetParam();
  const KeyVerdict v = check(record_producing(code));
  ASSERT_TRUE(v.has_finding(code)) << "wanted " << code_string(code) << ", got " << describe(v);
  EXPECT_EQ(v.reusable(), severity_of(code) == Severity::Warning) << describe(v);
  for (const Finding& f : v.findings) {
    EXPECT_EQ(f.severity, severity_of(f.code)) << f.code_name();
    EXPECT_EQ(f.code_name(), code_string(f.code));
    EXPECT_FALSE(f.message.empty()) << f.code_name();
    EXPECT_FALSE(f.fix.empty()) << f.code_name();
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodes, IntegrityFindingCode,
                         ::testing::ValuesIn(all_finding_codes().begin(),
                                             all_finding_codes().end()),
                         [](const ::testing::TestParamInfo<FindingCode>& param) {
                           std::string name;
                           for (const char c : code_string(param.param)) name += c == '-' ? '_' : c;
                           return name;
                         });

TEST(IntegrityFindingCodes, AreUniqueStableAndOnlyValidityIsAWarning) {
  const std::vector<std::pair<FindingCode, std::string_view>> expected = {
      {FindingCode::PrivateKeyMissing, "private-key-missing"},
      {FindingCode::PublicKeyMissing, "public-key-missing"},
      {FindingCode::FingerprintMissing, "fingerprint-missing"},
      {FindingCode::AlgorithmUnknown, "algorithm-unknown"},
      {FindingCode::PublicKeyMalformed, "public-key-malformed"},
      {FindingCode::PublicKeyAlgorithmMismatch, "public-key-algorithm-mismatch"},
      {FindingCode::FingerprintMismatch, "fingerprint-mismatch"},
      {FindingCode::CiphertextMalformed, "ciphertext-malformed"},
      {FindingCode::CiphertextAuthFailed, "ciphertext-auth-failed"},
      {FindingCode::PrivateKeyMalformed, "private-key-malformed"},
      {FindingCode::PrivateKeyAlgorithmMismatch, "private-key-algorithm-mismatch"},
      {FindingCode::PublicKeyMismatch, "public-key-mismatch"},
      {FindingCode::PairwiseCheckFailed, "pairwise-check-failed"},
      {FindingCode::CertificateMalformed, "certificate-malformed"},
      {FindingCode::CertificateKeyMismatch, "certificate-key-mismatch"},
      {FindingCode::CaCertificateNotCa, "ca-certificate-not-ca"},
      {FindingCode::CertificateRoleUnknown, "certificate-role-unknown"},
      {FindingCode::ChainCertificateUnrelated, "chain-certificate-unrelated"},
      {FindingCode::RequestMalformed, "request-malformed"},
      {FindingCode::RequestKeyMismatch, "request-key-mismatch"},
      {FindingCode::CertificateExpired, "certificate-expired"},
      {FindingCode::CertificateNotYetValid, "certificate-not-yet-valid"},
  };
  const auto all = all_finding_codes();
  ASSERT_EQ(all.size(), expected.size());
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i], expected[i].first) << "all_finding_codes() is not in declaration order";
    EXPECT_EQ(code_string(all[i]), expected[i].second);
    EXPECT_FALSE(code_string(all[i]).empty());
    EXPECT_TRUE(names.insert(code_string(all[i])).second) << "duplicate " << code_string(all[i]);
    const bool validity =
        all[i] == FindingCode::CertificateExpired || all[i] == FindingCode::CertificateNotYetValid;
    EXPECT_EQ(severity_of(all[i]), validity ? Severity::Warning : Severity::Error)
        << code_string(all[i]);
  }
}

// ---- check_keys -------------------------------------------------------------------------------

TEST_F(IntegrityOfDamagedEntries, CheckKeysGivesTheSameVerdictsOnOneThreadAndOnMany) {
  // Every kind of damage twice, interleaved with intact entries.
  std::vector<KeyRecord> records;
  std::int64_t id = 100;
  for (int round = 0; round < 2; ++round) {
    for (const FindingCode code : all_finding_codes()) {
      KeyRecord damaged = record_producing(code);
      KeyRecord intact = intact_entry(++id, round == 0 ? key_a_.get() : key_ed_.get());
      damaged.name = "damaged-" + std::string(code_string(code)) + "-" + std::to_string(round);
      records.push_back(std::move(damaged));
      records.push_back(std::move(intact));
    }
  }
  const auto summary = [](const std::vector<KeyVerdict>& list) {
    std::vector<std::string> out;
    for (const KeyVerdict& v : list) out.push_back(describe(v));
    return out;
  };

  const TimePoint at = now();
  const IntegrityReport one = check_keys(context(), records, at, 1);
  ASSERT_EQ(one.checked(), records.size());
  // Order follows the input.
  std::vector<std::string> input_order;
  for (const KeyRecord& r : records) input_order.push_back(r.name);
  std::vector<std::string> reusable_then_excluded;
  for (const auto* list : {&one.reusable, &one.excluded}) {
    std::vector<std::string> names;
    for (const KeyVerdict& v : *list) names.push_back(v.name);
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end(), [&](const auto& a, const auto& b) {
      return std::find(input_order.begin(), input_order.end(), a) <
             std::find(input_order.begin(), input_order.end(), b);
    }));
  }
  EXPECT_EQ(one.excluded.size(), 2 * (all_finding_codes().size() - 2));

  for (const unsigned threads : {4u, 0u, 200u}) {
    SCOPED_TRACE("threads=" + std::to_string(threads));
    const IntegrityReport many = check_keys(context(), records, at, threads);
    EXPECT_EQ(summary(many.reusable), summary(one.reusable));
    EXPECT_EQ(summary(many.excluded), summary(one.excluded));
  }
}

TEST_F(IntegrityOfEntrySealedByHand, CheckKeysOfNothingIsAnEmptyReport) {
  const IntegrityReport report = check_keys(context(), std::span<const KeyRecord>{}, now(), 4);
  EXPECT_EQ(report.checked(), 0u);
}

}  // namespace
}  // namespace signet::keystore
