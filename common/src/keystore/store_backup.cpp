// KeyStore: snapshot, backup and restore. They live here, beside store.cpp, because they need
// the store's data key, which never leaves KeyStore.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <cstring>
#include <set>
#include <tuple>

#include "records.h"
#include "signet/backup/backup.h"
#include "signet/backup/container.h"
#include "signet/core/error.h"
#include "signet/core/time_format.h"
#include "signet/crypto/primitives.h"
#include "signet/db/migrations.h"
#include "signet/issuance/names.h"
#include "signet/keystore/findings_json.h"
#include "signet/keystore/store.h"
#include "store_state.h"

namespace signet::keystore {

namespace fs = std::filesystem;

namespace {

// Tables that the restore handles itself; every other table travels generically.
const std::set<std::string>& own_tables() {
  // installation is this machine's setup (paths, ports): a restore never brings another's; the
  // CA key's name travels in the manifest instead.
  static const std::set<std::string> tables = {"store_meta", "keys", "key_certificates",
                                               "key_requests", "audit_log", "quarantine",
                                               "installation", "sqlite_sequence"};
  return tables;
}

std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (const char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// The tables our own migrations define, other than those the restore handles itself: the only
// tables a restore copies rows into. Read from a database migrated in memory, so that a table a
// new migration adds travels without a change here.
const std::set<std::string>& schema_tables() {
  static const std::set<std::string> tables = [] {
    db::Database mem = db::Database::open(":memory:", db::OpenMode::ReadWriteCreate);
    (void)db::migrate(mem, schema_migrations());
    std::set<std::string> out;
    db::Statement s = mem.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
    while (s.step()) {
      if (own_tables().count(s.text(0)) == 0) out.insert(s.text(0));
    }
    return out;
  }();
  return tables;
}

// The tables of a backup (its database opened as `db`): those of our schema whose rows a restore
// copies, and the rest, which it leaves out. Only names are taken from the backup; its SQL text
// is looked at, never run.
struct BackupTables {
  std::vector<std::string> ours;
  std::vector<SkippedTable> skipped;
};

BackupTables classify_tables(db::Database& db) {
  BackupTables out;
  std::vector<std::pair<std::string, std::string>> tables;
  {
    db::Statement s = db.prepare(
        "SELECT name, ifnull(sql, '') FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name");
    while (s.step()) tables.emplace_back(s.text(0), s.text(1));
  }
  for (auto& [name, sql] : tables) {
    if (own_tables().count(name) != 0) continue;
    for (char& c : sql) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    // Reading a virtual table runs its module: its rows are not read at all.
    if (sql.rfind("CREATE VIRTUAL", 0) == 0) {
      out.skipped.push_back({name, "a virtual table in the backup, not a table of this store's schema: not "
                                   "created here, its rows not read"});
      continue;
    }
    if (schema_tables().count(name) == 0) {
      db::Statement c = db.prepare("SELECT count(*) FROM " + quote_identifier(name));
      const std::int64_t rows = c.step() ? c.int64(0) : 0;
      out.skipped.push_back({name, "not a table of this store's schema (the backup was edited, or made by "
                                   "other software): not created here, its " + std::to_string(rows) +
                                   " row(s) not copied"});
      continue;
    }
    out.ours.push_back(name);
  }
  return out;
}

// The row count of each of `tables`, for a dry run.
std::vector<std::pair<std::string, std::int64_t>> rows_per_table(db::Database& db,
                                                                  const std::vector<std::string>& tables) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const std::string& t : tables) {
    db::Statement c = db.prepare("SELECT count(*) FROM " + quote_identifier(t));
    out.emplace_back(t, c.step() ? c.int64(0) : 0);
  }
  return out;
}

bool has_column(db::Database& db, const std::string& schema, const std::string& table, const std::string& column) {
  db::Statement s = db.prepare("SELECT 1 FROM pragma_table_info(?, ?) WHERE name = ?");
  s.bind(1, table).bind(2, schema).bind(3, column);
  return s.step();
}

// Whether `schema`.`table` has a rowid (a WITHOUT ROWID table has none).
bool has_rowid(db::Database& db, const std::string& schema, const std::string& table) {
  try {
    (void)db.prepare("SELECT rowid FROM " + quote_identifier(schema) + "." + quote_identifier(table) + " LIMIT 0");
    return true;
  } catch (const Error&) {
    return false;
  }
}

// INSERT OR IGNORE of the rows of restore_src.<table> (those matching `where`, if given) into
// main.<table>, this store's own table: only the columns both have, by name, so that a column
// the backup adds is left behind and one it lacks gets this schema's default. A second restore
// finds every row present and adds nothing. "" when the two have no column in common.
std::string copy_rows_sql(db::Database& db, const std::string& table, const std::string& where = "") {
  std::vector<std::string> columns;
  int pk_columns = 0;
  {
    db::Statement s = db.prepare(
        "SELECT m.name, m.pk FROM pragma_table_info(?1, 'main') AS m "
        "JOIN pragma_table_info(?1, 'restore_src') AS r ON r.name = m.name ORDER BY m.cid");
    s.bind(1, table);
    while (s.step()) {
      columns.push_back(quote_identifier(s.text(0)));
      if (s.int64(1) > 0) ++pk_columns;
    }
  }
  if (columns.empty()) return "";
  std::string list;
  // The rowid is a row's identity only in a table without a primary key. Where there is one, the
  // key decides what is present: copying the rowid as well would silently drop a new row whose
  // rowid happens to be taken in this store.
  if (pk_columns == 0 && has_rowid(db, "main", table) && has_rowid(db, "restore_src", table)) list = "rowid";
  for (const std::string& c : columns) list += (list.empty() ? "" : ", ") + c;
  const std::string q = quote_identifier(table);
  return "INSERT OR IGNORE INTO main." + q + " (" + list + ") SELECT " + list + " FROM restore_src." + q +
         (where.empty() ? "" : " WHERE " + where);
}

std::vector<std::string> profiles_of(const std::string& json_text) {
  std::vector<std::string> out;
  try {
    const nlohmann::json j = nlohmann::json::parse(json_text);
    if (j.is_array()) {
      for (const auto& p : j) out.push_back(p.is_string() ? p.get<std::string>() : p.dump());
    }
  } catch (const nlohmann::json::exception&) {
    out.push_back(json_text);  // shown as it is: the operator decides
  }
  return out;
}

bool profiles_valid(const std::string& json_text) {
  const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  return j.is_array() && !j.empty() && std::all_of(j.begin(), j.end(), [](const nlohmann::json& p) {
           return p.is_string() && !p.get<std::string>().empty();
         });
}

// The API clients of the backup (its database opened as `db`, attached as `schema`) that may act:
// a removed client (a tombstone, removed_at set) grants nothing and is not listed. With each, its
// row id in the backup.
std::vector<std::pair<std::int64_t, RestoreClient>> backup_clients(db::Database& db, const std::string& schema,
                                                                   const std::vector<std::string>& tables) {
  std::vector<std::pair<std::int64_t, RestoreClient>> out;
  if (std::find(tables.begin(), tables.end(), "api_clients") == tables.end()) return out;
  const bool tombstones = has_column(db, schema, "api_clients", "removed_at");
  try {
    db::Statement s = db.prepare("SELECT rowid, name, id, admin, profiles FROM " + quote_identifier(schema) +
                                 ".api_clients" + (tombstones ? " WHERE removed_at IS NULL" : "") +
                                 " ORDER BY name, id");
    while (s.step()) {
      RestoreClient c;
      c.name = s.text(1);
      c.id = s.text(2);
      c.admin = s.int64(3) != 0;
      c.profiles = profiles_of(s.text(4));
      // Rows Signet writes pass these; a row that does not would break `signet clients list` and
      // every lookup once restored.
      if (!issuance::valid_client_name(c.name) || c.id.empty() || !profiles_valid(s.text(4))) {
        throw Error(ErrorKind::Integrity, "backup-client-invalid",
                    "row " + std::to_string(s.int64(0)) + " is no valid API client (a name of 1 to 64 letters, "
                    "digits, '.', '_' and '-', an id, and a JSON list of profile names)");
      }
      out.emplace_back(s.int64(0), std::move(c));
    }
  } catch (const Error& e) {
    throw Error(ErrorKind::Integrity, "backup-database-corrupt",
                std::string("the API clients inside the backup cannot be read (") + e.what() +
                    "): it was not written by Signet. Use another backup. Nothing was restored");
  }
  return out;
}

std::string describe_clients(const std::vector<RestoreClient>& clients) {
  std::string out;
  for (const RestoreClient& c : clients) {
    std::string profiles;
    for (const std::string& p : c.profiles) profiles += (profiles.empty() ? "" : " ") + p;
    out += (out.empty() ? "" : ", ") + c.name + " (" + (c.admin ? "admin, " : "") + "profiles " + profiles + ")";
  }
  return out;
}

// What the target already holds, for planning.
struct TargetState {
  std::map<Bytes, std::string> fingerprints;  // fingerprint -> name
  std::set<std::string> names;
  std::map<std::tuple<Bytes, std::int64_t, Bytes>, std::int64_t> quarantined;  // (store id, key id, digest) -> id
  // The id the next quarantined entry gets (SQLite gives an INTEGER PRIMARY KEY max + 1), so that
  // a dry run names the same ids in its fixes as the real run.
  std::int64_t next_quarantine_id = 1;
};

RestoreReport plan(const backup::OpenedBackup& b, TargetState target) {
  RestoreReport report;
  const auto& records = b.records();
  const auto& verdicts = b.verdicts();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const KeyRecord& r = records[i];
    const KeyVerdict& v = verdicts[i];
    if (v.reusable()) {
      if (auto it = target.fingerprints.find(*r.fingerprint); it != target.fingerprints.end()) {
        report.skipped.push_back({v, it->second, "already in the store as \"" + it->second + "\""});
        continue;
      }
      std::string name = r.name;
      std::string note;
      try {
        KeyStore::validate_name(name);
      } catch (const Error&) {
        // The key is sound; only its name (not part of its identity) was damaged or edited.
        name = "restored-" + to_hex(*r.fingerprint).substr(0, 16);
        note = "renamed: the name in the backup is not a valid key name";
      }
      for (int n = 1; target.names.count(name) != 0; ++n) {
        // Shorten the name so that it stays within validate_name()'s 128 characters: a long name
        // must not turn a clash into a failed restore.
        const std::string suffix = "-restored" + (n == 1 ? "" : "-" + std::to_string(n));
        name = r.name.substr(0, 128 - suffix.size()) + suffix;
        note = "renamed: the name \"" + r.name + "\" is taken by another key";
      }
      target.names.insert(name);
      target.fingerprints.emplace(*r.fingerprint, name);
      report.added.push_back({v, name, note});
    } else {
      // A damaged copy from a backup: its fixes are the quarantine's, not a local entry's.
      KeyVerdict quarantined = v;
      auto key = std::make_tuple(b.store_id(), r.id.value, backup::entry_digest(r));
      if (const auto it = target.quarantined.find(key); it != target.quarantined.end()) {
        apply_quarantine_fixes(quarantined.findings, it->second);
        report.already_quarantined.push_back({std::move(quarantined), "", "quarantined by an earlier restore"});
      } else {
        const std::int64_t id = target.next_quarantine_id++;
        apply_quarantine_fixes(quarantined.findings, id);
        target.quarantined.emplace(key, id);
        report.quarantined.push_back({std::move(quarantined), "", "failed the integrity check; never offered"});
      }
    }
  }
  return report;
}

}  // namespace

