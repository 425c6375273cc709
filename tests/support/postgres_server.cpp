#include "support/postgres_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <vector>
#include <fstream>
#include <stdexcept>

#include "signet/core/bytes.h"
#include "signet/crypto/primitives.h"
#include "support/process.h"

namespace signet::test {

namespace fs = std::filesystem;

namespace {

// A port nobody listens on now (the kernel's choice for an ephemeral bind).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string find_bindir() {
  for (const char* dir : {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"}) {
    if (fs::exists(fs::path(dir) / "pg_ctl")) return dir;
  }
  return {};
}

[[noreturn]] void fail(const std::string& what) {
  ADD_FAILURE() << what;
  throw std::runtime_error(what);
}

}  // namespace

PostgresServer::PostgresServer() {
  bindir_ = find_bindir();
  if (bindir_.empty()) {
    fail("PostgreSQL 15 is not installed (no /usr/lib/postgresql/15/bin/pg_ctl): run ./packaging/bootstrap.sh");
  }
  char pattern[] = "/tmp/signet-pg-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) fail("mkdtemp failed");
  dir_ = pattern;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) fail("running as root, and there is no postgres user to run the test server as");
    run_as_ = "postgres";
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) fail("chown of " + dir_.string() + " failed");
  }
  {
    std::ofstream(dir_ / "superuser-password") << password_ << "\n";
    std::ofstream(dir_ / "signet-password") << password_ << "\n";
    fs::permissions(dir_ / "superuser-password", fs::perms::owner_read | fs::perms::owner_write);
    fs::permissions(dir_ / "signet-password", fs::perms::owner_read | fs::perms::owner_write);
    if (!run_as_.empty()) {
      const passwd* pw = ::getpwnam(run_as_.c_str());
      (void)::chown((dir_ / "superuser-password").c_str(), pw->pw_uid, pw->pw_gid);
    }
  }
  std::vector<std::string> argv;
  if (!run_as_.empty()) argv = {"runuser", "-u", run_as_, "--"};
  argv.insert(argv.end(), {bindir_ + "/initdb", "-D", (dir_ / "data").string(), "-U", "postgres", "--pwfile",
                           (dir_ / "superuser-password").string(), "--auth-local=trust", "--auth-host=scram-sha-256",
                           "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"});
  const ProcessResult init = run_process(argv);
  if (init.exit_code != 0) fail("initdb failed: " + init.err + init.out);
  // TLS with a self-signed certificate for 127.0.0.1: clients may ask for sslmode=verify-full with
  // it as sslrootcert (tls_certificate()).
  const ProcessResult tls = run_process(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
       (dir_ / "tls.key").string(), "-out", tls_certificate().string(), "-subj", "/CN=signet test PostgreSQL",
       "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2"});
  if (tls.exit_code != 0) fail("making the server's TLS certificate failed: " + tls.err);
  fs::permissions(dir_ / "tls.key", fs::perms::owner_read | fs::perms::owner_write);
  if (!run_as_.empty()) {
    const passwd* pw = ::getpwnam(run_as_.c_str());
    (void)::chown((dir_ / "tls.key").c_str(), pw->pw_uid, pw->pw_gid);
    (void)::chown(tls_certificate().c_str(), pw->pw_uid, pw->pw_gid);
  }
  port_ = free_port();
  start();
  psql("postgres", "CREATE ROLE signet LOGIN PASSWORD '" + password_ + "'");
}

