// A real PostgreSQL 15 server for tests: initdb and pg_ctl in a temporary directory, listening on
// 127.0.0.1 at a free port (and a Unix socket in the same directory), never the system's service.
// As root, the server runs as the unprivileged `postgres` user (initdb refuses root); otherwise
// as the current user.
//
// It accepts TLS (tls_certificate()) and plain connections.
//
// The cluster has a superuser "postgres" (password authentication over TCP, scram-sha-256) and a
// login role "signet" with the password password(); create_database() makes a database owned by
// it, the way an operator would prepare one for signetd.
//
// Thread-safety: one test thread at a time.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "signet/db/postgres.h"
#include "signet/issuance/ledger.h"

namespace signet::test {

class PostgresServer {
 public:
  // Creates the cluster and starts it. Fails the test (ADD_FAILURE, then throws) when PostgreSQL 15
  // is not installed: ./packaging/bootstrap.sh installs it.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // One server for the whole test program, started on first use.
  [[nodiscard]] static PostgresServer& shared();

  // A new, empty database owned by "signet"; returns its URL (no password in it).
  [[nodiscard]] std::string create_database(const std::string& name);
  [[nodiscard]] std::string url(const std::string& database) const;
  [[nodiscard]] const std::string& password() const { return password_; }
  // The "signet" role's password in a file (mode 0600), for [database] password_file.
  [[nodiscard]] std::filesystem::path password_file() const;
  [[nodiscard]] int port() const { return port_; }
  // The server's TLS certificate (self-signed, for IP 127.0.0.1): the sslrootcert of a client
  // that asks for sslmode=verify-full.
  [[nodiscard]] std::filesystem::path tls_certificate() const;
  // Runs SQL as the superuser in `database`; returns psql's unaligned output (-At).
  std::string psql(const std::string& database, const std::string& sql);

  // Stops the server (pg_ctl stop -m fast, or -m immediate), and starts it again on the same port.
  void stop(bool immediate = false);
  void start();
  [[nodiscard]] bool running() const { return running_; }
  // Stops every process of the server with SIGSTOP (a server that hangs: its connections stay
  // open, the kernel still takes their packets, nothing answers), or lets them go on (SIGCONT).
  void freeze();
  void thaw();

 private:
  std::filesystem::path dir_;  // owned by the server's user
  std::string bindir_;
  std::string run_as_;         // "postgres" when root, "" otherwise
  std::string password_ = "signet-test-password";
  int port_ = 0;
  bool running_ = false;
};

// A new empty database on the shared server, with a name no other test of this process used;
// returns its URL.
[[nodiscard]] std::string new_test_database();

// Settings for a Ledger on `url` of the shared server, as the "signet" role.
[[nodiscard]] db::pg::Settings test_database_settings(const std::string& url);

// The CA a test ledger database serves: the SHA-256 of `seed` stands for its key's.
[[nodiscard]] issuance::LedgerOwner test_ledger_owner(const std::string& seed, const std::string& node = "test node");

// True when SIGNET_TEST_LEDGER=postgresql: a suite that honours it runs its signetd on a PostgreSQL
// ledger (the CTest entries *_postgresql set it).
[[nodiscard]] bool test_ledger_on_postgres();

// The [database] section for a suite's signetd.toml: a new database `name` on the shared server
// when test_ledger_on_postgres(), else "" (the store's SQLite ledger).
[[nodiscard]] std::string test_ledger_config(const std::string& name);

}  // namespace signet::test
