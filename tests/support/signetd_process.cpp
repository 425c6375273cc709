#include "support/signetd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <random>
#include <regex>
#include <stdexcept>
#include <thread>

#include "support/process.h"
#include "support/temp_dir.h"

extern char** environ;

namespace signet::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::size_t count_of(const std::string& s, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

SignetdProcess::SignetdProcess(const std::string& signetd_path, const fs::path& config, const fs::path& log,
                               const std::vector<std::string>& env)
    : SignetdProcess(std::vector<std::string>{signetd_path, "--config", config.string()}, log, env) {}

SignetdProcess::SignetdProcess(std::vector<std::string> args, const fs::path& log, const std::vector<std::string>& env)
    : log_(log) {
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
  const int rc = posix_spawnp(&pid_, args.front().c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args.front() + ": " + std::strerror(rc));
}

SignetdProcess::~SignetdProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string SignetdProcess::log() const { return read_text(log_); }

bool SignetdProcess::wait_for_log(std::string_view what, std::chrono::seconds timeout) {
  return wait_for_log_count(what, 1, timeout);
}

bool SignetdProcess::wait_for_log_count(std::string_view what, std::size_t count, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (count_of(log(), what) >= count) return true;
    if (exited()) return count_of(log(), what) >= count;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void SignetdProcess::signal(int s) {
  if (pid_ > 0) ::kill(pid_, s);
}

int SignetdProcess::wait(std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (exited()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::pair<std::string, std::string> SignetdProcess::urls() const {
  const std::string text = log();
  std::smatch m;
  const std::regex re("listening on (https://[^ ]+) and (http://[^ ]+) ");
  if (!std::regex_search(text, m, re)) return {};
  return {m[1], m[2]};
}

bool SignetdProcess::exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pid_ = -1;
  return true;
}

NotifySocket::NotifySocket()
    : name_("@signet-test-notify-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}())) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, name_.data(), name_.size());
  a.sun_path[0] = '\0';
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&a),
             static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size())) != 0) {
    ::close(fd_);
    throw std::runtime_error("binding the notify socket failed");
  }
  timeval tv{20, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

NotifySocket::~NotifySocket() { ::close(fd_); }

std::string NotifySocket::receive() {
  char buf[4096];
  const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
  return n <= 0 ? std::string("<nothing>") : std::string(buf, static_cast<std::size_t>(n));
}

std::string NotifySocket::receive_starting_with(std::string_view prefix) {
  for (int i = 0; i < 10; ++i) {
    std::string d = receive();
    if (d.rfind(prefix, 0) == 0 || d == "<nothing>") return d;
  }
  return "<nothing>";
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("no free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

ProcessResult make_test_ca(const std::string& signet_path, const fs::path& data_dir, const std::string& key_name,
                           const std::string& common_name, const std::string& passphrase) {
  const std::string https_port = std::to_string(free_port());
  const std::string http_port = std::to_string(free_port());
  write_text(data_dir / "passphrase", passphrase);
  write_text(data_dir / "answers.toml",
             "mode = \"new-key\"\ndata_dir = \"" + data_dir.string() + "\"\nkey_name = \"" + key_name +
                 "\"\nalgorithm = \"ec-p256\"\nvalidity_days = 365\n[identity]\ncommon_name = \"" + common_name +
                 "\"\n[daemon]\nhttps_port = " + https_port + "\nhttp_port = " + http_port +
                 "\ntls_names = [\"localhost\", \"127.0.0.1\"]\npublic_base_url = \"http://127.0.0.1:" + http_port +
                 "\"\n");
  ProcessOptions o;
  o.env = {{"SIGNET_DATA_DIR", data_dir.string()}, {"SIGNET_PASSPHRASE_FILE", (data_dir / "passphrase").string()}};
  ProcessResult r = run_process({signet_path, "setup", "--answers", (data_dir / "answers.toml").string()}, o);
  if (r.exit_code == 0) {
    const fs::path config = data_dir / "signetd.toml";
    write_text(config, std::regex_replace(read_text(config),
                                          std::regex("port = (" + https_port + "|" + http_port + ")\n"), "port = 0\n"));
  }
  return r;
}

}  // namespace signet::test
