// libFuzzer target: the OCSP request parser (issuance::parse_ocsp_request, POST /ocsp) and the
// GET decoding in front of it (RFC 6960 appendix A: GET /ocsp/{url-encoded base64 of the DER}),
// which is the router's per-segment percent-decoding followed by base64_decode.
//
// Every input goes both ways: as a DER body, and as the text after "/ocsp/" in a GET target.
// Checks: the parser throws only signet::Error; what it accepts, OpenSSL's d2i_OCSP_REQUEST
// accepts too with the same number of requests (ours is deliberately stricter: at most 16
// requests, SHA-1 or SHA-256 CertIDs with hashes of that length, positive serials of at most 20
// bytes, a nonce of 1 to 32 bytes, no unknown critical extension, and no trailing bytes); and a DER body sent by GET, base64
// encoded with '+', '/' and '=' percent-encoded as RFC 6960 asks, decodes to exactly the same
// bytes. With '/' left raw (as many clients send it, any number of them) it still does, as long
// as it does not start with '/'.
#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "base64.h"
#include "fuzz_support.h"
#include "http.h"
#include "signet/core/error.h"
#include "signet/issuance/signer.h"

namespace {

using signet::Bytes;
using signet::ByteView;
using namespace signet::daemon;  // NOLINT(google-build-using-namespace)

const Router& router() {
  static const Router r = [] {
    Router built;
    built.add("GET", "/ocsp/{request*}", {Listener::Http}, [](HttpRequest&, Responder) {});
    return built;
  }();
  return r;
}

// What the GET route hands to the parser for `target`: std::nullopt when the route does not
// match or the text does not decode (the route answers malformedRequest then).
std::optional<Bytes> get_decode(const std::string& target) {
  HttpRequest req;
  req.method = "GET";
  req.listener = Listener::Http;
  req.target = target;
  const Router::Match m = router().match(req);
  if (m.handler == nullptr) return std::nullopt;
  return base64_decode(req.params["request"]);
}

// Returns the number of requests parsed, or -1 when refused.
int parse(ByteView der) {
  try {
    const signet::issuance::OcspRequest parsed = signet::issuance::parse_ocsp_request(der);
    return static_cast<int>(parsed.items.size());
  } catch (const signet::Error&) {
    return -1;
  } catch (...) {
    signet::fuzz::unexpected_exception("parse_ocsp_request");
  }
}

std::string base64(ByteView der) {
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), der.data(), static_cast<int>(der.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string url_encode(const std::string& b64, bool keep_slash) {
  std::string out;
  for (char c : b64) {
    if (c == '+') out += "%2B";
    else if (c == '=') out += "%3D";
    else if (c == '/' && !keep_slash) out += "%2F";
    else out += c;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView der(data, size);

  // POST: the body as it is.
  const int items = parse(der);
  if (items >= 0) {
    const unsigned char* p = der.data();
    const signet::ossl::OcspRequestPtr theirs{d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size()))};
    FUZZ_CHECK(theirs != nullptr, "parse_ocsp_request accepts what d2i_OCSP_REQUEST refuses");
    FUZZ_CHECK(OCSP_request_onereq_count(theirs.get()) == items, "the two parsers count different requests");
    FUZZ_CHECK(items >= 1 && items <= 16, "a request with " + std::to_string(items) + " CertIDs was accepted");
  }

  // GET: the input as the text after "/ocsp/".
  if (const auto decoded = get_decode("/ocsp/" + std::string(signet::fuzz::as_text(data, size)))) {
    (void)parse(*decoded);
  }

  // GET of the same DER, encoded as a client would: the same bytes reach the parser.
  if (!der.empty() && der.size() <= 6000) {
    const std::string b64 = base64(der);
    const auto strict = get_decode("/ocsp/" + url_encode(b64, false));
    FUZZ_CHECK(strict && *strict == Bytes(der.begin(), der.end()), "a URL-encoded GET does not decode to its DER");
    // A first segment must not be empty ("/ocsp//..."): base64 of a DER SEQUENCE starts with 'M'.
    if (b64.front() != '/') {
      const auto raw = get_decode("/ocsp/" + url_encode(b64, true));
      FUZZ_CHECK(raw && *raw == Bytes(der.begin(), der.end()), "a GET with raw '/' does not decode to its DER");
    }
  }
  return 0;
}
