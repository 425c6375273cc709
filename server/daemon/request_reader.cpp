#include "request_reader.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/error.hpp>

#include "http_util.h"

namespace signet::daemon {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The codings of a Transfer-Encoding value, lowercase and without parameters; empty list elements
// are skipped (RFC 9110 §5.6.1).
void append_codings(std::string_view value, std::vector<std::string>& out) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    item = trim(item.substr(0, item.find(';')));
    if (!item.empty()) out.push_back(lowercase(item));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// RFC 9110 §7.2: Host = uri-host [ ":" port ], where uri-host is a registered name (letters,
// digits, "-._~", and the rest of RFC 3986's unreserved and sub-delims) or a bracketed IPv6
// literal. Percent-encoding and the rarer sub-delims are not names anyone's DNS answers for, so
// they are refused too.
bool valid_host(std::string_view value) {
  std::string_view host = value;
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    const std::string_view literal = host.substr(1, close - 1);
    if (!std::all_of(literal.begin(), literal.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; })) {
      return false;
    }
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return false;
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") return false;
  } else {
    const auto colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) return false;
    }
    if (host.empty() || host.size() > 255) return false;
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
        })) {
      return false;
    }
  }
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  return port.empty() || std::stoul(std::string(port)) <= 65535;
}

// Whether the header in `data` (up to its blank line) has a line folded onto the previous one
// (obs-fold: CRLF followed by a space or tab). std::nullopt while the header is incomplete.
std::optional<bool> header_is_folded(std::string_view data) {
  const auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view header = data.substr(0, end + 2);
  for (auto at = header.find("\r\n"); at != std::string_view::npos; at = header.find("\r\n", at + 2)) {
    if (at + 2 < header.size() && (header[at + 2] == ' ' || header[at + 2] == '\t')) return true;
  }
  return false;
}

bool has_bare_lf(boost::asio::const_buffer data) {
  const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
  for (auto at = bytes.find('\n'); at != std::string_view::npos; at = bytes.find('\n', at + 1)) {
    if (at == 0 || bytes[at - 1] != '\r') return true;
  }
  return false;
}

}  // namespace

RequestReader::RequestReader(std::uint64_t max_body_bytes) : max_body_bytes_(max_body_bytes) { next(); }

void RequestReader::next() {
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(max_body_bytes_);
  // The header alone first: its framing is checked before a byte of the body is parsed.
  parser_->eager(false);
  header_reported_ = false;
}

RequestReader::Event RequestReader::parse() {
  for (;;) {
    if (parser_->is_header_done() && !header_reported_) {
      header_reported_ = true;
      if (auto refusal = check_framing()) return refuse(std::move(*refusal));
      parser_->eager(true);
      if (!parser_->is_done()) return Event::Header;
    }
    if (parser_->is_done()) return Event::Request;
    if (buffer_.size() == 0) return Event::NeedMore;
    if (!parser_->is_header_done()) {
      // RFC 9112 §5.2: a server either refuses obs-fold with 400 or unfolds it; unfolded, a header
      // may read differently to a proxy in front of us than to us, so it is refused.
      const auto data = buffer_.data();
      const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
      if (header_is_folded(bytes.substr(0, kHeaderLimit + 4)).value_or(false)) {
        return refuse(Refusal{400, "header-folded",
                              "a header line of the request begins with a space or tab (obs-fold, RFC 9112 "
                              "section 5.2); send each field on one line",
                              "bad_request"});
      }
    }
    beast::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      if (used > 0) continue;
      // Beast waits for a whole chunk header (size and extensions) or trailer before it consumes
      // any of it, so without this bound "3;" and endless bytes grow the buffer without limit.
      if (parser_->is_header_done() && buffer_.size() > kPendingLimit) {
        return refuse(Refusal{400, "chunk-header-too-long",
                              "a chunk header or trailer of the request is longer than " +
                                  std::to_string(kPendingLimit) + " bytes; send chunk extensions of sane size",
                              "bad_request"});
      }
      // What waits is a chunk line or the trailer, never chunk data (Beast takes data as it comes):
      // a line ended by a bare LF would make Beast wait for a CRLF that never comes.
      if (parser_->is_header_done() && has_bare_lf(buffer_.data())) {
        return refuse(Refusal{400, "chunk-line-invalid",
                              "a chunk line of the request ends with a bare LF; chunk lines end with CRLF (RFC "
                              "9112 section 7.1)",
                              "bad_request"});
      }
      return Event::NeedMore;
    }
    if (ec) return refuse(ec);
  }
}

