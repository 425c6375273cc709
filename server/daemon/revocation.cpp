#include "revocation.h"

#include <openssl/ocsp.h>

#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ca_context.h"  // http_date
#include "signet/core/error.h"
#include "signet/crypto/handles.h"

namespace signet::daemon {
namespace {

using namespace std::chrono_literals;
using issuance::TimePoint;

TimePoint now_seconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

constexpr auto kPollInterval = 2s;

}  // namespace

CrlPublisher::CrlPublisher(RevocationViews views, issuance::CrlIssuer& crls, OcspResponder* ocsp,
                           boost::asio::io_context& io, boost::asio::thread_pool& blocking)
    : views_(std::move(views)), crls_(crls), ocsp_(ocsp), blocking_(blocking), check_timer_(io), debounce_timer_(io) {}

CrlPublisher::~CrlPublisher() { stop(); }

void CrlPublisher::start() {
  known_revision_ = views_.ledger->revocation_revision();
  generate();
  schedule_check();
}

void CrlPublisher::stop() {
  stopped_ = true;
  check_timer_.cancel();
  debounce_timer_.cancel();
}

std::shared_ptr<const PublishedCrl> CrlPublisher::full() const {
  std::lock_guard lock(mutex_);
  return full_;
}

std::shared_ptr<const PublishedCrl> CrlPublisher::delta() const {
  std::lock_guard lock(mutex_);
  return delta_;
}

void CrlPublisher::generate() {
  std::lock_guard generating(generate_mutex_);
  const auto config = views_.config();
  const TimePoint now = now_seconds();
  std::int64_t base_revision = 0;
  bool full_needed = true;
  {
    std::lock_guard lock(mutex_);
    base_revision = base_revision_;
    // With delta CRLs, a revocation only needs a new delta, until the full CRL is due anyway.
    full_needed = !full_ || !config->delta_crl || now + config->crl_refresh_before >= full_->next_update;
  }
  const std::int64_t revision = views_.ledger->revocation_revision();
  std::shared_ptr<PublishedCrl> full;
  if (full_needed) {
    issuance::CrlContent content;
    content.this_update = now;
    content.next_update = now + config->crl_validity;
    content.revoked = views_.ledger->revoked();
    issuance::IssuedCrl issued = crls_.issue(content);
    full = std::make_shared<PublishedCrl>();
    full->der = std::move(issued.der);
    full->number = issued.number;
    full->this_update = content.this_update;
    full->next_update = content.next_update;
    base_revision = revision;
    views_.metrics->increment("signet_crl_generated_total", {{"kind", "full"}});
    spdlog::info("published CRL number {} with {} entries, next update {}", full->number, content.revoked.size(),
                 http_date(content.next_update));
  }
  std::shared_ptr<PublishedCrl> delta;
  if (config->delta_crl) {
    std::int64_t base_number = 0;
    if (full) {
      base_number = full->number;
    } else {
      std::lock_guard lock(mutex_);
      base_number = full_->number;
    }
    issuance::CrlContent content;
    content.delta_base = base_number;
    content.this_update = now;
    content.next_update = now + config->delta_crl_validity;
    content.revoked = views_.ledger->revoked_since(base_revision);
    issuance::IssuedCrl issued = crls_.issue(content);
    delta = std::make_shared<PublishedCrl>();
    delta->der = std::move(issued.der);
    delta->number = issued.number;
    delta->this_update = content.this_update;
    delta->next_update = content.next_update;
    views_.metrics->increment("signet_crl_generated_total", {{"kind", "delta"}});
  }
  std::lock_guard lock(mutex_);
  if (full) {
    full_ = std::move(full);
    base_revision_ = base_revision;
  }
  delta_ = std::move(delta);
  known_revision_ = std::max(known_revision_, revision);
}

void CrlPublisher::revoked() {
  if (stopped_) return;
  // This revocation (and any before it) is ours to publish: the poller must not take it for one
  // made outside the daemon and sign a second CRL for it.
  const std::int64_t revision = views_.ledger->revocation_revision();
  std::lock_guard lock(mutex_);
  known_revision_ = std::max(known_revision_, revision);
  if (debounce_armed_) return;
  debounce_armed_ = true;
  debounce_timer_.expires_after(views_.config()->crl_debounce);
  debounce_timer_.async_wait([this](const boost::system::error_code& ec) {
    {
      std::lock_guard inner(mutex_);
      debounce_armed_ = false;
    }
    if (ec || stopped_) return;
    boost::asio::post(blocking_, [this] {
      try {
        generate();
      } catch (const std::exception& e) {
        spdlog::error("regenerating the CRL failed: {}; the previous CRL stays published", e.what());
      }
    });
  });
}

void CrlPublisher::schedule_check() {
  if (stopped_) return;
  check_timer_.expires_after(kPollInterval);
  check_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    boost::asio::post(blocking_, [this] {
      try {
        const auto config = views_.config();
        const std::int64_t revision = views_.ledger->revocation_revision();
        bool external = false;
        bool due = false;
        {
          std::lock_guard lock(mutex_);
          external = revision > known_revision_;
          const TimePoint now = now_seconds();
          due = (full_ && now + config->crl_refresh_before >= full_->next_update) ||
                (delta_ && now + config->crl_refresh_before / 3 >= delta_->next_update);
        }
        if (external) {
          // Revoked by another process (the CLI): the cached OCSP answers are stale too.
          if (ocsp_ != nullptr) ocsp_->invalidate();
          spdlog::info("revocations made outside the daemon were found; refreshing the CRL and OCSP responses");
        }
        if (external || due) generate();
      } catch (const std::exception& e) {
        spdlog::error("checking the CRL failed: {}; will retry", e.what());
      }
      schedule_check();
    });
  });
}

