// signetd's HTTP layer against an attacker: raw bytes on loopback to the server
// in-process and to a real signetd, over plain HTTP and TLS. Large answers arrive whole over TLS
// (also kept alive and pipelined); a chunk header that never ends is refused without the daemon
// growing; Transfer-Encoding that is not chunked last, Transfer-Encoding with Content-Length and a
// missing or doubled Host are refused and the connection closed, so that no smuggled request is
// answered; an early error answer is read by a client that sends its whole body without waiting
// (lingering close); idle connections on one listener or from one address do not lock out others.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "http_test_harness.h"
#include "support/signetd_process.h"

namespace signet::daemon {
namespace {

using namespace http_test;  // NOLINT(google-build-using-namespace): the harness is this file's vocabulary

class HttpAttackTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    tls_ = new TlsMaterial(dir_->path());
    spdlog::set_level(spdlog::level::warn);
    server_ = new TestServer(test_config(*tls_));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete tls_;
    delete dir_;
    spdlog::set_level(spdlog::level::info);
  }
  // A raw client on the listener of this run (true: HTTPS).
  static std::unique_ptr<RawClient> connect() {
    const bool tls = GetParam();
    return std::make_unique<RawClient>(server_->server().port(tls ? Listener::Https : Listener::Http), tls);
  }

  // Sends `request` (followed by a harmless GET that must never be answered) and expects exactly
  // one answer, `status` with error code `code`, and the connection closed after it.
  static void expect_refused_and_closed(const std::string& request, int status, const std::string& code);

  static test::TempDir* dir_;
  static TlsMaterial* tls_;
  static TestServer* server_;
};
test::TempDir* HttpAttackTest::dir_ = nullptr;
TlsMaterial* HttpAttackTest::tls_ = nullptr;
TestServer* HttpAttackTest::server_ = nullptr;

std::string get(std::string_view target, bool close = false) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (close ? "Connection: close\r\n" : "") +
         "\r\n";
}

std::string summary(const std::string& wire) {
  return std::to_string(wire.size()) + " bytes: " + wire.substr(0, 300);
}

void HttpAttackTest::expect_refused_and_closed(const std::string& request, int status, const std::string& code) {
  auto client = connect();
  (void)client->send(request + get("/hello"));
  bool closed = false;
  const std::string wire = client->read_all(&closed);
  const auto responses = split_responses(wire);
  ASSERT_EQ(responses.size(), 1U) << summary(wire);
  EXPECT_EQ(responses[0].status, status) << summary(wire);
  EXPECT_EQ(json::parse(responses[0].body)["error"]["code"], code);
  EXPECT_TRUE(closed);
}

// Over TLS too, an answer above 16 KiB (more than one TLS record) arrives whole.
TEST_P(HttpAttackTest, LargeAnswerArrivesWhole) {
  auto client = connect();
  ASSERT_TRUE(client->send(get("/big?n=100000", true)));
  bool closed = false;
  const std::string wire = client->read_all(&closed);
  std::size_t rest = 0;
  const auto responses = split_responses(wire, &rest);
  ASSERT_EQ(responses.size(), 1U) << summary(wire);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].headers.at("content-length"), "100000");
  EXPECT_TRUE(responses[0].body == big_body(100000)) << "body of " << responses[0].body.size() << " bytes";
  EXPECT_EQ(rest, 0U);
  EXPECT_TRUE(closed);
}

TEST_P(HttpAttackTest, LargeAnswersArriveWholeKeptAliveAndPipelined) {
  auto client = connect();
  // Kept alive: one after the other on the same connection.
  for (std::size_t n : {20000U, 150000U, 16384U}) {
    ASSERT_TRUE(client->send(get("/big?n=" + std::to_string(n))));
    const std::string wire = client->read_until([](const std::string& w) { return !split_responses(w).empty(); });
    const auto responses = split_responses(wire);
    ASSERT_EQ(responses.size(), 1U) << n << ": " << summary(wire);
    EXPECT_TRUE(responses[0].body == big_body(n)) << n << ": body of " << responses[0].body.size() << " bytes";
  }
  // Pipelined: three requests in one write.
  ASSERT_TRUE(client->send(get("/big?n=100000") + get("/hello") + get("/big?n=70000", true)));
  const std::string wire = client->read_all();
  const auto responses = split_responses(wire);
  ASSERT_EQ(responses.size(), 3U) << summary(wire);
  EXPECT_TRUE(responses[0].body == big_body(100000));
  EXPECT_EQ(responses[1].body, "hello");
  EXPECT_TRUE(responses[2].body == big_body(70000));
}

