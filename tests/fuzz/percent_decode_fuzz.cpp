// libFuzzer target: signetd's percent-decoders: detail::percent_decode (request paths, segment
// by segment: '+' stays '+', a bad escape refuses the path) and query_param (the REST API's query
// strings: '+' is a space, a bad escape stays as it is).
//
// Checks: no crash or sanitizer report on any input; decoding never makes text longer; and each
// decoder inverts its encoder: the input, percent-encoded byte by byte, decodes to the input
// (as a path segment, and as the value of a query parameter among others).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api_body.h"
#include "fuzz_support.h"
#include "http_util.h"

namespace {

// Percent-encodes every byte outside the unreserved set (RFC 3986 2.3).
std::string encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using signet::daemon::query_param;
  using signet::daemon::detail::percent_decode;
  const std::string_view text = signet::fuzz::as_text(data, size);

  if (const auto decoded = percent_decode(text)) {
    FUZZ_CHECK(decoded->size() <= text.size(), "percent_decode made the text longer");
  }
  for (const std::string_view name : {"limit", "after", "client", "revoked", ""}) {
    if (const auto value = query_param(text, name)) {
      FUZZ_CHECK(value->size() <= text.size(), "query_param returned more than the query holds");
    }
  }

  const std::string encoded = encode(text);
  const auto path = percent_decode(encoded);
  FUZZ_CHECK(path && *path == text, "percent_decode does not invert percent-encoding");
  const auto value = query_param("limit=10&after=" + encoded + "&revoked=true", "after");
  FUZZ_CHECK(value && *value == text, "query_param does not invert percent-encoding");
  return 0;
}
