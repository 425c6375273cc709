#include "signet/issuance/issuer.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/issuance/ca.h"
#include "signet/issuance/ledger.h"
#include "signet/keystore/store.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"

namespace signet::issuance {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::capture_error;

constexpr auto kDay = std::chrono::hours(24);
const crypto::ScryptParams kFastKdf = crypto::ScryptParams::insecure_for_tests();
const PublicUrls kUrls{"http://127.0.0.1:8080"};

Passphrase pass(std::string_view s) { return Passphrase(as_bytes(s)); }

std::int64_t unix_of(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count(); }

struct ExtensionStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};

// A CSR for `key` with subject CN=`cn` and, when `san` is not empty, a subjectAltName extension
// request in openssl's text form ("DNS:a.example.test, IP:192.0.2.1").
crypto::CertificateRequest make_csr(const EVP_PKEY* key, const std::string& cn, const std::string& san = "") {
  ossl::X509ReqPtr req{X509_REQ_new()};
  EXPECT_TRUE(req);
  ossl::X509NamePtr name{X509_NAME_new()};
  EXPECT_EQ(X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
            1);
  EXPECT_EQ(X509_REQ_set_subject_name(req.get(), name.get()), 1);
  EXPECT_EQ(X509_REQ_set_pubkey(req.get(), const_cast<EVP_PKEY*>(key)), 1);
  if (!san.empty()) {
    std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackFree> exts{sk_X509_EXTENSION_new_null()};
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    EXPECT_NE(ext, nullptr) << san;
    sk_X509_EXTENSION_push(exts.get(), ext);
    EXPECT_EQ(X509_REQ_add_extensions(req.get(), exts.get()), 1);
  }
  const EVP_MD* md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  EXPECT_GT(X509_REQ_sign(req.get(), const_cast<EVP_PKEY*>(key), md), 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req.get(), &der);
  EXPECT_GT(len, 0);
  Bytes bytes(der, der + len);
  OPENSSL_free(der);
  return crypto::CertificateRequest::from_der(bytes);
}

// A fixed set of worker threads; tasks start in the order posted. The destructor runs what is
// queued and joins.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  [[nodiscard]] Issuer::Executor executor() {
    return [this](std::function<void()> task) { post(std::move(task)); };
  }
  [[nodiscard]] std::size_t executed() const { return executed_.load(); }
  // Waits until every task posted so far has run (nothing queued, nothing running); false when
  // that takes longer than `timeout`.
  [[nodiscard]] bool wait_idle(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && running_ == 0; });
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
        ++running_;
      }
      task();
      ++executed_;
      {
        std::lock_guard lock(mutex_);
        --running_;
      }
      idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  int running_ = 0;
  bool stop_ = false;
  std::atomic<std::size_t> executed_{0};
  std::vector<std::thread> workers_;  // last: started after everything they use
};

// ---- Issuer -------------------------------------------------------------------------------------

class IssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)keystore::KeyStore::create(store_dir(), pass("correct horse battery"), kFastKdf);
    crypto::SelfSignedSpec spec;
    spec.common_name = "Issuer Test CA";
    spec.not_before = std::chrono::system_clock::now() - 1h;
    spec.validity = 365 * kDay;
    ca_cert_ = std::make_unique<crypto::Certificate>(crypto::make_self_signed(ca_key_.get(), spec));
    ossl::Pkey signing_key{ca_key_.get()};
    EVP_PKEY_up_ref(ca_key_.get());
    signer_ = std::make_shared<const CaSigner>(std::move(signing_key), *ca_cert_, std::vector<crypto::Certificate>{},
                                               kUrls);
    ledger_ = std::make_unique<Ledger>(keystore::KeyStore::database_path(store_dir()));
  }

  [[nodiscard]] fs::path store_dir() const { return tmp_ / "store"; }

  static Profile server() { return default_profiles().at("server-tls"); }

  test::TempDir tmp_;
  ossl::Pkey ca_key_ = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  ossl::Pkey subject_key_ = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  std::unique_ptr<crypto::Certificate> ca_cert_;
  std::shared_ptr<const CaSigner> signer_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(IssuerTest, IssueReturnsACertificateRecordedAsIssued) {
  Issuer issuer(signer_, *ledger_);
  const auto csr = make_csr(subject_key_.get(), "www.example.test", "DNS:www.example.test, IP:192.0.2.1");
  const IssuanceResult r = issuer.issue(server(), csr, 30 * kDay, "web-1");

  // The certificate says what the intent says, and the CA signed it.
  EXPECT_EQ(Serial::parse_hex(r.certificate.serial_hex()), r.intent.serial);
  EXPECT_TRUE(r.certificate.issued_by(*ca_cert_));
  EXPECT_EQ(r.certificate.issuer(), ca_cert_->subject());
  EXPECT_EQ(r.certificate.subject(), "CN=www.example.test");
  EXPECT_FALSE(r.certificate.is_ca());
  EXPECT_TRUE(crypto::same_public_key(r.certificate.public_key(), subject_key_.get()));
  // 30 days in all, both ends included (RFC 5280 4.1.2.5).
  EXPECT_EQ(r.certificate.not_after() - r.certificate.not_before() + 1s, 30 * kDay);
  EXPECT_EQ(r.intent.profile, "server-tls");
  EXPECT_EQ(r.intent.client, "web-1");
  EXPECT_EQ(r.intent.names, (std::vector<std::string>{"dns:www.example.test", "ip:192.0.2.1"}));

  // The ledger has it as Issued, with the certificate itself.
  const auto rec = ledger_->find(r.intent.serial);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, CertificateState::Issued);
  EXPECT_EQ(rec->serial, r.intent.serial);
  EXPECT_EQ(rec->client, "web-1");
  EXPECT_EQ(rec->profile, "server-tls");
  EXPECT_EQ(rec->subject, "CN=www.example.test");
  EXPECT_EQ(rec->names, (std::vector<std::string>{"dns:www.example.test", "ip:192.0.2.1"}));
  EXPECT_EQ(rec->not_before, unix_of(r.intent.not_before));
  EXPECT_EQ(rec->not_after, unix_of(r.intent.not_after));
  ASSERT_TRUE(rec->certificate);
  EXPECT_EQ(rec->certificate->der(), r.certificate.der());
  EXPECT_FALSE(rec->revoked_at);

  const ListPage page = ledger_->list({});
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].serial, r.intent.serial);
}

// The ledger's subject column is what the certificate says, in the same RFC 2253 form, even when
// the name needs escaping there ('+' in an email address).
TEST_F(IssuerTest, TheRecordedSubjectIsTheCertificatesSubject) {
  Issuer issuer(signer_, *ledger_);
  const auto csr = make_csr(subject_key_.get(), "a+b@example.test", "email:a+b@example.test");
  const IssuanceResult r = issuer.issue(default_profiles().at("client-tls"), csr, std::nullopt, "web-1");
  EXPECT_EQ(r.intent.names, std::vector<std::string>{"email:a+b@example.test"});
  const auto rec = ledger_->find(r.intent.serial);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->subject, r.certificate.subject());
  EXPECT_EQ(r.intent.subject, r.certificate.subject());

  // Every character RFC 2253 escapes, in a CN that becomes the email SAN.
  const std::string odd = "#a\"b,c;d<e>f\\g=h+i@example.test";
  const IssuanceResult o =
      issuer.issue(default_profiles().at("client-tls"), make_csr(subject_key_.get(), odd), std::nullopt, "web-1");
  EXPECT_EQ(o.intent.names, std::vector<std::string>{"email:" + odd});
  EXPECT_EQ(o.intent.subject, o.certificate.subject());
  EXPECT_EQ(ledger_->find(o.intent.serial)->subject, o.certificate.subject());
}

TEST_F(IssuerTest, IssueUsesTheInjectedClock) {
  const TimePoint fixed = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) - 30min;
  const FixedClock clock(fixed);
  Issuer issuer(signer_, *ledger_, {}, clock);
  const IssuanceResult r = issuer.issue(server(), make_csr(subject_key_.get(), "www.example.test"), 1h, "web-1");
  EXPECT_EQ(r.intent.not_before, fixed - 60s);
  EXPECT_EQ(r.intent.not_after, fixed - 60s + 1h - 1s);
  EXPECT_EQ(r.certificate.not_after(), fixed - 60s + 1h - 1s);
}

TEST_F(IssuerTest, IssueThrowsAPolicyRefusalAndRecordsNothing) {
  Issuer issuer(signer_, *ledger_);
  const auto csr = make_csr(subject_key_.get(), "www.example.test");
  const Error e = capture_error([&] { (void)issuer.issue(server(), csr, 365 * kDay, "web-1"); });
  EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied);
  EXPECT_EQ(e.code(), "validity-too-long");
  EXPECT_TRUE(ledger_->list({}).items.empty());
}

