#include "signet/db/migrations.h"

#include <string>

#include "signet/core/error.h"

namespace signet::db {

int latest_version(const std::vector<Migration>& migrations) noexcept {
  int latest = 0;
  for (const Migration& m : migrations) latest = std::max(latest, m.version);
  return latest;
}

int migrate(Database& db, const std::vector<Migration>& migrations) {
  return migrate(db, migrations, MigrationHooks{});
}

int migrate(Database& db, const std::vector<Migration>& migrations, const MigrationHooks& hooks) {
  const int latest = latest_version(migrations);
  Transaction tx(db);
  const int current = db.user_version();
  if (current > latest) {
    throw Error(ErrorKind::Unsupported, "schema-too-new",
                db.path().string() + " has schema version " + std::to_string(current) +
                    ", newer than this build of Signet knows (" + std::to_string(latest) +
                    "); it was written by a newer Signet: upgrade signet before using this store");
  }
  if (current < latest && hooks.before) hooks.before(current, latest);
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    db.exec(m.sql);
  }
  if (latest != current) {
    db.exec("PRAGMA user_version = " + std::to_string(latest));
    if (hooks.after) hooks.after(current, latest);
  }
  tx.commit();
  return latest;
}

}  // namespace signet::db
