// Numbered schema migrations, embedded at build time from common/sql/<schema>/NNN_*.sql.
//
// migrate() applies every migration above the database's PRAGMA user_version in one transaction
// and sets user_version to the last one applied; on any failure nothing is applied. A database
// whose user_version is above the newest migration this build knows is refused.
//
// Thread-safety: as Database.
#pragma once

#include <string_view>
#include <vector>

#include "signet/db/sqlite.h"

namespace signet::db {

struct Migration {
  int version;
  std::string_view file;  // e.g. "001_initial.sql"
  std::string_view sql;
};

// Returns the version the database is at afterwards. Throws Error(Unsupported, "schema-too-new")
// for a newer database, and the SQLite error of a failed migration otherwise.
int migrate(Database& db, const std::vector<Migration>& migrations);

// The newest version in `migrations` (0 when empty).
[[nodiscard]] int latest_version(const std::vector<Migration>& migrations) noexcept;

}  // namespace signet::db

namespace signet::keystore {
// The key store's migrations (common/sql/keystore/).
[[nodiscard]] const std::vector<signet::db::Migration>& schema_migrations();
}  // namespace signet::keystore
