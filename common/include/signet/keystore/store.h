// KeyStore: the encrypted SQLite key store of one CA instance (README, "The key store").
//
// The store is one file, <data dir>/signet.db (mode 0600, directory 0700, WAL, foreign keys,
// synchronous=FULL). A passphrase goes through scrypt to a key that unwraps the store's random
// 256-bit data key (AES-256-GCM); each private key is AES-256-GCM ciphertext under the data key
// with the entry's identity as AAD (see integrity.h).
//
// Every change runs in one transaction together with its audit_log row: on any failure (a full
// disk, a constraint, a crash) nothing changed. Keys are checked before they are written, and the
// listing calls run the full integrity check every time: a key is offered only if it passed just
// now.
//
// Thread-safety: a KeyStore is used by one thread at a time. The integrity check inside
// check_all() fans out to worker threads on its own.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/core/clock.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/integrity.h"
#include "signet/keystore/key_file.h"

namespace signet::backup {
class OpenedBackup;
}

namespace signet::keystore {

inline constexpr std::string_view kStoreFileName = "signet.db";
inline constexpr std::string_view kSourceGenerated = "generated";
inline constexpr std::string_view kSourceImported = "imported";
inline constexpr std::string_view kSourceRestored = "restored";

// Minimum length of a new store passphrase.
inline constexpr std::size_t kMinPassphraseLength = 12;

struct StoreInfo {
  std::filesystem::path path;
  std::string store_id_hex;
  int schema_version = 0;
  crypto::ScryptParams kdf;
  std::int64_t created_at = 0;
  std::int64_t passphrase_changed_at = 0;
  std::size_t key_count = 0;
};

// What KeyStore::open() migrated: the schema versions and the verified copy it made first
// (upgrade_copy.h).
struct StoreMigration {
  int from_version = 0;
  int to_version = 0;
  std::filesystem::path copy;
};

// A private key that passed the integrity check just now, with its certificates (own first,
// then the chain).
struct UnlockedKey {
  ossl::Pkey key;
  std::vector<crypto::Certificate> certificates;
  KeyVerdict verdict;
};

struct AuditEntry {
  std::int64_t at = 0;
  std::string actor;
  std::string action;
  std::string subject;
  std::string detail;
};

// One entry of a restore report.
struct RestoreItem {
  KeyVerdict verdict;       // the entry as checked in the backup
  std::string target_name;  // added: its name in this store; skipped: the existing entry's name
  std::string note;         // why it was renamed, skipped, ...
};

// An API client in a backup, as a restore reports it.
struct RestoreClient {
  std::string name;
  std::string id;                     // the client's identity (16 hex)
  bool admin = false;                 // an admin may revoke and manage every client
  std::vector<std::string> profiles;  // the profiles it may use ("*" = all)
  std::string note;                   // skipped: why
};

// A table of the backup that a restore left out: it is not one of this schema's tables (or not
// a plain table), so it was neither created nor read.
struct SkippedTable {
  std::string name;
  std::string reason;
};

// How to restore.
struct RestoreOptions {
  bool dry_run = false;  // write nothing; report what a real run would do
  // Add the backup's API clients to a store that has API clients of its own. Without it, such a
  // restore is refused before anything is written. A store without clients (a new one: the
  // disaster-recovery path) takes the backup's clients without it.
  bool merge_clients = false;
};

// What a restore did, or with dry_run, would do. Nothing else changes.
struct RestoreReport {
  bool dry_run = false;
  std::vector<RestoreItem> added;                // valid keys written (re-wrapped under this store)
  std::vector<RestoreItem> skipped;              // valid keys already present (same fingerprint)
  std::vector<RestoreItem> quarantined;          // invalid entries recorded in the quarantine
  std::vector<RestoreItem> already_quarantined;  // invalid entries quarantined by an earlier restore
  // The tables of this schema other than the key store's own (the certificate ledger): rows
  // added, or with dry_run, rows in the backup.
  std::vector<std::pair<std::string, std::int64_t>> tables;
  std::vector<SkippedTable> skipped_tables;  // tables of the backup left out, by name
  // The backup's API clients (not removed ones) that the restore adds, and those it leaves out
  // because this store has them already (same id, or a client of that name): its own are kept.
  std::vector<RestoreClient> clients_added;
  std::vector<RestoreClient> clients_skipped;
  bool store_had_clients = false;  // the store had API clients before (so merging needs the option)
  // Only with dry_run: a real run without RestoreOptions::merge_clients would be refused.
  bool needs_merge_clients = false;
};

// An entry that a restore refused, as kept in the quarantine table.
struct QuarantineEntry {
  std::int64_t id = 0;
  std::string name;
  std::string algorithm;
  std::string fingerprint_hex;
  std::string origin_store_id_hex;
  std::int64_t origin_key_id = 0;
  std::int64_t quarantined_at = 0;
  std::vector<Finding> findings;
};

// What setup last applied to this store (the installation table).
struct Installation {
  std::string state;         // "installed" or "pending-certificate"
  Bytes ca_fingerprint;      // of the CA key's public key
  std::optional<Bytes> ca_certificate_sha256;
  std::string answers;       // TOML
  std::int64_t updated_at = 0;
};

// The result of a backup.
struct BackupResult {
  std::filesystem::path file;
  std::string manifest_json;
  std::uint64_t bytes = 0;
};

class KeyStore {
 public:
  // <dir>/signet.db
  [[nodiscard]] static std::filesystem::path database_path(const std::filesystem::path& dir);

