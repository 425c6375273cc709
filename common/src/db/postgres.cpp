#include "signet/db/postgres.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <random>
#include <thread>

#include "signet/core/error.h"

namespace signet::db::pg {

namespace {

constexpr int kMaxSerializationRetries = 5;
constexpr std::chrono::seconds kLeaseWait{30};
constexpr std::chrono::milliseconds kFailFast{1000};

struct ConninfoFree {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};
using ConninfoPtr = std::unique_ptr<PQconninfoOption, ConninfoFree>;

std::string trim_message(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (char& c : message) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return message;
}

ConninfoPtr parse_conninfo(std::string_view url, std::string& error) {
  char* err = nullptr;
  ConninfoPtr options{PQconninfoParse(std::string(url).c_str(), &err)};
  if (err != nullptr) {
    error = trim_message(err);
    PQfreemem(err);
  }
  return options;
}

std::string option_value(const PQconninfoOption* options, std::string_view keyword) {
  for (const PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (keyword == o->keyword && o->val != nullptr) return o->val;
  }
  return {};
}

[[noreturn]] void throw_result_error(const PGresult* result, std::string_view /*sql*/, const std::string& where) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state != nullptr ? state : "";
  const std::string message = trim_message(PQresultErrorMessage(result));
  const std::string what = message + " (SQLSTATE " + (sqlstate.empty() ? "none" : sqlstate) + ", " + where + ")";
  if (sqlstate == "23505") throw Error(ErrorKind::Conflict, "unique-violation", what);
  if (sqlstate.starts_with("23")) throw Error(ErrorKind::Conflict, "constraint-violation", what);
  if (sqlstate == "40001" || sqlstate == "40P01") throw Error(ErrorKind::Storage, "database-retry", what);
  if (sqlstate == "57014" || sqlstate == "55P03") throw Error(ErrorKind::Storage, "database-timeout", what);
  if (sqlstate.starts_with("42")) {
    // A table or column the ledger's schema has is missing or different: edited by hand, not an
    // outage that goes away by itself.
    throw Error(ErrorKind::Integrity, "database-schema-damaged",
                what + "; the ledger's tables in this database were changed by hand: restore the database from a "
                       "backup");
  }
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57P") || sqlstate.empty()) {
    throw Error(ErrorKind::Storage, "database-unavailable", what);
  }
  throw Error(ErrorKind::Storage, "database-error", what);
}

bool retryable(const Error& e) { return e.kind() == ErrorKind::Storage && e.code() == "database-retry"; }

}  // namespace

void check_url(std::string_view url) {
  const auto invalid = [&](const std::string& why) {
    throw Error(ErrorKind::Malformed, "database-url-invalid",
                "the database URL " + describe(url) + " " + why +
                    "; write it as postgresql://USER@HOST:PORT/DATABASE?sslmode=verify-full");
  };
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    throw Error(ErrorKind::Malformed, "database-url-invalid",
                "the database URL must start with postgresql:// (libpq's URI form), e.g. "
                "postgresql://signet@db.example.net:5432/signet?sslmode=verify-full");
  }
  std::string error;
  const ConninfoPtr options = parse_conninfo(url, error);
  if (!options) invalid("does not parse (" + error + ")");
  if (!option_value(options.get(), "password").empty()) {
    invalid("carries a password: remove it from the URL and put it in [database] password_file, or the "
            "systemd credential database-password");
  }
  if (option_value(options.get(), "dbname").empty()) invalid("names no database");
  // libpq checks a port only when it connects; a typo should not wait until then. (Several hosts
  // for failover have a port each, separated by commas.)
  const std::string ports = option_value(options.get(), "port");
  std::size_t from = 0;
  while (!ports.empty() && from <= ports.size()) {
    const std::size_t comma = std::min(ports.find(',', from), ports.size());
    const std::string_view port = std::string_view(ports).substr(from, comma - from);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      invalid("has the port \"" + std::string(port) + "\" (1 to 65535)");
    }
    from = comma + 1;
  }
}

std::string describe(std::string_view url) {
  std::string error;
  const ConninfoPtr options = parse_conninfo(url, error);
  if (!options) return "(an unparsable URL)";
  std::string host = option_value(options.get(), "host");
  if (host.empty()) host = option_value(options.get(), "hostaddr");
  if (host.empty()) host = "localhost";
  std::string out = option_value(options.get(), "user");
  if (!out.empty()) out += "@";
  out += host;
  if (const std::string port = option_value(options.get(), "port"); !port.empty()) out += ":" + port;
  out += "/" + option_value(options.get(), "dbname");
  return out;
}

Param bytea(ByteView data) { return "\\x" + to_hex(data); }

// ---- Result

Result::Result(pg_result* result) : result_(result) {}

void Result::Clear::operator()(pg_result* r) const noexcept { PQclear(r); }

int Result::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

bool Result::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

