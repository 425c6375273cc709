#include "revocation.h"

#include <openssl/ocsp.h>

#include <algorithm>
#include <iterator>
#include <unordered_set>

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

namespace {

std::shared_ptr<PublishedCrl> from_shared(const issuance::SharedCrl& crl) {
  auto out = std::make_shared<PublishedCrl>();
  out->der = crl.der;
  out->number = crl.number;
  out->this_update = TimePoint(std::chrono::seconds(crl.this_update));
  out->next_update = TimePoint(std::chrono::seconds(crl.next_update));
  return out;
}

issuance::SharedCrl to_shared(const PublishedCrl& crl, std::int64_t base_revision,
                              std::optional<std::int64_t> base_number) {
  issuance::SharedCrl out;
  out.der = crl.der;
  out.number = crl.number;
  out.this_update = std::chrono::duration_cast<std::chrono::seconds>(crl.this_update.time_since_epoch()).count();
  out.next_update = std::chrono::duration_cast<std::chrono::seconds>(crl.next_update.time_since_epoch()).count();
  out.base_revision = base_revision;
  out.base_number = base_number;
  return out;
}

}  // namespace

bool CrlPublisher::adopt_shared() {
  const TimePoint now = now_seconds();
  std::optional<issuance::SharedCrl> full = crls_.newest("full");
  if (!full || TimePoint(std::chrono::seconds(full->next_update)) <= now) return false;
  // Bytes from the database are served only if this CA signed them (a row edited by hand is not).
  const auto genuine = [&](const issuance::SharedCrl& crl, std::string_view kind) {
    if (views_.signer->signed_this_crl(crl.der)) return true;
    if (rejected_number_.exchange(crl.number) != crl.number) {
      spdlog::error("the published {} CRL number {} in the ledger is not a CRL this CA signed; serving the one before "
                    "until the node that builds CRLs publishes another",
                    kind, crl.number);
    }
    return false;
  };
  if (!genuine(*full, "full")) return false;
  std::optional<issuance::SharedCrl> delta;
  if (views_.config()->delta_crl) {
    delta = crls_.newest("delta");
    if (delta && (delta->base_number != full->number || TimePoint(std::chrono::seconds(delta->next_update)) <= now ||
                  !genuine(*delta, "delta"))) {
      delta.reset();
    }
  }
  std::lock_guard lock(mutex_);
  if (!full_ || full->number > full_->number) {
    full_ = from_shared(*full);
    base_revision_ = full->base_revision;
    spdlog::info("serving CRL number {}, built by the node that builds this CA's CRLs", full->number);
  }
  if (delta && (!delta_ || delta->number > delta_->number)) delta_ = from_shared(*delta);
  return true;
}

