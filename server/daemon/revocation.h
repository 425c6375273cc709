// Revocation status for relying parties: the CRL publisher and the OCSP responder.
//
// CrlPublisher keeps the current full CRL (and delta CRL when [crl] delta = true) in memory. It
// regenerates them after a revocation (debounced by [crl] debounce, so a burst of revocations
// makes one CRL), before nextUpdate comes closer than [crl] refresh_before, and when another
// process (the `signet revoke` CLI) revoked something: it polls the ledger's revocation revision
// every two seconds. Full and delta CRLs share one cRLNumber sequence (RFC 5280 5.2.3).
//
// OcspResponder answers RFC 6960 requests. A request without a nonce is answered from a cache of
// signed responses keyed by the request's bytes (so a hit costs no parsing and no signature);
// an entry is re-signed when it comes within [ocsp] refresh_before of its nextUpdate, and every
// entry is dropped when a revocation happens. A request with a nonce is signed on demand, with
// the nonce echoed.
//
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/steady_timer.hpp>

#include "ca_context.h"

namespace signet::daemon {

struct PublishedCrl {
  Bytes der;
  std::int64_t number = 0;
  issuance::TimePoint this_update;
  issuance::TimePoint next_update;
};

class CrlPublisher {
 public:
  explicit CrlPublisher(CaContext& ca);
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
  CaContext& ca_;
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
};

class OcspResponder {
 public:
  explicit OcspResponder(CaContext& ca);
  // Never throws: a bad request gets an unsuccessful OCSP response.
  [[nodiscard]] OcspAnswer answer(ByteView request_der);
  // Drops every cached response (after a revocation).
  void invalidate();

 private:
  OcspAnswer sign_fresh(const issuance::OcspRequest& request);
  struct Entry {
    OcspAnswer answer;
    std::uint64_t epoch = 0;
  };
  static constexpr std::size_t kShards = 16;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
  };
  CaContext& ca_;
  std::atomic<std::uint64_t> epoch_{1};
  Shard shards_[kShards];
};

}  // namespace signet::daemon
