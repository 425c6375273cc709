// The HTTP server (server/daemon/http_server.cpp) in-process, driven by curl and raw sockets: TLS
// 1.2+ only, client certificates passed through, limits (body, header time, connections) answered
// or enforced, the headers every response carries, HEAD, keep-alive, handlers that answer later,
// drop their Responder or throw, TLS reload for new connections, and a graceful stop.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "http_test_harness.h"

namespace signet::daemon {
namespace {

using namespace http_test;  // NOLINT(google-build-using-namespace): the harness is this file's vocabulary

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    tls_ = new TlsMaterial(dir_->path());
    spdlog::set_level(spdlog::level::warn);  // no request lines in the test output
    server_ = new TestServer(test_config(*tls_));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete tls_;
    delete dir_;
    spdlog::set_level(spdlog::level::info);
  }
  static std::vector<std::string> tls_args() { return {"--cacert", tls_->ca_pem.string()}; }
  static Reply get_https(const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = tls_args();
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(server_->https(path));
    return curl(args);
  }

  static test::TempDir* dir_;
  static TlsMaterial* tls_;
  static TestServer* server_;
};
test::TempDir* HttpServerTest::dir_ = nullptr;
TlsMaterial* HttpServerTest::tls_ = nullptr;
TestServer* HttpServerTest::server_ = nullptr;

std::string describe(const Reply& r) {
  return "status " + std::to_string(r.status) + ", curl exit " + std::to_string(r.process.exit_code) + "\n" +
         r.process.out + r.process.err;
}

bool is_request_id(const std::string& s) {
  return s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST_F(HttpServerTest, HealthzOnBothListeners) {
  for (const Reply& r : {curl({server_->http("/healthz")}), get_https("/healthz")}) {
    EXPECT_EQ(r.status, 200) << describe(r);
    EXPECT_EQ(r.body, R"({"status":"ok"})");
    EXPECT_EQ(r.header("content-type"), "application/json");
  }
}

TEST_F(HttpServerTest, EveryResponseHasRequestIdTypeLengthAndNoStore) {
  const Reply r = curl({server_->http("/hello")});
  ASSERT_EQ(r.status, 200) << describe(r);
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(is_request_id(r.header("x-request-id"))) << r.header("x-request-id");
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(r.header("content-length"), "5");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_FALSE(r.header("date").empty());

  const Reply error = curl({server_->http("/nope")});
  EXPECT_TRUE(is_request_id(error.header("x-request-id")));
  EXPECT_EQ(error.header("cache-control"), "no-store");
  EXPECT_EQ(json::parse(error.body)["error"]["request_id"], error.header("x-request-id"));

  EXPECT_NE(curl({server_->http("/hello")}).header("x-request-id"), r.header("x-request-id"));
}

TEST_F(HttpServerTest, HandlerCacheControlReplacesNoStore) {
  const Reply r = curl({server_->http("/cached")});
  EXPECT_EQ(r.header("cache-control"), "public, max-age=60") << describe(r);
  EXPECT_EQ(r.process.out.find("no-store"), std::string::npos);
}

TEST_F(HttpServerTest, HeadersWithLineBreaksAreNotSent) {
  const Reply r = curl({"-H", "X-Custom: one", server_->http("/headers")});
  ASSERT_EQ(r.status, 200) << describe(r);
  EXPECT_EQ(json::parse(r.body)["x-custom"], "one");
  EXPECT_EQ(r.headers.count("injected"), 0U);
  EXPECT_EQ(r.headers.count("x-bad"), 0U);
}

TEST_F(HttpServerTest, TlsBelow12IsRefused) {
  const Reply old = get_https("/healthz", {"--tlsv1", "--tls-max", "1.1"});
  EXPECT_NE(old.process.exit_code, 0) << describe(old);
  EXPECT_EQ(old.status, 0);
  const Reply v12 = get_https("/healthz", {"--tlsv1.2", "--tls-max", "1.2"});
  EXPECT_EQ(v12.status, 200) << describe(v12);
  const Reply v13 = get_https("/healthz", {"--tlsv1.3"});
  EXPECT_EQ(v13.status, 200) << describe(v13);
}

TEST_F(HttpServerTest, ClientCertificateIsPassedThroughNotRequired) {
  const Reply without = get_https("/client");
  ASSERT_EQ(without.status, 200) << describe(without);
  EXPECT_EQ(json::parse(without.body)["client"], "none");
  for (const char* version : {"1.2", "1.3"}) {
    const Reply with = get_https("/client", {"--tls-max", version, "--cert", tls_->client_certificate.string(),
                                             "--key", tls_->client_key_file.string()});
    ASSERT_EQ(with.status, 200) << describe(with);
    EXPECT_EQ(json::parse(with.body)["client"], "CN=client-one") << version;
  }
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  const Reply missing = curl({server_->http("/nope")});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("content-type"), "application/json");
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "not-found");

  const Reply wrong = curl({"-X", "DELETE", server_->http("/hello")});
  EXPECT_EQ(wrong.status, 405) << describe(wrong);
  EXPECT_EQ(wrong.header("allow"), "GET, HEAD");
  EXPECT_EQ(json::parse(wrong.body)["error"]["code"], "method-not-allowed");

  // /metrics exists on the HTTP listener only.
  EXPECT_EQ(get_https("/metrics").status, 404);
}