void CrlPublisher::generate() {
  std::lock_guard generating(generate_mutex_);
  // Several nodes on one ledger: the builder signs, the others serve what it published. Without
  // a current published CRL (no builder yet, or it stopped long ago) a node builds its own
  // meanwhile; its number comes from the shared sequence all the same.
  const bool shared = crls_.shared();
  const bool builder = !shared || crls_.hold_builder();
  if (!builder && adopt_shared()) return;
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
  std::shared_ptr<const PublishedCrl> published_full;
  {
    std::lock_guard lock(mutex_);
    if (full) {
      full_ = std::move(full);
      base_revision_ = base_revision;
    }
    delta_ = std::move(delta);
    known_revision_ = std::max(known_revision_, revision);
    published_full = full_;
  }
  if (shared && builder) {
    try {
      if (!crls_.publish("full", to_shared(*published_full, base_revision, std::nullopt))) {
        spdlog::warn("CRL number {} was not published to the other nodes: the ledger holds a newer one",
                     published_full->number);
      }
      std::shared_ptr<const PublishedCrl> d = this->delta();
      if (d) (void)crls_.publish("delta", to_shared(*d, base_revision, published_full->number));
    } catch (const std::exception& e) {
      spdlog::warn("could not publish CRL number {} to the other nodes: {}; they serve the one before",
                   published_full->number, e.what());
    }
  }
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
        std::int64_t known = 0;
        {
          std::lock_guard lock(mutex_);
          known = known_revision_;
          external = revision > known_revision_;
          const TimePoint now = now_seconds();
          due = (full_ && now + config->crl_refresh_before >= full_->next_update) ||
                (delta_ && now + config->crl_refresh_before / 3 >= delta_->next_update);
        }
        if (external) {
          // Revoked by another process (the CLI): their cached OCSP answers are stale too.
          if (ocsp_ != nullptr) {
            std::vector<issuance::Serial> serials;
            for (issuance::RevokedEntry& entry : views_.ledger->revoked_since(known)) {
              serials.push_back(std::move(entry.serial));
            }
            ocsp_->revoked(serials);
          }
          spdlog::info("revocations made outside the daemon were found; refreshing the CRL and OCSP responses");
        }
        if (external || due) {
          generate();
        } else if (crls_.shared() && !crls_.hold_builder()) {
          (void)adopt_shared();  // what the builder published since
        }
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
                    "(ocsp.nonces = \"ignore\"), ledger-unavailable (the ledger could not be read: answered from the "
                    "cache without the nonce).");
  m.declare_counter("signet_ocsp_over_budget_total",
                    "OCSP requests that needed a signature when the ocsp.signatures_per_second budget was spent, by "
                    "kind (one-issued: about one certificate this CA issued; other) and answer (cached: a response "
                    "due for a refresh but still current; tryLater: unsigned).");
  m.declare_counter("signet_ocsp_ledger_unavailable_total",
                    "OCSP requests that needed the ledger while it could not be read (a PostgreSQL ledger whose "
                    "server is away), by answer (cached: a response due for a refresh but still current; tryLater).");
  m.declare_counter("signet_ocsp_queue_full_total",
                    "OCSP requests answered tryLater at once because too many others not in the cache were "
                    "waiting for the ledger (a database that hangs).");
  m.declare_counter("signet_ocsp_cache_evictions_total",
                    "Cached OCSP responses dropped to make room (least recently used first).");
  m.declare_gauge("signet_ocsp_cache_entries",
                  "Cached OCSP responses, by kind (one-issued: about one certificate this CA issued; other).");
  m.declare_gauge("signet_ocsp_cache_bytes", "What the cached OCSP responses hold, roughly (ocsp.cache_mib bounds it).");
  collector_ = m.add_collector([this](Metrics& metrics) {
    std::size_t one_issued = 0;
    std::size_t other = 0;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
      Shard& shard = shards_[i];
      std::lock_guard lock(shard.mutex);
      one_issued += shard.one_issued.size();
      other += shard.other.size();
      bytes += shard.bytes;
    }
    metrics.set_gauge("signet_ocsp_cache_entries", {{"kind", "one-issued"}}, static_cast<double>(one_issued));
    metrics.set_gauge("signet_ocsp_cache_entries", {{"kind", "other"}}, static_cast<double>(other));
    metrics.set_gauge("signet_ocsp_cache_bytes", Labels{}, static_cast<double>(bytes));
  });
}

OcspResponder::~OcspResponder() { views_.metrics->remove_collector(collector_); }

void OcspResponder::invalidate() {
  epoch_.fetch_add(1);
  for (std::size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    shard.index.clear();
    shard.one_issued.clear();
    shard.other.clear();
    shard.bytes = shard.other_bytes = 0;
  }
}

void OcspResponder::revoked(const std::vector<issuance::Serial>& serials) {
  epoch_.fetch_add(1);  // a response being signed now may predate the revocation: it is not stored
  std::unordered_set<std::string> gone;
  for (const issuance::Serial& serial : serials) gone.insert(serial.hex());
  for (std::size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    while (!shard.other.empty()) drop(shard, std::prev(shard.other.end()));
    for (auto it = shard.one_issued.begin(); it != shard.one_issued.end();) {
      const auto next = std::next(it);
      if (gone.contains(it->second.serial_hex)) drop(shard, it);
      it = next;
    }
  }
}

OcspResponder::Shard& OcspResponder::shard_for(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % shard_count_];
}

void OcspResponder::drop(Shard& shard, Lru::iterator it) {
  shard.bytes -= it->second.bytes;
  Lru* list = &shard.one_issued;
  if (it->second.kind == Kind::Other) {
    shard.other_bytes -= it->second.bytes;
    list = &shard.other;
  }
  shard.index.erase(it->first);
  list->erase(it);
}