std::optional<Refusal> RequestReader::check_framing() const {
  const auto& msg = parser_->get();
  std::size_t hosts = 0;
  std::size_t lengths = 0;
  std::size_t encodings = 0;
  std::vector<std::string> codings;
  for (const auto& field : msg) {
    switch (field.name()) {
      case http::field::host: ++hosts; break;
      case http::field::content_length: ++lengths; break;
      case http::field::transfer_encoding:
        ++encodings;
        append_codings(field.value(), codings);
        break;
      default: break;
    }
  }
  // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host; two hosts could route differently
  // in a proxy in front of us.
  if (msg.version() >= 11 ? hosts != 1 : hosts > 1) {
    return Refusal{400, "host-invalid",
                   hosts == 0 ? "an HTTP/1.1 request needs a Host header" : "the request has more than one Host header",
                   "bad_request"};
  }
  if (hosts == 1 && !valid_host(msg[http::field::host])) {
    return Refusal{400, "host-invalid",
                   "the request's Host header is not a host name or [IPv6] literal with an optional :port (RFC 9110 "
                   "section 7.2)",
                   "bad_request"};
  }
  if (encodings > 0) {
    // RFC 9112 §6.1, §6.3: a request whose length is told twice, or not by a final chunked, has no
    // length we can trust; what follows it must not be read as another request.
    if (lengths > 0) {
      return Refusal{400, "framing-invalid",
                     "the request has both Transfer-Encoding and Content-Length; send only one of them",
                     "bad_request"};
    }
    const auto chunked = std::count(codings.begin(), codings.end(), "chunked");
    if (msg.version() < 11 || codings.empty() || codings.back() != "chunked" || chunked != 1) {
      return Refusal{400, "transfer-encoding-invalid",
                     "the request's Transfer-Encoding must end with chunked (once), in HTTP/1.1; its length "
                     "cannot be known otherwise",
                     "bad_request"};
    }
    if (codings.size() > 1) {
      return Refusal{501, "transfer-encoding-unsupported",
                     "only the chunked transfer coding is supported; send the body without " + codings.front(),
                     "bad_request"};
    }
  }
  if (lengths > 1) {
    return Refusal{400, "framing-invalid", "the request has more than one Content-Length", "bad_request"};
  }
  return std::nullopt;
}

RequestReader::Event RequestReader::refuse(Refusal r) {
  refusal_ = std::move(r);
  return Event::Refused;
}

RequestReader::Event RequestReader::refuse(const beast::error_code& ec) {
  if (ec == http::error::body_limit) {
    return refuse(Refusal{413, "body-too-large",
                          "the request body is larger than " + std::to_string(max_body_bytes_) + " bytes",
                          "body_too_large"});
  }
  if (ec == http::error::header_limit) {
    return refuse(Refusal{431, "header-too-large", "the request header is larger than 8 KiB", "header_too_large"});
  }
  return refuse(Refusal{400, "malformed-request", "the request is not valid HTTP/1.1 (" + ec.message() + ")",
                        "bad_request"});
}

std::optional<Refusal> to_http_request(http::request<http::string_body>& msg, HttpRequest& out, bool& head) {
  out.method.assign(msg.method_string());
  out.target.assign(msg.target());
  out.headers.clear();
  for (const auto& field : msg) {
    auto [it, inserted] = out.headers.try_emplace(lowercase(field.name_string()), field.value());
    if (!inserted) {
      it->second += ", ";
      it->second.append(field.value());
    }
  }
  out.body = std::move(msg.body());
  out.params.clear();
  head = out.method == "HEAD";
  out.head = head;
  if (head) out.method = "GET";

  const std::string_view target = out.target;
  if (target.empty() || target.front() != '/') {
    return Refusal{400, "malformed-request", "the request target must be a path starting with '/'", "bad_request"};
  }
  const std::string_view path = detail::path_of(target);
  auto decoded = detail::percent_decode(path);
  if (!decoded) return Refusal{400, "malformed-request", "the request path has an invalid %-escape", "bad_request"};
  out.path = std::move(*decoded);
  out.query.assign(path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view());
  return std::nullopt;
}

}  // namespace signet::daemon