TEST_F(HttpServerTest, ParamsQueryAndDecodedPath) {
  const Reply r = curl({server_->http("/items/a%20b?x=1&y=%41")});
  ASSERT_EQ(r.status, 200) << describe(r);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["id"], "a b");
  EXPECT_EQ(body["query"], "x=1&y=%41");
  EXPECT_EQ(body["path"], "/items/a b");
}

TEST_F(HttpServerTest, HeadIsGetWithoutBody) {
  const Reply r = curl({"-I", server_->http("/hello")});
  EXPECT_EQ(r.status, 200) << describe(r);
  EXPECT_EQ(r.header("content-length"), "5");
  EXPECT_EQ(r.body, "");
}

TEST_F(HttpServerTest, BodyLargerThanTheLimitIs413) {
  const fs::path big = dir_->path() / "big.bin";
  test::write_text(big, std::string(10000, 'x'));
  for (const std::string& url : {server_->http("/echo"), server_->https("/echo")}) {
    std::vector<std::string> args = tls_args();
    args.insert(args.end(), {"--data-binary", "@" + big.string(), "-H", "Content-Type: application/octet-stream", url});
    const Reply r = curl(args);
    EXPECT_EQ(r.status, 413) << describe(r);
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "body-too-large") << url;
  }
  // Within the limit it arrives whole, also with Expect: 100-continue.
  test::write_text(big, std::string(4096, 'y'));
  const Reply ok = curl({"--data-binary", "@" + big.string(), "-H", "Expect: 100-continue", server_->http("/echo")});
  EXPECT_EQ(ok.status, 200) << describe(ok);
  EXPECT_EQ(ok.body, std::string(4096, 'y'));
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  RawClient client(server_->server().port(Listener::Http));
  client.send("THIS IS NOT HTTP\r\n\r\n");
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0U) << reply;
  EXPECT_NE(reply.find("\"malformed-request\""), std::string::npos) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  RawClient client(server_->server().port(Listener::Http));
  client.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 431 ", 0), 0U) << reply.substr(0, 200);
}

TEST_F(HttpServerTest, AsyncResponderAnswersFromAnotherThread) {
  for (const Reply& r : {curl({server_->http("/async")}), get_https("/async")}) {
    ASSERT_EQ(r.status, 200) << describe(r);
    const json body = json::parse(r.body);
    EXPECT_EQ(body["answered_by"], "another thread");
    EXPECT_EQ(body["id"], r.header("x-request-id"));
  }
}

TEST_F(HttpServerTest, DroppedResponderSends500) {
  for (const char* path : {"/drop", "/drop-later"}) {
    const Reply r = curl({server_->http(path)});
    EXPECT_EQ(r.status, 500) << describe(r);
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "internal-error");
  }
}