namespace {

// The request a client sends for the same CertIDs without a nonce (no extensions, no requestor
// name, no signature), DER: the cache key under which the answer to such a request is stored,
// so that a request with a nonce answered without it shares that entry.
std::string request_key_without_nonce(const issuance::OcspRequest& request) {
  ossl::OcspRequestPtr req{OCSP_REQUEST_new()};
  if (!req) throw Error(ErrorKind::Internal, "ocsp-request-build", "out of memory building an OCSP request");
  for (const issuance::OcspRequestItem& item : request.items) {
    const unsigned char* p = item.cert_id_der.data();
    ossl::OcspCertIdPtr id{d2i_OCSP_CERTID(nullptr, &p, static_cast<long>(item.cert_id_der.size()))};
    if (!id || OCSP_request_add0_id(req.get(), id.get()) == nullptr) {
      throw Error(ErrorKind::Internal, "ocsp-request-build", "re-encoding a parsed OCSP CertID failed");
    }
    (void)id.release();  // the request owns it now
  }
  const int size = i2d_OCSP_REQUEST(req.get(), nullptr);
  if (size <= 0) throw Error(ErrorKind::Internal, "ocsp-request-build", "encoding an OCSP request failed");
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_OCSP_REQUEST(req.get(), &out) != size) {
    throw Error(ErrorKind::Internal, "ocsp-request-build", "encoding an OCSP request failed");
  }
  return der;
}

OcspAnswer error_answer(int response_status, std::string status) {
  return OcspAnswer{std::make_shared<const Bytes>(issuance::ocsp_error_response(response_status)), {}, {}, false,
                    std::move(status), false, {}};
}

}  // namespace

