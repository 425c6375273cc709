// RequestReader: turns the bytes of one connection into requests, without a socket. It owns the
// read buffer and Beast's request parser, and applies signetd's limits and framing rules on top:
// the header limit (8 KiB, 431), max_body_bytes (413), a bound on what may wait unparsed in the
// body (a chunk header or trailer that never ends, 400), and RFC 9112's framing rules (a
// Transfer-Encoding must end in chunked and comes without Content-Length; HTTP/1.1 has exactly one
// Host, of RFC 9110 syntax; no header line is folded), so that no byte after a doubtful request is
// ever read as another request. After a refusal the connection must be closed.
//
// The connection reads into prepare()/commit() and calls parse(); the fuzz target does the same
// from a byte buffer.
//
// Thread-safety: one owner (the connection's strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http.h"

namespace signet::daemon {

// Why a request cannot be served: the answer to send, and the label counted in
// signet_http_errors_total{kind}.
struct Refusal {
  int status = 400;
  std::string code;
  std::string message;
  std::string_view metric_kind = "bad_request";
};

class RequestReader {
 public:
  static constexpr std::uint32_t kHeaderLimit = 8 * 1024;
  // A chunk header (size and extensions) or the trailer may not wait unparsed beyond this.
  static constexpr std::size_t kPendingLimit = 8 * 1024;
  static constexpr std::size_t kReadSize = 16 * 1024;

  enum class Event {
    NeedMore,  // read more bytes (prepare/commit), then parse() again
    Header,    // a request's header arrived and passed the checks, its body has not: time for 100-continue
    Request,   // a whole request: request()
    Refused,   // refusal() says why; close the connection after answering
  };

  explicit RequestReader(std::uint64_t max_body_bytes);

  [[nodiscard]] boost::asio::mutable_buffer prepare() { return buffer_.prepare(kReadSize); }
  void commit(std::size_t n) { buffer_.commit(n); }
  // Bytes read but not parsed yet (a pipelined request).
  [[nodiscard]] bool buffered() const { return buffer_.size() > 0; }

  // Parses what was read. Header is returned once per request (only when a body follows).
  [[nodiscard]] Event parse();
  // The header has been parsed (meaningful after Header or Request, and on a refusal).
  [[nodiscard]] bool header_done() const { return parser_->is_header_done(); }
  [[nodiscard]] boost::beast::http::request<boost::beast::http::string_body>& request() { return parser_->get(); }
  [[nodiscard]] const Refusal& refusal() const { return refusal_; }

  // Starts on the next request; bytes already read stay (pipelining).
  void next();

 private:
  Event refuse(Refusal r);
  Event refuse(const boost::beast::error_code& ec);
  [[nodiscard]] std::optional<Refusal> check_framing() const;

  std::uint64_t max_body_bytes_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool header_reported_ = false;
  Refusal refusal_;
};

// Fills `out` (method, target, path, query, headers, body; request_id, listener, remote and the
// client certificate are the caller's) from a parsed request. HEAD becomes GET (`head` tells).
// Returns the refusal for a target that is not a path or has a bad %-escape.
[[nodiscard]] std::optional<Refusal> to_http_request(boost::beast::http::request<boost::beast::http::string_body>& msg,
                                                     HttpRequest& out, bool& head);

}  // namespace signet::daemon
