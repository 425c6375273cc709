// Loading key entries from a key store database, exactly as stored. Private to common/.
// Used for the store itself and for the database inside a backup.
#pragma once

#include <string>
#include <vector>

#include "signet/db/sqlite.h"
#include "signet/keystore/integrity.h"

namespace signet::keystore {

// Every entry ordered by name (or only `only_name`), with its certificates by position and its
// requests.
[[nodiscard]] std::vector<KeyRecord> load_key_records(db::Database& db, const std::string* only_name);

}  // namespace signet::keystore