bool OcspResponder::Budget::take(double rate, TimePoint now) {
  std::lock_guard lock(mutex_);
  if (!started_) {
    started_ = true;
    tokens_ = rate;
  } else if (now > last_) {
    tokens_ += std::chrono::duration<double>(now - last_).count() * rate;
  }
  // A clock stepped back refills nothing; the refill restarts from the new time.
  last_ = now;
  tokens_ = std::min(tokens_, rate);  // one second's worth at most (and the rate may have been lowered)
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

OcspResponder::OcspResponder(RevocationViews views, const Clock& clock) : views_(std::move(views)), clock_(clock) {
  // A small cache is one shard, so that it is exactly least-recently-used; a large one is split so
  // that the threads answering OCSP seldom wait for one another's lock.
  shard_count_ = std::clamp<std::size_t>(views_.config()->ocsp_cache_entries / 256, 1, 16);
  shards_ = std::make_unique<Shard[]>(shard_count_);
  Metrics& m = *views_.metrics;
  m.declare_counter("signet_ocsp_signatures_total",
                    "OCSP responses signed, by nonce: true for a request's nonce echoed (never cached), false for a "
                    "response that goes into the cache.");
  m.declare_counter("signet_ocsp_nonce_requests_total",
                    "OCSP requests with a nonce, by outcome: signed (nonce echoed), over-budget (the "
                    "ocsp.nonce_signatures_per_second budget was spent: answered without the nonce), ignored "
                    "(ocsp.nonces = \"ignore\").");
  m.declare_counter("signet_ocsp_cache_evictions_total",
                    "Cached OCSP responses dropped to make room (least recently used first).");
}

void OcspResponder::invalidate() { epoch_.fetch_add(1); }

OcspResponder::Shard& OcspResponder::shard_for(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % shard_count_];
}

