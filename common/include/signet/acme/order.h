// ACME resources (RFC 8555 section 7.1) and the rules of their state machines (section 7.1.6):
// what an account, order, authorization and challenge hold, and how an order's status follows from
// its authorizations and the clock. No storage and no HTTP here (signet/acme/store.h keeps them,
// server/daemon/acme_routes.cpp serves them).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "signet/issuance/profile.h"

namespace signet::acme {

enum class AccountStatus { Valid, Deactivated, Revoked };
enum class OrderStatus { Pending, Ready, Processing, Valid, Invalid };
enum class AuthzStatus { Pending, Valid, Invalid, Deactivated, Expired, Revoked };
enum class ChallengeStatus { Pending, Processing, Valid, Invalid };

// The RFC's lowercase names ("valid", "processing", ...).
[[nodiscard]] std::string_view to_string(AccountStatus s) noexcept;
[[nodiscard]] std::string_view to_string(OrderStatus s) noexcept;
[[nodiscard]] std::string_view to_string(AuthzStatus s) noexcept;
[[nodiscard]] std::string_view to_string(ChallengeStatus s) noexcept;
// Error(Integrity, "acme-state-corrupt") for a name that is not one (a hand-edited row).
[[nodiscard]] AccountStatus account_status(std::string_view s);
[[nodiscard]] OrderStatus order_status(std::string_view s);
[[nodiscard]] AuthzStatus authz_status(std::string_view s);
[[nodiscard]] ChallengeStatus challenge_status(std::string_view s);

struct Identifier {
  std::string type;   // "dns" or "ip"
  std::string value;  // as the order has it: lowercase DNS name ("*.example.test" for a wildcard),
                      // or the IP address in its canonical text form
  friend bool operator==(const Identifier&, const Identifier&) = default;
  friend auto operator<=>(const Identifier&, const Identifier&) = default;
};

struct Account {
  std::string id;
  AccountStatus status = AccountStatus::Valid;
  nlohmann::json jwk;
  std::string thumbprint;
  std::vector<std::string> contact;
  std::string eab_kid;
  std::int64_t created_at = 0;
  std::string created_from;
};

struct Challenge {
  std::string id;
  std::string authorization_id;
  std::string type;  // "http-01", "dns-01", "tls-alpn-01"
  std::string token;
  ChallengeStatus status = ChallengeStatus::Pending;
  std::optional<std::int64_t> validated_at;
  nlohmann::json error;  // null, or a problem document
  std::string address;
};

struct Authorization {
  std::string id;
  std::string account_id;
  Identifier identifier;  // for a wildcard: the name without "*." (RFC 8555 7.1.4)
  bool wildcard = false;
  AuthzStatus status = AuthzStatus::Pending;
  std::int64_t expires = 0;
  std::int64_t created_at = 0;
  std::vector<Challenge> challenges;
};

struct Order {
  std::string id;
  std::string account_id;
  OrderStatus status = OrderStatus::Pending;
  std::vector<Identifier> identifiers;
  std::vector<std::string> authorization_ids;
  std::optional<std::int64_t> not_after;
  std::int64_t expires = 0;
  nlohmann::json error;  // null, or a problem document
  std::string serial;    // hex, once valid
  std::int64_t created_at = 0;
};

// How long things live: a pending authorization (and its order) a week, a valid one 30 days (it
// is reused for new orders of the same account while it has a day left).
inline constexpr std::int64_t kPendingLifetime = 7 * 24 * 3600;
inline constexpr std::int64_t kValidAuthzLifetime = 30 * 24 * 3600;
inline constexpr std::int64_t kReuseMargin = 24 * 3600;

// An authorization's status as of `now`: pending or valid past its expiry is expired.
[[nodiscard]] AuthzStatus effective_status(const Authorization& authz, std::int64_t now);
// An order's status as of `now`, from its stored status and its authorizations' (RFC 8555 7.1.6):
// pending becomes ready when every authorization is valid, invalid when one is invalid,
// deactivated, expired or revoked, or when the order expired; processing, valid and invalid stay.
[[nodiscard]] OrderStatus effective_status(const Order& order, const std::vector<Authorization>& authzs,
                                           std::int64_t now);

// Checks and normalizes one identifier of a new order against `profile`: lowercases DNS names,
// writes IP addresses canonically, and applies the issuance policy's name rules (a public suffix,
// a name outside the profile, a wildcard where the profile has none). Error(Malformed,
// "malformed") for a missing or non-string member; Error(Unsupported, "unsupportedIdentifier") for
// a type other than dns and ip; Error(PolicyDenied, "rejectedIdentifier") with the policy's reason.
[[nodiscard]] Identifier check_identifier(const nlohmann::json& identifier, const issuance::Profile& profile);

// The challenge types offered for an identifier: http-01, dns-01, tls-alpn-01 for a DNS name; only
// dns-01 for a wildcard (RFC 8555 7.1.3: only DNS proves control of a whole domain); http-01 and
// tls-alpn-01 for an IP address (RFC 8738 7: no dns-01).
[[nodiscard]] std::vector<std::string> challenge_types(const Identifier& identifier);

// The names a CSR asks for, as identifiers ("dns" lowercase, "ip" canonical), sorted and unique;
// email addresses and other names are refused (Error(PolicyDenied, "badCSR")), as ACME does not
// validate them.
[[nodiscard]] std::vector<Identifier> identifiers_of_names(const std::vector<std::string>& typed_names);

// RFC 8555 8.1: token || '.' || thumbprint.
[[nodiscard]] std::string key_authorization(std::string_view token, std::string_view thumbprint);

// 16 random bytes as base64url: an id for a URL, never beginning with '-' (it is typed as a
// command-line argument too).
[[nodiscard]] std::string random_id();
// 32 random bytes as base64url: a challenge token (RFC 8555 8.1: at least 128 bits).
[[nodiscard]] std::string random_token();

}  // namespace signet::acme
