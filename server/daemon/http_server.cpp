// The listeners: binding, accepting under the connection limits, TLS reload and the graceful stop.
// What a connection does is in connection.cpp.
// Boost.Asio 1.74's ssl headers still call OpenSSL's deprecated RSA and DH functions; they must be
// declared here (before any OpenSSL header) although signet_common builds with OPENSSL_NO_DEPRECATED.
#undef OPENSSL_NO_DEPRECATED

#include "http_server.h"

#include <atomic>
#include <mutex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "access_log.h"
#include "connection.h"
#include "signet/core/error.h"
#include "tls_context.h"

namespace signet::daemon {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

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
      : io(i), shared(std::make_shared<ServerShared>(r, m, c)), https(i, Listener::Https), http(i, Listener::Http) {}

  std::shared_ptr<ssl::context> tls() {
    std::lock_guard lock(tls_mutex);
    return tls_context;
  }
  void bind(Acceptor& a, const std::string& address, std::uint16_t port);
  void accept(Acceptor& a);
  void on_accept(Acceptor& a, Strand strand, boost::system::error_code ec, tcp::socket socket);
  void close_acceptors();
  // Runs `action` on the strand of every open connection.
  template <class Action>
  void each_connection(Action action);

  net::io_context& io;
  std::shared_ptr<ServerShared> shared;
  Acceptor https;
  Acceptor http;
  std::mutex tls_mutex;
  std::shared_ptr<ssl::context> tls_context;
  std::atomic<std::uint64_t> refused{0};
};

void HttpServer::Impl::bind(Acceptor& a, const std::string& address, std::uint16_t port) {
  const std::string where = "[" + std::string(listener_name(a.kind)) + "] " + address + ":" + std::to_string(port);
  try {
    boost::system::error_code ec;
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
  a.acceptor.async_accept(strand, [self = shared_from_this(), &a, strand](boost::system::error_code ec,
                                                                         tcp::socket socket) {
    self->on_accept(a, strand, ec, std::move(socket));
  });
}

void HttpServer::Impl::on_accept(Acceptor& a, Strand strand, boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || shared->stopping.load()) return;
  if (ec) {
    // Out of file descriptors and the like: wait a little instead of spinning.
    spdlog::warn("accepting on the {} listener failed: {}", listener_name(a.kind), ec.message());
    a.retry.expires_after(std::chrono::milliseconds(100));
    a.retry.async_wait([self = shared_from_this(), &a](boost::system::error_code wait_ec) {
      if (!wait_ec) self->accept(a);
    });
    return;
  }
  boost::system::error_code peer_ec;
  const auto peer = socket.remote_endpoint(peer_ec);
  std::string address = peer_ec ? std::string("unknown") : peer.address().to_string();
  const auto admission = shared->admit(a.kind, address);
  if (admission != ServerShared::Admission::Admitted) {
    const bool listener_full = admission == ServerShared::Admission::ListenerFull;
    shared->count_error(a.kind, listener_full ? "connection_limit" : "address_connection_limit");
    if (refused.fetch_add(1) % 1000 == 0) {
      if (listener_full) {
        spdlog::warn("refusing connections on the {} listener: {} are open (server.max_connections)",
                     listener_name(a.kind), shared->config.max_connections);
      } else {
        spdlog::warn("refusing connections from {}: it has {} open (server.max_connections_per_address)", address,
                     shared->config.max_connections_per_address);
      }
    }
    boost::system::error_code ignored;
    socket.close(ignored);
    return accept(a);
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto connection = make_connection(shared, a.kind, strand, std::move(socket),
                                    a.kind == Listener::Https ? tls() : nullptr, std::move(address));
  net::post(strand, [connection] { connection->start(); });
  accept(a);
}

void HttpServer::Impl::close_acceptors() {
  for (Acceptor* a : {&https, &http}) {
    net::post(a->strand, [self = shared_from_this(), a] {  // self: keeps the acceptor alive
      boost::system::error_code ignored;
      a->acceptor.close(ignored);
      a->retry.cancel();
    });
  }
}

template <class Action>
void HttpServer::Impl::each_connection(Action action) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(shared->connections_mutex);
    for (const auto& weak : shared->connections) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) net::post(c->strand(), [c, action] { action(*c); });
}

HttpServer::HttpServer(net::io_context& io, const Router& router, Metrics& metrics, const Config& config)
    : impl_(std::make_shared<Impl>(io, router, metrics, config)) {}

HttpServer::~HttpServer() {
  if (!impl_->shared->stopping.exchange(true)) impl_->close_acceptors();
}

void HttpServer::start() {
  {
    auto context = load_tls_context(impl_->shared->config);
    std::lock_guard lock(impl_->tls_mutex);
    impl_->tls_context = std::move(context);
  }
  const Config& config = impl_->shared->config;
  impl_->bind(impl_->https, config.https_address, config.https_port);
  impl_->bind(impl_->http, config.http_address, config.http_port);
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

std::size_t HttpServer::open_connections() const { return impl_->shared->open.load(); }

void HttpServer::stop(std::chrono::milliseconds grace) {
  impl_->shared->stopping = true;
  impl_->close_acceptors();
  impl_->each_connection([](Connection& c) { c.close_if_idle(); });
  // The caller's thread has nothing to wait on but the count of connections.
  const auto wait_until = [this](Clock::time_point deadline) {
    while (impl_->shared->open.load() > 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  wait_until(Clock::now() + grace);
  if (impl_->shared->open.load() > 0) {
    spdlog::warn("closing {} connections that did not finish in time", impl_->shared->open.load());
    impl_->each_connection([](Connection& c) { c.close_now(); });
    wait_until(Clock::now() + std::chrono::seconds(2));
  }
}

}  // namespace signet::daemon
