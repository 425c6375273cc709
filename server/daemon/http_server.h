// HttpServer: signetd's two listeners, HTTPS (the API; TLS 1.2+, client certificates requested
// but not required) and plain HTTP (public material: CRLs, OCSP, the CA certificate), both served
// by the same Router on one io_context.
//
// Each connection runs on its own strand; handlers run on the io_context's threads and may answer
// later from any thread through their Responder. Limits (header 8 KiB, max_body_bytes, the header,
// request and idle timeouts, max_connections per listener, max_connections_per_address) come from
// the Config given at construction; only the TLS certificate and key are reloadable (reload_tls).
// Every request is logged at info level (never its query, body or credentials) and counted in
// Metrics. The pieces: tls_context, connection (with request_reader and response), access_log,
// error_mapping, io_threads, builtin_routes.
//
// Thread-safety: start(), reload_tls() and stop() from one controlling thread (main), which must
// not be one of the io_context's threads for stop(); port() and open_connections() from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config.h"
#include "http.h"
#include "metrics.h"

namespace signet::daemon {

class HttpServer {
 public:
  // `router` and `metrics` must outlive the server.
  HttpServer(boost::asio::io_context& io, const Router& router, Metrics& metrics, const Config& config);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS context, binds both listeners and starts accepting. Throws Error(Conflict,
  // "listen-failed") naming the address and port, or the errors of load_tls_context().
  void start();
  // The bound port (useful with port 0 in the configuration).
  [[nodiscard]] std::uint16_t port(Listener listener) const;
  // New TLS connections use the certificate and key of `config`; established ones keep theirs.
  // Throws (and keeps the old context) when they do not load.
  void reload_tls(const Config& config);
  // Stops accepting, closes idle keep-alive connections, lets in-flight requests finish for at most
  // `grace`, then closes what is left. Blocks until every connection is gone (or grace + 2 s).
  void stop(std::chrono::milliseconds grace);
  [[nodiscard]] std::size_t open_connections() const;

  struct Impl;  // private to http_server.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

// Checks that the TLS certificate chain and key of `config` load and match, as start() would.
// Throws Error(NotFound, "tls-file-missing") or Error(Crypto, "tls-invalid").
void check_tls_files(const Config& config);

// GET /healthz on both listeners ({"status":"ok"}) and GET /metrics on the HTTP listener only.
void add_builtin_routes(Router& router, Metrics& metrics);

// Runs an io_context on `threads` threads (0: one per core) until stop() or destruction; an
// exception escaping a handler is logged and the thread goes on.
class IoThreads {
 public:
  IoThreads(boost::asio::io_context& io, unsigned threads);
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;
  // Stops the io_context and joins the threads.
  void stop();

 private:
  boost::asio::io_context& io_;
  std::vector<std::thread> threads_;
};

// The thread count for a configured `threads` value (0: std::thread::hardware_concurrency()).
[[nodiscard]] unsigned thread_count(unsigned configured);

}  // namespace signet::daemon