// "3;" and then megabytes without a line end must not grow the daemon: the chunk header is bounded.
TEST_P(HttpAttackTest, EndlessChunkExtensionIsRefused) {
  auto client = connect();
  (void)client->send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3;");
  (void)client->send(std::string(4 * 1024 * 1024, 'a'));  // the server stops reading: this may fail
  bool closed = false;
  const std::string wire = client->read_all(&closed);
  const auto responses = split_responses(wire);
  ASSERT_EQ(responses.size(), 1U) << summary(wire);
  EXPECT_EQ(responses[0].status, 400);
  EXPECT_EQ(json::parse(responses[0].body)["error"]["code"], "chunk-header-too-long");
  EXPECT_EQ(responses[0].headers.at("connection"), "close");
  EXPECT_TRUE(closed);
}

// What follows a request whose framing is doubtful must never be answered as a
// second request (RFC 9112 §6.1, §6.3).
struct Smuggling {
  const char* name;
  std::string head;  // the headers after Host
  std::string body;
  std::vector<int> statuses;  // acceptable answers
};

TEST_P(HttpAttackTest, DoubtfulFramingIsRefusedAndClosed) {
  const std::string smuggled = get("/hello");
  const std::vector<Smuggling> cases = {
      {"gzip alone", "Transfer-Encoding: gzip\r\n", "", {400}},
      {"chunked then identity", "Transfer-Encoding: chunked, identity\r\n", "", {400}},
      {"chunked twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n", {400}},
      {"gzip then chunked", "Transfer-Encoding: gzip, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n", {400, 501}},
      {"chunked with Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n", {400}},
      {"Content-Length with chunked", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n", {400}},
      {"two lengths", "Content-Length: 5\r\nContent-Length: 6\r\n", "hello!", {400}},
  };
  for (const Smuggling& c : cases) {
    auto client = connect();
    (void)client->send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + c.head + "\r\n" + c.body + smuggled);
    bool closed = false;
    const std::string wire = client->read_all(&closed);
    const auto responses = split_responses(wire);
    ASSERT_EQ(responses.size(), 1U) << c.name << ": " << summary(wire);
    EXPECT_NE(std::find(c.statuses.begin(), c.statuses.end(), responses[0].status), c.statuses.end())
        << c.name << ": " << summary(wire);
    EXPECT_EQ(responses[0].headers.at("connection"), "close") << c.name;
    EXPECT_TRUE(closed) << c.name;
  }
}

TEST_P(HttpAttackTest, Http11NeedsExactlyOneHost) {
  for (const std::string& head : {std::string("GET /hello HTTP/1.1\r\n\r\n"),
                                  std::string("GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")}) {
    expect_refused_and_closed(head, 400, "host-invalid");
  }
  // HTTP/1.0 may go without.
  auto client = connect();
  (void)client->send("GET /hello HTTP/1.0\r\n\r\n");
  const auto responses = split_responses(client->read_all());
  ASSERT_EQ(responses.size(), 1U);
  EXPECT_EQ(responses[0].status, 200);
}

