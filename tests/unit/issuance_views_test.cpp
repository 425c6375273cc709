// The views the revocation side gets (common/src/issuance/views.cpp): at compile time, that none
// of them offers a way to issue a certificate, write the ledger (beyond a CRL number) or read the
// API clients; at run time, that what they do forward is the wrapped object's answer.
#include "signet/issuance/views.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/key.h"
#include "signet/keystore/store.h"
#include "support/temp_dir.h"

namespace signet::issuance {
namespace {

using namespace std::chrono_literals;

// What the issuing side can do, as requirements on a type. Each is checked against the real
// CaSigner or Ledger first, so that a misspelt call cannot make a check pass vacuously.
template <class T>
concept CanSignCertificate = requires(const T& t, const CertificateTemplate& tmpl) { t.sign_certificate(tmpl); };
template <class T>
concept CanRecordIntent = requires(T& t, Intent intent, Ledger::Done done) {
  t.record_intent(intent);
  t.record_intent_async(intent, done);
};
template <class T>
concept CanRecordIssued = requires(T& t, const crypto::Certificate& c) { t.record_issued(c); };
template <class T>
concept CanRevoke = requires(T& t, const Serial& s) { t.revoke(s, RevocationReason::KeyCompromise, std::string()); };
template <class T>
concept CanAddClient = requires(T& t) { t.add_client(std::string(), std::vector<std::string>(), true, std::string()); };
template <class T>
concept CanRemoveClient = requires(T& t) { t.remove_client(std::string(), std::string()); };
template <class T>
concept CanReadClients = requires(T& t, std::string_view token) {
  t.authenticate(token);
  t.clients();
};
template <class T>
concept CanListCertificates = requires(T& t, const ListQuery& q) { t.list(q); };
template <class T>
concept CanTakeCrlNumber = requires(T& t) { t.next_crl_number(); };
// An accessor handing out the wrapped object would undo the view.
template <class T>
concept HandsOutWhatItWraps = requires(T& t) { t.signer(); } || requires(T& t) { t.ledger(); } ||
                              requires(T& t) { t.get(); } || requires(T& t) { *t; } ||
                              requires(T& t) { t.operator->(); };

static_assert(CanSignCertificate<CaSigner>);
static_assert(CanRecordIntent<Ledger> && CanRecordIssued<Ledger> && CanRevoke<Ledger> && CanAddClient<Ledger> &&
              CanRemoveClient<Ledger> && CanReadClients<Ledger> && CanListCertificates<Ledger> &&
              CanTakeCrlNumber<Ledger>);

template <class View>
constexpr bool cannot_issue_or_write =
    !CanSignCertificate<View> && !CanRecordIntent<View> && !CanRecordIssued<View> && !CanRevoke<View> &&
    !CanAddClient<View> && !CanRemoveClient<View> && !CanReadClients<View> && !CanListCertificates<View> &&
    !HandsOutWhatItWraps<View> && !std::is_convertible_v<View&, const CaSigner&> &&
    !std::is_convertible_v<View&, Ledger&> && !std::is_base_of_v<CaSigner, View> && !std::is_base_of_v<Ledger, View>;

static_assert(cannot_issue_or_write<RevocationSigner>, "RevocationSigner must not issue or hand out the CaSigner");
static_assert(cannot_issue_or_write<const RevocationSigner>);
static_assert(cannot_issue_or_write<LedgerReader>, "LedgerReader must only read certificate status");
static_assert(!CanTakeCrlNumber<LedgerReader>, "LedgerReader must not write, not even a CRL number");
static_assert(cannot_issue_or_write<CrlIssuer>, "CrlIssuer may take CRL numbers and sign CRLs, nothing else");

// The same checks as a test that names them in the test report (they already held at compile time).
TEST(IssuanceViews, ExposeNoIssuingPath) {
  EXPECT_TRUE(cannot_issue_or_write<RevocationSigner>);
  EXPECT_TRUE(cannot_issue_or_write<LedgerReader>);
  EXPECT_TRUE(cannot_issue_or_write<CrlIssuer>);
  EXPECT_FALSE(cannot_issue_or_write<Ledger>);
  EXPECT_FALSE(cannot_issue_or_write<CaSigner>);
}

TEST(IssuanceViews, RevocationSignerNeedsASigner) {
  EXPECT_THROW((void)RevocationSigner(nullptr), Error);
}

std::int64_t crl_number(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::X509CrlPtr crl{d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()))};
  EXPECT_TRUE(crl);
  if (!crl) return -1;
  ossl::Asn1IntegerPtr number{
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr))};
  std::int64_t out = -1;
  EXPECT_EQ(ASN1_INTEGER_get_int64(&out, number.get()), 1);
  return out;
}

