// Numbered schema migrations, embedded at build time from common/sql/<schema>/NNN_*.sql.
//
// migrate() applies every migration above the database's PRAGMA user_version in one transaction
// and sets user_version to the last one applied; on any failure nothing is applied. A database
// whose user_version is above the newest migration this build knows is refused.
//
// Thread-safety: as Database.
#pragma once

#include <functional>
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

// What a caller does around the migrations, inside their transaction. BEGIN IMMEDIATE holds the
// database's write lock, so no other connection can migrate (or change anything) in between: the
// version a hook is given is the version that is being migrated, even when another process opened
// the same old database at the same moment (it waits, then finds nothing left to do). A hook that
// throws rolls everything back.
struct MigrationHooks {
  // Once user_version, read under the lock, shows there is something to apply; before any of it.
  std::function<void(int from, int to)> before;
  // After the last migration, before the commit.
  std::function<void(int from, int to)> after;
};
// The same, calling `hooks` only when there is something to migrate.
int migrate(Database& db, const std::vector<Migration>& migrations, const MigrationHooks& hooks);

// The newest version in `migrations` (0 when empty).
[[nodiscard]] int latest_version(const std::vector<Migration>& migrations) noexcept;

}  // namespace signet::db

namespace signet::keystore {
// The key store's migrations (common/sql/keystore/).
[[nodiscard]] const std::vector<signet::db::Migration>& schema_migrations();
}  // namespace signet::keystore
