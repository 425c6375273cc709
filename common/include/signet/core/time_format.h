// UTC time as text, in one place: RFC 3339 for JSON and manifests, short forms for messages.
// Thread-safety: reentrant (gmtime_r).
#pragma once

#include <cstdint>
#include <string>

#include "signet/core/clock.h"

namespace signet {

// strftime of `unix_seconds` in UTC with `format`.
[[nodiscard]] std::string format_utc(std::int64_t unix_seconds, const char* format);
[[nodiscard]] std::string format_utc(TimePoint t, const char* format);

// 2026-11-22T02:30:00Z
[[nodiscard]] inline std::string rfc3339(std::int64_t unix_seconds) {
  return format_utc(unix_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

}  // namespace signet
