// The REST API on the HTTPS listener: issue, fetch, list and revoke certificates.
//
// Every call is authenticated: a bearer token (`signet clients add`) or a TLS client certificate
// that this CA issued to an API client. Listing, and acting on another client's certificates,
// need an admin client. "Another client" goes by the client's id, never its name: a client added
// again under a removed client's name is another client.
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <variant>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "api_body.h"
#include "ca_context.h"
#include "revocation.h"
#include "signet/core/time_format.h"
#include "signet/issuance/policy.h"

namespace signet::daemon {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::vector<Listener> kApi = {Listener::Https};

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(2) + "\n";
  return r;
}

// A 401; `why` goes to the log line only ("token-invalid", ...), never a secret.
HttpResponse unauthorized(const HttpRequest& req, std::string_view code, std::string_view message,
                          std::string_view why) {
  HttpResponse r = json_error(401, code, message, req.request_id);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"signet\"");
  r.log_note = "auth-failed=" + std::string(why);
  return r;
}

// An answer to an authenticated call: its log line names the client.
HttpResponse for_client(HttpResponse r, const issuance::ApiClient& client) {
  if (r.log_note.empty()) r.log_note = "client=" + client.name;
  return r;
}

std::string_view status_of(const issuance::CertificateRecord& r) {
  if (r.revoked_at) return "revoked";
  if (r.not_after < std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count()) {
    return "expired";
  }
  return "valid";
}

json record_json(const issuance::CertificateRecord& r, bool with_pem) {
  json j{{"serial", r.serial.hex()},
         {"status", status_of(r)},
         {"profile", r.profile},
         {"client", r.client},
         {"subject", r.subject},
         {"names", r.names},
         {"requested_at", rfc3339(r.requested_at)},
         {"not_before", rfc3339(r.not_before)},
         {"not_after", rfc3339(r.not_after)}};
  if (r.revoked_at) {
    j["revoked_at"] = rfc3339(*r.revoked_at);
    j["revocation_reason"] = std::string(issuance::to_string(r.reason.value_or(issuance::RevocationReason::Unspecified)));
  }
  if (!r.client_id.empty()) j["client_id"] = r.client_id;
  if (with_pem && r.certificate) j["certificate"] = crypto::to_pem(*r.certificate);
  return j;
}

// Who is calling: from the bearer token, else from a client certificate this CA issued to a client
// that has not been removed since (the certificate's record names the client's id).
std::variant<issuance::ApiClient, HttpResponse> authenticate_with_ledger(CaContext& ca, const HttpRequest& req);

// A ledger that cannot be read (a PostgreSQL server that is away or hangs) answers 503 with
// Retry-After, as every other call that needs it.
std::variant<issuance::ApiClient, HttpResponse> authenticate(CaContext& ca, const HttpRequest& req) {
  try {
    return authenticate_with_ledger(ca, req);
  } catch (...) {
    return error_response(std::current_exception(), req.request_id);
  }
}

std::variant<issuance::ApiClient, HttpResponse> authenticate_with_ledger(CaContext& ca, const HttpRequest& req) {
  const std::string auth = req.header("authorization");
  if (!auth.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() || strncasecmp(auth.c_str(), kBearer.data(), kBearer.size()) != 0) {
      return unauthorized(req, "unauthorized", "the Authorization header must be \"Bearer <token>\"",
                          "authorization-malformed");
    }
    if (auto client = ca.ledger->authenticate(std::string_view(auth).substr(kBearer.size()))) return *client;
    ca.metrics.increment("signet_auth_failures_total", {{"method", "token"}});
    return unauthorized(req, "unauthorized",
                        "the bearer token is not valid (unknown, removed or mistyped); ask the operator for a token "
                        "made with `signet clients add`",
                        "token-invalid");
  }
  if (req.client_certificate) {
    const crypto::Certificate& cert = *req.client_certificate;
    const auto untrusted = [&](const std::string& why, std::string_view log_why) {
      ca.metrics.increment("signet_auth_failures_total", {{"method", "certificate"}});
      return unauthorized(req, "client-certificate-untrusted", "the TLS client certificate " + why, log_why);
    };
    if (!cert.issued_by(ca.signer->ca_certificate())) return untrusted("was not issued by this CA", "certificate-foreign");
    const auto now = std::chrono::system_clock::now();
    if (cert.not_before() > now || cert.not_after() < now) {
      return untrusted("is not valid at this time", "certificate-not-current");
    }
    if (!issuance::is_client_auth_certificate(cert)) {
      return untrusted("lacks the clientAuth extended key usage", "certificate-not-client-auth");
    }
    const auto serial = issuance::Serial::parse_hex(cert.serial_hex());
    const auto record = serial ? ca.ledger->find(*serial) : std::nullopt;
    if (!record || record->state != issuance::CertificateState::Issued) {
      return untrusted("is not in this CA's database", "certificate-unknown serial=" + cert.serial_hex());
    }
    if (record->revoked_at) return untrusted("is revoked", "certificate-revoked serial=" + cert.serial_hex());
    if (auto client = ca.ledger->client_by_id(record->client_id)) return *client;
    if (record->client_id.empty()) {
      return untrusted("was not issued to an API client", "certificate-no-client serial=" + cert.serial_hex());
    }
    return untrusted("belongs to an API client that was removed", "client-removed id=" + record->client_id);
  }
  return unauthorized(req, "unauthorized",
                      "this call needs a bearer token (Authorization: Bearer <token>) or a TLS client certificate "
                      "from this CA",
                      "no-credentials");
}

