#include "signet/db/sqlite.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "signet/core/error.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"

namespace signet::db {
namespace {

namespace fs = std::filesystem;
using test::capture_error;

class SqliteTest : public ::testing::Test {
 protected:
  [[nodiscard]] fs::path path() const { return dir_ / "test.db"; }
  Database open_new() { return Database::open(path(), OpenMode::ReadWriteCreate); }
  std::int64_t count(Database& db, const std::string& table) {
    Statement s = db.prepare("SELECT count(*) FROM " + table);
    EXPECT_TRUE(s.step());
    return s.int64(0);
  }
  test::TempDir dir_;
};

// ---- opening ----------------------------------------------------------------------------------

TEST_F(SqliteTest, OpenCreateMakesTheFileAndKeepsThePath) {
  Database db = open_new();
  db.exec("CREATE TABLE t (x INTEGER)");
  EXPECT_TRUE(fs::exists(path()));
  EXPECT_EQ(db.path(), path());
  EXPECT_NE(db.handle(), nullptr);
}

TEST_F(SqliteTest, OpeningAMissingFileWithoutCreateIsAStorageErrorNamingThePath) {
  for (const OpenMode mode : {OpenMode::ReadWrite, OpenMode::ReadOnly}) {
    const Error e = capture_error([&] { (void)Database::open(path(), mode); });
    EXPECT_EQ(e.kind(), ErrorKind::Storage);
    EXPECT_EQ(e.code(), "store-not-writable");
    EXPECT_EQ(e.native_code() & 0xff, SQLITE_CANTOPEN);
    EXPECT_NE(std::string(e.what()).find(path().string()), std::string::npos) << e.what();
    EXPECT_FALSE(fs::exists(path())) << "must not create the file";
  }
}

TEST_F(SqliteTest, ReadOnlyConnectionRefusesWrites) {
  open_new().exec("CREATE TABLE t (x INTEGER)");
  Database ro = Database::open(path(), OpenMode::ReadOnly);
  const Error e = capture_error([&] { ro.exec("INSERT INTO t VALUES (1)"); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "store-not-writable");
  EXPECT_EQ(e.native_code() & 0xff, SQLITE_READONLY);
  Database rw = Database::open(path(), OpenMode::ReadWrite);
  EXPECT_EQ(count(rw, "t"), 0);
}

TEST_F(SqliteTest, NonDatabaseFileIsIntegrityStoreCorrupt) {
  test::write_text(path(), std::string(4096, 'x'));
  Database db = Database::open(path(), OpenMode::ReadWrite);  // SQLite reads lazily
  const Error e = capture_error([&] { (void)db.user_version(); });
  EXPECT_EQ(e.kind(), ErrorKind::Integrity);
  EXPECT_EQ(e.code(), "store-corrupt");
  EXPECT_EQ(e.native_code(), SQLITE_NOTADB);
  EXPECT_NE(std::string(e.what()).find("restore it from a backup"), std::string::npos) << e.what();
}

// ---- statements -------------------------------------------------------------------------------

TEST_F(SqliteTest, BindAndReadEveryType) {
  Database db = open_new();
  db.exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n BLOB)");
  const std::string text_with_nul("a\0b", 3);
  const Bytes blob{0x00, 0xff, 0x10};
  db.prepare("INSERT INTO t VALUES (?, ?, ?, ?)")
      .bind(1, std::int64_t{-9007199254740993})
      .bind(2, text_with_nul)
      .bind(3, ByteView(blob))
      .bind_null(4)
      .run();
  EXPECT_EQ(db.changes(), 1);
  EXPECT_EQ(db.last_insert_rowid(), 1);
  Statement s = db.prepare("SELECT i, s, b, n FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.int64(0), -9007199254740993);
  EXPECT_EQ(s.text(1), text_with_nul);
  EXPECT_EQ(s.blob(2), blob);
  EXPECT_EQ(s.optional_blob(2), blob);
  EXPECT_TRUE(s.is_null(3));
  EXPECT_FALSE(s.optional_blob(3).has_value());
  EXPECT_EQ(s.text(3), "");
  EXPECT_FALSE(s.step());
}

TEST_F(SqliteTest, EmptyBlobStaysABlobNotNull) {
  Database db = open_new();
  db.exec("CREATE TABLE t (b BLOB)");
  db.prepare("INSERT INTO t VALUES (?)").bind(1, ByteView{}).run();
  Statement s = db.prepare("SELECT b, typeof(b) FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_FALSE(s.is_null(0));
  EXPECT_EQ(s.text(1), "blob");
  ASSERT_TRUE(s.optional_blob(0).has_value());
  EXPECT_TRUE(s.optional_blob(0)->empty());
}

TEST_F(SqliteTest, ResetAllowsReuseWithNewBindings) {
  Database db = open_new();
  db.exec("CREATE TABLE t (x INTEGER)");
  Statement ins = db.prepare("INSERT INTO t VALUES (?)");
  for (std::int64_t i = 1; i <= 3; ++i) {
    ins.bind(1, i).run();
    ins.reset();
  }
  // reset() also clears bindings: running unbound inserts NULL.
  ins.run();
  Statement s = db.prepare("SELECT count(*), sum(x), count(x) FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.int64(0), 4);
  EXPECT_EQ(s.int64(1), 6);
  EXPECT_EQ(s.int64(2), 3);
}

TEST_F(SqliteTest, SyntaxErrorNamesTheProblem) {
  Database db = open_new();
  const Error e = capture_error([&] { (void)db.prepare("SELEC 1"); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.native_code(), SQLITE_ERROR);
  EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
  const Error x = capture_error([&] { db.exec("INSERT INTO missing VALUES (1)"); });
  EXPECT_NE(std::string(x.what()).find("no such table: missing"), std::string::npos) << x.what();
}

TEST_F(SqliteTest, ConstraintViolationIsConflictWithExtendedCode) {
  Database db = open_new();
  db.exec("CREATE TABLE t (name TEXT UNIQUE NOT NULL)");
  db.exec("INSERT INTO t VALUES ('root')");
  const Error e = capture_error([&] { db.prepare("INSERT INTO t VALUES (?)").bind(1, "root").run(); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "constraint-violated");
  EXPECT_EQ(e.native_code(), SQLITE_CONSTRAINT_UNIQUE);
  const Error n = capture_error([&] { db.prepare("INSERT INTO t VALUES (NULL)").run(); });
  EXPECT_EQ(n.native_code(), SQLITE_CONSTRAINT_NOTNULL);
  EXPECT_EQ(count(db, "t"), 1);
}

TEST_F(SqliteTest, StatementsAndDatabasesMove) {
  Database a = open_new();
  a.exec("CREATE TABLE t (x INTEGER)");
  Database b = std::move(a);
  Statement s = b.prepare("INSERT INTO t VALUES (1)");
  Statement moved = std::move(s);
  moved.run();
  EXPECT_EQ(count(b, "t"), 1);
}

TEST_F(SqliteTest, CloseReleasesTheConnection) {
  Database db = open_new();
  db.exec("CREATE TABLE t (x INTEGER)");
  db.close();
  EXPECT_EQ(db.handle(), nullptr);
  // The file is complete without the connection: another one sees the table.
  Database again = Database::open(path(), OpenMode::ReadOnly);
  EXPECT_EQ(count(again, "t"), 0);
}

// ---- the statement cache ---------------------------------------------------------------------

// The statements open on `db`, and how many of them are mid-step (holding a read or write lock).
struct OpenStatements {
  int total = 0;
  int busy = 0;
};
OpenStatements open_statements(Database& db) {
  OpenStatements out;
  for (sqlite3_stmt* s = sqlite3_next_stmt(db.handle(), nullptr); s != nullptr; s = sqlite3_next_stmt(db.handle(), s)) {
    ++out.total;
    if (sqlite3_stmt_busy(s) != 0) ++out.busy;
  }
  return out;
}

TEST_F(SqliteTest, CachedStatementIsPreparedOnceAndComesBackResetWithNoBindings) {
  Database db = open_new();
  db.exec("CREATE TABLE t (x INTEGER)");
  db.exec("INSERT INTO t VALUES (1), (2), (3)");
  constexpr std::string_view kSql = "SELECT x, ? FROM t ORDER BY x";
  {
    Statement s = db.cached(kSql);
    s.bind(1, "bound");
    ASSERT_TRUE(s.step());  // left mid-step: one row read of three
    EXPECT_EQ(s.text(1), "bound");
    EXPECT_EQ(open_statements(db).busy, 1);
  }
  // Given back: kept (still one statement), no longer mid-step, so it holds no lock.
  EXPECT_EQ(open_statements(db).total, 1);
  EXPECT_EQ(open_statements(db).busy, 0);
  for (int round = 0; round < 3; ++round) {
    Statement s = db.cached(kSql);
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.int64(0), 1) << "starts from the first row again";
    EXPECT_TRUE(s.is_null(1)) << "the earlier binding is gone";
  }
  EXPECT_EQ(open_statements(db).total, 1);
}

TEST_F(SqliteTest, CachedStatementInUseIsNotLentTwice) {
  Database db = open_new();
  db.exec("CREATE TABLE t (x INTEGER)");
  db.exec("INSERT INTO t VALUES (1), (2)");
  constexpr std::string_view kSql = "SELECT x FROM t WHERE x >= ? ORDER BY x";
  Statement outer = db.cached(kSql);
  outer.bind(1, std::int64_t{1});
  std::vector<std::int64_t> pairs;
  while (outer.step()) {
    // The same SQL nested inside: a fresh statement, which must not disturb the outer one.
    Statement inner = db.cached(kSql);
    inner.bind(1, std::int64_t{2});
    ASSERT_TRUE(inner.step());
    pairs.push_back(outer.int64(0) * 10 + inner.int64(0));
    EXPECT_EQ(open_statements(db).total, 2);
  }
  EXPECT_EQ(pairs, (std::vector<std::int64_t>{12, 22}));
  EXPECT_EQ(open_statements(db).total, 1) << "the nested one was finalized, the cached one kept";
}

TEST_F(SqliteTest, CachedStatementErrorsAreTheSameAndLeaveItReusable) {
  Database db = open_new();
  db.exec("CREATE TABLE t (name TEXT UNIQUE NOT NULL)");
  for (int round = 0; round < 2; ++round) {
    const Error e = capture_error([&] { (void)db.cached("SELEC 1"); });
    EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
  }
  db.exec_cached("BEGIN IMMEDIATE");
  db.cached("INSERT INTO t VALUES (?)").bind(1, "root").run();
  const Error dup = capture_error([&] { db.cached("INSERT INTO t VALUES (?)").bind(1, "root").run(); });
  EXPECT_EQ(dup.native_code(), SQLITE_CONSTRAINT_UNIQUE);
  db.cached("INSERT INTO t VALUES (?)").bind(1, "other").run();
  db.exec_cached("COMMIT");
  EXPECT_EQ(count(db, "t"), 2);
  // Closing finalizes what the cache kept (LeakSanitizer would report it otherwise).
  db.close();
  EXPECT_EQ(db.handle(), nullptr);
}

// ---- user_version, quick_check ----------------------------------------------------------------

TEST_F(SqliteTest, UserVersionStartsAtZeroAndReadsBack) {
  Database db = open_new();
  EXPECT_EQ(db.user_version(), 0);
  db.exec("PRAGMA user_version = 42");
  EXPECT_EQ(db.user_version(), 42);
  Database other = Database::open(path(), OpenMode::ReadOnly);
  EXPECT_EQ(other.user_version(), 42);
}

TEST_F(SqliteTest, QuickCheckOnAGoodDatabaseIsEmpty) {
  Database db = open_new();
  db.exec("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT); CREATE INDEX t_y ON t (y);");
  Transaction tx(db);
  for (int i = 0; i < 200; ++i) {
    db.prepare("INSERT INTO t (y) VALUES (?)").bind(1, std::string(100, static_cast<char>('a' + i % 26))).run();
  }
  tx.commit();
  EXPECT_EQ(db.quick_check(), "");
}

TEST_F(SqliteTest, QuickCheckFindsADamagedIndex) {
  {
    Database db = open_new();
    db.exec("PRAGMA page_size = 4096; CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT);"
            "CREATE INDEX t_y ON t (y);");
    Transaction tx(db);
    for (int i = 0; i < 300; ++i) {
      db.prepare("INSERT INTO t (y) VALUES (?)").bind(1, "value-" + std::to_string(i)).run();
    }
    tx.commit();
  }
  // Overwrite the index's root page (sqlite_schema says which page it is) with garbage.
  std::int64_t root = 0;
  {
    Database db = Database::open(path(), OpenMode::ReadOnly);
    Statement s = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 't_y'");
    ASSERT_TRUE(s.step());
    root = s.int64(0);
  }
  std::string bytes = test::read_text(path());
  ASSERT_GT(root, 1);
  const std::size_t offset = static_cast<std::size_t>(root - 1) * 4096;
  ASSERT_LE(offset + 4096, bytes.size());
  for (std::size_t i = 0; i < 4096; ++i) bytes[offset + i] = static_cast<char>(0xA5);
  test::write_text(path(), bytes);

  Database db = Database::open(path(), OpenMode::ReadWrite);
  std::string findings;
  try {
    findings = db.quick_check();
  } catch (const Error& e) {
    // SQLite may also stop at the first damaged page: that must be an integrity error.
    EXPECT_EQ(e.kind(), ErrorKind::Integrity) << e.what();
    findings = e.what();
  }
  EXPECT_FALSE(findings.empty()) << "the damaged index went unnoticed";
}

// ---- transactions -----------------------------------------------------------------------------

TEST_F(SqliteTest, TransactionCommitPersists) {
  Database db = open_new();
  db.exec("CREATE TABLE t (x INTEGER)");
  {
    Transaction tx(db);
    db.exec("INSERT INTO t VALUES (1)");
    tx.commit();
  }
  Database other = Database::open(path(), OpenMode::ReadOnly);
  EXPECT_EQ(count(other, "t"), 1);
}

TEST_F(SqliteTest, TransactionRollsBackWithoutCommitOrOnException) {
  Database db = open_new();
  db.exec("CREATE TABLE t (x INTEGER)");
  {
    Transaction tx(db);
    db.exec("INSERT INTO t VALUES (1)");
  }
  EXPECT_EQ(count(db, "t"), 0);
  EXPECT_THROW(
      {
        Transaction tx(db);
        db.exec("INSERT INTO t VALUES (2)");
        db.exec("INSERT INTO nope VALUES (3)");
        tx.commit();
      },
      Error);
  EXPECT_EQ(count(db, "t"), 0);
  // The connection is usable afterwards (no transaction left open).
  EXPECT_NO_THROW({
    Transaction tx(db);
    db.exec("INSERT INTO t VALUES (4)");
    tx.commit();
  });
  EXPECT_EQ(count(db, "t"), 1);
}

TEST_F(SqliteTest, TransactionIsImmediateSoASecondWriterCannotStart) {
  Database a = open_new();
  a.exec("CREATE TABLE t (x INTEGER)");
  Database b = Database::open(path(), OpenMode::ReadWrite);
  sqlite3_busy_timeout(b.handle(), 0);  // fail at once instead of waiting five seconds
  Transaction tx(a);
  const Error e = capture_error([&] { Transaction second(b); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "store-busy");
  EXPECT_NE(std::string(e.what()).find("retry"), std::string::npos) << e.what();
}

// ---- error mapping ----------------------------------------------------------------------------

TEST(ThrowSqlite, MapsResultCodesToKindsAndCodes) {
  struct Case {
    int rc;
    ErrorKind kind;
    const char* code;
    const char* hint;  // a piece of the operator-facing advice, or ""
  };
  const Case cases[] = {
      {SQLITE_CORRUPT, ErrorKind::Integrity, "store-corrupt", "restore it from a backup"},
      {SQLITE_NOTADB, ErrorKind::Integrity, "store-corrupt", "restore it from a backup"},
      {SQLITE_FULL, ErrorKind::Storage, "disk-full", "nothing was changed"},
      {SQLITE_READONLY, ErrorKind::Storage, "store-not-writable", "read-only file system"},
      {SQLITE_PERM, ErrorKind::Storage, "store-not-writable", "writable"},
      {SQLITE_CANTOPEN, ErrorKind::Storage, "store-not-writable", "exists"},
      {SQLITE_BUSY, ErrorKind::Storage, "store-busy", "retry"},
      {SQLITE_LOCKED, ErrorKind::Storage, "store-busy", "retry"},
      {SQLITE_CONSTRAINT, ErrorKind::Conflict, "constraint-violated", ""},
      {SQLITE_IOERR, ErrorKind::Storage, "io-error", ""},
      {SQLITE_IOERR_WRITE, ErrorKind::Storage, "io-error", ""},
      {SQLITE_ERROR, ErrorKind::Storage, "storage-error", ""},
  };
  for (const Case& c : cases) {
    const Error e = capture_error([&] { throw_sqlite(nullptr, c.rc, "doing something"); });
    EXPECT_EQ(e.kind(), c.kind) << c.rc;
    EXPECT_EQ(e.code(), c.code) << c.rc;
    EXPECT_EQ(e.native_code(), c.rc);
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("doing something: ", 0), 0u) << what;
    EXPECT_NE(what.find(sqlite3_errstr(c.rc)), std::string::npos) << what;
    EXPECT_NE(what.find(c.hint), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace signet::db
