// Revocation status for relying parties: the CRL publisher and the OCSP responder.
//
// Both see the CA only through the narrow views of signet/issuance/views.h: they read
// certificate status and sign OCSP responses and CRLs; nothing here can issue a certificate.
//
// CrlPublisher keeps the current full CRL (and delta CRL when [crl] delta = true) in memory. It
// regenerates them after a revocation (debounced by [crl] debounce, so a burst of revocations
// makes one CRL), before nextUpdate comes closer than [crl] refresh_before, and when another
// process (the `signet revoke` CLI) revoked something: it polls the ledger's revocation revision
// every two seconds. Full and delta CRLs share one cRLNumber sequence (RFC 5280 5.2.3).
// On a PostgreSQL ledger shared by several nodes, one node at a time (the holder of the builder
// role, see issuance::Ledger::hold_crl_builder) signs CRLs and publishes them in the ledger; the
// others take the newest published on each poll and serve it, and take the role over when the
// builder goes.
//
// OcspResponder answers RFC 6960 requests. A request without a nonce is answered from a cache of
// signed responses keyed by the request's CertIDs, re-encoded without anything else (extensions,
// requestor name, signature), so that varying those makes no new entry; a request that is just
// its CertIDs, as most are, hits by its bytes without being parsed. A
// response is signed only on a miss, and an anonymous client can cause misses at will (random
// serials, several CertIDs in any order), so every signature is paid from a budget:
//  - a request about one certificate this CA issued: [ocsp] signatures_per_second;
//  - anything else (several CertIDs, serials this CA never issued): a quarter of that;
//  - a request with a nonce (RFC 8954), signed on demand with the nonce echoed:
//    [ocsp] nonce_signatures_per_second; over it, or with [ocsp] nonces = "ignore", it is answered
//    as the same request without a nonce would be, and the response carries no nonce.
// Over its budget, a request whose cached response is due for a refresh ([ocsp] refresh_before)
// but still current gets that response; one with nothing current cached gets an unsigned
// tryLater (RFC 6960 2.3), which costs nothing.
//
// The cache is bounded by [ocsp] cache_entries and cache_mib. Responses about one issued
// certificate are kept apart from the rest, which may hold an eighth of the room at most and never
// push them out: whatever an attacker asks, the responses relying parties need stay cached.
// Responses that say "unknown" are not cached (the serial may be being issued right now). A
// revocation drops the responses about the revoked certificates (and every response about several
// certificates); revocations the daemon did not make are found by CrlPublisher's poll.
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config.h"
#include "http.h"
#include "metrics.h"
#include "signet/core/clock.h"
#include "signet/issuance/views.h"

namespace signet::daemon {

// What the revocation side is given: the running configuration, the metrics, and views of the
// signer and the ledger that cannot issue.
struct RevocationViews {
  std::function<std::shared_ptr<const Config>()> config;
  Metrics* metrics = nullptr;
  std::shared_ptr<const issuance::RevocationSigner> signer;
  std::shared_ptr<const issuance::LedgerReader> ledger;
};

struct PublishedCrl {
  Bytes der;
  std::int64_t number = 0;
  issuance::TimePoint this_update;
  issuance::TimePoint next_update;
};

class OcspResponder;

class CrlPublisher {
 public:
  // `crls` takes the CRL numbers and signs; `ocsp` (may be null) is invalidated when revocations
  // made outside the daemon are found. Timers run on `io`, generation on `blocking`.
  CrlPublisher(RevocationViews views, issuance::CrlIssuer& crls, OcspResponder* ocsp, boost::asio::io_context& io,
               boost::asio::thread_pool& blocking);
  ~CrlPublisher();
  // Generates the first CRLs (synchronously) and starts the timers.
  void start();
  void stop();
  // A revocation happened in this process: regenerate after the debounce.
  void revoked();

  [[nodiscard]] std::shared_ptr<const PublishedCrl> full() const;
  [[nodiscard]] std::shared_ptr<const PublishedCrl> delta() const;  // null unless configured

