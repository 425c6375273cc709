// OcspResponder (server/daemon/revocation.cpp) over a real ledger and signer: every signature a
// request causes is paid from a budget (one for requests about one issued certificate, a smaller
// one for the rest, one for nonces); over it a request gets the current cached response or an
// unsigned tryLater. Requests with a nonce are answered from the cache without it beyond their
// budget or with ocsp.nonces = "ignore". The cache keeps the responses about one issued
// certificate whatever else is asked, is bounded by entries and bytes, and a revocation drops
// the responses it makes stale. Signatures are counted by the responder's metrics, and time is a
// clock the test moves, so nothing here depends on how fast the machine is.
#include <gtest/gtest.h>

#include <future>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <openssl/bn.h>
#include <openssl/ocsp.h>

#include <chrono>
#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "metrics.h"
#include "revocation.h"
#include "signet/crypto/key.h"
#include "signet/issuance/ledger.h"
#include "signet/keystore/store.h"
#include "support/temp_dir.h"

namespace signet::daemon {
namespace {

using namespace std::chrono_literals;
using issuance::TimePoint;

class ManualClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return t_; }
  void advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  TimePoint t_ = std::chrono::system_clock::now();
};

// The value of one sample line ("name{labels} value") in Prometheus text, 0 when absent.
double sample(const std::string& text, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const auto at = ("\n" + text).find(prefix);
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + prefix.size() - 1));
}

class OcspResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)keystore::KeyStore::create(dir / "store", Passphrase(as_bytes(std::string_view("correct horse battery"))),
                                     crypto::ScryptParams::insecure_for_tests());
    ledger = std::make_unique<issuance::Ledger>(keystore::KeyStore::database_path(dir / "store"));
    ossl::Pkey key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    crypto::SelfSignedSpec spec;
    spec.subject = {{"CN", "Responder Test CA"}};
    spec.not_before = std::chrono::system_clock::now() - 1h;
    crypto::Certificate ca = crypto::make_self_signed(key.get(), spec);
    signer = std::make_shared<const issuance::CaSigner>(std::move(key), std::move(ca), std::vector<crypto::Certificate>{},
                                                        issuance::PublicUrls{"http://127.0.0.1:8080"});
    config->ocsp_nonce_signatures_per_second = 10;
    config->ocsp_cache_entries = 100;
  }

  OcspResponder& responder() {
    if (!responder_) {
      RevocationViews views{[this] { return std::shared_ptr<const Config>(config); }, &metrics,
                            std::make_shared<const issuance::RevocationSigner>(signer),
                            std::make_shared<const issuance::LedgerReader>(*ledger)};
      responder_ = std::make_unique<OcspResponder>(views, clock);
    }
    return *responder_;
  }

  // A certificate of this CA, stored in the ledger as issued.
  crypto::Certificate issue(const std::string& name) {
    issuance::CertificateTemplate t;
    t.serial = issuance::Serial::random();
    t.subject = {{"CN", name}};
    t.dns_names = {name};
    t.not_before = std::chrono::system_clock::now() - 1min;
    t.not_after = std::chrono::system_clock::now() + 24h;
    t.key_usage.digital_signature = true;
    t.extended_key_usages = {"serverAuth"};
    t.public_key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    crypto::Certificate cert = signer->sign_certificate(t);
    issuance::Intent intent;
    intent.serial = t.serial;
    intent.profile = "server-tls";
    intent.client = "web";
    intent.not_before = t.not_before;
    intent.not_after = t.not_after;
    ledger->record_intent(intent);
    ledger->record_issued(cert);
    return cert;
  }

  // An OCSP request for `cert` as `openssl ocsp` builds one (SHA-1 CertID), with `nonce` if not empty.
  ossl::OcspRequestPtr request(const crypto::Certificate& cert, const std::string& nonce = "") {
    ossl::OcspRequestPtr req{OCSP_REQUEST_new()};
    OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), cert.x509(), signer->ca_certificate().x509());
    EXPECT_NE(OCSP_request_add0_id(req.get(), id), nullptr);
    if (!nonce.empty()) {
      EXPECT_EQ(OCSP_request_add1_nonce(req.get(), reinterpret_cast<unsigned char*>(const_cast<char*>(nonce.data())),
                                        static_cast<int>(nonce.size())),
                1);
    }
    return req;
  }
  // A request (SHA-1 CertIDs, no nonce) about these serials of this CA, in this order.
  ossl::OcspRequestPtr request_serials(const std::vector<std::string>& serials_hex) {
    ossl::OcspRequestPtr req{OCSP_REQUEST_new()};
    X509* ca = signer->ca_certificate().x509();
    for (const std::string& hex : serials_hex) {
      BIGNUM* bn = nullptr;
      EXPECT_GT(BN_hex2bn(&bn, hex.c_str()), 0);
      ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
      BN_free(bn);
      OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), serial);
      ASN1_INTEGER_free(serial);
      EXPECT_NE(OCSP_request_add0_id(req.get(), id), nullptr);
    }
    return req;
  }
  static Bytes der(const OCSP_REQUEST* req) {
    const int size = i2d_OCSP_REQUEST(req, nullptr);
    Bytes out(static_cast<std::size_t>(size));
    unsigned char* p = out.data();
    EXPECT_EQ(i2d_OCSP_REQUEST(req, &p), size);
    return out;
  }
  // OCSP_check_nonce on the answer: 1 the request's nonce is echoed, -1 the response has none.
  static int nonce_check(const OCSP_REQUEST* req, const OcspAnswer& answer) {
    const unsigned char* p = answer.der->data();
    ossl::OcspResponsePtr response{d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.der->size()))};
    EXPECT_TRUE(response);
    if (!response) return 99;
    ossl::OcspBasicRespPtr basic{OCSP_response_get1_basic(response.get())};
    EXPECT_TRUE(basic);
    if (!basic) return 99;
    return OCSP_check_nonce(const_cast<OCSP_REQUEST*>(req), basic.get());
  }
  OcspAnswer ask(const OCSP_REQUEST* req) { return responder().answer(der(req)); }
  double counted(const std::string& series) { return sample(metrics.render(), series); }

  test::TempDir dir;
  std::unique_ptr<issuance::Ledger> ledger;
  std::shared_ptr<const issuance::CaSigner> signer;
  std::shared_ptr<Config> config = std::make_shared<Config>();
  Metrics metrics;
  ManualClock clock;

 private:
  std::unique_ptr<OcspResponder> responder_;
};

