// The private state of a KeyStore, shared by store.cpp and store_backup.cpp. Private to common/.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "signet/core/bytes.h"
#include "signet/core/clock.h"
#include "signet/core/file.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"

namespace signet::keystore {

struct KeyStore::State {
  std::filesystem::path dir;
  db::Database db;
  Bytes store_id;
  SecretBytes data_key;
  const Clock* clock;
  std::string actor = "signet";
  // A read-only store of an older schema is read from a migrated copy in here (removed with it).
  std::unique_ptr<file::PrivateTempDir> scratch;
  // What open() migrated, if anything.
  std::optional<StoreMigration> migration{};
};

}  // namespace signet::keystore
