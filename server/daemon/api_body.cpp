// The REST API's request bodies and query strings (see api_body.h).
#include "api_body.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "signet/core/error.h"
#include "signet/issuance/profile.h"

namespace signet::daemon {
namespace {

using json = nlohmann::json;

json parse_object(std::string_view body) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    throw Error(ErrorKind::Malformed, "malformed-json", "the request body is not a JSON object");
  }
  return parsed;
}

}  // namespace

IssueBody parse_issue_body(std::string_view text) {
  const json body = parse_object(text);
  for (const auto& [key, value] : body.items()) {
    if (key != "csr" && key != "profile" && key != "validity") {
      throw Error(ErrorKind::Malformed, "unknown-field",
                  "unknown field \"" + key + "\"; a request has csr, profile and optionally validity");
    }
  }
  if (!body.contains("csr") || !body["csr"].is_string()) {
    throw Error(ErrorKind::Malformed, "csr-missing", "the request needs \"csr\": a PEM certificate request");
  }
  if (!body.contains("profile") || !body["profile"].is_string()) {
    throw Error(ErrorKind::Malformed, "profile-missing", "the request needs \"profile\", such as \"server-tls\"");
  }
  IssueBody out;
  out.csr = body["csr"].get<std::string>();
  out.profile = body["profile"].get<std::string>();
  if (body.contains("validity")) {
    const json& v = body["validity"];
    if (v.is_number_integer()) {
      out.validity = std::chrono::seconds(v.get<std::int64_t>());
    } else if (v.is_string()) {
      out.validity = issuance::parse_duration(v.get<std::string>());
    } else {
      throw Error(ErrorKind::Malformed, "invalid-duration", "\"validity\" must be a duration such as \"30d\" or seconds");
    }
  }
  return out;
}

issuance::RevocationReason parse_revoke_body(std::string_view text) {
  const json body = parse_object(text);
  for (const auto& [key, value] : body.items()) {
    if (key != "reason") {
      throw Error(ErrorKind::Malformed, "unknown-field", "unknown field \"" + key + "\"; a revocation has only reason");
    }
  }
  if (!body.contains("reason")) return issuance::RevocationReason::Unspecified;
  const json& r = body["reason"];
  const auto parsed = r.is_string() ? issuance::parse_revocation_reason(r.get<std::string>()) : std::nullopt;
  if (!parsed) {
    std::string names;
    for (auto x : issuance::all_revocation_reasons()) names += (names.empty() ? "" : ", ") + std::string(issuance::to_string(x));
    throw Error(ErrorKind::Malformed, "reason-invalid", "\"reason\" must be one of " + names);
  }
  return *parsed;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    const std::size_t amp = std::min(query.find('&', pos), query.size());
    const std::string_view pair(query.data() + pos, amp - pos);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      std::string out;
      const std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '%' && i + 2 < v.size() && std::isxdigit(static_cast<unsigned char>(v[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(v[i + 2]))) {
          out.push_back(static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16)));
          i += 2;
        } else {
          out.push_back(v[i] == '+' ? ' ' : v[i]);
        }
      }
      return out;
    }
    pos = amp + 1;
  }
  return std::nullopt;
}

}  // namespace signet::daemon
