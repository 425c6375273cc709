// Plain-HTTP routes that are public by convention: the CA certificate, the CRLs, OCSP. They get
// the signer's revocation view, the CRL publisher and the OCSP responder: nothing here can issue.
#include <spdlog/spdlog.h>

#include "base64.h"
#include "ca_context.h"
#include "revocation.h"

namespace signet::daemon {
namespace {

using namespace std::chrono_literals;

const std::vector<Listener> kBoth = {Listener::Http, Listener::Https};

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

// Cache headers for a document valid from `this_update` until `next_update` (RFC 5019 6.2).
void add_cache_headers(HttpResponse& r, issuance::TimePoint this_update, issuance::TimePoint next_update) {
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(next_update - std::chrono::system_clock::now());
  const auto max_age = std::max<std::int64_t>(0, std::min<std::int64_t>(left.count(), 86400));
  r.headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(max_age) + ", no-transform, must-revalidate");
  r.headers.emplace_back("Last-Modified", http_date(this_update));
  r.headers.emplace_back("Expires", http_date(next_update));
}

HttpResponse ocsp_response(Metrics& metrics, const OcspAnswer& a, const std::string& method) {
  HttpResponse r;
  r.status = 200;  // RFC 6960 A.1: an unsuccessful OCSP response is still HTTP 200
  r.content_type = "application/ocsp-response";
  r.body = as_string(*a.der);
  if (a.successful && a.der) add_cache_headers(r, a.this_update, a.next_update);
  r.log_note = a.status + (a.cached ? " cached" : "");
  if (!a.nonce.empty()) r.log_note += " nonce " + std::string(a.nonce);
  metrics.increment("signet_ocsp_responses_total",
                       {{"method", method}, {"status", a.status}, {"cached", a.cached ? "true" : "false"}});
  return r;
}

void crl_route(Router& router, CrlPublisher& publisher, const std::string& path, bool delta) {
  router.add("GET", path, kBoth, [&publisher, delta](HttpRequest& req, Responder respond) {
    const auto crl = delta ? publisher.delta() : publisher.full();
    if (!crl) {
      respond(json_error(404, "delta-crl-disabled",
                         "this CA publishes no delta CRL; set [crl] delta = true in signetd.toml to enable it",
                         req.request_id));
      return;
    }
    HttpResponse r;
    r.content_type = "application/pkix-crl";
    r.body = as_string(crl->der);
    add_cache_headers(r, crl->this_update, crl->next_update);
    r.log_note = "number " + std::to_string(crl->number);
    respond(std::move(r));
  });
}

// From the cache on this (I/O) thread; otherwise, on a ledger that may hang (PostgreSQL), on the
// blocking pool. The store's own SQLite file is read in place.
void answer_ocsp(OcspResponder& ocsp, Metrics& metrics, boost::asio::thread_pool* blocking, ByteView der,
                 const char* method, Responder respond) {
  if (std::optional<OcspAnswer> cached = ocsp.answer_from_cache(der)) {
    return respond(ocsp_response(metrics, *cached, method));
  }
  if (blocking == nullptr) return respond(ocsp_response(metrics, ocsp.answer(der), method));
  ocsp.answer_async(Bytes(der.begin(), der.end()), *blocking,
                    [&metrics, method, respond = std::make_shared<Responder>(std::move(respond))](OcspAnswer a) {
                      (*respond)(ocsp_response(metrics, a, method));
                    });
}

}  // namespace

void register_public_routes(Router& router, const issuance::RevocationSigner& signer, CrlPublisher& crl,
                            OcspResponder& ocsp, Metrics& metrics, boost::asio::thread_pool* blocking) {
  const std::string ca_der = as_string(signer.ca_certificate().der());
  const std::string ca_pem = signer.ca_chain_pem();

  router.add("GET", "/ca.crt", kBoth, [ca_der](HttpRequest&, Responder respond) {
    HttpResponse r;
    r.content_type = "application/pkix-cert";
    r.body = ca_der;
    r.headers.emplace_back("Cache-Control", "public, max-age=3600");
    respond(std::move(r));
  });
  router.add("GET", "/ca.pem", kBoth, [ca_pem](HttpRequest&, Responder respond) {
    HttpResponse r;
    r.content_type = "application/x-pem-file";
    r.body = ca_pem;
    r.headers.emplace_back("Cache-Control", "public, max-age=3600");
    respond(std::move(r));
  });
  crl_route(router, crl, "/crl", false);
  crl_route(router, crl, "/crl/delta", true);

  // OCSP over HTTP (RFC 6960 appendix A): POST with the DER request as the body, or GET with the
  // base64 request (URL-encoded) as the last path segment(s).
  router.add("POST", "/ocsp", kBoth, [&ocsp, &metrics, blocking](HttpRequest& req, Responder respond) {
    const std::string type = req.header("content-type");
    if (!type.empty() && type != "application/ocsp-request") {
      respond(json_error(415, "unsupported-media-type",
                         "an OCSP request is sent as Content-Type: application/ocsp-request", req.request_id));
      return;
    }
    const ByteView der(reinterpret_cast<const std::uint8_t*>(req.body.data()), req.body.size());
    answer_ocsp(ocsp, metrics, blocking, der, "POST", std::move(respond));
  });
  router.add("GET", "/ocsp/{request*}", kBoth, [&ocsp, &metrics, blocking](HttpRequest& req, Responder respond) {
    const auto der = base64_decode(req.params["request"]);
    if (!der) {
      static const auto malformed = std::make_shared<const Bytes>(issuance::ocsp_error_response(1));
      respond(ocsp_response(metrics, OcspAnswer{malformed, {}, {}, false, "malformedRequest", false, {}}, "GET"));
      return;
    }
    answer_ocsp(ocsp, metrics, blocking, *der, "GET", std::move(respond));
  });
}

}  // namespace signet::daemon
