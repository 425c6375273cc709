// KeyStore::create_backup, write_snapshot, restore, plan_restore_into_empty_store and quarantine
// (common/src/keystore/store_backup.cpp): a restore brings back every valid key re-wrapped under
// the target's data key, quarantines every broken one, lets other tables travel, adds nothing when
// run twice, writes nothing in a dry run, and changes nothing when it fails half-way (a full disk,
// a read-only file system). A backup taken while another writer works is a consistent snapshot.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "signet/backup/backup.h"
#include "signet/backup/container.h"
#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/db/sqlite.h"
#include "signet/issuance/ledger.h"
#include "signet/keystore/store.h"
#include "support/error_assert.h"
#include "support/process.h"
#include "support/store_edit.h"
#include "support/temp_dir.h"
#include "support/tmpfs.h"

namespace signet::keystore {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace std::string_literals;
using test::capture_error;

constexpr std::string_view kSourcePass = "correct horse battery staple";
constexpr std::string_view kTargetPass = "another store, another passphrase";
constexpr std::string_view kBackupPass = "a backup passphrase for tests";
const crypto::ScryptParams kFastKdf = crypto::ScryptParams::insecure_for_tests();

Passphrase pass(std::string_view s) { return Passphrase(as_bytes(s)); }

std::string quote_id(const std::string& name) {
  std::string out = "\"";
  for (const char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// ---- comparing stores row by row ---------------------------------------------------------------

// Every row of every table (rowid included where there is one) and the schema of the database
// at `db_file`, each value as an SQL literal: two equal dumps mean byte-identical contents.
using Dump = std::map<std::string, std::vector<std::string>>;

Dump dump(const fs::path& db_file, const std::set<std::string>& skip = {}) {
  db::Database db = db::Database::open(db_file, db::OpenMode::ReadOnly);
  Dump out;
  std::vector<std::pair<std::string, std::string>> tables;
  {
    db::Statement s = db.prepare("SELECT type, name, tbl_name, ifnull(sql, '') FROM sqlite_schema ORDER BY name");
    while (s.step()) {
      out["(schema)"].push_back(s.text(0) + " " + s.text(1) + " on " + s.text(2) + ": " + s.text(3));
      if (s.text(0) == "table") tables.emplace_back(s.text(1), s.text(3));
    }
  }
  out["(schema)"].push_back("user_version " + std::to_string(db.user_version()));
  for (const auto& [table, sql] : tables) {
    if (skip.count(table) != 0) continue;
    std::string upper = sql;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const bool rowid = upper.find("WITHOUT ROWID") == std::string::npos;
    std::string expr = rowid ? "quote(rowid)" : "''";
    db::Statement cols = db.prepare("SELECT name FROM pragma_table_info(?)");
    cols.bind(1, table);
    while (cols.step()) expr += " || '|' || quote(" + quote_id(cols.text(0)) + ")";
    db::Statement rows =
        db.prepare("SELECT " + expr + " FROM " + quote_id(table) + (rowid ? " ORDER BY rowid" : " ORDER BY 1"));
    std::vector<std::string>& dest = out[table];
    while (rows.step()) dest.push_back(rows.text(0));
  }
  return out;
}

// "" when equal, else the first difference, short enough to read.
std::string diff(const Dump& a, const Dump& b) {
  auto cut = [](const std::string& s) { return s.size() > 160 ? s.substr(0, 160) + "..." : s; };
  std::set<std::string> names;
  for (const auto& [k, v] : a) names.insert(k);
  for (const auto& [k, v] : b) names.insert(k);
  for (const std::string& t : names) {
    const auto ia = a.find(t);
    const auto ib = b.find(t);
    if (ia == a.end() || ib == b.end()) return "table " + t + " only in one of them";
    const auto& ra = ia->second;
    const auto& rb = ib->second;
    for (std::size_t i = 0; i < std::max(ra.size(), rb.size()); ++i) {
      const std::string x = i < ra.size() ? ra[i] : "(none)";
      const std::string y = i < rb.size() ? rb[i] : "(none)";
      if (x != y) return t + " row " + std::to_string(i) + ":\n  before " + cut(x) + "\n  after  " + cut(y);
    }
  }
  return "";
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

std::string file_digest(const fs::path& p) {
  if (!fs::exists(p)) return "(missing)";
  return to_hex(crypto::sha256(as_bytes(test::read_text(p))));
}

std::vector<std::string> names(KeyStore& store) {
  std::vector<std::string> out;
  for (const KeyRecord& r : store.records()) out.push_back(r.name);
  return out;
}

std::vector<std::string> verdict_names(const std::vector<KeyVerdict>& vs) {
  std::vector<std::string> out;
  for (const KeyVerdict& v : vs) out.push_back(v.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> item_names(const std::vector<RestoreItem>& items) {
  std::vector<std::string> out;
  for (const RestoreItem& i : items) out.push_back(i.verdict.name);
  std::sort(out.begin(), out.end());
  return out;
}

// A report as text: what happens to which entry, under which name and why.
std::string summary(const RestoreReport& r, bool with_tables = true) {
  std::string out;
  auto items = [&out](const char* title, const std::vector<RestoreItem>& list) {
    out += std::string(title) + ":\n";
    for (const RestoreItem& i : list) {
      out += "  " + i.verdict.name + " " + i.verdict.fingerprint_hex + " -> \"" + i.target_name + "\" (" +
             i.note + ")";
      for (const Finding& f : i.verdict.findings) out += " " + std::string(f.code_name());
      out += "\n";
    }
  };
  items("added", r.added);
  items("skipped", r.skipped);
  items("quarantined", r.quarantined);
  items("already quarantined", r.already_quarantined);
  if (with_tables) {
    for (const auto& [t, n] : r.tables) out += "table " + t + ": " + std::to_string(n) + "\n";
  }
  for (const SkippedTable& t : r.skipped_tables) out += "left out: table " + t.name + " (" + t.reason + ")\n";
  auto clients = [&out](const char* title, const std::vector<RestoreClient>& list) {
    for (const RestoreClient& c : list) {
      out += std::string(title) + " client " + c.name + " " + c.id + (c.admin ? " admin" : "") + " [";
      for (const std::string& p : c.profiles) out += " " + p;
      out += " ] (" + c.note + ")\n";
    }
  };
  clients("added", r.clients_added);
  clients("skipped", r.clients_skipped);
  return out;
}

std::vector<std::string> skipped_table_names(const RestoreReport& r) {
  std::vector<std::string> out;
  for (const SkippedTable& t : r.skipped_tables) out.push_back(t.name);
  return out;
}

// The report's tables without the certificate ledger's (schema 4), which every store has and
// which these tests leave empty.
std::vector<std::pair<std::string, std::int64_t>> other_tables(const RestoreReport& r) {
  static const std::set<std::string> ledger = {"api_clients",         "crl_state",       "issued_certificates",
                                               "acme_accounts",       "acme_orders",     "acme_authorizations",
                                               "acme_challenges",     "acme_eab_keys"};
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& [t, n] : r.tables) {
    if (ledger.count(t) == 0 || n != 0) out.emplace_back(t, n);
  }
  return out;
}

std::map<std::string, std::int64_t> table_counts(const RestoreReport& r) {
  const auto tables = other_tables(r);
  return {tables.begin(), tables.end()};
}

// ---- fixtures -----------------------------------------------------------------------------------

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const fs::path& d : {backups(), scratch()}) {
      fs::create_directory(d);
      fs::permissions(d, fs::perms::owner_all);
    }
  }

  [[nodiscard]] fs::path src() const { return tmp_ / "src"; }
  [[nodiscard]] fs::path dst() const { return tmp_ / "dst"; }
  [[nodiscard]] fs::path backups() const { return tmp_ / "backups"; }
  [[nodiscard]] fs::path scratch() const { return tmp_ / "scratch"; }
  [[nodiscard]] static fs::path db_of(const fs::path& dir) { return KeyStore::database_path(dir); }

  KeyStore create_source() { return KeyStore::create(src(), pass(kSourcePass), kFastKdf); }
  KeyStore open_source() { return KeyStore::open(src(), pass(kSourcePass)); }
  KeyStore create_target(const fs::path& dir) { return KeyStore::create(dir, pass(kTargetPass), kFastKdf); }
  KeyStore open_target(const fs::path& dir) { return KeyStore::open(dir, pass(kTargetPass)); }

  fs::path backup_of(KeyStore& store, const std::string& name = "b.sbk") {
    const fs::path out = backups() / name;
    (void)store.create_backup(out, pass(kBackupPass), kFastKdf, "test");
    return out;
  }
  backup::OpenedBackup open_backup(const fs::path& file, const fs::path& scratch_dir) {
    return backup::OpenedBackup::open(file, pass(kBackupPass), scratch_dir);
  }
  // Opens `file` into `dir`'s data directory, restores it there, and closes the backup again.
  RestoreReport restore_into(KeyStore& store, const fs::path& dir, const fs::path& file, bool dry_run = false) {
    backup::OpenedBackup b = open_backup(file, dir);
    return store.restore(b, dry_run);
  }

  // A CA certificate for `name`'s key in `store`.
  static crypto::Certificate attach_ca_certificate(KeyStore& store, const std::string& name, bool ca = true) {
    const ossl::Pkey key = std::move(store.unlock_key(name).key);
    crypto::SelfSignedSpec spec;
    spec.common_name = name + " CA";
    spec.ca = ca;
    spec.not_before = std::chrono::system_clock::now() - 24h * 90;
    spec.validity = 24h * 3650;
    crypto::Certificate cert = crypto::make_self_signed(key.get(), spec);
    store.attach_certificate(name, cert);
    return cert;
  }

  // A source store with two intact keys and four broken ones (made so behind its back), and extra
  // tables; closed again.
  //   intact, cert-owner (with a CA certificate): valid
  //   flipped: a ciphertext byte flipped; swap-a, swap-b: ciphertexts swapped;
  //   foreign-cert: carries cert-owner's certificate
  void make_damaged_source(bool extra_tables = true) {
    crypto::Certificate owners = [&] {
      KeyStore store = create_source();
      for (const char* n : {"intact", "cert-owner", "flipped", "swap-a", "swap-b", "foreign-cert"}) {
        store.generate(n, crypto::KeyAlgorithm::EcP256, std::string("comment of ") + n);
      }
      return attach_ca_certificate(store, "cert-owner");
    }();
    test::StoreEditor edit(src());
    edit.flip_key_byte("flipped", "encrypted_private_key", 20);
    edit.swap_key_blobs("swap-a", "swap-b", "encrypted_private_key");
    edit.insert_certificate("foreign-cert", "ca", -1, owners.der());
    if (extra_tables) add_extra_tables(edit);
  }

  static void add_extra_tables(test::StoreEditor& edit) {
    edit.exec(
        "CREATE TABLE extra_state (k TEXT PRIMARY KEY, v BLOB);"
        "INSERT INTO extra_state VALUES ('a', x'00ff'), ('b', NULL), ('c', zeroblob(3)), ('it''s', 'text');"
        "CREATE TABLE events (at INTEGER, what TEXT);"  // no primary key; duplicate rows on purpose
        "INSERT INTO events VALUES (1, 'x'), (1, 'x'), (2, NULL);"
        "CREATE INDEX events_at ON events (at);"
        "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
        "INSERT INTO counters VALUES (5, 50), (9, 90);"
        "CREATE TABLE pairs (a TEXT, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID;"
        "INSERT INTO pairs VALUES ('p', 1), ('p', 2);"
        "CREATE TABLE \"odd \"\"name\"\"\" (x);"
        "INSERT INTO \"odd \"\"name\"\"\" VALUES (3.5);");
  }
  static const std::vector<std::string>& extra_table_names() {
    static const std::vector<std::string> n = {"counters", "events", "extra_state", "odd \"name\"", "pairs"};
    return n;
  }
  static const std::map<std::string, std::int64_t>& extra_table_rows() {
    static const std::map<std::string, std::int64_t> n = {
        {"counters", 2}, {"events", 3}, {"extra_state", 4}, {"odd \"name\"", 1}, {"pairs", 2}};
    return n;
  }

  test::TempDir tmp_;
};

// Dumps without the audit log, for the checks where exactly one audit row may be added.
const std::set<std::string> kSkipAuditLog = {"audit_log"};

// ---- backup -------------------------------------------------------------------------------------

TEST_F(RestoreTest, CreateBackupWritesAPrivateFileAndAuditsIt) {
  KeyStore store = create_source();
  store.generate("root", crypto::KeyAlgorithm::EcP256);
  const fs::path out = backups() / "b.sbk";
  const BackupResult result = store.create_backup(out, pass(kBackupPass), kFastKdf, "9.9.9");
  EXPECT_EQ(result.file, out);
  EXPECT_EQ(result.bytes, fs::file_size(out));
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const nlohmann::json m = nlohmann::json::parse(result.manifest_json);
  EXPECT_EQ(m.at("counts").at("keys"), 1);
  EXPECT_EQ(m.at("tool_version"), "9.9.9");
  EXPECT_EQ(m.at("store_id"), store.info().store_id_hex);
  {
    backup::OpenedBackup b = open_backup(out, scratch());
    EXPECT_EQ(b.manifest(), m);
  }
  const std::vector<AuditEntry> audit = store.audit_log();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "backup.create");
  EXPECT_NE(audit.back().detail.find(out.string()), std::string::npos) << audit.back().detail;
  // Nothing else in the data directory: the snapshot is gone.
  EXPECT_EQ(listing(src()), (std::set<std::string>{"signet.db", "signet.db-shm", "signet.db-wal"}));
  EXPECT_EQ(listing(backups()), (std::set<std::string>{"b.sbk"}));
}

TEST_F(RestoreTest, CreateBackupRefusalsWriteNothing) {
  KeyStore store = create_source();
  store.generate("root", crypto::KeyAlgorithm::EcP256);
  const fs::path existing = backups() / "old.sbk";
  test::write_text(existing, "an older backup");
  const std::size_t audit_rows = store.audit_log().size();

  Error e = capture_error([&] { (void)store.create_backup(existing, pass(kBackupPass), kFastKdf, "t"); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "file-exists");
  EXPECT_EQ(test::read_text(existing), "an older backup");

  e = capture_error([&] { (void)store.create_backup(backups() / "short.sbk", pass("too short"), kFastKdf, "t"); });
  EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied);
  EXPECT_EQ(e.code(), "passphrase-too-short");

  e = capture_error([&] { (void)store.create_backup(tmp_ / "missing" / "b.sbk", pass(kBackupPass), kFastKdf, "t"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound) << e.what();

  e = capture_error([&] {
    (void)store.create_backup(backups() / "kdf.sbk", pass(kBackupPass), crypto::ScryptParams{3, 8, 1}, "t");
  });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);

  EXPECT_EQ(listing(backups()), (std::set<std::string>{"old.sbk"}));
  EXPECT_EQ(listing(src()), (std::set<std::string>{"signet.db", "signet.db-shm", "signet.db-wal"}));
  EXPECT_EQ(store.audit_log().size(), audit_rows);
}

TEST_F(RestoreTest, WriteSnapshotIsAPrivateConsistentCopyAndRefusesAnExistingFile) {
  KeyStore store = create_source();
  store.generate("root", crypto::KeyAlgorithm::EcP256);
  const fs::path snap = tmp_ / "snap.db";
  store.write_snapshot(snap);
  struct stat st {};
  ASSERT_EQ(::stat(snap.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_FALSE(fs::exists(tmp_ / "snap.db-wal"));
  EXPECT_EQ(diff(dump(db_of(src())), dump(snap)), "");
  test::write_text(tmp_ / "taken.db", "x");
  const Error e = capture_error([&] { store.write_snapshot(tmp_ / "taken.db"); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(test::read_text(tmp_ / "taken.db"), "x");
}

// ---- restore into a new store -------------------------------------------------------------------

TEST_F(RestoreTest, RestoreIntoANewStoreAddsEveryKeyReWrappedWithItsCertificatesAndRequests) {
  const FixedClock past(std::chrono::system_clock::now() - 24h * 40);
  std::vector<KeyRecord> source_records;
  std::optional<crypto::Certificate> root_cert;
  std::string source_id;
  fs::path file;
  {
    KeyStore store = KeyStore::create(src(), pass(kSourcePass), kFastKdf, past);
    store.generate("root", crypto::KeyAlgorithm::EcP256, "the root CA");
    store.generate("ed", crypto::KeyAlgorithm::Ed25519, "signing");
    store.generate("p384", crypto::KeyAlgorithm::EcP384);
    store.generate("rsa", crypto::KeyAlgorithm::Rsa2048, "legacy");
    root_cert = attach_ca_certificate(store, "root");
    (void)attach_ca_certificate(store, "ed", /*ca=*/false);
    const ossl::Pkey root_key = std::move(store.unlock_key("root").key);
    store.attach_request("root", crypto::make_request(root_key.get(), "root CA renewal"));
    source_records = store.records();
    source_id = store.info().store_id_hex;
    file = backup_of(store);
  }

  KeyStore target = create_target(dst());
  EXPECT_NE(target.info().store_id_hex, source_id);
  const std::size_t audit_before = target.audit_log().size();
  const RestoreReport report = restore_into(target, dst(), file);

  EXPECT_FALSE(report.dry_run);
  EXPECT_EQ(item_names(report.added), (std::vector<std::string>{"ed", "p384", "root", "rsa"}));
  for (const RestoreItem& i : report.added) {
    EXPECT_EQ(i.target_name, i.verdict.name);
    EXPECT_EQ(i.note, "");
  }
  EXPECT_TRUE(report.skipped.empty());
  EXPECT_TRUE(report.quarantined.empty());
  EXPECT_TRUE(report.already_quarantined.empty());
  EXPECT_TRUE(other_tables(report).empty());  // a store has no other tables

  const std::vector<KeyRecord> restored = target.records();
  ASSERT_EQ(restored.size(), source_records.size());
  for (std::size_t i = 0; i < restored.size(); ++i) {
    const KeyRecord& s = source_records[i];
    const KeyRecord& t = restored[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(t.name, s.name);
    EXPECT_EQ(t.algorithm, s.algorithm);
    EXPECT_EQ(t.public_key, s.public_key);
    EXPECT_EQ(t.fingerprint, s.fingerprint);
    EXPECT_EQ(t.comment, s.comment);
    EXPECT_EQ(t.created_at, s.created_at);
    EXPECT_EQ(t.created_at, past.unix_seconds());
    EXPECT_EQ(t.source, kSourceRestored);
    // Re-wrapped under the target's data key and identity: not the source's bytes.
    ASSERT_TRUE(t.encrypted_private_key && s.encrypted_private_key);
    EXPECT_NE(*t.encrypted_private_key, *s.encrypted_private_key);
    ASSERT_EQ(t.certificates.size(), s.certificates.size());
    for (std::size_t c = 0; c < t.certificates.size(); ++c) {
      EXPECT_EQ(t.certificates[c].der, s.certificates[c].der);
      EXPECT_EQ(t.certificates[c].role, s.certificates[c].role);
    }
    ASSERT_EQ(t.requests.size(), s.requests.size());
    for (std::size_t q = 0; q < t.requests.size(); ++q) EXPECT_EQ(t.requests[q].der, s.requests[q].der);
  }
  const IntegrityReport check = target.check_all();
  EXPECT_EQ(verdict_names(check.reusable), (std::vector<std::string>{"ed", "p384", "root", "rsa"}));
  EXPECT_TRUE(check.excluded.empty());
  const UnlockedKey root = target.unlock_key("root");
  ASSERT_EQ(root.certificates.size(), 1u);
  EXPECT_EQ(root.certificates[0].der(), root_cert->der());
  EXPECT_EQ(target.record("ed")->certificates.at(0).role, "leaf");
  EXPECT_EQ(target.record("root")->certificates.at(0).role, "ca");
  EXPECT_TRUE(target.quarantine().empty());

  // Audited: one row per key and one for the restore.
  const std::vector<AuditEntry> audit = target.audit_log();
  ASSERT_EQ(audit.size(), audit_before + 5);
  std::vector<std::string> restored_subjects;
  for (std::size_t i = audit_before; i < audit_before + 4; ++i) {
    EXPECT_EQ(audit[i].action, "key.restore");
    restored_subjects.push_back(audit[i].subject);
  }
  std::sort(restored_subjects.begin(), restored_subjects.end());
  EXPECT_EQ(restored_subjects, (std::vector<std::string>{"ed", "p384", "root", "rsa"}));
  EXPECT_EQ(audit.back().action, "backup.restore");
  EXPECT_NE(audit.back().detail.find("4 added, 0 skipped, 0 quarantined"), std::string::npos) << audit.back().detail;

  // The scratch database went with the OpenedBackup; nothing else is left anywhere.
  EXPECT_EQ(listing(dst()), (std::set<std::string>{"signet.db", "signet.db-shm", "signet.db-wal"}));
  EXPECT_EQ(listing(backups()), (std::set<std::string>{"b.sbk"}));

  // The restored store opens with its own passphrase and still offers every key.
  target = open_target(dst());
  EXPECT_EQ(target.check_all().reusable.size(), 4u);
}

TEST_F(RestoreTest, CorruptedEntriesAreQuarantinedWithTheirFindingsAndNeverOffered) {
  make_damaged_source(/*extra_tables=*/false);
  std::map<std::string, KeyRecord> source;
  std::string source_id;
  fs::path file;
  {
    KeyStore store = open_source();
    for (KeyRecord& r : store.records()) source.emplace(r.name, std::move(r));
    source_id = store.info().store_id_hex;
    // The damage is real before the backup is taken.
    EXPECT_EQ(verdict_names(store.check_all().excluded),
              (std::vector<std::string>{"flipped", "foreign-cert", "swap-a", "swap-b"}));
    file = backup_of(store);
  }

  KeyStore target = create_target(dst());
  const std::size_t audit_before = target.audit_log().size();
  const RestoreReport report = restore_into(target, dst(), file);
  EXPECT_EQ(item_names(report.added), (std::vector<std::string>{"cert-owner", "intact"}));
  EXPECT_EQ(item_names(report.quarantined), (std::vector<std::string>{"flipped", "foreign-cert", "swap-a", "swap-b"}));
  const std::map<std::string, FindingCode> expected = {
      {"flipped", FindingCode::CiphertextAuthFailed},
      {"swap-a", FindingCode::CiphertextAuthFailed},
      {"swap-b", FindingCode::CiphertextAuthFailed},
      {"foreign-cert", FindingCode::CertificateKeyMismatch},
  };
  for (const RestoreItem& i : report.quarantined) {
    EXPECT_TRUE(i.verdict.has_finding(expected.at(i.verdict.name))) << i.verdict.name;
    EXPECT_FALSE(i.verdict.reusable());
  }

  // Never offered: not a key of the store, not reusable, not unlockable.
  EXPECT_EQ(names(target), (std::vector<std::string>{"cert-owner", "intact"}));
  const IntegrityReport check = target.check_all();
  EXPECT_EQ(verdict_names(check.reusable), (std::vector<std::string>{"cert-owner", "intact"}));
  EXPECT_TRUE(check.excluded.empty());
  for (const auto& [name, code] : expected) {
    const Error e = capture_error([&, n = name] { (void)target.unlock_key(n); });
    EXPECT_EQ(e.code(), "key-not-found") << name;
  }

  // Accounted for: every one is in the quarantine with its findings and its origin.
  const std::vector<QuarantineEntry> q = target.quarantine();
  ASSERT_EQ(q.size(), 4u);
  std::set<std::string> quarantined_names;
  for (const QuarantineEntry& e : q) {
    SCOPED_TRACE(e.name);
    quarantined_names.insert(e.name);
    const KeyRecord& s = source.at(e.name);
    EXPECT_EQ(e.algorithm, s.algorithm);
    EXPECT_EQ(e.fingerprint_hex, to_hex(*s.fingerprint));
    EXPECT_EQ(e.origin_store_id_hex, source_id);
    EXPECT_EQ(e.origin_key_id, s.id.value);
    EXPECT_GT(e.quarantined_at, 0);
    ASSERT_FALSE(e.findings.empty());
    bool found = false;
    for (const Finding& f : e.findings) {
      found = found || f.code == expected.at(e.name);
      EXPECT_FALSE(f.message.empty());
      EXPECT_FALSE(f.fix.empty());
    }
    EXPECT_TRUE(found) << "the quarantine lost the finding " << code_string(expected.at(e.name));
  }
  EXPECT_EQ(quarantined_names, (std::set<std::string>{"flipped", "foreign-cert", "swap-a", "swap-b"}));

  const std::vector<AuditEntry> audit = target.audit_log();
  std::size_t quarantine_rows = 0;
  for (std::size_t i = audit_before; i < audit.size(); ++i) quarantine_rows += audit[i].action == "key.quarantine";
  EXPECT_EQ(quarantine_rows, 4u);
  EXPECT_NE(audit.back().detail.find("2 added, 0 skipped, 4 quarantined"), std::string::npos) << audit.back().detail;
}

TEST_F(RestoreTest, RestoringTheSameBackupTwiceChangesNothingButOneAuditRow) {
  make_damaged_source();
  fs::path file;
  {
    KeyStore store = open_source();
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  const RestoreReport first = restore_into(target, dst(), file);
  ASSERT_EQ(first.added.size(), 2u);
  ASSERT_EQ(first.quarantined.size(), 4u);
  EXPECT_TRUE(table_counts(first).empty());
  EXPECT_EQ(skipped_table_names(first), extra_table_names());  // not ours: left out

  const Dump after_first = dump(db_of(dst()), kSkipAuditLog);
  std::vector<std::string> audit_rows_before = dump(db_of(dst())).at("audit_log");
  std::size_t audit_rows = target.audit_log().size();
  // Again with a newly opened backup, and again with one object used twice.
  backup::OpenedBackup reused = open_backup(file, scratch());
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    RestoreReport again;
    if (round == 0) {
      again = restore_into(target, dst(), file);
    } else {
      again = target.restore(reused, false);
    }
    EXPECT_TRUE(again.added.empty());
    EXPECT_TRUE(again.quarantined.empty());
    EXPECT_EQ(item_names(again.skipped), (std::vector<std::string>{"cert-owner", "intact"}));
    for (const RestoreItem& i : again.skipped) EXPECT_EQ(i.target_name, i.verdict.name);
    EXPECT_EQ(item_names(again.already_quarantined),
              (std::vector<std::string>{"flipped", "foreign-cert", "swap-a", "swap-b"}));
    for (const auto& [t, n] : again.tables) EXPECT_EQ(n, 0) << t;
    EXPECT_EQ(skipped_table_names(again), extra_table_names());

    // Every row of every table is as it was, except exactly one new audit row for the restore.
    EXPECT_EQ(diff(after_first, dump(db_of(dst()), kSkipAuditLog)), "");
    const std::vector<std::string> audit_rows_now = dump(db_of(dst())).at("audit_log");
    ASSERT_EQ(audit_rows_now.size(), audit_rows_before.size() + 1);
    EXPECT_TRUE(std::equal(audit_rows_before.begin(), audit_rows_before.end(), audit_rows_now.begin()))
        << "an earlier audit row changed";
    audit_rows_before = audit_rows_now;
    const std::vector<AuditEntry> audit = target.audit_log();
    ASSERT_EQ(audit.size(), audit_rows + 1);
    EXPECT_EQ(audit.back().action, "backup.restore");
    EXPECT_NE(audit.back().detail.find("0 added, 2 skipped, 0 quarantined"), std::string::npos) << audit.back().detail;
    audit_rows = audit.size();
  }
}

// ---- the quarantine: its fixes, and removing an entry ----------------------------------------

bool has_text(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

TEST_F(RestoreTest, RemoveQuarantinedRemovesOneEntryAuditedAndNothingElse) {
  make_damaged_source();
  fs::path file;
  std::string flipped_fingerprint;
  {
    KeyStore store = open_source();
    flipped_fingerprint = to_hex(*store.record("flipped")->fingerprint);
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  ASSERT_EQ(restore_into(target, dst(), file).quarantined.size(), 4u);
  const std::vector<QuarantineEntry> before = target.quarantine();
  ASSERT_EQ(before.size(), 4u);
  const auto flipped = std::find_if(before.begin(), before.end(), [](const QuarantineEntry& e) { return e.name == "flipped"; });
  ASSERT_NE(flipped, before.end());
  const std::int64_t id = flipped->id;
  const Dump dump_before = dump(db_of(dst()), kSkipAuditLog);
  const std::size_t audit_before = target.audit_log().size();

  const QuarantineEntry removed = target.remove_quarantined(id);
  EXPECT_EQ(removed.id, id);
  EXPECT_EQ(removed.name, "flipped");
  EXPECT_EQ(removed.fingerprint_hex, flipped_fingerprint);

  // Only that row went: keys, certificates, requests, other tables and the other entries stay.
  Dump expected = dump_before;
  auto& rows = expected.at("quarantine");
  const auto row = std::find_if(rows.begin(), rows.end(), [id](const std::string& r) {
    return r.rfind(std::to_string(id) + "|", 0) == 0;
  });
  ASSERT_NE(row, rows.end());
  rows.erase(row);
  EXPECT_EQ(diff(expected, dump(db_of(dst()), kSkipAuditLog)), "");
  std::vector<std::string> left;
  for (const QuarantineEntry& e : target.quarantine()) left.push_back(e.name + " " + std::to_string(e.id));
  std::vector<std::string> expected_left;
  for (const QuarantineEntry& e : before) {
    if (e.id != id) expected_left.push_back(e.name + " " + std::to_string(e.id));
  }
  EXPECT_EQ(left, expected_left);
  EXPECT_EQ(names(target), (std::vector<std::string>{"cert-owner", "intact"}));
  EXPECT_EQ(verdict_names(target.check_all().reusable), (std::vector<std::string>{"cert-owner", "intact"}));

  // Audited: one row naming the entry and its fingerprint.
  const std::vector<AuditEntry> audit = target.audit_log();
  ASSERT_EQ(audit.size(), audit_before + 1);
  EXPECT_EQ(audit.back().action, "key.quarantine.remove");
  EXPECT_EQ(audit.back().subject, "flipped");
  EXPECT_TRUE(has_text(audit.back().detail, "flipped")) << audit.back().detail;
  EXPECT_TRUE(has_text(audit.back().detail, flipped_fingerprint)) << audit.back().detail;

  // A second removal of the same id, or of an id that never was, fails and changes nothing.
  const Dump after_first = dump(db_of(dst()));
  for (const std::int64_t missing : {id, std::int64_t{4242}}) {
    const Error e = capture_error([&] { (void)target.remove_quarantined(missing); });
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_EQ(e.code(), "quarantine-entry-not-found");
    EXPECT_TRUE(has_text(e.what(), "id " + std::to_string(missing))) << e.what();
    EXPECT_TRUE(has_text(e.what(), "signet keys quarantine list")) << e.what();
    EXPECT_TRUE(has_text(e.what(), "Nothing was removed")) << e.what();
  }
  EXPECT_EQ(diff(after_first, dump(db_of(dst()))), "");

  // Restoring the same backup again brings the removed entry back into the quarantine (and only it).
  const RestoreReport again = restore_into(target, dst(), file);
  EXPECT_EQ(item_names(again.quarantined), (std::vector<std::string>{"flipped"}));
  EXPECT_EQ(item_names(again.already_quarantined), (std::vector<std::string>{"foreign-cert", "swap-a", "swap-b"}));
  EXPECT_EQ(target.quarantine().size(), 4u);
}

TEST_F(RestoreTest, QuarantinedEntriesCarryTheFixesOfADamagedCopyFromABackup) {
  make_damaged_source(/*extra_tables=*/false);
  fs::path file;
  {
    KeyStore store = open_source();
    // In the store they belong to, the damaged entries are local: restore or re-import them, after
    // deleting the entry (a copy with the same fingerprint is not added while it is there).
    for (const KeyVerdict& v : store.check_all().excluded) {
      for (const Finding& f : v.findings) {
        if (f.severity != Severity::Error) continue;
        SCOPED_TRACE(v.name + " " + std::string(f.code_name()) + ": " + f.fix);
        EXPECT_TRUE(has_text(f.fix, "signet keys delete"));
        EXPECT_TRUE(has_text(f.fix, "signet backup restore"));
        EXPECT_TRUE(has_text(f.fix, "signet keys import"));
        EXPECT_FALSE(has_text(f.fix, "quarantine"));
      }
    }
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  const RestoreReport dry = restore_into(target, dst(), file, /*dry_run=*/true);
  const RestoreReport report = restore_into(target, dst(), file);
  const RestoreReport again = restore_into(target, dst(), file);
  const std::vector<QuarantineEntry> q = target.quarantine();
  ASSERT_EQ(q.size(), 4u);
  std::map<std::string, std::int64_t> ids;
  for (const QuarantineEntry& e : q) ids[e.name] = e.id;

  // The fix of a copy that came from the backup just restored: an older backup or the key's
  // PKCS#12/PEM, then remove the entry by its id. Never "restore a full backup" again.
  auto expect_quarantine_fix = [](const std::string& name, const Finding& f, const std::string& remove) {
    SCOPED_TRACE(name + " " + std::string(f.code_name()) + ": " + f.fix);
    EXPECT_TRUE(has_text(f.fix, "older backup"));
    EXPECT_TRUE(has_text(f.fix, "PKCS#12"));
    EXPECT_TRUE(has_text(f.fix, "signet keys import"));
    EXPECT_TRUE(has_text(f.fix, remove));
    EXPECT_FALSE(has_text(lowercase(f.fix), "restore a full backup"));
    EXPECT_FALSE(has_text(f.fix, "signet keys delete"));
  };
  for (const QuarantineEntry& e : q) {
    ASSERT_FALSE(e.findings.empty()) << e.name;
    for (const Finding& f : e.findings) {
      expect_quarantine_fix(e.name, f, "`signet keys quarantine remove " + std::to_string(e.id) + "`");
    }
  }
  // The restore's own report says the same, with the id; the dry run names the ids the real run
  // gives.
  for (const RestoreItem& i : report.quarantined) {
    for (const Finding& f : i.verdict.findings) {
      expect_quarantine_fix(i.verdict.name, f, "`signet keys quarantine remove " + std::to_string(ids.at(i.verdict.name)) + "`");
    }
  }
  for (const RestoreItem& i : again.already_quarantined) {
    for (const Finding& f : i.verdict.findings) {
      expect_quarantine_fix(i.verdict.name, f, "`signet keys quarantine remove " + std::to_string(ids.at(i.verdict.name)) + "`");
    }
  }
  ASSERT_EQ(dry.quarantined.size(), 4u);
  for (const RestoreItem& i : dry.quarantined) {
    for (const Finding& f : i.verdict.findings) {
      expect_quarantine_fix(i.verdict.name, f, "`signet keys quarantine remove " + std::to_string(ids.at(i.verdict.name)) + "`");
    }
  }
  // Before there is an id to name, the fix says where to find it.
  EXPECT_TRUE(has_text(quarantine_fix(FindingCode::CiphertextAuthFailed, std::nullopt), "`signet keys quarantine list`"));

  // Every code has a quarantine fix of that kind; a warning points to the errors' fix.
  for (const FindingCode code : all_finding_codes()) {
    const std::string fix = quarantine_fix(code, 7);
    SCOPED_TRACE(std::string(code_string(code)) + ": " + fix);
    EXPECT_TRUE(has_text(fix, "`signet keys quarantine remove 7`"));
    EXPECT_FALSE(has_text(lowercase(fix), "restore a full backup"));
    if (severity_of(code) == Severity::Error) {
      EXPECT_TRUE(has_text(fix, "older backup"));
    }
  }
}

TEST_F(RestoreTest, KeyAlreadyPresentIsSkippedAndANameClashIsRenamed) {
  fs::path file;
  std::map<std::string, std::string> fingerprints;  // source name -> fingerprint
  ossl::Pkey root_key;
  {
    KeyStore store = create_source();
    for (const char* n : {"root", "signing", "web"}) store.generate(n, crypto::KeyAlgorithm::EcP256);
    for (const KeyRecord& r : store.records()) fingerprints[r.name] = to_hex(*r.fingerprint);
    root_key = std::move(store.unlock_key("root").key);
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  KeyMaterial material;
  material.key = std::move(root_key);
  target.import("mine", std::move(material));  // the same key as the backup's "root"
  target.generate("signing", crypto::KeyAlgorithm::EcP256);  // another key under a taken name
  target.generate("web", crypto::KeyAlgorithm::Ed25519);
  target.generate("web-restored", crypto::KeyAlgorithm::Ed25519);
  std::map<std::string, KeyRecord> before;
  for (KeyRecord& r : target.records()) before.emplace(r.name, std::move(r));

  const RestoreReport report = restore_into(target, dst(), file);
  ASSERT_EQ(report.skipped.size(), 1u);
  EXPECT_EQ(report.skipped[0].verdict.name, "root");
  EXPECT_EQ(report.skipped[0].target_name, "mine");
  EXPECT_NE(report.skipped[0].note.find("mine"), std::string::npos) << report.skipped[0].note;
  std::map<std::string, const RestoreItem*> added;
  for (const RestoreItem& i : report.added) added[i.verdict.name] = &i;
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(added.at("signing")->target_name, "signing-restored");
  EXPECT_EQ(added.at("web")->target_name, "web-restored-2");
  EXPECT_NE(added.at("signing")->note.find("renamed"), std::string::npos) << added.at("signing")->note;

  EXPECT_EQ(names(target), (std::vector<std::string>{"mine", "signing", "signing-restored", "web", "web-restored",
                                                     "web-restored-2"}));
  // The target's own entries are untouched.
  for (const auto& [name, r] : before) {
    SCOPED_TRACE(name);
    const std::optional<KeyRecord> now = target.record(name);
    ASSERT_TRUE(now);
    EXPECT_EQ(now->id, r.id);
    EXPECT_EQ(now->fingerprint, r.fingerprint);
    EXPECT_EQ(now->encrypted_private_key, r.encrypted_private_key);
    EXPECT_EQ(now->source, r.source);
  }
  EXPECT_EQ(to_hex(*target.record("signing-restored")->fingerprint), fingerprints.at("signing"));
  EXPECT_EQ(to_hex(*target.record("web-restored-2")->fingerprint), fingerprints.at("web"));
  EXPECT_EQ(target.check_all().reusable.size(), 6u);

  // Again: every key of the backup is now present, under the names it got.
  const Dump keys_before = dump(db_of(dst()), kSkipAuditLog);
  const RestoreReport again = restore_into(target, dst(), file);
  EXPECT_TRUE(again.added.empty());
  std::map<std::string, std::string> skipped_as;
  for (const RestoreItem& i : again.skipped) skipped_as[i.verdict.name] = i.target_name;
  EXPECT_EQ(skipped_as, (std::map<std::string, std::string>{
                            {"root", "mine"}, {"signing", "signing-restored"}, {"web", "web-restored-2"}}));
  EXPECT_EQ(diff(keys_before, dump(db_of(dst()), kSkipAuditLog)), "");
}

TEST_F(RestoreTest, NameClashOnALongNameIsRenamedWithinTheNameLimit) {
  const std::string longest(128, 'k');  // the longest valid name
  const std::string long_one = std::string(120, 'l');
  fs::path file;
  {
    KeyStore store = create_source();
    store.generate(longest, crypto::KeyAlgorithm::EcP256);
    store.generate(long_one, crypto::KeyAlgorithm::EcP256);
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  target.generate(longest, crypto::KeyAlgorithm::Ed25519);
  target.generate(long_one, crypto::KeyAlgorithm::Ed25519);
  const RestoreReport report = restore_into(target, dst(), file);
  ASSERT_EQ(report.added.size(), 2u);
  for (const RestoreItem& i : report.added) {
    SCOPED_TRACE(i.verdict.name.size());
    EXPECT_LE(i.target_name.size(), 128u);
    EXPECT_NE(i.target_name, i.verdict.name);
    EXPECT_EQ(i.target_name.substr(i.target_name.size() - 9), "-restored");
    EXPECT_NO_THROW(KeyStore::validate_name(i.target_name));
    EXPECT_TRUE(target.record(i.target_name).has_value());
  }
  EXPECT_EQ(target.check_all().reusable.size(), 4u);
  // And again: nothing more.
  EXPECT_TRUE(restore_into(target, dst(), file).added.empty());
  EXPECT_EQ(target.records().size(), 4u);
}

TEST_F(RestoreTest, ManifestNamesTheCaKeyAndTheInstallationStaysOnItsMachine) {
  fs::path file;
  {
    KeyStore store = create_source();
    store.generate("plain", crypto::KeyAlgorithm::EcP256);
    EXPECT_TRUE(nlohmann::json::parse(store.create_backup(backups() / "before.sbk", pass(kBackupPass), kFastKdf, "test")
                                          .manifest_json)["ca_name"]
                    .is_null());
    const KeyVerdict ca = store.generate("the-ca", crypto::KeyAlgorithm::EcP256);
    Bytes fp;
    for (std::size_t i = 0; i < ca.fingerprint_hex.size(); i += 2) {
      fp.push_back(static_cast<std::uint8_t>(std::stoi(ca.fingerprint_hex.substr(i, 2), nullptr, 16)));
    }
    store.set_installation({"installed", fp, std::nullopt, "mode = \"existing-key\"\n", 0});
    const auto manifest = nlohmann::json::parse(
        store.create_backup(backups() / "after.sbk", pass(kBackupPass), kFastKdf, "test").manifest_json);
    EXPECT_EQ(manifest["ca_name"], "the-ca") << manifest.dump(2);
    file = backups() / "after.sbk";
  }
  // The installation (paths, ports of server A) is not restored onto another machine.
  KeyStore target = create_target(dst());
  const RestoreReport report = restore_into(target, dst(), file);
  EXPECT_EQ(report.added.size(), 2u);
  EXPECT_TRUE(other_tables(report).empty()) << summary(report);
  EXPECT_FALSE(target.installation().has_value());
}

TEST_F(RestoreTest, KeyWhoseNameWasDamagedInTheBackupIsRestoredUnderItsFingerprint) {
  fs::path file;
  std::string fingerprint;
  {
    KeyStore store = create_source();
    fingerprint = store.generate("ok-name", crypto::KeyAlgorithm::EcP256).fingerprint_hex;
    store.generate("other", crypto::KeyAlgorithm::EcP256);
  }
  // The name is not part of the entry's identity: an invalid one must not sink the restore.
  test::StoreEditor(src()).exec("UPDATE keys SET name = '-bad name ' WHERE name = 'ok-name'");
  {
    KeyStore store = open_source();
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  const RestoreReport report = restore_into(target, dst(), file);
  ASSERT_EQ(report.added.size(), 2u) << summary(report);
  const std::string expected = "restored-" + fingerprint.substr(0, 16);
  const auto renamed = std::find_if(report.added.begin(), report.added.end(),
                                    [&](const RestoreItem& i) { return i.target_name == expected; });
  ASSERT_NE(renamed, report.added.end()) << summary(report);
  EXPECT_NE(renamed->note.find("not a valid key name"), std::string::npos) << renamed->note;
  const auto restored = target.check(std::vector<std::string>{expected});
  ASSERT_EQ(restored.size(), 1u);
  EXPECT_TRUE(restored.front().reusable());
  EXPECT_EQ(restored.front().fingerprint_hex, fingerprint);
  EXPECT_TRUE(restore_into(target, dst(), file).added.empty());
}

TEST_F(RestoreTest, SkippedKeyWhoseLocalCopyIsDamagedSaysHowToRepairIt) {
  fs::path file;
  {
    KeyStore store = create_source();
    store.generate("shared", crypto::KeyAlgorithm::EcP256);
    file = backup_of(store);
  }
  // The target got the same key by an earlier restore; then its copy was damaged.
  {
    KeyStore target = create_target(dst());
    ASSERT_EQ(restore_into(target, dst(), file).added.size(), 1u);
  }
  test::StoreEditor(dst()).flip_key_byte("shared", "encrypted_private_key", 20);
  KeyStore target = open_target(dst());
  ASSERT_FALSE(target.check(std::vector<std::string>{"shared"}).front().reusable());

  const RestoreReport report = restore_into(target, dst(), file);
  ASSERT_EQ(report.skipped.size(), 1u) << summary(report);
  EXPECT_NE(report.skipped.front().note.find("fails its integrity check"), std::string::npos)
      << report.skipped.front().note;
  EXPECT_NE(report.skipped.front().note.find("signet keys delete shared"), std::string::npos);
  // Following the advice brings the good copy back.
  target.remove("shared");
  const RestoreReport again = restore_into(target, dst(), file);
  ASSERT_EQ(again.added.size(), 1u) << summary(again);
  EXPECT_TRUE(target.check(std::vector<std::string>{"shared"}).front().reusable());
}

TEST_F(RestoreTest, RestoreIntoTheStoreTheBackupCameFromAddsNoKey) {
  make_damaged_source();
  KeyStore store = open_source();
  const fs::path file = backup_of(store);
  const std::vector<KeyRecord> before = store.records();
  const RestoreReport report = restore_into(store, src(), file);
  EXPECT_TRUE(report.added.empty());
  EXPECT_EQ(item_names(report.skipped), (std::vector<std::string>{"cert-owner", "intact"}));
  // The broken entries are still what they were in the store; the quarantine accounts for the
  // backup's copies of them.
  EXPECT_EQ(item_names(report.quarantined), (std::vector<std::string>{"flipped", "foreign-cert", "swap-a", "swap-b"}));
  for (const auto& [t, n] : report.tables) EXPECT_EQ(n, 0) << t;
  const std::vector<KeyRecord> after = store.records();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].name, before[i].name);
    EXPECT_EQ(after[i].encrypted_private_key, before[i].encrypted_private_key);
  }
}

// ---- dry run and plan ---------------------------------------------------------------------------

TEST_F(RestoreTest, DryRunWritesNothingAndReportsWhatTheRealRunDoes) {
  make_damaged_source();
  ossl::Pkey intact_key;
  fs::path file;
  {
    KeyStore store = open_source();
    intact_key = std::move(store.unlock_key("intact").key);
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  KeyMaterial material;
  material.key = std::move(intact_key);
  target.import("already-here", std::move(material));
  target.generate("cert-owner", crypto::KeyAlgorithm::EcP384);  // a name clash

  backup::OpenedBackup b = open_backup(file, scratch());
  // Twice: into the target as it is, and once more after the real run (all present by then).
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const Dump before = dump(db_of(dst()));
    const std::string db_bytes = file_digest(db_of(dst()));
    const std::string wal_bytes = file_digest(fs::path(db_of(dst()).string() + "-wal"));
    const std::set<std::string> files = listing(dst());

    const RestoreReport dry = target.restore(b, /*dry_run=*/true);
    EXPECT_TRUE(dry.dry_run);
    EXPECT_EQ(diff(before, dump(db_of(dst()))), "");
    EXPECT_EQ(file_digest(db_of(dst())), db_bytes);
    EXPECT_EQ(file_digest(fs::path(db_of(dst()).string() + "-wal")), wal_bytes);
    EXPECT_EQ(listing(dst()), files);
    // The tables that are not ours are named, and would be left out.
    EXPECT_TRUE(table_counts(dry).empty());
    EXPECT_EQ(skipped_table_names(dry), extra_table_names());

    const RestoreReport real = target.restore(b, /*dry_run=*/false);
    EXPECT_FALSE(real.dry_run);
    EXPECT_EQ(summary(dry, /*with_tables=*/false), summary(real, /*with_tables=*/false));
    if (round == 0) {
      EXPECT_EQ(item_names(real.added), (std::vector<std::string>{"cert-owner"}));
      EXPECT_EQ(real.added.at(0).target_name, "cert-owner-restored");
      EXPECT_EQ(item_names(real.skipped), (std::vector<std::string>{"intact"}));
      EXPECT_EQ(item_names(real.quarantined), (std::vector<std::string>{"flipped", "foreign-cert", "swap-a", "swap-b"}));
      EXPECT_TRUE(table_counts(real).empty());
    } else {
      EXPECT_TRUE(real.added.empty());
      EXPECT_EQ(real.already_quarantined.size(), 4u);
    }
  }
}

TEST_F(RestoreTest, PlanForAnEmptyStoreMatchesARealRestoreIntoANewStore) {
  make_damaged_source();
  fs::path file;
  {
    KeyStore store = open_source();
    file = backup_of(store);
  }
  backup::OpenedBackup b = open_backup(file, scratch());
  const RestoreReport plan = KeyStore::plan_restore_into_empty_store(b);
  EXPECT_TRUE(plan.dry_run);
  EXPECT_EQ(listing(scratch()).size(), 1u);  // only the open backup's scratch database
  KeyStore target = create_target(dst());
  const RestoreReport real = target.restore(b, false);
  EXPECT_EQ(summary(plan), summary(real));
  EXPECT_EQ(item_names(real.added), (std::vector<std::string>{"cert-owner", "intact"}));
  EXPECT_EQ(item_names(real.quarantined), (std::vector<std::string>{"flipped", "foreign-cert", "swap-a", "swap-b"}));
}

// ---- other tables: ours only, and nothing from the backup runs -------------------------------

// The schema of the database at `db_file`: every table, index, trigger and view with its SQL.
std::vector<std::string> schema_of(const fs::path& db_file) { return dump(db_file).at("(schema)"); }

TEST_F(RestoreTest, TablesThatAreNotOursAreNamedAndLeftOut) {
  fs::path file;
  {
    KeyStore store = create_source();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
  }
  {
    test::StoreEditor edit(src());
    add_extra_tables(edit);
  }
  {
    KeyStore store = open_source();
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  const std::vector<std::string> schema = schema_of(db_of(dst()));
  const RestoreReport first = restore_into(target, dst(), file);
  EXPECT_EQ(item_names(first.added), (std::vector<std::string>{"root"}));
  EXPECT_EQ(skipped_table_names(first), extra_table_names());
  for (const SkippedTable& t : first.skipped_tables) {
    EXPECT_TRUE(has_text(t.reason, "not a table of this store's schema")) << t.reason;
    EXPECT_TRUE(has_text(t.reason, "its " + std::to_string(extra_table_rows().at(t.name)) + " row(s) not copied"))
        << t.reason;
  }
  EXPECT_TRUE(table_counts(first).empty());
  EXPECT_EQ(schema_of(db_of(dst())), schema) << "the restore changed the target's schema";
  EXPECT_TRUE(has_text(target.audit_log().back().detail, "table extra_state left out"))
      << target.audit_log().back().detail;

  // A store that has a table of that name (made by hand) keeps it as it is: the backup's rows of
  // a table that is not ours go nowhere.
  KeyStore other = create_target(tmp_ / "other");
  {
    test::StoreEditor edit(tmp_ / "other");
    edit.exec(
        "CREATE TABLE extra_state (k TEXT PRIMARY KEY, v BLOB);"
        "INSERT INTO extra_state VALUES ('a', 'the target''s own value'), ('z', 'only here');");
  }
  const RestoreReport merged = restore_into(other, tmp_ / "other", file);
  EXPECT_EQ(skipped_table_names(merged), extra_table_names());
  db::Database db = db::Database::open(db_of(tmp_ / "other"), db::OpenMode::ReadOnly);
  db::Statement s = db.prepare("SELECT k, ifnull(v, 'NULL') FROM extra_state ORDER BY k");
  std::vector<std::string> rows;
  while (s.step()) rows.push_back(s.text(0) + "=" + s.text(1));
  EXPECT_EQ(rows, (std::vector<std::string>{"a=the target's own value", "z=only here"}));
}

// A backup is outside input: it may come from another, compromised installation. Its container
// authenticates under the passphrase, but what the database inside says must never run here.
TEST_F(RestoreTest, NothingTheBackupsSchemaSaysIsExecuted) {
  fs::path file;
  {
    KeyStore store = create_source();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    issuance::Ledger ledger(db_of(src()));
    (void)ledger.add_client("alice", {"*"}, true, "test");
  }
  {
    test::StoreEditor edit(src());
    edit.exec(
        // One of our tables, redefined: an extra column with a DEFAULT and a CHECK of its own.
        "ALTER TABLE api_clients ADD COLUMN planted TEXT NOT NULL DEFAULT 'x' CHECK (planted <> '');"
        // A trigger and a view on our tables.
        "CREATE TRIGGER wipe AFTER INSERT ON issued_certificates BEGIN DELETE FROM keys; END;"
        "CREATE VIEW every_key AS SELECT name FROM keys;"
        // A table that is not ours, whose SQL carries a second statement: SQLite reads only the
        // first when it loads the schema, but whoever ran the text would run both.
        "CREATE TABLE notes (x); INSERT INTO notes VALUES ('n');"
        "PRAGMA writable_schema = ON;"
        "UPDATE sqlite_schema SET sql = 'CREATE TABLE notes (x); CREATE TRIGGER planted AFTER INSERT ON keys "
        "BEGIN DELETE FROM keys; END' WHERE name = 'notes';"
        "PRAGMA writable_schema = OFF;");
  }
  {
    KeyStore store = open_source();
    ASSERT_EQ(names(store), (std::vector<std::string>{"root"}));
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  target.generate("mine", crypto::KeyAlgorithm::EcP256);
  const std::vector<std::string> schema = schema_of(db_of(dst()));

  const RestoreReport report = restore_into(target, dst(), file);
  EXPECT_EQ(item_names(report.added), (std::vector<std::string>{"root"}));
  EXPECT_EQ(skipped_table_names(report), (std::vector<std::string>{"notes"}));
  // Our table definitions, and nothing else: no trigger, no view, no table of the backup's.
  EXPECT_EQ(schema_of(db_of(dst())), schema);
  {
    db::Database db = db::Database::open(db_of(dst()), db::OpenMode::ReadOnly);
    db::Statement s = db.prepare("SELECT count(*) FROM sqlite_schema WHERE type IN ('trigger', 'view')");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.int64(0), 0) << "a trigger or view from the backup was created in the target store";
  }
  // The rows of our table were copied, column by column: the client came, the planted column did not.
  ASSERT_EQ(report.clients_added.size(), 1u);
  EXPECT_EQ(report.clients_added[0].name, "alice");
  EXPECT_TRUE(report.clients_added[0].admin);
  {
    issuance::Ledger ledger(db_of(dst()));
    const auto alice = ledger.client("alice");
    ASSERT_TRUE(alice.has_value());
    EXPECT_TRUE(alice->admin);
  }
  // Keys added afterwards stay: no trigger of the backup's fires here.
  target.generate("later", crypto::KeyAlgorithm::EcP256);
  EXPECT_EQ(names(target), (std::vector<std::string>{"later", "mine", "root"}));
  EXPECT_EQ(target.check_all().reusable.size(), 3u);
}

TEST_F(RestoreTest, TriggersInABackupNeverRunInTheTarget) {
  fs::path file;
  {
    KeyStore store = create_source();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    issuance::Ledger ledger(db_of(src()));
    (void)ledger.add_client("alice", {"*"}, false, "test");
  }
  {
    // A trigger that would wipe the keys and the history of whatever store inserts into the
    // table. Created after the rows, so the source itself is intact.
    test::StoreEditor edit(src());
    edit.exec(
        "CREATE TRIGGER wipe AFTER INSERT ON api_clients BEGIN "
        "  DELETE FROM keys; UPDATE audit_log SET detail = 'erased'; "
        "END;");
  }
  {
    KeyStore store = open_source();
    ASSERT_EQ(names(store), (std::vector<std::string>{"root"}));
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  target.generate("mine", crypto::KeyAlgorithm::EcP256);
  const Dump before = dump(db_of(dst()));
  const std::vector<AuditEntry> audit_before = target.audit_log();

  const RestoreReport report = restore_into(target, dst(), file);
  EXPECT_EQ(table_counts(report), (std::map<std::string, std::int64_t>{{"api_clients", 1}}));
  EXPECT_EQ(names(target), (std::vector<std::string>{"mine", "root"}));
  const Dump after = dump(db_of(dst()));
  ASSERT_EQ(after.at("keys").size(), 2u);
  EXPECT_EQ(after.at("keys")[0], before.at("keys").at(0)) << "the target's own key row changed";
  EXPECT_EQ(target.check_all().reusable.size(), 2u);
  const std::vector<AuditEntry> audit = target.audit_log();
  ASSERT_GE(audit.size(), audit_before.size());
  for (std::size_t i = 0; i < audit_before.size(); ++i) EXPECT_EQ(audit[i].detail, audit_before[i].detail);
  db::Database db = db::Database::open(db_of(dst()), db::OpenMode::ReadOnly);
  db::Statement s = db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.int64(0), 0) << "a trigger from the backup was installed in the target store";
}

TEST_F(RestoreTest, AcmeExternalAccountBindingKeysAreSealedAgainForTheTargetStore) {
  const Bytes hmac = crypto::random_bytes(32);
  fs::path file;
  {
    KeyStore store = create_source();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    const Bytes sealed = crypto::aead_seal(store.derive_secret("acme eab").view(), hmac, as_bytes("kid-1"));
    test::StoreEditor edit(src());
    edit.db()
        .prepare("INSERT INTO acme_eab_keys (kid, name, hmac_sealed, profile, created_at) VALUES (?, 'ci', ?, "
                 "'server-tls', 1)")
        .bind(1, "kid-1")
        .bind(2, ByteView(sealed))
        .run();
    file = backup_of(store);
  }
  KeyStore target = create_target(dst());
  (void)restore_into(target, dst(), file);
  db::Database db = db::Database::open(KeyStore::database_path(dst()), db::OpenMode::ReadOnly);
  db::Statement s = db.prepare("SELECT hmac_sealed FROM acme_eab_keys WHERE kid = 'kid-1'");
  ASSERT_TRUE(s.step()) << "the EAB key did not travel with the backup";
  const auto opened = crypto::aead_open(target.derive_secret("acme eab").view(), s.blob(0), as_bytes("kid-1"));
  ASSERT_TRUE(opened) << "the restored EAB key cannot be unsealed by the target store";
  EXPECT_TRUE(std::equal(opened->view().begin(), opened->view().end(), hmac.begin(), hmac.end()));
}

TEST_F(RestoreTest, BackupOfAnOlderSchemaRestores) {
  // A backup whose database is at schema version 3 (before the certificate ledger): opening it
  // migrates the scratch copy, and the restore copies into this store's tables.
  fs::path good;
  {
    KeyStore store = create_source();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    good = backup_of(store);
    store.write_snapshot(tmp_ / "snapshot.db");
  }
  db::Database::open(tmp_ / "snapshot.db", db::OpenMode::ReadWrite)
      .exec(std::string(test::kDropLedgerTables) + " PRAGMA user_version = 3");
  const fs::path older = backups() / "older.sbk";
  {
    const backup::OpenedBackup real = open_backup(good, scratch());
    backup::write_container(older, pass(kBackupPass), kFastKdf, real.manifest().dump(),
                            SecretBytes(real.context().data_key), tmp_ / "snapshot.db");
  }
  KeyStore target = create_target(dst());
  const std::vector<std::string> schema = schema_of(db_of(dst()));
  const RestoreReport report = restore_into(target, dst(), older);
  EXPECT_EQ(item_names(report.added), (std::vector<std::string>{"root"}));
  EXPECT_TRUE(report.skipped_tables.empty());
  EXPECT_TRUE(table_counts(report).empty());
  EXPECT_EQ(schema_of(db_of(dst())), schema);
  EXPECT_EQ(target.check_all().reusable.size(), 1u);
}

// ---- API clients: listed, and merged into a store with clients only when asked ------------------

std::vector<std::string> client_names(const std::vector<RestoreClient>& clients) {
  std::vector<std::string> out;
  for (const RestoreClient& c : clients) out.push_back(c.name);
  return out;
}

std::vector<std::string> ledger_client_names(const fs::path& dir) {
  issuance::Ledger ledger(KeyStore::database_path(dir));
  std::vector<std::string> out;
  for (const issuance::ApiClient& c : ledger.clients()) out.push_back(c.name);
  return out;
}

class RestoreClientsTest : public RestoreTest {
 protected:
  // A source with a key and the clients alice (admin, every profile) and bob (two profiles), and
  // one removed (gone); its backup.
  fs::path source_with_clients() {
    KeyStore store = create_source();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    {
      issuance::Ledger ledger(db_of(src()));
      (void)ledger.add_client("alice", {"*"}, true, "test");
      (void)ledger.add_client("bob", {"server-tls", "client-tls"}, false, "test");
      (void)ledger.add_client("gone", {"*"}, true, "test");
      (void)ledger.remove_client("gone", "test");
    }
    return backup_of(store);
  }
  static void add_client(const fs::path& dir, const std::string& name, bool admin = false) {
    issuance::Ledger ledger(db_of(dir));
    (void)ledger.add_client(name, {"server-tls"}, admin, "test");
  }
};

TEST_F(RestoreClientsTest, IntoAStoreWithClientsTheyAreMergedOnlyWithTheOption) {
  const fs::path file = source_with_clients();
  KeyStore target = create_target(dst());
  add_client(dst(), "carol");
  const Dump before = dump(db_of(dst()));

  // Refused, naming the clients and the option, with nothing written.
  const Error e = capture_error([&] { (void)restore_into(target, dst(), file); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "restore-merges-clients");
  for (const char* part : {"2 API clients", "alice (admin, profiles *)", "bob (profiles server-tls client-tls)",
                           "--merge-clients", "Nothing was restored"}) {
    EXPECT_TRUE(has_text(e.what(), part)) << part << " is not in: " << e.what();
  }
  EXPECT_FALSE(has_text(e.what(), "gone")) << "a removed client grants nothing: " << e.what();
  EXPECT_EQ(diff(before, dump(db_of(dst()))), "");

  // A dry run lists them and says that the option is needed.
  backup::OpenedBackup b = open_backup(file, scratch());
  const RestoreReport dry = target.restore(b, RestoreOptions{.dry_run = true});
  EXPECT_TRUE(dry.needs_merge_clients);
  EXPECT_TRUE(dry.store_had_clients);
  EXPECT_EQ(client_names(dry.clients_added), (std::vector<std::string>{"alice", "bob"}));
  ASSERT_EQ(dry.clients_added.size(), 2u);
  EXPECT_TRUE(dry.clients_added[0].admin);
  EXPECT_EQ(dry.clients_added[0].profiles, (std::vector<std::string>{"*"}));
  EXPECT_FALSE(dry.clients_added[1].admin);
  EXPECT_EQ(dry.clients_added[1].profiles, (std::vector<std::string>{"server-tls", "client-tls"}));
  EXPECT_TRUE(dry.clients_skipped.empty());
  EXPECT_EQ(diff(before, dump(db_of(dst()))), "");

  // With the option: merged, and audited with the option named.
  const RestoreReport merged = target.restore(b, RestoreOptions{.merge_clients = true});
  EXPECT_FALSE(merged.needs_merge_clients);
  EXPECT_EQ(summary(dry, false), summary(merged, false));
  EXPECT_EQ(ledger_client_names(dst()), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_TRUE(has_text(target.audit_log().back().detail,
                       "API clients added (--merge-clients): alice (admin, profiles *), bob"))
      << target.audit_log().back().detail;

  // Again: nothing to add, so no option is needed; both are named as already here.
  const RestoreReport again = target.restore(b, false);
  EXPECT_TRUE(again.clients_added.empty());
  EXPECT_EQ(client_names(again.clients_skipped), (std::vector<std::string>{"alice", "bob"}));
  for (const RestoreClient& c : again.clients_skipped) EXPECT_EQ(c.note, "already in this store");
}

TEST_F(RestoreClientsTest, IntoAStoreWithoutClientsTheyComeWithoutAnOption) {
  const fs::path file = source_with_clients();
  backup::OpenedBackup b = open_backup(file, scratch());
  const RestoreReport plan = KeyStore::plan_restore_into_empty_store(b);
  KeyStore target = create_target(dst());
  const RestoreReport report = target.restore(b, false);
  EXPECT_FALSE(report.store_had_clients);
  EXPECT_EQ(client_names(report.clients_added), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(summary(plan, false), summary(report, false));
  EXPECT_EQ(ledger_client_names(dst()), (std::vector<std::string>{"alice", "bob"}));
}

TEST_F(RestoreClientsTest, AClientOfTheSameNameHereIsKept) {
  const fs::path file = source_with_clients();
  KeyStore target = create_target(dst());
  add_client(dst(), "alice", /*admin=*/false);
  const RestoreReport report = [&] {
    backup::OpenedBackup b = open_backup(file, scratch());
    return target.restore(b, RestoreOptions{.merge_clients = true});
  }();
  EXPECT_EQ(client_names(report.clients_added), (std::vector<std::string>{"bob"}));
  ASSERT_EQ(client_names(report.clients_skipped), (std::vector<std::string>{"alice"}));
  EXPECT_TRUE(has_text(report.clients_skipped[0].note, "this store has another client named \"alice\""))
      << report.clients_skipped[0].note;
  issuance::Ledger ledger(db_of(dst()));
  EXPECT_FALSE(ledger.client("alice")->admin) << "the backup's alice replaced this store's";
}

TEST_F(RestoreClientsTest, AClientWhoseNameDiffersHereOnlyInCaseIsKept) {
  const fs::path file = source_with_clients();
  KeyStore target = create_target(dst());
  add_client(dst(), "ALICE");
  const RestoreReport report = [&] {
    backup::OpenedBackup b = open_backup(file, scratch());
    return target.restore(b, RestoreOptions{.merge_clients = true});
  }();
  EXPECT_EQ(client_names(report.clients_added), (std::vector<std::string>{"bob"}));
  ASSERT_EQ(client_names(report.clients_skipped), (std::vector<std::string>{"alice"}));
  EXPECT_TRUE(has_text(report.clients_skipped[0].note, "the same name ignoring case")) << report.clients_skipped[0].note;
  EXPECT_EQ(ledger_client_names(dst()), (std::vector<std::string>{"ALICE", "bob"}));
}

TEST_F(RestoreClientsTest, ABackupWithAnInvalidClientRowIsRefused) {
  KeyStore store = create_source();
  store.generate("root", crypto::KeyAlgorithm::EcP256);
  {
    issuance::Ledger ledger(db_of(src()));
    (void)ledger.add_client("alice", {"*"}, true, "test");
  }
  {
    // Edited behind Signet's back: a name with a newline, profiles that are no JSON.
    db::Database db = db::Database::open(db_of(src()), db::OpenMode::ReadWrite);
    db.prepare("UPDATE api_clients SET name = 'evil\nname', profiles = 'not json{'").run();
  }
  const fs::path file = backup_of(store);
  KeyStore target = create_target(dst());
  const Error e = capture_error([&] {
    backup::OpenedBackup b = open_backup(file, scratch());
    (void)target.restore(b, RestoreOptions{});
  });
  EXPECT_EQ(e.code(), "backup-database-corrupt") << e.what();
  EXPECT_TRUE(has_text(e.what(), "no valid API client")) << e.what();
  EXPECT_TRUE(has_text(e.what(), "Nothing was restored")) << e.what();
  EXPECT_TRUE(ledger_client_names(dst()).empty());
  EXPECT_TRUE(target.records().empty());
}

TEST_F(RestoreClientsTest, ABackupWithACrlNumberSignetNeverWritesIsRefused) {
  for (const char* value : {"9223372036854775807", "4611686018427387905"}) {
    SCOPED_TRACE(value);
    const test::TempDir dirs;
    KeyStore store = KeyStore::create(dirs / "src", pass(kSourcePass), kFastKdf);
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    (void)issuance::Ledger(db_of(dirs / "src")).next_crl_number();
    {
      db::Database db = db::Database::open(db_of(dirs / "src"), db::OpenMode::ReadWrite);
      db.exec(std::string("UPDATE crl_state SET crl_number = ") + value);
    }
    const fs::path file = dirs / "b.sbk";
    (void)store.create_backup(file, pass(kBackupPass), kFastKdf, "test");
    KeyStore target = KeyStore::create(dirs / "dst", pass(kSourcePass), kFastKdf);
    const Error e = capture_error([&] {
      backup::OpenedBackup b = backup::OpenedBackup::open(file, pass(kBackupPass), dirs.path());
      (void)target.restore(b, RestoreOptions{});
    });
    EXPECT_EQ(e.code(), "backup-database-corrupt") << e.what();
    EXPECT_TRUE(has_text(e.what(), "CRL number")) << e.what();
    EXPECT_TRUE(target.records().empty());
  }
}

TEST_F(RestoreClientsTest, AClientRemovedHereStaysRemoved) {
  const fs::path file = source_with_clients();
  KeyStore target = create_target(dst());
  {
    backup::OpenedBackup b = open_backup(file, scratch());
    (void)target.restore(b, false);
  }
  {
    issuance::Ledger ledger(db_of(dst()));
    (void)ledger.remove_client("alice", "test");
  }
  backup::OpenedBackup b = open_backup(file, scratch());
  const RestoreReport report = target.restore(b, RestoreOptions{.merge_clients = true});
  EXPECT_TRUE(report.clients_added.empty());
  ASSERT_EQ(client_names(report.clients_skipped), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(report.clients_skipped[0].note, "removed from this store: it stays removed");
  EXPECT_EQ(ledger_client_names(dst()), (std::vector<std::string>{"bob"}));
}

// ---- refusals and failures change nothing -------------------------------------------------------

TEST_F(RestoreTest, WrongPassphrasesChangeNothing) {
  make_damaged_source();
  fs::path file;
  {
    KeyStore store = open_source();
    file = backup_of(store);
  }
  {
    KeyStore target = create_target(dst());
    target.generate("mine", crypto::KeyAlgorithm::EcP256);
  }
  const Dump before = dump(db_of(dst()));
  const std::set<std::string> files = listing(dst());

  // The target's passphrase: KeyStore::open's own error.
  Error e = capture_error([&] { (void)KeyStore::open(dst(), pass(kSourcePass)); });
  EXPECT_EQ(e.kind(), ErrorKind::Unauthorized);
  EXPECT_EQ(e.code(), "wrong-passphrase");
  // The backup's passphrase: refused before the target is touched, nothing left in its directory.
  e = capture_error([&] { (void)backup::OpenedBackup::open(file, pass(kTargetPass), dst()); });
  EXPECT_EQ(e.kind(), ErrorKind::Unauthorized);
  EXPECT_EQ(e.code(), "wrong-backup-passphrase");

  EXPECT_EQ(diff(before, dump(db_of(dst()))), "");
  EXPECT_EQ(listing(dst()), files);
}

TEST_F(RestoreTest, BadBackupsAreRefusedWithoutTouchingTheTarget) {
  fs::path file;
  ossl::Pkey root_key;
  {
    KeyStore store = create_source();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    root_key = std::move(store.unlock_key("root").key);
    file = backup_of(store);
    store.write_snapshot(tmp_ / "snapshot.db");
  }
  const std::string good = test::read_text(file);
  const SecretBytes key32(ByteView(crypto::random_bytes(32)));
  std::vector<std::tuple<std::string, fs::path, std::string>> bad;  // what, file, expected code
  auto add_file = [&](const std::string& what, std::string_view contents, const std::string& code) {
    const fs::path f = backups() / ("bad-" + std::to_string(bad.size()));
    test::write_text(f, contents);
    bad.emplace_back(what, f, code);
  };
  auto add_container = [&](const std::string& what, std::string_view database, const SecretBytes& secrets,
                           const std::string& code) {
    const fs::path inner = tmp_ / ("inner-" + std::to_string(bad.size()));
    test::write_text(inner, database);
    const fs::path f = backups() / ("bad-" + std::to_string(bad.size()));
    backup::write_container(f, pass(kBackupPass), kFastKdf, "{}", secrets, inner, 4096);
    bad.emplace_back(what, f, code);
  };
  add_file("empty", "", "not-a-backup");
  add_file("cut in half", std::string_view(good).substr(0, good.size() / 2), "backup-corrupt");
  add_file("cut by one byte", std::string_view(good).substr(0, good.size() - 1), "backup-corrupt");
  {
    std::string flipped = good;
    flipped[flipped.size() - 40] = static_cast<char>(flipped[flipped.size() - 40] ^ 0x10);
    // A store this small fits in the first chunk, whose damage reads as a wrong passphrase
    // "(or the file is damaged)".
    add_file("a byte flipped near the end", flipped, "wrong-backup-passphrase");
  }
  add_file("one byte appended", good + "x", "backup-corrupt");
  add_file("certificate request", crypto::to_pem(crypto::make_request(root_key.get(), "root")), "private-key-missing");
  {
    crypto::SelfSignedSpec spec;
    spec.common_name = "root";
    add_file("certificate", crypto::to_pem(crypto::make_self_signed(root_key.get(), spec)), "private-key-missing");
  }
  {
    const Bytes p12 = make_pkcs12(root_key.get(), {}, "root", pass("p12 passphrase"));
    add_file("PKCS#12 key file", std::string(p12.begin(), p12.end()), "not-a-backup");
  }
  add_container("garbage database", std::string(8192, 'g'), key32, "backup-database-corrupt");
  {
    const std::string snap = test::read_text(tmp_ / "snapshot.db");
    add_container("truncated database", std::string_view(snap).substr(0, snap.size() / 2), key32,
                  "backup-database-corrupt");
    db::Database::open(tmp_ / "snapshot.db", db::OpenMode::ReadWrite).exec("PRAGMA user_version = 99");
    add_container("newer schema", test::read_text(tmp_ / "snapshot.db"), key32, "schema-too-new");
    add_container("16-byte secrets", snap, SecretBytes(ByteView(crypto::random_bytes(16))), "backup-corrupt");
  }

  KeyStore target = create_target(dst());
  target.generate("mine", crypto::KeyAlgorithm::EcP256);
  const Dump before = dump(db_of(dst()));
  const std::set<std::string> files = listing(dst());
  for (const auto& [what, f, code] : bad) {
    SCOPED_TRACE(what);
    const Error e = capture_error([&, path = f] {
      backup::OpenedBackup b = open_backup(path, dst());
      (void)target.restore(b, false);
    });
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(e.kind(), ErrorKind::Internal);
    EXPECT_EQ(diff(before, dump(db_of(dst()))), "");
    EXPECT_EQ(listing(dst()), files) << "a scratch file was left in the data directory";
  }
  // The wrong passphrase for a good backup, too.
  const Error e = capture_error([&] { (void)backup::OpenedBackup::open(file, pass("not this one"), dst()); });
  EXPECT_EQ(e.code(), "wrong-backup-passphrase");
  EXPECT_EQ(diff(before, dump(db_of(dst()))), "");
  EXPECT_EQ(listing(dst()), files);
  EXPECT_EQ(names(target), (std::vector<std::string>{"mine"}));
}

class RestoreOnTmpfs : public RestoreTest {
 protected:
  void mount(const std::string& size) {
    try {
      mount_ = std::make_unique<test::TmpfsMount>(tmp_ / "mnt", size);
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
  void TearDown() override {
    if (mount_) {
      EXPECT_EQ(mount_->unmount(), "");
    }
  }
  [[nodiscard]] fs::path target_dir() const { return mount_->path() / "data"; }
  std::unique_ptr<test::TmpfsMount> mount_;
};

TEST_F(RestoreOnTmpfs, FullDiskInTheMiddleOfARestoreChangesNothing) {
  // A source with many keys and 3 MiB of issued certificates, the target on a 1 MiB file system.
  fs::path file;
  {
    KeyStore store = create_source();
    for (int i = 0; i < 30; ++i) store.generate("key-" + std::to_string(i), crypto::KeyAlgorithm::EcP256);
  }
  {
    test::StoreEditor edit(src());
    edit.exec(
        "INSERT INTO issued_certificates (serial, state, profile, client, subject, names, requested_at, "
        "not_before, not_after, der) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 48) "
        "SELECT printf('%08X', i), 'issued', 'bulk', 'operator:test', '', '[]', 0, 0, 0, randomblob(65536) FROM n;");
  }
  {
    KeyStore store = open_source();
    file = backup_of(store);
  }
  ASSERT_NO_FATAL_FAILURE(mount("1m"));
  KeyStore target = create_target(target_dir());
  target.generate("mine", crypto::KeyAlgorithm::EcP256);
  target.generate("ours", crypto::KeyAlgorithm::Ed25519);
  const Dump before = dump(db_of(target_dir()));
  const std::set<std::string> files = listing(target_dir());

  // Opening the backup into the full data directory fails there, leaving no scratch file.
  Error e = capture_error([&] { (void)open_backup(file, target_dir()); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "disk-full") << e.what();
  EXPECT_EQ(listing(target_dir()), files);

  // Opened elsewhere, the restore itself runs out of space half-way.
  {
    backup::OpenedBackup b = open_backup(file, scratch());
    e = capture_error([&] { (void)target.restore(b, false); });
  }
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "disk-full") << e.what();
  EXPECT_EQ(diff(before, dump(db_of(target_dir()))), "");
  EXPECT_EQ(listing(target_dir()), files);
  EXPECT_EQ(names(target), (std::vector<std::string>{"mine", "ours"}));
  EXPECT_TRUE(target.quarantine().empty());

  // Opened again from disk: still exactly as before.
  {
    KeyStore again = open_target(target_dir());
    EXPECT_EQ(verdict_names(again.check_all().reusable), (std::vector<std::string>{"mine", "ours"}));
  }
  EXPECT_EQ(diff(before, dump(db_of(target_dir()))), "");

  // With room, the same restore on the same store object succeeds: the failure was the disk,
  // and it left the connection usable (the backup detached, no transaction open).
  const test::ProcessResult grow = test::run_process({"mount", "-o", "remount,size=64m", mount_->path().string()});
  ASSERT_EQ(grow.exit_code, 0) << grow.err;
  const RestoreReport report = restore_into(target, target_dir(), file);
  EXPECT_EQ(report.added.size(), 30u);
  EXPECT_EQ(table_counts(report), (std::map<std::string, std::int64_t>{{"issued_certificates", 48}}));
  EXPECT_EQ(target.check_all().reusable.size(), 32u);
}

TEST_F(RestoreOnTmpfs, ReadOnlyTargetIsRefusedAndLeftUnchanged) {
  make_damaged_source();
  fs::path file;
  {
    KeyStore store = open_source();
    file = backup_of(store);
  }
  ASSERT_NO_FATAL_FAILURE(mount("8m"));
  {
    KeyStore target = create_target(target_dir());
    target.generate("mine", crypto::KeyAlgorithm::EcP256);
  }  // closed: a file system with a file open for writing cannot be remounted read-only
  const Dump before = dump(db_of(target_dir()));
  const std::string db_bytes = file_digest(db_of(target_dir()));
  const std::set<std::string> files = listing(target_dir());
  mount_->remount_read_only();

  // The backup cannot be opened into the read-only data directory...
  Error e = capture_error([&] { (void)open_backup(file, target_dir()); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_NE(std::string(e.what()).find("Read-only file system"), std::string::npos) << e.what();
  // ...and the store cannot be opened for the restore.
  backup::OpenedBackup b = open_backup(file, scratch());
  e = capture_error([&] { (void)open_target(target_dir()); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "data-dir-not-writable");

  mount_->remount_read_write();
  EXPECT_EQ(listing(target_dir()), files);
  EXPECT_EQ(file_digest(db_of(target_dir())), db_bytes);
  EXPECT_EQ(diff(before, dump(db_of(target_dir()))), "");
  // Writable again, the restore goes through.
  KeyStore target = open_target(target_dir());
  const RestoreReport report = target.restore(b, false);
  EXPECT_EQ(item_names(report.added), (std::vector<std::string>{"cert-owner", "intact"}));
}

// ---- backups while another process writes -------------------------------------------------------

TEST_F(RestoreTest, BackupsTakenWhileOthersKeepWritingAreConsistentSnapshots) {
  {
    KeyStore store = create_source();
    store.generate("seed", crypto::KeyAlgorithm::EcP256);
  }
  {
    // Every transaction of the second writer adds one event and counts it in the tally: a
    // consistent snapshot has tally = count(events).
    test::StoreEditor edit(src());
    edit.exec(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, payload BLOB);"
        "CREATE TABLE tally (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), n INTEGER NOT NULL);"
        "INSERT INTO tally VALUES (1, 0);");
  }
  // The writers' progress, which the backups wait on: no polling, no sleeps. The deadline only
  // bounds a machine that stalls; the outcome does not depend on how fast anything runs.
  std::mutex mutex;
  std::condition_variable progress;
  bool stop = false;
  int keys_written = 0;
  int events_written = 0;
  int keys_at_last_backup = 0;  // the key writer stays a few keys ahead of the last backup
  std::string failure;
  auto record_failure = [&](const std::string& what) {
    {
      const std::lock_guard lock(mutex);
      if (failure.empty()) failure = what;
    }
    progress.notify_all();
  };
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::thread key_writer([&] {
    try {
      KeyStore store = KeyStore::open(src(), pass(kSourcePass));
      for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
        {
          // Never more than a few keys past the last backup: a writer that never pauses could
          // keep the backup's own write (its audit row) waiting past the busy timeout, since
          // SQLite's busy handler polls instead of queueing.
          std::unique_lock lock(mutex);
          if (!progress.wait_until(lock, deadline, [&] { return stop || keys_written < keys_at_last_backup + 6; })) return;
          if (stop) return;
        }
        store.generate("w-" + std::to_string(i), crypto::KeyAlgorithm::EcP256);
        {
          const std::lock_guard lock(mutex);
          ++keys_written;
        }
        progress.notify_all();
      }
    } catch (const std::exception& e) {
      record_failure(std::string("key writer: ") + e.what());
    }
  });
  std::thread row_writer([&] {
    try {
      db::Database db = db::Database::open(db_of(src()), db::OpenMode::ReadWrite);
      for (int i = 0;; ++i) {
        {
          // At most a few events ahead of the keys: a writer that takes the lock again at once
          // would starve the key writer (SQLite's busy handler polls).
          std::unique_lock lock(mutex);
          if (!progress.wait_until(lock, deadline, [&] { return stop || events_written < 2 * keys_written + 4; })) return;
          if (stop) return;
        }
        db::Transaction tx(db);
        db.prepare("INSERT INTO events (at, payload) VALUES (?, randomblob(200))").bind(1, std::int64_t{i}).run();
        db.exec("UPDATE tally SET n = n + 1");
        tx.commit();
        {
          const std::lock_guard lock(mutex);
          ++events_written;
        }
        progress.notify_all();
      }
    } catch (const std::exception& e) {
      record_failure(std::string("row writer: ") + e.what());
    }
  });
  struct JoinOnExit {  // even when an assertion below returns early
    std::mutex& mutex;
    bool& stop;
    std::condition_variable& progress;
    std::thread& a;
    std::thread& b;
    ~JoinOnExit() {
      {
        const std::lock_guard lock(mutex);
        stop = true;
      }
      progress.notify_all();
      if (a.joinable()) a.join();
      if (b.joinable()) b.join();
    }
  } join_on_exit{mutex, stop, progress, key_writer, row_writer};

  // Take a backup each time both writers have made progress since the last one.
  std::vector<fs::path> files;
  {
    KeyStore store = open_source();
    int last_keys = 0;
    int last_events = 0;
    while (files.size() < 4) {
      {
        std::unique_lock lock(mutex);
        const bool moved = progress.wait_until(lock, deadline, [&] {
          return !failure.empty() || (keys_written > last_keys + 2 && events_written > last_events + 2);
        });
        if (!moved || !failure.empty()) break;
      }
      files.push_back(backup_of(store, "during-" + std::to_string(files.size()) + ".sbk"));
      // Counted after the backup, so that the next one surely holds more.
      {
        const std::lock_guard lock(mutex);
        last_keys = keys_written;
        last_events = events_written;
        keys_at_last_backup = keys_written;
      }
      progress.notify_all();
    }
  }
  {
    const std::lock_guard lock(mutex);
    stop = true;
  }
  progress.notify_all();
  key_writer.join();
  row_writer.join();
  ASSERT_EQ(failure, "");
  ASSERT_EQ(files.size(), 4u) << "the writers stopped making progress: " << keys_written << " keys, "
                              << events_written << " events";

  std::set<std::int64_t> key_counts;
  for (std::size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(files[i].filename().string());
    const fs::path dir = tmp_ / ("restored-" + std::to_string(i));
    KeyStore target = create_target(dir);
    backup::OpenedBackup b = open_backup(files[i], dir);
    EXPECT_EQ(b.database().quick_check(), "");
    const nlohmann::json& m = b.manifest();
    // The snapshot itself: every transaction of the row writer in it whole, or not at all.
    const auto events = m.at("tables").at("events").get<std::int64_t>();
    {
      db::Statement t = b.database().prepare("SELECT n, (SELECT count(*) FROM events) FROM tally");
      ASSERT_TRUE(t.step());
      EXPECT_EQ(t.int64(0), events) << "the snapshot caught a transaction half-way";
      EXPECT_EQ(t.int64(1), events);
    }
    const RestoreReport report = target.restore(b, false);

    db::Database restored = db::Database::open(db_of(dir), db::OpenMode::ReadOnly);
    EXPECT_EQ(restored.quick_check(), "");
    const IntegrityReport check = target.check_all();
    EXPECT_TRUE(check.excluded.empty());
    const auto keys = m.at("counts").at("keys").get<std::int64_t>();
    key_counts.insert(keys);
    EXPECT_EQ(static_cast<std::int64_t>(check.reusable.size()), keys);
    EXPECT_EQ(static_cast<std::int64_t>(report.added.size()), keys);
    EXPECT_TRUE(report.quarantined.empty());
    // The tables that are not ours stay in the backup.
    EXPECT_EQ(skipped_table_names(report), (std::vector<std::string>{"events", "tally"}));
  }
  EXPECT_EQ(key_counts.size(), files.size()) << "every backup was taken at another point of the writes";
}

// CRL numbers only ever increase: a store that issued CRLs of its own continues from the higher of
// its number and the backup's, so a restore onto a running server B never makes them go back.
TEST_F(RestoreTest, CrlNumbersContinueFromTheHigherOfStoreAndBackup) {
  auto set_crl_number = [](const fs::path& dir, std::int64_t n) {
    db::Database db = db::Database::open(KeyStore::database_path(dir), db::OpenMode::ReadWrite);
    db.exec("INSERT INTO crl_state (singleton, crl_number, updated_at) VALUES (1, " + std::to_string(n) +
            ", 0) ON CONFLICT (singleton) DO UPDATE SET crl_number = excluded.crl_number");
  };
  auto crl_number = [](const fs::path& dir) {
    db::Database db = db::Database::open(KeyStore::database_path(dir), db::OpenMode::ReadOnly);
    db::Statement s = db.prepare("SELECT crl_number FROM crl_state WHERE singleton = 1");
    return s.step() ? s.int64(0) : -1;
  };
  fs::path file;
  {
    KeyStore source = create_source();
    set_crl_number(src(), 7);
    file = backup_of(source);
  }
  for (const auto& [mine, expected] : std::vector<std::pair<std::int64_t, std::int64_t>>{{3, 7}, {9, 9}}) {
    const fs::path dir = tmp_ / ("crl-" + std::to_string(mine));
    {
      KeyStore target = create_target(dir);
    }
    set_crl_number(dir, mine);
    KeyStore target = open_target(dir);
    (void)restore_into(target, dir, file);
    EXPECT_EQ(crl_number(dir), expected) << "the store had " << mine << ", the backup 7";
    (void)restore_into(target, dir, file);  // again: nothing changes
    EXPECT_EQ(crl_number(dir), expected);
  }
}

}  // namespace
}  // namespace signet::keystore
