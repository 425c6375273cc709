// Boost.Asio 1.74's ssl headers still call OpenSSL's deprecated RSA and DH functions; they must be
// declared here (before any OpenSSL header) although signet_common builds with OPENSSL_NO_DEPRECATED.
#undef OPENSSL_NO_DEPRECATED

#include "connection.h"

#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "access_log.h"
#include "request_reader.h"
#include "response.h"

namespace signet::daemon {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

ServerShared::Admission ServerShared::admit(Listener listener, const std::string& address) {
  std::lock_guard lock(limits_mutex_);
  std::size_t& on_listener = per_listener_[listener == Listener::Https ? 0 : 1];
  if (on_listener >= config.max_connections) return Admission::ListenerFull;
  const auto it = per_address_.find(address);
  if (it != per_address_.end() && it->second >= config.max_connections_per_address) return Admission::AddressFull;
  ++on_listener;
  ++per_address_[address];
  return Admission::Admitted;
}

void ServerShared::release(Listener listener, const std::string& address) {
  std::lock_guard lock(limits_mutex_);
  --per_listener_[listener == Listener::Https ? 0 : 1];
  const auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

void ServerShared::count_error(Listener listener, std::string_view kind) {
  metrics.increment("signet_http_errors_total", {{"listener", listener_name(listener)}, {"kind", kind}});
}

namespace {

using Clock = std::chrono::steady_clock;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::chrono::seconds kCloseTimeout{2};  // TLS close_notify
// Lingering close after an early answer, as nginx does (lingering_time, lingering_timeout): read
// and drop what the client still sends, until it stops for kLingerQuiet, kLingerTime has passed or
// kLingerBytes were dropped.
constexpr std::chrono::seconds kLingerTime{30};
constexpr std::chrono::seconds kLingerQuiet{5};
constexpr std::size_t kLingerBytes = 64 * 1024 * 1024;
constexpr std::size_t kDrainRead = 16 * 1024;

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

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string format_endpoint(const tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// The state machine: handshake (TLS), wait for a request, read its header and body, call the
// handler, write the answer; then the next request, or close (lingering after a refusal).
template <class Stream>
class HttpConnection final : public Connection,
                             public Responder::Sink,
                             public std::enable_shared_from_this<HttpConnection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  HttpConnection(std::shared_ptr<ServerShared> shared, Listener listener, Strand strand, tcp::socket socket,
                 std::shared_ptr<ssl::context> tls, std::string address)
      : shared_(std::move(shared)),
        listener_(listener),
        strand_(std::move(strand)),
        address_(std::move(address)),
        tls_(std::move(tls)),
        reader_(static_cast<std::uint64_t>(shared_->config.max_body_bytes)),
        stream_(make_stream(std::move(socket), tls_.get())) {
    beast::error_code ec;
    const auto peer = lowest().socket().remote_endpoint(ec);
    remote_ = ec ? std::string("unknown") : format_endpoint(peer);
    shared_->open.fetch_add(1);
    shared_->metrics.add_gauge("signet_connections_open", {{"listener", listener_name(listener_)}}, 1);
  }
  ~HttpConnection() override {
    {
      std::lock_guard lock(shared_->connections_mutex);
      if (registered_) shared_->connections.erase(registration_);
    }
    shared_->release(listener_, address_);
    shared_->metrics.add_gauge("signet_connections_open", {{"listener", listener_name(listener_)}}, -1);
    shared_->open.fetch_sub(1);
  }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void register_self() {
    std::lock_guard lock(shared_->connections_mutex);
    registration_ = shared_->connections.insert(shared_->connections.end(), this->weak_from_this());
    registered_ = true;
  }

  const Strand& strand() const override { return strand_; }

  void start() override {
    if constexpr (kTls) {
      phase_ = Phase::Handshake;
      lowest().expires_after(config().header_timeout);
      stream_.async_handshake(ssl::stream_base::server, beast::bind_front_handler(&HttpConnection::on_handshake, self()));
    } else {
      begin_request();
    }
  }

  void close_if_idle() override {
    if (!in_flight_ && phase_ != Phase::Header && phase_ != Phase::Body) {
      close_now();
    } else {
      keep_alive_ = false;
    }
  }

  void close_now() override {
    phase_ = Phase::Closed;
    lowest().close();
  }

  // Responder::Sink: from any thread.
  void send(HttpResponse response) override {
    if (strand_.running_in_this_thread()) return respond(std::move(response));
    net::post(strand_, [self = self(), r = std::move(response)]() mutable { self->respond(std::move(r)); });
  }

  void abandoned() override {
    if (strand_.running_in_this_thread() && in_handler_) {
      abandoned_in_handler_ = true;  // invoke() answers, with the mapped error if the handler threw
      return;
    }
    net::dispatch(strand_, [self = self()] {
      self->respond(json_error(500, "internal-error", "the server did not answer this request", self->req_.request_id));
    });
  }

 private:
  enum class Phase { Handshake, Idle, Header, Body, Answer, Lingering, Closed };

  static Stream make_stream(tcp::socket&& socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<HttpConnection> self() { return this->shared_from_this(); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const Config& config() const { return shared_->config; }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      const bool timeout = ec == beast::error::timeout;
      shared_->count_error(listener_, timeout ? "handshake_timeout" : "tls_handshake");
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
    if (shared_->stopping.load(std::memory_order_relaxed)) return close_now();
    lowest().expires_after(first_request_ ? config().header_timeout : config().idle_timeout);
    if (reader_.buffered()) {
      first_byte();
      return parse();
    }
    read();
  }

  void read() {
    stream_.async_read_some(reader_.prepare(), beast::bind_front_handler(&HttpConnection::on_read, self()));
  }

  void first_byte() {
    phase_ = Phase::Header;
    start_ = Clock::now();
    if (!first_request_) lowest().expires_after(config().header_timeout);
  }

  void on_read(beast::error_code ec, std::size_t n) {
    reader_.commit(n);
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
        shared_->count_error(listener_, phase_ == Phase::Body ? "request_timeout" : "header_timeout");
        spdlog::debug("dropping {}: its request did not arrive in time", remote_);
      }
    }
    close_now();
  }

  void parse() {
    switch (reader_.parse()) {
      case RequestReader::Event::NeedMore: return read();
      case RequestReader::Event::Header: {
        phase_ = Phase::Body;
        lowest().expires_after(config().request_timeout);
        if (iequals(reader_.request()[http::field::expect], "100-continue")) return write_continue();
        return parse();
      }
      case RequestReader::Event::Request: return handle();
      case RequestReader::Event::Refused: return on_refused();
    }
  }

  void on_refused() {
    if (reader_.header_done()) {
      begin_exchange();
      req_.method.assign(reader_.request().method_string());
      req_.target.assign(reader_.request().target());
    }
    reject(reader_.refusal());
  }

  void write_continue() {
    continue_ = std::make_unique<http::response<http::empty_body>>(http::status::continue_, 11);
    http::async_write(stream_, *continue_, [self = self()](beast::error_code ec, std::size_t) {
      self->continue_.reset();
      if (ec) return self->close_now();
      self->parse();
    });
  }

  // A complete request: fill req_, route, call the handler.
  void handle() {
    begin_exchange();
    auto& msg = reader_.request();
    http10_ = msg.version() == 10;
    keep_alive_ = msg.keep_alive() && !shared_->stopping.load(std::memory_order_relaxed);
    req_.client_certificate = client_certificate_;
    if (auto refusal = to_http_request(msg, req_, head_request_)) return reject(*refusal);
    Router::Match m = shared_->router.match(req_);
    route_ = m.route;
    if (m.error) return respond(std::move(*m.error));
    invoke(*m.handler);
  }

  void invoke(const Handler& handler) {
    std::exception_ptr thrown;
    in_handler_ = true;
    try {
      handler(req_, Responder(self()));
    } catch (...) {
      thrown = std::current_exception();
    }
    in_handler_ = false;
    if (abandoned_in_handler_ && !answered_) {
      respond(thrown ? error_response(thrown, req_.request_id)
                     : json_error(500, "internal-error", "the server did not answer this request", req_.request_id));
    } else if (thrown) {
      (void)error_response(thrown, req_.request_id);  // logs it; the answer is already under way
    }
  }

  // Starts a new exchange: a fresh request id, nothing answered yet.
  void begin_exchange() {
    if (in_flight_) return;
    fill_request_id(req_.request_id);
    req_.listener = listener_;
    req_.remote = remote_;
    req_.method = "-";
    req_.target.clear();
    head_request_ = false;
    answered_ = false;
    abandoned_in_handler_ = false;
    route_ = {};
    in_flight_ = true;
    if (phase_ == Phase::Idle || phase_ == Phase::Handshake) start_ = Clock::now();
  }

  // Answers an unusable request (malformed, too large, doubtful framing), then lingers and closes:
  // nothing after it on this connection is read as a request.
  void reject(const Refusal& refusal) {
    begin_exchange();
    shared_->count_error(listener_, refusal.metric_kind);
    keep_alive_ = false;
    linger_ = true;
    respond(json_error(refusal.status, refusal.code, refusal.message, req_.request_id));
  }

  // On the strand: writes `response` (once per request) with Beast's serializer, which writes the
  // whole message: Asio's async_write over Beast's ssl_stream (a flat_stream) stopped early on
  // bodies above 16 KiB (see write_response).
  void respond(HttpResponse response) {
    if (answered_ || !in_flight_ || phase_ == Phase::Closed) {
      if (phase_ != Phase::Closed) {
        spdlog::warn("request {}: a second answer (status {}) was dropped", req_.request_id, response.status);
      }
      return;
    }
    answered_ = true;
    phase_ = Phase::Answer;
    status_ = response.status;
    note_ = std::move(response.log_note);
    response_.emplace(make_response(response, {req_.request_id, keep_alive_, http10_}));
    serializer_.emplace(*response_);
    lowest().expires_after(config().request_timeout);
    if (head_request_) {
      http::async_write_header(stream_, *serializer_, beast::bind_front_handler(&HttpConnection::on_write, self()));
    } else {
      http::async_write(stream_, *serializer_, beast::bind_front_handler(&HttpConnection::on_write, self()));
    }
  }

  void on_write(beast::error_code ec, std::size_t) {
    in_flight_ = false;
    record_exchange(shared_->metrics,
                    {req_.request_id, listener_, remote_, head_request_ ? std::string_view("HEAD") : req_.method,
                     req_.target, route_, status_, head_request_ ? 0 : response_->body().size(),
                     std::chrono::duration<double>(Clock::now() - start_).count(),
                     ec ? ec.message() : std::string(), note_});
    serializer_.reset();
    response_.reset();
    if (ec) return close_now();
    if (!keep_alive_ || shared_->stopping.load(std::memory_order_relaxed)) return close_gracefully();
    first_request_ = false;
    reader_.next();
    begin_request();
  }

  // After a final response: lingering close after a refusal, else close (TLS: with close_notify).
  void close_gracefully() {
    if (linger_) return linger();
    lowest().expires_after(kCloseTimeout);
    if constexpr (kTls) {
      stream_.async_shutdown([self = self()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      close_now();
    }
  }

  // Our side is done (the client sees the end of the answer at once); what the client still sends
  // is read off the TCP socket and dropped, so that closing does not reset the connection and
  // destroy the answer before the client read it. TLS records are dropped undecrypted.
  void linger() {
    phase_ = Phase::Lingering;
    linger_end_ = Clock::now() + kLingerTime;
    lingered_ = 0;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    drain();
  }

  void drain() {
    const auto left = linger_end_ - Clock::now();
    if (left <= Clock::duration::zero() || lingered_ > kLingerBytes) return close_now();
    lowest().expires_after(std::min<Clock::duration>(left, kLingerQuiet));
    if (!drain_buffer_) drain_buffer_ = std::make_unique<char[]>(kDrainRead);
    lowest().async_read_some(net::buffer(drain_buffer_.get(), kDrainRead), [self = self()](beast::error_code ec, std::size_t n) {
      self->lingered_ += n;
      if (ec) return self->close_now();
      self->drain();
    });
  }

  std::shared_ptr<ServerShared> shared_;
  const Listener listener_;
  const Strand strand_;
  const std::string address_;
  std::string remote_;
  std::shared_ptr<ssl::context> tls_;  // kept alive for the SSL object (nullptr for plain HTTP)
  RequestReader reader_;
  Stream stream_;
  std::optional<crypto::Certificate> client_certificate_;
  std::list<std::weak_ptr<Connection>>::iterator registration_;
  bool registered_ = false;

  Phase phase_ = Phase::Handshake;
  bool first_request_ = true;
  bool in_flight_ = false;  // a request is being answered
  bool answered_ = false;
  bool in_handler_ = false;  // the handler is running synchronously on this strand
  bool abandoned_in_handler_ = false;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool head_request_ = false;
  bool linger_ = false;  // the client may still be sending: linger before closing
  Clock::time_point start_{};
  HttpRequest req_;
  std::string_view route_;
  int status_ = 0;
  std::string note_;
  std::optional<BeastResponse> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  std::unique_ptr<http::response<http::empty_body>> continue_;
  Clock::time_point linger_end_{};
  std::size_t lingered_ = 0;
  std::unique_ptr<char[]> drain_buffer_;  // only while lingering
};

}  // namespace

std::shared_ptr<Connection> make_connection(std::shared_ptr<ServerShared> shared, Listener listener, Strand strand,
                                            tcp::socket socket, std::shared_ptr<ssl::context> tls,
                                            std::string address) {
  if (listener == Listener::Https) {
    auto c = std::make_shared<HttpConnection<TlsStream>>(std::move(shared), listener, std::move(strand),
                                                         std::move(socket), std::move(tls), std::move(address));
    c->register_self();
    return c;
  }
  auto c = std::make_shared<HttpConnection<PlainStream>>(std::move(shared), listener, std::move(strand),
                                                         std::move(socket), nullptr, std::move(address));
  c->register_self();
  return c;
}

}  // namespace signet::daemon