TEST_F(OcspResponderTest, NonceSignaturesStayWithinTheBudget) {
  const crypto::Certificate cert = issue("budget.example.test");
  // A burst of 50 requests with a nonce each, all in the same instant: the budget (10 a second,
  // one second's worth saved up) signs 10 with their nonces; the other 40 get the cached answer.
  int echoed = 0;
  int without = 0;
  for (int i = 0; i < 50; ++i) {
    const auto req = request(cert, "nonce-" + std::to_string(i));
    const OcspAnswer a = ask(req.get());
    ASSERT_TRUE(a.successful) << a.status;
    EXPECT_EQ(a.status, "good");
    const int check = nonce_check(req.get(), a);
    if (check == 1) ++echoed;
    if (check == -1) ++without;
  }
  EXPECT_EQ(echoed, 10);
  EXPECT_EQ(without, 40);
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"true\"}"), 10);
  EXPECT_EQ(counted("signet_ocsp_nonce_requests_total{outcome=\"signed\"}"), 10);
  EXPECT_EQ(counted("signet_ocsp_nonce_requests_total{outcome=\"over-budget\"}"), 40);
  // The 40 share one response, signed once for the cache.
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"false\"}"), 1);

  // Half a second later, half a second's worth of budget is back.
  clock.advance(500ms);
  for (int i = 0; i < 20; ++i) (void)ask(request(cert, "later-" + std::to_string(i)).get());
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"true\"}"), 15);
  EXPECT_EQ(counted("signet_ocsp_nonce_requests_total{outcome=\"over-budget\"}"), 55);
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"false\"}"), 1);
}

TEST_F(OcspResponderTest, OnlyCachedAnswersComeWithoutTheLedgerAndTheWaitingAreBounded) {
  const crypto::Certificate cert = issue("queue.example.test");
  const Bytes req = der(request(cert).get());
  EXPECT_FALSE(responder().answer_from_cache(req).has_value()) << "nothing is cached yet";

  // One pool thread, held: every answer_async waits behind it.
  boost::asio::thread_pool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  boost::asio::post(pool, [released] { released.wait(); });
  std::atomic<int> answered{0};
  std::atomic<int> good{0};
  for (int i = 0; i < OcspResponder::kMaxWaiting; ++i) {
    responder().answer_async(req, pool, [&](const OcspAnswer& a) {
      good += a.status == "good" ? 1 : 0;
      ++answered;
    });
  }
  EXPECT_EQ(answered.load(), 0) << "answered before the pool was free";
  // One more than may wait: tryLater at once, on this thread.
  int refused = 0;
  std::string refused_status = "(not answered)";
  responder().answer_async(req, pool, [&](const OcspAnswer& a) {
    ++refused;
    refused_status = a.successful ? "successful" : a.status;
  });
  ASSERT_EQ(refused, 1) << "the request over the bound was queued";
  EXPECT_EQ(refused_status, "tryLater");
  EXPECT_EQ(counted("signet_ocsp_queue_full_total"), 1);

  release.set_value();
  pool.join();
  EXPECT_EQ(answered.load(), OcspResponder::kMaxWaiting);
  EXPECT_EQ(good.load(), OcspResponder::kMaxWaiting);
  const std::optional<OcspAnswer> cached = responder().answer_from_cache(req);
  ASSERT_TRUE(cached.has_value()) << "the signed answer was not cached";
  EXPECT_EQ(cached->status, "good");
}

