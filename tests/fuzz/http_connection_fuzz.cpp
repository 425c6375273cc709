// libFuzzer target: signetd's HTTP connection layer fed raw bytes, TLS-less. The bytes go to a
// RequestReader (Beast's parser with signetd's limits and framing checks) in pieces whose sizes
// come from the input, as reads off a socket would; every request it yields is turned into an
// HttpRequest, routed, answered and serialized by Beast, and the next pipelined one is read, as a
// connection does. A refusal ends the input, as it ends a connection.
//
// Checks: no crash or sanitizer report; a refusal is a 4xx/5xx status; every answer serializes.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "fuzz_support.h"
#include "http.h"
#include "request_reader.h"
#include "response.h"

namespace {

using namespace signet::daemon;  // NOLINT(google-build-using-namespace)

const Router& router() {
  static const Router r = [] {
    Router built;
    const auto echo = [](HttpRequest& req, Responder respond) {
      HttpResponse res;
      res.body = req.body;
      res.headers.emplace_back("X-Path", req.path);  // may hold CR/LF: make_response must drop it
      respond(std::move(res));
    };
    built.add("GET", "/healthz", {Listener::Http}, echo);
    built.add("POST", "/ocsp", {Listener::Http}, echo);
    built.add("GET", "/ocsp/{request*}", {Listener::Http}, echo);
    built.add("GET", "/api/v1/certificates/{serial}", {Listener::Http}, echo);
    return built;
  }();
  return r;
}

// Answers synchronously into `out`.
struct Capture : Responder::Sink {
  void send(HttpResponse response) override { out = std::move(response); }
  void abandoned() override { out = json_error(500, "internal-error", "not answered", ""); }
  HttpResponse out;
};

std::string serialize(HttpResponse& response, bool keep_alive) {
  BeastResponse message = make_response(response, {"0123456789abcdef", keep_alive, false});
  boost::beast::http::response_serializer<boost::beast::http::string_body> sr(message);
  std::string wire;
  boost::beast::error_code ec;
  while (!sr.is_done()) {
    sr.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
      wire += boost::beast::buffers_to_string(buffers);
      sr.consume(boost::beast::buffer_bytes(buffers));
    });
    FUZZ_CHECK(!ec, "Beast could not serialize a response signetd made");
  }
  return wire;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte: the size of each read (1..256 bytes, or whole reads of 16 KiB when 0).
  const std::size_t step = data[0] == 0 ? RequestReader::kReadSize : data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  RequestReader reader(4096);
  while (true) {
    const RequestReader::Event event = reader.parse();
    if (event == RequestReader::Event::NeedMore) {
      if (input.empty()) break;
      auto buffer = reader.prepare();
      const std::size_t n = std::min({step, input.size(), buffer.size()});
      std::memcpy(buffer.data(), input.data(), n);
      reader.commit(n);
      input.remove_prefix(n);
      continue;
    }
    if (event == RequestReader::Event::Header) continue;  // 100-continue would be written here
    if (event == RequestReader::Event::Refused) {
      FUZZ_CHECK(reader.refusal().status >= 400, "a refusal must be an error status");
      HttpResponse answer = json_error(reader.refusal().status, reader.refusal().code, reader.refusal().message, "");
      (void)serialize(answer, false);
      break;
    }
    // A whole request.
    const bool keep_alive = reader.request().keep_alive();
    HttpRequest req;
    bool head = false;
    HttpResponse answer;
    if (auto refusal = to_http_request(reader.request(), req, head)) {
      answer = json_error(refusal->status, refusal->code, refusal->message, "");
    } else {
      Router::Match m = router().match(req);
      if (m.error) {
        answer = std::move(*m.error);
      } else {
        auto capture = std::make_shared<Capture>();
        (*m.handler)(req, Responder(capture));
        answer = std::move(capture->out);
      }
    }
    (void)serialize(answer, keep_alive);
    if (!keep_alive) break;
    reader.next();
  }
  return 0;
}