TEST(IssuanceViews, ForwardTheWrappedObjectsAnswers) {
  test::TempDir dir;
  (void)keystore::KeyStore::create(dir / "store", Passphrase(as_bytes(std::string_view("correct horse battery"))),
                                   crypto::ScryptParams::insecure_for_tests());
  Ledger ledger(keystore::KeyStore::database_path(dir / "store"));

  ossl::Pkey key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  crypto::SelfSignedSpec spec;
  spec.subject = {{"CN", "Views Test CA"}};
  spec.not_before = std::chrono::system_clock::now() - 1h;
  crypto::Certificate ca = crypto::make_self_signed(key.get(), spec);
  const auto signer = std::make_shared<const CaSigner>(std::move(key), ca, std::vector<crypto::Certificate>{},
                                                       PublicUrls{"http://127.0.0.1:8080"});
  const RevocationSigner view(signer);
  EXPECT_EQ(view.ca_certificate().der(), signer->ca_certificate().der());
  EXPECT_EQ(view.ca_chain_pem(), signer->ca_chain_pem());
  EXPECT_EQ(view.issuer_key_sha1(), signer->issuer_key_sha1());
  EXPECT_EQ(view.issuer_name_sha256(), signer->issuer_name_sha256());

  // A certificate in the ledger, then revoked: the reader sees what the ledger says.
  CertificateTemplate t;
  t.serial = Serial::random();
  t.subject = {{"CN", "leaf.example.test"}};
  t.dns_names = {"leaf.example.test"};
  t.not_before = std::chrono::system_clock::now() - 1min;
  t.not_after = std::chrono::system_clock::now() + 24h;
  t.key_usage.digital_signature = true;
  t.extended_key_usages = {"serverAuth"};
  t.public_key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  const crypto::Certificate leaf = signer->sign_certificate(t);
  Intent intent;
  intent.serial = t.serial;
  intent.profile = "server-tls";
  intent.client = "web";
  intent.not_before = t.not_before;
  intent.not_after = t.not_after;
  ledger.record_intent(intent);
  ledger.record_issued(leaf);

  const LedgerReader reader(ledger);
  EXPECT_FALSE(reader.find(Serial::random()));
  ASSERT_TRUE(reader.find(t.serial));
  EXPECT_FALSE(reader.find(t.serial)->revoked_at);
  EXPECT_EQ(reader.revocation_revision(), 0);
  (void)ledger.revoke(t.serial, RevocationReason::KeyCompromise, "test");
  EXPECT_TRUE(reader.find(t.serial)->revoked_at);
  EXPECT_EQ(reader.revocation_revision(), ledger.revocation_revision());
  ASSERT_EQ(reader.revoked().size(), 1U);
  EXPECT_EQ(reader.revoked().front().serial, t.serial);
  EXPECT_EQ(reader.revoked_since(0).size(), 1U);
  EXPECT_TRUE(reader.revoked_since(reader.revocation_revision()).empty());

  // Each CRL the issuer signs takes the next number, whatever number the content asked for.
  CrlIssuer crls(ledger, view);
  CrlContent content;
  content.number = 999;
  content.this_update = std::chrono::system_clock::now();
  content.next_update = content.this_update + 24h;
  content.revoked = reader.revoked();
  const IssuedCrl first = crls.issue(content);
  const IssuedCrl second = crls.issue(content);
  EXPECT_EQ(second.number, first.number + 1);
  EXPECT_EQ(crl_number(first.der), first.number);
  EXPECT_EQ(crl_number(second.der), second.number);
  EXPECT_EQ(ledger.next_crl_number(), second.number + 1);
}

}  // namespace
}  // namespace signet::issuance
