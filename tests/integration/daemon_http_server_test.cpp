// The HTTP server (server/daemon/http_server.cpp) in-process, driven by curl and raw sockets: TLS
// 1.2+ only, client certificates passed through, limits (body, header time, connections) answered
// or enforced, the headers every response carries, HEAD, keep-alive, handlers that answer later,
// drop their Responder or throw, TLS reload for new connections, and a graceful stop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "http_server.h"
#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace signet::daemon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string key_pem(const EVP_PKEY* key) {
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A CA, a server certificate for 127.0.0.1 (with the CA as its chain) and a client certificate.
struct TlsMaterial {
  explicit TlsMaterial(const fs::path& dir, const std::string& ca_name = "Test CA") {
    ossl::Pkey ca_key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    crypto::SelfSignedSpec ca_spec;
    ca_spec.common_name = ca_name;
    const crypto::Certificate ca = crypto::make_self_signed(ca_key.get(), ca_spec);
    ossl::Pkey server_key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    crypto::ServerCertificateSpec spec;
    spec.common_name = "signetd test";
    spec.dns_names = {"localhost"};
    spec.ip_addresses = {"127.0.0.1"};
    const crypto::Certificate server = crypto::issue_server_certificate(ca_key.get(), ca, server_key.get(), spec);
    ossl::Pkey client_key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    crypto::ServerCertificateSpec client_spec;
    client_spec.common_name = "client-one";
    client_spec.dns_names = {"client-one.test"};
    const crypto::Certificate client =
        crypto::issue_server_certificate(ca_key.get(), ca, client_key.get(), client_spec);

    ca_pem = dir / "ca.pem";
    certificate = dir / "tls-cert.pem";
    key = dir / "tls-key.pem";
    client_certificate = dir / "client.pem";
    client_key_file = dir / "client-key.pem";
    test::write_text(ca_pem, crypto::to_pem(ca));
    test::write_text(certificate, crypto::to_pem(server) + crypto::to_pem(ca));
    test::write_text(key, key_pem(server_key.get()));
    test::write_text(client_certificate, crypto::to_pem(client));
    test::write_text(client_key_file, key_pem(client_key.get()));
  }
  fs::path ca_pem, certificate, key, client_certificate, client_key_file;
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  test::ProcessResult process;
  [[nodiscard]] std::string header(const std::string& lowercase_name) const {
    const auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Runs curl with `args`; parses the last header block (after any 100 Continue) and the body.
Reply curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"curl", "-sS", "-i", "--max-time", "20"};
  argv.insert(argv.end(), args.begin(), args.end());
  Reply r;
  test::ProcessOptions options;
  options.timeout_seconds = 30;
  r.process = test::run_process(argv, options);
  std::string out = r.process.out;
  for (;;) {
    const auto end = out.find("\r\n\r\n");
    if (end == std::string::npos) return r;
    const std::string head = out.substr(0, end);
    out = out.substr(end + 4);
    std::istringstream lines(head);
    std::string line;
    std::getline(lines, line);
    r.status = std::stoi(line.substr(line.find(' ') + 1, 3));
    if (r.status == 100) continue;
    r.headers.clear();
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    r.body = out;
    return r;
  }
}

// A plain TCP client for what curl will not do (half a header, garbage, idling).
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) throw std::runtime_error("connect failed");
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  void send(std::string_view data) { (void)::send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }
  // Everything until the server closes (or 10 s pass); `closed` tells which.
  std::string read_all(bool* closed = nullptr) {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        if (closed != nullptr) *closed = n == 0 || errno == ECONNRESET;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
};

