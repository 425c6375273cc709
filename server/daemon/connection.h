// One client connection of the HTTP server, and what all connections share.
//
// A connection reads requests with a RequestReader, routes them, calls the handler and writes the
// answer with Beast's serializer, keeping the connection alive when both sides want it. A refused
// request is answered, then the connection lingers (our side shut, the client's bytes read and
// dropped for a bounded time) before it closes, so that a client still sending its body reads the
// answer instead of a reset. Everything runs on the connection's strand; a Responder posts to it.
//
// Thread-safety: ServerShared's counters and registry lock; a connection is driven on its strand.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include "config.h"
#include "http.h"
#include "metrics.h"

namespace signet::daemon {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

class Connection;

// What the listeners and their connections share.
struct ServerShared {
  ServerShared(const Router& r, Metrics& m, const Config& c) : router(r), metrics(m), config(c) {}

  enum class Admission { Admitted, ListenerFull, AddressFull };
  // Takes a place for a new connection on `listener` from `address` (server.max_connections per
  // listener, server.max_connections_per_address across both); nothing is taken when refused.
  [[nodiscard]] Admission admit(Listener listener, const std::string& address);
  // Gives back the place admit() took.
  void release(Listener listener, const std::string& address);
  void count_error(Listener listener, std::string_view kind);

  const Router& router;
  Metrics& metrics;
  const Config config;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> open{0};  // on both listeners

  std::mutex connections_mutex;
  std::list<std::weak_ptr<Connection>> connections;

 private:
  std::mutex limits_mutex_;
  std::array<std::size_t, 2> per_listener_{};
  std::map<std::string, std::size_t, std::less<>> per_address_;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Starts the TLS handshake or the first read; call on the strand.
  virtual void start() = 0;
  // On the strand: closes the connection now if no request is under way, else after its answer.
  virtual void close_if_idle() = 0;
  virtual void close_now() = 0;
  [[nodiscard]] virtual const Strand& strand() const = 0;
};

// A connection for `socket`, admitted by shared->admit(listener, address) (the connection gives
// the place back when it ends) and registered in shared->connections. `tls` is the context for
// the HTTPS listener and nullptr for plain HTTP.
[[nodiscard]] std::shared_ptr<Connection> make_connection(std::shared_ptr<ServerShared> shared, Listener listener,
                                                          Strand strand, boost::asio::ip::tcp::socket socket,
                                                          std::shared_ptr<boost::asio::ssl::context> tls,
                                                          std::string address);

}  // namespace signet::daemon
