// Internal to ACME validation (acme_validation.h): the parsers of what a validation target sends,
// apart from the connections, so that tests/fuzz/acme_validation_fuzz.cpp can drive them with a
// fake Stream. acme_validation.cpp is their only other user.
//
//   http-01      ResponseReader reads one HTTP/1.1 response (status line, headers, a body framed by
//                Content-Length, chunked or the end of the connection, at most kMaxHttp01Body
//                bytes of it); follow() resolves a redirect's Location against the current Url
//                and refuses what RFC 8555 section 10.2 does not allow.
//   tls-alpn-01  check_certificate() judges the certificate the target presented (RFC 8737).
//
// None of them throws for what a target sends (only std::bad_alloc can escape); a refusal is a
// ValidationOutcome naming the ACME error type and a detail, as acme_validation.h describes.
//
// Thread-safety: the functions are reentrant; a ResponseReader has one owner.
#pragma once

#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acme_validation.h"
#include "acme_validation_resolver.h"
#include "acme_validation_transport.h"
#include "signet/core/bytes.h"
#include "signet/core/cidr.h"

namespace signet::daemon::acme {

// The most of an http-01 body read, and of a response's header block.
inline constexpr std::size_t kMaxHttp01Body = 8192;
inline constexpr std::size_t kMaxHttp01Headers = 16384;

// ---- shared with acme_validation.cpp ----

// A failed outcome (valid = false).
[[nodiscard]] ValidationOutcome validation_failure(std::string type, std::string detail, std::string address = {});

// What a server sent, for a detail: at most `max` characters, control bytes and quotes escaped.
[[nodiscard]] std::string printable(std::string_view text, std::size_t max = 64);

[[nodiscard]] std::string lower_ascii(std::string_view s);

// SHA-256 of the key authorization (dns-01's TXT value before base64url, tls-alpn-01's
// acmeIdentifier).
[[nodiscard]] Bytes key_authorization_digest(const std::string& key_authorization);

// "before the validation's time limit of N ms ran out"
[[nodiscard]] std::string time_limit(const ValidationSettings& settings);

// A failed read or write, for a detail.
[[nodiscard]] std::string io_failure_text(const IoResult& r, const ValidationSettings& settings);

// ---- http-01 ----

struct Url {
  bool https = false;
  std::string host;             // a DNS name, or the text of `ip`
  std::optional<IpAddress> ip;  // when the host is an address
  std::uint16_t port = 80;
  std::string path = "/";  // with any query
};

// "host", "host:port", "[v6]" or "[v6]:port" (the port when it is not the scheme's default).
[[nodiscard]] std::string authority(const Url& url);
[[nodiscard]] std::string url_text(const Url& url);

struct Http01Response {
  int status = 0;
  std::string location;  // the Location header's value, "" when there is none
  std::string body;      // a 200's body only (at most kMaxHttp01Body bytes)
};

// Reads one response from `stream` per its framing; `where` (the URL) and `address` name the
// target in a detail. The request has been written already.
class ResponseReader {
 public:
  ResponseReader(Stream& stream, const ValidationSettings& settings, ValidationClock::time_point deadline,
                 std::string where, std::string address);

  // nullopt when a response was read into `response` (whatever its status); else why not, as
  // "incorrectResponse" (malformed, too large) or "connection" (closed early, timeout, failure).
  [[nodiscard]] std::optional<ValidationOutcome> read(Http01Response& response);

 private:
  std::optional<ValidationOutcome> incorrect(const std::string& why) const;
  std::optional<ValidationOutcome> too_large() const;
  std::optional<ValidationOutcome> more(const std::string& at_eof, std::size_t max = 4096);
  std::optional<ValidationOutcome> read_to_close(std::string& body);
  std::optional<ValidationOutcome> read_chunked(std::string& body);

  Stream& stream_;
  const ValidationSettings& settings_;
  ValidationClock::time_point deadline_;
  std::string where_;
  std::string address_;
  std::string buffer_;  // read and not yet consumed (after the headers: the start of the body)
};

[[nodiscard]] bool is_redirect(int status);

// The URL a Location header leads to from `current`, or nullopt and why it is not followed (in
// `why`). A URL returned is http on settings.http01_port or https on settings.tlsalpn01_port, its
// host a valid name or address, its path free of spaces, control characters and fragment.
[[nodiscard]] std::optional<Url> follow(const Url& current, std::string_view location,
                                        const ValidationSettings& settings, std::string& why);

// ---- tls-alpn-01 ----

// The certificate's verdict for tls-alpn-01: nullopt when it proves control of `id` (whose
// address is `ip` for an IP identifier), else "tls" or "incorrectResponse" with a detail naming
// `where` and `address`. `cert` may be null (the server sent none).
[[nodiscard]] std::optional<ValidationOutcome> check_certificate(X509* cert, const Identifier& id,
                                                                 const std::optional<IpAddress>& ip,
                                                                 const std::string& key_authorization,
                                                                 const std::string& where, const std::string& address);

}  // namespace signet::daemon::acme
