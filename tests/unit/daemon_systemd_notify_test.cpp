// sd_notify without libsystemd (server/daemon/systemd_notify.cpp): a datagram with the exact
// state reaches a real unix socket, by path or in the abstract namespace ('@'); nothing is sent,
// and false returned, when NOTIFY_SOCKET is unset.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>

#include "support/temp_dir.h"
#include "systemd_notify.h"

namespace signet::daemon {
namespace {

// A bound unix datagram socket; `name` is a path, or "@..." for the abstract namespace.
class DatagramSocket {
 public:
  explicit DatagramSocket(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@') {
      addr.sun_path[0] = '\0';
    } else {
      len += 1;
    }
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      throw std::runtime_error("cannot bind " + name + ": " + std::strerror(errno));
    }
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~DatagramSocket() { ::close(fd_); }
  DatagramSocket(const DatagramSocket&) = delete;
  DatagramSocket& operator=(const DatagramSocket&) = delete;

  // The next datagram, or std::nullopt after 2 s.
  std::optional<std::string> receive() {
    std::array<char, 4096> buf{};
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    return std::string(buf.data(), static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
};

class SdNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv("NOTIFY_SOCKET")) saved_ = v;
  }
  void TearDown() override {
    if (saved_) ::setenv("NOTIFY_SOCKET", saved_->c_str(), 1);
    else ::unsetenv("NOTIFY_SOCKET");
  }
  std::optional<std::string> saved_;
};

TEST_F(SdNotifyTest, SendsToAPathSocket) {
  test::TempDir dir;
  const std::string path = (dir / "notify").string();
  DatagramSocket socket(path);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(sd_notify("READY=1\nSTATUS=serving"));
  EXPECT_EQ(socket.receive(), "READY=1\nSTATUS=serving");
  EXPECT_TRUE(sd_notify("STOPPING=1"));
  EXPECT_EQ(socket.receive(), "STOPPING=1");
}

TEST_F(SdNotifyTest, SendsToAnAbstractSocket) {
  const std::string name = "@signet-notify-test-" + std::to_string(::getpid()) + "-" +
                           std::to_string(std::random_device{}());
  DatagramSocket socket(name);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  EXPECT_TRUE(sd_notify("READY=1"));
  EXPECT_EQ(socket.receive(), "READY=1");
}

TEST_F(SdNotifyTest, UnsetSocketSendsNothing) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(sd_notify("READY=1"));
}

TEST_F(SdNotifyTest, AbsentListenerIsReportedNotThrown) {
  test::TempDir dir;
  ::setenv("NOTIFY_SOCKET", (dir / "nobody").c_str(), 1);
  EXPECT_FALSE(sd_notify("READY=1"));
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_FALSE(sd_notify("READY=1"));
}

TEST(ReloadingStateTest, CarriesTheMonotonicClock) {
  const std::string s = reloading_state();
  ASSERT_EQ(s.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0U) << s;
  EXPECT_GT(std::stoll(s.substr(s.find('=', 12) + 1)), 0);
}

}  // namespace
}  // namespace signet::daemon