TEST_F(OcspResponderTest, HonouredNonceIsEchoedAndNeverCached) {
  const crypto::Certificate cert = issue("honour.example.test");
  const auto first = request(cert, "first nonce");
  const auto second = request(cert, "second nonce");
  const OcspAnswer a = ask(first.get());
  const OcspAnswer b = ask(second.get());
  EXPECT_EQ(nonce_check(first.get(), a), 1);
  EXPECT_EQ(nonce_check(second.get(), b), 1);
  EXPECT_FALSE(a.cached);
  EXPECT_FALSE(b.cached);
  EXPECT_EQ(a.nonce, "signed");
}

TEST_F(OcspResponderTest, IgnoreModeAnswersFromTheCacheWithoutTheNonce) {
  config->ocsp_nonces = Config::Nonces::Ignore;
  const crypto::Certificate cert = issue("ignore.example.test");
  const auto first = request(cert, "first nonce");
  const OcspAnswer a = ask(first.get());
  ASSERT_TRUE(a.successful) << a.status;
  EXPECT_EQ(a.status, "good");
  EXPECT_EQ(nonce_check(first.get(), a), -1);  // the response carries no nonce
  EXPECT_EQ(a.nonce, "ignored");
  // Another nonce, and a request without one, get that same cached response.
  const auto second = request(cert, "second nonce");
  const OcspAnswer b = ask(second.get());
  EXPECT_TRUE(b.cached);
  EXPECT_EQ(*b.der, *a.der);
  const OcspAnswer c = ask(request(cert).get());
  EXPECT_TRUE(c.cached);
  EXPECT_EQ(*c.der, *a.der);
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"true\"}"), 0);
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"false\"}"), 1);
  EXPECT_EQ(counted("signet_ocsp_nonce_requests_total{outcome=\"ignored\"}"), 2);
}

TEST_F(OcspResponderTest, FullCacheDropsTheLeastRecentlyUsedEntry) {
  config->ocsp_cache_entries = 2;
  const auto a = request(issue("a.example.test"));
  const auto b = request(issue("b.example.test"));
  const auto c = request(issue("c.example.test"));
  EXPECT_FALSE(ask(a.get()).cached);
  EXPECT_FALSE(ask(b.get()).cached);
  EXPECT_TRUE(ask(a.get()).cached);  // a is now the most recently used
  EXPECT_FALSE(ask(c.get()).cached);  // full: b, the least recently used, goes
  EXPECT_TRUE(ask(a.get()).cached);
  EXPECT_TRUE(ask(c.get()).cached);
  EXPECT_FALSE(ask(b.get()).cached);  // signed again (and a goes: c was used after it)
  EXPECT_TRUE(ask(c.get()).cached);
  EXPECT_EQ(counted("signet_ocsp_cache_evictions_total"), 2);
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"false\"}"), 4);
}

TEST_F(OcspResponderTest, RevocationDropsTheResponsesItMakesStale) {
  const crypto::Certificate cert = issue("revoked.example.test");
  const crypto::Certificate other = issue("still-good.example.test");
  const auto req = request(cert);
  const auto pair = request_serials({cert.serial_hex(), other.serial_hex()});
  EXPECT_EQ(ask(req.get()).status, "good");
  EXPECT_TRUE(ask(req.get()).cached);
  EXPECT_FALSE(ask(request(other).get()).cached);
  EXPECT_FALSE(ask(pair.get()).cached);
  EXPECT_TRUE(ask(pair.get()).cached);
  const issuance::Serial serial = *issuance::Serial::parse_hex(cert.serial_hex());
  (void)ledger->revoke(serial, issuance::RevocationReason::KeyCompromise, "test");
  responder().revoked({serial});
  const OcspAnswer after = ask(req.get());
  EXPECT_FALSE(after.cached);
  EXPECT_EQ(after.status, "revoked");
  // The other certificate's response stays; the one about both is signed again.
  EXPECT_TRUE(ask(request(other).get()).cached);
  EXPECT_FALSE(ask(pair.get()).cached);
  // Over the nonce budget too, the answer is the revoked one.
  config->ocsp_nonce_signatures_per_second = 1;
  (void)ask(request(cert, "spends the one token").get());
  const OcspAnswer over = ask(request(cert, "over budget").get());
  EXPECT_EQ(over.nonce, "over-budget");
  EXPECT_EQ(over.status, "revoked");
}

