// Connections for ACME validation (acme_validation.h): a TCP connection made with a deadline, and a
// byte stream over it, plain or TLS, whose every read and write is bounded by the same deadline.
//
// TLS runs over a BIO pair and the socket is written with send(MSG_NOSIGNAL): a peer that closes
// early must never raise SIGPIPE in the process, whatever the process does with that signal.
//
// Thread-safety: one owner per object; the functions are reentrant.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "acme_validation_resolver.h"
#include "signet/core/cidr.h"

namespace signet::daemon::acme {

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept;
  void reset() noexcept;

 private:
  int fd_ = -1;
};

struct IoResult {
  enum class Kind { Ok, Eof, Timeout, Error };
  Kind kind = Kind::Ok;
  std::size_t bytes = 0;  // Ok: how many were read or written
  std::string error;      // Error: what failed, for a detail
  [[nodiscard]] bool ok() const noexcept { return kind == Kind::Ok; }
};

struct ConnectResult {
  Fd fd;  // connected, non-blocking; empty on failure
  bool timed_out = false;
  std::string error;  // "connection refused", "no route to host", ...
};

// A TCP connection to address:port, abandoned at the deadline.
[[nodiscard]] ConnectResult connect_tcp(const IpAddress& address, std::uint16_t port,
                                        ValidationClock::time_point deadline);

class Stream {
 public:
  virtual ~Stream() = default;
  virtual IoResult write_all(std::string_view data, ValidationClock::time_point deadline) = 0;
  // Appends at most `max` (> 0) bytes to `out`; Eof when the peer has closed.
  virtual IoResult read_some(std::string& out, std::size_t max, ValidationClock::time_point deadline) = 0;
};

class PlainStream final : public Stream {
 public:
  explicit PlainStream(Fd fd) : fd_(std::move(fd)) {}
  IoResult write_all(std::string_view data, ValidationClock::time_point deadline) override;
  IoResult read_some(std::string& out, std::size_t max, ValidationClock::time_point deadline) override;

 private:
  Fd fd_;
};

struct TlsOptions {
  std::string server_name;  // SNI; "" sends none
  std::string alpn;         // one protocol offered, e.g. "acme-tls/1"; "" offers none
};

// TLS 1.2 or later as a client that verifies nothing: the callers judge the certificate
// themselves (tls-alpn-01) or not at all (an https redirect of http-01, RFC 8555 section 10.2).
class TlsStream final : public Stream {
 public:
  TlsStream(Fd fd, const TlsOptions& options);

  IoResult handshake(ValidationClock::time_point deadline);
  IoResult write_all(std::string_view data, ValidationClock::time_point deadline) override;
  IoResult read_some(std::string& out, std::size_t max, ValidationClock::time_point deadline) override;
  // After a handshake: what was negotiated.
  [[nodiscard]] std::string alpn_selected() const;
  [[nodiscard]] X509* peer_certificate() const;  // owned by the connection; may be null

 private:
  template <typename Op>
  IoResult run(Op op, ValidationClock::time_point deadline);
  IoResult flush(ValidationClock::time_point deadline);
  IoResult fill(ValidationClock::time_point deadline);

  struct CtxFree {
    void operator()(SSL_CTX* p) const noexcept;
  };
  struct SslFree {
    void operator()(SSL* p) const noexcept;
  };
  struct BioFree {
    void operator()(BIO* p) const noexcept;
  };

  PlainStream socket_;
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<BIO, BioFree> network_;  // our half of the BIO pair; the other half is ssl_'s
  std::unique_ptr<SSL, SslFree> ssl_;      // declared last: freed before the BIO pair's other half
  std::string setup_error_;                // why the constructor could not prepare TLS
  bool eof_ = false;
};

}  // namespace signet::daemon::acme