std::optional<OcspResponder::Cached> OcspResponder::lookup(std::string_view key) {
  const auto config = views_.config();
  const TimePoint now = clock_.now();
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.index.find(key);
  if (it == shard.index.end()) return std::nullopt;
  const Entry& entry = it->second->second;
  if (now >= entry.answer.next_update) {
    drop(shard, it->second);
    return std::nullopt;
  }
  Lru& list = entry.kind == Kind::OneIssued ? shard.one_issued : shard.other;
  list.splice(list.begin(), list, it->second);
  Cached hit{entry.answer, now + config->ocsp_refresh_before >= entry.answer.next_update};
  hit.answer.cached = true;
  return hit;
}

void OcspResponder::store(std::string_view key, Entry entry, std::uint64_t epoch) {
  const auto config = views_.config();
  const std::size_t max_entries = std::max<std::size_t>(1, config->ocsp_cache_entries / shard_count_);
  const std::size_t max_bytes = std::max<std::size_t>(1, config->ocsp_cache_mib * 1024 * 1024 / shard_count_);
  entry.bytes = key.size() + entry.answer.der->size() + entry.serial_hex.size() + 256;  // + list, map and control block
  std::size_t evicted = 0;
  Shard& shard = shard_for(key);
  {
    std::lock_guard lock(shard.mutex);
    if (epoch != epoch_.load()) return;  // revoked since the ledger was read
    if (const auto it = shard.index.find(key); it != shard.index.end()) drop(shard, it->second);
    // Responses about one issued certificate may push out any other; the rest have an eighth of
    // the room at most and push out only their own kind.
    const bool other = entry.kind == Kind::Other;
    const auto too_full = [&] {
      return shard.one_issued.size() + shard.other.size() + 1 > max_entries || shard.bytes + entry.bytes > max_bytes ||
             (other && (shard.other.size() + 1 > std::max<std::size_t>(1, max_entries / 8) ||
                        shard.other_bytes + entry.bytes > max_bytes / 8));
    };
    while (too_full()) {
      Lru* victims = !shard.other.empty() ? &shard.other : other ? nullptr : &shard.one_issued;
      if (victims == nullptr || victims->empty()) break;
      drop(shard, std::prev(victims->end()));
      ++evicted;
    }
    if (!too_full()) {
      Lru& list = other ? shard.other : shard.one_issued;
      shard.bytes += entry.bytes;
      if (other) shard.other_bytes += entry.bytes;
      list.emplace_front(std::string(key), std::move(entry));
      shard.index.emplace(list.front().first, list.begin());
    }
  }
  if (evicted > 0) views_.metrics->increment("signet_ocsp_cache_evictions_total", Labels{}, static_cast<double>(evicted));
}

OcspAnswer OcspResponder::answer(ByteView request_der) {
  const std::string_view raw(reinterpret_cast<const char*>(request_der.data()), request_der.size());
  // The common case: the request is exactly its CertIDs, as most clients send it, and was seen
  // before (a request with a nonce never is: entries are stored under CertIDs alone).
  std::optional<Cached> early = lookup(raw);
  if (early && !early->due) return std::move(early->answer);
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
    // Keyed by the CertIDs alone, re-encoded: extensions, a requestor name or a signature do not
    // change the answer, and must not make a new cache entry (and a signature) each.
    if (!request.nonce) return cached_or_signed(request_key_without_nonce(request), request);
    const auto config = views_.config();
    const bool honour = config->ocsp_nonces == Config::Nonces::Honour;
    bool ledger_unavailable = false;
    if (honour && nonce_budget_.take(config->ocsp_nonce_signatures_per_second, clock_.now())) {
      std::string status;
      std::optional<issuance::OcspContent> content;
      try {
        content = content_for(request, status);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::Storage) throw;
        ledger_unavailable = true;  // answered from the cache, without the nonce, below
      }
      if (content) {
        OcspAnswer fresh = sign(*content, status);
        views_.metrics->increment("signet_ocsp_signatures_total", {{"nonce", "true"}});
        views_.metrics->increment("signet_ocsp_nonce_requests_total", {{"outcome", "signed"}});
        fresh.nonce = "signed";
        return fresh;
      }
    }
    // Over the budget, the answer is the one without the nonce rather than tryLater: it is still
    // a signed, current status, RFC 8954 2.1 lets a responder leave the nonce out, and clients
    // that do not insist on it (most: browsers send none) keep working. A client that insists
    // fails, as it would with tryLater; tryLater would fail every client with a nonce for as long
    // as an attacker keeps the budget spent.
    const std::string_view outcome = ledger_unavailable ? "ledger-unavailable" : honour ? "over-budget" : "ignored";
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

