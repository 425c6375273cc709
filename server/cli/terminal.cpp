#include "terminal.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <string>

namespace signet::cli {

namespace {

class TtyFd {
 public:
  TtyFd() : fd_(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) {}
  ~TtyFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  TtyFd(const TtyFd&) = delete;
  TtyFd& operator=(const TtyFd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Reads one line from fd into `out` (without the newline). Returns false on EOF before any byte.
template <typename Sink>
bool read_line(int fd, Sink&& append) {
  bool any = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return any;
    any = true;
    if (c == '\n' || c == '\r') return true;
    append(c);
  }
}

}  // namespace

bool have_terminal() {
  if (::isatty(STDIN_FILENO) == 0) return false;
  TtyFd tty;
  return tty.get() >= 0;
}

std::optional<Passphrase> prompt_secret(const std::string& prompt) {
  if (!have_terminal()) return std::nullopt;
  TtyFd tty;
  termios old_attrs{};
  if (::tcgetattr(tty.get(), &old_attrs) != 0) return std::nullopt;
  termios no_echo = old_attrs;
  no_echo.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  no_echo.c_lflag |= ICANON;
  write_all(tty.get(), prompt);
  ::tcsetattr(tty.get(), TCSAFLUSH, &no_echo);
  Passphrase secret;
  const bool got = read_line(tty.get(), [&secret](char c) {
    const auto b = static_cast<std::uint8_t>(c);
    secret.append(ByteView(&b, 1));
  });
  ::tcsetattr(tty.get(), TCSAFLUSH, &old_attrs);
  write_all(tty.get(), "\n");
  if (!got) return std::nullopt;
  return secret;
}

std::optional<std::string> prompt_line(const std::string& prompt) {
  if (!have_terminal()) return std::nullopt;
  TtyFd tty;
  write_all(tty.get(), prompt);
  std::string line;
  if (!read_line(tty.get(), [&line](char c) { line.push_back(c); })) return std::nullopt;
  return line;
}

}  // namespace signet::cli
