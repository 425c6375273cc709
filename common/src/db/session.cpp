#include "signet/db/session.h"

#include <optional>
#include <vector>

#include "signet/db/postgres.h"
#include "signet/db/sqlite.h"

namespace signet::db {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

class SqliteRows final : public Rows {
 public:
  explicit SqliteRows(Statement statement) : s_(std::move(statement)) {}
  bool step() override { return s_.step(); }
  [[nodiscard]] bool is_null(int column) const override { return s_.is_null(column); }
  [[nodiscard]] std::string text(int column) const override { return s_.text(column); }
  [[nodiscard]] std::int64_t int64(int column) const override { return s_.int64(column); }
  [[nodiscard]] Bytes blob(int column) const override { return s_.blob(column); }

 private:
  Statement s_;
};

class SqliteSession final : public Session {
 public:
  explicit SqliteSession(Database& db) : db_(db) {}

  std::unique_ptr<Rows> query(std::string_view sql, std::initializer_list<Value> values) override {
    return std::make_unique<SqliteRows>(bound(sql, values));
  }
  std::int64_t exec(std::string_view sql, std::initializer_list<Value> values) override {
    bound(sql, values).run();
    return db_.changes();
  }
  [[nodiscard]] std::string_view insertion_order() const override { return "rowid"; }

 private:
  Statement bound(std::string_view sql, std::initializer_list<Value> values) {
    Statement s = db_.cached(sql);
    int index = 1;
    for (const Value& v : values) {
      std::visit(Overloaded{[&](std::nullptr_t) { s.bind_null(index); }, [&](std::int64_t i) { s.bind(index, i); },
                            [&](std::string_view t) { s.bind(index, t); }, [&](ByteView b) { s.bind(index, b); }},
                 v);
      ++index;
    }
    return s;
  }
  Database& db_;
};

class PostgresRows final : public Rows {
 public:
  explicit PostgresRows(pg::Result result) : r_(std::move(result)) {}
  bool step() override { return ++row_ < r_.rows(); }
  [[nodiscard]] bool is_null(int column) const override { return r_.is_null(row_, column); }
  [[nodiscard]] std::string text(int column) const override { return r_.text(row_, column); }
  [[nodiscard]] std::int64_t int64(int column) const override { return r_.int64(row_, column); }
  [[nodiscard]] Bytes blob(int column) const override { return r_.bytes(row_, column); }

 private:
  pg::Result r_;
  int row_ = -1;
};

class PostgresSession final : public Session {
 public:
  explicit PostgresSession(pg::Connection& c) : c_(c) {}

  std::unique_ptr<Rows> query(std::string_view sql, std::initializer_list<Value> values) override {
    return std::make_unique<PostgresRows>(run(sql, values));
  }
  std::int64_t exec(std::string_view sql, std::initializer_list<Value> values) override {
    return run(sql, values).affected();
  }
  [[nodiscard]] std::string_view insertion_order() const override { return "seq"; }

 private:
  pg::Result run(std::string_view sql, std::initializer_list<Value> values) {
    // "?" becomes "$1", "$2", ...: the statements this session runs carry no "?" in a literal.
    std::string numbered;
    numbered.reserve(sql.size() + 2 * values.size());
    int index = 0;
    for (const char c : sql) {
      if (c == '?') {
        numbered += '$' + std::to_string(++index);
      } else {
        numbered += c;
      }
    }
    std::vector<pg::Param> params;
    params.reserve(values.size());
    for (const Value& v : values) {
      params.push_back(std::visit(Overloaded{[](std::nullptr_t) -> pg::Param { return std::nullopt; },
                                             [](std::int64_t i) -> pg::Param { return std::to_string(i); },
                                             [](std::string_view t) -> pg::Param { return std::string(t); },
                                             [](ByteView b) { return pg::bytea(b); }},
                                  v));
    }
    return c_.exec(numbered, params);
  }
  pg::Connection& c_;
};

}  // namespace

std::unique_ptr<Session> sqlite_session(Database& db) { return std::make_unique<SqliteSession>(db); }

std::unique_ptr<Session> postgres_session(pg::Connection& connection) {
  return std::make_unique<PostgresSession>(connection);
}

}  // namespace signet::db