TEST_F(HttpServerTest, ThrownErrorIsMappedAndInternalDetailIsNotSent) {
  const Reply r = curl({server_->http("/throw")});
  EXPECT_EQ(r.status, 404) << describe(r);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "thing-missing");
  const Reply internal = curl({server_->http("/throw-internal")});
  EXPECT_EQ(internal.status, 500) << describe(internal);
  EXPECT_EQ(internal.body.find("secret detail"), std::string::npos);
}

// A 4xx never tells the client where the server keeps its files.
TEST_F(HttpServerTest, ClientErrorsDoNotNameServerPaths) {
  const Reply r = curl({server_->http("/throw-path")});
  EXPECT_EQ(r.status, 404) << describe(r);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "store-missing");
  EXPECT_EQ(r.body.find("/var/lib"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(r.header("x-request-id")), std::string::npos) << r.body;
}

// One mapping for thrown errors and handled ones: a storage error is a 503 with Retry-After.
TEST_F(HttpServerTest, ThrownStorageErrorIs503WithRetryAfter) {
  const Reply r = curl({server_->http("/throw-storage")});
  EXPECT_EQ(r.status, 503) << describe(r);
  EXPECT_EQ(r.header("retry-after"), "5");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "unavailable");
  EXPECT_EQ(r.body.find("/var/lib"), std::string::npos) << r.body;
}

TEST_F(HttpServerTest, KeepAliveReusesTheConnection) {
  const Reply r = curl({"-v", server_->http("/hello"), server_->http("/healthz")});
  EXPECT_NE(r.process.err.find("Re-using existing connection"), std::string::npos) << r.process.err;
  const Reply tls = get_https("/hello", {"-v", server_->https("/healthz")});
  EXPECT_NE(tls.process.err.find("Re-using existing connection"), std::string::npos) << tls.process.err;
}

TEST_F(HttpServerTest, SlowHeaderIsDroppedAfterHeaderTimeout) {
  RawClient client(server_->server().port(Listener::Http));
  client.send("GET /hello HTTP/1.1\r\nHost: x\r\n");  // and never the blank line
  bool closed = false;
  const std::string reply = client.read_all(&closed);  // the client waits up to 10 s, the server 1 s
  EXPECT_TRUE(closed);
  EXPECT_EQ(reply, "");
  // Dropped for the header timeout, not for anything else.
  EXPECT_TRUE(eventually([] {
    return server_->metrics().render().find(R"(signet_http_errors_total{listener="http",kind="header_timeout"})") !=
           std::string::npos;
  }));
}

TEST_F(HttpServerTest, SilentTlsClientIsDroppedAfterHeaderTimeout) {
  RawClient client(server_->server().port(Listener::Https));  // connects, never says hello
  bool closed = false;
  (void)client.read_all(&closed);  // the client waits up to 10 s, the server 1 s
  EXPECT_TRUE(closed);
  EXPECT_TRUE(eventually([] {
    return server_->metrics().render().find(
               R"(signet_http_errors_total{listener="https",kind="handshake_timeout"})") != std::string::npos;
  }));
}

TEST_F(HttpServerTest, RequestsAreCounted) {
  (void)curl({server_->http("/hello")});
  const Reply r = curl({server_->http("/metrics")});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(r.body.find(R"(signet_http_requests_total{listener="http",route="/hello",method="GET",code="200"})"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"(signet_http_request_duration_seconds_bucket{listener="http",route="/hello",le="+Inf"})"),
            std::string::npos);
  EXPECT_NE(r.body.find(R"(signet_connections_open{listener="http"})"), std::string::npos);
}

TEST_F(HttpServerTest, RequestLineIsLoggedWithoutQueryBodyOrCredentials) {
  LogCapture log;
  const Reply r = curl({"-H", "Authorization: Bearer s3cret-token", "--data-binary", "body-s3cret",
                        server_->http("/echo?token=s3cret-query")});
  ASSERT_EQ(r.status, 200) << describe(r);
  const std::string id = r.header("x-request-id");
  // The line is written once the answer is, which the client may see first.
  EXPECT_TRUE(eventually([&] { return log.text().find(id) != std::string::npos; }));
  const std::string text = log.text();
  const auto at = text.find(id);
  ASSERT_NE(at, std::string::npos) << text;
  const std::string line = text.substr(at, text.find('\n', at) - at);
  EXPECT_NE(line.find(" http 127.0.0.1:"), std::string::npos) << line;
  EXPECT_NE(line.find(" POST /echo 200 11B "), std::string::npos) << line;
  EXPECT_NE(line.find("ms echoed"), std::string::npos) << line;
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
}

