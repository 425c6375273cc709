// Session: one SQL dialect-neutral view of a transaction (or a read), for the code that keeps the
// same tables on both ledger backends, the store's SQLite file and a shared PostgreSQL database
// (the ACME store). Statements are written once, with "?" placeholders; the PostgreSQL session
// numbers them ($1, $2, ...). Write SQL both understand: no rowid (insertion_order() names the
// column that orders a table's rows as they were inserted), no dialect-only functions.
//
// Values are bound as the statement runs: the views and strings passed need only live as long as
// the call. A Session belongs to the thread that got it, for the length of its transaction.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "signet/core/bytes.h"

namespace signet::db {

class Database;
namespace pg {
class Connection;
}

// A bound value: NULL, an integer, text, or bytes (BLOB, bytea).
using Value = std::variant<std::nullptr_t, std::int64_t, std::string_view, ByteView>;

// The rows of one statement, read forward: step() to the next row, false after the last.
class Rows {
 public:
  virtual ~Rows() = default;
  virtual bool step() = 0;
  [[nodiscard]] virtual bool is_null(int column) const = 0;
  [[nodiscard]] virtual std::string text(int column) const = 0;
  [[nodiscard]] virtual std::int64_t int64(int column) const = 0;
  [[nodiscard]] virtual Bytes blob(int column) const = 0;
};

class Session {
 public:
  virtual ~Session() = default;
  // Runs a statement that returns rows.
  [[nodiscard]] virtual std::unique_ptr<Rows> query(std::string_view sql, std::initializer_list<Value> values = {}) = 0;
  // Runs an INSERT, UPDATE or DELETE; returns the rows it touched.
  virtual std::int64_t exec(std::string_view sql, std::initializer_list<Value> values = {}) = 0;
  // The column that orders a table's rows as they were inserted, for tables that have one in
  // both schemas ("rowid" in SQLite).
  [[nodiscard]] virtual std::string_view insertion_order() const = 0;
};

// A session over a SQLite connection (in the transaction its caller runs).
[[nodiscard]] std::unique_ptr<Session> sqlite_session(Database& db);
// A session over a PostgreSQL connection (in the transaction its caller runs); insertion_order()
// is "seq", an identity column.
[[nodiscard]] std::unique_ptr<Session> postgres_session(pg::Connection& connection);

}  // namespace signet::db