// Captures log lines for the tests that check what is logged.
struct LogCapture {
  LogCapture() {
    previous = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
  std::string text() {
    spdlog::default_logger()->flush();
    return stream.str();
  }
  std::shared_ptr<spdlog::logger> previous;
  std::ostringstream stream;
};

Config test_config(const TlsMaterial& tls) {
  Config c;
  c.source = "test.toml";
  c.https_address = "127.0.0.1";
  c.https_port = 0;
  c.http_address = "127.0.0.1";
  c.http_port = 0;
  c.tls_certificate = tls.certificate;
  c.tls_key = tls.key;
  c.threads = 2;
  c.max_body_bytes = 4096;
  c.header_timeout = std::chrono::seconds(1);
  c.request_timeout = std::chrono::seconds(2);
  c.idle_timeout = std::chrono::seconds(5);
  return c;
}

// A server on free ports with a router of test handlers, running on two threads.
class TestServer {
 public:
  TestServer(const Config& config) : config_(config) {
    add_builtin_routes(router_, metrics_);
    router_.add("GET", "/hello", {Listener::Https, Listener::Http}, [](HttpRequest&, Responder respond) {
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = "hello";
      respond(std::move(r));
    });
    router_.add("GET", "/cached", {Listener::Http}, [](HttpRequest&, Responder respond) {
      HttpResponse r;
      r.body = "{}";
      r.headers.emplace_back("Cache-Control", "public, max-age=60");
      respond(std::move(r));
    });
    router_.add("POST", "/echo", {Listener::Https, Listener::Http}, [](HttpRequest& req, Responder respond) {
      HttpResponse r;
      r.content_type = "application/octet-stream";
      r.body = req.body;
      r.log_note = "echoed";
      respond(std::move(r));
    });
    router_.add("GET", "/items/{id}", {Listener::Http}, [](HttpRequest& req, Responder respond) {
      HttpResponse r;
      r.body = json{{"id", req.params.at("id")}, {"query", req.query}, {"path", req.path}}.dump();
      respond(std::move(r));
    });
    router_.add("GET", "/async", {Listener::Https, Listener::Http}, [](HttpRequest& req, Responder respond) {
      std::thread([respond = std::move(respond), id = req.request_id]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        HttpResponse r;
        r.body = json{{"answered_by", "another thread"}, {"id", id}}.dump();
        respond(std::move(r));
      }).detach();
    });
    router_.add("GET", "/slow", {Listener::Http}, [](HttpRequest&, Responder respond) {
      std::thread([respond = std::move(respond)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        HttpResponse r;
        r.body = R"({"slow":true})";
        respond(std::move(r));
      }).detach();
    });
    router_.add("GET", "/drop", {Listener::Http}, [](HttpRequest&, Responder) {});
    router_.add("GET", "/drop-later", {Listener::Http}, [](HttpRequest&, Responder respond) {
      std::thread([r = std::move(respond)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        Responder dropped = std::move(r);
      }).detach();
    });
    router_.add("GET", "/throw", {Listener::Http}, [](HttpRequest&, Responder) {
      throw Error(ErrorKind::NotFound, "thing-missing", "there is no such thing");
    });
    router_.add("GET", "/throw-internal", {Listener::Http}, [](HttpRequest&, Responder) {
      throw std::runtime_error("secret detail");
    });
    router_.add("GET", "/client", {Listener::Https}, [](HttpRequest& req, Responder respond) {
      HttpResponse r;
      r.body = json{{"client", req.client_certificate ? req.client_certificate->subject() : "none"}}.dump();
      respond(std::move(r));
    });
    router_.add("GET", "/headers", {Listener::Http}, [](HttpRequest& req, Responder respond) {
      HttpResponse r;
      r.body = json(req.headers).dump();
      r.headers.emplace_back("X-Bad", "a\r\nInjected: yes");
      respond(std::move(r));
    });
    server_ = std::make_unique<HttpServer>(io_, router_, metrics_, config_);
    server_->start();
    threads_ = std::make_unique<IoThreads>(io_, 2);
  }
  ~TestServer() {
    server_->stop(std::chrono::seconds(1));
    threads_->stop();
  }
  std::string http(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port(Listener::Http)) + std::string(path);
  }
  std::string https(std::string_view path) const {
    return "https://127.0.0.1:" + std::to_string(server_->port(Listener::Https)) + std::string(path);
  }
  HttpServer& server() { return *server_; }
  Metrics& metrics() { return metrics_; }

 private:
  Config config_;
  boost::asio::io_context io_{2};
  Metrics metrics_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<IoThreads> threads_;
};

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

TEST_F(HttpServerTest, KeepAliveReusesTheConnection) {
  const Reply r = curl({"-v", server_->http("/hello"), server_->http("/healthz")});
  EXPECT_NE(r.process.err.find("Re-using existing connection"), std::string::npos) << r.process.err;
  const Reply tls = get_https("/hello", {"-v", server_->https("/healthz")});
  EXPECT_NE(tls.process.err.find("Re-using existing connection"), std::string::npos) << tls.process.err;
}

TEST_F(HttpServerTest, SlowHeaderIsDroppedAfterHeaderTimeout) {
  RawClient client(server_->server().port(Listener::Http));
  client.send("GET /hello HTTP/1.1\r\nHost: x\r\n");  // and never the blank line
  const auto start = Clock::now();
  bool closed = false;
  const std::string reply = client.read_all(&closed);
  const auto elapsed = Clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_EQ(reply, "");
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(4));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(server_->metrics().render().find(
                R"(signet_http_errors_total{listener="http",kind="header_timeout"})"),
            std::string::npos);
}

TEST_F(HttpServerTest, SilentTlsClientIsDroppedAfterHeaderTimeout) {
  RawClient client(server_->server().port(Listener::Https));  // connects, never says hello
  const auto start = Clock::now();
  bool closed = false;
  (void)client.read_all(&closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(server_->metrics().render().find(
                R"(signet_http_errors_total{listener="https",kind="handshake_timeout"})"),
            std::string::npos);
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
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string text = log.text();
  const std::string id = r.header("x-request-id");
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
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  RawClient c(port);
  const auto start = Clock::now();
  bool closed = false;
  (void)c.read_all(&closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
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
  auto in_flight = std::async(std::launch::async, [&] { return curl({slow}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = Clock::now();
  server.server().stop(std::chrono::seconds(5));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
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
