#include "signet/acme/nonces.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "signet/acme/jws.h"

namespace signet::acme {
namespace {

using namespace std::chrono_literals;

// A clock the test moves.
class SteppedClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return TimePoint(std::chrono::seconds(seconds.load())); }
  std::atomic<std::int64_t> seconds{1'800'000'000};
};

TEST(NonceStore, ANonceIsGoodOnceAndOnlyIfItWasIssued) {
  NonceStore nonces;
  const std::string n = nonces.issue();
  EXPECT_EQ(n.size(), 32u);
  EXPECT_TRUE(base64url_decode(n).has_value());
  EXPECT_TRUE(nonces.consume(n));
  EXPECT_FALSE(nonces.consume(n)) << "a nonce was accepted twice";
  EXPECT_FALSE(nonces.consume(""));
  EXPECT_FALSE(nonces.consume("not base64url!"));
  EXPECT_FALSE(nonces.consume(base64url_encode(as_bytes(std::string(24, 'x')))));
}

TEST(NonceStore, AnotherServersOrAnAlteredNonceIsRefused) {
  NonceStore a, b;
  const std::string n = a.issue();
  EXPECT_FALSE(b.consume(n)) << "a nonce from another key (another signetd, or before a restart) was accepted";
  Bytes raw = *base64url_decode(n);
  raw[3] ^= 1;  // another counter, same tag
  EXPECT_FALSE(a.consume(base64url_encode(raw)));
  EXPECT_TRUE(a.consume(n));
}

TEST(NonceStore, NoncesExpireAfterTheirLifetime) {
  SteppedClock clock;
  NonceStore nonces(1024, 1h, clock);
  const std::string old = nonces.issue();
  const std::string fresh = nonces.issue();
  clock.seconds += 3600;
  EXPECT_TRUE(nonces.consume(fresh)) << "a nonce exactly an hour old is still good";
  clock.seconds += 1;
  EXPECT_FALSE(nonces.consume(old));
}

TEST(NonceStore, OnlyTheLastWindowOfNoncesIsRemembered) {
  NonceStore nonces(64);
  const std::string first = nonces.issue();
  std::vector<std::string> later;
  for (int i = 0; i < 64; ++i) later.push_back(nonces.issue());
  // `first` fell out of the window: refused, since its slot now belongs to a newer nonce.
  EXPECT_FALSE(nonces.consume(first));
  for (const std::string& n : later) EXPECT_TRUE(nonces.consume(n));
  for (const std::string& n : later) EXPECT_FALSE(nonces.consume(n));
}

TEST(NonceStore, ConcurrentClientsEachUseTheirNoncesExactlyOnce) {
  NonceStore nonces;
  std::vector<std::string> issued;
  for (int i = 0; i < 4000; ++i) issued.push_back(nonces.issue());
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  // Four threads try every nonce: each must be accepted exactly once overall.
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (const std::string& n : issued) accepted += nonces.consume(n) ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 4000);
}

}  // namespace
}  // namespace signet::acme
