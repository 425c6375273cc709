// The message signetd sends for a handler's HttpResponse, as a Beast response that Beast's own
// serializer writes: status line, Date, X-Request-Id, X-Content-Type-Options, Content-Type and
// Content-Length (not for 1xx, 204 and 304), the handler's extra headers (never framing ones, never
// with CR or LF, which would split the response), Cache-Control: no-store unless the handler chose
// one, and Connection.
//
// Thread-safety: pure functions (the Date value is cached per thread).
#pragma once

#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http.h"

namespace signet::daemon {

struct ResponseContext {
  std::string_view request_id;
  bool keep_alive = true;
  bool http10 = false;  // the request was HTTP/1.0: keep-alive must be said
};

using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Moves the body of `response` into the message.
[[nodiscard]] BeastResponse make_response(HttpResponse& response, const ResponseContext& context);

// Whether a response with this status has no body (1xx, 204, 304).
[[nodiscard]] constexpr bool bodyless_status(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace signet::daemon