std::string Result::text(int row, int column) const {
  const char* v = PQgetvalue(result_.get(), row, column);
  return std::string(v, static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t Result::int64(int row, int column) const {
  const std::string v = text(row, column);
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) {
    throw Error(ErrorKind::Integrity, "database-value-invalid", "the database returned \"" + v + "\" for a number");
  }
  return out;
}

bool Result::boolean(int row, int column) const { return text(row, column) == "t"; }

Bytes Result::bytes(int row, int column) const {
  const std::string v = text(row, column);
  if (!v.starts_with("\\x")) {
    throw Error(ErrorKind::Integrity, "database-value-invalid", "the database returned a bytea value not in hex form");
  }
  std::optional<Bytes> out = from_hex(std::string_view(v).substr(2));
  if (!out) throw Error(ErrorKind::Integrity, "database-value-invalid", "the database returned a bytea value that is not hex");
  return std::move(*out);
}

std::int64_t Result::affected() const {
  const std::string n = PQcmdTuples(result_.get());
  if (n.empty()) return 0;
  return std::stoll(n);
}

// ---- Connection

void Connection::Finish::operator()(pg_conn* c) const noexcept { PQfinish(c); }

Connection::Connection(pg_conn* conn, std::string description, std::chrono::milliseconds answer_timeout)
    : conn_(conn), description_(std::move(description)), answer_timeout_(answer_timeout) {}

Connection Connection::open(const Settings& settings) {
  check_url(settings.url);
  const std::string timeout = std::to_string(settings.connect_timeout.count());
  // expand_dbname: the first "dbname" value is the URL; keywords after it override what it says.
  // TCP keepalives first, so that the URL may say otherwise: a server whose host or network went
  // away is noticed within about a minute, even on an idle pooled connection.
  std::vector<const char*> keys{"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                                "dbname", "connect_timeout", "application_name", "client_encoding"};
  std::vector<const char*> values{"1", "30", "10", "3", settings.url.c_str(), timeout.c_str(), "signet", "UTF8"};
  // A copy that ends in NUL for libpq, wiped like the original.
  SecretBytes password(settings.password.size() + 1);
  std::copy(settings.password.view().begin(), settings.password.view().end(), password.data());
  password.data()[settings.password.size()] = 0;
  if (settings.password.size() > 0) {
    keys.push_back("password");
    values.push_back(reinterpret_cast<const char*>(password.data()));
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* raw = PQconnectdbParams(keys.data(), values.data(), 1);
  Connection c(raw, describe(settings.url), settings.statement_timeout + std::chrono::seconds(5));
  if (raw == nullptr) throw Error(ErrorKind::Storage, "database-unavailable", "out of memory connecting to PostgreSQL");
  // The server's notices and warnings are not for the operator's terminal (libpq prints them on
  // stderr by default); what matters arrives as errors.
  PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
  if (PQstatus(raw) != CONNECTION_OK) {
    const std::string message = trim_message(PQerrorMessage(raw));
    const bool login = message.find("password authentication failed") != std::string::npos ||
                       message.find("no password supplied") != std::string::npos ||
                       message.find("authentication failed") != std::string::npos ||
                       message.find("no pg_hba.conf entry") != std::string::npos;
    throw Error(ErrorKind::Storage, login ? "database-login-failed" : "database-unavailable",
                "cannot connect to PostgreSQL at " + c.description_ + ": " + message +
                    (login ? " (check the user in [database] url and the password in [database] password_file)"
                           : ""));
  }
  c.exec("SELECT set_config('synchronous_commit', 'on', false), set_config('TimeZone', 'UTC', false), "
         "set_config('bytea_output', 'hex', false), set_config('client_min_messages', 'warning', false), "
         "set_config('statement_timeout', $1, false), "
         "set_config('idle_in_transaction_session_timeout', $2, false)",
         {std::to_string(settings.statement_timeout.count()),
          std::to_string(std::max<std::int64_t>(60000, 6 * settings.statement_timeout.count()))});
  return c;
}

Result Connection::exec(std::string_view sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  const bool sent = conn_ && PQsendQueryParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr,
                                               values.data(), nullptr, nullptr, 0) == 1;
  return collect(sql, sent);
}

void Connection::exec_script(std::string_view sql) {
  const std::string text(sql);
  (void)collect(sql, conn_ && PQsendQuery(conn_.get(), text.c_str()) == 1);
}

Result Connection::collect(std::string_view sql, bool sent) {
  const auto lost = [&] {
    const std::string why = conn_ ? trim_message(PQerrorMessage(conn_.get())) : "the connection was closed";
    return Error(ErrorKind::Storage, "database-unavailable", "lost the connection to PostgreSQL at " + description_ + ": " + why);
  };
  if (!sent) throw lost();
  const auto deadline = std::chrono::steady_clock::now() + answer_timeout_;
  Result first_error;
  Result last;
  bool failed = false;
  while (true) {
    while (PQisBusy(conn_.get()) == 1) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        // The answer may still come: the connection cannot be used for anything else.
        conn_.reset();
        throw Error(ErrorKind::Storage, "database-timeout",
                    "PostgreSQL at " + description_ + " gave no answer in " +
                        std::to_string(answer_timeout_.count() / 1000) +
                        " s (statement_timeout and 5 s more); the connection was closed. Is the server stopped or "
                        "overloaded?");
      }
      pollfd p{PQsocket(conn_.get()), POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
      if (ready < 0 && errno != EINTR) throw lost();
      if (ready > 0 && PQconsumeInput(conn_.get()) == 0) throw lost();
    }
    pg_result* raw = PQgetResult(conn_.get());
    if (raw == nullptr) break;
    const ExecStatusType status = PQresultStatus(raw);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      if (failed) {
        PQclear(raw);
      } else {
        first_error = Result(raw);
        failed = true;
      }
    } else {
      last = Result(raw);
    }
  }
  if (failed) throw_result_error(first_error.raw(), sql, "PostgreSQL at " + description_);
  if (PQstatus(conn_.get()) != CONNECTION_OK) throw lost();
  return last;
}