void KeyStore::write_snapshot(const fs::path& dest) {
  // Create the file 0600 first, so that the snapshot is never readable by others.
  const int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorKind::Storage, "io-error", "cannot create " + dest.string() + ": " + std::strerror(errno), errno);
  }
  ::close(fd);
  try {
    db::Database target = db::Database::open(dest, db::OpenMode::ReadWrite);
    // One step copies every page under one read transaction: a consistent snapshot even while
    // other connections write (WAL lets them go on).
    db::copy_into(state_->db, target, "writing a snapshot to " + dest.string());
  } catch (...) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((dest.string() + suffix).c_str());
    throw;
  }
}

BackupResult KeyStore::create_backup(const fs::path& out, const Passphrase& backup_passphrase,
                                     const crypto::ScryptParams& kdf, const std::string& tool_version,
                                     const std::optional<std::string>& configuration) {
  if (backup_passphrase.size() < kMinPassphraseLength) {
    throw Error(ErrorKind::PolicyDenied, "passphrase-too-short",
                "the backup passphrase needs at least " + std::to_string(kMinPassphraseLength) +
                    " characters: whoever has the backup and its passphrase can impersonate the CA");
  }
  const fs::path snapshot = state_->dir / (".backup-snapshot-" + to_hex(crypto::random_bytes(8)) + ".db");
  auto cleanup = [&snapshot] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((snapshot.string() + suffix).c_str());
  };
  BackupResult result;
  result.file = out;
  try {
    write_snapshot(snapshot);
    // The manifest describes the snapshot itself, not the live store.
    nlohmann::json manifest;
    std::optional<std::string> ca_name;
    const std::optional<Installation> inst = installation();
    if (inst) ca_name = name_of_fingerprint(inst->ca_fingerprint);
    // The installation travels in the manifest, authenticated with everything else: what setup
    // applied here (the answers) and the daemon's configuration, verbatim. A restore onto another
    // machine followed by a reinstall then makes a server that carries on as this one.
    nlohmann::json installation_json = nullptr;
    if (inst || configuration) {
      installation_json = nlohmann::json::object();
      if (inst) {
        installation_json["state"] = inst->state;
        installation_json["ca_fingerprint_sha256"] = to_hex(inst->ca_fingerprint);
        installation_json["answers"] = inst->answers;
      }
      if (configuration) installation_json["configuration"] = *configuration;
    }
    {
      db::Database snap = db::Database::open(snapshot, db::OpenMode::ReadOnly);
      const std::vector<KeyRecord> records = load_key_records(snap, nullptr);
      nlohmann::json keys = nlohmann::json::array();
      std::size_t certificates = 0;
      std::size_t requests = 0;
      for (const KeyRecord& r : records) {
        keys.push_back({{"name", r.name},
                        {"algorithm", r.algorithm},
                        {"fingerprint_sha256", r.fingerprint ? to_hex(*r.fingerprint) : ""},
                        {"certificates", r.certificates.size()},
                        {"requests", r.requests.size()}});
        certificates += r.certificates.size();
        requests += r.requests.size();
      }
      nlohmann::json tables = nlohmann::json::object();
      std::vector<std::string> names;
      {
        db::Statement s = snap.prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
        while (s.step()) names.push_back(s.text(0));
      }
      for (const std::string& t : names) {
        db::Statement c = snap.prepare("SELECT count(*) FROM " + quote_identifier(t));
        tables[t] = c.step() ? c.int64(0) : 0;
      }
      manifest = {{"kind", "signet-backup"},
                  {"format_version", backup::kFormatVersion},
                  {"backup_id", to_hex(crypto::random_bytes(16))},
                  {"store_id", to_hex(state_->store_id)},
                  {"ca_name", ca_name ? nlohmann::json(*ca_name) : nlohmann::json(nullptr)},
                  {"installation", installation_json},
                  {"created", rfc3339(state_->clock->unix_seconds())},
                  {"created_unix", state_->clock->unix_seconds()},
                  {"tool_version", tool_version},
                  {"schema_version", snap.user_version()},
                  {"database_bytes", fs::file_size(snapshot)},
                  {"counts", {{"keys", records.size()}, {"certificates", certificates}, {"requests", requests}}},
                  {"tables", tables},
                  {"keys", keys}};
    }
    result.manifest_json = manifest.dump();
    backup::write_container(out, backup_passphrase, kdf, result.manifest_json, state_->data_key, snapshot);
    result.bytes = fs::file_size(out);
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
  db::Transaction tx(state_->db);
  audit("backup.create", "", out.string() + ", " + std::to_string(result.bytes) + " bytes");
  tx.commit();
  return result;
}