TEST_F(IssuerTest, ARefusedCsrThrowsFromIssueAsyncAndNeverCallsBack) {
  // One worker, so that tasks run in the order they were posted.
  ThreadPool pool(1);
  std::atomic<int> posted{0};
  Issuer issuer(signer_, *ledger_, [&](std::function<void()> task) {
    ++posted;
    pool.post(std::move(task));
  });
  Profile p = server();
  p.dns_suffixes = {"example.test"};
  const auto csr = make_csr(subject_key_.get(), "www.other.test", "DNS:www.other.test");
  std::atomic<int> calls{0};
  const Error e = capture_error([&] {
    issuer.issue_async(p, csr, std::nullopt, "web-1",
                       [&](std::optional<IssuanceResult>, std::exception_ptr) { ++calls; });
  });
  EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied);
  EXPECT_EQ(e.code(), "name-not-allowed");

  // A request issued after it is the barrier: the committer keeps the order of its units and the
  // single worker the order of its tasks, so anything the refused request had wrongly set going
  // (an intent, a signing, an answer) would have run before this one's answer.
  std::promise<IssuanceResult> barrier;
  issuer.issue_async(p, make_csr(subject_key_.get(), "www.example.test", "DNS:www.example.test"), std::nullopt,
                     "web-1", [&](std::optional<IssuanceResult> r, std::exception_ptr error) {
                       if (error) {
                         barrier.set_exception(error);
                       } else {
                         barrier.set_value(*std::move(r));
                       }
                     });
  auto answered = barrier.get_future();
  ASSERT_EQ(answered.wait_for(60s), std::future_status::ready);
  const IssuanceResult r = answered.get();

  EXPECT_EQ(calls.load(), 0);
  const ListPage page = ledger_->list({});
  ASSERT_EQ(page.items.size(), 1u) << "only the barrier's certificate is stored";
  EXPECT_EQ(page.items[0].serial, r.intent.serial);
  EXPECT_EQ(ledger_->commit_stats().units, 2u) << "the barrier's intent and certificate, nothing else";
  EXPECT_EQ(posted.load(), 2) << "the barrier's signing and answer, nothing else";
}

TEST_F(IssuerTest, AWeakKeyIsRefusedSynchronously) {
  ossl::Pkey weak{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024})};
  ASSERT_TRUE(weak);
  Issuer issuer(signer_, *ledger_);
  bool called = false;
  const Error e = capture_error([&] {
    issuer.issue_async(server(), make_csr(weak.get(), "www.example.test"), std::nullopt, "web-1",
                       [&](std::optional<IssuanceResult>, std::exception_ptr) { called = true; });
  });
  EXPECT_EQ(e.code(), "key-too-weak");
  EXPECT_FALSE(called);
  EXPECT_TRUE(ledger_->list({}).items.empty());
}

