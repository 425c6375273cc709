// The signetd binary (SIGNETD_PATH) as an operator and systemd run it: --version, --check, errors
// as one "signetd: <message>" line with exit status 1, a real start on a CA made by
// `signet setup --answers`, READY/RELOADING/STOPPING notifications, SIGHUP reload, and a clean
// exit 0 on SIGTERM.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

extern char** environ;

namespace signet::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kSignetd = SIGNETD_PATH;
const std::string kSignet = SIGNET_CLI_PATH;

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

// signetd running in the background, its stderr in a file.
class Daemon {
 public:
  Daemon(const fs::path& config, const fs::path& log, const std::vector<std::string>& env = {}) : log_(log) {
    std::vector<std::string> args = {kSignetd, "--config", config.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "NOTIFY_SOCKET=", 14) != 0) env_strings.emplace_back(*e);
    }
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawn(&pid_, kSignetd.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start signetd");
  }
  ~Daemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  std::string log() const { return read_text(log_); }
  // Waits until the log contains `what`; false after `timeout` or when the process ended.
  bool wait_for_log(std::string_view what, std::chrono::seconds timeout = std::chrono::seconds(20)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (contains(log(), what)) return true;
      if (exited()) return contains(log(), what);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  void signal(int s) { ::kill(pid_, s); }
  // The exit status (128+signal when killed), or -1 when still running after `timeout`.
  int wait(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (exited()) return status_;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  bool exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return true;
  }
  fs::path log_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// An abstract unix datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  NotifySocket() : name_("@signet-test-notify-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}())) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name_.data(), name_.size());
    a.sun_path[0] = '\0';
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&a),
               static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size())) != 0) {
      throw std::runtime_error("bind failed");
    }
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  const std::string& name() const { return name_; }
  std::string receive() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n <= 0 ? std::string("<nothing>") : std::string(buf, static_cast<std::size_t>(n));
  }
  // The next datagram that starts with `prefix` (others are skipped).
  std::string receive_starting_with(std::string_view prefix) {
    for (int i = 0; i < 10; ++i) {
      std::string d = receive();
      if (d.rfind(prefix, 0) == 0 || d == "<nothing>") return d;
    }
    return "<nothing>";
  }

 private:
  std::string name_;
  int fd_ = -1;
};

// A port that is free right now (setup refuses ports in use; signetd itself then uses port 0).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// A CA made by `signet setup --answers` once for the suite; its signetd.toml listens on port 0
// (any free port) so tests never collide.
class SignetdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const fs::path d = dir_->path();
    const std::string https_port = std::to_string(free_port());
    const std::string http_port = std::to_string(free_port());
    write_text(d / "passphrase", "correct horse battery staple");
    write_text(d / "answers.toml", "mode = \"new-key\"\ndata_dir = \"" + d.string() +
                                       "\"\nkey_name = \"test-ca\"\nalgorithm = \"ec-p256\"\nvalidity_days = 365\n"
                                       "[identity]\ncommon_name = \"signetd test CA\"\n"
                                       "[daemon]\nhttps_port = " + https_port + "\nhttp_port = " + http_port +
                                       "\ntls_names = [\"localhost\", \"127.0.0.1\"]\n"
                                       "public_base_url = \"http://127.0.0.1:" + http_port + "\"\n");
    ProcessOptions o;
    o.env = {{"SIGNET_DATA_DIR", d.string()}, {"SIGNET_PASSPHRASE_FILE", (d / "passphrase").string()}};
    const ProcessResult r = run_process({kSignet, "setup", "--answers", (d / "answers.toml").string()}, o);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::string config = read_text(d / "signetd.toml");
    config = std::regex_replace(config, std::regex("port = (" + https_port + "|" + http_port + ")\n"), "port = 0\n");
    write_text(d / "signetd.toml", config);
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path config() { return dir_->path() / "signetd.toml"; }
  static fs::path dir() { return dir_->path(); }

  // "https://127.0.0.1:P" and "http://127.0.0.1:Q" from the "listening on" line.
  static std::pair<std::string, std::string> urls(const std::string& log) {
    std::smatch m;
    const std::regex re("listening on (https://[^ ]+) and (http://[^ ]+) ");
    if (!std::regex_search(log, m, re)) return {};
    return {m[1], m[2]};
  }

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
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "--config")) << describe(r);
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

TEST_F(SignetdTest, CheckUnlocksTheStoreAndExits0) {
  const ProcessResult r = run_process({kSignetd, "--config", config().string(), "--check"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "is usable")) << describe(r);
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
  Daemon daemon(config(), dir() / "run.log", {"NOTIFY_SOCKET=" + notify.name()});
  ASSERT_TRUE(daemon.wait_for_log("listening on")) << daemon.log();
  EXPECT_TRUE(contains(notify.receive_starting_with("READY=1"), "STATUS=serving on https://127.0.0.1:"));
  const auto [https, http] = urls(daemon.log());
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

TEST_F(SignetdTest, BrokenReloadKeepsServing) {
  const fs::path conf = dir() / "reload.toml";
  write_text(conf, read_text(config()));
  Daemon daemon(conf, dir() / "reload.log");
  ASSERT_TRUE(daemon.wait_for_log("listening on")) << daemon.log();
  const auto [https, http] = urls(daemon.log());
  write_text(conf, read_text(config()) + "\n[log]\nlevel = \"loud\"\n");
  daemon.signal(SIGHUP);
  EXPECT_TRUE(daemon.wait_for_log("reload failed, still running on the previous configuration")) << daemon.log();
  EXPECT_TRUE(contains(daemon.log(), "log.level")) << daemon.log();
  EXPECT_EQ(run_process({"curl", "-sS", http + "/healthz"}).out, R"({"status":"ok"})");
  daemon.signal(SIGINT);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(15)), 0) << daemon.log();
}

TEST_F(SignetdTest, PortInUseIsNamedAndExit1) {
  Daemon first(config(), dir() / "first.log");
  ASSERT_TRUE(first.wait_for_log("listening on")) << first.log();
  const std::string http = urls(first.log()).second;
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
