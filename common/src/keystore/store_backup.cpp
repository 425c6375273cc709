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
#include "signet/db/migrations.h"
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

std::vector<std::string> generic_tables(db::Database& db, const std::string& schema) {
  std::vector<std::string> out;
  db::Statement s = db.prepare("SELECT name FROM " + schema +
                               ".sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  while (s.step()) {
    const std::string name = s.text(0);
    if (own_tables().count(name) == 0) out.push_back(name);
  }
  return out;
}

// The row count of every table that travels generically, for a dry run.
std::vector<std::pair<std::string, std::int64_t>> rows_per_table(db::Database& db) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const std::string& t : generic_tables(db, "main")) {
    db::Statement c = db.prepare("SELECT count(*) FROM " + quote_identifier(t));
    out.emplace_back(t, c.step() ? c.int64(0) : 0);
  }
  return out;
}



// INSERT OR IGNORE of every row of restore_src.<table> into main.<table>, with explicit columns
// and the rowid, so that a second restore finds every row present and adds nothing.
std::string copy_rows_sql(db::Database& db, const std::string& table) {
  std::vector<std::string> columns;
  int pk_columns = 0;
  {
    db::Statement s = db.prepare("SELECT name, pk FROM pragma_table_info(?, 'restore_src')");
    s.bind(1, table);
    while (s.step()) {
      columns.push_back(quote_identifier(s.text(0)));
      if (s.int64(1) > 0) ++pk_columns;
    }
  }
  bool without_rowid = false;
  {
    db::Statement s = db.prepare("SELECT sql FROM restore_src.sqlite_schema WHERE type = 'table' AND name = ?");
    s.bind(1, table);
    if (s.step()) {
      std::string sql = s.text(0);
      for (char& c : sql) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      without_rowid = sql.find("WITHOUT ROWID") != std::string::npos;
    }
  }
  std::string list;
  // The rowid is a row's identity only in a table without a primary key. Where there is one, the
  // key decides what is present: copying the rowid as well would silently drop a new row whose
  // rowid happens to be taken in this store.
  if (!without_rowid && pk_columns == 0) list = "rowid";
  for (const std::string& c : columns) list += (list.empty() ? "" : ", ") + c;
  const std::string q = quote_identifier(table);
  return "INSERT OR IGNORE INTO main." + q + " (" + list + ") SELECT " + list + " FROM restore_src." + q;
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
    sqlite3_backup* b = sqlite3_backup_init(target.handle(), "main", state_->db.handle(), "main");
    if (b == nullptr) db::throw_sqlite(target.handle(), sqlite3_errcode(target.handle()), "starting a snapshot");
    // One step copies every page under one read transaction: a consistent snapshot even while
    // other connections write (WAL lets them go on).
    int rc = sqlite3_backup_step(b, -1);
    const int finish_rc = sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE) rc = finish_rc;
    if (rc != SQLITE_OK) db::throw_sqlite(target.handle(), rc, "writing a snapshot to " + dest.string());
    target.exec("PRAGMA journal_mode = DELETE");
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
  report.tables = rows_per_table(backup.database());
  return report;
}

RestoreReport KeyStore::restore(backup::OpenedBackup& backup, bool dry_run) {
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
  report.dry_run = dry_run;
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

  const std::vector<std::string> tables = generic_tables(backup.database(), "main");
  if (dry_run) {
    report.tables = rows_per_table(backup.database());
    return report;
  }

  // ATTACH must happen outside a transaction; everything after it is one transaction.
  state_->db.prepare("ATTACH DATABASE ? AS restore_src").bind(1, backup.database_path().string()).run();
  struct Detach {
    db::Database& db;
    ~Detach() { sqlite3_exec(db.handle(), "DETACH DATABASE restore_src", nullptr, nullptr, nullptr); }
  } detach{state_->db};
  {
    db::Transaction tx(state_->db);
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
    // Every other table travels as it is: created if this store lacks it, rows already present
    // (same primary key) kept.
    for (const std::string& t : tables) {
      const std::string q = quote_identifier(t);
      bool exists = false;
      {
        db::Statement s = state_->db.prepare("SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name = ?");
        s.bind(1, t);
        exists = s.step() && s.int64(0) == 1;
      }
      if (!exists) {
        // The table and its indexes, never a trigger: it would run here, with the rows copied
        // below, on this store's keys and audit log.
        std::vector<std::string> ddl;
        db::Statement s = state_->db.prepare(
            "SELECT sql FROM restore_src.sqlite_schema WHERE tbl_name = ? AND sql IS NOT NULL "
            "AND type IN ('table', 'index') ORDER BY type = 'table' DESC");
        s.bind(1, t);
        while (s.step()) ddl.push_back(s.text(0));
        for (const std::string& sql : ddl) state_->db.exec(sql);
      }
      state_->db.exec(copy_rows_sql(state_->db, t));
      int changed = state_->db.changes();
      if (t == "crl_state") {
        // CRL numbers only ever increase (RFC 5280 5.2.3): a store that has issued CRLs of its own
        // continues from the higher of its number and the backup's.
        state_->db.exec(
            "UPDATE main.crl_state SET crl_number = (SELECT crl_number FROM restore_src.crl_state WHERE singleton = 1) "
            "WHERE singleton = 1 AND crl_number < (SELECT crl_number FROM restore_src.crl_state WHERE singleton = 1)");
        changed += state_->db.changes();
      }
      report.tables.emplace_back(t, changed);
    }
    audit("backup.restore", "",
          "backup " + std::string(backup.backup_id().begin(), backup.backup_id().end()) + ": " +
              std::to_string(report.added.size()) + " added, " + std::to_string(report.skipped.size()) +
              " skipped, " + std::to_string(report.quarantined.size()) + " quarantined");
    tx.commit();
  }
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
