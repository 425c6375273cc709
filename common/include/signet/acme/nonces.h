// Replay nonces (RFC 8555 section 6.5): every ACME answer carries a fresh one, and a request is
// accepted only with a nonce this signetd issued, used once, within the last hour.
//
// A nonce is a counter, the time it was issued and an HMAC of both under a key drawn at startup,
// so that issuing one allocates nothing and costs no database write, and a flood of newNonce
// requests cannot grow the daemon. Which counters were used is a bitmap over the last `window`
// nonces: an older one is refused as if it had expired. A restart draws a new key, so nonces from
// before it are refused (badNonce, with a fresh nonce), which clients retry at once as RFC 8555
// requires of them.
//
// Thread-safety: issue() and consume() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/core/clock.h"

namespace signet::acme {

class NonceStore {
 public:
  explicit NonceStore(std::size_t window = std::size_t{1} << 20, std::chrono::seconds lifetime = std::chrono::hours(1),
                      const Clock& clock = SystemClock::instance());

  [[nodiscard]] std::string issue();
  // True once for a nonce issue() gave within `lifetime` and the last `window` nonces.
  [[nodiscard]] bool consume(std::string_view nonce);

 private:
  [[nodiscard]] Bytes mac(ByteView data) const;
  const std::size_t window_;
  const std::int64_t lifetime_;
  const Clock& clock_;
  const SecretBytes key_;
  std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::vector<std::uint64_t> used_;  // bit (counter % window_): that counter was consumed
};

}  // namespace signet::acme