TEST_P(HttpAttackTest, HostMustBeAHostName) {
  for (const std::string& host :
       {std::string(""), std::string("a b"), std::string("a,b.test"), std::string("example.test:99999"),
        std::string("example.test:"), std::string("example.test:8a"), std::string("[::1"), std::string("[]"),
        std::string("[::1]x"), std::string("a/b"), std::string("%41.test"), std::string("user@example.test")}) {
    SCOPED_TRACE(host);
    expect_refused_and_closed("GET /hello HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 400, "host-invalid");
  }
  for (const char* host : {"127.0.0.1:8443", "[::1]:80", "[::1]", "localhost", "ca_1.example-test", "EXAMPLE.test"}) {
    SCOPED_TRACE(host);
    auto client = connect();
    (void)client->send("GET /hello HTTP/1.1\r\nHost: " + std::string(host) + "\r\nConnection: close\r\n\r\n");
    const auto responses = split_responses(client->read_all());
    ASSERT_EQ(responses.size(), 1U);
    EXPECT_EQ(responses[0].status, 200);
  }
}

TEST_P(HttpAttackTest, ChunkLineEndedByABareLfIsRefusedAtOnce) {
  // Not a wait for a CRLF that never comes (and then a silent close): a 400 straight away.
  // (Nothing follows the body: with a CRLF somewhere after it, Beast itself finds the line bad.)
  for (const std::string& body : {std::string("3\nabc\n0\n\n"), std::string("3\n"), std::string("3\r\nabc\r\n0\n")}) {
    SCOPED_TRACE(body);
    auto client = connect();
    (void)client->send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
    bool closed = false;
    const std::string wire = client->read_all(&closed);
    const auto responses = split_responses(wire);
    ASSERT_EQ(responses.size(), 1U) << summary(wire);
    EXPECT_EQ(responses[0].status, 400) << summary(wire);
    EXPECT_EQ(json::parse(responses[0].body)["error"]["code"], "chunk-line-invalid");
    EXPECT_TRUE(closed);
  }
  // Bare LFs inside chunk data are data.
  auto client = connect();
  (void)client->send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n5\r\na\nb\nc\r\n0\r\n\r\n");
  const auto responses = split_responses(client->read_all());
  ASSERT_EQ(responses.size(), 1U);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].body, "a\nb\nc");
}

TEST_P(HttpAttackTest, FoldedHeaderLineIsRefused) {
  for (const std::string& head : {std::string("X-Note: one\r\n two\r\n"), std::string("X-Note: one\r\n\ttwo\r\n"),
                                  std::string("Content-Length: 0\r\n Content-Length: 5\r\n")}) {
    SCOPED_TRACE(head);
    expect_refused_and_closed("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + "\r\nhello", 400, "header-folded");
  }
}

// A client that sends its whole (too large) body before reading, as Python's and Go's do without
// Expect: 100-continue, must read the 413 rather than a reset.
TEST_P(HttpAttackTest, EarlyErrorIsReadByAClientThatSendsEverythingFirst) {
  const std::size_t size = 4 * 1024 * 1024;
  auto client = connect();
  const bool sent = client->send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                                 "Content-Length: " + std::to_string(size) + "\r\n\r\n" + std::string(size, 'x'));
  EXPECT_TRUE(sent) << "send failed: " << std::strerror(client->error());
  client->shutdown_write();
  bool closed = false;
  const std::string wire = client->read_all(&closed);
  EXPECT_NE(client->error(), ECONNRESET) << "the connection was reset";
  const auto responses = split_responses(wire);
  ASSERT_EQ(responses.size(), 1U) << summary(wire);
  EXPECT_EQ(responses[0].status, 413);
  EXPECT_TRUE(closed);
}

INSTANTIATE_TEST_SUITE_P(Listeners, HttpAttackTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Https" : "Http"; });

// Idle connections to the public listener must not lock API clients out, nor may one
// address take every place.
TEST(HttpConnectionLimitsTest, EachListenerHasItsOwnLimit) {
  test::TempDir dir;
  TlsMaterial tls(dir.path());
  Config config = test_config(tls);
  config.max_connections = 3;
  config.header_timeout = std::chrono::seconds(10);
  TestServer server(config);
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<RawClient>(server.server().port(Listener::Http)));
  ASSERT_TRUE(eventually([&] { return server.server().open_connections() == 3; }));
  const Reply api = curl({"--cacert", tls.ca_pem.string(), server.https("/healthz")});
  EXPECT_EQ(api.status, 200) << api.process.err;
  RawClient extra(server.server().port(Listener::Http));
  bool closed = false;
  EXPECT_EQ(extra.read_all(&closed), "");
  EXPECT_TRUE(closed);
  EXPECT_NE(server.metrics().render().find(R"(signet_http_errors_total{listener="http",kind="connection_limit"} 1)"),
            std::string::npos);
}