bool may_use(const issuance::ApiClient& c, const std::string& profile) {
  return c.admin || std::any_of(c.profiles.begin(), c.profiles.end(),
                                [&](const std::string& p) { return p == "*" || p == profile; });
}

std::optional<issuance::Serial> serial_param(const HttpRequest& req) {
  auto it = req.params.find("serial");
  return it == req.params.end() ? std::nullopt : issuance::Serial::parse_hex(it->second);
}

// False, after answering 415, when the body is declared as something other than JSON.
bool json_media_type(const HttpRequest& req, Responder& respond) {
  const std::string type = req.header("content-type");
  if (!type.empty() && type.rfind("application/json", 0) != 0) {
    respond(json_error(415, "unsupported-media-type", "send the request as Content-Type: application/json",
                       req.request_id));
    return false;
  }
  return true;
}

void issue(CaContext& ca, HttpRequest& req, Responder respond) {
  auto who = authenticate(ca, req);
  if (auto* denied = std::get_if<HttpResponse>(&who)) return respond(std::move(*denied));
  const issuance::ApiClient client = std::get<issuance::ApiClient>(who);
  if (!json_media_type(req, respond)) return;
  IssueBody body;
  try {
    body = parse_issue_body(req.body);
  } catch (const Error& e) {
    return respond(for_client(error_response(e, req.request_id), client));
  }
  const std::string& profile_name = body.profile;
  const std::optional<std::chrono::seconds> validity = body.validity;
  const auto config = ca.config();
  const auto profile = config->profiles.find(profile_name);
  if (profile == config->profiles.end()) {
    std::string known;
    for (const auto& [name, p] : config->profiles) known += (known.empty() ? "" : ", ") + name;
    return respond(for_client(json_error(422, "profile-unknown",
                                         "there is no profile \"" + profile_name + "\"; this CA has " + known,
                                         req.request_id),
                              client));
  }
  if (!may_use(client, profile_name)) {
    return respond(for_client(json_error(403, "profile-not-allowed",
                                         "client \"" + client.name + "\" may not use profile \"" + profile_name + "\"",
                                         req.request_id),
                              client));
  }
  const auto started = std::chrono::steady_clock::now();
  const std::string request_id = req.request_id;
  auto shared_respond = std::make_shared<Responder>(std::move(respond));
  try {
    const crypto::CertificateRequest csr = issuance::parse_csr(body.csr);
    ca.issuer->issue_async(
        profile->second, csr, validity, client,
        [&ca, shared_respond, request_id, started, client_name = client.name](
            std::optional<issuance::IssuanceResult> result, std::exception_ptr error) {
          if (error) {
            ca.metrics.increment("signet_issuance_failures_total");
            HttpResponse resp = error_response(error, request_id);
            resp.log_note = "client=" + client_name;
            (*shared_respond)(std::move(resp));
            return;
          }
          const issuance::IssuanceResult& r = *result;
          const std::string serial = r.intent.serial.hex();
          json out{{"serial", serial},
                   {"certificate", crypto::to_pem(r.certificate)},
                   {"chain", ca.signer->ca_chain_pem()},
                   {"profile", r.intent.profile},
                   {"names", r.intent.names},
                   {"not_before", rfc3339(std::chrono::system_clock::to_time_t(r.intent.not_before))},
                   {"not_after", rfc3339(std::chrono::system_clock::to_time_t(r.intent.not_after))}};
          HttpResponse resp = json_response(201, out);
          resp.headers.emplace_back("Location", "/api/v1/certificates/" + serial);
          resp.log_note = "client=" + client_name + " serial=" + serial;
          ca.metrics.increment("signet_certificates_issued_total", {{"profile", r.intent.profile}});
          ca.metrics.observe("signet_issuance_duration_seconds", {},
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          (*shared_respond)(std::move(resp));
        });
  } catch (const Error& e) {
    ca.metrics.increment("signet_issuance_refused_total", {{"code", e.code()}});
    HttpResponse resp = error_response(e, request_id);
    resp.log_note = "client=" + client.name + " refused=" + e.code();
    (*shared_respond)(std::move(resp));
  }
}

void get_one(CaContext& ca, HttpRequest& req, Responder respond) {
  auto who = authenticate(ca, req);
  if (auto* denied = std::get_if<HttpResponse>(&who)) return respond(std::move(*denied));
  const issuance::ApiClient client = std::get<issuance::ApiClient>(who);
  const auto serial = serial_param(req);
  if (!serial) {
    return respond(for_client(json_error(400, "serial-invalid",
                                         "the serial must be hexadecimal, as `openssl x509 -serial` prints it",
                                         req.request_id),
                              client));
  }
  boost::asio::post(ca.blocking, [&ca, client, serial = *serial, request_id = req.request_id,
                                  respond = std::make_shared<Responder>(std::move(respond))] {
    try {
      const auto record = ca.ledger->find(serial);
      // Another client's certificate is reported as not found, as an unknown one is.
      if (!record || record->state != issuance::CertificateState::Issued || (!client.admin && record->client_id != client.id)) {
        return (*respond)(for_client(json_error(404, "certificate-not-found",
                                                "no certificate with serial " + serial.hex() + " was issued to you",
                                                request_id),
                                     client));
      }
      (*respond)(for_client(json_response(200, record_json(*record, true)), client));
    } catch (...) {
      (*respond)(for_client(error_response(std::current_exception(), request_id), client));
    }
  });
}

void list(CaContext& ca, HttpRequest& req, Responder respond) {
  auto who = authenticate(ca, req);
  if (auto* denied = std::get_if<HttpResponse>(&who)) return respond(std::move(*denied));
  const issuance::ApiClient client = std::get<issuance::ApiClient>(who);
  issuance::ListQuery query;
  if (!client.admin) query.client_id = client.id;  // a client sees its own certificates
  // An admin may ask for one client's, by name: the client of that name now, not a removed one.
  std::optional<std::string> client_name;
  if (client.admin) client_name = query_param(req.query, "client");
  if (auto a = query_param(req.query, "after")) query.after = *a;
  if (auto r = query_param(req.query, "revoked")) {
    if (*r != "true" && *r != "1" && *r != "false" && *r != "0") {
      return respond(for_client(json_error(400, "invalid-revoked",
                                           "revoked must be true (only revoked certificates) or false (all)",
                                           req.request_id),
                                client));
    }
    query.revoked_only = *r == "true" || *r == "1";
  }
  if (auto l = query_param(req.query, "limit")) {
    char* end = nullptr;
    const long n = std::strtol(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || n < 1 || n > 1000) {
      return respond(
          for_client(json_error(400, "invalid-limit", "limit must be a number from 1 to 1000", req.request_id), client));
    }
    query.limit = static_cast<std::size_t>(n);
  }
  boost::asio::post(ca.blocking, [&ca, client, query, client_name, request_id = req.request_id,
                                  respond = std::make_shared<Responder>(std::move(respond))]() mutable {
    try {
      if (client_name) {
        const auto named = ca.ledger->client(*client_name);
        if (!named) {
          return (*respond)(for_client(json_error(404, "client-not-found",
                                                  "there is no API client named \"" + *client_name +
                                                      "\" (a removed client's certificates are in the list "
                                                      "without ?client=)",
                                                  request_id),
                                       client));
        }
        query.client_id = named->id;
      }
      const issuance::ListPage page = ca.ledger->list(query);
      json items = json::array();
      for (const auto& r : page.items) items.push_back(record_json(r, false));
      json out{{"items", items}};
      if (!page.damaged.empty()) {
        // Named, not hidden, and not the whole listing's failure: the operator restores or mends them.
        out["damaged"] = page.damaged;
        spdlog::error("request {}: ledger rows that cannot be read were left out of a listing (serial column: {}); "
                      "restore them from a backup, or mend them",
                      request_id, fmt::join(page.damaged, ", "));
      }
      if (page.next) {
        // The next page of the same listing (client names are [A-Za-z0-9._-]: nothing to escape).
        out["next"] = "/api/v1/certificates?after=" + *page.next + "&limit=" + std::to_string(query.limit) +
                      (client_name ? "&client=" + *client_name : "") + (query.revoked_only ? "&revoked=true" : "");
      }
      (*respond)(for_client(json_response(200, out), client));
    } catch (...) {
      (*respond)(for_client(error_response(std::current_exception(), request_id), client));
    }
  });
}

void revoke(CaContext& ca, HttpRequest& req, Responder respond) {
  auto who = authenticate(ca, req);
  if (auto* denied = std::get_if<HttpResponse>(&who)) return respond(std::move(*denied));
  const issuance::ApiClient client = std::get<issuance::ApiClient>(who);
  const auto serial = serial_param(req);
  if (!serial) {
    return respond(for_client(json_error(400, "serial-invalid",
                                         "the serial must be hexadecimal, as `openssl x509 -serial` prints it",
                                         req.request_id),
                              client));
  }
  issuance::RevocationReason reason = issuance::RevocationReason::Unspecified;
  if (!req.body.empty()) {
    if (!json_media_type(req, respond)) return;
    try {
      reason = parse_revoke_body(req.body);
    } catch (const Error& e) {
      return respond(for_client(error_response(e, req.request_id), client));
    }
  }
  boost::asio::post(ca.blocking, [&ca, client, serial = *serial, reason, request_id = req.request_id,
                                  respond = std::make_shared<Responder>(std::move(respond))] {
    try {
      const auto record = ca.ledger->find(serial);
      if (!record || record->state != issuance::CertificateState::Issued || (!client.admin && record->client_id != client.id)) {
        return (*respond)(for_client(json_error(404, "certificate-not-found",
                                                "no certificate with serial " + serial.hex() + " was issued to you",
                                                request_id),
                                     client));
      }
      const issuance::RevokeResult result =
          ca.ledger->revoke(serial, reason, "api:" + client.name + " (id " + client.id + ")");
      ca.ocsp->revoked({serial});
      ca.crl->revoked();
      ca.metrics.increment("signet_revocations_total", {{"reason", std::string(issuance::to_string(reason))}});
      HttpResponse resp = json_response(200, record_json(result.record, false));
      resp.log_note = "client=" + client.name + " revoked=" + serial.hex();
      (*respond)(std::move(resp));
    } catch (...) {
      (*respond)(for_client(error_response(std::current_exception(), request_id), client));
    }
  });
}

}  // namespace

