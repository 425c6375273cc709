#include "signet/db/sqlite.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

#include "signet/core/error.h"

namespace signet::db {

void throw_sqlite(sqlite3* db, int rc, std::string_view what) {
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  ErrorKind kind = ErrorKind::Storage;
  std::string code = "storage-error";
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      kind = ErrorKind::Integrity;
      code = "store-corrupt";
      message += " (the database file is damaged; restore it from a backup)";
      break;
    case SQLITE_FULL:
      code = "disk-full";
      message += " (the disk is full; free space and retry: nothing was changed)";
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      code = "store-not-writable";
      message += " (check that the data directory exists, is writable and is not on a read-only "
                 "file system)";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = "store-busy";
      message += " (another process holds a lock on the store; retry)";
      break;
    case SQLITE_CONSTRAINT:
      kind = ErrorKind::Conflict;
      code = "constraint-violated";
      break;
    case SQLITE_IOERR:
      code = "io-error";
      // A full disk often surfaces as an I/O error (growing the WAL index, -shm, fails with
      // ENOSPC): name the real cause.
      if (const int err = db != nullptr ? sqlite3_system_errno(db) : 0; err == ENOSPC || err == EDQUOT) {
        code = "disk-full";
        message += " (" + std::string(std::strerror(err)) +
                   ": the disk is full; free space and retry: nothing was changed)";
      }
      break;
    default:
      break;
  }
  throw Error(kind, std::move(code), message, extended);
}

bool has_whole_pages(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size < 100) return false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  unsigned char header[18] = {};
  const std::size_t got = std::fread(header, 1, sizeof header, f);
  std::fclose(f);
  if (got != sizeof header) return false;
  std::uint32_t page = (static_cast<std::uint32_t>(header[16]) << 8) | header[17];
  if (page == 1) page = 65536;  // the header's encoding of 64 KiB pages
  return page >= 512 && (page & (page - 1)) == 0 && size % page == 0;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (const int rc = sqlite3_bind_int64(stmt_.get(), index, value); rc != SQLITE_OK) {
    throw_sqlite(db_, rc, "binding a parameter");
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  if (const int rc = sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(),
                                         SQLITE_TRANSIENT, SQLITE_UTF8);
      rc != SQLITE_OK) {
    throw_sqlite(db_, rc, "binding a parameter");
  }
  return *this;
}

Statement& Statement::bind(int index, ByteView blob) {
  // A zero-length blob must stay a blob, not become NULL: pass a non-null pointer.
  static const std::uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  if (const int rc = sqlite3_bind_blob64(stmt_.get(), index, data, blob.size(), SQLITE_TRANSIENT);
      rc != SQLITE_OK) {
    throw_sqlite(db_, rc, "binding a parameter");
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (const int rc = sqlite3_bind_null(stmt_.get(), index); rc != SQLITE_OK) {
    throw_sqlite(db_, rc, "binding a parameter");
  }
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite(db_, rc, "executing a statement");
}

void Statement::run() {
  while (step()) {
  }
}

sqlite3_stmt* Statement::release() noexcept { return stmt_.release(); }

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_.get(), column); }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_.get(), column);
  const int n = sqlite3_column_bytes(stmt_.get(), column);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
                      : std::string();
}

Bytes Statement::blob(int column) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), column));
  const int n = sqlite3_column_bytes(stmt_.get(), column);
  return p != nullptr ? Bytes(p, p + n) : Bytes();
}

std::optional<Bytes> Statement::optional_blob(int column) const {
  if (is_null(column)) return std::nullopt;
  return blob(column);
}

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt, Finalize{}) {}

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, bool* lent) : db_(db), stmt_(stmt, Finalize{lent}) {}

void Statement::Finalize::operator()(sqlite3_stmt* s) const noexcept {
  if (lent == nullptr) {
    sqlite3_finalize(s);
    return;
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  *lent = false;
}

struct Database::StatementCache {
  struct Entry {
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt{nullptr, &sqlite3_finalize};
    bool lent = false;
  };
  // Node-based: an entry's address (and so its `lent` flag) is stable.
  std::unordered_map<std::string, Entry> entries;
};

void Database::DeleteCache::operator()(StatementCache* c) const noexcept { delete c; }

Database::Database(std::unique_ptr<sqlite3, Close> db, std::filesystem::path path)
    : db_(std::move(db)), path_(std::move(path)), cache_(new StatementCache) {}

Database Database::open(const std::filesystem::path& path, OpenMode mode) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  switch (mode) {
    case OpenMode::ReadWrite: flags |= SQLITE_OPEN_READWRITE; break;
    case OpenMode::ReadWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    case OpenMode::ReadOnly: flags |= SQLITE_OPEN_READONLY; break;
    case OpenMode::Immutable: flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI; break;
  }
  std::string name = path.string();
  if (mode == OpenMode::Immutable) {
    // file:PATH?immutable=1, with the characters a URI gives meaning to escaped.
    std::string uri = "file:";
    for (const char c : name) {
      if (c == '%' || c == '?' || c == '#') {
        static constexpr char kHex[] = "0123456789ABCDEF";
        const auto u = static_cast<unsigned char>(c);
        uri += '%';
        uri += kHex[u >> 4];
        uri += kHex[u & 15];
      } else {
        uri += c;
      }
    }
    name = uri + "?immutable=1";
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
  std::unique_ptr<sqlite3, Close> db(raw);
  if (rc != SQLITE_OK) throw_sqlite(raw, rc, "opening " + path.string());
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  return Database(std::move(db), path);
}

void Database::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string s(sql);
  const int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) throw_sqlite(db_.get(), rc, "executing SQL on " + path_.string());
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Error(ErrorKind::Internal, "sql-too-long", "SQL statement too long");
  }
  const int rc =
      sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_.get(), rc, "reading " + path_.string());
  return Statement(db_.get(), stmt);
}

Statement Database::cached(std::string_view sql) {
  const auto it = cache_->entries.try_emplace(std::string(sql)).first;
  StatementCache::Entry& entry = it->second;
  if (entry.lent) return prepare(sql);
  if (!entry.stmt) {
    Statement fresh = prepare(sql);
    entry.stmt.reset(fresh.release());
  }
  entry.lent = true;
  return Statement(db_.get(), entry.stmt.get(), &entry.lent);
}

void Database::exec_cached(std::string_view sql) { cached(sql).run(); }

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }

int Database::changes() const { return sqlite3_changes(db_.get()); }

int Database::user_version() {
  Statement s = prepare("PRAGMA user_version");
  return s.step() ? static_cast<int>(s.int64(0)) : 0;
}

void copy_into(Database& source, Database& target, std::string_view what) {
  sqlite3_backup* b = sqlite3_backup_init(target.handle(), "main", source.handle(), "main");
  if (b == nullptr) throw_sqlite(target.handle(), sqlite3_errcode(target.handle()), what);
  int rc = sqlite3_backup_step(b, -1);
  const int finish_rc = sqlite3_backup_finish(b);
  if (rc == SQLITE_DONE) rc = finish_rc;
  if (rc != SQLITE_OK) throw_sqlite(target.handle(), rc, what);
  target.exec("PRAGMA journal_mode = DELETE");
}

std::string Database::quick_check() {
  Statement s = prepare("PRAGMA quick_check");
  std::string findings;
  while (s.step()) {
    const std::string line = s.text(0);
    if (line == "ok") continue;
    if (!findings.empty()) findings += "; ";
    findings += line;
  }
  return findings;
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace signet::db
