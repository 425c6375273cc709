// After each answered request: one info log line (never the query, body or credentials) and the
// request metrics (signet_http_requests_total, signet_http_request_duration_seconds).
// Thread-safety: callable from any thread (Metrics and spdlog are thread-safe).
#pragma once

#include <cstddef>
#include <string_view>

#include "http.h"
#include "metrics.h"

namespace signet::daemon {

struct ExchangeRecord {
  std::string_view request_id;
  Listener listener = Listener::Http;
  std::string_view remote;
  std::string_view method;  // "HEAD" for HEAD, "-" when no request line was read
  std::string_view target;  // as sent ("" when none); only its path is logged
  std::string_view route;   // the pattern that matched ("" when none)
  int status = 0;
  std::size_t body_bytes = 0;  // body bytes sent
  double seconds = 0;
  std::string_view write_error;  // "" when the answer was written
  std::string_view note;         // the handler's log_note
};

void record_exchange(Metrics& metrics, const ExchangeRecord& record);

// "https" or "http", the listener label of metrics and log lines.
[[nodiscard]] std::string_view listener_name(Listener listener);

}  // namespace signet::daemon