TEST_F(IssuerTest, ConcurrentIssueAsyncCallsBackOnceEachWithDistinctSerialsAndBatchedCommits) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  constexpr int kTotal = kThreads * kPerThread;

  ThreadPool pool(4);
  std::atomic<int> posted{0};
  static thread_local bool in_executor_task = false;
  Issuer issuer(signer_, *ledger_, [&](std::function<void()> task) {
    ++posted;
    pool.post([task = std::move(task)] {
      in_executor_task = true;
      task();
      in_executor_task = false;
    });
  });
  std::atomic<int> answered_elsewhere{0};

  std::vector<crypto::CertificateRequest> csrs;
  std::vector<ossl::Pkey> keys;
  for (int t = 0; t < kThreads; ++t) {
    keys.push_back(crypto::generate_key(crypto::KeyAlgorithm::EcP256));
    const std::string host = "host" + std::to_string(t) + ".example.test";
    csrs.push_back(make_csr(keys.back().get(), host, "DNS:" + host));
  }

  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<int> calls(kTotal, 0);
  std::vector<IssuanceResult> results;
  std::vector<std::string> errors;
  int finished = 0;

  std::vector<std::thread> callers;
  std::atomic<int> thrown{0};
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int index = t * kPerThread + i;
        try {
          issuer.issue_async(server(), csrs[static_cast<std::size_t>(t)], std::nullopt, "client-" + std::to_string(t),
                             [&, index](std::optional<IssuanceResult> r, std::exception_ptr e) {
                               if (!in_executor_task) ++answered_elsewhere;
                               std::lock_guard lock(mutex);
                               ++calls[static_cast<std::size_t>(index)];
                               if (e) {
                                 try {
                                   std::rethrow_exception(e);
                                 } catch (const std::exception& ex) {
                                   errors.emplace_back(ex.what());
                                 }
                               } else if (r) {
                                 results.push_back(*std::move(r));
                               } else {
                                 errors.emplace_back("neither a result nor an error");
                               }
                               ++finished;
                               all_done.notify_all();
                             });
        } catch (...) {
          ++thrown;
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  ASSERT_EQ(thrown.load(), 0);

  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, 120s, [&] { return finished >= kTotal; }))
        << finished << " of " << kTotal << " callbacks after 120 s";
  }
  // A second callback for some request would come from work still in flight: wait until there is
  // none. A durable write of our own returns after the committer has called back every unit queued
  // before it (it keeps their order); then the pool runs every task those callbacks posted. Work
  // that queued more goes round again; a round that adds nothing ends it.
  std::uint64_t barriers = 0;
  for (int round = 0;; ++round) {
    ASSERT_LT(round, 10) << "issuance work kept appearing after every request was answered";
    const int posted_before = posted.load();
    const std::uint64_t units_before = ledger_->commit_stats().units;
    (void)ledger_->next_crl_number();
    ++barriers;
    ASSERT_TRUE(pool.wait_idle(60s)) << "the pool was still busy after 60 s";
    if (posted.load() == posted_before && ledger_->commit_stats().units == units_before + 1) break;
  }

  std::lock_guard lock(mutex);
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << (errors.empty() ? "" : errors.front());
  for (int i = 0; i < kTotal; ++i) EXPECT_EQ(calls[static_cast<std::size_t>(i)], 1) << "request " << i;
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kTotal));

  std::set<std::string> serials;
  for (const IssuanceResult& r : results) {
    serials.insert(r.intent.serial.hex());
    EXPECT_EQ(Serial::parse_hex(r.certificate.serial_hex()), r.intent.serial);
  }
  EXPECT_EQ(serials.size(), static_cast<std::size_t>(kTotal));

  // Each signing and each answer was handed to the executor once: the committer thread neither
  // signs nor runs a callback.
  EXPECT_EQ(posted.load(), 2 * kTotal);
  EXPECT_EQ(answered_elsewhere.load(), 0);

  // Every certificate is in the ledger as Issued, for the client that asked.
  for (const IssuanceResult& r : results) {
    const auto rec = ledger_->find(r.intent.serial);
    ASSERT_TRUE(rec) << r.intent.serial.hex();
    EXPECT_EQ(rec->state, CertificateState::Issued);
    EXPECT_EQ(rec->client, r.intent.client);
    ASSERT_TRUE(rec->certificate);
    EXPECT_EQ(rec->certificate->der(), r.certificate.der());
  }
  ListQuery q;
  q.limit = 1000;
  EXPECT_EQ(ledger_->list(q).items.size(), static_cast<std::size_t>(kTotal));

  // Two durable writes per certificate (intent, then certificate), batched; and our barriers.
  const auto stats = ledger_->commit_stats();
  RecordProperty("commits", static_cast<int>(stats.commits));
  EXPECT_EQ(stats.units, static_cast<std::uint64_t>(2 * kTotal) + barriers);
  EXPECT_EQ(stats.failed_units, 0u);
  EXPECT_LT(stats.commits, stats.units);
}

TEST_F(IssuerTest, ThreadPerTaskExecutorWorksToo) {
  // jthreads join when destroyed (on a failed ASSERT); the normal path joins them below, while the
  // issuer they use is still alive.
  std::mutex mutex;
  std::vector<std::jthread> threads;
  Issuer issuer(signer_, *ledger_, [&](std::function<void()> task) {
    std::lock_guard lock(mutex);
    threads.emplace_back(std::move(task));
  });
  std::vector<std::future<IssuanceResult>> futures;
  std::vector<std::shared_ptr<std::promise<IssuanceResult>>> promises;
  const auto csr = make_csr(subject_key_.get(), "www.example.test", "DNS:www.example.test");
  for (int i = 0; i < 10; ++i) {
    auto promise = std::make_shared<std::promise<IssuanceResult>>();
    futures.push_back(promise->get_future());
    issuer.issue_async(server(), csr, 1h, "web-1", [promise](std::optional<IssuanceResult> r, std::exception_ptr e) {
      if (e) {
        promise->set_exception(e);
      } else {
        promise->set_value(*std::move(r));
      }
    });
  }
  std::set<std::string> serials;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
    serials.insert(f.get().intent.serial.hex());
  }
  EXPECT_EQ(serials.size(), 10u);
  std::lock_guard lock(mutex);
  EXPECT_EQ(threads.size(), 20u) << "a thread to sign and one to answer, per request";
  threads.clear();  // joins
}