bool Connection::healthy() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

int Connection::server_version() const { return PQserverVersion(conn_.get()); }

// ---- Pool

// A connection taken from the pool; given back when the lease ends, unless it broke.
class Pool::Lease {
 public:
  explicit Lease(Pool& pool) : pool_(pool) {
    std::unique_lock lock(pool_.mutex_);
    if (!pool_.available_.wait_for(lock, kLeaseWait, [&] {
          return !pool_.idle_.empty() || pool_.open_ < pool_.settings_.pool_size;
        })) {
      throw Error(ErrorKind::Storage, "database-unavailable",
                  "all " + std::to_string(pool_.settings_.pool_size) + " connections to PostgreSQL at " +
                      pool_.description_ + " stayed busy for " + std::to_string(kLeaseWait.count()) +
                      " s; raise [database] pool_size or look for slow statements");
    }
    if (!pool_.idle_.empty()) {
      conn_.emplace(std::move(pool_.idle_.back()));
      pool_.idle_.pop_back();
      return;
    }
    // Right after a failed attempt, callers fail at once instead of each waiting up to
    // connect_timeout on a server that is away (a request thread must not hang on it).
    const auto now = std::chrono::steady_clock::now();
    if (pool_.last_failure_ && now - pool_.last_failure_->at < kFailFast) throw pool_.last_failure_->error;
    ++pool_.open_;  // reserved while connecting, outside the lock
    lock.unlock();
    try {
      conn_.emplace(Connection::open(pool_.settings_));
    } catch (const Error& e) {
      lock.lock();
      --pool_.open_;
      pool_.last_failure_ = Failure{std::chrono::steady_clock::now(), e};
      pool_.available_.notify_one();
      throw;
    } catch (...) {
      lock.lock();
      --pool_.open_;
      pool_.available_.notify_one();
      throw;
    }
    lock.lock();
    pool_.last_failure_.reset();
    ++pool_.stats_.connects;
  }
  ~Lease() {
    std::lock_guard lock(pool_.mutex_);
    if (conn_ && conn_->healthy()) {
      pool_.idle_.push_back(std::move(*conn_));
    } else {
      --pool_.open_;
    }
    pool_.available_.notify_one();
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Connection& operator*() { return *conn_; }
  // Drops the connection when the lease ends (its transaction state is unknown).
  void discard() { conn_.reset(); }

 private:
  Pool& pool_;
  std::optional<Connection> conn_;
};

Pool::Pool(Settings settings) : settings_(std::move(settings)) {
  check_url(settings_.url);
  if (settings_.pool_size == 0) settings_.pool_size = 1;
  description_ = describe(settings_.url);
}

Pool::~Pool() = default;

void Pool::with_connection(const std::function<void(Connection&)>& work) {
  for (int attempt = 0;; ++attempt) {
    Lease lease(*this);
    try {
      work(*lease);
      return;
    } catch (const Error&) {
      if ((*lease).healthy()) throw;
      lease.discard();
      // An idle connection that the server closed (it restarted): once more on a new one.
      if (attempt > 0) throw;
    }
  }
}

void Pool::transaction(const std::function<void(Connection&)>& work) {
  thread_local std::minstd_rand jitter{std::random_device{}()};
  bool reconnected = false;
  for (int attempt = 0;; ++attempt) {
    Lease lease(*this);
    Connection& c = *lease;
    bool committing = false;
    try {
      c.exec("BEGIN");
      work(c);
      committing = true;
      c.exec("COMMIT");
      std::lock_guard lock(mutex_);
      ++stats_.commits;
      return;
    } catch (const Error& e) {
      const bool lost = !c.healthy();
      if (lost) {
        lease.discard();
      } else {
        try {
          c.exec("ROLLBACK");
        } catch (const Error&) {
          lease.discard();
        }
      }
      {
        std::lock_guard lock(mutex_);
        ++stats_.rollbacks;
      }
      // A connection lost before COMMIT was sent committed nothing: once more on a new one. One lost
      // during COMMIT may have committed, so it is not retried.
      const bool again = (retryable(e) && attempt < kMaxSerializationRetries) || (lost && !committing && !reconnected);
      if (!again) throw;
      reconnected = reconnected || lost;
      {
        std::lock_guard lock(mutex_);
        ++stats_.retries;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + jitter() % (10 << attempt)));
    }
  }
}

Pool::Stats Pool::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace signet::db::pg