TEST_F(OcspResponderTest, EntryIsSignedAgainWhenItsNextUpdateComesClose) {
  const auto req = request(issue("refresh.example.test"));
  EXPECT_FALSE(ask(req.get()).cached);
  clock.advance(std::chrono::duration_cast<std::chrono::milliseconds>(config->ocsp_validity -
                                                                      config->ocsp_refresh_before - 1min));
  EXPECT_TRUE(ask(req.get()).cached);
  clock.advance(2min);
  EXPECT_FALSE(ask(req.get()).cached);
}

TEST_F(OcspResponderTest, InvalidateDropsEveryResponse) {
  const auto req = request(issue("reload.example.test"));
  EXPECT_FALSE(ask(req.get()).cached);
  EXPECT_TRUE(ask(req.get()).cached);
  responder().invalidate();
  EXPECT_FALSE(ask(req.get()).cached);
}

TEST_F(OcspResponderTest, RandomSerialsSpendOnlyTheirOwnSmallBudget) {
  config->ocsp_signatures_per_second = 8;  // the rest get a quarter: 2 a second
  const crypto::Certificate cert = issue("legit.example.test");
  int unknown = 0;
  int try_later = 0;
  for (int i = 0; i < 20; ++i) {
    const OcspAnswer a = ask(request_serials({issuance::Serial::random().hex()}).get());
    if (a.successful && a.status == "unknown") ++unknown;
    if (!a.successful && a.status == "tryLater") ++try_later;
  }
  EXPECT_EQ(unknown, 2);
  EXPECT_EQ(try_later, 18);
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"false\"}"), 2);
  EXPECT_EQ(counted("signet_ocsp_over_budget_total{kind=\"other\",answer=\"tryLater\"}"), 18);
  // A relying party asking about an issued certificate is not held up by them.
  const OcspAnswer legit = ask(request(cert).get());
  EXPECT_TRUE(legit.successful);
  EXPECT_EQ(legit.status, "good");
  // "unknown" is never cached (the serial may be being issued): asked again, it is signed again.
  clock.advance(1s);
  const auto same = request_serials({"0A0B0C0D"});
  EXPECT_FALSE(ask(same.get()).cached);
  const OcspAnswer again = ask(same.get());
  EXPECT_FALSE(again.cached);
  EXPECT_EQ(again.status, "unknown");
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"false\"}"), 5);
}

TEST_F(OcspResponderTest, OverBudgetTheCurrentResponseIsServedUntilItExpires) {
  config->ocsp_signatures_per_second = 2;
  const auto a = request(issue("a.example.test"));
  const auto b = request(issue("b.example.test"));
  const auto c = request(issue("c.example.test"));
  const OcspAnswer first_a = ask(a.get());
  EXPECT_TRUE(first_a.successful);
  EXPECT_TRUE(ask(b.get()).successful);
  // The budget is spent and nothing is cached for c: an unsigned tryLater.
  const OcspAnswer c_over = ask(c.get());
  EXPECT_FALSE(c_over.successful);
  EXPECT_EQ(c_over.status, "tryLater");
  EXPECT_EQ(counted("signet_ocsp_over_budget_total{kind=\"one-issued\",answer=\"tryLater\"}"), 1);

  // a is due for a refresh; the budget (refilled) goes to two new certificates first.
  clock.advance(std::chrono::duration_cast<std::chrono::milliseconds>(config->ocsp_validity -
                                                                      config->ocsp_refresh_before + 1min));
  EXPECT_TRUE(ask(request(issue("d.example.test")).get()).successful);
  EXPECT_TRUE(ask(request(issue("e.example.test")).get()).successful);
  const OcspAnswer a_due = ask(a.get());
  EXPECT_TRUE(a_due.cached);
  EXPECT_EQ(*a_due.der, *first_a.der);  // still current: served as it is
  EXPECT_EQ(counted("signet_ocsp_over_budget_total{kind=\"one-issued\",answer=\"cached\"}"), 1);

  // Past its nextUpdate it is never served.
  clock.advance(std::chrono::duration_cast<std::chrono::milliseconds>(config->ocsp_refresh_before));
  EXPECT_TRUE(ask(request(issue("f.example.test")).get()).successful);
  EXPECT_TRUE(ask(request(issue("g.example.test")).get()).successful);
  const OcspAnswer a_expired = ask(a.get());
  EXPECT_FALSE(a_expired.successful);
  EXPECT_EQ(a_expired.status, "tryLater");
}

