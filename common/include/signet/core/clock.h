// Injected time, so that validity checks, expiry warnings and timestamps are testable.
//
// Thread-safety: now() must be safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace signet {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
  [[nodiscard]] std::int64_t unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now(); }
  [[nodiscard]] static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(TimePoint t) : t_(t) {}
  [[nodiscard]] TimePoint now() const override { return t_; }

 private:
  TimePoint t_;
};

}  // namespace signet
