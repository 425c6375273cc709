// Thin RAII layer over libpq: settings, a connection, results, and a bounded pool that runs
// transactions with retries. Used by the PostgreSQL ledger (signet/issuance/ledger.h), which lets
// several signetd nodes share one database.
//
// Every statement is sent with PQexecParams: parameters travel apart from the SQL text (no
// quoting, no injection), as text; bytea values are sent and read in hex form ("\x0a1b...").
// Each connection is set up for what the ledger promises: synchronous_commit = on (a commit is
// on the server's disk, and on a synchronous standby's where one is configured, before COMMIT
// returns), the configured statement_timeout, UTC, and bytea_output = hex.
//
// Errors become signet::Error:
//  - Storage "database-unavailable": no connection (refused, timed out, the server went away), or
//    the server is shutting down; a caller may try again later (signetd answers 503);
//  - Storage "database-login-failed": the server refused the user or password;
//  - Storage "database-timeout": statement_timeout or a lock timeout ended the statement;
//  - Storage "database-retry": a serialization failure or deadlock that Pool::transaction
//    retried until it gave up;
//  - Conflict "unique-violation" / "constraint-violation": SQLSTATE class 23;
//  - Storage "database-error": anything else, with the server's message and SQLSTATE.
// native_code() is 0; the SQLSTATE is in the message.
//
// Thread-safety: a Connection belongs to one thread at a time; Pool's methods may be called from
// any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/core/error.h"

struct pg_conn;
struct pg_result;

namespace signet::db::pg {

struct Settings {
  Settings() = default;
  Settings(const Settings& other) : url(other.url), password(other.password.clone()), pool_size(other.pool_size),
      statement_timeout(other.statement_timeout), connect_timeout(other.connect_timeout) {}
  Settings& operator=(const Settings& other) {
    if (this != &other) *this = Settings(other);
    return *this;
  }
  Settings(Settings&&) noexcept = default;
  Settings& operator=(Settings&&) noexcept = default;

  // "postgresql://USER@HOST:PORT/DBNAME?sslmode=verify-full&sslrootcert=..." (libpq's URI form);
  // it must not carry a password (check_url).
  std::string url;
  // The password, read from [database] password_file or the systemd credential; empty: none
  // (peer, certificate or trust authentication, or ~/.pgpass). Wiped when the settings go.
  SecretBytes password;
  unsigned pool_size = 4;                              // connections at most, per process
  std::chrono::milliseconds statement_timeout{10000};  // per statement, on the server
  std::chrono::seconds connect_timeout{5};
};

// Checks the form of a database URL: libpq must parse it, the scheme must be postgresql:// or
// postgres://, and it must carry no password (put that in a file instead: URLs are logged, shown
// and passed around). Error(Malformed, "database-url-invalid") names what is wrong.
void check_url(std::string_view url);

// The URL's user, host, port and database, for messages and logs ("signet@127.0.0.1:5432/signet").
[[nodiscard]] std::string describe(std::string_view url);

// A parameter: text, or NULL.
using Param = std::optional<std::string>;
// A bytea parameter in hex form.
[[nodiscard]] Param bytea(ByteView data);

class Result {
 public:
  Result() = default;
  explicit Result(pg_result* result);
  Result(Result&&) noexcept = default;
  Result& operator=(Result&&) noexcept = default;

  [[nodiscard]] int rows() const;
  [[nodiscard]] bool is_null(int row, int column) const;
  [[nodiscard]] std::string text(int row, int column) const;
  [[nodiscard]] std::int64_t int64(int row, int column) const;
  [[nodiscard]] bool boolean(int row, int column) const;
  // A bytea column in hex form; Error(Integrity) when it is not.
  [[nodiscard]] Bytes bytes(int row, int column) const;
  // The number of rows an INSERT, UPDATE or DELETE touched.
  [[nodiscard]] std::int64_t affected() const;

 private:
  friend class Connection;
  [[nodiscard]] pg_result* raw() const { return result_.get(); }
  struct Clear {
    void operator()(pg_result* r) const noexcept;
  };
  std::unique_ptr<pg_result, Clear> result_;
};

class Connection {
 public:
  // Connects and sets the session up. Throws Storage "database-unavailable" or
  // "database-login-failed" with the server's reason.
  [[nodiscard]] static Connection open(const Settings& settings);
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // Runs one statement ($1, $2, ... for the parameters). A server that gives no answer for
  // statement_timeout and 5 s more: Error(Storage, "database-timeout"), and the connection is
  // closed (healthy() is false; the pool drops it).
  Result exec(std::string_view sql, const std::vector<Param>& params = {});
  Result exec(std::string_view sql, std::initializer_list<Param> params) {
    return exec(sql, std::vector<Param>(params));
  }
  // Runs several statements separated by semicolons, without parameters (migrations).
  void exec_script(std::string_view sql);
  // False once the connection to the server is lost; such a connection is dropped by the pool.
  [[nodiscard]] bool healthy() const;
  // The server's version (150018 for 15.18).
  [[nodiscard]] int server_version() const;

 private:
  struct Finish {
    void operator()(pg_conn* c) const noexcept;
  };
  explicit Connection(pg_conn* conn, std::string description, std::chrono::milliseconds answer_timeout);
  // Sends with `send` and collects the results: the first error, else the last result.
  Result collect(std::string_view sql, bool sent);
  std::unique_ptr<pg_conn, Finish> conn_;
  std::string description_;
  // How long a statement may go unanswered before the connection is given up: statement_timeout
  // and 5 s more. The server ends a slow statement itself at statement_timeout; this is for a
  // server that does not answer at all (its process stopped, packets dropped).
  std::chrono::milliseconds answer_timeout_;
};

// Within a second of a failed connection attempt, a lease that would connect fails at once with the
// same error rather than wait up to connect_timeout again.
class Pool {
 public:
  explicit Pool(Settings settings);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs `work` in a transaction (READ COMMITTED) on a pooled connection and commits. A
  // serialization failure or deadlock is retried (up to 5 times, with a short random backoff); a
  // lost connection is retried once on a new one when nothing was committed. Any other error rolls
  // back and is rethrown.
  void transaction(const std::function<void(Connection&)>& work);
  // Runs `work` on a pooled connection outside a transaction (each statement commits alone); once
  // more on a new connection when the first one turns out lost. For reads and single statements.
  void with_connection(const std::function<void(Connection&)>& work);

  [[nodiscard]] const Settings& settings() const { return settings_; }
  [[nodiscard]] std::string description() const { return description_; }

  struct Stats {
    std::uint64_t commits = 0;
    std::uint64_t rollbacks = 0;
    std::uint64_t retries = 0;
    std::uint64_t connects = 0;
  };
  [[nodiscard]] Stats stats() const;

 private:
  class Lease;
  Settings settings_;
  std::string description_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<Connection> idle_;
  unsigned open_ = 0;  // idle and leased
  struct Failure {
    std::chrono::steady_clock::time_point at;
    Error error;
  };
  std::optional<Failure> last_failure_;  // the last connection attempt, when it failed
  Stats stats_;
};

}  // namespace signet::db::pg
