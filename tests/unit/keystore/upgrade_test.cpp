// Upgrades of the key store: stores written by every older Signet (tests/fixtures/schema/vN, made
// by the commit that wrote schema N) open with this build, are migrated after a verified copy was
// made, and keep every key, certificate, client and ACME key they held; a failed migration changes
// nothing; read-only opens and current stores make no copy.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "signet/core/error.h"
#include "signet/db/migrations.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "signet/keystore/upgrade_copy.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"

namespace signet::keystore {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::capture_error;

const fs::path kFixtures = fs::path(SIGNET_FIXTURE_DIR) / "schema";

int latest_schema() { return db::latest_version(schema_migrations()); }

fs::path fixture_dir(int version) { return kFixtures / ("v" + std::to_string(version)); }

json manifest_of(int version) {
  std::ifstream in(fixture_dir(version) / "manifest.json");
  EXPECT_TRUE(in) << "no manifest for the v" << version << " fixture (tests/fixtures/schema/README.md)";
  return in ? json::parse(in) : json::object();
}

Passphrase passphrase_of(int version) {
  std::string line;
  std::ifstream in(fixture_dir(version) / "passphrase");
  std::getline(in, line);
  return Passphrase(as_bytes(std::string_view(line)));
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::string bytes_of(const fs::path& p) { return test::read_text(p); }

// The files directly in `dir`, with their contents.
std::map<std::string, std::string> dir_snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename().string()] = bytes_of(e.path());
  return out;
}

// Every row of every table, as SQLite quotes its values: equal dumps mean equal contents.
std::string dump(const fs::path& path) {
  db::Database db = db::Database::open(path, db::OpenMode::Immutable);
  std::vector<std::string> tables;
  {
    db::Statement s = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    while (s.step()) tables.push_back(s.text(0));
  }
  std::string out;
  for (const std::string& t : tables) {
    std::vector<std::string> columns;
    {
      db::Statement s = db.prepare("SELECT name FROM pragma_table_info(?)");
      s.bind(1, t);
      while (s.step()) columns.push_back("quote(\"" + s.text(0) + "\")");
    }
    std::string select = "SELECT ";
    for (std::size_t i = 0; i < columns.size(); ++i) select += (i ? " || '|' || " : "") + columns[i];
    db::Statement s = db.prepare(select + " FROM \"" + t + "\" ORDER BY 1");
    out += "table " + t + "\n";
    while (s.step()) out += "  " + s.text(0) + "\n";
  }
  return out;
}

std::string integrity_of(db::Database& db) {
  std::string out;
  db::Statement s = db.prepare("PRAGMA integrity_check");
  while (s.step()) out += s.text(0);
  return out;
}

