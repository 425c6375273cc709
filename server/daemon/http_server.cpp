// Boost.Asio 1.74's ssl::context still calls OpenSSL's deprecated RSA and DH functions; they must be
// declared here (before any OpenSSL header) although signet_common builds with OPENSSL_NO_DEPRECATED.
#undef OPENSSL_NO_DEPRECATED

#include "http_server.h"

#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <ctime>
#include <list>
#include <mutex>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http_util.h"
#include "signet/core/error.h"

namespace signet::daemon {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Strand = net::strand<net::io_context::executor_type>;
using Clock = std::chrono::steady_clock;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::size_t kReadSize = 16 * 1024;
constexpr std::size_t kDrainLimit = 1024 * 1024;          // bytes read and dropped before closing
constexpr std::chrono::seconds kCloseTimeout{2};           // TLS close_notify, draining
// ECDHE with AEAD only, for TLS 1.2 (TLS 1.3 has its own, all fine).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string_view listener_name(Listener l) { return l == Listener::Https ? "https" : "http"; }

// Request ids: 64 random bits as 16 hex digits. xorshift128+ seeded from OpenSSL per thread: an id
// must be unique, not secret.
void fill_request_id(std::string& out) {
  thread_local std::array<std::uint64_t, 2> s = [] {
    std::array<std::uint64_t, 2> seed{};
    if (RAND_bytes(reinterpret_cast<unsigned char*>(seed.data()), sizeof(seed)) != 1 || (seed[0] | seed[1]) == 0) {
      seed = {0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()), 1};
    }
    return seed;
  }();
  std::uint64_t a = s[0];
  const std::uint64_t b = s[1];
  s[0] = b;
  a ^= a << 23;
  s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
  std::uint64_t v = s[1] + b;
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(16);
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kHex[v & 0xF];
}

// The Date header value, formatted once a second per thread.
std::string_view http_date_now() {
  thread_local std::time_t last = 0;
  thread_local std::array<char, 64> buf{};
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != last) {
    std::tm t{};
    ::gmtime_r(&now, &t);
    len = std::strftime(buf.data(), buf.size(), "%a, %d %b %Y %H:%M:%S GMT", &t);
    last = now;
  }
  return {buf.data(), len};
}

void append_number(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool header_safe(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

// The method as a metrics label: a fixed set, so that a client cannot grow the label space.
std::string_view method_label(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (m == known) return known;
  }
  return "OTHER";
}

}  // namespace

int http_status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::NotFound: return 404;
    case ErrorKind::Malformed: return 400;
    case ErrorKind::PolicyDenied: return 422;
    case ErrorKind::Unauthorized: return 401;
    case ErrorKind::Conflict: return 409;
    case ErrorKind::Unsupported: return 415;
    case ErrorKind::Storage: return 503;
    default: return 500;
  }
}

namespace {

// The answer for an exception that escaped a handler. 5xx details go to the log, not the client.
HttpResponse thrown_response(std::exception_ptr error, const std::string& id) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    const int status = http_status_of(e.kind());
    if (status < 500) return json_error(status, e.code(), e.what(), id);
    spdlog::error("request {} failed: {} ({})", id, e.what(), e.code());
  } catch (const std::exception& e) {
    spdlog::error("request {} failed: {}", id, e.what());
  } catch (...) {
    spdlog::error("request {} failed with an unknown exception", id);
  }
  return json_error(500, "internal-error", "an internal error happened; the operator's log has request " + id, id);
}