TEST(HttpServerLimitsTest, ConnectionsBeyondTheLimitAreClosed) {
  test::TempDir dir;
  TlsMaterial tls(dir.path());
  Config config = test_config(tls);
  config.max_connections = 2;
  config.header_timeout = std::chrono::seconds(5);
  TestServer server(config);
  const auto port = server.server().port(Listener::Http);
  RawClient a(port);
  RawClient b(port);
  ASSERT_TRUE(eventually([&] { return server.server().open_connections() == 2; }));
  RawClient c(port);
  bool closed = false;
  (void)c.read_all(&closed);  // closed at once; a connection that was let in would wait 5 s for its header
  EXPECT_TRUE(closed);
  EXPECT_NE(server.metrics().render().find(R"(signet_http_errors_total{listener="http",kind="connection_limit"} 1)"),
            std::string::npos);
}

TEST(HttpServerReloadTest, NewConnectionsUseTheReloadedCertificate) {
  test::TempDir dir;
  fs::create_directories(dir / "old");
  fs::create_directories(dir / "new");
  TlsMaterial old_tls(dir / "old", "Old CA");
  TlsMaterial new_tls(dir / "new", "New CA");
  TestServer server(test_config(old_tls));
  const auto get = [&](const TlsMaterial& trust) {
    return curl({"--cacert", trust.ca_pem.string(), server.https("/healthz")});
  };
  EXPECT_EQ(get(old_tls).status, 200);
  EXPECT_NE(get(new_tls).process.exit_code, 0);

  Config broken = test_config(new_tls);
  broken.tls_key = old_tls.key;  // does not match the new certificate
  EXPECT_THROW(server.server().reload_tls(broken), Error);
  EXPECT_EQ(get(old_tls).status, 200);  // the old context stays

  server.server().reload_tls(test_config(new_tls));
  EXPECT_EQ(get(new_tls).status, 200);
  EXPECT_NE(get(old_tls).process.exit_code, 0);
}

TEST(HttpServerStopTest, InFlightRequestFinishesAndNewOnesAreRefused) {
  test::TempDir dir;
  TlsMaterial tls(dir.path());
  TestServer server(test_config(tls));
  const std::string slow = server.http("/slow");
  const int started = server.slow_started();
  auto in_flight = std::async(std::launch::async, [&] { return curl({slow}); });
  ASSERT_TRUE(eventually([&] { return server.slow_started() > started; }));  // the request is in its handler
  server.server().stop(std::chrono::seconds(5));
  const Reply r = in_flight.get();
  EXPECT_EQ(r.status, 200) << describe(r);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_EQ(server.server().open_connections(), 0U);
  const Reply refused = curl({server.http("/hello")});
  EXPECT_NE(refused.process.exit_code, 0);
}

TEST(HttpServerListenTest, PortInUseIsAClearError) {
  test::TempDir dir;
  TlsMaterial tls(dir.path());
  TestServer first(test_config(tls));
  Config config = test_config(tls);
  config.http_port = first.server().port(Listener::Http);
  boost::asio::io_context io;
  Metrics metrics;
  Router router;
  HttpServer second(io, router, metrics, config);
  try {
    second.start();
    FAIL() << "start() succeeded on a port in use";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "listen-failed");
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(config.http_port)), std::string::npos)
        << e.what();
  }
}

TEST(HttpServerListenTest, MissingTlsFileIsNamed) {
  test::TempDir dir;
  TlsMaterial tls(dir.path());
  Config config = test_config(tls);
  config.tls_key = dir / "absent.pem";
  try {
    check_tls_files(config);
    FAIL() << "a missing key was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "tls-file-missing");
    EXPECT_NE(std::string(e.what()).find("absent.pem"), std::string::npos);
  }
}

}  // namespace
}  // namespace signet::daemon
