// What the HTTP server tests share: TLS material made on the fly, curl as a client, a raw client
// (plain TCP or TLS) for what curl will not send, a log capture, and the HTTP server in-process
// with a router of test handlers on two threads.
// Thread-safety: one owner per object.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
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

namespace signet::daemon::http_test {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

inline std::string key_pem(const EVP_PKEY* key) {
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
inline Reply curl(std::vector<std::string> args) {
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

// A client on a raw socket for what curl will not send (half a header, garbage, attacks): plain TCP,
// or TLS when `tls` is set (the server's certificate is not checked: the tests talk to their own
// server). Every send and receive waits at most `timeout`.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port, bool tls = false, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (!tls) return;
    ctx_ = SSL_CTX_new(TLS_client_method());
    // A server that closes without close_notify (after an error answer) ends the stream, not an error.
    SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
      SSL_free(ssl_);
      SSL_CTX_free(ctx_);
      ::close(fd_);
      throw std::runtime_error("TLS handshake failed");
    }
  }
  ~RawClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Sends all of `data`; false when the connection failed first (error() says how).
  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20)))
                                        : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        error_ = errno;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Everything until the server closes (or the timeout passes); `closed` tells whether it closed
  // (an orderly end or a reset; error() == ECONNRESET for a reset).
  std::string read_all(bool* closed = nullptr) {
    std::string out;
    while (read_some(out)) {
    }
    if (closed != nullptr) *closed = eof_ || error_ == ECONNRESET;
    return out;
  }
  // Reads until `done(received)` holds, the server closes or the timeout passes.
  template <class Done>
  std::string read_until(Done done) {
    std::string out;
    while (!done(out) && read_some(out)) {
    }
    return out;
  }
  // Half-closes: the server sees the end of the request stream.
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  [[nodiscard]] int error() const { return error_; }
  [[nodiscard]] bool eof() const { return eof_; }

 private:
  bool read_some(std::string& out) {
    char buf[16384];
    errno = 0;
    const ssize_t n = ssl_ != nullptr ? SSL_read(ssl_, buf, sizeof(buf)) : ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0 && errno == 0) {
      eof_ = true;
    } else {
      error_ = errno;
    }
    return false;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int error_ = 0;
  bool eof_ = false;
};

// One response as read off the wire.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
};

// Splits `wire` into the responses it holds (framed by Content-Length); a response cut short is
// left out and its bytes are counted in `rest`.
inline std::vector<RawResponse> split_responses(std::string_view wire, std::size_t* rest = nullptr) {
  std::vector<RawResponse> out;
  for (;;) {
    const auto end = wire.find("\r\n\r\n");
    if (end == std::string_view::npos || wire.substr(0, 9).rfind("HTTP/1.", 0) != 0) break;
    RawResponse r;
    r.status = std::atoi(std::string(wire.substr(9, 3)).c_str());
    std::istringstream lines{std::string(wire.substr(0, end))};
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(std::min(line.size(), line.find_first_not_of(' ', colon + 1)));
    }
    const std::size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    if (wire.size() < end + 4 + length) break;
    r.body = std::string(wire.substr(end + 4, length));
    wire.remove_prefix(end + 4 + length);
    out.push_back(std::move(r));
  }
  if (rest != nullptr) *rest = wire.size();
  return out;
}

// The body of GET /big?n=N: N bytes cycling through the alphabet, so that a lost or repeated piece shows.
inline std::string big_body(std::size_t n) {
  std::string s(n, 'a');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// Waits until `condition()` holds, checking every 10 ms for at most `timeout`; false if it never did.
template <class Condition>
bool eventually(Condition condition, std::chrono::seconds timeout = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

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

inline Config test_config(const TlsMaterial& tls) {
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
    router_.add("GET", "/big", {Listener::Https, Listener::Http}, [](HttpRequest& req, Responder respond) {
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = big_body(std::stoul(req.query.substr(req.query.find('=') + 1)));
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
    router_.add("GET", "/slow", {Listener::Http}, [this](HttpRequest&, Responder respond) {
      slow_started_.fetch_add(1);
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
    router_.add("GET", "/throw-path", {Listener::Http}, [](HttpRequest&, Responder) {
      throw Error(ErrorKind::NotFound, "store-missing",
                  "no key store at /var/lib/signet/signet.db: create one with `signet store init`");
    });
    router_.add("GET", "/throw-storage", {Listener::Http}, [](HttpRequest&, Responder) {
      throw Error(ErrorKind::Storage, "store-busy", "the store /var/lib/signet/signet.db is locked");
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
  // How many requests reached the /slow handler.
  [[nodiscard]] int slow_started() const { return slow_started_.load(); }
  Metrics& metrics() { return metrics_; }

 private:
  Config config_;
  std::atomic<int> slow_started_{0};
  boost::asio::io_context io_{2};
  Metrics metrics_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<IoThreads> threads_;
};

}  // namespace signet::daemon::http_test
