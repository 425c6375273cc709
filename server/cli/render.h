// How the CLI shows verdicts: aligned text for people, JSON for scripts.
//
// The JSON shapes are documented in README.md ("JSON output") and kept stable: fields are only
// ever added, never renamed or removed, and "format" is bumped on an incompatible change.
//
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "signet/keystore/integrity.h"
#include "signet/keystore/store.h"

namespace signet::cli {

inline constexpr int kJsonFormat = 1;

// 2026-11-22T02:30:00Z
[[nodiscard]] std::string iso_time(std::int64_t unix_seconds);

// "valid", "valid-with-warnings" or "invalid".
[[nodiscard]] std::string status_of(const keystore::KeyVerdict& verdict);

[[nodiscard]] nlohmann::json to_json(const keystore::KeyVerdict& verdict);

// One line per key: NAME ALGORITHM FINGERPRINT CREATED CERTIFICATE [STATUS].
void print_key_table(std::ostream& out, const std::vector<const keystore::KeyVerdict*>& keys,
                     bool with_status);
// The findings of one key, indented, with their fixes.
void print_findings(std::ostream& out, const keystore::KeyVerdict& verdict, const std::string& indent);
// Everything about one key.
void print_key_details(std::ostream& out, const keystore::KeyVerdict& verdict);

// An entry of the quarantine: {"id", "name", "algorithm", "fingerprint_sha256", "origin_store_id",
// "origin_key_id", "quarantined", "status": "quarantined", "reusable": false, "findings"}. The id
// is the one `signet keys quarantine remove` takes.
[[nodiscard]] nlohmann::json to_json(const keystore::QuarantineEntry& entry);
// The quarantined entries, each with its id, full fingerprint, when, and findings with fixes.
void print_quarantine(std::ostream& out, const std::vector<keystore::QuarantineEntry>& entries,
                      const std::string& indent);

}  // namespace signet::cli
