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
//
// OcspResponder answers RFC 6960 requests. A request without a nonce is answered from a cache of
// signed responses keyed by the request's bytes (so a hit costs no parsing and no signature);
// an entry is re-signed when it comes within [ocsp] refresh_before of its nextUpdate, every entry
// is dropped when a revocation happens, and a full cache drops its least recently used entry.
// A request with a nonce (RFC 8954) is signed on demand with the nonce echoed, within a budget of
// [ocsp] nonce_signatures_per_second; over the budget, or with [ocsp] nonces = "ignore", it is
// answered from the cache as the same request without a nonce would be, and the response carries
// no nonce. Signing on demand is the one thing an anonymous client can make the CA do at will:
// the budget keeps it from taking the CA's CPU.
//
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
  // `clock` gives thisUpdate and the refill of the nonce signing budget (tests pass their own).
  explicit OcspResponder(RevocationViews views, const Clock& clock = SystemClock::instance());
  // Never throws: a bad request gets an unsuccessful OCSP response.
  [[nodiscard]] OcspAnswer answer(ByteView request_der);
  // Drops every cached response (after a revocation).
  void invalidate();

 private:
  struct Entry {
    OcspAnswer answer;
    std::uint64_t epoch = 0;
  };
  // One part of the cache with its own lock and its own least-recently-used order.
  struct Shard {
    std::mutex mutex;
    std::list<std::pair<std::string, Entry>> lru;  // most recently used first
    std::unordered_map<std::string_view, std::list<std::pair<std::string, Entry>>::iterator> index;  // keys in lru
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

  // The cached answer for `key` when it is current (and it becomes the most recently used).
  std::optional<OcspAnswer> lookup(std::string_view key);
  // Stores `value`, signed at `epoch`, under `key`; drops the least recently used entry when full.
  void store(std::string_view key, const OcspAnswer& value, std::uint64_t epoch);
  // The cached answer for `key`, or a fresh one for `request` (without a nonce) stored under it.
  OcspAnswer cached_or_signed(std::string_view key, const issuance::OcspRequest& request);
  OcspAnswer sign_fresh(const issuance::OcspRequest& request);
  [[nodiscard]] Shard& shard_for(std::string_view key);

  RevocationViews views_;
  const Clock& clock_;
  std::atomic<std::uint64_t> epoch_{1};
  std::unique_ptr<Shard[]> shards_;
  std::size_t shard_count_ = 1;
  Budget nonce_budget_;
};

// The public routes (plain HTTP and HTTPS): /ca.crt, /ca.pem, /crl, /crl/delta and /ocsp. They
// get the signer's view and the publisher and responder, nothing that issues.
void register_public_routes(Router& router, const issuance::RevocationSigner& signer, CrlPublisher& crl,
                            OcspResponder& ocsp, Metrics& metrics);

}  // namespace signet::daemon