std::string http_date(std::chrono::system_clock::time_point t) {
  return format_utc(std::chrono::time_point_cast<std::chrono::seconds>(t), "%a, %d %b %Y %H:%M:%S GMT");
}

// Every API call reads the ledger to authenticate its caller (a token's hash, a client
// certificate's record). On a PostgreSQL ledger it runs on the blocking pool: the I/O threads,
// which answer OCSP from the cache, CRLs and /healthz, never wait on a database server (one that
// hangs). The store's own SQLite file is read in place, as a thread hop would cost more than the read.
template <class Handler>
auto off_io(CaContext& ca, Handler handler) {
  return [&ca, handler](HttpRequest& req, Responder respond) {
    if (ca.ledger->backend() != issuance::Ledger::Backend::Postgres) return handler(ca, req, std::move(respond));
    boost::asio::post(ca.blocking, [&ca, handler, request = std::make_shared<HttpRequest>(req),
                                    respond = std::make_shared<Responder>(std::move(respond))]() mutable {
      try {
        handler(ca, *request, std::move(*respond));
      } catch (const std::exception& e) {
        // Never out of a pool thread (that would end the process); the unanswered request gets 500.
        spdlog::error("request {}: {}", request->request_id, e.what());
      }
    });
  };
}

void register_api_routes(Router& router, CaContext& ca) {
  router.add("POST", "/api/v1/certificates", kApi, off_io(ca, issue));
  router.add("GET", "/api/v1/certificates", kApi, off_io(ca, list));
  router.add("GET", "/api/v1/certificates/{serial}", kApi, off_io(ca, get_one));
  router.add("POST", "/api/v1/certificates/{serial}/revoke", kApi, off_io(ca, revoke));
}

}  // namespace signet::daemon
