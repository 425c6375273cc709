// The daemon's HTTP layer: listeners (HTTPS for the API, plain HTTP for public material), a router,
// and the types handlers see. Only server/ uses Beast; common/ never sees HTTP.
//
// A handler gets the parsed request and a Responder. It may answer at once or later from any
// thread (issuance answers after the group commit); the Responder posts the answer back to the
// connection's strand. A Responder that is destroyed without answering sends 500.
//
// Thread-safety: the Router is filled before the server starts and only read afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/certificate.h"

namespace signet::daemon {

enum class Listener { Https, Http };

struct HttpRequest {
  std::string request_id;  // 16 hex chars, also sent as X-Request-Id
  Listener listener = Listener::Http;
  std::string method;      // "GET", "POST", ... (HEAD is routed as GET; `head` tells)
  bool head = false;
  std::string target;      // as sent: path and query
  std::string path;        // percent-decoded path without the query
  std::string query;       // raw query string without '?'
  std::map<std::string, std::string> headers;  // lowercase names; repeated headers joined by ", "
  std::string body;
  std::string remote;      // "127.0.0.1:53412"
  // The TLS client certificate and the chain the client sent, when it sent one. The HTTP layer
  // does not judge it: the API decides what it means.
  std::optional<crypto::Certificate> client_certificate;
  std::map<std::string, std::string> params;  // from the route pattern, e.g. {"serial", "3A0F..."}

  [[nodiscard]] std::string header(std::string_view lowercase_name) const;  // "" when absent
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Cache-Control, ...)
  // The client name or reason to show in the request's log line (never a secret).
  std::string log_note;
};

// Answers a request exactly once; callable from any thread.
class Responder {
 public:
  struct Sink {
    virtual ~Sink() = default;
    virtual void send(HttpResponse response) = 0;
    // The Responder was destroyed without answering (the default sends a 500 JSON error). The
    // server overrides it to answer with the mapped status when a handler threw.
    virtual void abandoned();
  };
  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept = default;
  ~Responder();
  void operator()(HttpResponse response);

 private:
  std::shared_ptr<Sink> sink_;
};

using Handler = std::function<void(HttpRequest&, Responder)>;

// Routes by method and path pattern. Patterns are literal segments and "{name}" segments:
// "/api/v1/certificates/{serial}/revoke"; a last segment "{name*}" takes the rest of the path,
// slashes included ("/ocsp/{request*}": base64 may hold '/' unencoded, RFC 6960 appendix A). A path that matches no pattern gets 404; a path that
// matches with another method gets 405 with Allow.
class Router {
 public:
  // `listeners`: on which listeners the route exists.
  void add(std::string method, std::string pattern, std::vector<Listener> listeners, Handler handler);
  // Sets req.params and returns the handler, or an error response (404/405).
  struct Match {
    const Handler* handler = nullptr;
    std::optional<HttpResponse> error;
    std::string_view route;  // the pattern (owned by the Router), for metrics labels ("" when none matched)
  };
  [[nodiscard]] Match match(HttpRequest& req) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    std::string pattern;
    std::vector<Listener> listeners;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// The HTTP status for an Error kind of common/: NotFound 404, Malformed 400, PolicyDenied 422,
// Unauthorized 401, Conflict 409, Unsupported 415, Storage 503, others 500.
[[nodiscard]] int http_status_of(ErrorKind kind);

// The one answer for an Error (error_mapping.cpp): its status (http_status_of) with its code and
// message; a message that names a server path is replaced by a generic one (the detail is logged);
// 5xx say "internal error" and log the detail; 503 (Storage) adds Retry-After.
[[nodiscard]] HttpResponse error_response(const Error& error, const std::string& request_id);
// The same for any exception caught in a handler (not an Error: 500).
[[nodiscard]] HttpResponse error_response(std::exception_ptr error, const std::string& request_id);

// A JSON error body: {"error": {"code": "...", "message": "...", "request_id": "..."}}.
[[nodiscard]] HttpResponse json_error(int status, std::string_view code, std::string_view message,
                                      std::string_view request_id);

}  // namespace signet::daemon