TEST_F(OcspResponderTest, IssuedCertificatesStayCachedWhateverElseIsAsked) {
  config->ocsp_cache_entries = 16;
  config->ocsp_signatures_per_second = 100000;
  std::vector<crypto::Certificate> certs;
  for (int i = 0; i < 8; ++i) certs.push_back(issue("warm" + std::to_string(i) + ".example.test"));
  for (const auto& cert : certs) EXPECT_FALSE(ask(request(cert).get()).cached);
  // An attacker's requests: every ordered pair of them, and serials never issued.
  for (const auto& x : certs) {
    for (const auto& y : certs) {
      if (&x == &y) continue;
      EXPECT_TRUE(ask(request_serials({x.serial_hex(), y.serial_hex()}).get()).successful);
    }
  }
  for (int i = 0; i < 50; ++i) (void)ask(request_serials({issuance::Serial::random().hex()}).get());
  for (const auto& cert : certs) EXPECT_TRUE(ask(request(cert).get()).cached) << cert.serial_hex();
  EXPECT_EQ(counted("signet_ocsp_cache_entries{kind=\"one-issued\"}"), 8);
  EXPECT_EQ(counted("signet_ocsp_cache_entries{kind=\"other\"}"), 2);  // an eighth of 16
  EXPECT_GE(counted("signet_ocsp_cache_evictions_total"), 54);
}

TEST_F(OcspResponderTest, CacheIsBoundedByBytes) {
  config->ocsp_cache_entries = 500;  // one shard; responses about several certificates may have 62
  config->ocsp_cache_mib = 1;        // and 128 KiB, which 16-CertID responses fill first
  config->ocsp_signatures_per_second = 100000;
  std::vector<std::string> serials;
  for (int i = 0; i < 16; ++i) serials.push_back(issue("bytes" + std::to_string(i) + ".example.test").serial_hex());
  std::mt19937 shuffle(7);
  for (int i = 0; i < 100; ++i) {
    std::shuffle(serials.begin(), serials.end(), shuffle);
    const OcspAnswer a = ask(request_serials(serials).get());
    ASSERT_TRUE(a.successful) << a.status;
  }
  const double entries = counted("signet_ocsp_cache_entries{kind=\"other\"}");
  EXPECT_GT(entries, 10);
  EXPECT_LT(entries, 62);  // the bytes, not the entries, were the bound
  EXPECT_LE(counted("signet_ocsp_cache_bytes"), 128 * 1024);
  EXPECT_GE(counted("signet_ocsp_cache_evictions_total"), 100 - 62);
}

TEST_F(OcspResponderTest, WhatIsNotACertIdMakesNoNewEntry) {
  const crypto::Certificate cert = issue("one-entry.example.test");
  EXPECT_FALSE(ask(request(cert).get()).cached);
  // The same CertID with a different non-critical extension each time (an attacker's way around a
  // cache keyed by bytes): all answered from the one entry, signed once.
  for (int i = 0; i < 20; ++i) {
    const auto req = request(cert);
    ossl::Asn1OctetStringPtr value{ASN1_OCTET_STRING_new()};
    const std::string junk = "\x04\x04" + std::to_string(1000 + i);
    ASSERT_EQ(ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(junk.data()),
                                    static_cast<int>(junk.size())),
              1);
    ossl::X509ExtensionPtr ext{X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_CrlID, 0, value.get())};
    ASSERT_EQ(OCSP_REQUEST_add_ext(req.get(), ext.get(), -1), 1);
    const OcspAnswer a = ask(req.get());
    EXPECT_TRUE(a.cached) << i;
    EXPECT_EQ(a.status, "good");
  }
  EXPECT_EQ(counted("signet_ocsp_signatures_total{nonce=\"false\"}"), 1);
  EXPECT_EQ(counted("signet_ocsp_cache_entries{kind=\"one-issued\"}"), 1);
}

}  // namespace
}  // namespace signet::daemon
