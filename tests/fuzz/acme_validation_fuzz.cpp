// libFuzzer target: what an ACME validation target sends signetd (server/daemon/
// acme_validation_http.h). The first byte picks the mode (its value modulo 3) and, with the rest
// of its value, the settings' ports and the URL the response answers:
//
//   0  http-01 response: bytes 1 and 2 are the sizes of alternate reads (0: as much as the reader
//      asks for), the rest is what the server sends, then the connection ends (closed, timed out
//      or failed, per the first byte) as a fake Stream delivers it to a ResponseReader. A
//      redirect's Location goes on to follow().
//   1  tls-alpn-01 certificate: byte 1 picks the identifier (a DNS name, an IPv4 or an IPv6
//      address), the rest is the DER certificate given to check_certificate().
//   2  Location: the rest is a Location header's value, given to follow() in a buffer of exactly
//      its size (so that a read past its end is an ASan report).
//
// Checks: no crash, sanitizer report or exception (none is documented; only std::bad_alloc could
// escape); a refusal is an outcome of the documented error types naming the address; a response
// read has a 3-digit status and a body of at most kMaxHttp01Body bytes, only for a 200; the
// outcome does not depend on how the bytes were split into reads; a URL follow() returns is http
// on the http-01 port or https on the tls-alpn-01 port, with a valid host and a path that starts
// with "/" and holds no space, control character or fragment, and its text leads back to itself;
// a relative redirect keeps the scheme, host and port; a certificate accepted carries the
// expected acmeIdentifier.
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "acme_validation_http.h"
#include "fuzz_support.h"
#include "signet/crypto/handles.h"

