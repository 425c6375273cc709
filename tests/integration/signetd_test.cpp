// The signetd binary (SIGNETD_PATH) as an operator and systemd run it: --version, --check, errors
// as one "signetd: <message>" line with exit status 1, a real start on a CA made by
// `signet setup --answers`, READY/RELOADING/STOPPING notifications, SIGHUP reload, and a clean
// exit 0 on SIGTERM.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

#include "support/postgres_server.h"
#include "support/process.h"
#include "support/signetd_process.h"
#include "support/temp_dir.h"

namespace signet::test {
namespace {

namespace fs = std::filesystem;

const std::string kSignetd = SIGNETD_PATH;
const std::string kSignet = SIGNET_CLI_PATH;

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// A CA made by `signet setup --answers` once for the suite; its signetd.toml listens on port 0
// (any free port) so tests never collide.
class SignetdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const ProcessResult r = make_test_ca(kSignet, dir_->path(), "test-ca", "signetd test CA",
                                         "correct horse battery staple");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const std::string ledger = test_ledger_config("signetd");
    if (!ledger.empty()) write_text(config(), read_text(config()) + ledger);
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path config() { return dir_->path() / "signetd.toml"; }
  static fs::path dir() { return dir_->path(); }

  static TempDir* dir_;
};
TempDir* SignetdTest::dir_ = nullptr;

TEST_F(SignetdTest, VersionPrintsTheVersion) {
  const ProcessResult r = run_process({kSignetd, "--version"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "signetd 0.")) << describe(r);
}

TEST_F(SignetdTest, ConfigIsRequired) {
  const ProcessResult r = run_process({kSignetd});
  EXPECT_EQ(r.exit_code, 2) << describe(r);  // a usage error, as signet's
  EXPECT_TRUE(contains(r.err, "--config")) << describe(r);
}

TEST_F(SignetdTest, UnknownOptionIsAUsageErrorExit2) {
  const ProcessResult r = run_process({kSignetd, "--config", "x.toml", "--no-such-option"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "--no-such-option")) << describe(r);
}

TEST_F(SignetdTest, MissingConfigIsOneLineAndExit1) {
  const ProcessResult r = run_process({kSignetd, "--config", (dir() / "absent.toml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("signetd: configuration file ", 0), 0U) << describe(r);
  EXPECT_TRUE(contains(r.err, "absent.toml")) << describe(r);
}

TEST_F(SignetdTest, InvalidConfigNamesTheKey) {
  write_text(dir() / "bad.toml", read_text(config()) + "\n[server]\nthreds = 2\n");
  const ProcessResult r = run_process({kSignetd, "--config", (dir() / "bad.toml").string(), "--check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "signetd: ")) << describe(r);
  EXPECT_TRUE(contains(r.err, "unknown key \"server.threds\"")) << describe(r);
}

// The CRL numbering and the audit log, as sqlite3 reads them.
std::string store_state(const fs::path& data_dir) {
  const ProcessResult r = run_process({"sqlite3", (data_dir / "signet.db").string(),
                                       "SELECT crl_number, updated_at FROM crl_state; SELECT count(*) FROM audit_log;"});
  return r.out + r.err;
}

TEST_F(SignetdTest, CheckUnlocksTheStoreAndExits0AndWritesNothing) {
  const std::string before = store_state(dir());
  const ProcessResult r = run_process({kSignetd, "--config", config().string(), "--check"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "is usable")) << describe(r);
  EXPECT_FALSE(contains(r.err, "published CRL")) << describe(r);
  EXPECT_EQ(store_state(dir()), before);
}

TEST_F(SignetdTest, CheckWithoutPassphraseFileFails) {
  std::string text = read_text(config());
  text = std::regex_replace(text, std::regex("passphrase_file = '[^']*'"), "passphrase_file = 'nowhere'");
  write_text(dir() / "nopass.toml", text);
  ProcessOptions o;
  o.unset_env = {"CREDENTIALS_DIRECTORY"};
  const ProcessResult r = run_process({kSignetd, "--config", (dir() / "nopass.toml").string(), "--check"}, o);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "signetd: ")) << describe(r);
  EXPECT_TRUE(contains(r.err, "nowhere")) << describe(r);
}

TEST_F(SignetdTest, ServesNotifiesReloadsAndStopsOnSigterm) {
  NotifySocket notify;
  SignetdProcess daemon(kSignetd, config(), dir() / "run.log", {"NOTIFY_SOCKET=" + notify.name()});
  ASSERT_TRUE(daemon.wait_for_log("listening on")) << daemon.log();
  EXPECT_TRUE(contains(notify.receive_starting_with("READY=1"), "STATUS=serving on https://127.0.0.1:"));
  const auto [https, http] = daemon.urls();
  ASSERT_FALSE(http.empty()) << daemon.log();

  const ProcessResult plain = run_process({"curl", "-sS", http + "/healthz"});
  EXPECT_EQ(plain.out, R"({"status":"ok"})") << describe(plain);
  const ProcessResult tls =
      run_process({"curl", "-sS", "--cacert", (dir() / "ca.pem").string(), https + "/healthz"});
  EXPECT_EQ(tls.out, R"({"status":"ok"})") << describe(tls);
  const ProcessResult metrics = run_process({"curl", "-sS", http + "/metrics"});
  EXPECT_TRUE(contains(metrics.out, "signet_http_requests_total{listener=\"https\",route=\"/healthz\"")) << metrics.out;
  EXPECT_TRUE(daemon.wait_for_log(" GET /healthz 200 ")) << daemon.log();

  daemon.signal(SIGHUP);
  EXPECT_EQ(notify.receive_starting_with("RELOADING=1").rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0U);
  EXPECT_EQ(notify.receive_starting_with("READY=1").rfind("READY=1", 0), 0U);
  EXPECT_TRUE(daemon.wait_for_log("reloaded ")) << daemon.log();

  daemon.signal(SIGTERM);
  EXPECT_EQ(notify.receive_starting_with("STOPPING=1").rfind("STOPPING=1", 0), 0U);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(15)), 0) << daemon.log();
  EXPECT_TRUE(contains(daemon.log(), "stopped")) << daemon.log();
}

TEST_F(SignetdTest, ReloadSaysWhatChangedAndWhatNeedsARestart) {
  const fs::path conf = dir() / "reload-changes.toml";
  write_text(conf, read_text(config()));
  SignetdProcess daemon(kSignetd, conf, dir() / "reload-changes.log");
  ASSERT_TRUE(daemon.wait_for_log("listening on")) << daemon.log();
  std::string text = read_text(config());
  text = std::regex_replace(text, std::regex("base_url = '[^']*'"), "base_url = 'http://pki.example.test'");
  ASSERT_TRUE(contains(text, "pki.example.test")) << text;
  write_text(conf, text + "\n[crl]\nvalidity = \"2d\"\nrefresh_before = \"1d\"\ndelta = true\n" +
                       "[ocsp]\nnonces = \"ignore\"\n");
  daemon.signal(SIGHUP);
  ASSERT_TRUE(daemon.wait_for_log("reloaded ")) << daemon.log();
  const std::string log = daemon.log();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex("reloaded [^\n]*"))) << log;
  const std::string line = m[0];
  EXPECT_TRUE(contains(line, "changed: crl.validity, crl.refresh_before, ocsp.nonces")) << line;
  EXPECT_TRUE(contains(line, "need a restart (not applied): public.base_url, crl.delta")) << line;
  // Still no delta CRL: that needs a restart.
  const auto [https, http] = daemon.urls();
  EXPECT_TRUE(contains(run_process({"curl", "-sS", http + "/crl/delta"}).out, "delta-crl-disabled"));
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(15)), 0) << daemon.log();
}