std::optional<OcspAnswer> OcspResponder::answer_from_cache(ByteView request_der) {
  std::optional<Cached> hit = lookup(std::string_view(reinterpret_cast<const char*>(request_der.data()), request_der.size()));
  if (hit && !hit->due) return std::move(hit->answer);
  return std::nullopt;
}

void OcspResponder::answer_async(Bytes request_der, boost::asio::thread_pool& pool,
                                 std::function<void(OcspAnswer)> done) {
  if (waiting_.fetch_add(1) >= kMaxWaiting) {
    --waiting_;
    views_.metrics->increment("signet_ocsp_queue_full_total");
    return done(error_answer(3, "tryLater"));
  }
  boost::asio::post(pool, [this, der = std::move(request_der), done = std::move(done)] {
    OcspAnswer a = answer(der);
    --waiting_;
    done(std::move(a));
  });
}

OcspAnswer OcspResponder::cached_or_signed(std::string_view key, const issuance::OcspRequest& request) {
  std::optional<Cached> hit = lookup(key);
  if (hit && !hit->due) return std::move(hit->answer);
  // Read before the ledger is: a revocation committed while this signs keeps the entry out.
  const std::uint64_t epoch = epoch_.load();
  std::string status;
  issuance::OcspContent content;
  try {
    content = content_for(request, status);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Storage) throw;
    // The ledger cannot be read (a PostgreSQL ledger whose server is away): the cached response
    // while it is current, else tryLater (RFC 6960 2.3), which a client retries.
    views_.metrics->increment("signet_ocsp_ledger_unavailable_total", {{"answer", hit ? "cached" : "tryLater"}});
    if (hit) return std::move(hit->answer);
    return error_answer(3, "tryLater");
  }
  const bool unknown = std::any_of(content.responses.begin(), content.responses.end(), [](const auto& single) {
    return single.status == issuance::OcspCertStatus::Unknown;
  });
  const Kind kind = content.responses.size() == 1 && !unknown ? Kind::OneIssued : Kind::Other;
  const auto config = views_.config();
  const double rate = config->ocsp_signatures_per_second;
  const bool affordable = kind == Kind::OneIssued ? one_issued_budget_.take(rate, clock_.now())
                                                  : other_budget_.take(std::max(1.0, rate / 4), clock_.now());
  if (!affordable) {
    const std::string_view kind_label = kind == Kind::OneIssued ? "one-issued" : "other";
    const std::string_view answer_label = hit ? "cached" : "tryLater";
    views_.metrics->increment("signet_ocsp_over_budget_total", {{"kind", kind_label}, {"answer", answer_label}});
    if (hit) return std::move(hit->answer);
    return error_answer(3, "tryLater");
  }
  OcspAnswer fresh = sign(content, status);
  views_.metrics->increment("signet_ocsp_signatures_total", {{"nonce", "false"}});
  // "unknown" is not kept: the serial may be one being issued at this moment.
  if (!unknown) {
    Entry entry;
    entry.answer = fresh;
    entry.kind = kind;
    if (kind == Kind::OneIssued) entry.serial_hex = request.items.front().serial.hex();
    store(key, std::move(entry), epoch);
  }
  return fresh;
}

issuance::OcspContent OcspResponder::content_for(const issuance::OcspRequest& request,
                                                 std::string& first_status) const {
  const auto config = views_.config();
  const TimePoint now = std::chrono::time_point_cast<std::chrono::seconds>(clock_.now());
  issuance::OcspContent content;
  content.produced_at = now;
  content.nonce = request.nonce;
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
    if (first_status.empty()) {
      first_status = single.status == issuance::OcspCertStatus::Good      ? "good"
                     : single.status == issuance::OcspCertStatus::Revoked ? "revoked"
                                                                           : "unknown";
    }
    content.responses.push_back(std::move(single));
  }
  return content;
}

OcspAnswer OcspResponder::sign(const issuance::OcspContent& content, const std::string& status) {
  OcspAnswer out;
  out.der = std::make_shared<const Bytes>(views_.signer->sign_ocsp_response(content));
  out.this_update = content.produced_at;
  out.next_update = content.responses.front().next_update;
  out.status = status;
  return out;
}

}  // namespace signet::daemon