// ---- open_ca ------------------------------------------------------------------------------------

class OpenCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<keystore::KeyStore>(
        keystore::KeyStore::create(tmp_ / "store", pass("correct horse battery"), kFastKdf));
    (void)store_->generate("ca", crypto::KeyAlgorithm::EcP256);
  }

  crypto::Certificate ca_certificate(TimePoint not_before, std::chrono::seconds validity, bool ca = true) {
    const keystore::UnlockedKey key = store_->unlock_key("ca");
    crypto::SelfSignedSpec spec;
    spec.common_name = "Open CA Test";
    spec.not_before = not_before;
    spec.validity = validity;
    spec.ca = ca;
    return crypto::make_self_signed(key.key.get(), spec);
  }

  test::TempDir tmp_;
  std::unique_ptr<keystore::KeyStore> store_;
  TimePoint now_ = std::chrono::system_clock::now();
};

TEST_F(OpenCaTest, AKeyWithoutACaCertificateIsRefused) {
  const Error e = capture_error([&] { (void)open_ca(*store_, "ca", kUrls); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "ca-certificate-missing");
  EXPECT_NE(std::string(e.what()).find("\"ca\""), std::string::npos) << e.what();
}

TEST_F(OpenCaTest, ALeafCertificateIsNoCaCertificate) {
  store_->attach_certificate("ca", ca_certificate(now_ - 1h, 365 * kDay, /*ca=*/false));
  const Error e = capture_error([&] { (void)open_ca(*store_, "ca", kUrls); });
  EXPECT_EQ(e.code(), "ca-certificate-missing");
}

TEST_F(OpenCaTest, WorksAfterACaCertificateIsAttached) {
  const crypto::Certificate cert = ca_certificate(now_ - 1h, 365 * kDay);
  store_->attach_certificate("ca", cert);
  const auto signer = open_ca(*store_, "ca", kUrls);
  ASSERT_TRUE(signer);
  EXPECT_EQ(signer->ca_certificate().der(), cert.der());
  EXPECT_TRUE(signer->chain().empty());
  EXPECT_EQ(signer->urls().base, kUrls.base);

  // And it issues.
  Ledger ledger(keystore::KeyStore::database_path(tmp_ / "store"));
  Issuer issuer(signer, ledger);
  const ossl::Pkey subject = crypto::generate_key(crypto::KeyAlgorithm::Ed25519);
  const IssuanceResult r = issuer.issue(default_profiles().at("server-tls"),
                                        make_csr(subject.get(), "www.example.test"), std::nullopt, "operator:test");
  EXPECT_TRUE(r.certificate.issued_by(cert));
  ASSERT_TRUE(ledger.find(r.intent.serial));
  EXPECT_EQ(ledger.find(r.intent.serial)->state, CertificateState::Issued);
}

TEST_F(OpenCaTest, PicksTheCaCertificateValidLongest) {
  const crypto::Certificate shorter = ca_certificate(now_ - 1h, 365 * kDay);
  const crypto::Certificate longer = ca_certificate(now_ - 2h, 730 * kDay);
  store_->attach_certificate("ca", shorter);
  store_->attach_certificate("ca", longer);
  EXPECT_EQ(open_ca(*store_, "ca", kUrls)->ca_certificate().der(), longer.der());
}

TEST_F(OpenCaTest, AnExpiredCaCertificateIsRefused) {
  store_->attach_certificate("ca", ca_certificate(now_ - 20 * kDay, 10 * kDay));
  const Error e = capture_error([&] { (void)open_ca(*store_, "ca", kUrls); });
  EXPECT_EQ(e.kind(), ErrorKind::Integrity);
  EXPECT_EQ(e.code(), "ca-certificate-expired");
}

TEST_F(OpenCaTest, AMissingKeyIsNotFound) {
  const Error e = capture_error([&] { (void)open_ca(*store_, "no-such-key", kUrls); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_NE(std::string(e.what()).find("no-such-key"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace signet::issuance
