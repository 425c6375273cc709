#include "acme_validation_transport.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "signet/core/error.h"

namespace signet::daemon::acme {

namespace {

int millis_left(ValidationClock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ValidationClock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, 1'000'000));
}

// 1 ready, 0 deadline, -1 error (errno set).
int wait_for(int fd, short events, ValidationClock::time_point deadline) {
  for (;;) {
    const int ms = millis_left(deadline);
    if (ms <= 0) return 0;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r > 0) return 1;
  }
}

IoResult error_result(std::string what) {
  IoResult r;
  r.kind = IoResult::Kind::Error;
  r.error = std::move(what);
  return r;
}

IoResult kind_result(IoResult::Kind kind) {
  IoResult r;
  r.kind = kind;
  return r;
}

std::string errno_text(int e) {
  if (e == ECONNREFUSED) return "connection refused";
  if (e == ECONNRESET) return "connection reset by peer";
  return std::strerror(e);
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

int Fd::release() noexcept {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ConnectResult connect_tcp(const IpAddress& address, std::uint16_t port, ValidationClock::time_point deadline) {
  ConnectResult result;
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (address.family == 4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.bytes.data(), 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
    length = sizeof(sockaddr_in6);
  }
  Fd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    result.error = std::string("cannot create a socket: ") + std::strerror(errno);
    return result;
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&storage), length) != 0) {
    if (errno != EINPROGRESS) {
      result.error = errno_text(errno);
      return result;
    }
    const int ready = wait_for(fd.get(), POLLOUT, deadline);
    if (ready == 0) {
      result.timed_out = true;
      result.error = "no connection before the timeout";
      return result;
    }
    if (ready < 0) {
      result.error = errno_text(errno);
      return result;
    }
    int so_error = 0;
    socklen_t so_length = sizeof so_error;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &so_length) != 0) so_error = errno;
    if (so_error != 0) {
      result.error = errno_text(so_error);
      return result;
    }
  }
  result.fd = std::move(fd);
  return result;
}

IoResult PlainStream::write_all(std::string_view data, ValidationClock::time_point deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd_.get(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const int ready = wait_for(fd_.get(), POLLOUT, deadline);
      if (ready == 0) return kind_result(IoResult::Kind::Timeout);
      if (ready < 0) return error_result(errno_text(errno));
      continue;
    }
    return error_result(errno_text(errno));
  }
  IoResult r;
  r.bytes = done;
  return r;
}

IoResult PlainStream::read_some(std::string& out, std::size_t max, ValidationClock::time_point deadline) {
  char buffer[16384];
  const std::size_t want = std::min(max, sizeof buffer);
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buffer, want, 0);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
      IoResult r;
      r.bytes = static_cast<std::size_t>(n);
      return r;
    }
    if (n == 0) return kind_result(IoResult::Kind::Eof);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return error_result(errno_text(errno));
    const int ready = wait_for(fd_.get(), POLLIN, deadline);
    if (ready == 0) return kind_result(IoResult::Kind::Timeout);
    if (ready < 0) return error_result(errno_text(errno));
  }
}

void TlsStream::CtxFree::operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
void TlsStream::SslFree::operator()(SSL* p) const noexcept { SSL_free(p); }
void TlsStream::BioFree::operator()(BIO* p) const noexcept { BIO_free(p); }

TlsStream::TlsStream(Fd fd, const TlsOptions& options) : socket_(std::move(fd)) {
  ERR_clear_error();
  ctx_.reset(SSL_CTX_new_ex(nullptr, nullptr, TLS_client_method()));
  if (!ctx_ || SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION) != 1) {
    setup_error_ = "cannot set up TLS: " + drain_openssl_errors();
    return;
  }
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
  // A server that closes without close_notify ends a read-to-close body; the length checks of
  // the HTTP layer are what guard against truncation.
  SSL_CTX_set_options(ctx_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  ssl_.reset(SSL_new(ctx_.get()));
  BIO* internal = nullptr;
  BIO* network = nullptr;
  if (!ssl_ || BIO_new_bio_pair(&internal, 0, &network, 0) != 1) {
    setup_error_ = "cannot set up TLS: " + drain_openssl_errors();
    ssl_.reset();
    return;
  }
  network_.reset(network);
  SSL_set_bio(ssl_.get(), internal, internal);
  SSL_set_connect_state(ssl_.get());
  if (!options.server_name.empty() &&
      SSL_set_tlsext_host_name(ssl_.get(), const_cast<char*>(options.server_name.c_str())) != 1) {
    setup_error_ = "cannot send the server name \"" + options.server_name + "\": " + drain_openssl_errors();
    return;
  }
  if (!options.alpn.empty()) {
    if (options.alpn.size() > 255) throw std::invalid_argument("ALPN protocol name too long");
    std::string wire(1, static_cast<char>(options.alpn.size()));
    wire += options.alpn;
    // SSL_set_alpn_protos returns 0 on success, unlike the rest of the API.
    if (SSL_set_alpn_protos(ssl_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size())) != 0) {
      setup_error_ = "cannot offer ALPN: " + drain_openssl_errors();
    }
  }
}

