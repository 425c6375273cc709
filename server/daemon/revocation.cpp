#include "revocation.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace signet::daemon {
namespace {

using namespace std::chrono_literals;
using issuance::TimePoint;

TimePoint now_seconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

constexpr auto kPollInterval = 2s;

}  // namespace

CrlPublisher::CrlPublisher(CaContext& ca) : ca_(ca), check_timer_(ca.io), debounce_timer_(ca.io) {}

CrlPublisher::~CrlPublisher() { stop(); }

void CrlPublisher::start() {
  known_revision_ = ca_.ledger->revocation_revision();
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
  const auto config = ca_.config();
  const TimePoint now = now_seconds();
  std::int64_t base_revision = 0;
  bool full_needed = true;
  {
    std::lock_guard lock(mutex_);
    base_revision = base_revision_;
    // With delta CRLs, a revocation only needs a new delta, until the full CRL is due anyway.
    full_needed = !full_ || !config->delta_crl || now + config->crl_refresh_before >= full_->next_update;
  }
  const std::int64_t revision = ca_.ledger->revocation_revision();
  std::shared_ptr<PublishedCrl> full;
  if (full_needed) {
    issuance::CrlContent content;
    content.number = ca_.ledger->next_crl_number();
    content.this_update = now;
    content.next_update = now + config->crl_validity;
    content.revoked = ca_.ledger->revoked();
    full = std::make_shared<PublishedCrl>();
    full->der = ca_.signer->sign_crl(content);
    full->number = content.number;
    full->this_update = content.this_update;
    full->next_update = content.next_update;
    base_revision = revision;
    ca_.metrics.increment("signet_crl_generated_total", {{"kind", "full"}});
    spdlog::info("published CRL number {} with {} entries, next update {}", content.number, content.revoked.size(),
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
    content.number = ca_.ledger->next_crl_number();
    content.delta_base = base_number;
    content.this_update = now;
    content.next_update = now + config->delta_crl_validity;
    content.revoked = ca_.ledger->revoked_since(base_revision);
    delta = std::make_shared<PublishedCrl>();
    delta->der = ca_.signer->sign_crl(content);
    delta->number = content.number;
    delta->this_update = content.this_update;
    delta->next_update = content.next_update;
    ca_.metrics.increment("signet_crl_generated_total", {{"kind", "delta"}});
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
  const std::int64_t revision = ca_.ledger->revocation_revision();
  std::lock_guard lock(mutex_);
  known_revision_ = std::max(known_revision_, revision);
  if (debounce_armed_) return;
  debounce_armed_ = true;
  debounce_timer_.expires_after(ca_.config()->crl_debounce);
  debounce_timer_.async_wait([this](const boost::system::error_code& ec) {
    {
      std::lock_guard inner(mutex_);
      debounce_armed_ = false;
    }
    if (ec || stopped_) return;
    boost::asio::post(ca_.blocking, [this] {
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
    boost::asio::post(ca_.blocking, [this] {
      try {
        const auto config = ca_.config();
        const std::int64_t revision = ca_.ledger->revocation_revision();
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
          if (ca_.ocsp) ca_.ocsp->invalidate();
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

OcspResponder::OcspResponder(CaContext& ca) : ca_(ca) {}

void OcspResponder::invalidate() { epoch_.fetch_add(1); }

OcspAnswer OcspResponder::answer(ByteView request_der) {
  const std::string key(reinterpret_cast<const char*>(request_der.data()), request_der.size());
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  const std::uint64_t epoch = epoch_.load();
  const auto config = ca_.config();
  const TimePoint now = std::chrono::system_clock::now();
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end() && it->second.epoch == epoch &&
        now + config->ocsp_refresh_before < it->second.answer.next_update) {
      OcspAnswer hit = it->second.answer;
      hit.cached = true;
      return hit;
    }
  }
  issuance::OcspRequest request;
  try {
    request = issuance::parse_ocsp_request(request_der);
  } catch (const Error&) {
    static const auto malformed = std::make_shared<const Bytes>(issuance::ocsp_error_response(1));
    return OcspAnswer{malformed, {}, {}, false, "malformedRequest", false};
  }
  OcspAnswer fresh;
  try {
    fresh = sign_fresh(request);
  } catch (const std::exception& e) {
    spdlog::error("signing an OCSP response failed: {}", e.what());
    static const auto internal = std::make_shared<const Bytes>(issuance::ocsp_error_response(2));
    return OcspAnswer{internal, {}, {}, false, "internalError", false};
  }
  if (!request.nonce && fresh.successful) {
    std::lock_guard lock(shard.mutex);
    if (shard.entries.size() >= std::max<std::size_t>(1, config->ocsp_cache_entries / kShards)) {
      shard.entries.clear();  // crude but bounded: the hot entries come back on the next request
    }
    shard.entries[key] = Entry{fresh, epoch};
  }
  return fresh;
}

OcspAnswer OcspResponder::sign_fresh(const issuance::OcspRequest& request) {
  const auto config = ca_.config();
  const issuance::CaSigner& signer = *ca_.signer;
  const TimePoint now = now_seconds();
  issuance::OcspContent content;
  content.produced_at = now;
  content.nonce = request.nonce;
  std::string status;
  for (const issuance::OcspRequestItem& item : request.items) {
    const bool sha1 = item.hash_algorithm == "sha1";
    const bool ours = item.issuer_name_hash == (sha1 ? signer.issuer_name_sha1() : signer.issuer_name_sha256()) &&
                      item.issuer_key_hash == (sha1 ? signer.issuer_key_sha1() : signer.issuer_key_sha256());
    if (!ours) {
      // Not this CA's certificate: RFC 6960 2.3 "unauthorized".
      static const auto unauthorized = std::make_shared<const Bytes>(issuance::ocsp_error_response(6));
      return OcspAnswer{unauthorized, {}, {}, false, "unauthorized", false};
    }
    issuance::OcspSingle single;
    single.cert_id_der = item.cert_id_der;
    single.this_update = now;
    single.next_update = now + config->ocsp_validity;
    const auto record = ca_.ledger->find(item.serial);
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
  out.der = std::make_shared<const Bytes>(signer.sign_ocsp_response(content));
  out.this_update = now;
  out.next_update = now + config->ocsp_validity;
  out.status = status;
  return out;
}

}  // namespace signet::daemon