namespace {

namespace acme = signet::daemon::acme;
using acme::IoResult;
using acme::ValidationClock;

constexpr std::string_view kAddress = "192.0.2.7";
constexpr std::string_view kKeyAuthorization =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

[[noreturn]] void escaped(std::string_view what) {
  std::string text = "unknown";
  try {
    throw;
  } catch (const std::exception& e) {
    text = e.what();
  } catch (...) {
  }
  signet::fuzz::fail(__FILE__, __LINE__, "no exception escapes", std::string(what) + " threw: " + text);
}

acme::ValidationSettings settings_for(unsigned variant) {
  acme::ValidationSettings s;
  if ((variant & 1U) != 0) {  // pebble's ports
    s.http01_port = 5002;
    s.tlsalpn01_port = 5001;
  }
  return s;
}

// The URL whose response is read: always one validation could be fetching.
acme::Url current_url(unsigned variant, const acme::ValidationSettings& settings) {
  acme::Url url;
  url.port = settings.http01_port;
  url.path = "/.well-known/acme-challenge/evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
  switch ((variant >> 1) % 4) {
    case 0: url.host = "x.example.com"; break;
    case 1:
      url.ip = signet::IpAddress::parse("192.0.2.1");
      url.host = url.ip->to_string();
      break;
    case 2:
      url.https = true;
      url.port = settings.tlsalpn01_port;
      url.host = "www.example.com";
      url.path = "/a/b/c?x=1";
      break;
    default:
      url.ip = signet::IpAddress::parse("2001:db8::1");
      url.host = url.ip->to_string();
      url.path = "/";
  }
  return url;
}

bool same(const acme::Url& a, const acme::Url& b) {
  return a.https == b.https && a.host == b.host && a.port == b.port && a.path == b.path &&
         a.ip.has_value() == b.ip.has_value() && (!a.ip || a.ip->to_string() == b.ip->to_string());
}

void check_url(const acme::Url& url, const acme::ValidationSettings& settings) {
  FUZZ_CHECK(url.port == (url.https ? settings.tlsalpn01_port : settings.http01_port),
             "followed to " + acme::url_text(url) + ", a port validation does not use for its scheme");
  FUZZ_CHECK(!url.host.empty(), "followed to an empty host");
  if (url.ip) {
    FUZZ_CHECK(url.host == url.ip->to_string(), "the host " + url.host + " is not its address's text");
  } else {
    FUZZ_CHECK(
        std::all_of(url.host.begin(), url.host.end(),
                    [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'; }),
        "followed to the host \"" + acme::printable(url.host) + "\"");
  }
  FUZZ_CHECK(!url.path.empty() && url.path.front() == '/',
             "followed to the path \"" + acme::printable(url.path) + "\", not absolute");
  FUZZ_CHECK(std::none_of(url.path.begin(), url.path.end(),
                          [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#'; }),
             "followed to the path \"" + acme::printable(url.path) + "\" (space, control character or fragment)");
}

// follow() from `current` to `location`, and what must hold of its answer.
void check_follow(const acme::Url& current, std::string_view location, const acme::ValidationSettings& settings) {
  std::string why;
  std::optional<acme::Url> next;
  try {
    next = acme::follow(current, location, settings, why);
  } catch (...) {
    escaped("follow()");
  }
  if (!next) {
    FUZZ_CHECK(!why.empty(), "a redirect refused without a reason");
    return;
  }
  check_url(*next, settings);
  const std::string_view trimmed = location.substr(std::min(location.find_first_not_of(" \t\r\n"), location.size()));
  const bool absolute = trimmed.substr(0, 2) == "//" || trimmed.find("://") < trimmed.find_first_of("/?#");
  if (!trimmed.empty() && trimmed.front() == '#') {
    FUZZ_CHECK(same(*next, current), "the fragment \"" + acme::printable(location) + "\" leads to another URL");
  }
  if (!absolute) {
    FUZZ_CHECK(next->https == current.https && next->host == current.host && next->port == current.port,
               "the relative redirect \"" + acme::printable(location) + "\" left " + acme::url_text(current) + " for " +
                   acme::url_text(*next));
  }
  // Its text, followed from anywhere, is the same URL.
  const std::string text = acme::url_text(*next);
  acme::Url elsewhere;
  elsewhere.port = settings.http01_port;
  elsewhere.host = "elsewhere.example";
  std::string why_again;
  std::optional<acme::Url> again;
  try {
    again = acme::follow(elsewhere, text, settings, why_again);
  } catch (...) {
    escaped("follow() of a URL it made");
  }
  FUZZ_CHECK(again.has_value(), "follow() refuses its own result \"" + acme::printable(text, 300) + "\": " + why_again);
  FUZZ_CHECK(same(*again, *next), "\"" + acme::printable(text, 300) + "\" leads to " + acme::url_text(*again));
}

// The server's bytes, in reads of the given sizes, then the end of the connection.
class FakeStream final : public acme::Stream {
 public:
  FakeStream(std::string_view data, std::array<std::size_t, 2> steps, IoResult::Kind end)
      : data_(data), steps_(steps), end_(end) {}

  IoResult write_all(std::string_view data, ValidationClock::time_point) override {
    IoResult r;
    r.bytes = data.size();
    return r;
  }

  IoResult read_some(std::string& out, std::size_t max, ValidationClock::time_point) override {
    FUZZ_CHECK(max > 0, "read_some asked for 0 bytes");
    FUZZ_CHECK(!ended_, "read_some called again after the connection ended");
    IoResult r;
    if (data_.empty()) {
      ended_ = true;
      r.kind = end_;
      if (end_ == IoResult::Kind::Error) r.error = "connection reset by peer";
      return r;
    }
    const std::size_t step = steps_[turn_++ % 2];
    r.bytes = std::min({step == 0 ? max : step, max, data_.size()});
    out.append(data_.substr(0, r.bytes));
    data_.remove_prefix(r.bytes);
    return r;
  }

 private:
  std::string_view data_;
  std::array<std::size_t, 2> steps_;
  IoResult::Kind end_;
  std::size_t turn_ = 0;
  bool ended_ = false;
};

struct Read {
  std::optional<acme::ValidationOutcome> error;
  acme::Http01Response response;
};

Read read_response(std::string_view data, std::array<std::size_t, 2> steps, IoResult::Kind end,
                   const acme::ValidationSettings& settings, const acme::Url& url) {
  FakeStream stream(data, steps, end);
  Read out;
  try {
    acme::ResponseReader reader(stream, settings, ValidationClock::now() + std::chrono::seconds(10),
                                acme::url_text(url), std::string(kAddress));
    out.error = reader.read(out.response);
  } catch (...) {
    escaped("ResponseReader::read");
  }
  return out;
}

void http_response(unsigned variant, const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  const acme::ValidationSettings settings = settings_for(variant);
  const acme::Url url = current_url(variant, settings);
  static constexpr std::array<IoResult::Kind, 4> kEnds = {IoResult::Kind::Eof, IoResult::Kind::Eof,
                                                          IoResult::Kind::Timeout, IoResult::Kind::Error};
  const IoResult::Kind end = kEnds[(variant >> 3) % 4];
  const std::array<std::size_t, 2> steps = {data[0], data[1]};
  const std::string_view wire = signet::fuzz::as_text(data + 2, size - 2);

  const Read read = read_response(wire, steps, end, settings, url);
  if (read.error) {
    const acme::ValidationOutcome& e = *read.error;
    FUZZ_CHECK(!e.valid, "an error outcome that is valid");
    FUZZ_CHECK(e.error_type == "incorrectResponse" || e.error_type == "connection",
               "the error type \"" + e.error_type + "\" for a response");
    FUZZ_CHECK(e.address == kAddress, "the outcome names the address \"" + e.address + "\"");
    FUZZ_CHECK(!e.detail.empty(), "an error outcome without a detail");
  } else {
    const acme::Http01Response& r = read.response;
    FUZZ_CHECK(r.status >= 0 && r.status <= 999, "the status " + std::to_string(r.status) + " is not 3 digits");
    FUZZ_CHECK(r.body.size() <= acme::kMaxHttp01Body,
               "a body of " + std::to_string(r.body.size()) + " bytes, over the cap");
    FUZZ_CHECK(r.status == 200 || r.body.empty(), "a body kept for the status " + std::to_string(r.status));
    if (acme::is_redirect(r.status)) check_follow(url, r.location, settings);
  }

  // The same bytes in reads as large as the reader asks for: the same verdict.
  if (steps[0] != 0 || steps[1] != 0) {
    const Read whole = read_response(wire, {0, 0}, end, settings, url);
    FUZZ_CHECK(whole.error.has_value() == read.error.has_value(),
               std::string("read in pieces the response ") + (read.error ? "fails" : "is read") + ", read whole it " +
                   (whole.error ? "fails: " + whole.error->detail : "is read") +
                   (read.error ? " (" + read.error->detail + ")" : ""));
    if (read.error) {
      FUZZ_CHECK(whole.error->error_type == read.error->error_type,
                 "read whole: " + whole.error->detail + "; in pieces: " + read.error->detail);
    } else {
      FUZZ_CHECK(whole.response.status == read.response.status && whole.response.location == read.response.location &&
                     whole.response.body == read.response.body,
                 "the response read whole differs from the one read in pieces");
    }
  }
}

void certificate(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return;
  acme::Identifier id;
  std::optional<signet::IpAddress> ip;
  switch (data[0] % 3) {
    case 0: id = {"dns", "x.example.com"}; break;
    case 1: id = {"ip", "192.0.2.1"}; break;
    default: id = {"ip", "2001:db8::1"};
  }
  if (id.type == "ip") ip = signet::IpAddress::parse(id.value);
  const unsigned char* p = data + 1;
  const signet::ossl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(size - 1)));
  ERR_clear_error();
  const std::string where = "x.example.com:443";
  std::optional<acme::ValidationOutcome> verdict;
  try {
    verdict = acme::check_certificate(cert.get(), id, ip, std::string(kKeyAuthorization), where, std::string(kAddress));
  } catch (...) {
    escaped("check_certificate");
  }
  ERR_clear_error();
  if (verdict) {
    FUZZ_CHECK(!verdict->valid, "an error outcome that is valid");
    FUZZ_CHECK(verdict->error_type == "tls" || verdict->error_type == "incorrectResponse",
               "the error type \"" + verdict->error_type + "\" for a certificate");
    FUZZ_CHECK(verdict->address == kAddress, "the outcome names the address \"" + verdict->address + "\"");
    FUZZ_CHECK(verdict->detail.rfind("The tls-alpn-01 certificate from " + where + " (", 0) == 0,
               "the detail \"" + verdict->detail + "\" does not name the target");
    return;
  }
  FUZZ_CHECK(cert != nullptr, "no certificate accepted");
  signet::Bytes expected = {0x04, 0x20};
  const signet::Bytes digest = acme::key_authorization_digest(std::string(kKeyAuthorization));
  expected.insert(expected.end(), digest.begin(), digest.end());
  FUZZ_CHECK(std::search(data + 1, data + size, expected.begin(), expected.end()) != data + size,
             "a certificate accepted without the acmeIdentifier of the key authorization");
}

void location(unsigned variant, const std::uint8_t* data, std::size_t size) {
  const acme::ValidationSettings settings = settings_for(variant);
  const acme::Url url = current_url(variant, settings);
  // Exactly the input's size, so that reading past the end is seen.
  const auto copy = std::make_unique<char[]>(std::max<std::size_t>(size, 1));
  if (size != 0) std::memcpy(copy.get(), data, size);
  check_follow(url, std::string_view(copy.get(), size), settings);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned variant = data[0] / 3U;
  switch (data[0] % 3) {
    case 0: http_response(variant, data + 1, size - 1); break;
    case 1: certificate(data + 1, size - 1); break;
    default: location(variant, data + 1, size - 1);
  }
  return 0;
}