 private:
  void generate();
  // Serves the newest CRLs another node published in a shared ledger; false when none is current.
  bool adopt_shared();
  void schedule_check();
  RevocationViews views_;
  issuance::CrlIssuer& crls_;
  OcspResponder* ocsp_;
  boost::asio::thread_pool& blocking_;
  std::mutex generate_mutex_;  // one generation at a time
  mutable std::mutex mutex_;
  std::shared_ptr<const PublishedCrl> full_;
  std::shared_ptr<const PublishedCrl> delta_;
  std::int64_t base_revision_ = 0;   // revocation revision the full CRL covers
  std::int64_t known_revision_ = 0;  // highest revision seen
  boost::asio::steady_timer check_timer_;
  boost::asio::steady_timer debounce_timer_;
  bool debounce_armed_ = false;
  std::atomic<bool> stopped_{false};
  std::atomic<std::int64_t> rejected_number_{0};  // the last published CRL refused (logged once)
};

struct OcspAnswer {
  std::shared_ptr<const Bytes> der;
  issuance::TimePoint this_update;
  issuance::TimePoint next_update;
  bool cached = false;
  std::string status;  // "good", "revoked", "unknown", or the error ("malformedRequest", ...)
  bool successful = true;
  // For a request with a nonce: "signed" (echoed), "over-budget" or "ignored" (answered without
  // it); empty for a request without one.
  std::string_view nonce;
};

class OcspResponder {
 public:
  // `clock` gives thisUpdate and the refill of the signing budgets (tests pass their own).
  explicit OcspResponder(RevocationViews views, const Clock& clock = SystemClock::instance());
  ~OcspResponder();
  OcspResponder(const OcspResponder&) = delete;
  OcspResponder& operator=(const OcspResponder&) = delete;
  // Never throws: a bad request gets an unsuccessful OCSP response.
  [[nodiscard]] OcspAnswer answer(ByteView request_der);
  // The cached answer for exactly these request bytes while it is current and not due for a
  // refresh (no ledger read, no signature); std::nullopt otherwise. For the I/O threads.
  [[nodiscard]] std::optional<OcspAnswer> answer_from_cache(ByteView request_der);
  // answer() on `pool`, where it may wait on the ledger, then `done` there. At most
  // kMaxWaiting requests wait at once: beyond that, done(tryLater) at once, so that a database
  // that hangs cannot grow the queue (signet_ocsp_queue_full_total).
  static constexpr int kMaxWaiting = 256;
  void answer_async(Bytes request_der, boost::asio::thread_pool& pool, std::function<void(OcspAnswer)> done);
  // These certificates were revoked: their cached responses (and every one about several
  // certificates) are dropped.
  void revoked(const std::vector<issuance::Serial>& serials);
  // Drops every cached response.
  void invalidate();

 private:
  // Which budget a signature is paid from and which part of the cache keeps it.
  enum class Kind { OneIssued, Other };
  struct Entry {
    OcspAnswer answer;
    Kind kind = Kind::Other;
    std::string serial_hex;  // Kind::OneIssued: the certificate it is about
    std::size_t bytes = 0;   // what the entry holds, roughly
  };
  using Lru = std::list<std::pair<std::string, Entry>>;  // most recently used first
  // One part of the cache with its own lock and its own least-recently-used orders.
  struct Shard {
    std::mutex mutex;
    Lru one_issued;
    Lru other;
    std::unordered_map<std::string_view, Lru::iterator> index;  // keys in either list
    std::size_t bytes = 0;
    std::size_t other_bytes = 0;
  };
  struct Cached {
    OcspAnswer answer;
    bool due = false;  // within refresh_before of its nextUpdate: signed again when the budget allows
  };
  // A token bucket: `rate` signatures a second, up to one second's worth saved up.
  class Budget {
   public:
    // Spends a token if one is left.
    bool take(double rate, issuance::TimePoint now);

   private:
    std::mutex mutex_;
    bool started_ = false;
    double tokens_ = 0;
    issuance::TimePoint last_;
  };

  // The current cached answer for `key` (it becomes the most recently used).
  std::optional<Cached> lookup(std::string_view key);
  // Stores `entry` under `key` unless a revocation happened since `epoch` (read before the ledger
  // was); makes room by dropping least recently used entries.
  void store(std::string_view key, Entry entry, std::uint64_t epoch);
  // The answer for `request` (without a nonce) under `key`: cached, signed within the budget, or tryLater.
  OcspAnswer cached_or_signed(std::string_view key, const issuance::OcspRequest& request);
  // The statuses `request` gets, read from the ledger.
  issuance::OcspContent content_for(const issuance::OcspRequest& request, std::string& first_status) const;
  OcspAnswer sign(const issuance::OcspContent& content, const std::string& status);
  void drop(Shard& shard, Lru::iterator it);
  [[nodiscard]] Shard& shard_for(std::string_view key);

  RevocationViews views_;
  const Clock& clock_;
  std::atomic<std::uint64_t> epoch_{1};  // moves on every revocation
  std::atomic<int> waiting_{0};          // answer_async calls not done yet
  std::unique_ptr<Shard[]> shards_;
  std::size_t shard_count_ = 1;
  Budget one_issued_budget_;
  Budget other_budget_;
  Budget nonce_budget_;
  std::uint64_t collector_ = 0;  // sets the cache's size in the metrics
};

// The public routes (plain HTTP and HTTPS): /ca.crt, /ca.pem, /crl, /crl/delta and /ocsp. They
// get the signer's view and the publisher and responder, nothing that issues.
// OCSP answers come from the cache on the I/O threads, or are made on `blocking` when it is given
// (a ledger that may hang: PostgreSQL), else in place.
void register_public_routes(Router& router, const issuance::RevocationSigner& signer, CrlPublisher& crl,
                            OcspResponder& ocsp, Metrics& metrics, boost::asio::thread_pool* blocking);

}  // namespace signet::daemon