RestoreReport KeyStore::plan_restore_into_empty_store(backup::OpenedBackup& backup) {
  RestoreReport report = plan(backup, TargetState{});
  report.dry_run = true;
  BackupTables tables = classify_tables(backup.database());
  report.tables = rows_per_table(backup.database(), tables.ours);
  report.skipped_tables = std::move(tables.skipped);
  for (auto& [rowid, client] : backup_clients(backup.database(), "main", tables.ours)) {
    report.clients_added.push_back(std::move(client));
  }
  return report;
}

RestoreReport KeyStore::restore(backup::OpenedBackup& backup, const RestoreOptions& options) {
  TargetState target;
  {
    db::Statement s = state_->db.prepare("SELECT fingerprint, name FROM keys");
    while (s.step()) {
      if (!s.is_null(0)) target.fingerprints.emplace(s.blob(0), s.text(1));
      target.names.insert(s.text(1));
    }
    s = state_->db.prepare("SELECT origin_store_id, origin_key_id, entry_digest, id FROM quarantine");
    while (s.step()) {
      target.quarantined.emplace(std::make_tuple(s.blob(0), s.int64(1), s.blob(2)), s.int64(3));
      target.next_quarantine_id = std::max(target.next_quarantine_id, s.int64(3) + 1);
    }
  }
  RestoreReport report = plan(backup, std::move(target));
  report.dry_run = options.dry_run;
  // A key skipped because an entry with its fingerprint is here already: if that entry is itself
  // damaged, say so, since this backup holds the good copy.
  for (RestoreItem& item : report.skipped) {
    const auto existing = record(item.target_name);
    if (existing && !check_key(context(), *existing, state_->clock->now()).reusable()) {
      item.note = "the entry \"" + item.target_name +
                  "\" here has the same fingerprint but fails its integrity check: delete it "
                  "with `signet keys delete " + item.target_name +
                  "` and restore again to bring back this valid copy";
    }
  }

  BackupTables tables = classify_tables(backup.database());
  report.skipped_tables = std::move(tables.skipped);

  // The backup is read through this connection, and nothing in its schema is trusted: with
  // trusted_schema off, SQLite runs no function with side effects that the backup's schema names
  // (a generated column, say) while its rows are read. ATTACH must happen outside a transaction;
  // everything after it is one transaction.
  bool trusted_schema = true;
  {
    db::Statement s = state_->db.prepare("PRAGMA trusted_schema");
    trusted_schema = s.step() && s.int64(0) != 0;
  }
  state_->db.exec("PRAGMA trusted_schema = OFF");
  struct Detach {
    db::Database& db;
    bool attached = false;
    bool trusted_schema = true;
    ~Detach() {
      if (attached) sqlite3_exec(db.handle(), "DETACH DATABASE restore_src", nullptr, nullptr, nullptr);
      if (trusted_schema) sqlite3_exec(db.handle(), "PRAGMA trusted_schema = ON", nullptr, nullptr, nullptr);
    }
  } detach{state_->db, false, trusted_schema};
  state_->db.prepare("ATTACH DATABASE ? AS restore_src").bind(1, backup.database_path().string()).run();
  detach.attached = true;

  // Rolled back unless committed at the end: a dry run and a refusal leave everything as it was.
  db::Transaction tx(state_->db);

  // The API clients first, one by one, to see which the backup adds and which this store has
  // already (the same id, or a client of that name: its own is kept, and a client removed here
  // stays removed). The unique keys of this store's table decide, whatever they are.
  std::int64_t clients_copied = 0;
  {
    db::Statement count = state_->db.prepare("SELECT count(*) FROM main.api_clients");
    report.store_had_clients = count.step() && count.int64(0) > 0;
  }
  const std::string copy_client = copy_rows_sql(state_->db, "api_clients", "rowid = ?");
  std::vector<std::string> case_clashes;  // ids of the backup's clients left out for their name
  const bool target_tombstones = has_column(state_->db, "main", "api_clients", "removed_at");
  for (auto& [rowid, client] : backup_clients(state_->db, "restore_src", tables.ours)) {
    // A live client here whose name differs only in case keeps it: two such names would be one
    // client to a person reading the audit trail (and `clients add` refuses them too).
    if (target_tombstones) {
      db::Statement clash = state_->db.prepare(
          "SELECT name, id FROM main.api_clients "
          "WHERE name = ?1 COLLATE NOCASE AND name <> ?1 AND removed_at IS NULL "
          "AND NOT EXISTS (SELECT 1 FROM main.api_clients WHERE id = ?2)");
      clash.bind(1, client.name).bind(2, client.id);
      if (clash.step()) {
        client.note = "this store has a client named \"" + clash.text(0) + "\" (id " + clash.text(1) +
                      "), the same name ignoring case: that one is kept";
        case_clashes.push_back(client.id);
        report.clients_skipped.push_back(std::move(client));
        continue;
      }
    }
    if (!copy_client.empty()) state_->db.prepare(copy_client).bind(1, rowid).run();
    if (!copy_client.empty() && state_->db.changes() == 1) {
      ++clients_copied;
      report.clients_added.push_back(std::move(client));
      continue;
    }
    db::Statement same_id = state_->db.prepare(
        std::string("SELECT ") + (target_tombstones ? "removed_at IS NOT NULL" : "0") +
        " FROM main.api_clients WHERE id = ?");
    same_id.bind(1, client.id);
    db::Statement same_name = state_->db.prepare("SELECT id FROM main.api_clients WHERE name = ?" +
                                                 std::string(target_tombstones ? " AND removed_at IS NULL" : ""));
    same_name.bind(1, client.name);
    if (same_id.step()) {
      client.note = same_id.int64(0) != 0 ? "removed from this store: it stays removed" : "already in this store";
    } else if (same_name.step()) {
      client.note = "this store has another client named \"" + client.name + "\" (id " + same_name.text(0) +
                    "): that one is kept";
    } else {
      client.note = "its row does not fit this store's api_clients table: left out";
    }
    report.clients_skipped.push_back(std::move(client));
  }
  const bool merges_clients = report.store_had_clients && !report.clients_added.empty();
  if (merges_clients && !options.merge_clients) {
    if (options.dry_run) {
      report.needs_merge_clients = true;
    } else {
      const std::size_t n = report.clients_added.size();
      throw Error(ErrorKind::Conflict, "restore-merges-clients",
                  "the backup would add " + std::to_string(n) + " API client" + (n == 1 ? "" : "s") +
                      " to this store, which has API clients of its own: " + describe_clients(report.clients_added) +
                      ". An admin client can manage every client and revoke any certificate. If they belong "
                      "here, restore again with --merge-clients (`signet backup restore --dry-run` lists what "
                      "the restore would add). Nothing was restored");
    }
  }

  if (options.dry_run) {
    report.tables = rows_per_table(backup.database(), tables.ours);
    return report;  // tx rolls back the clients copied to see what they would do
  }

  std::map<std::int64_t, const KeyRecord*> by_id;
  for (const KeyRecord& r : backup.records()) by_id.emplace(r.id.value, &r);

  for (const RestoreItem& item : report.added) {
    const KeyRecord& r = *by_id.at(item.verdict.id.value);
    const ossl::Pkey key = decrypt_private_key(backup.context(), r);
    std::vector<std::pair<std::string, crypto::Certificate>> certificates;
    for (const auto& c : r.certificates) certificates.emplace_back(c.role, crypto::Certificate::from_der(c.der));
    std::vector<crypto::CertificateRequest> requests;
    for (const auto& q : r.requests) requests.push_back(crypto::CertificateRequest::from_der(q.der));
    (void)insert_key(item.target_name, key.get(), certificates, requests, kSourceRestored, r.comment,
                     "key.restore", r.created_at);
  }
  for (RestoreItem& item : report.quarantined) {
    const KeyRecord& r = *by_id.at(item.verdict.id.value);
    db::Statement s = state_->db.prepare(
        "INSERT INTO quarantine (origin_store_id, origin_key_id, origin_backup_id, name, algorithm, "
        "public_key, fingerprint, entry_digest, findings, quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, ByteView(backup.store_id()))
        .bind(2, r.id.value)
        .bind(3, ByteView(backup.backup_id()))
        .bind(4, r.name)
        .bind(5, r.algorithm);
    if (r.public_key) s.bind(6, ByteView(*r.public_key)); else s.bind_null(6);
    if (r.fingerprint) s.bind(7, ByteView(*r.fingerprint)); else s.bind_null(7);
    s.bind(8, ByteView(backup::entry_digest(r)))
        .bind(9, findings_to_json(item.verdict.findings).dump())
        .bind(10, state_->clock->unix_seconds())
        .run();
    apply_quarantine_fixes(item.verdict.findings, state_->db.last_insert_rowid());
    audit("key.quarantine", r.name, item.verdict.findings.empty() ? "" : std::string(item.verdict.findings.front().code_name()));
  }
  // The rows of the other tables of our schema, into this store's own tables (our migrations made
  // them): rows already present (same primary or unique key) are kept.
  for (const std::string& t : tables.ours) {
    const std::string copy = copy_rows_sql(state_->db, t);
    int changed = 0;
    if (!copy.empty()) {
      state_->db.exec(copy);
      changed = state_->db.changes();
    }
    if (t == "api_clients") {
      // The copy of the whole table brought the clients left out for a name that differs only in
      // case too (no unique key of the table stops them): they go again. Their ids were not here.
      for (const std::string& id : case_clashes) {
        state_->db.prepare("DELETE FROM main.api_clients WHERE id = ?").bind(1, id).run();
        changed -= state_->db.changes();
      }
      changed += static_cast<int>(clients_copied);
    }
    if (t == "acme_eab_keys") {
      // ACME external account binding keys are sealed under a key derived from the data key: the
      // ones that came from the backup are sealed again under this store's, or they would stop
      // working here.
      const SecretBytes from = derive_secret(backup.context().data_key, "acme eab");
      const SecretBytes to = derive_secret(state_->data_key.view(), "acme eab");
      db::Statement rows = state_->db.prepare(
          "SELECT m.kid, m.hmac_sealed FROM main.acme_eab_keys m JOIN restore_src.acme_eab_keys r "
          "ON r.kid = m.kid AND r.hmac_sealed = m.hmac_sealed");
      std::vector<std::pair<std::string, Bytes>> resealed;
      while (rows.step()) {
        const std::string kid = rows.text(0);
        const auto hmac = crypto::aead_open(from.view(), rows.blob(1), as_bytes(kid));
        if (!hmac) continue;  // not sealed under the backup's key either: left as it is
        resealed.emplace_back(kid, crypto::aead_seal(to.view(), hmac->view(), as_bytes(kid)));
      }
      for (const auto& [kid, sealed] : resealed) {
        state_->db.prepare("UPDATE main.acme_eab_keys SET hmac_sealed = ? WHERE kid = ?")
            .bind(1, ByteView(sealed))
            .bind(2, kid)
            .run();
      }
    }
    if (t == "crl_state") {
      // A number Signet would never reach (it counts one per CRL) is an edited backup: kept, the
      // next increment would overflow SQLite's INTEGER and signetd could not start.
      db::Statement n = state_->db.prepare(
          "SELECT count(*) FROM restore_src.crl_state WHERE typeof(crl_number) <> 'integer' OR crl_number < 0 "
          "OR crl_number > 4611686018427387904");
      if (n.step() && n.int64(0) > 0) {
        throw Error(ErrorKind::Integrity, "backup-database-corrupt",
                    "the CRL number inside the backup is not one Signet writes (a whole number from 0 to 2^62): "
                    "it was not written by Signet. Use another backup. Nothing was restored");
      }
      // CRL numbers only ever increase (RFC 5280 5.2.3): a store that has issued CRLs of its own
      // continues from the higher of its number and the backup's.
      state_->db.exec(
          "UPDATE main.crl_state SET crl_number = (SELECT crl_number FROM restore_src.crl_state WHERE singleton = 1) "
          "WHERE singleton = 1 AND crl_number < (SELECT crl_number FROM restore_src.crl_state WHERE singleton = 1)");
      changed += state_->db.changes();
    }
    report.tables.emplace_back(t, changed);
  }
  std::string detail = "backup " + std::string(backup.backup_id().begin(), backup.backup_id().end()) + ": " +
                       std::to_string(report.added.size()) + " added, " + std::to_string(report.skipped.size()) +
                       " skipped, " + std::to_string(report.quarantined.size()) + " quarantined";
  if (!report.clients_added.empty()) {
    detail += "; API clients added" + std::string(merges_clients ? " (--merge-clients)" : "") + ": " +
              describe_clients(report.clients_added);
  }
  for (const SkippedTable& t : report.skipped_tables) detail += "; table " + t.name + " left out";
  audit("backup.restore", "", detail);
  tx.commit();
  return report;
}

namespace {

// The quarantined entries (all, or the one with `id`), oldest first, with the quarantine's fixes.
std::vector<QuarantineEntry> load_quarantine(db::Database& db, std::optional<std::int64_t> id) {
  std::vector<QuarantineEntry> out;
  db::Statement s = db.prepare(
      "SELECT id, name, algorithm, fingerprint, origin_store_id, origin_key_id, quarantined_at, findings "
      "FROM quarantine WHERE ?1 IS NULL OR id = ?1 ORDER BY id");
  if (id) s.bind(1, *id); else s.bind_null(1);
  while (s.step()) {
    QuarantineEntry e;
    e.id = s.int64(0);
    e.name = s.text(1);
    e.algorithm = s.text(2);
    e.fingerprint_hex = s.is_null(3) ? "" : to_hex(s.blob(3));
    e.origin_store_id_hex = to_hex(s.blob(4));
    e.origin_key_id = s.int64(5);
    e.quarantined_at = s.int64(6);
    try {
      e.findings = findings_from_json(nlohmann::json::parse(s.text(7)));
    } catch (const nlohmann::json::exception&) {
      // A hand-edited findings column: the entry stays quarantined, its findings unreadable.
    }
    // Whatever fix was stored, the operator needs the quarantine's, naming this entry's id.
    apply_quarantine_fixes(e.findings, e.id);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::vector<QuarantineEntry> KeyStore::quarantine() { return load_quarantine(state_->db, std::nullopt); }

QuarantineEntry KeyStore::remove_quarantined(std::int64_t id) {
  db::Transaction tx(state_->db);
  std::vector<QuarantineEntry> found = load_quarantine(state_->db, id);
  if (found.empty()) {
    throw Error(ErrorKind::NotFound, "quarantine-entry-not-found",
                "the quarantine holds no entry with id " + std::to_string(id) +
                    ": run `signet keys quarantine list` for the ids of the entries it holds. "
                    "Nothing was removed.");
  }
  state_->db.prepare("DELETE FROM quarantine WHERE id = ?").bind(1, id).run();
  const QuarantineEntry& e = found.front();
  audit("key.quarantine.remove", e.name,
        "quarantine id " + std::to_string(id) + ", name \"" + e.name + "\", " + e.algorithm +
            ", fingerprint " + (e.fingerprint_hex.empty() ? "(none)" : e.fingerprint_hex) +
            ", from store " + e.origin_store_id_hex);
  tx.commit();
  return std::move(found.front());
}

}  // namespace signet::keystore