  // Creates a new store in `dir` (created 0700 if missing). The file is built under a temporary
  // name and renamed into place, so a failure leaves no store behind. Throws Error(Conflict,
  // "store-exists") when there is one already, Error(PolicyDenied, "passphrase-too-short").
  [[nodiscard]] static KeyStore create(const std::filesystem::path& dir, const Passphrase& passphrase,
                                       const crypto::ScryptParams& kdf = crypto::ScryptParams::strong(),
                                       const Clock& clock = SystemClock::instance());

  // Opens and unlocks the store in `dir`, migrating its schema if it is older. Refuses, with an
  // Error naming the problem and the fix: a missing store (NotFound, "store-missing"), an empty
  // or non-SQLite file (Malformed, "not-a-store"), a damaged one (Integrity, "store-corrupt"), a
  // newer schema (Unsupported, "schema-too-new"), a wrong passphrase (Unauthorized,
  // "wrong-passphrase"), a directory it cannot write (Storage, "data-dir-not-writable").
  [[nodiscard]] static KeyStore open(const std::filesystem::path& dir, const Passphrase& passphrase,
                                     const Clock& clock = SystemClock::instance());

  enum class Access { ReadWrite, ReadOnly };
  // The same, and with Access::ReadOnly the store is only looked at: the file is opened read-only,
  // nothing is migrated or changed (no journal-mode change either), and an older schema is read
  // from a migrated private copy. Every method that writes then fails (Storage). Used to show what
  // a store holds before anything is decided (the wizard, `signetd --check`).
  [[nodiscard]] static KeyStore open(const std::filesystem::path& dir, const Passphrase& passphrase, Access access,
                                     const Clock& clock = SystemClock::instance());

  KeyStore(KeyStore&&) noexcept;
  KeyStore& operator=(KeyStore&&) noexcept;
  ~KeyStore();

  // Who is recorded in the audit log for the following changes (default "signet").
  void set_actor(std::string actor);

  [[nodiscard]] StoreInfo info();
  // The migration this KeyStore's open() made, if it made one (signetd logs it).
  [[nodiscard]] std::optional<StoreMigration> migration() const;

  // Re-wraps the data key under a new passphrase (new salt, same KDF cost unless `kdf` is given),
  // in one transaction. Keys are untouched.
  void change_passphrase(const Passphrase& new_passphrase,
                         std::optional<crypto::ScryptParams> kdf = std::nullopt);

  // A 32-byte secret for `purpose`, derived from the store's data key with HKDF-SHA256 (info
  // "signet " + purpose, no salt: the data key is random). The same for the life of the store (a
  // passphrase change re-wraps the data key but keeps it), another for every purpose and every
  // store (a restore into another store re-wraps keys under that store's data key, so secrets
  // sealed under a derived key are re-sealed by the restore). For secrets kept outside the key
  // table, such as the sealed ACME external account binding keys (purpose "acme eab").
  [[nodiscard]] SecretBytes derive_secret(std::string_view purpose) const;
  // The same from a given data key (a backup's, during a restore).
  [[nodiscard]] static SecretBytes derive_secret(ByteView data_key, std::string_view purpose);

  // Generates and stores a key. Throws Error(Conflict, "name-taken"), Error(Malformed,
  // "invalid-name").
  KeyVerdict generate(const std::string& name, crypto::KeyAlgorithm algorithm,
                      const std::string& comment = "");

  // Stores an imported key with its certificates and requests. Refuses, writing nothing: an
  // unsupported key type or size (PolicyDenied, "algorithm-unsupported"), certificates or requests
  // that do not belong to the key ("certificate-key-mismatch", "request-key-mismatch",
  // "chain-certificate-unrelated"), a key already in the store (Conflict, "key-exists").
  KeyVerdict import(const std::string& name, KeyMaterial material,
                    std::string_view source = kSourceImported, const std::string& comment = "");

  // Attaches a certificate to an existing, valid entry: role "ca" when it is a CA certificate,
  // "leaf" otherwise. It must carry the entry's public key.
  void attach_certificate(const std::string& name, const crypto::Certificate& certificate);
  // Attaches a certificate request for the entry's key.
  void attach_request(const std::string& name, const crypto::CertificateRequest& request);

  // Every entry, as stored, ordered by name.
  [[nodiscard]] std::vector<KeyRecord> records();
  // One entry as stored; std::nullopt when there is no entry of that name.
  [[nodiscard]] std::optional<KeyRecord> record(const std::string& name);

