// ACME on the HTTPS listener. Every POST goes through one pipeline (post()): media type, JWS
// structure, url, nonce, key or account, signature, payload; only then does a resource's handler
// run. Every answer carries a fresh Replay-Nonce, Cache-Control: no-store and the directory's Link.
#include "acme_routes.h"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "acme_validation.h"
#include "revocation.h"
#include "signet/acme/jws.h"
#include "signet/acme/nonces.h"
#include "signet/acme/order.h"
#include "signet/acme/store.h"
#include "signet/core/time_format.h"
#include "signet/crypto/primitives.h"
#include "signet/crypto/key.h"
#include "signet/issuance/names.h"
#include "signet/issuance/policy.h"

namespace signet::daemon {
namespace {

namespace validation = signet::daemon::acme;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr std::string_view kErrorUrn = "urn:ietf:params:acme:error:";
const std::vector<Listener> kHttps = {Listener::Https};
// How long a challenge POST waits for its validation before it answers "processing": long enough
// for a validation that goes well, so that clients see the result without polling.
constexpr auto kAnswerWithin = 2s;
constexpr std::size_t kMaxContacts = 10;
constexpr std::size_t kMaxOrdersListed = 1000;
constexpr int kValidationThreads = 64;
// The resources only POST reaches (for the 405 a GET of one gets).
constexpr std::string_view kPostResources[] = {"acct/",      "order/",       "authz/",      "chall/",
                                               "cert/",      "new-account",  "new-order",   "revoke-cert",
                                               "key-change"};
constexpr int kValidationsPerAccount = 4;
// A validation whose outcome the ledger could not take is made again this much later, this often.
constexpr std::chrono::seconds kRecordRetry{5};
constexpr int kRecordRetries = 120;

// The ACME error types signet::Error codes may carry as they are, with their HTTP status.
int status_of_type(std::string_view type) {
  static const std::map<std::string_view, int> kTypes = {
      {"malformed", 400},           {"badNonce", 400},           {"badSignatureAlgorithm", 400},
      {"badPublicKey", 400},        {"unauthorized", 403},       {"accountDoesNotExist", 400},
      {"rejectedIdentifier", 400},  {"unsupportedIdentifier", 400}, {"badCSR", 400},
      {"orderNotReady", 403},       {"rateLimited", 429},        {"externalAccountRequired", 400},
      {"invalidContact", 400},      {"unsupportedContact", 400}, {"alreadyRevoked", 400},
      {"badRevocationReason", 400}, {"conflict", 409},           {"serverInternal", 500}};
  const auto it = kTypes.find(type);
  return it == kTypes.end() ? 0 : it->second;
}

HttpResponse problem(int status, std::string_view type, const std::string& detail) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  // RFC 8555 has no "conflict" type: a key change to a key in use is "malformed" with 409.
  const std::string_view shown = type == "conflict" ? "malformed" : type;
  r.body = json{{"type", std::string(kErrorUrn) + std::string(shown)}, {"detail", detail}, {"status", status}}.dump() + "\n";
  r.log_note = "acme-error=" + std::string(type);
  return r;
}

HttpResponse problem(std::string_view type, const std::string& detail) { return problem(status_of_type(type), type, detail); }

// The problem document for an Error: its own ACME type when its code is one, else by its kind;
// `policy_type` is what a policy refusal means where it happened (rejectedIdentifier for an order,
// badCSR at finalization). Internal errors keep their detail for the log (error_response).
HttpResponse problem_of(const Error& e, const std::string& request_id, std::string_view policy_type) {
  // RFC 8555 has no type for "not found"; ACME servers answer 404 with "malformed".
  if (e.kind() == ErrorKind::NotFound) return problem(404, "malformed", e.what());
  if (const int status = status_of_type(e.code()); status != 0) return problem(status, e.code(), e.what());
  switch (e.kind()) {
    case ErrorKind::PolicyDenied: return problem(policy_type, e.what());
    case ErrorKind::Malformed: return problem(400, "malformed", e.what());
    case ErrorKind::Unauthorized: return problem(403, "unauthorized", e.what());
    case ErrorKind::Conflict: return problem(409, "conflict", e.what());
    default: break;
  }
  HttpResponse mapped = error_response(e, request_id);  // logs the detail, hides paths
  HttpResponse r = problem(mapped.status, "serverInternal",
                           mapped.status == 503 ? "the CA cannot write to its database right now; try again later"
                                                : "an internal error happened; the operator's log has request " + request_id);
  for (const auto& h : mapped.headers) {
    if (h.first == "Retry-After") r.headers.push_back(h);
  }
  return r;
}

HttpResponse problem_of(std::exception_ptr error, const std::string& request_id, std::string_view policy_type) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return problem_of(e, request_id, policy_type);
  } catch (...) {
    HttpResponse mapped = error_response(std::current_exception(), request_id);
    return problem(mapped.status, "serverInternal",
                   "an internal error happened; the operator's log has request " + request_id);
  }
}

[[noreturn]] void fail(std::string type, const std::string& detail) {
  throw Error(ErrorKind::Malformed, std::move(type), detail);
}

HttpResponse json_answer(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(2) + "\n";
  return r;
}

std::string seconds_text(std::int64_t s) { return rfc3339(s); }

// "2026-12-05T10:00:00Z" or with a fraction; std::nullopt for anything else.
std::optional<std::int64_t> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  if (*end == '.') {
    ++end;
    while (*end >= '0' && *end <= '9') ++end;
  }
  if ((*end != 'Z' && *end != 'z') || end[1] != '\0') return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

// What a request carries once the pipeline has checked it.
struct Call : std::enable_shared_from_this<Call> {
  std::string base;        // "https://host:port"
  std::string url;         // base + path: what the JWS url must be
  std::string remote_host; // the client's address, without the port
  std::string request_id;
  std::map<std::string, std::string> params;
  signet::acme::Jws jws;
  std::optional<signet::acme::Account> account;  // the kid's, for requests that name one
  json payload;                          // the parsed payload; null for POST-as-GET
};

// True for an error of the database (Storage: away, timed out), which a retry may not meet.
bool ledger_unavailable(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return e.kind() == ErrorKind::Storage;
  } catch (...) {
    return false;
  }
}

// This node's own nonces, or (a PostgreSQL ledger) the nonces every node shares: a client may
// take a nonce from one node and use it on another, once.
signet::acme::NonceStore make_nonces(signet::acme::AcmeStore& store) {
  if (!store.shared()) return signet::acme::NonceStore();
  return signet::acme::NonceStore(store.shared_nonce_key(),
                                  [&store](ByteView nonce, std::int64_t expires) { return store.redeem_nonce(nonce, expires); });
}

}  // namespace

struct AcmeService::State : std::enable_shared_from_this<AcmeService::State> {
  explicit State(CaContext& c) : ca(c), store(*c.ledger), nonces(make_nonces(store)), prune_timer(c.io) {}

