// Router, Responder and the small value types of http.h.
#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http.h"
#include "http_util.h"

namespace signet::daemon {
namespace {

constexpr std::size_t kMaxSegments = 32;

// Splits "/a/b/c" into {"a", "b", "c"}; "/" is one empty segment. Returns the count. A path of
// more segments has the rest, slashes included, in the last one and sets `overflow`: only a
// "{name*}" route can match it (an OCSP GET's base64 may hold any number of '/').
std::size_t split(std::string_view path, std::array<std::string_view, kMaxSegments>& out, bool& overflow) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::size_t n = 0;
  overflow = false;
  while (true) {
    if (n == kMaxSegments - 1 && path.find('/') != std::string_view::npos) {
      overflow = true;
      out[n++] = path;
      break;
    }
    const auto slash = path.find('/');
    out[n++] = path.substr(0, slash);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return n;
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// "{name*}": the rest of the path, slashes included.
bool is_rest(std::string_view segment) { return is_param(segment) && segment[segment.size() - 2] == '*'; }

}  // namespace

namespace detail {

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  // Copies the runs between escapes whole: paths are mostly plain (an OCSP GET is a long base64).
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t escape = std::min(text.find('%', i), text.size());
    out.append(text.substr(i, escape - i));
    if (escape == text.size()) break;
    if (escape + 2 >= text.size()) return std::nullopt;
    const int hi = hex_digit_value(text[escape + 1]);
    const int lo = hex_digit_value(text[escape + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i = escape + 3;
  }
  return out;
}

}  // namespace detail

std::string HttpRequest::header(std::string_view lowercase_name) const {
  const auto it = headers.find(std::string(lowercase_name));
  return it == headers.end() ? std::string() : it->second;
}

void Responder::Sink::abandoned() {
  send(json_error(500, "internal-error", "the server did not answer this request", ""));
}

Responder::~Responder() {
  if (!sink_) return;
  try {
    std::shared_ptr<Sink> sink = std::move(sink_);
    sink->abandoned();
  } catch (const std::exception& e) {
    spdlog::error("answering an abandoned request failed: {}", e.what());
  }
}

void Responder::operator()(HttpResponse response) {
  if (!sink_) {
    spdlog::error("a request was answered twice (status {}); the second answer is dropped", response.status);
    return;
  }
  std::shared_ptr<Sink> sink = std::move(sink_);
  sink->send(std::move(response));
}

void Router::add(std::string method, std::string pattern, std::vector<Listener> listeners, Handler handler) {
  Route r;
  r.method = std::move(method);
  std::array<std::string_view, kMaxSegments> parts{};
  bool overflow = false;
  const std::size_t n = split(pattern, parts, overflow);
  if (pattern.empty() || pattern.front() != '/' || overflow) {
    throw std::invalid_argument("route pattern must start with '/' and have at most 31 segments: " + pattern);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (is_rest(parts[i]) && i + 1 != n) {
      throw std::invalid_argument("a {name*} segment must be the last one: " + pattern);
    }
    r.segments.emplace_back(parts[i]);
  }
  r.pattern = std::move(pattern);
  r.listeners = std::move(listeners);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

Router::Match Router::match(HttpRequest& req) const {
  Match m;
  // Match on the raw path split at '/', decoding each segment, so that an encoded "%2F" stays
  // inside its segment. A request built without a target (tests) uses its decoded path.
  const bool raw = !req.target.empty();
  std::array<std::string_view, kMaxSegments> segments{};
  bool overflow = false;
  const std::size_t n = split(raw ? detail::path_of(req.target) : std::string_view(req.path), segments, overflow);
  std::array<std::string, kMaxSegments> decoded;
  bool bad = false;
  for (std::size_t i = 0; !bad && i < n; ++i) {
    if (raw && segments[i].find('%') != std::string_view::npos) {
      auto d = detail::percent_decode(segments[i]);
      if (!d) {
        bad = true;
        break;
      }
      decoded[i] = std::move(*d);
      segments[i] = decoded[i];
    }
  }

  std::string allow;
  const Route* found = nullptr;
  for (const Route& r : routes_) {
    const bool rest = !r.segments.empty() && is_rest(r.segments.back());
    if (bad || (rest ? n < r.segments.size() : overflow || r.segments.size() != n)) continue;
    bool on_listener = false;
    for (Listener l : r.listeners) on_listener = on_listener || l == req.listener;
    if (!on_listener) continue;
    bool same = true;
    for (std::size_t i = 0; same && i < r.segments.size(); ++i) {
      same = is_param(r.segments[i]) ? !segments[i].empty() : r.segments[i] == segments[i];
    }
    if (!same) continue;
    if (r.method == req.method) {
      found = &r;
      break;
    }
    if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.method;
    if (r.method == "GET" && allow.find("HEAD") == std::string::npos) allow += ", HEAD";
  }
  if (found != nullptr) {
    req.params.clear();
    for (std::size_t i = 0; i < found->segments.size(); ++i) {
      const std::string& s = found->segments[i];
      if (is_rest(s)) {
        std::string value(segments[i]);
        for (std::size_t j = i + 1; j < n; ++j) (value += '/') += segments[j];
        req.params.emplace(s.substr(1, s.size() - 3), std::move(value));
      } else if (is_param(s)) {
        req.params.emplace(s.substr(1, s.size() - 2), std::string(segments[i]));
      }
    }
    m.handler = &found->handler;
    m.route = found->pattern;
    return m;
  }
  if (!allow.empty()) {
    HttpResponse r = json_error(405, "method-not-allowed",
                                req.method + " is not allowed here; allowed: " + allow, req.request_id);
    r.headers.emplace_back("Allow", allow);
    m.error = std::move(r);
    return m;
  }
  m.error = json_error(404, "not-found", "there is nothing at this address", req.request_id);
  return m;
}

HttpResponse json_error(int status, std::string_view code, std::string_view message, std::string_view request_id) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}, {"request_id", request_id}}}};
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  // Replace, not throw, on invalid UTF-8: a message may quote what a client sent.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace signet::daemon