  // Runs the full integrity check on every entry (all cores).
  [[nodiscard]] IntegrityReport check_all();
  // Runs it on the named entries, in the given order. Throws Error(NotFound, "key-not-found").
  [[nodiscard]] std::vector<KeyVerdict> check(std::span<const std::string> names);

  // The private key of a valid entry, checked just now. Throws Error(NotFound, "key-not-found"),
  // Error(Integrity, "key-invalid") listing the findings when the entry is not reusable.
  [[nodiscard]] UnlockedKey unlock_key(const std::string& name);

  // Renames an entry (the AAD does not include the name). Throws NotFound, Conflict.
  void rename(const std::string& old_name, const std::string& new_name);
  // Deletes an entry with its certificates and requests. Throws NotFound.
  void remove(const std::string& name);

  // The audit log, oldest first.
  [[nodiscard]] std::vector<AuditEntry> audit_log();

  // Writes a consistent snapshot of the whole database to `dest` (a new file, mode 0600) with
  // SQLite's online backup API: correct while other processes write to the store.
  void write_snapshot(const std::filesystem::path& dest);

  // Writes a backup of the whole store to `out` (must not exist; temp file, fsync, rename, 0600):
  // the snapshot, the data key and a manifest, encrypted under `backup_passphrase`. The manifest
  // carries the installation: the installation record's answers and `configuration` (the text of
  // the daemon's signetd.toml, when the caller has one), so that a restore elsewhere can carry on.
  BackupResult create_backup(const std::filesystem::path& out, const Passphrase& backup_passphrase,
                             const crypto::ScryptParams& kdf, const std::string& tool_version,
                             const std::optional<std::string>& configuration = std::nullopt);

  // Restores `backup` into this store in one transaction: valid keys not already present are
  // re-wrapped under this store's data key and added (source "restored"), invalid entries are
  // quarantined, and the rows of the other tables that this store's own migrations define are
  // copied into them, column by column (rows already present, by primary or unique key, are kept).
  // Nothing the backup holds is executed: its tables, triggers, views and indexes are never
  // created here; a table of the backup that is not ours is reported (skipped_tables) and left.
  // Running it again changes nothing. With dry_run, nothing is written. On any failure nothing
  // changed. Throws Error(Conflict, "restore-merges-clients"), naming the clients, when the backup
  // would add API clients to a store that has clients of its own and merge_clients is not set.
  RestoreReport restore(backup::OpenedBackup& backup, const RestoreOptions& options);
  // The same, with merge_clients off.
  RestoreReport restore(backup::OpenedBackup& backup, bool dry_run) {
    return restore(backup, RestoreOptions{.dry_run = dry_run});
  }
  // What restore() would do into a new, empty store (tables: every row of the backup's tables of
  // this schema, all of which such a restore adds; every client of the backup is added).
  [[nodiscard]] static RestoreReport plan_restore_into_empty_store(backup::OpenedBackup& backup);

  // The installation record; std::nullopt before the first setup.
  [[nodiscard]] std::optional<Installation> installation();
  // Replaces the installation record, audited, in one transaction.
  void set_installation(const Installation& installation);
  // The name of the entry whose public key has this fingerprint; std::nullopt when none.
  [[nodiscard]] std::optional<std::string> name_of_fingerprint(ByteView fingerprint);

  // The quarantined entries, oldest first. They are never offered for use. Their findings carry
  // the fixes for a damaged copy from a backup (quarantine_fix(), naming the entry's id).
  [[nodiscard]] std::vector<QuarantineEntry> quarantine();
  // Removes the quarantined entry with this id, audited ("key.quarantine.remove", its name and
  // fingerprint) in the same transaction; keys, certificates and other entries are untouched.
  // Returns the entry as it was. Restoring the same backup again quarantines it again. Throws
  // Error(NotFound, "quarantine-entry-not-found") when there is no such entry.
  QuarantineEntry remove_quarantined(std::int64_t id);

  // Throws Error(Malformed, "invalid-name") unless `name` is 1..128 printable characters with no
  // leading or trailing space.
  static void validate_name(const std::string& name);

 private:
  struct State;
  explicit KeyStore(std::unique_ptr<State> state);
  [[nodiscard]] KeyContext context() const;
  // Writes an audit row in the current transaction.
  void audit(std::string_view action, std::string_view subject, std::string_view detail);
  // Checks and inserts one entry. The caller holds the transaction.
  KeyVerdict insert_key(const std::string& name, const EVP_PKEY* key,
                        const std::vector<std::pair<std::string, crypto::Certificate>>& certificates,
                        const std::vector<crypto::CertificateRequest>& requests,
                        std::string_view source, const std::string& comment, std::string_view action,
                        std::optional<std::int64_t> created_at = std::nullopt);
  std::unique_ptr<State> state_;
};

}  // namespace signet::keystore