std::optional<OcspAnswer> OcspResponder::lookup(std::string_view key) {
  const auto config = views_.config();
  const TimePoint now = clock_.now();
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.index.find(key);
  if (it == shard.index.end()) return std::nullopt;
  const Entry& entry = it->second->second;
  if (entry.epoch != epoch_.load() || now + config->ocsp_refresh_before >= entry.answer.next_update) {
    return std::nullopt;  // revoked since, or due for a refresh: the caller signs a new one
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  OcspAnswer hit = entry.answer;
  hit.cached = true;
  return hit;
}

void OcspResponder::store(std::string_view key, const OcspAnswer& value, std::uint64_t epoch) {
  const std::size_t capacity = std::max<std::size_t>(1, views_.config()->ocsp_cache_entries / shard_count_);
  std::size_t evicted = 0;
  Shard& shard = shard_for(key);
  {
    std::lock_guard lock(shard.mutex);
    if (const auto it = shard.index.find(key); it != shard.index.end()) {
      it->second->second = Entry{value, epoch};
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return;
    }
    while (!shard.lru.empty() && shard.lru.size() >= capacity) {
      shard.index.erase(shard.lru.back().first);
      shard.lru.pop_back();
      ++evicted;
    }
    shard.lru.emplace_front(std::string(key), Entry{value, epoch});
    shard.index.emplace(shard.lru.front().first, shard.lru.begin());
  }
  if (evicted > 0) views_.metrics->increment("signet_ocsp_cache_evictions_total", Labels{}, static_cast<double>(evicted));
}

OcspAnswer OcspResponder::answer(ByteView request_der) {
  const std::string_view raw(reinterpret_cast<const char*>(request_der.data()), request_der.size());
  // A request seen before (without a nonce: those with one are never stored under their bytes).
  if (auto hit = lookup(raw)) return *std::move(hit);
  issuance::OcspRequest request;
  try {
    request = issuance::parse_ocsp_request(request_der);
  } catch (const Error&) {
    return error_answer(1, "malformedRequest");
  }
  const issuance::RevocationSigner& signer = *views_.signer;
  for (const issuance::OcspRequestItem& item : request.items) {
    const bool sha1 = item.hash_algorithm == "sha1";
    const bool ours = item.issuer_name_hash == (sha1 ? signer.issuer_name_sha1() : signer.issuer_name_sha256()) &&
                      item.issuer_key_hash == (sha1 ? signer.issuer_key_sha1() : signer.issuer_key_sha256());
    // Not this CA's certificate: RFC 6960 2.3 "unauthorized" (unsigned, so it costs nothing).
    if (!ours) return error_answer(6, "unauthorized");
  }
  try {
    if (!request.nonce) return cached_or_signed(raw, request);
    const auto config = views_.config();
    const bool honour = config->ocsp_nonces == Config::Nonces::Honour;
    if (honour && nonce_budget_.take(config->ocsp_nonce_signatures_per_second, clock_.now())) {
      OcspAnswer fresh = sign_fresh(request);
      views_.metrics->increment("signet_ocsp_signatures_total", {{"nonce", "true"}});
      views_.metrics->increment("signet_ocsp_nonce_requests_total", {{"outcome", "signed"}});
      fresh.nonce = "signed";
      return fresh;
    }
    // Over the budget, the answer is the cached one without the nonce rather than tryLater: it
    // is still a signed, current status, RFC 8954 2.1 lets a responder leave the nonce out, and
    // clients that do not insist on it (most: browsers send none) keep working. A client that
    // insists fails, as it would with tryLater; tryLater would fail every client with a nonce
    // for as long as an attacker keeps the budget spent.
    const std::string_view outcome = honour ? "over-budget" : "ignored";
    views_.metrics->increment("signet_ocsp_nonce_requests_total", {{"outcome", outcome}});
    issuance::OcspRequest plain = std::move(request);
    plain.nonce.reset();
    OcspAnswer reply = cached_or_signed(request_key_without_nonce(plain), plain);
    reply.nonce = outcome;
    return reply;
  } catch (const std::exception& e) {
    spdlog::error("signing an OCSP response failed: {}", e.what());
    return error_answer(2, "internalError");
  }
}

OcspAnswer OcspResponder::cached_or_signed(std::string_view key, const issuance::OcspRequest& request) {
  if (auto hit = lookup(key)) return *std::move(hit);
  // Read before the ledger is: a revocation committed while this signs makes the entry stale.
  const std::uint64_t epoch = epoch_.load();
  OcspAnswer fresh = sign_fresh(request);
  views_.metrics->increment("signet_ocsp_signatures_total", {{"nonce", "false"}});
  store(key, fresh, epoch);
  return fresh;
}

OcspAnswer OcspResponder::sign_fresh(const issuance::OcspRequest& request) {
  const auto config = views_.config();
  const TimePoint now = std::chrono::time_point_cast<std::chrono::seconds>(clock_.now());
  issuance::OcspContent content;
  content.produced_at = now;
  content.nonce = request.nonce;
  std::string status;
  for (const issuance::OcspRequestItem& item : request.items) {
    issuance::OcspSingle single;
    single.cert_id_der = item.cert_id_der;
    single.this_update = now;
    single.next_update = now + config->ocsp_validity;
    const auto record = views_.ledger->find(item.serial);
    if (!record || record->state != issuance::CertificateState::Issued) {
      single.status = issuance::OcspCertStatus::Unknown;
    } else if (record->revoked_at) {
      single.status = issuance::OcspCertStatus::Revoked;
      single.revoked_at = TimePoint(std::chrono::seconds(*record->revoked_at));
      single.reason = record->reason.value_or(issuance::RevocationReason::Unspecified);
    } else {
      single.status = issuance::OcspCertStatus::Good;
    }
    if (status.empty()) {
      status = single.status == issuance::OcspCertStatus::Good      ? "good"
               : single.status == issuance::OcspCertStatus::Revoked ? "revoked"
                                                                     : "unknown";
    }
    content.responses.push_back(std::move(single));
  }
  OcspAnswer out;
  out.der = std::make_shared<const Bytes>(views_.signer->sign_ocsp_response(content));
  out.this_update = now;
  out.next_update = now + config->ocsp_validity;
  out.status = status;
  return out;
}

}  // namespace signet::daemon
