#include "access_log.h"

#include <array>
#include <charconv>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http_util.h"

namespace signet::daemon {
namespace {

// The method as a metrics label: a fixed set, so that a client cannot grow the label space.
std::string_view method_label(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (m == known) return known;
  }
  return "OTHER";
}

}  // namespace

std::string_view listener_name(Listener listener) { return listener == Listener::Https ? "https" : "http"; }

void record_exchange(Metrics& metrics, const ExchangeRecord& r) {
  const std::string_view l = listener_name(r.listener);
  const std::string_view route = r.route.empty() ? std::string_view("unmatched") : r.route;
  std::array<char, 8> code{};
  const auto end = std::to_chars(code.data(), code.data() + code.size(), r.status).ptr;
  metrics.increment("signet_http_requests_total", {{"listener", l},
                                                   {"route", route},
                                                   {"method", method_label(r.method)},
                                                   {"code", std::string_view(code.data(), end)}});
  metrics.observe("signet_http_request_duration_seconds", {{"listener", l}, {"route", route}}, r.seconds);

  spdlog::logger* log = spdlog::default_logger_raw();
  if (!log->should_log(spdlog::level::info)) return;
  fmt::memory_buffer line;
  const std::string_view path = r.target.empty() ? std::string_view("-") : detail::path_of(r.target);
  fmt::format_to(std::back_inserter(line), "{} {} {} {} {} {} {}B {:.1f}ms", r.request_id, l, r.remote, r.method, path,
                 r.status, r.body_bytes, r.seconds * 1000.0);
  if (!r.write_error.empty()) fmt::format_to(std::back_inserter(line), " write-failed:{}", r.write_error);
  if (!r.note.empty()) {
    line.push_back(' ');
    for (char c : r.note) line.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  log->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace signet::daemon