TEST(HttpConnectionLimitsTest, OneAddressCannotTakeEveryPlace) {
  test::TempDir dir;
  TlsMaterial tls(dir.path());
  Config config = test_config(tls);
  config.max_connections = 100;
  config.max_connections_per_address = 2;
  config.header_timeout = std::chrono::seconds(10);
  TestServer server(config);
  RawClient a(server.server().port(Listener::Http));
  RawClient b(server.server().port(Listener::Https));
  ASSERT_TRUE(eventually([&] { return server.server().open_connections() == 2; }));
  // 127.0.0.1 is at its limit on both listeners...
  RawClient c(server.server().port(Listener::Http));
  bool closed = false;
  EXPECT_EQ(c.read_all(&closed), "");
  EXPECT_TRUE(closed);
  EXPECT_NE(server.metrics().render().find(
                R"(signet_http_errors_total{listener="http",kind="address_connection_limit"} 1)"),
            std::string::npos)
      << server.metrics().render();
  // ... while another address is served.
  const Reply other = curl({"--interface", "127.0.0.2", server.http("/healthz")});
  EXPECT_EQ(other.status, 200) << other.process.err;
}

// The resident memory of a process in KiB (VmRSS in /proc/PID/status), 0 when unreadable.
std::size_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

// The same chunk-extension attack against a real signetd on POST /ocsp (no credentials needed):
// three connections, 16 MiB each, and the daemon's memory stays put.
TEST(HttpAttackDaemonTest, EndlessChunkExtensionDoesNotGrowTheDaemon) {
  test::TempDir dir;
  const test::ProcessResult setup =
      test::make_test_ca(SIGNET_CLI_PATH, dir.path(), "attack-ca", "attack test CA", "correct horse battery staple");
  ASSERT_EQ(setup.exit_code, 0) << setup.out << setup.err;
  test::SignetdProcess daemon(SIGNETD_PATH, dir / "signetd.toml", dir / "signetd.log");
  ASSERT_TRUE(daemon.wait_for_log("listening on")) << daemon.log();
  const auto [https, http] = daemon.urls();
  const auto port_of = [](const std::string& url) {
    return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  };
  const std::size_t before = rss_kib(daemon.pid());
  // All three stay open while the daemon's memory is read: what it holds for them shows.
  std::vector<std::unique_ptr<RawClient>> clients;
  for (const auto& [port, tls] : {std::pair{port_of(http), false}, std::pair{port_of(https), true},
                                  std::pair{port_of(http), false}}) {
    clients.push_back(std::make_unique<RawClient>(port, tls));
    RawClient& client = *clients.back();
    (void)client.send("POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n3;");
    for (int i = 0; i < 16 && client.send(std::string(1024 * 1024, 'a')); ++i) {
    }
  }
  const std::size_t after = rss_kib(daemon.pid());
  std::vector<std::string> statuses;
  for (auto& client : clients) {
    const auto responses = split_responses(client->read_all());
    statuses.push_back(responses.empty() ? "none" : std::to_string(responses[0].status));
  }
  std::cout << "signetd VmRSS before " << before << " KiB, during the attack " << after << " KiB; answers "
            << statuses[0] << ", " << statuses[1] << ", " << statuses[2] << "\n";
  ASSERT_GT(before, 0U);
  EXPECT_LT(after, before + 32 * 1024) << "the daemon grew from " << before << " to " << after << " KiB";
  for (const std::string& s : statuses) EXPECT_EQ(s, "400");
}

}  // namespace
}  // namespace signet::daemon