IoResult TlsStream::flush(ValidationClock::time_point deadline) {
  char buffer[16384];
  while (BIO_ctrl_pending(network_.get()) > 0) {
    const int n = BIO_read(network_.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    const IoResult w = socket_.write_all(std::string_view(buffer, static_cast<std::size_t>(n)), deadline);
    if (!w.ok()) return w;
  }
  return {};
}

IoResult TlsStream::fill(ValidationClock::time_point deadline) {
  const std::size_t space = BIO_ctrl_get_write_guarantee(network_.get());
  if (space == 0) return error_result("TLS buffer full");
  std::string data;
  const IoResult r = socket_.read_some(data, std::min<std::size_t>(space, 16384), deadline);
  if (r.kind == IoResult::Kind::Eof) {
    eof_ = true;
    BIO_shutdown_wr(network_.get());
    return {};
  }
  if (!r.ok()) return r;
  if (BIO_write(network_.get(), data.data(), static_cast<int>(data.size())) != static_cast<int>(data.size())) {
    return error_result("TLS buffer refused data");
  }
  return {};
}

template <typename Op>
IoResult TlsStream::run(Op op, ValidationClock::time_point deadline) {
  if (!setup_error_.empty()) return error_result(setup_error_);
  for (;;) {
    ERR_clear_error();
    const int r = op();
    const int error = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), r);
    // Whatever the outcome, what OpenSSL queued (a Finished message, an alert) goes out now.
    const std::string ssl_errors = error == SSL_ERROR_SSL ? drain_openssl_errors() : std::string();
    const IoResult flushed = flush(deadline);
    if (r > 0) {
      if (!flushed.ok()) return flushed;
      IoResult ok;
      ok.bytes = static_cast<std::size_t>(r);
      return ok;
    }
    switch (error) {
      case SSL_ERROR_WANT_READ: {
        if (!flushed.ok()) return flushed;
        if (eof_) return error_result("the server closed the connection");
        const IoResult filled = fill(deadline);
        if (!filled.ok()) return filled;
        continue;
      }
      case SSL_ERROR_WANT_WRITE:
        if (!flushed.ok()) return flushed;
        continue;
      case SSL_ERROR_ZERO_RETURN:
        return kind_result(IoResult::Kind::Eof);
      case SSL_ERROR_SSL:
        return error_result(ssl_errors.empty() ? std::string("TLS error") : ssl_errors);
      default:
        return error_result(eof_ ? std::string("the server closed the connection") : std::string("TLS error"));
    }
  }
}

IoResult TlsStream::handshake(ValidationClock::time_point deadline) {
  return run([this] { return SSL_do_handshake(ssl_.get()); }, deadline);
}

IoResult TlsStream::write_all(std::string_view data, ValidationClock::time_point deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    const auto chunk = static_cast<int>(std::min<std::size_t>(data.size() - done, 16384));
    const IoResult r = run([&] { return SSL_write(ssl_.get(), data.data() + done, chunk); }, deadline);
    if (r.kind == IoResult::Kind::Eof) return error_result("the server closed the connection");
    if (!r.ok()) return r;
    done += r.bytes;
  }
  IoResult r;
  r.bytes = done;
  return r;
}

IoResult TlsStream::read_some(std::string& out, std::size_t max, ValidationClock::time_point deadline) {
  char buffer[16384];
  const auto want = static_cast<int>(std::min(max, sizeof buffer));
  const IoResult r = run([&] { return SSL_read(ssl_.get(), buffer, want); }, deadline);
  if (r.ok()) out.append(buffer, r.bytes);
  return r;
}

std::string TlsStream::alpn_selected() const {
  if (!ssl_) return {};
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &length);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), length);
}

X509* TlsStream::peer_certificate() const { return ssl_ ? SSL_get0_peer_certificate(ssl_.get()) : nullptr; }

}  // namespace signet::daemon::acme