int accept_any_certificate(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

std::shared_ptr<ssl::context> load_tls_context(const Config& config) {
  for (const auto& [file, key] : {std::pair{config.tls_certificate, "https.certificate"}, std::pair{config.tls_key, "https.key"}}) {
    std::error_code ec;
    if (file.empty() || !std::filesystem::exists(file, ec)) {
      throw Error(ErrorKind::NotFound, "tls-file-missing",
                  "the TLS file " + file.string() + " (" + key + " in " + config.source.string() + ") does not exist");
    }
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
  SSL_CTX_set_options(h, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(h, kTls12Ciphers) != 1 || SSL_CTX_set1_groups_list(h, "X25519:P-256:P-384") != 1) {
    throw_openssl(ErrorKind::Crypto, "tls-invalid", "configuring TLS failed");
  }
  const std::string cert = config.tls_certificate.string();
  const std::string key = config.tls_key.string();
  if (SSL_CTX_use_certificate_chain_file(h, cert.c_str()) != 1) {
    throw_openssl(ErrorKind::Crypto, "tls-invalid", "cannot load the TLS certificate chain from " + cert);
  }
  if (SSL_CTX_use_PrivateKey_file(h, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw_openssl(ErrorKind::Crypto, "tls-invalid", "cannot load the TLS private key from " + key);
  }
  if (SSL_CTX_check_private_key(h) != 1) {
    throw_openssl(ErrorKind::Crypto, "tls-invalid", "the TLS key " + key + " does not belong to the certificate " + cert);
  }
  // Ask for a client certificate but take any (or none): the API decides what it proves.
  SSL_CTX_set_verify(h, SSL_VERIFY_PEER, accept_any_certificate);
  static constexpr unsigned char kSessionContext[] = "signetd";
  SSL_CTX_set_session_id_context(h, kSessionContext, sizeof(kSessionContext) - 1);
  (void)drain_openssl_errors();
  return ctx;
}

std::string format_endpoint(const tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

class ConnectionBase;

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  struct Acceptor {
    Acceptor(net::io_context& io, Listener l) : kind(l), strand(net::make_strand(io)), acceptor(strand), retry(strand) {}
    Listener kind;
    Strand strand;
    tcp::acceptor acceptor;
    net::steady_timer retry;
    std::uint16_t port = 0;
  };

  Impl(net::io_context& i, const Router& r, Metrics& m, const Config& c)
      : io(i), router(r), metrics(m), config(c), https(i, Listener::Https), http(i, Listener::Http) {}

  std::shared_ptr<ssl::context> tls() {
    std::lock_guard lock(tls_mutex);
    return tls_context;
  }
  void bind(Acceptor& a, const std::string& address, std::uint16_t port);
  void accept(Acceptor& a);
  void on_accept(Acceptor& a, Strand strand, beast::error_code ec, tcp::socket socket);
  void count_error(Listener l, std::string_view kind) {
    metrics.increment("signet_http_errors_total", {{"listener", listener_name(l)}, {"kind", kind}});
  }

  net::io_context& io;
  const Router& router;
  Metrics& metrics;
  const Config config;
  Acceptor https;
  Acceptor http;
  std::mutex tls_mutex;
  std::shared_ptr<ssl::context> tls_context;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> refused{0};
  std::mutex connections_mutex;
  std::list<std::weak_ptr<ConnectionBase>> connections;
};

namespace {

using ServerImpl = HttpServer::Impl;

// What a connection does that does not depend on TLS: turning a parsed request into an
// HttpRequest, routing, calling the handler, building the response header, logging, counting.
// Everything runs on the connection's strand except send() and abandoned(), which post to it.
class ConnectionBase : public Responder::Sink, public std::enable_shared_from_this<ConnectionBase> {
 public:
  ConnectionBase(std::shared_ptr<ServerImpl> server, Listener listener, Strand strand, std::string remote)
      : server_(std::move(server)), listener_(listener), strand_(std::move(strand)), remote_(std::move(remote)) {
    server_->open.fetch_add(1);
    server_->metrics.add_gauge("signet_connections_open", {{"listener", listener_name(listener_)}}, 1);
  }
  ~ConnectionBase() override {
    {
      std::lock_guard lock(server_->connections_mutex);
      if (registered_) server_->connections.erase(registration_);
    }
    server_->metrics.add_gauge("signet_connections_open", {{"listener", listener_name(listener_)}}, -1);
    server_->open.fetch_sub(1);
  }
  ConnectionBase(const ConnectionBase&) = delete;
  ConnectionBase& operator=(const ConnectionBase&) = delete;

  void register_self() {
    std::lock_guard lock(server_->connections_mutex);
    registration_ = server_->connections.insert(server_->connections.end(), weak_from_this());
    registered_ = true;
  }
  const Strand& strand() const { return strand_; }

  virtual void start() = 0;
  // On the strand: closes the connection now if no request is under way, else after its response.
  virtual void close_if_idle() = 0;
  virtual void close_now() = 0;

  void send(HttpResponse response) override {
    if (strand_.running_in_this_thread()) return respond(std::move(response));
    net::post(strand_, [self = shared_from_this(), r = std::move(response)]() mutable { self->respond(std::move(r)); });
  }

  void abandoned() override {
    if (strand_.running_in_this_thread() && in_handler_) {
      abandoned_in_handler_ = true;  // invoke() answers, with the mapped error if the handler threw
      return;
    }
    net::dispatch(strand_, [self = shared_from_this()] {
      self->respond(json_error(500, "internal-error", "the server did not answer this request",
                               self->req_.request_id));
    });
  }

 protected:
  enum class Phase { Handshake, Idle, Header, Body };

  virtual void write_response() = 0;

  const Config& config() const { return server_->config; }

  // A complete request: fill req_, route, call the handler.
  void handle(http::request<http::string_body>& msg) {
    begin_exchange();
    req_.method.assign(msg.method_string());
    req_.target.assign(msg.target());
    req_.headers.clear();
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto [it, inserted] = req_.headers.try_emplace(std::move(name), field.value());
      if (!inserted) {
        it->second += ", ";
        it->second.append(field.value());
      }
    }
    req_.body = std::move(msg.body());
    req_.client_certificate = client_certificate_;
    req_.params.clear();
    http10_ = msg.version() == 10;
    keep_alive_ = msg.keep_alive() && !server_->stopping.load(std::memory_order_relaxed);
    head_request_ = req_.method == "HEAD";
    if (head_request_) req_.method = "GET";

    const std::string_view target = req_.target;
    if (target.empty() || target.front() != '/') {
      return reject(400, "malformed-request", "the request target must be a path starting with '/'", "bad_request");
    }
    const std::string_view path = detail::path_of(target);
    auto decoded = detail::percent_decode(path);
    if (!decoded) return reject(400, "malformed-request", "the request path has an invalid %-escape", "bad_request");
    req_.path = std::move(*decoded);
    req_.query.assign(path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view());

    Router::Match m = server_->router.match(req_);
    route_ = m.route;
    if (m.error) return respond(std::move(*m.error));
    invoke(*m.handler);
  }

  void invoke(const Handler& handler) {
    std::exception_ptr thrown;
    in_handler_ = true;
    try {
      handler(req_, Responder(shared_from_this()));
    } catch (...) {
      thrown = std::current_exception();
    }
    in_handler_ = false;
    if (abandoned_in_handler_ && !answered_) {
      respond(thrown ? thrown_response(thrown, req_.request_id)
                     : json_error(500, "internal-error", "the server did not answer this request", req_.request_id));
    } else if (thrown) {
      (void)thrown_response(thrown, req_.request_id);  // logs it; the answer is already under way
    }
  }

  // Starts a new exchange: a fresh request id, nothing answered yet.
  void begin_exchange() {
    fill_request_id(req_.request_id);
    req_.listener = listener_;
    req_.remote = remote_;
    answered_ = false;
    abandoned_in_handler_ = false;
    route_ = {};
    in_flight_ = true;
  }

  // Answers an unusable request (malformed, too large) and closes the connection afterwards.
  void reject(int status, std::string_view code, const std::string& message, std::string_view error_kind) {
    if (!in_flight_) {
      begin_exchange();
      req_.method = "-";
      req_.target.clear();
      head_request_ = false;
    }
    server_->count_error(listener_, error_kind);
    keep_alive_ = false;
    drain_ = true;
    respond(json_error(status, code, message, req_.request_id));
  }

  // On the strand: writes `response` (once per request).
  void respond(HttpResponse response) {
    if (answered_ || !in_flight_) {
      spdlog::warn("request {}: a second answer (status {}) was dropped", req_.request_id, response.status);
      return;
    }
    answered_ = true;
    response_ = std::move(response);
    const int status = response_.status;
    const bool bodyless = (status >= 100 && status < 200) || status == 204 || status == 304;
    send_body_ = !bodyless && !head_request_;
    head_.clear();
    head_ += "HTTP/1.1 ";
    append_number(head_, static_cast<std::uint64_t>(status < 100 || status > 999 ? 500 : status));
    head_ += ' ';
    const std::string_view reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
    head_ += reason.empty() || reason.front() == '<' ? std::string_view("Status") : reason;
    head_ += "\r\nDate: ";
    head_ += http_date_now();
    head_ += "\r\nX-Request-Id: ";
    head_ += req_.request_id;
    head_ += "\r\nX-Content-Type-Options: nosniff\r\n";
    if (!bodyless) {
      head_ += "Content-Type: ";
      head_ += response_.content_type.empty() || !header_safe(response_.content_type) ? "application/octet-stream"
                                                                                       : response_.content_type;
      head_ += "\r\nContent-Length: ";
      append_number(head_, response_.body.size());
      head_ += "\r\n";
    }
    bool cache_control = false;
    for (const auto& [name, value] : response_.headers) {
      if (name.empty() || !header_safe(name) || !header_safe(value) || iequals(name, "content-length") ||
          iequals(name, "transfer-encoding") || iequals(name, "connection")) {
        continue;  // the server owns framing; CR/LF would split the response
      }
      cache_control = cache_control || iequals(name, "cache-control");
      head_ += name;
      head_ += ": ";
      head_ += value;
      head_ += "\r\n";
    }
    if (!cache_control) head_ += "Cache-Control: no-store\r\n";
    if (!keep_alive_) {
      head_ += "Connection: close\r\n";
    } else if (http10_) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += "\r\n";
    write_response();
  }

  // After the response is written (or failed): one log line, the request metrics.
  void finish_exchange(const beast::error_code& ec) {
    in_flight_ = false;
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const std::string_view l = listener_name(listener_);
    const std::string_view route = route_.empty() ? std::string_view("unmatched") : route_;
    const std::string_view method = head_request_ ? std::string_view("HEAD") : std::string_view(req_.method);
    std::array<char, 8> code{};
    const auto end = std::to_chars(code.data(), code.data() + code.size(), response_.status).ptr;
    server_->metrics.increment("signet_http_requests_total", {{"listener", l},
                                                              {"route", route},
                                                              {"method", method_label(method)},
                                                              {"code", std::string_view(code.data(), end)}});
    server_->metrics.observe("signet_http_request_duration_seconds", {{"listener", l}, {"route", route}}, seconds);

    spdlog::logger* log = spdlog::default_logger_raw();
    if (!log->should_log(spdlog::level::info)) return;
    fmt::memory_buffer line;
    const std::string_view path = req_.target.empty() ? std::string_view("-") : detail::path_of(req_.target);
    fmt::format_to(std::back_inserter(line), "{} {} {} {} {} {} {}B {:.1f}ms", req_.request_id, l, remote_, method,
                   path, response_.status, send_body_ ? response_.body.size() : 0, seconds * 1000.0);
    if (ec) fmt::format_to(std::back_inserter(line), " write-failed:{}", ec.message());
    if (!response_.log_note.empty()) {
      line.push_back(' ');
      for (char c : response_.log_note) line.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
    }
    log->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  }

  std::shared_ptr<ServerImpl> server_;
  const Listener listener_;
  const Strand strand_;
  const std::string remote_;
  std::optional<crypto::Certificate> client_certificate_;

  Phase phase_ = Phase::Handshake;
  bool first_request_ = true;
  bool in_flight_ = false;     // a request is being answered
  bool answered_ = false;
  bool in_handler_ = false;    // the handler is running synchronously on this strand
  bool abandoned_in_handler_ = false;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool head_request_ = false;
  bool send_body_ = true;
  bool drain_ = false;         // the client may still be sending: read and drop before closing
  Clock::time_point start_{};
  HttpRequest req_;
  HttpResponse response_;
  std::string head_;
  std::string_view route_;

 private:
  std::list<std::weak_ptr<ConnectionBase>>::iterator registration_;
  bool registered_ = false;
};

template <class Stream>
class Connection final : public ConnectionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(std::shared_ptr<ServerImpl> server, Listener listener, Strand strand, std::string remote,
             tcp::socket socket, std::shared_ptr<ssl::context> tls)
      : ConnectionBase(std::move(server), listener, std::move(strand), std::move(remote)),
        tls_(std::move(tls)),
        stream_(make_stream(std::move(socket), tls_.get())) {}

  void start() override {
    if constexpr (kTls) {
      phase_ = Phase::Handshake;
      lowest().expires_after(config().header_timeout);
      stream_.async_handshake(ssl::stream_base::server, beast::bind_front_handler(&Connection::on_handshake, self()));
    } else {
      begin_request();
    }
  }

  void close_if_idle() override {
    if (!in_flight_ && (phase_ == Phase::Idle || phase_ == Phase::Handshake)) {
      close_now();
    } else {
      keep_alive_ = false;
    }
  }

  void close_now() override { lowest().close(); }

 private:
  static Stream make_stream(tcp::socket&& socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Connection> self() { return std::static_pointer_cast<Connection>(shared_from_this()); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      const bool timeout = ec == beast::error::timeout;
      server_->count_error(listener_, timeout ? "handshake_timeout" : "tls_handshake");
      spdlog::debug("TLS handshake with {} failed: {}", remote_, timeout ? "timeout" : ec.message());
      return close_now();
    }
    if constexpr (kTls) {
      if (X509* peer = SSL_get1_peer_certificate(stream_.native_handle())) {
        try {
          client_certificate_ = crypto::Certificate::from_x509(peer);
        } catch (const std::exception& e) {
          spdlog::debug("client certificate from {} unusable: {}", remote_, e.what());
        }
        X509_free(peer);
      }
    }
    begin_request();
  }

  // Waits for the next request (the first one has header_timeout from the start, later ones
  // idle_timeout until their first byte).
  void begin_request() {
    phase_ = Phase::Idle;
    drain_ = false;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(static_cast<std::uint64_t>(config().max_body_bytes));
    parser_->eager(true);
    if (server_->stopping.load(std::memory_order_relaxed)) return close_now();
    lowest().expires_after(first_request_ ? config().header_timeout : config().idle_timeout);
    if (buffer_.size() > 0) {
      first_byte();
      return parse();
    }
    read();
  }

  void read() {
    stream_.async_read_some(buffer_.prepare(kReadSize), beast::bind_front_handler(&Connection::on_read, self()));
  }

  void first_byte() {
    phase_ = Phase::Header;
    start_ = Clock::now();
    if (!first_request_) lowest().expires_after(config().header_timeout);
  }

  void on_read(beast::error_code ec, std::size_t n) {
    buffer_.commit(n);
    if (ec) return on_read_error(ec);
    if (phase_ == Phase::Idle) first_byte();
    parse();
  }

  void on_read_error(const beast::error_code& ec) {
    if (ec == net::error::operation_aborted) return;
    if (ec == beast::error::timeout) {
      if (phase_ == Phase::Idle && !first_request_) {
        spdlog::debug("closing idle connection from {}", remote_);
      } else {
        server_->count_error(listener_, phase_ == Phase::Body ? "request_timeout" : "header_timeout");
        spdlog::debug("dropping {}: its request did not arrive in time", remote_);
      }
    }
    close_now();
  }

  void parse() {
    for (;;) {
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return on_parse_error(ec);
      if (phase_ == Phase::Header && parser_->is_header_done()) {
        phase_ = Phase::Body;
        if (!parser_->is_done()) {
          lowest().expires_after(config().request_timeout);
          const auto expect = parser_->get()[http::field::expect];
          if (iequals(expect, "100-continue")) return write_continue();
        }
      }
      if (parser_->is_done()) return handle(parser_->get());
      if (used == 0) break;
    }
    read();
  }

  void on_parse_error(const beast::error_code& ec) {
    if (parser_->is_header_done()) {
      begin_exchange();
      req_.method.assign(parser_->get().method_string());
      req_.target.assign(parser_->get().target());
      head_request_ = false;
    }
    if (ec == http::error::body_limit) {
      return reject(413, "body-too-large",
                    "the request body is larger than " + std::to_string(config().max_body_bytes) + " bytes",
                    "body_too_large");
    }
    if (ec == http::error::header_limit) {
      return reject(431, "header-too-large", "the request header is larger than 8 KiB", "header_too_large");
    }
    reject(400, "malformed-request", "the request is not valid HTTP/1.1 (" + ec.message() + ")", "bad_request");
  }

  void write_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = self()](beast::error_code ec, std::size_t) {
                       if (ec) return self->close_now();
                       self->parse();
                     });
  }

  void write_response() override {
    lowest().expires_after(config().request_timeout);
    const std::array<net::const_buffer, 2> buffers{
        net::buffer(head_), send_body_ ? net::buffer(response_.body) : net::const_buffer()};
    net::async_write(stream_, buffers, beast::bind_front_handler(&Connection::on_write, self()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    finish_exchange(ec);
    if (ec) return close_now();
    if (!keep_alive_ || server_->stopping.load(std::memory_order_relaxed)) return close_gracefully();
    first_request_ = false;
    begin_request();
  }

  // After a final response: drop what the client is still sending (so that the kernel does not
  // reset the connection before it read the answer), then close (TLS: with close_notify).
  void close_gracefully() {
    lowest().expires_after(kCloseTimeout);
    if (drain_) {
      // Our side is done: the client sees the end at once, and we read until it closes too.
      drain_ = false;
      buffer_.clear();
      drained_ = 0;
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      return drain();
    }
    if constexpr (kTls) {
      stream_.async_shutdown([self = self()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      close_now();
    }
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(kReadSize), [self = self()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      self->buffer_.clear();
      if (ec || self->drained_ > kDrainLimit) return self->close_now();
      self->drain();
    });
  }

  std::shared_ptr<ssl::context> tls_;  // kept alive for the SSL object (nullptr for plain HTTP)
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::size_t drained_ = 0;
};

}  // namespace

void HttpServer::Impl::bind(Acceptor& a, const std::string& address, std::uint16_t port) {
  const std::string where = "[" + std::string(listener_name(a.kind)) + "] " + address + ":" + std::to_string(port);
  try {
    beast::error_code ec;
    auto ip = net::ip::make_address(address, ec);
    tcp::endpoint endpoint;
    if (!ec) {
      endpoint = tcp::endpoint(ip, port);
    } else {
      tcp::resolver resolver(io);
      endpoint = *resolver.resolve(address, std::to_string(port), tcp::resolver::passive).begin();
    }
    a.acceptor.open(endpoint.protocol());
    a.acceptor.set_option(tcp::acceptor::reuse_address(true));
    a.acceptor.bind(endpoint);
    a.acceptor.listen(net::socket_base::max_listen_connections);
    a.port = a.acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw Error(ErrorKind::Conflict, "listen-failed", "cannot listen on " + where + ": " + e.code().message());
  }
}

void HttpServer::Impl::accept(Acceptor& a) {
  Strand strand = net::make_strand(io);
  a.acceptor.async_accept(strand, [self = shared_from_this(), &a, strand](beast::error_code ec, tcp::socket socket) {
    self->on_accept(a, strand, ec, std::move(socket));
  });
}

void HttpServer::Impl::on_accept(Acceptor& a, Strand strand, beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopping.load()) return;
  if (ec) {
    // Out of file descriptors and the like: wait a little instead of spinning.
    spdlog::warn("accepting on the {} listener failed: {}", listener_name(a.kind), ec.message());
    a.retry.expires_after(std::chrono::milliseconds(100));
    a.retry.async_wait([self = shared_from_this(), &a](beast::error_code wait_ec) {
      if (!wait_ec) self->accept(a);
    });
    return;
  }
  if (open.load() >= config.max_connections) {
    count_error(a.kind, "connection_limit");
    if (refused.fetch_add(1) % 1000 == 0) {
      spdlog::warn("refusing connections: {} are open (server.max_connections)", config.max_connections);
    }
    beast::error_code ignored;
    socket.close(ignored);
    return accept(a);
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  beast::error_code peer_ec;
  const auto peer = socket.remote_endpoint(peer_ec);
  std::string remote = peer_ec ? std::string("unknown") : format_endpoint(peer);
  std::shared_ptr<ConnectionBase> connection;
  if (a.kind == Listener::Https) {
    connection = std::make_shared<Connection<TlsStream>>(shared_from_this(), a.kind, strand, std::move(remote),
                                                         std::move(socket), tls());
  } else {
    connection = std::make_shared<Connection<PlainStream>>(shared_from_this(), a.kind, strand, std::move(remote),
                                                           std::move(socket), nullptr);
  }
  connection->register_self();
  net::post(strand, [connection] { connection->start(); });
  accept(a);
}

HttpServer::HttpServer(net::io_context& io, const Router& router, Metrics& metrics, const Config& config)
    : impl_(std::make_shared<Impl>(io, router, metrics, config)) {}

HttpServer::~HttpServer() {
  if (!impl_->stopping.load()) {
    impl_->stopping = true;
    net::post(impl_->https.strand, [impl = impl_] {
      beast::error_code e;
      impl->https.acceptor.close(e);
      impl->https.retry.cancel();
    });
    net::post(impl_->http.strand, [impl = impl_] {
      beast::error_code e;
      impl->http.acceptor.close(e);
      impl->http.retry.cancel();
    });
  }
}

void HttpServer::start() {
  {
    auto context = load_tls_context(impl_->config);
    std::lock_guard lock(impl_->tls_mutex);
    impl_->tls_context = std::move(context);
  }
  impl_->bind(impl_->https, impl_->config.https_address, impl_->config.https_port);
  impl_->bind(impl_->http, impl_->config.http_address, impl_->config.http_port);
  net::post(impl_->https.strand, [impl = impl_] { impl->accept(impl->https); });
  net::post(impl_->http.strand, [impl = impl_] { impl->accept(impl->http); });
}

std::uint16_t HttpServer::port(Listener listener) const {
  return listener == Listener::Https ? impl_->https.port : impl_->http.port;
}

void HttpServer::reload_tls(const Config& config) {
  auto context = load_tls_context(config);
  std::lock_guard lock(impl_->tls_mutex);
  impl_->tls_context = std::move(context);
}

std::size_t HttpServer::open_connections() const { return impl_->open.load(); }

void HttpServer::stop(std::chrono::milliseconds grace) {
  impl_->stopping = true;
  for (Impl::Acceptor* a : {&impl_->https, &impl_->http}) {
    net::post(a->strand, [impl = impl_, a] {  // impl: keeps the acceptor alive
      beast::error_code ignored;
      a->acceptor.close(ignored);
      a->retry.cancel();
    });
  }
  const auto each_connection = [this](auto action) {
    std::vector<std::shared_ptr<ConnectionBase>> live;
    {
      std::lock_guard lock(impl_->connections_mutex);
      for (const auto& weak : impl_->connections) {
        if (auto c = weak.lock()) live.push_back(std::move(c));
      }
    }
    for (auto& c : live) net::post(c->strand(), [c, action] { action(*c); });
  };
  each_connection([](ConnectionBase& c) { c.close_if_idle(); });
  const auto wait_until = [this](Clock::time_point deadline) {
    while (impl_->open.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  wait_until(Clock::now() + grace);
  if (impl_->open.load() > 0) {
    spdlog::warn("closing {} connections that did not finish in time", impl_->open.load());
    each_connection([](ConnectionBase& c) { c.close_now(); });
    wait_until(Clock::now() + std::chrono::seconds(2));
  }
}

void check_tls_files(const Config& config) { (void)load_tls_context(config); }

void add_builtin_routes(Router& router, Metrics& metrics) {
  router.add("GET", "/healthz", {Listener::Https, Listener::Http}, [](HttpRequest&, Responder respond) {
    HttpResponse r;
    r.body = R"({"status":"ok"})";
    respond(std::move(r));
  });
  router.add("GET", "/metrics", {Listener::Http}, [&metrics](HttpRequest&, Responder respond) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics.render();
    respond(std::move(r));
  });
}

unsigned thread_count(unsigned configured) {
  if (configured != 0) return configured;
  return std::max(1U, std::thread::hardware_concurrency());
}

IoThreads::IoThreads(net::io_context& io, unsigned threads) : io_(io) {
  const unsigned n = thread_count(threads);
  // Keeps run() from returning while the server waits for its first connection.
  auto guard = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(io.get_executor());
  for (unsigned i = 0; i < n; ++i) {
    threads_.emplace_back([&io, guard] {
      for (;;) {
        try {
          io.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("unhandled exception on a server thread: {}", e.what());
        }
      }
    });
  }
}

IoThreads::~IoThreads() { stop(); }

void IoThreads::stop() {
  io_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace signet::daemon
