// signet/db/postgres.h against a real PostgreSQL server (tests/support/postgres_server.h): TLS
// with sslmode=verify-full, and what a connection does when the server stops answering.
#include "signet/db/postgres.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "support/error_assert.h"
#include "support/postgres_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace signet::db::pg {
namespace {

// Resumes a stopped process when it goes, whatever the test did.
class Stopped {
 public:
  explicit Stopped(pid_t pid) : pid_(pid) { EXPECT_EQ(::kill(pid_, SIGSTOP), 0); }
  ~Stopped() { (void)::kill(pid_, SIGCONT); }
  Stopped(const Stopped&) = delete;
  Stopped& operator=(const Stopped&) = delete;

 private:
  pid_t pid_;
};

TEST(PostgresConnection, VerifyFullTalksTlsToTheServerItsRootVouchesForAndNoOther) {
  test::PostgresServer& server = test::PostgresServer::shared();
  const std::string url = test::new_test_database();
  Settings settings =
      test::test_database_settings(url + "?sslmode=verify-full&sslrootcert=" + server.tls_certificate().string());
  Connection c = Connection::open(settings);
  EXPECT_EQ(c.exec("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").text(0, 0), "t") << "not over TLS";

  // A root that did not sign the server's certificate: refused, saying why.
  test::TempDir d;
  const test::ProcessResult other = test::run_process(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
       (d.path() / "other.key").string(), "-out", (d.path() / "other.crt").string(), "-subj", "/CN=another CA",
       "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  settings.url = url + "?sslmode=verify-full&sslrootcert=" + (d.path() / "other.crt").string();
  Error e = test::capture_error([&] { (void)Connection::open(settings); });
  EXPECT_EQ(e.code(), "database-unavailable");
  EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos) << e.what();

  // The right root, but a name the certificate is not for.
  std::string by_name = url;
  by_name.replace(by_name.find("127.0.0.1"), 9, "localhost");
  settings.url = by_name + "?sslmode=verify-full&sslrootcert=" + server.tls_certificate().string();
  e = test::capture_error([&] { (void)Connection::open(settings); });
  EXPECT_EQ(e.code(), "database-unavailable");
  EXPECT_NE(std::string(e.what()).find("does not match host name"), std::string::npos) << e.what();
}

TEST(PostgresConnection, AServerThatStopsAnsweringTimesOutAndTheConnectionIsDropped) {
  Settings settings = test::test_database_settings(test::new_test_database());
  settings.statement_timeout = std::chrono::seconds(1);  // the client gives up 5 s later
  Connection c = Connection::open(settings);
  const pid_t backend = static_cast<pid_t>(c.exec("SELECT pg_backend_pid()").int64(0, 0));
  {
    // The server process is there (the kernel still accepts its packets) but does nothing.
    Stopped stopped(backend);
    const Error e = test::capture_error([&] { (void)c.exec("SELECT 1"); });
    EXPECT_EQ(e.kind(), ErrorKind::Storage);
    EXPECT_EQ(e.code(), "database-timeout");
    EXPECT_NE(std::string(e.what()).find("gave no answer in 6 s"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(c.healthy()) << "a connection whose answer may still come was kept";
  EXPECT_EQ(test::capture_error([&] { (void)c.exec("SELECT 1"); }).code(), "database-unavailable");
  // A new connection works.
  EXPECT_EQ(Connection::open(settings).exec("SELECT 41 + 1").int64(0, 0), 42);
}

}  // namespace
}  // namespace signet::db::pg
