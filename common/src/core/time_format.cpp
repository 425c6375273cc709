#include "signet/core/time_format.h"

#include <ctime>

namespace signet {

std::string format_utc(std::int64_t unix_seconds, const char* format) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string format_utc(TimePoint t, const char* format) {
  return format_utc(static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(t)), format);
}

}  // namespace signet
