// Thin RAII layer over SQLite: a connection, prepared statements and transactions.
//
// Errors become signet::Error with kind Storage (I/O, full disk, read-only, locked), Integrity
// (SQLITE_CORRUPT, SQLITE_NOTADB) or Conflict (constraint violations), and carry the SQLite
// extended result code as native_code().
//
// Thread-safety: a Database and its Statements belong to one thread at a time (SQLite is built
// serialized on Debian, but a connection's transactions are not meant to be shared). A Statement
// must not outlive its Database.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "signet/core/bytes.h"

namespace signet::db {

// True when the file at `path` is a whole number of pages of the page size its header names. A
// SQLite database always is; a partial last page means the file was cut short (even where the
// lost bytes happened to be unused and quick_check cannot notice).
[[nodiscard]] bool has_whole_pages(const std::filesystem::path& path);

// Throws the signet::Error that corresponds to SQLite result `rc` on `db`.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt);
  // A statement lent from a Database's cache: reset and given back (not finalized) when this
  // handle goes; `*lent` is cleared then.
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* lent);
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  // Parameters are 1-based, as in SQLite. Blobs and text are copied (SQLITE_TRANSIENT).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, ByteView blob);
  Statement& bind_null(int index);

  // Returns true when a row is available, false when the statement is done.
  bool step();
  // Runs a statement that returns no rows, to completion.
  void run();
  void reset();

  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] Bytes blob(int column) const;
  // A blob column that may be NULL.
  [[nodiscard]] std::optional<Bytes> optional_blob(int column) const;

 private:
  friend class Database;
  // Gives up ownership of the statement (for the cache to keep it).
  sqlite3_stmt* release() noexcept;
  struct Finalize {
    bool* lent = nullptr;  // set for a cached statement: reset it and give it back
    void operator()(sqlite3_stmt* s) const noexcept;
  };
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
};

// Immutable: read-only, and SQLite neither locks the file nor creates -wal or -shm files beside it;
// only for a file no other connection has open (no -wal or -shm is there).
enum class OpenMode { ReadWrite, ReadWriteCreate, ReadOnly, Immutable };

class Database {
 public:
  // Opens `path`. Throws Error(Storage) when it cannot be opened.
  [[nodiscard]] static Database open(const std::filesystem::path& path, OpenMode mode);

  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;

  void exec(std::string_view sql);
  [[nodiscard]] Statement prepare(std::string_view sql);
  // The same as prepare(), for statements run over and over (the issuance path): the first call
  // prepares `sql` and keeps it on this connection; later calls lend the kept statement, reset
  // and with no bindings. Preparing costs more than running most of these. A statement already
  // lent (the same SQL in a nested use) is prepared afresh. Only for a fixed set of SQL texts:
  // the cache keeps every text it is given until the connection closes.
  [[nodiscard]] Statement cached(std::string_view sql);
  // Runs `sql` (one statement, no rows) through the cache: BEGIN, SAVEPOINT, COMMIT.
  void exec_cached(std::string_view sql);
  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;
  [[nodiscard]] sqlite3* handle() const noexcept { return db_.get(); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  // Closes the connection now (the destructor would otherwise). The object is unusable after.
  void close() noexcept {
    cache_.reset();
    db_.reset();
  }

  // PRAGMA user_version.
  [[nodiscard]] int user_version();
  // Runs PRAGMA quick_check; returns "" when the database is sound, else SQLite's findings.
  [[nodiscard]] std::string quick_check();

 private:
  struct Close {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  struct StatementCache;
  struct DeleteCache {
    void operator()(StatementCache* c) const noexcept;
  };
  Database(std::unique_ptr<sqlite3, Close> db, std::filesystem::path path);
  std::unique_ptr<sqlite3, Close> db_;
  std::filesystem::path path_;
  // After db_, so that the kept statements are finalized before the connection closes.
  std::unique_ptr<StatementCache, DeleteCache> cache_;
};

// Copies every page of `source` into `target` with SQLite's online backup API in one step (one
// read transaction: a consistent snapshot, a WAL included, while others write), then leaves
// `target` in rollback-journal mode: one self-contained file. `source` must not be in a write
// transaction (SQLite refuses). Throws what throw_sqlite() throws, naming `what`.
void copy_into(Database& source, Database& target, std::string_view what);

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace signet::db
