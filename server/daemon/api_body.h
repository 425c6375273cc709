// The REST API's request bodies and query strings, read apart from the handlers in api.cpp so
// that they are tested (and fuzzed, tests/fuzz/rest_json_fuzz.cpp) without a CA behind them.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "signet/issuance/names.h"

namespace signet::daemon {

// POST /api/v1/certificates: {"csr": PEM, "profile": name, "validity": "30d" or seconds (optional)}.
struct IssueBody {
  std::string csr;
  std::string profile;
  std::optional<std::chrono::seconds> validity;
};

// Reads an issuance request's JSON body. Throws Error(Malformed) with the code malformed-json (not
// a JSON object), unknown-field, csr-missing, profile-missing or invalid-duration. The CSR itself
// is not parsed here.
[[nodiscard]] IssueBody parse_issue_body(std::string_view body);

// Reads a revocation's JSON body, {"reason": name} (the object may be empty: unspecified). Throws
// Error(Malformed) with the code malformed-json, unknown-field or reason-invalid.
[[nodiscard]] issuance::RevocationReason parse_revoke_body(std::string_view body);

// The query parameter `name` of a query string ("a=1&b=2"), percent-decoded with '+' as a space
// (an escape that is not two hex digits stays as it is); "" when it has no value, std::nullopt
// when absent.
[[nodiscard]] std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace signet::daemon
