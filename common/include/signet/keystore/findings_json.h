// Findings as JSON: the one encoding used by the quarantine table and by every --json output, so
// that what a restore recorded reads exactly like what `keys verify --json` prints.
// Thread-safety: reentrant.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "signet/keystore/integrity.h"

namespace signet::keystore {

// [{"code": "...", "severity": "error"|"warning", "message": "...", "fix": "..."}, ...]
[[nodiscard]] nlohmann::json findings_to_json(const std::vector<Finding>& findings);

// The inverse. A code this build does not know (a hand edit, a newer Signet) reads as
// ciphertext-auth-failed, an error, with its message and fix kept as written: a quarantined entry
// never becomes less suspicious by being read back. Throws nlohmann::json::exception for JSON
// that is not such an array.
[[nodiscard]] std::vector<Finding> findings_from_json(const nlohmann::json& json);

}  // namespace signet::keystore