  CaContext& ca;
  signet::acme::AcmeStore store;
  signet::acme::NonceStore nonces;
  // Requests wait on the database here; validations wait on the network there.
  boost::asio::thread_pool work{8};
  // Validations block on the network (up to validation_timeout each): threads are cheap next to a
  // client waiting.
  boost::asio::thread_pool validation{kValidationThreads};
  struct AccountValidations {
    int running = 0;
    std::deque<std::function<void()>> waiting;
  };
  std::mutex validations_mutex;
  std::map<std::string, AccountValidations> validations;  // by account id
  std::mutex accounts_mutex;
  std::map<std::string, std::deque<std::int64_t>> new_accounts;  // by client address: creation times
  std::int64_t last_sweep = 0;
  boost::asio::steady_timer prune_timer;

  // ---- answers

  // Adds what every ACME answer carries, then answers.
  void send(Responder& respond, HttpResponse r, const std::string& base) {
    r.headers.emplace_back("Replay-Nonce", nonces.issue());
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Link", "<" + base + "/acme/directory>;rel=\"index\"");
    respond(std::move(r));
  }

  json account_json(const Call& c, const signet::acme::Account& a) const {
    return {{"status", signet::acme::to_string(a.status)},
            {"contact", a.contact},
            {"orders", c.base + "/acme/acct/" + a.id + "/orders"},
            {"createdAt", seconds_text(a.created_at)}};
  }

  json challenge_json(const Call& c, const signet::acme::Challenge& ch) const {
    json j{{"type", ch.type}, {"url", c.base + "/acme/chall/" + ch.id}, {"status", signet::acme::to_string(ch.status)},
           {"token", ch.token}};
    if (ch.validated_at) j["validated"] = seconds_text(*ch.validated_at);
    if (!ch.error.is_null()) j["error"] = ch.error;
    return j;
  }

  json authz_json(const Call& c, const signet::acme::Authorization& a, std::int64_t now) const {
    json challenges = json::array();
    for (const signet::acme::Challenge& ch : a.challenges) {
      // A valid authorization shows the challenge that made it so (RFC 8555 7.1.4).
      if (a.status == signet::acme::AuthzStatus::Valid && ch.status != signet::acme::ChallengeStatus::Valid) continue;
      challenges.push_back(challenge_json(c, ch));
    }
    json j{{"identifier", {{"type", a.identifier.type}, {"value", a.identifier.value}}},
           {"status", signet::acme::to_string(signet::acme::effective_status(a, now))},
           {"expires", seconds_text(a.expires)},
           {"challenges", challenges}};
    if (a.wildcard) j["wildcard"] = true;
    return j;
  }

  json order_json(const Call& c, const signet::acme::Order& o, signet::acme::OrderStatus status) const {
    json ids = json::array();
    for (const signet::acme::Identifier& i : o.identifiers) ids.push_back({{"type", i.type}, {"value", i.value}});
    json authzs = json::array();
    for (const std::string& id : o.authorization_ids) authzs.push_back(c.base + "/acme/authz/" + id);
    json j{{"status", signet::acme::to_string(status)},
           {"expires", seconds_text(o.expires)},
           {"identifiers", ids},
           {"authorizations", authzs},
           {"finalize", c.base + "/acme/order/" + o.id + "/finalize"}};
    if (o.not_after) j["notAfter"] = seconds_text(*o.not_after);
    if (status == signet::acme::OrderStatus::Valid) j["certificate"] = c.base + "/acme/cert/" + o.serial;
    if (!o.error.is_null()) j["error"] = o.error;
    return j;
  }

  // The order's status now; a change the clock or its authorizations made is stored.
  signet::acme::OrderStatus settle(const signet::acme::Order& o) {
    const signet::acme::OrderStatus now = signet::acme::effective_status(o, store.authorizations_of(o), unix_now());
    if (now != o.status) store.settle_order(o.id, now);
    return now;
  }

  static std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  // ---- validation

  // Validates one challenge (on the validation pool) and records the outcome; `done` gets it.
  // An account has at most kValidationsPerAccount validations running; the rest wait in its queue,
  // so that targets that hang until the timeout hold up their own account, not everyone's.
  // When the outcome cannot be recorded because the ledger is away (a PostgreSQL server that is
  // down or hangs), the challenge stays processing and is validated again kRecordRetry later, for
  // kRecordRetries times: a client polling it sees it settle once the ledger is back.
  void validate(const std::string& challenge_id, const std::string& account_id, std::function<void()> done,
                int attempt = 0) {
    std::function<void()> task = [self = shared_from_this(), challenge_id, account_id, done = std::move(done),
                                  attempt] {
      bool again = false;
      try {
        self->run_validation(challenge_id);
      } catch (const Error& e) {
        again = e.kind() == ErrorKind::Storage && attempt < kRecordRetries;
        spdlog::error("acme: validating challenge {} failed: {}{}", challenge_id, e.what(),
                      again ? "; validating it again in 5 s" : "");
      } catch (const std::exception& e) {
        spdlog::error("acme: validating challenge {} failed: {}", challenge_id, e.what());
      }
      if (done) done();
      self->validation_finished(account_id);
      if (again) self->validate_later(challenge_id, account_id, attempt + 1);
    };
    {
      std::lock_guard lock(validations_mutex);
      AccountValidations& v = validations[account_id];
      if (v.running >= kValidationsPerAccount) {
        v.waiting.push_back(std::move(task));
        return;
      }
      ++v.running;
    }
    boost::asio::post(validation, std::move(task));
  }

  void validate_later(const std::string& challenge_id, const std::string& account_id, int attempt) {
    auto timer = std::make_shared<boost::asio::steady_timer>(ca.io, kRecordRetry);
    timer->async_wait([self = shared_from_this(), timer, challenge_id, account_id, attempt](
                          const boost::system::error_code& ec) {
      if (!ec) self->validate(challenge_id, account_id, {}, attempt);
    });
  }

  // Puts an order whose finalization failed back to ready; while the ledger is away, again
  // kRecordRetry later, kRecordRetries times, so that it is not left processing.
  void make_ready_again(const std::string& order_id, int attempt) {
    try {
      store.finalize_refused(order_id);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Storage || attempt >= kRecordRetries) {
        spdlog::error("acme: order {} stays processing: {}", order_id, e.what());
        return;
      }
      auto timer = std::make_shared<boost::asio::steady_timer>(ca.io, kRecordRetry);
      timer->async_wait([self = shared_from_this(), timer, order_id, attempt](const boost::system::error_code& ec) {
        if (!ec) boost::asio::post(self->work, [self, order_id, attempt] { self->make_ready_again(order_id, attempt + 1); });
      });
    }
  }

  void validation_finished(const std::string& account_id) {
    std::function<void()> next;
    {
      std::lock_guard lock(validations_mutex);
      auto it = validations.find(account_id);
      if (it == validations.end()) return;
      if (it->second.waiting.empty()) {
        if (--it->second.running == 0) validations.erase(it);
        return;
      }
      next = std::move(it->second.waiting.front());
      it->second.waiting.pop_front();
    }
    boost::asio::post(validation, std::move(next));
  }

  void run_validation(const std::string& challenge_id) {
    const auto found = store.challenge(challenge_id);
    if (!found || found->first.status != signet::acme::ChallengeStatus::Processing) return;
    const auto& [challenge, authz] = *found;
    const auto account = store.account(authz.account_id);
    if (!account) return;
    const auto config = ca.config();
    validation::ValidationSettings settings;
    settings.http01_port = config->acme_http01_port;
    settings.tlsalpn01_port = config->acme_tlsalpn01_port;
    settings.resolver = config->acme_resolver;
    settings.allowed_networks = config->acme_allowed_networks;
    settings.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config->acme_validation_timeout);
    const validation::Identifier id{authz.identifier.type, authz.identifier.value};
    const std::string key_authorization = signet::acme::key_authorization(challenge.token, account->thumbprint);
    const auto started = std::chrono::steady_clock::now();
    validation::ValidationOutcome outcome;
    if (challenge.type == "http-01") {
      outcome = validation::validate_http01(settings, id, challenge.token, key_authorization);
    } else if (challenge.type == "dns-01") {
      outcome = validation::validate_dns01(settings, id, key_authorization);
    } else {
      outcome = validation::validate_tlsalpn01(settings, id, key_authorization);
    }
    json error;
    if (!outcome.valid) {
      error = {{"type", std::string(kErrorUrn) + outcome.error_type}, {"detail", outcome.detail},
               {"status", outcome.error_type == "unauthorized" ? 403 : 400}};
    }
    store.finish_challenge(challenge_id, outcome.valid, error, outcome.address);
    ca.metrics.increment("signet_acme_validations_total",
                         {{"type", challenge.type}, {"result", outcome.valid ? "valid" : outcome.error_type}});
    ca.metrics.observe("signet_acme_validation_duration_seconds", {{"type", challenge.type}},
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    spdlog::info("acme: {} for {}:{} (account {}) is {}{}", challenge.type, id.type, id.value, authz.account_id,
                 outcome.valid ? "valid" : "invalid", outcome.valid ? "" : ": " + outcome.error_type + ": " + outcome.detail);
  }

  // ---- rate limits

  // True (and counted) when `address` may create another account this hour.
  bool account_allowed(const std::string& address, unsigned per_hour) {
    const std::int64_t now = unix_now();
    std::lock_guard lock(accounts_mutex);
    // Forget addresses whose hour has passed, once a minute, so that the map stays as small as an
    // hour's callers without a sweep on every request.
    if (now - last_sweep >= 60) {
      last_sweep = now;
      for (auto it = new_accounts.begin(); it != new_accounts.end();) {
        while (!it->second.empty() && it->second.front() <= now - 3600) it->second.pop_front();
        it = it->second.empty() ? new_accounts.erase(it) : std::next(it);
      }
    }
    auto& times = new_accounts[address];
    while (!times.empty() && times.front() <= now - 3600) times.pop_front();
    if (times.size() >= per_hour) return false;
    times.push_back(now);
    return true;
  }
};

