// add_builtin_routes (http_server.h): /healthz on both listeners, /metrics on the HTTP one.
#include "http_server.h"

namespace signet::daemon {

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

}  // namespace signet::daemon