TEST_F(SignetdTest, BrokenReloadKeepsServing) {
  const fs::path conf = dir() / "reload.toml";
  write_text(conf, read_text(config()));
  SignetdProcess daemon(kSignetd, conf, dir() / "reload.log");
  ASSERT_TRUE(daemon.wait_for_log("listening on")) << daemon.log();
  const auto [https, http] = daemon.urls();
  write_text(conf, read_text(config()) + "\n[log]\nlevel = \"loud\"\n");
  daemon.signal(SIGHUP);
  EXPECT_TRUE(daemon.wait_for_log("reload failed, still running on the previous configuration")) << daemon.log();
  EXPECT_TRUE(contains(daemon.log(), "log.level")) << daemon.log();
  EXPECT_EQ(run_process({"curl", "-sS", http + "/healthz"}).out, R"({"status":"ok"})");
  daemon.signal(SIGINT);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(15)), 0) << daemon.log();
}

TEST_F(SignetdTest, PortInUseIsNamedAndExit1) {
  SignetdProcess first(kSignetd, config(), dir() / "first.log");
  ASSERT_TRUE(first.wait_for_log("listening on")) << first.log();
  const std::string http = first.urls().second;
  const std::string port = http.substr(http.rfind(':') + 1);
  std::string text = read_text(config());
  // The [http] table's port: the second "port = 0" in the file (after [https]'s) in setup's order
  // ([http] first): replace the one inside [http].
  const auto at = text.find("[http]\n");
  ASSERT_NE(at, std::string::npos) << text;
  const auto port_at = text.find("port = 0", at);
  text.replace(port_at, 8, "port = " + port);
  write_text(dir() / "clash.toml", text);
  const ProcessResult r = run_process({kSignetd, "--config", (dir() / "clash.toml").string()});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "signetd: cannot listen on [http] 127.0.0.1:" + port)) << describe(r);
}

}  // namespace
}  // namespace signet::test