// A data directory holding a copy of the vN fixture's store, as an operator's would.
struct OldStore {
  explicit OldStore(int v) : version(v) {
    fs::permissions(tmp.path(), fs::perms::owner_all, fs::perm_options::replace);
    fs::copy_file(fixture_dir(v) / "signet.db", db());
    fs::permissions(db(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  }
  [[nodiscard]] const fs::path& dir() const { return tmp.path(); }
  [[nodiscard]] fs::path db() const { return tmp.path() / "signet.db"; }
  KeyStore open(KeyStore::Access access = KeyStore::Access::ReadWrite) const {
    return KeyStore::open(dir(), passphrase_of(version), access);
  }
  int version;
  test::TempDir tmp;
};

std::int64_t count(const fs::path& db_path, const std::string& sql, const std::string& arg) {
  db::Database db = db::Database::open(db_path, db::OpenMode::ReadOnly);
  db::Statement s = db.prepare(sql);
  s.bind(1, arg);
  return s.step() ? s.int64(0) : -1;
}

// ---- every fixture ------------------------------------------------------------------------------

class FixtureUpgrade : public ::testing::TestWithParam<int> {};

TEST_P(FixtureUpgrade, MigratesAfterAVerifiedCopyAndKeepsEverything) {
  const int v = GetParam();
  ASSERT_TRUE(fs::exists(fixture_dir(v) / "signet.db")) << "missing fixture v" << v;
  const json manifest = manifest_of(v);
  ASSERT_EQ(manifest.value("schema_version", 0), v);
  OldStore old(v);
  {
    db::Database raw = db::Database::open(old.db(), db::OpenMode::Immutable);
    ASSERT_EQ(raw.user_version(), v) << "the fixture is not at the schema it is named after";
  }
  const std::string fixture_dump = dump(old.db());
  const bool upgrade = v < latest_schema();

  {
    KeyStore store = old.open();
    EXPECT_EQ(store.info().schema_version, latest_schema());
    // What open() reports having migrated (signetd logs it).
    if (upgrade) {
      ASSERT_TRUE(store.migration().has_value());
      EXPECT_EQ(store.migration()->from_version, v);
      EXPECT_EQ(store.migration()->to_version, latest_schema());
      EXPECT_TRUE(fs::exists(store.migration()->copy)) << store.migration()->copy;
    } else {
      EXPECT_FALSE(store.migration().has_value());
    }

    // Every key the old Signet made is there, as it printed it, and passes the full check.
    std::vector<std::string> names;
    for (const json& k : manifest.at("keys")) {
      const std::string name = k.at("name");
      names.push_back(name);
      const auto rec = store.record(name);
      ASSERT_TRUE(rec) << name;
      EXPECT_EQ(rec->algorithm, k.at("algorithm").get<std::string>()) << name;
      ASSERT_TRUE(rec->fingerprint) << name;
      EXPECT_EQ(to_hex(*rec->fingerprint), k.at("fingerprint_sha256").get<std::string>()) << name;
    }
    ASSERT_FALSE(names.empty());
    for (const KeyVerdict& verdict : store.check(names)) EXPECT_TRUE(verdict.reusable()) << verdict.name;
    EXPECT_TRUE(store.check_all().excluded.empty());

    // The migration is in the audit log, naming the copy.
    std::vector<AuditEntry> migrations;
    for (const AuditEntry& e : store.audit_log()) {
      if (e.action == "store.migrate") migrations.push_back(e);
    }
    if (upgrade) {
      ASSERT_EQ(migrations.size(), 1u);
      EXPECT_NE(migrations[0].detail.find("schema " + std::to_string(v) + " -> " + std::to_string(latest_schema())),
                std::string::npos)
          << migrations[0].detail;
      EXPECT_NE(migrations[0].detail.find("signet.db.schema-" + std::to_string(v) + "-"), std::string::npos)
          << migrations[0].detail;
      EXPECT_NE(migrations[0].detail.find(", by signet_unit_tests (uid " + std::to_string(::geteuid()) + ")"),
                std::string::npos)
          << migrations[0].detail;
    } else {
      EXPECT_TRUE(migrations.empty());
    }
  }

  // The ledger, the API clients and the ACME keys after the migration.
  for (const json& c : manifest.at("certificates")) {
    const std::string serial = c.at("serial");
    EXPECT_EQ(count(old.db(), "SELECT count(*) FROM issued_certificates WHERE serial = ? AND state = 'issued'", serial), 1)
        << serial;
    EXPECT_EQ(count(old.db(), "SELECT revoked_at IS NOT NULL FROM issued_certificates WHERE serial = ?", serial),
              c.at("revoked").get<bool>() ? 1 : 0)
        << serial;
  }
  for (const json& name : manifest.at("clients")) {
    EXPECT_EQ(count(old.db(), "SELECT count(*) FROM api_clients WHERE name = ? AND removed_at IS NULL", name.get<std::string>()), 1)
        << name;
  }
  for (const json& kid : manifest.at("acme_eab_kids")) {
    EXPECT_EQ(count(old.db(), "SELECT count(*) FROM acme_eab_keys WHERE kid = ?", kid.get<std::string>()), 1) << kid;
  }

  const std::vector<UpgradeCopy> copies = list_upgrade_copies(old.dir());
  if (!upgrade) {
    EXPECT_TRUE(copies.empty()) << "a store at the latest schema was copied";
    return;
  }
  ASSERT_EQ(copies.size(), 1u);
  const UpgradeCopy& copy = copies[0];
  EXPECT_EQ(copy.name.schema_version, v);
  EXPECT_TRUE(copy.path.filename().string().starts_with("signet.db.schema-" + std::to_string(v) + "-"))
      << copy.path;
  EXPECT_EQ(mode_of(copy.path), 0600u);
  EXPECT_EQ(copy.mode, 0600u);
  EXPECT_EQ(copy.size, fs::file_size(copy.path));
  {
    db::Database c = db::Database::open(copy.path, db::OpenMode::Immutable);
    EXPECT_EQ(c.user_version(), v);
    EXPECT_EQ(integrity_of(c), "ok");
  }
  // Not byte for byte: SQLite's backup writes its own header counters. Every row is the same.
  EXPECT_EQ(dump(copy.path), fixture_dump);
  // Nothing else was left: the store, its WAL files at most, and the copy.
  for (const auto& e : fs::directory_iterator(old.dir())) {
    const std::string n = e.path().filename().string();
    EXPECT_TRUE(n == "signet.db" || n == "signet.db-wal" || n == "signet.db-shm" || n == copy.path.filename().string())
        << "unexpected file " << n;
  }

  // The copy is what the Signet of that version opens: put back, it is the old store again.
  OldStore back(v);
  fs::remove(back.db());
  fs::copy_file(copy.path, back.db());
  {
    db::Database raw = db::Database::open(back.db(), db::OpenMode::Immutable);
    EXPECT_EQ(raw.user_version(), v);
  }

  // A second open finds nothing to migrate and makes no second copy.
  {
    KeyStore again = old.open();
    EXPECT_FALSE(again.migration().has_value());
    std::size_t migrate_rows = 0;
    for (const AuditEntry& e : again.audit_log()) migrate_rows += e.action == "store.migrate" ? 1 : 0;
    EXPECT_EQ(migrate_rows, 1u);
  }
  EXPECT_EQ(list_upgrade_copies(old.dir()).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(EverySchemaVersion, FixtureUpgrade, ::testing::Range(1, 7),
                         [](const ::testing::TestParamInfo<int>& version) { return "v" + std::to_string(version.param); });

TEST(FixtureSet, HasOneFixturePerSchemaVersion) {
  // A new migration needs a new fixture, made by the code before it (tests/fixtures/schema/README.md).
  for (int v = 1; v <= latest_schema(); ++v) {
    EXPECT_TRUE(fs::exists(fixture_dir(v) / "signet.db")) << "no fixture for schema version " << v;
    EXPECT_EQ(manifest_of(v).value("schema_version", 0), v);
  }
  EXPECT_EQ(latest_schema(), 6) << "a migration was added: add tests/fixtures/schema/v" << latest_schema()
                                << " and widen FixtureUpgrade's range";
}

// ---- what must not make a copy, and what must not change -----------------------------------------

TEST(Upgrade, ReadOnlyOpenWritesNothing) {
  OldStore old(3);
  const auto before = dir_snapshot(old.dir());
  {
    KeyStore store = old.open(KeyStore::Access::ReadOnly);
    EXPECT_EQ(store.info().schema_version, latest_schema());  // read from a migrated private copy
    EXPECT_FALSE(store.records().empty());
  }
  EXPECT_EQ(dir_snapshot(old.dir()), before);
  EXPECT_TRUE(list_upgrade_copies(old.dir()).empty());
}

TEST(Upgrade, FailedMigrationLeavesTheStoreAsItWas) {
  OldStore old(3);
  // A table that schema 6 creates is already there: migrations 4 and 5 apply, then 6 fails, and
  // all three must be rolled back.
  {
    db::Database raw = db::Database::open(old.db(), db::OpenMode::ReadWrite);
    raw.exec("CREATE TABLE acme_eab_keys (kid TEXT)");
  }
  ASSERT_FALSE(fs::exists(old.db().string() + "-wal"));
  const std::string bytes_before = bytes_of(old.db());
  const auto files_before = dir_snapshot(old.dir());

  const Error e = capture_error([&] { (void)old.open(); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage) << e.what();
  const std::string message = e.what();
  EXPECT_NE(message.find("acme_eab_keys"), std::string::npos) << message;
  EXPECT_NE(message.find("still at schema version 3"), std::string::npos) << message;
  EXPECT_NE(message.find("signet.db.schema-3-"), std::string::npos) << message;

  EXPECT_EQ(bytes_of(old.db()), bytes_before) << "the failed migration changed signet.db";
  EXPECT_EQ(dir_snapshot(old.dir()), files_before) << "files were left behind";
  db::Database raw = db::Database::open(old.db(), db::OpenMode::Immutable);
  EXPECT_EQ(raw.user_version(), 3);
  EXPECT_EQ(integrity_of(raw), "ok");
}

TEST(Upgrade, TwoOpenersAtOnceMigrateOnce) {
  OldStore old(2);
  std::atomic<int> opened{0};
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      try {
        KeyStore store = old.open();  // a connection of its own, as another process would have
        if (store.info().schema_version == latest_schema()) ++opened;
      } catch (const Error& e) {
        errors[static_cast<std::size_t>(i)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 2) << errors[0] << " / " << errors[1];
  EXPECT_EQ(list_upgrade_copies(old.dir()).size(), 1u);
  KeyStore store = old.open();
  std::size_t migrate_rows = 0;
  for (const AuditEntry& e : store.audit_log()) migrate_rows += e.action == "store.migrate" ? 1 : 0;
  EXPECT_EQ(migrate_rows, 1u);
}

TEST(Upgrade, AFailingHookRollsTheMigrationBack) {
  // What open() relies on when the copy cannot be made or verified: nothing is migrated.
  OldStore old(4);
  const std::string bytes_before = bytes_of(old.db());
  {
    db::Database raw = db::Database::open(old.db(), db::OpenMode::ReadWrite);
    bool after_called = false;
    const db::MigrationHooks hooks{
        .before = [](int, int) { throw Error(ErrorKind::Integrity, "upgrade-copy-invalid", "test"); },
        .after = [&](int, int) { after_called = true; }};
    const Error e = capture_error([&] { db::migrate(raw, schema_migrations(), hooks); });
    EXPECT_EQ(e.code(), "upgrade-copy-invalid");
    EXPECT_FALSE(after_called);
    EXPECT_EQ(raw.user_version(), 4);
  }
  EXPECT_EQ(bytes_of(old.db()), bytes_before);
}

// ---- the copy itself ------------------------------------------------------------------------------

TEST(UpgradeCopy, VerificationFindsADifferentCopy) {
  OldStore old(4);
  db::Database source = db::Database::open(old.db(), db::OpenMode::ReadWrite);
  const FixedClock clock(std::chrono::sys_days{std::chrono::December / 5 / 2026} + std::chrono::hours(17) +
                         std::chrono::minutes(15));
  const fs::path copy = write_upgrade_copy(source, old.dir(), 4, clock);
  EXPECT_EQ(copy.filename().string(), "signet.db.schema-4-20261205T171500Z.bak");
  EXPECT_EQ(mode_of(copy), 0600u);
  EXPECT_NO_THROW(verify_upgrade_copy(source, copy, 4));

  // Same second, same version: a new name, the first copy untouched.
  const std::string first = bytes_of(copy);
  const fs::path second = write_upgrade_copy(source, old.dir(), 4, clock);
  EXPECT_EQ(second.filename().string(), "signet.db.schema-4-20261205T171500Z.2.bak");
  EXPECT_EQ(bytes_of(copy), first);

  const Error wrong_version = capture_error([&] { verify_upgrade_copy(source, copy, 3); });
  EXPECT_EQ(wrong_version.code(), "upgrade-copy-invalid");
  EXPECT_NE(std::string(wrong_version.what()).find(copy.string()), std::string::npos) << wrong_version.what();

  {
    db::Database c = db::Database::open(second, db::OpenMode::ReadWrite);
    c.exec("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)");
  }
  const Error missing_row = capture_error([&] { verify_upgrade_copy(source, second, 4); });
  EXPECT_EQ(missing_row.code(), "upgrade-copy-invalid");
  EXPECT_NE(std::string(missing_row.what()).find("audit_log"), std::string::npos) << missing_row.what();

  {
    db::Database c = db::Database::open(second, db::OpenMode::ReadWrite);
    c.exec("UPDATE store_meta SET store_id = zeroblob(16)");
  }
  const Error other_store = capture_error([&] { verify_upgrade_copy(source, second, 4); });
  EXPECT_EQ(other_store.code(), "upgrade-copy-invalid");
  EXPECT_NE(std::string(other_store.what()).find("store id"), std::string::npos) << other_store.what();
}

TEST(UpgradeCopy, NamesRoundTripAndOthersAreNotCopies) {
  const auto parsed = parse_upgrade_copy_name(upgrade_copy_name(3, 1796490900, 1));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->schema_version, 3);
  EXPECT_EQ(parsed->taken_at, "20261205T171500Z");
  EXPECT_EQ(parsed->sequence, 1);
  const auto again = parse_upgrade_copy_name(upgrade_copy_name(12, 1796490900, 7));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->schema_version, 12);
  EXPECT_EQ(again->sequence, 7);
  for (const char* other : {"signet.db", "signet.db-wal", ".signet.db.schema-3-20261205T171500Z.bak.tmp-0011",
                            "signet.db.schema-3-20261205T171500Z.bak.tmp", "signet.db.schema--20261205T171500Z.bak",
                            "signet.db.schema-3-2026120T171500Z.bak", "signet.db.schema-3-20261205T171500Z.1.bak",
                            "signet.db.schema-x-20261205T171500Z.bak"}) {
    EXPECT_FALSE(parse_upgrade_copy_name(other)) << other;
  }
}

// A migration killed while it copied (systemd's start timeout, the OOM killer) leaves a hidden
// full-size temporary each time; the next open that finds the store at the latest schema removes
// them, and nothing else.
TEST(Upgrade, TemporariesOfAKilledCopyAreRemovedAtTheNextOpen) {
  OldStore old(3);
  const std::vector<std::string> stale = {".signet.db.schema-3-20261205T000000Z.bak.tmp-0123456789ab",
                                          ".signet.db.schema-3-20261205T000000Z.bak.tmp-0123456789ab-journal",
                                          ".signet.db.schema-3-20261205T000001Z.bak.tmp-ba9876543210-wal"};
  for (const std::string& name : stale) {
    std::ofstream(old.dir() / name) << std::string(4096, 'x');
  }
  std::ofstream(old.dir() / ".keep-me") << "not ours";
  { KeyStore store = old.open(); }
  for (const std::string& name : stale) EXPECT_FALSE(fs::exists(old.dir() / name)) << name;
  EXPECT_TRUE(fs::exists(old.dir() / ".keep-me"));
  EXPECT_EQ(list_upgrade_copies(old.dir()).size(), 1u);  // the real copy stays
}

// root (an operator's signet) migrating a store that belongs to the service's user: the copy is
// that user's too, so that going back with it gives the service a signet.db it can open.
TEST(Upgrade, ACopyMadeByRootBelongsToTheStoresOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the store to another user (CI runs as root)";
  OldStore old(5);
  constexpr uid_t kNobody = 65534;
  ASSERT_EQ(::chown(old.db().c_str(), kNobody, kNobody), 0);
  { KeyStore store = old.open(); }
  const std::vector<UpgradeCopy> copies = list_upgrade_copies(old.dir());
  ASSERT_EQ(copies.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(copies[0].path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_gid, kNobody);
  EXPECT_TRUE(copies[0].problem.empty()) << copies[0].problem;
}

// list_upgrade_copies() reads each file: junk, a cut-short file and another schema than the name's
// are reported, a real copy is not.
TEST(UpgradeCopy, ListingChecksWhatEachFileIs) {
  OldStore old(4);
  { KeyStore store = old.open(); }
  std::ofstream(old.dir() / "signet.db.schema-2-20200101T000000Z.bak") << "junk";
  fs::copy_file(old.db(), old.dir() / "signet.db.schema-3-20200102T000000Z.bak");
  {
    std::ofstream cut(old.dir() / "signet.db.schema-4-20200103T000000Z.bak", std::ios::binary);
    const std::string bytes = [&] {
      std::ifstream in(fixture_dir(4) / "signet.db", std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    cut << bytes.substr(0, 5000);
  }
  std::map<std::string, std::string> problems;
  for (const UpgradeCopy& c : list_upgrade_copies(old.dir())) problems[c.path.filename().string()] = c.problem;
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_NE(problems.at("signet.db.schema-2-20200101T000000Z.bak").find("not an SQLite database"), std::string::npos);
  EXPECT_NE(problems.at("signet.db.schema-3-20200102T000000Z.bak").find("schema version 6, not the 3"), std::string::npos);
  EXPECT_NE(problems.at("signet.db.schema-4-20200103T000000Z.bak").find("cut short"), std::string::npos);
  int valid = 0;
  for (const auto& [name, problem] : problems) valid += problem.empty() ? 1 : 0;
  EXPECT_EQ(valid, 1);  // the copy the migration made
}

}  // namespace
}  // namespace signet::keystore
