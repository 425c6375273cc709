// Backups of a whole key store, and restores that can never bring back a broken key
// (README, "Backup file format" and `backup restore`).
//
// A backup holds a consistent snapshot of the store's database (SQLite online backup API, safe
// while another process writes), the store's data key, and a manifest, in the encrypted container
// of container.h. Restoring opens the backup into a private scratch file, runs the full integrity
// check on every entry with the source store's identity, and then (KeyStore::restore) re-wraps
// the valid keys under the target store's data key and quarantines the invalid ones, in one
// transaction.
//
// Thread-safety: an OpenedBackup belongs to one thread.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/integrity.h"

namespace signet::backup {

// A backup decrypted and authenticated end to end, with its entries checked.
class OpenedBackup {
 public:
  // Reads `file` with `passphrase` into a scratch database in `scratch_dir` (a private directory,
  // normally the target data dir), checks the database (quick_check; schema not newer than this
  // build, migrated if older) and runs the integrity check on every entry. Errors are those of
  // read_container, plus "backup-database-corrupt" (Integrity), "schema-too-new" (Unsupported).
  // A file that is not a backup but a certificate request or certificate fails with
  // "private-key-missing"; a key file fails with "not-a-backup" and a pointer to keys import.
  [[nodiscard]] static OpenedBackup open(const std::filesystem::path& file, const Passphrase& passphrase,
                                         const std::filesystem::path& scratch_dir,
                                         TimePoint now = std::chrono::system_clock::now());
  OpenedBackup(OpenedBackup&&) noexcept;
  OpenedBackup& operator=(OpenedBackup&&) noexcept;
  ~OpenedBackup();  // removes the scratch database

  [[nodiscard]] const nlohmann::json& manifest() const noexcept { return manifest_; }
  [[nodiscard]] const Bytes& store_id() const noexcept { return store_id_; }
  [[nodiscard]] const Bytes& backup_id() const noexcept { return backup_id_; }
  [[nodiscard]] const std::vector<keystore::KeyRecord>& records() const noexcept { return records_; }
  // Verdicts, in the order of records().
  [[nodiscard]] const std::vector<keystore::KeyVerdict>& verdicts() const noexcept { return verdicts_; }
  [[nodiscard]] keystore::KeyContext context() const noexcept { return {store_id_, data_key_.view()}; }
  [[nodiscard]] const std::filesystem::path& database_path() const noexcept { return scratch_; }
  [[nodiscard]] db::Database& database() noexcept { return *db_; }

 private:
  OpenedBackup() = default;
  nlohmann::json manifest_;
  Bytes store_id_;
  Bytes backup_id_;
  SecretBytes data_key_;
  std::filesystem::path scratch_;
  std::optional<db::Database> db_;
  std::vector<keystore::KeyRecord> records_;
  std::vector<keystore::KeyVerdict> verdicts_;
};

// Throws what OpenedBackup::open throws for a file that is no backup at all, without needing the
// passphrase: "file-not-found", "private-key-missing" (a certificate request or certificate),
// "not-a-backup". Returns when `file` starts like a backup. The CLI calls it before asking for
// the backup passphrase, so that restoring a .req file names the real problem.
void check_is_backup(const std::filesystem::path& file);

// SHA-256 over an entry as stored (all columns, certificates and requests): identifies it in the
// quarantine so that restoring the same backup twice quarantines nothing twice.
[[nodiscard]] Bytes entry_digest(const keystore::KeyRecord& record);

}  // namespace signet::backup
