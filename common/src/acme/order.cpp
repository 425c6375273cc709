#include "signet/acme/order.h"

#include <algorithm>
#include <array>
#include <utility>

#include "signet/acme/jws.h"
#include "signet/core/error.h"
#include "signet/crypto/primitives.h"
#include "signet/issuance/policy.h"

namespace signet::acme {
namespace {

template <typename Enum, std::size_t N>
Enum parse_status(std::string_view text, const std::array<std::pair<Enum, std::string_view>, N>& names,
                  std::string_view what) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  throw Error(ErrorKind::Integrity, "acme-state-corrupt",
              "the ACME tables hold an unknown " + std::string(what) + " status \"" + std::string(text) +
                  "\" (the store was edited or damaged; restore it from a backup)");
}

template <typename Enum, std::size_t N>
std::string_view name_of(Enum value, const std::array<std::pair<Enum, std::string_view>, N>& names) noexcept {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<AccountStatus, std::string_view>, 3> kAccount{
    {{AccountStatus::Valid, "valid"}, {AccountStatus::Deactivated, "deactivated"}, {AccountStatus::Revoked, "revoked"}}};
constexpr std::array<std::pair<OrderStatus, std::string_view>, 5> kOrder{{{OrderStatus::Pending, "pending"},
                                                                          {OrderStatus::Ready, "ready"},
                                                                          {OrderStatus::Processing, "processing"},
                                                                          {OrderStatus::Valid, "valid"},
                                                                          {OrderStatus::Invalid, "invalid"}}};
constexpr std::array<std::pair<AuthzStatus, std::string_view>, 6> kAuthz{{{AuthzStatus::Pending, "pending"},
                                                                          {AuthzStatus::Valid, "valid"},
                                                                          {AuthzStatus::Invalid, "invalid"},
                                                                          {AuthzStatus::Deactivated, "deactivated"},
                                                                          {AuthzStatus::Expired, "expired"},
                                                                          {AuthzStatus::Revoked, "revoked"}}};
constexpr std::array<std::pair<ChallengeStatus, std::string_view>, 4> kChallenge{
    {{ChallengeStatus::Pending, "pending"},
     {ChallengeStatus::Processing, "processing"},
     {ChallengeStatus::Valid, "valid"},
     {ChallengeStatus::Invalid, "invalid"}}};

[[noreturn]] void malformed(const std::string& message) { throw Error(ErrorKind::Malformed, "malformed", message); }

}  // namespace

std::string_view to_string(AccountStatus s) noexcept { return name_of(s, kAccount); }
std::string_view to_string(OrderStatus s) noexcept { return name_of(s, kOrder); }
std::string_view to_string(AuthzStatus s) noexcept { return name_of(s, kAuthz); }
std::string_view to_string(ChallengeStatus s) noexcept { return name_of(s, kChallenge); }
AccountStatus account_status(std::string_view s) { return parse_status(s, kAccount, "account"); }
OrderStatus order_status(std::string_view s) { return parse_status(s, kOrder, "order"); }
AuthzStatus authz_status(std::string_view s) { return parse_status(s, kAuthz, "authorization"); }
ChallengeStatus challenge_status(std::string_view s) { return parse_status(s, kChallenge, "challenge"); }

AuthzStatus effective_status(const Authorization& authz, std::int64_t now) {
  if ((authz.status == AuthzStatus::Pending || authz.status == AuthzStatus::Valid) && authz.expires <= now) {
    return AuthzStatus::Expired;
  }
  return authz.status;
}

OrderStatus effective_status(const Order& order, const std::vector<Authorization>& authzs, std::int64_t now) {
  if (order.status != OrderStatus::Pending && order.status != OrderStatus::Ready) return order.status;
  // A ready order expires too: it must be finalized before its expiry (RFC 8555 7.1.3).
  if (order.expires <= now) return OrderStatus::Invalid;
  bool all_valid = authzs.size() == order.authorization_ids.size();
  for (const Authorization& a : authzs) {
    switch (effective_status(a, now)) {
      case AuthzStatus::Valid: break;
      case AuthzStatus::Pending: all_valid = false; break;
      default: return OrderStatus::Invalid;
    }
  }
  return all_valid ? OrderStatus::Ready : OrderStatus::Pending;
}

Identifier check_identifier(const nlohmann::json& identifier, const issuance::Profile& profile) {
  if (!identifier.is_object() || !identifier.contains("type") || !identifier["type"].is_string() ||
      !identifier.contains("value") || !identifier["value"].is_string()) {
    malformed("each identifier must be an object {\"type\": \"dns\" or \"ip\", \"value\": \"...\"}");
  }
  const std::string type = identifier["type"].get<std::string>();
  const std::string value = identifier["value"].get<std::string>();
  if (type != "dns" && type != "ip") {
    throw Error(ErrorKind::Unsupported, "unsupportedIdentifier",
                "identifiers of type \"" + type.substr(0, 32) + "\" are not issued here; use \"dns\" or \"ip\"");
  }
  try {
    return Identifier{type, issuance::check_name(profile, type, value)};
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::PolicyDenied) throw;
    throw Error(ErrorKind::PolicyDenied, "rejectedIdentifier", e.what());
  }
}

std::vector<std::string> challenge_types(const Identifier& identifier) {
  if (identifier.type == "ip") return {"http-01", "tls-alpn-01"};
  if (identifier.value.starts_with("*.")) return {"dns-01"};
  return {"http-01", "dns-01", "tls-alpn-01"};
}

std::vector<Identifier> identifiers_of_names(const std::vector<std::string>& typed_names) {
  std::vector<Identifier> out;
  for (const std::string& n : typed_names) {
    const std::size_t colon = n.find(':');
    std::string type = n.substr(0, colon);
    if (type != "dns" && type != "ip") {
      throw Error(ErrorKind::PolicyDenied, "badCSR",
                  "the CSR names " + n + "; an ACME certificate carries only the order's DNS names and IP addresses");
    }
    out.push_back({std::move(type), n.substr(colon + 1)});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string key_authorization(std::string_view token, std::string_view thumbprint) {
  return std::string(token) + "." + std::string(thumbprint);
}

std::string random_id() {
  // Ids are typed as arguments (`signet acme eab remove KID`, `accounts deactivate ID`): one that
  // began with '-' would read as an option. One in 64 would; those are drawn again.
  for (;;) {
    std::string id = base64url_encode(crypto::random_bytes(16));
    if (id.front() != '-') return id;
  }
}
std::string random_token() { return base64url_encode(crypto::random_bytes(32)); }

}  // namespace signet::acme
