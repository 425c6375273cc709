// The copy of the key store that KeyStore::open() makes before it migrates an older schema
// (README, "Upgrades").
//
// Before the first migration of a store, open() copies signet.db beside it as
//   signet.db.schema-<old version>-<UTC time, YYYYMMDDTHHMMSSZ>.bak
// (".<n>.bak" from the second copy made in the same second on), with SQLite's online backup API,
// inside the migration's transaction (from a second connection: SQLite does not back up from one in
// a write transaction): the copy is what the store held just before the migration, WAL included,
// and no other process can change it in between. The copy
// is written to a temporary name, fsynced, checked (verify_upgrade_copy()) and only then renamed
// into place without replacing anything, mode 0600, the directory fsynced: a file with such a name
// is always a complete, verified copy. If it cannot be made or verified, nothing is migrated.
//
// The copy is a plain SQLite file (rollback journal mode) that the Signet which wrote that schema
// opens as its signet.db. Signet never removes one that was kept; the operator does, once satisfied
// with the upgrade (`signet store check` lists them).
//
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/clock.h"
#include "signet/db/sqlite.h"

namespace signet::keystore {

inline constexpr std::string_view kUpgradeCopyPrefix = "signet.db.schema-";
inline constexpr std::string_view kUpgradeCopySuffix = ".bak";

// What a copy's name says.
struct UpgradeCopyName {
  int schema_version = 0;
  std::string taken_at;  // YYYYMMDDTHHMMSSZ, UTC
  int sequence = 1;      // 1, or n of ".<n>.bak"
};

// A copy found in a data directory.
struct UpgradeCopy {
  std::filesystem::path path;
  UpgradeCopyName name;
  std::uintmax_t size = 0;
  unsigned mode = 0;  // permission bits
  // What the file itself says, read without writing (immutable): empty when it is an SQLite
  // database, a whole number of pages, with store metadata and the schema version its name gives;
  // otherwise what is wrong (a file named like a copy is not trusted for its name alone).
  std::string problem;
};

// "signet.db.schema-3-20261205T171500Z.bak" (sequence 1), "signet.db.schema-3-20261205T171500Z.2.bak".
[[nodiscard]] std::string upgrade_copy_name(int schema_version, std::int64_t unix_seconds, int sequence = 1);
// The parts of such a name; std::nullopt for any other name (temporary files included).
[[nodiscard]] std::optional<UpgradeCopyName> parse_upgrade_copy_name(std::string_view file_name);
// The copies directly in `dir` (regular files with such a name), oldest first, each checked as
// UpgradeCopy::problem says. An unreadable or missing directory has none.
[[nodiscard]] std::vector<UpgradeCopy> list_upgrade_copies(const std::filesystem::path& dir);

// Copies `source` (an open connection to <dir>/signet.db at `schema_version`, normally inside the
// migration's transaction) to a new copy in `dir` as described above, and returns its path.
// Throws Error(Storage, "upgrade-copy-failed") when it cannot be written, and what
// verify_upgrade_copy() throws; either way no copy is left behind.
[[nodiscard]] std::filesystem::path write_upgrade_copy(db::Database& source, const std::filesystem::path& dir,
                                                       int schema_version, const Clock& clock);

// Removes what a copy interrupted by a crash or a kill left in `dir` (".signet.db.schema-...tmp-..."
// and its -journal, -wal, -shm), and returns the names removed. Only safe where no copy can be in
// progress: KeyStore::open() calls it once the store is at the latest schema.
std::vector<std::string> remove_stale_upgrade_temporaries(const std::filesystem::path& dir);

// Checks that the file `copy` holds what `source` holds: it passes PRAGMA integrity_check, has
// user_version `schema_version`, the same store id, the same tables and the same number of rows in
// each. Throws Error(Integrity, "upgrade-copy-invalid") naming the copy and the first difference.
void verify_upgrade_copy(db::Database& source, const std::filesystem::path& copy, int schema_version);

}  // namespace signet::keystore
