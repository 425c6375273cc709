#include "response.h"

#include <array>
#include <cctype>
#include <ctime>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

namespace signet::daemon {
namespace {

namespace http = boost::beast::http;

// The Date header value, formatted once a second per thread.
std::string_view http_date_now() {
  thread_local std::time_t last = 0;
  thread_local std::array<char, 64> buf{};
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != last) {
    std::tm t{};
    ::gmtime_r(&now, &t);
    len = std::strftime(buf.data(), buf.size(), "%a, %d %b %Y %H:%M:%S GMT", &t);
    last = now;
  }
  return {buf.data(), len};
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool header_safe(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

}  // namespace

BeastResponse make_response(HttpResponse& response, const ResponseContext& context) {
  if (response.status < 100 || response.status > 999) response.status = 500;
  BeastResponse m;
  m.version(11);
  m.result(static_cast<unsigned>(response.status));
  const std::string_view reason = http::obsolete_reason(m.result());
  if (reason.empty() || reason.front() == '<') m.reason("Status");  // Beast names unknown codes "<unknown-status>"
  m.set(http::field::date, http_date_now());
  m.set("X-Request-Id", context.request_id);
  m.set("X-Content-Type-Options", "nosniff");
  const bool bodyless = bodyless_status(response.status);
  if (!bodyless) {
    m.set(http::field::content_type, response.content_type.empty() || !header_safe(response.content_type)
                                         ? std::string_view("application/octet-stream")
                                         : std::string_view(response.content_type));
    m.body() = std::move(response.body);
    m.content_length(m.body().size());
  }
  bool cache_control = false;
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || !header_safe(name) || !header_safe(value) || iequals(name, "content-length") ||
        iequals(name, "transfer-encoding") || iequals(name, "connection")) {
      continue;  // the server owns framing; CR/LF would split the response
    }
    cache_control = cache_control || iequals(name, "cache-control");
    m.insert(name, value);
  }
  if (!cache_control) m.set(http::field::cache_control, "no-store");
  if (!context.keep_alive) {
    m.set(http::field::connection, "close");
  } else if (context.http10) {
    m.set(http::field::connection, "keep-alive");
  }
  return m;
}

}  // namespace signet::daemon
