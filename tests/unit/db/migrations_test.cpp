#include "signet/db/migrations.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "signet/core/error.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"

namespace signet::db {
namespace {

namespace fs = std::filesystem;
using test::capture_error;

class MigrationsTest : public ::testing::Test {
 protected:
  [[nodiscard]] fs::path path() const { return dir_ / "m.db"; }
  Database open() { return Database::open(path(), OpenMode::ReadWriteCreate); }
  static std::set<std::string> tables(Database& db) {
    std::set<std::string> out;
    Statement s = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'");
    while (s.step()) out.insert(s.text(0));
    return out;
  }
  static std::string schema_sql(Database& db) {
    std::string out;
    Statement s = db.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name");
    while (s.step()) out += s.text(0) + " " + s.text(1) + ": " + s.text(2) + "\n";
    return out;
  }
  test::TempDir dir_;
};

const std::vector<Migration> kTwoSteps = {
    {1, "001_a.sql", "CREATE TABLE a (x INTEGER);"},
    {2, "002_b.sql", "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);"},
};

// ---- the embedded key store migrations --------------------------------------------------------

TEST(KeystoreMigrations, AreNumberedFromOneWithoutGapsAndNamedForTheirVersion) {
  const auto& ms = keystore::schema_migrations();
  ASSERT_FALSE(ms.empty());
  for (std::size_t i = 0; i < ms.size(); ++i) {
    EXPECT_EQ(ms[i].version, static_cast<int>(i + 1));
    char prefix[8];
    std::snprintf(prefix, sizeof prefix, "%03d_", ms[i].version);
    EXPECT_EQ(std::string(ms[i].file).rfind(prefix, 0), 0u) << ms[i].file;
    EXPECT_TRUE(std::string(ms[i].file).ends_with(".sql")) << ms[i].file;
    EXPECT_FALSE(ms[i].sql.empty()) << ms[i].file;
  }
  EXPECT_EQ(latest_version(ms), ms.back().version);
}

TEST(LatestVersion, IsTheMaximumOrZero) {
  EXPECT_EQ(latest_version({}), 0);
  EXPECT_EQ(latest_version(kTwoSteps), 2);
  EXPECT_EQ(latest_version({{3, "003", ""}, {1, "001", ""}}), 3);
}

TEST_F(MigrationsTest, EmptyDatabaseMigratesToLatestKeystoreSchema) {
  Database db = open();
  const auto& ms = keystore::schema_migrations();
  EXPECT_EQ(migrate(db, ms), latest_version(ms));
  EXPECT_EQ(db.user_version(), latest_version(ms));
  const std::set<std::string> t = tables(db);
  for (const char* name : {"store_meta", "keys", "key_certificates", "key_requests", "audit_log"}) {
    EXPECT_EQ(t.count(name), 1u) << name;
  }
  EXPECT_EQ(db.quick_check(), "");
  // Every foreign key in the schema points at something that exists.
  Statement fk = db.prepare("PRAGMA foreign_key_check");
  EXPECT_FALSE(fk.step());
}

TEST_F(MigrationsTest, KeystoreSchemaEnforcesItsConstraints) {
  Database db = open();
  (void)migrate(db, keystore::schema_migrations());
  db.exec("PRAGMA foreign_keys = ON");
  // STRICT tables refuse a TEXT name where an INTEGER belongs; foreign keys refuse orphans.
  const Error strict = capture_error(
      [&] { db.exec("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ('x', '', '', '', '')"); });
  EXPECT_EQ(strict.kind(), ErrorKind::Conflict);
  const Error orphan = capture_error([&] {
    db.exec("INSERT INTO key_requests (key_id, der, added_at) VALUES (12345, x'00', 0)");
  });
  EXPECT_EQ(orphan.kind(), ErrorKind::Conflict);
  EXPECT_EQ(orphan.native_code(), SQLITE_CONSTRAINT_FOREIGNKEY);
  const Error two_meta = capture_error([&] {
    db.exec("INSERT INTO store_meta VALUES (2, x'00', 0, 'scrypt', 2, 1, 1, x'00', x'00', 0)");
  });
  EXPECT_EQ(two_meta.native_code(), SQLITE_CONSTRAINT_CHECK);
}

TEST_F(MigrationsTest, SecondRunIsANoOp) {
  {
    Database db = open();
    (void)migrate(db, keystore::schema_migrations());
    db.exec("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (1, 'a', 'b', '', '')");
  }
  const std::string before = test::read_text(path());
  Database db = open();
  const std::string schema_before = schema_sql(db);
  EXPECT_EQ(migrate(db, keystore::schema_migrations()), latest_version(keystore::schema_migrations()));
  EXPECT_EQ(schema_sql(db), schema_before);
  db.close();
  EXPECT_EQ(test::read_text(path()), before) << "a no-op migration must not write to the file";
}

TEST_F(MigrationsTest, AppliesOnlyTheMissingSteps) {
  Database db = open();
  EXPECT_EQ(migrate(db, {kTwoSteps[0]}), 1);
  // Re-running 001 would fail ("table a already exists"), so success shows it was skipped.
  EXPECT_EQ(migrate(db, kTwoSteps), 2);
  EXPECT_EQ(db.user_version(), 2);
  Statement s = db.prepare("SELECT count(*) FROM a");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.int64(0), 1);
}

TEST_F(MigrationsTest, NewerSchemaIsRefusedAndNothingChanges) {
  {
    Database db = open();
    (void)migrate(db, keystore::schema_migrations());
    db.exec("PRAGMA user_version = 999");
  }
  const std::string before = test::read_text(path());
  Database db = open();
  const Error e = capture_error([&] { (void)migrate(db, keystore::schema_migrations()); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.code(), "schema-too-new");
  const std::string what = e.what();
  EXPECT_NE(what.find("999"), std::string::npos) << what;
  EXPECT_NE(what.find(path().string()), std::string::npos) << what;
  EXPECT_NE(what.find("upgrade"), std::string::npos) << what;
  EXPECT_EQ(db.user_version(), 999);
  // The connection has no transaction left open: it can still write.
  EXPECT_NO_THROW(db.exec("CREATE TEMP TABLE probe (x INTEGER)"));
  db.close();
  EXPECT_EQ(test::read_text(path()), before);
}

TEST_F(MigrationsTest, FailingMigrationRollsBackEveryStep) {
  const std::vector<Migration> broken = {
      kTwoSteps[0],
      kTwoSteps[1],
      {3, "003_broken.sql", "CREATE TABLE c (z INTEGER); INSERT INTO no_such_table VALUES (1);"},
  };
  Database db = open();
  const Error e = capture_error([&] { (void)migrate(db, broken); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_NE(std::string(e.what()).find("no such table: no_such_table"), std::string::npos) << e.what();
  EXPECT_EQ(db.user_version(), 0);
  EXPECT_TRUE(tables(db).empty()) << "tables a, b and c must all be rolled back";
  // The same database migrates cleanly with the good steps afterwards.
  EXPECT_EQ(migrate(db, kTwoSteps), 2);
}

TEST_F(MigrationsTest, FailingLaterMigrationKeepsTheEarlierVersion) {
  Database db = open();
  (void)migrate(db, {kTwoSteps[0]});
  const std::vector<Migration> broken = {
      kTwoSteps[0], kTwoSteps[1], {3, "003_broken.sql", "CREATE TABLE c (z INTEGER); SELEC;"}};
  EXPECT_THROW((void)migrate(db, broken), Error);
  EXPECT_EQ(db.user_version(), 1);
  EXPECT_EQ(tables(db), std::set<std::string>{"a"});
  Statement s = db.prepare("SELECT count(*) FROM a");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.int64(0), 0) << "the INSERT from step 2 must be rolled back too";
}

TEST_F(MigrationsTest, EmptyMigrationListLeavesAFreshDatabaseAtZero) {
  Database db = open();
  EXPECT_EQ(migrate(db, {}), 0);
  EXPECT_EQ(db.user_version(), 0);
}

}  // namespace
}  // namespace signet::db
