// StoreEditor: edits a key store's signet.db with its own SQLite connection, behind the KeyStore's
// back, the way an operator with `sqlite3`, a buggy script or a bad restore would. Tests use it to
// damage entries and then check that the integrity check reports the damage.
//
// The editor does not enable foreign keys (like the sqlite3 shell) and does not know the data key:
// it can move, copy, truncate and flip bytes, but not encrypt.
//
// Every call commits on its own (autocommit), so a KeyStore, open or opened later, sees the change
// at its next read. Thread-safety: one owner.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/db/sqlite.h"

namespace signet::test {

// Drops what migrations 004 to 006 made (the certificate ledger, the API clients, ACME), leaving a
// store as a Signet of schema version 3 wrote it; the caller sets user_version.
inline constexpr std::string_view kDropLedgerTables =
    "DROP TABLE issued_certificates; DROP TABLE api_clients; DROP TABLE crl_state; DROP TABLE acme_accounts; "
    "DROP TABLE acme_orders; DROP TABLE acme_authorizations; DROP TABLE acme_challenges; DROP TABLE acme_eab_keys;";

class StoreEditor {
 public:
  // Opens <dir>/signet.db read-write. Throws signet::Error when there is no such file.
  explicit StoreEditor(const std::filesystem::path& store_dir);

  [[nodiscard]] db::Database& db() noexcept { return db_; }
  void exec(std::string_view sql) { db_.exec(sql); }

  // The row id of the key named `name`. Throws std::runtime_error when there is none.
  [[nodiscard]] std::int64_t key_id(const std::string& name);
  [[nodiscard]] std::vector<std::string> key_names();

  // A BLOB column of the keys table ("public_key", "fingerprint", "encrypted_private_key").
  [[nodiscard]] std::optional<Bytes> key_blob(const std::string& name, std::string_view column);
  // Sets it; std::nullopt writes NULL.
  void set_key_blob(const std::string& name, std::string_view column,
                    const std::optional<Bytes>& value);
  // A TEXT column of the keys table ("algorithm", "name", "source", "comment").
  void set_key_text(const std::string& name, std::string_view column, std::string_view value);

  // XORs byte `index` of a BLOB column of `name` with `mask` (which must not be 0).
  void flip_key_byte(const std::string& name, std::string_view column, std::size_t index,
                     std::uint8_t mask = 0x01);

  // Swaps a BLOB column between two entries.
  void swap_key_blobs(const std::string& a, const std::string& b, std::string_view column);

  // Certificates attached to `name`, by position: (row id, role, der).
  struct CertificateRow {
    std::int64_t id = 0;
    std::string role;
    Bytes der;
  };
  [[nodiscard]] std::vector<CertificateRow> certificates(const std::string& name);
  // Adds a certificate row to `name` behind the store's back.
  void insert_certificate(const std::string& name, std::string_view role, std::int64_t position,
                          const Bytes& der);
  void set_certificate_der(std::int64_t certificate_row, const Bytes& der);
  void set_certificate_role(std::int64_t certificate_row, std::string_view role);

  [[nodiscard]] std::vector<Bytes> requests(const std::string& name);
  void insert_request(const std::string& name, const Bytes& der);
  void set_requests_der(const std::string& name, const Bytes& der);

 private:
  db::Database db_;
};

}  // namespace signet::test
