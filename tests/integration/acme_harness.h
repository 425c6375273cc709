// What the ACME integration tests share: an HTTP answer as curl gave it, read as ACME clients read
// it, and a challenge responder that hangs.
// Thread-safety: plain values; SilentListener has one owner.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <string>

namespace signet::test {

struct AcmeHttp {
  int status = 0;
  std::string body;
  std::string headers;  // raw response headers
  [[nodiscard]] nlohmann::json body_json() const { return nlohmann::json::parse(body, nullptr, false); }
  [[nodiscard]] std::string header(const std::string& name) const {
    std::smatch m;
    const std::regex re("(^|\n)" + name + ": ([^\r\n]*)", std::regex::icase);
    return std::regex_search(headers, m, re) ? std::string(m[2]) : std::string();
  }
  // "malformed" for urn:ietf:params:acme:error:malformed.
  [[nodiscard]] std::string problem() const {
    const nlohmann::json j = body_json();
    const std::string type = j.is_object() ? j.value("type", "") : "";
    return type.starts_with("urn:ietf:params:acme:error:") ? type.substr(27) : "<not a problem: " + body + ">";
  }
  [[nodiscard]] std::string detail() const {
    const nlohmann::json j = body_json();
    return j.is_object() ? j.value("detail", "") : "";
  }
};

// A TCP listener on `address` that never accepts: connections complete in the kernel's backlog and
// then hear nothing, the way a hung challenge server looks to the validator. Throws when it cannot
// listen.
class SilentListener {
 public:
  SilentListener(std::uint16_t port, const char* address = "127.0.0.1")
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (fd_ < 0 || ::inet_pton(AF_INET, address, &a.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd_, 128) != 0) {
      const std::string why = std::strerror(errno);
      if (fd_ >= 0) ::close(fd_);
      throw std::runtime_error("cannot listen on " + std::string(address) + ":" + std::to_string(port) + ": " + why);
    }
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace signet::test
