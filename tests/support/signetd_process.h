// A real signetd for integration tests: the process in the background with its stderr in a file,
// a stand-in for systemd's notify socket, and a free loopback port.
// Thread-safety: one owner per object.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signet::test {

// signetd (the binary at `signetd_path`) running with `--config config`, stdout and stderr in `log`.
// `env` entries ("NAME=value") are added to the environment; NOTIFY_SOCKET is never inherited.
// The destructor kills what is still running.
class SignetdProcess {
 public:
  SignetdProcess(const std::string& signetd_path, const std::filesystem::path& config,
                 const std::filesystem::path& log, const std::vector<std::string>& env = {});
  // Any program the same way (`argv[0]` is a path, or a name looked up in PATH): the mock DNS
  // server and the ACME clients' peers the tests run beside signetd.
  SignetdProcess(std::vector<std::string> argv, const std::filesystem::path& log,
                 const std::vector<std::string>& env = {});
  ~SignetdProcess();
  SignetdProcess(const SignetdProcess&) = delete;
  SignetdProcess& operator=(const SignetdProcess&) = delete;

  [[nodiscard]] std::string log() const;
  // Waits until the log contains `what`; false after `timeout` or when the process ended without it.
  bool wait_for_log(std::string_view what, std::chrono::seconds timeout = std::chrono::seconds(20));
  // Waits until `what` occurs `count` times in the log.
  bool wait_for_log_count(std::string_view what, std::size_t count,
                          std::chrono::seconds timeout = std::chrono::seconds(20));
  void signal(int s);
  // The exit status (128+signal when killed), or -1 when still running after `timeout`.
  int wait(std::chrono::seconds timeout);
  // "https://127.0.0.1:P" and "http://127.0.0.1:Q" from the "listening on" line ({} before it).
  [[nodiscard]] std::pair<std::string, std::string> urls() const;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  bool exited();
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// An abstract unix datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  NotifySocket();
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }
  // The next datagram (waits up to 20 s), or "<nothing>".
  std::string receive();
  // The next datagram that starts with `prefix` (others are skipped).
  std::string receive_starting_with(std::string_view prefix);

 private:
  std::string name_;
  int fd_ = -1;
};

// A TCP port on 127.0.0.1 that is free right now (setup refuses ports in use).
[[nodiscard]] std::uint16_t free_port();

// A new ec-p256 CA for signetd, made in `data_dir` (an existing 0700 directory) the way an
// operator would: `signet setup --answers` (the binary at `signet_path`) with the store
// passphrase in data_dir/passphrase. The signetd.toml it writes then listens on port 0 (any free
// port; signetd logs the ones it got) so that tests never collide. Returns setup's result.
struct ProcessResult;
ProcessResult make_test_ca(const std::string& signet_path, const std::filesystem::path& data_dir,
                           const std::string& key_name, const std::string& common_name,
                           const std::string& passphrase);

}  // namespace signet::test