PostgresServer::~PostgresServer() {
  if (running_) stop(true);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

PostgresServer& PostgresServer::shared() {
  static PostgresServer server;
  return server;
}

void PostgresServer::start() {
  std::vector<std::string> argv;
  if (!run_as_.empty()) argv = {"runuser", "-u", run_as_, "--"};
  const std::string options = "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) +
                              " -c unix_socket_directories=" + dir_.string() +
                              " -c max_connections=200 -c fsync=on -c synchronous_commit=on -c ssl=on" +
                              " -c ssl_cert_file=" + tls_certificate().string() +
                              " -c ssl_key_file=" + (dir_ / "tls.key").string();
  argv.insert(argv.end(), {bindir_ + "/pg_ctl", "-D", (dir_ / "data").string(), "-l", (dir_ / "server.log").string(),
                           "-o", options, "-w", "-t", "60", "start"});
  const ProcessResult r = run_process(argv);
  if (r.exit_code != 0) {
    std::ifstream log(dir_ / "server.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    fail("pg_ctl start failed: " + r.err + r.out + "\n" + text);
  }
  running_ = true;
}

void PostgresServer::stop(bool immediate) {
  std::vector<std::string> argv;
  if (!run_as_.empty()) argv = {"runuser", "-u", run_as_, "--"};
  argv.insert(argv.end(), {bindir_ + "/pg_ctl", "-D", (dir_ / "data").string(), "-m", immediate ? "immediate" : "fast",
                           "-w", "stop"});
  (void)run_process(argv);
  running_ = false;
}

std::string PostgresServer::psql(const std::string& database, const std::string& sql) {
  const ProcessResult r =
      run_process({bindir_ + "/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", dir_.string(), "-p",
                   std::to_string(port_), "-U", "postgres", "-d", database, "-c", sql});
  if (r.exit_code != 0) fail("psql failed on \"" + sql + "\": " + r.err);
  return r.out;
}

namespace {

// The postmaster and its children.
std::vector<pid_t> server_processes(const fs::path& data) {
  std::ifstream pidfile(data / "postmaster.pid");
  std::string first;
  std::getline(pidfile, first);
  std::vector<pid_t> out;
  if (first.empty()) return out;
  out.push_back(static_cast<pid_t>(std::stol(first)));
  const ProcessResult children = run_process({"pgrep", "-P", first});
  std::istringstream lines(children.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.push_back(static_cast<pid_t>(std::stol(line)));
  }
  return out;
}

}  // namespace

void PostgresServer::freeze() {
  for (const pid_t pid : server_processes(dir_ / "data")) EXPECT_EQ(::kill(pid, SIGSTOP), 0) << pid;
}

void PostgresServer::thaw() {
  for (const pid_t pid : server_processes(dir_ / "data")) EXPECT_EQ(::kill(pid, SIGCONT), 0) << pid;
}

std::string PostgresServer::create_database(const std::string& name) {
  psql("postgres", "CREATE DATABASE \"" + name + "\" OWNER signet");
  return url(name);
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql://signet@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

fs::path PostgresServer::password_file() const { return dir_ / "signet-password"; }

fs::path PostgresServer::tls_certificate() const { return dir_ / "tls.crt"; }

std::string new_test_database() {
  static std::atomic<int> counter{0};
  return PostgresServer::shared().create_database("ledger_" + std::to_string(::getpid()) + "_" +
                                                  std::to_string(counter++));
}

db::pg::Settings test_database_settings(const std::string& url) {
  db::pg::Settings s;
  s.url = url;
  s.password = SecretBytes(as_bytes(PostgresServer::shared().password()));
  s.pool_size = 4;
  return s;
}

issuance::LedgerOwner test_ledger_owner(const std::string& seed, const std::string& node) {
  issuance::LedgerOwner o;
  o.ca_key_sha256 = to_hex(crypto::sha256(as_bytes(seed)));
  o.ca_subject = "CN=" + seed;
  o.node = node;
  return o;
}

bool test_ledger_on_postgres() {
  const char* ledger = std::getenv("SIGNET_TEST_LEDGER");
  return ledger != nullptr && std::string_view(ledger) == "postgresql";
}

std::string test_ledger_config(const std::string& name) {
  if (!test_ledger_on_postgres()) return "";
  PostgresServer& server = PostgresServer::shared();
  return "\n[database]\nurl = \"" + server.create_database(name) + "\"\npassword_file = \"" +
         server.password_file().string() + "\"\n";
}

}  // namespace signet::test