namespace {

using State = AcmeService::State;
enum class KeyFrom { Jwk, Kid, Either };
using PostHandler = void (*)(State&, Call&, std::shared_ptr<Responder>);

// The URL clients reach this server at, from Host (an HTTP/1.0 request may have none: then the
// listener's own address).
std::string base_of(const HttpRequest& req, const Config& config) {
  std::string host = req.header("host");
  if (host.empty()) {
    const bool v6 = config.https_address.find(':') != std::string::npos;
    host = (v6 ? "[" + config.https_address + "]" : config.https_address) + ":" + std::to_string(config.https_port);
  }
  return "https://" + host;
}

// application/jose+json, with any parameters, in any case (RFC 9110 8.3.1).
bool jose_json(std::string type) {
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return type == "application/jose+json";
}

std::string host_of(const std::string& remote) {
  const std::size_t colon = remote.rfind(':');
  std::string host = colon == std::string::npos ? remote : remote.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

[[noreturn]] void fail_bad_nonce() {
  fail("badNonce", "the nonce was not issued by this server, was used already, or expired; take the Replay-Nonce "
                   "of this answer and try again");
}

// The checks every POST passes (RFC 8555 6.2 to 6.5), then `handler`, on the work pool. The nonce
// is checked first and used up only once the signature verifies.
void post(const std::shared_ptr<State>& s, HttpRequest& req, Responder respond, KeyFrom key_from, PostHandler handler,
          std::string_view policy_type = "rejectedIdentifier") {
  auto call = std::make_shared<Call>();
  call->base = base_of(req, *s->ca.config());
  call->url = call->base + req.path;
  call->remote_host = host_of(req.remote);
  call->request_id = req.request_id;
  call->params = req.params;
  auto shared = std::make_shared<Responder>(std::move(respond));
  if (!jose_json(req.header("content-type"))) {
    return s->send(*shared,
                   problem(415, "malformed", "send ACME requests as Content-Type: application/jose+json (RFC 8555 6.2)"),
                   call->base);
  }
  boost::asio::post(s->work, [s, call, shared, key_from, handler, policy_type, body = std::move(req.body)] {
    try {
      call->jws = signet::acme::parse_jws(body);
      if (call->jws.url != call->url) {
        fail("unauthorized", "the JWS \"url\" header is \"" + call->jws.url.substr(0, 200) +
                                 "\" but the request went to " + call->url + "; they must be the same (RFC 8555 6.4)");
      }
      if (!s->nonces.authentic(call->jws.nonce)) fail_bad_nonce();
      ossl::Pkey account_key;
      const EVP_PKEY* key = nullptr;
      if (call->jws.jwk) {
        if (key_from == KeyFrom::Kid) {
          fail("malformed", "this request must name its account with \"kid\" (its account URL); \"jwk\" is only for "
                            "newAccount and revokeCert");
        }
        key = call->jws.jwk->key.get();
      } else {
        if (key_from == KeyFrom::Jwk) fail("malformed", "newAccount must carry the account's public key as \"jwk\"");
        const std::string prefix = call->base + "/acme/acct/";
        const std::string& kid = *call->jws.kid;
        if (!kid.starts_with(prefix)) {
          fail("accountDoesNotExist", "the \"kid\" " + kid.substr(0, 200) + " is not an account URL of this server (" +
                                          prefix + "...)");
        }
        call->account = s->store.account(kid.substr(prefix.size()));
        if (!call->account) fail("accountDoesNotExist", "there is no account " + kid + " on this server");
        if (call->account->status != signet::acme::AccountStatus::Valid) {
          fail("unauthorized", "account " + kid + " is " + std::string(signet::acme::to_string(call->account->status)) +
                                   " and can make no more requests");
        }
        account_key = std::move(signet::acme::parse_jwk(call->account->jwk).key);
        key = account_key.get();
      }
      if (!signet::acme::verify_jws(call->jws, key)) {
        fail("malformed", "the JWS signature does not verify with the account key");
      }
      if (!s->nonces.consume(call->jws.nonce)) fail_bad_nonce();
      if (!call->jws.post_as_get) call->payload = signet::acme::parse_json_object(call->jws.payload, "the JWS payload");
      handler(*s, *call, shared);
    } catch (const Error& e) {
      s->send(*shared, problem_of(e, call->request_id, policy_type), call->base);
    } catch (...) {
      s->send(*shared, problem_of(std::current_exception(), call->request_id, policy_type), call->base);
    }
  });
}

void answer(State& s, Call& c, Responder& r, HttpResponse resp) {
  if (c.account && resp.log_note.empty()) resp.log_note = "acme-account=" + c.account->id;
  s.send(r, std::move(resp), c.base);
}

HttpResponse located(HttpResponse r, std::string location) {
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

// ---- accounts

std::vector<std::string> checked_contacts(const json& contact) {
  if (!contact.is_array()) fail("malformed", "\"contact\" must be an array of \"mailto:\" URLs");
  if (contact.size() > kMaxContacts) {
    fail("invalidContact", "an account has at most " + std::to_string(kMaxContacts) + " contacts");
  }
  std::vector<std::string> out;
  for (const json& c : contact) {
    if (!c.is_string()) fail("malformed", "every contact must be a string such as \"mailto:admin@example.com\"");
    const std::string text = c.get<std::string>();
    if (!text.starts_with("mailto:")) {
      fail("unsupportedContact", "only \"mailto:\" contacts are supported, not \"" + text.substr(0, 64) + "\"");
    }
    const std::string address = text.substr(7);
    if (address.size() > 254 || !issuance::valid_email_address(address) ||
        address.find_first_of("?,%") != std::string::npos) {
      fail("invalidContact", "\"" + text.substr(0, 128) + "\" is not one email address (mailto:name@example.com)");
    }
    out.push_back(text);
  }
  return out;
}

// RFC 8555 7.3.4: the external account binding of a newAccount request, a JWS made with the HMAC
// key of an EAB key (`signet acme eab add`) over the account key. Returns the key id it binds with
// once it holds; whether that key is still unused is decided by the store as it creates the account.
std::string checked_binding(State& s, const Call& c, const signet::acme::Jwk& jwk) {
  const json& binding = c.payload["externalAccountBinding"];
  if (!binding.is_object()) {
    fail("malformed", "\"externalAccountBinding\" must be a flattened JWS object made with the HMAC key (RFC 8555 7.3.4)");
  }
  const signet::acme::Jws eab = signet::acme::parse_jws(binding.dump(), signet::acme::JwsKind::ExternalAccountBinding);
  if (eab.url != c.url) {
    fail("malformed", "the external account binding's \"url\" must be the newAccount URL " + c.url + " (RFC 8555 7.3.4)");
  }
  const std::string& kid = *eab.kid;
  const std::string shown = kid.substr(0, 100);
  const auto key = s.store.eab_key(kid);
  if (!key) {
    fail("unauthorized", "the external account binding's key id \"" + shown +
                             "\" is not known to this CA, or was removed; ask its operator for a key id and HMAC key "
                             "(`signet acme eab add`)");
  }
  // A key binds one account: one that did is refused before its HMAC key is needed (on a shared
  // ledger, a key moved by `ledger migrate` is sealed under another node's store).
  if (!key->account_id.empty()) {
    fail("unauthorized", "the external account binding key id \"" + shown +
                             "\" was used already for another account; a key binds one account only: ask the CA's "
                             "operator for a new one");
  }
  const auto hmac_key = crypto::aead_open(s.ca.acme_eab_key.view(), key->hmac_sealed, as_bytes(kid));
  if (!hmac_key) {
    throw Error(ErrorKind::Internal, "eab-key-unsealable",
                "the HMAC key of external account binding key " + kid +
                    " does not unseal with this store's key (was the store restored from another store's backup?); "
                    "remove it with `signet acme eab remove " + kid + "` and make a new one with `signet acme eab add`");
  }
  if (!signet::acme::verify_jws_hmac(eab, hmac_key->view())) {
    fail("unauthorized", "the external account binding's MAC does not verify with the HMAC key of key id \"" + shown +
                             "\"; give the ACME client the HMAC key exactly as `signet acme eab add` printed it "
                             "(base64url)");
  }
  const json bound = json::parse(eab.payload, nullptr, false);
  if (!bound.is_object() || signet::acme::parse_jwk(bound).thumbprint != jwk.thumbprint) {
    fail("malformed", "the external account binding's payload must be the account key, the same JWK as the "
                      "request's \"jwk\" (RFC 8555 7.3.4)");
  }
  return kid;
}

void new_account(State& s, Call& c, std::shared_ptr<Responder> r) {
  if (c.payload.is_null()) fail("malformed", "newAccount needs a JSON object payload");
  const auto config = s.ca.config();
  const signet::acme::Jwk& jwk = *c.jws.jwk;
  if (auto existing = s.store.account_by_thumbprint(jwk.thumbprint)) {
    if (existing->status != signet::acme::AccountStatus::Valid) {
      fail("unauthorized", "the account of this key is " + std::string(signet::acme::to_string(existing->status)));
    }
    c.account = existing;
    return answer(s, c, *r, located(json_answer(200, s.account_json(c, *existing)), c.base + "/acme/acct/" + existing->id));
  }
  if (c.payload.value("onlyReturnExisting", false)) {
    fail("accountDoesNotExist", "there is no account with this key (onlyReturnExisting was set)");
  }
  if (!config->acme_terms_of_service.empty() && !c.payload.value("termsOfServiceAgreed", false)) {
    fail("malformed", "agree to the terms of service at " + config->acme_terms_of_service +
                          " (termsOfServiceAgreed: true) to create an account");
  }
  if (config->acme_eab_required && !c.payload.contains("externalAccountBinding")) {
    fail("externalAccountRequired", "this CA needs an external account binding: ask its operator for a key id and "
                                    "HMAC key (`signet acme eab add`) and give them to your ACME client");
  }
  signet::acme::Account account;
  if (c.payload.contains("externalAccountBinding")) account.eab_kid = checked_binding(s, c, jwk);
  account.id = signet::acme::random_id();
  account.jwk = jwk.json;
  account.thumbprint = jwk.thumbprint;
  if (c.payload.contains("contact")) account.contact = checked_contacts(c.payload["contact"]);
  account.created_from = c.remote_host;
  if (!s.account_allowed(c.remote_host, config->acme_new_accounts_per_address_per_hour)) {
    HttpResponse limited = problem("rateLimited", "too many new accounts from " + c.remote_host + " this hour (" +
                                                      std::to_string(config->acme_new_accounts_per_address_per_hour) +
                                                      "); try again later");
    limited.headers.emplace_back("Retry-After", "3600");
    return answer(s, c, *r, std::move(limited));
  }
  auto [stored, created] = s.store.create_account(std::move(account));
  c.account = stored;
  if (created) {
    s.ca.metrics.increment("signet_acme_accounts_created_total");
    if (stored.eab_kid.empty()) {
      spdlog::info("acme: account {} created from {}", stored.id, c.remote_host);
    } else {
      spdlog::info("acme: account {} created from {} with external account binding key {}", stored.id, c.remote_host,
                   stored.eab_kid);
    }
  }
  answer(s, c, *r, located(json_answer(created ? 201 : 200, s.account_json(c, stored)), c.base + "/acme/acct/" + stored.id));
}

void account(State& s, Call& c, std::shared_ptr<Responder> r) {
  if (c.account->id != c.params.at("id")) fail("unauthorized", "an account may only read and change itself");
  if (!c.payload.is_null()) {
    if (c.payload.contains("status")) {
      if (c.payload["status"] != "deactivated") {
        fail("malformed", "an account's status can only be changed to \"deactivated\"");
      }
      s.store.deactivate_account(c.account->id);
      c.account->status = signet::acme::AccountStatus::Deactivated;
      spdlog::info("acme: account {} deactivated by its holder", c.account->id);
    }
    if (c.payload.contains("contact") && c.account->status == signet::acme::AccountStatus::Valid) {
      c.account->contact = checked_contacts(c.payload["contact"]);
      s.store.update_contact(c.account->id, c.account->contact);
    }
  }
  answer(s, c, *r, json_answer(200, s.account_json(c, *c.account)));
}

void account_orders(State& s, Call& c, std::shared_ptr<Responder> r) {
  if (c.account->id != c.params.at("id")) fail("unauthorized", "an account may only list its own orders");
  json orders = json::array();
  for (const std::string& id : s.store.order_ids(c.account->id, kMaxOrdersListed)) {
    orders.push_back(c.base + "/acme/order/" + id);
  }
  answer(s, c, *r, json_answer(200, json{{"orders", orders}}));
}

void key_change(State& s, Call& c, std::shared_ptr<Responder> r) {
  if (c.payload.is_null()) fail("malformed", "keyChange needs the inner JWS as its payload");
  signet::acme::Jws inner = signet::acme::parse_jws(c.jws.payload, signet::acme::JwsKind::KeyChangeInner);
  if (inner.url != c.url) fail("malformed", "the inner JWS's \"url\" must be the keyChange URL " + c.url);
  if (!signet::acme::verify_jws(inner, inner.jwk->key.get())) {
    fail("malformed", "the inner JWS's signature does not verify with the new key it carries");
  }
  const json body = signet::acme::parse_json_object(inner.payload, "the inner JWS's payload");
  if (!body.contains("account") || !body.contains("oldKey")) {
    fail("malformed", "the inner JWS's payload must be {\"account\": URL, \"oldKey\": JWK}");
  }
  if (body["account"] != c.base + "/acme/acct/" + c.account->id) {
    fail("malformed", "the inner JWS names another account than the one that signed the request");
  }
  if (signet::acme::parse_jwk(body["oldKey"]).thumbprint != c.account->thumbprint) {
    fail("malformed", "\"oldKey\" is not the account's current key");
  }
  if (inner.jwk->thumbprint == c.account->thumbprint) {
    fail("malformed", "the new key is the account's current key; roll over to a key of its own");
  }
  try {
    s.store.change_key(c.account->id, inner.jwk->json, inner.jwk->thumbprint);
  } catch (const Error& e) {
    if (e.code() != "conflict") throw;
    HttpResponse conflict = problem("conflict", "the new key is already the key of another account");
    if (auto other = s.store.account_by_thumbprint(inner.jwk->thumbprint)) {
      conflict.headers.emplace_back("Location", c.base + "/acme/acct/" + other->id);
    }
    return answer(s, c, *r, std::move(conflict));
  }
  spdlog::info("acme: account {} changed its key", c.account->id);
  c.account->jwk = inner.jwk->json;
  answer(s, c, *r, json_answer(200, s.account_json(c, *c.account)));
}

// ---- orders

// The profile the account's orders are checked and issued under: its EAB key's when it was
// created with one, else [acme] profile. A profile missing from the configuration is the
// operator's to fix (the error is logged with the request id); the client gets serverInternal.
const issuance::Profile& acme_profile(State& s, const Config& config, const signet::acme::Account& account) {
  if (account.eab_kid.empty()) {
    const auto it = config.profiles.find(config.acme_profile);
    if (it == config.profiles.end()) {
      throw Error(ErrorKind::Internal, "acme-profile-missing", "[acme] profile " + config.acme_profile + " is not defined");
    }
    return it->second;
  }
  // A removed key still names the profile of the account it bound (removal stops new bindings).
  const auto key = s.store.eab_key(account.eab_kid, true);
  if (!key) {
    throw Error(ErrorKind::Internal, "acme-profile-missing",
                "ACME account " + account.id + " was bound with external account binding key " + account.eab_kid +
                    ", which is not in the store; its orders have no profile");
  }
  const auto it = config.profiles.find(key->profile);
  if (it == config.profiles.end()) {
    throw Error(ErrorKind::Internal, "acme-profile-missing",
                "profile " + key->profile + " of external account binding key " + key->kid + " (ACME account " +
                    account.id + ") is not defined in the configuration; define [profiles." + key->profile +
                    "] again, or deactivate the account (`signet acme accounts deactivate " + account.id + "`)");
  }
  return it->second;
}

HttpResponse rate_limited(const std::string& detail) {
  HttpResponse r = problem("rateLimited", detail);
  r.headers.emplace_back("Retry-After", "3600");
  return r;
}

void new_order(State& s, Call& c, std::shared_ptr<Responder> r) {
  if (c.payload.is_null() || !c.payload.contains("identifiers") || !c.payload["identifiers"].is_array() ||
      c.payload["identifiers"].empty()) {
    fail("malformed", "newOrder needs {\"identifiers\": [{\"type\": \"dns\", \"value\": \"www.example.com\"}, ...]}");
  }
  const auto config = s.ca.config();
  const issuance::Profile& profile = acme_profile(s, *config, *c.account);
  const json& requested = c.payload["identifiers"];
  if (requested.size() > profile.max_names) {
    fail("rejectedIdentifier", "an order may name at most " + std::to_string(profile.max_names) + " identifiers here");
  }
  signet::acme::NewOrder order;
  order.account_id = c.account->id;
  for (const json& i : requested) order.identifiers.push_back(signet::acme::check_identifier(i, profile));
  std::sort(order.identifiers.begin(), order.identifiers.end());
  order.identifiers.erase(std::unique(order.identifiers.begin(), order.identifiers.end()), order.identifiers.end());
  if (c.payload.contains("notBefore")) {
    fail("malformed", "this CA does not post-date certificates: leave out notBefore (the certificate is valid from "
                      "its issuance)");
  }
  const std::int64_t now = State::unix_now();
  if (c.payload.contains("notAfter")) {
    const auto after = c.payload["notAfter"].is_string() ? parse_rfc3339(c.payload["notAfter"].get<std::string>())
                                                         : std::nullopt;
    if (!after) fail("malformed", "notAfter must be an RFC 3339 time such as \"2027-01-31T00:00:00Z\"");
    const std::int64_t life = *after - now;
    if (life < issuance::kMinValidity.count() || life > profile.max_validity.count()) {
      fail("malformed", "notAfter must be from 10 minutes to " + std::to_string(profile.max_validity.count() / 86400) +
                            " days from now under this CA's profile");
    }
    order.not_after = *after;
  }
  if (s.store.orders_since(c.account->id, now - 3600) >= config->acme_orders_per_account_per_hour) {
    return answer(s, c, *r, rate_limited("this account made " + std::to_string(config->acme_orders_per_account_per_hour) +
                                         " orders in the last hour, the most this CA allows; try again later"));
  }
  if (s.store.pending_authorizations(c.account->id) + static_cast<std::int64_t>(order.identifiers.size()) >
      config->acme_pending_authorizations_per_account) {
    return answer(s, c, *r,
                  rate_limited("this account has too many pending authorizations (at most " +
                               std::to_string(config->acme_pending_authorizations_per_account) +
                               "); complete or deactivate them, or wait for them to expire"));
  }
  const signet::acme::Order created = s.store.create_order(order);
  s.ca.metrics.increment("signet_acme_orders_created_total");
  const signet::acme::OrderStatus status = s.settle(created);
  HttpResponse resp = located(json_answer(201, s.order_json(c, created, status)), c.base + "/acme/order/" + created.id);
  answer(s, c, *r, std::move(resp));
}

// The order if it is the caller's; a stranger's is not found, as an unknown one is.
signet::acme::Order own_order(State& s, const Call& c) {
  auto order = s.store.order(c.params.at("id"));
  if (!order || order->account_id != c.account->id) {
    throw Error(ErrorKind::NotFound, "malformed", "there is no order " + c.params.at("id") + " of this account");
  }
  return std::move(*order);
}

HttpResponse order_answer(State& s, const Call& c, const signet::acme::Order& o, signet::acme::OrderStatus status) {
  HttpResponse resp = json_answer(200, s.order_json(c, o, status));
  if (status == signet::acme::OrderStatus::Pending || status == signet::acme::OrderStatus::Processing) {
    resp.headers.emplace_back("Retry-After", "1");
  }
  return resp;
}

void order(State& s, Call& c, std::shared_ptr<Responder> r) {
  const signet::acme::Order o = own_order(s, c);
  answer(s, c, *r, order_answer(s, c, o, s.settle(o)));
}

void finalize(State& s, Call& c, std::shared_ptr<Responder> r) {
  const signet::acme::Order o = own_order(s, c);
  if (c.payload.is_null() || !c.payload.contains("csr") || !c.payload["csr"].is_string()) {
    fail("malformed", "finalize needs {\"csr\": base64url of the DER CSR}");
  }
  const auto der = signet::acme::base64url_decode(c.payload["csr"].get<std::string>());
  if (!der) fail("malformed", "\"csr\" is not base64url (RFC 8555 7.4: unpadded base64url of the DER CSR)");
  const auto csr = crypto::CertificateRequest::try_from_der(*der);
  if (!csr) fail("badCSR", "the CSR is not a DER PKCS#10 request");
  if (crypto::same_public_key(csr->public_key(), signet::acme::parse_jwk(c.account->jwk).key.get())) {
    fail("badCSR", "the CSR's key is the account key; a certificate needs a key of its own (RFC 8555 11.1), or a "
                   "stolen server key would give away the account too");
  }
  const auto names = signet::acme::identifiers_of_names(issuance::requested_names(*csr));
  if (names != o.identifiers) {
    std::string want;
    for (const auto& i : o.identifiers) want += (want.empty() ? "" : ", ") + i.value;
    fail("badCSR", "the CSR must name exactly the order's identifiers (" + want + "), no more and no fewer");
  }
  const auto config = s.ca.config();
  const issuance::Profile& profile = acme_profile(s, *config, *c.account);
  if (!s.store.begin_finalize(o.id)) {
    const signet::acme::OrderStatus now = s.settle(o);
    HttpResponse resp = problem("orderNotReady", "the order is " + std::string(signet::acme::to_string(now)) +
                                                     ", not ready: every authorization must be valid before finalize, "
                                                     "and an order is finalized once");
    return answer(s, c, *r, std::move(resp));
  }
  std::optional<std::chrono::seconds> validity;
  if (o.not_after) validity = std::chrono::seconds(*o.not_after - State::unix_now());
  auto self = s.shared_from_this();
  try {
    s.ca.issuer->issue_async(
        profile, *csr, validity, "acme:" + o.account_id,
        [self, call = c.shared_from_this(), r, o](std::optional<issuance::IssuanceResult> result,
                                                  std::exception_ptr error) mutable {
          // The callback runs on the io threads: the database writes go to the work pool.
          boost::asio::post(self->work, [self, call, r, o, result = std::move(result), error]() mutable {
            try {
              if (error) {
                const HttpResponse p = problem_of(error, call->request_id, "badCSR");
                if (ledger_unavailable(error)) {
                  // Nothing was issued (an issuance answers only once its certificate is recorded):
                  // the order is ready again for the client's retry, which the 503 asks for.
                  self->make_ready_again(o.id, 0);
                  return answer(*self, *call, *r, p);
                }
                self->store.order_invalid(o.id, json::parse(p.body));
                self->ca.metrics.increment("signet_issuance_failures_total");
                return answer(*self, *call, *r, p);
              }
              signet::acme::Order done = o;
              done.serial = result->intent.serial.hex();
              self->store.order_valid(o.id, done.serial);
              self->ca.metrics.increment("signet_certificates_issued_total", {{"profile", result->intent.profile}});
              self->ca.metrics.increment("signet_acme_orders_finalized_total");
              HttpResponse resp = order_answer(*self, *call, done, signet::acme::OrderStatus::Valid);
              resp.log_note = "acme-account=" + o.account_id + " serial=" + done.serial;
              answer(*self, *call, *r, std::move(resp));
            } catch (...) {
              answer(*self, *call, *r, problem_of(std::current_exception(), call->request_id, "badCSR"));
            }
          });
        });
  } catch (const Error& e) {
    // Refused by policy before anything was signed: the order stays ready for a better CSR.
    s.store.finalize_refused(o.id);
    s.ca.metrics.increment("signet_issuance_refused_total", {{"code", e.code()}});
    answer(s, c, *r, problem_of(e, c.request_id, "badCSR"));
  }
}

// ---- authorizations and challenges

signet::acme::Authorization own_authz(State& s, const Call& c, const std::string& id) {
  auto authz = s.store.authorization(id);
  if (!authz || authz->account_id != c.account->id) {
    throw Error(ErrorKind::NotFound, "malformed", "there is no authorization " + id + " of this account");
  }
  return std::move(*authz);
}

HttpResponse authz_answer(State& s, const Call& c, const signet::acme::Authorization& a) {
  const std::int64_t now = State::unix_now();
  HttpResponse resp = json_answer(200, s.authz_json(c, a, now));
  if (signet::acme::effective_status(a, now) == signet::acme::AuthzStatus::Pending) resp.headers.emplace_back("Retry-After", "1");
  return resp;
}

void authorization(State& s, Call& c, std::shared_ptr<Responder> r) {
  signet::acme::Authorization a = own_authz(s, c, c.params.at("id"));
  if (!c.payload.is_null() && c.payload.contains("status")) {
    if (c.payload["status"] != "deactivated") fail("malformed", "an authorization can only be deactivated");
    if (!s.store.deactivate_authorization(a.id)) {
      fail("malformed", "only a pending or valid authorization can be deactivated; this one is " +
                            std::string(signet::acme::to_string(signet::acme::effective_status(a, State::unix_now()))));
    }
    a = own_authz(s, c, a.id);
  }
  answer(s, c, *r, authz_answer(s, c, a));
}

HttpResponse challenge_answer(State& s, const Call& c, const std::string& id) {
  auto found = s.store.challenge(id);
  if (!found) throw Error(ErrorKind::NotFound, "malformed", "there is no challenge " + id);
  HttpResponse resp = json_answer(200, s.challenge_json(c, found->first));
  resp.headers.emplace_back("Link", "<" + c.base + "/acme/authz/" + found->second.id + ">;rel=\"up\"");
  if (found->first.status == signet::acme::ChallengeStatus::Processing) resp.headers.emplace_back("Retry-After", "1");
  return resp;
}

void challenge(State& s, Call& c, std::shared_ptr<Responder> r) {
  const std::string id = c.params.at("id");
  auto found = s.store.challenge(id);
  if (!found || found->second.account_id != c.account->id) {
    throw Error(ErrorKind::NotFound, "malformed", "there is no challenge " + id + " of this account");
  }
  // POST-as-GET reads it; any JSON object (RFC 8555 7.5.1: "{}") asks for validation.
  if (c.payload.is_null()) return answer(s, c, *r, challenge_answer(s, c, id));
  if (!s.store.start_challenge(id)) {
    // A pending challenge that cannot start belongs to an authorization that is over (invalid,
    // deactivated, expired, or valid by another challenge): saying "pending" would have the client
    // wait for nothing.
    const auto now = s.store.challenge(id);
    const signet::acme::AuthzStatus authz = signet::acme::effective_status(now->second, State::unix_now());
    if (now->first.status == signet::acme::ChallengeStatus::Pending && authz != signet::acme::AuthzStatus::Pending) {
      fail("malformed", "this challenge's authorization is " + std::string(signet::acme::to_string(authz)) +
                            ", so its challenges can no longer be answered; start a new order");
    }
    return answer(s, c, *r, challenge_answer(s, c, id));
  }
  // Answer with the outcome when validation is quick, else with "processing" after kAnswerWithin.
  struct Pending {
    std::atomic<bool> answered{false};
    boost::asio::steady_timer timer;
    explicit Pending(boost::asio::io_context& io) : timer(io) {}
  };
  auto pending = std::make_shared<Pending>(s.ca.io);
  auto self = s.shared_from_this();
  std::function<void()> reply = [self, call = c.shared_from_this(), r, pending, id] {
    // The timer is left to expire (cancelling it from this thread would race the io thread).
    if (pending->answered.exchange(true)) return;
    try {
      answer(*self, *call, *r, challenge_answer(*self, *call, id));
    } catch (...) {
      answer(*self, *call, *r, problem_of(std::current_exception(), call->request_id, "malformed"));
    }
  };
  pending->timer.expires_after(kAnswerWithin);
  pending->timer.async_wait([self, reply](const boost::system::error_code& ec) {
    if (ec) return;
    boost::asio::post(self->work, reply);
  });
  s.validate(id, c.account->id, reply);
}

// ---- certificates

void certificate(State& s, Call& c, std::shared_ptr<Responder> r) {
  const std::string& serial_text = c.params.at("serial");
  const auto serial = issuance::Serial::parse_hex(serial_text);
  const auto record = serial ? s.ca.ledger->find(*serial) : std::nullopt;
  if (!record || !record->certificate || record->client != "acme:" + c.account->id) {
    throw Error(ErrorKind::NotFound, "malformed", "there is no certificate " + serial_text + " of this account");
  }
  HttpResponse resp;
  resp.content_type = "application/pem-certificate-chain";
  resp.body = crypto::to_pem(*record->certificate) + s.ca.signer->ca_chain_pem();
  answer(s, c, *r, std::move(resp));
}

void revoke_cert(State& s, Call& c, std::shared_ptr<Responder> r) {
  if (c.payload.is_null() || !c.payload.contains("certificate") || !c.payload["certificate"].is_string()) {
    fail("malformed", "revokeCert needs {\"certificate\": base64url of the DER certificate}");
  }
  const auto der = signet::acme::base64url_decode(c.payload["certificate"].get<std::string>());
  const auto cert = der ? crypto::Certificate::try_from_der(*der) : std::nullopt;
  if (!cert) fail("malformed", "\"certificate\" is not base64url of a DER certificate");
  issuance::RevocationReason reason = issuance::RevocationReason::Unspecified;
  if (c.payload.contains("reason")) {
    const json& code = c.payload["reason"];
    const auto parsed = code.is_number_integer() ? issuance::revocation_reason_from_int(code.get<std::int64_t>())
                                                 : std::nullopt;
    if (!parsed) {
      fail("badRevocationReason", "the reason must be an RFC 5280 CRLReason code this CA offers: 0 to 5, 9 or 10");
    }
    reason = *parsed;
  }
  const auto serial = issuance::Serial::parse_hex(cert->serial_hex());
  const auto record = serial ? s.ca.ledger->find(*serial) : std::nullopt;
  if (!record || !record->certificate || record->certificate->der() != cert->der()) {
    throw Error(ErrorKind::NotFound, "malformed",
                "this CA has no record of issuing that certificate (certificates made by `signet setup` for the "
                "daemon itself are revoked by reissuing them, not through ACME)");
  }
  // By the account that ordered it, or with the certificate's own key (RFC 8555 7.6).
  const bool by_account = c.account && record->client == "acme:" + c.account->id;
  const bool by_key = c.jws.jwk.has_value() && crypto::same_public_key(cert->public_key(), c.jws.jwk->key.get());
  if (!by_account && !by_key) {
    fail("unauthorized", "only the account that ordered a certificate, or a request signed with the certificate's "
                         "key, may revoke it");
  }
  if (record->revoked_at) fail("alreadyRevoked", "the certificate " + record->serial.hex() + " is revoked already");
  const std::string actor = by_account ? "acme:" + c.account->id : "acme:certificate-key";
  s.ca.ledger->revoke(*serial, reason, actor);
  s.ca.ocsp->revoked({*serial});
  s.ca.crl->revoked();
  s.ca.metrics.increment("signet_revocations_total", {{"reason", std::string(issuance::to_string(reason))}});
  spdlog::info("acme: certificate {} revoked by {} ({})", record->serial.hex(), actor, issuance::to_string(reason));
  HttpResponse resp;
  resp.log_note = "revoked=" + record->serial.hex();
  answer(s, c, *r, std::move(resp));
}

// ---- unauthenticated GETs

json directory_json(const Config& config, const std::string& base) {
  json meta{{"externalAccountRequired", config.acme_eab_required}};
  if (!config.acme_terms_of_service.empty()) meta["termsOfService"] = config.acme_terms_of_service;
  if (!config.acme_website.empty()) meta["website"] = config.acme_website;
  return {{"newNonce", base + "/acme/new-nonce"},   {"newAccount", base + "/acme/new-account"},
          {"newOrder", base + "/acme/new-order"},   {"revokeCert", base + "/acme/revoke-cert"},
          {"keyChange", base + "/acme/key-change"}, {"meta", meta}};
}

}  // namespace

AcmeService::AcmeService(CaContext& ca) : state_(std::make_shared<State>(ca)) {}

AcmeService::~AcmeService() { stop(); }

void AcmeService::register_routes(Router& router) {
  auto s = state_;
  router.add("GET", "/acme/directory", kHttps, [s](HttpRequest& req, Responder r) {
    HttpResponse resp = json_answer(200, directory_json(*s->ca.config(), base_of(req, *s->ca.config())));
    r(std::move(resp));
  });
  router.add("GET", "/acme/new-nonce", kHttps, [s](HttpRequest& req, Responder r) {
    HttpResponse resp;
    resp.status = req.head ? 200 : 204;  // RFC 8555 7.2
    resp.content_type.clear();
    s->send(r, std::move(resp), base_of(req, *s->ca.config()));
  });
  const auto route = [&](std::string pattern, KeyFrom key_from, PostHandler handler, std::string_view policy_type) {
    router.add("POST", std::move(pattern), kHttps, [s, key_from, handler, policy_type](HttpRequest& req, Responder r) {
      post(s, req, std::move(r), key_from, handler, policy_type);
    });
  };
  route("/acme/new-account", KeyFrom::Jwk, &new_account, "malformed");
  route("/acme/acct/{id}", KeyFrom::Kid, &account, "malformed");
  route("/acme/acct/{id}/orders", KeyFrom::Kid, &account_orders, "malformed");
  route("/acme/key-change", KeyFrom::Kid, &key_change, "malformed");
  route("/acme/new-order", KeyFrom::Kid, &new_order, "rejectedIdentifier");
  route("/acme/order/{id}", KeyFrom::Kid, &order, "malformed");
  route("/acme/order/{id}/finalize", KeyFrom::Kid, &finalize, "badCSR");
  route("/acme/authz/{id}", KeyFrom::Kid, &authorization, "malformed");
  route("/acme/chall/{id}", KeyFrom::Kid, &challenge, "malformed");
  route("/acme/cert/{serial}", KeyFrom::Kid, &certificate, "malformed");
  route("/acme/revoke-cert", KeyFrom::Either, &revoke_cert, "malformed");
  // Anything else under /acme/ is answered as ACME clients expect errors: a problem document with a
  // nonce. Registered last: the routes above match first.
  for (const char* method : {"GET", "POST"}) {
    router.add(method, "/acme/{rest*}", kHttps, [s](HttpRequest& req, Responder r) {
      const std::string base = base_of(req, *s->ca.config());
      const std::string& rest = req.params["rest"];
      const bool known = std::any_of(std::begin(kPostResources), std::end(kPostResources),
                                     [&](std::string_view p) { return rest.starts_with(p); });
      if (req.method == "GET" && known) {
        HttpResponse resp = problem(405, "malformed", "ACME resources are read with POST-as-GET (RFC 8555 6.3): POST a "
                                                      "JWS with an empty payload");
        resp.headers.emplace_back("Allow", "POST");
        return s->send(r, std::move(resp), base);
      }
      s->send(r, problem(404, "malformed", "there is no ACME resource " + req.path + "; the directory is " + base +
                                               "/acme/directory"),
              base);
    });
  }
}

void AcmeService::start() {
  auto s = state_;
  boost::asio::post(s->work, [s] {
    try {
      for (const std::string& id : s->store.processing_challenges()) {
        if (auto found = s->store.challenge(id)) s->validate(id, found->second.account_id, {});
      }
    } catch (const std::exception& e) {
      spdlog::error("acme: cannot resume pending validations: {}", e.what());
    }
  });
  // Expired orders and authorizations go after a day, hourly.
  auto prune = std::make_shared<std::function<void()>>();
  *prune = [s, weak = std::weak_ptr<std::function<void()>>(prune)] {
    s->prune_timer.expires_after(std::chrono::hours(1));
    s->prune_timer.async_wait([s, weak](const boost::system::error_code& ec) {
      if (ec) return;
      boost::asio::post(s->work, [s] {
        try {
          if (const std::int64_t n = s->store.prune(); n > 0) spdlog::info("acme: pruned {} expired orders", n);
        } catch (const std::exception& e) {
          spdlog::warn("acme: pruning expired orders failed: {}", e.what());
        }
      });
      if (auto again = weak.lock()) (*again)();
    });
  };
  prune_ = prune;
  (*prune)();
}

void AcmeService::stop() {
  if (!state_) return;
  state_->prune_timer.cancel();
  // Validations still waiting do not hold up the stop: their challenges stay processing and are
  // validated again at the next start. Running ones end within validation_timeout.
  {
    std::lock_guard lock(state_->validations_mutex);
    state_->validations.clear();
  }
  state_->validation.stop();
  state_->validation.join();
  state_->work.join();
}

}  // namespace signet::daemon
