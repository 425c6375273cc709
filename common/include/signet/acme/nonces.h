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
// Several nodes (a PostgreSQL ledger) share their nonces: a client may take a nonce from one node
// and use it on another. Then the key is the one the nodes share (AcmeStore::shared_nonce_key),
// the counter is replaced by 8 random bytes, and a nonce is redeemed in the database
// (AcmeStore::redeem_nonce), once across all the nodes, in place of the bitmap.
//
// Thread-safety: issue() and consume() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
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
  // Records a nonce as used until `expires` (unix seconds); false when it was used already.
  using Redeem = std::function<bool(ByteView nonce, std::int64_t expires)>;
  // Shared nonces: authenticated with `key`, the same on every node, and redeemed by `redeem`.
  NonceStore(SecretBytes key, Redeem redeem, std::chrono::seconds lifetime = std::chrono::hours(1),
             const Clock& clock = SystemClock::instance());

  [[nodiscard]] std::string issue();
  // True once for a nonce issue() gave within `lifetime` and (not shared) the last `window`
  // nonces. Shared: whatever `redeem` throws (the database is away) goes to the caller.
  [[nodiscard]] bool consume(std::string_view nonce);
  // True for a nonce issue() gave within `lifetime`, used or not: what can be checked without
  // redeeming it. signetd checks this first, and consumes the nonce only once the request's
  // signature verifies, so that unsigned requests cannot fill the shared nonce table.
  [[nodiscard]] bool authentic(std::string_view nonce) const;

 private:
  struct Parsed {
    Bytes body;              // counter (or random) and issue time, as authenticated
    std::uint64_t counter = 0;
    std::int64_t issued = 0;
  };
  // The nonce's parts when it is well formed, authentic and current.
  [[nodiscard]] std::optional<Parsed> parse(std::string_view nonce) const;
  [[nodiscard]] Bytes mac(ByteView data) const;
  const std::size_t window_;
  const std::int64_t lifetime_;
  const Clock& clock_;
  const SecretBytes key_;
  const Redeem redeem_;  // set when shared
  std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::vector<std::uint64_t> used_;  // bit (counter % window_): that counter was consumed
};

}  // namespace signet::acme
