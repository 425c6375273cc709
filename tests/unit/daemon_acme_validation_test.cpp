// ACME challenge validation against real servers on loopback: small HTTP and TLS servers run in
// threads of the test, and pebble-challtestsrv (Debian's "pebble" package) is the DNS server, plus
// an independent http-01 and tls-alpn-01 responder.
#include "acme_validation.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "acme_validation_transport.h"
#include "signet/core/bytes.h"
#include "signet/crypto/handles.h"
#include "signet/crypto/primitives.h"
#include "support/signetd_process.h"

extern char** environ;

namespace signet::daemon::acme {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "tok-EN_123";
constexpr char kKeyAuthorization[] = "tok-EN_123.thumbprint_ABCdef-0123";
constexpr char kChallengePath[] = "/.well-known/acme-challenge/tok-EN_123";
constexpr char kChallTestSrv[] = "/usr/bin/pebble-challtestsrv";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void set_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads an HTTP request head (up to the blank line), or what came before an error or timeout.
std::string read_head(int fd) {
  std::string head;
  char buffer[1024];
  while (!contains(head, "\r\n\r\n") && head.size() < 65536) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  return head;
}

// Waits until the client closes the connection or the server stops.
void wait_for_close(int fd, const std::atomic<bool>& stop) {
  char buffer[256];
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    if (::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) <= 0) return;
  }
}

// A TCP server on 127.0.0.1 (or ::1) with an ephemeral port, serving one connection at a time in a thread.
class LoopbackServer {
 public:
  using Handler = std::function<void(int fd, const std::atomic<bool>& stop)>;

  explicit LoopbackServer(Handler handler, bool ipv6 = false) : handler_(std::move(handler)) {
    listener_ = Fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (ipv6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&storage);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    if (!listener_ || ::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&storage), length) != 0 ||
        ::listen(listener_.get(), 16) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
      throw std::runtime_error(ipv6 ? "cannot listen on ::1" : "cannot listen on 127.0.0.1");
    }
    port_ = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                       : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int accepted() const { return accepted_; }

 private:
  void run() {
    // A client that hangs up early must not kill the test binary with SIGPIPE: blocked in this
    // thread, the signal is never delivered and writes fail with EPIPE instead.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      Fd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!connection) continue;
      ++accepted_;
      set_timeouts(connection.get(), 3s);
      handler_(connection.get(), stop_);
    }
  }

  Handler handler_;
  Fd listener_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::string http_response(int status, const std::string& body, const std::string& headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " Whatever\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + headers + "\r\n" + body;
}

// An HTTP server answering each request with respond(request head); it keeps the heads.
class HttpServer {
 public:
  explicit HttpServer(std::function<std::string(const std::string&)> respond, bool ipv6 = false)
      : respond_(std::move(respond)),
        server_(
            [this](int fd, const std::atomic<bool>&) {
              const std::string head = read_head(fd);
              {
                const std::lock_guard lock(mutex_);
                heads_.push_back(head);
              }
              send_all(fd, respond_(head));
            },
            ipv6) {}

  [[nodiscard]] std::uint16_t port() const { return server_.port(); }
  [[nodiscard]] int accepted() const { return server_.accepted(); }
  [[nodiscard]] std::vector<std::string> heads() const {
    const std::lock_guard lock(mutex_);
    return heads_;
  }

 private:
  std::function<std::string(const std::string&)> respond_;
  mutable std::mutex mutex_;
  std::vector<std::string> heads_;
  LoopbackServer server_;  // last: its thread starts once the rest is ready
};

ValidationSettings loopback_settings(std::uint16_t http_port) {
  ValidationSettings s;
  s.http01_port = http_port;
  s.timeout = 2s;
  return s;
}

const Identifier kLoopback{"ip", "127.0.0.1"};

// ---- http-01 ----

TEST(AcmeValidationHttp01, ValidBodyAndTheRequestItSent) {
  HttpServer server([](const std::string&) { return http_response(200, kKeyAuthorization); });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  EXPECT_EQ(outcome.error_type, "");
  EXPECT_EQ(outcome.address, "127.0.0.1");
  const auto heads = server.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0].substr(0, heads[0].find("\r\n")), std::string("GET ") + kChallengePath + " HTTP/1.1");
  EXPECT_TRUE(contains(heads[0], "\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n")) << heads[0];
  EXPECT_TRUE(contains(heads[0], "\r\nUser-Agent: signet-acme-validation\r\n")) << heads[0];
  EXPECT_TRUE(contains(heads[0], "\r\nConnection: close\r\n")) << heads[0];
  EXPECT_TRUE(contains(heads[0], "\r\nAccept: */*\r\n")) << heads[0];
}

TEST(AcmeValidationHttp01, Ipv6IdentifierInBrackets) {
  std::unique_ptr<HttpServer> server;
  try {
    server =
        std::make_unique<HttpServer>([](const std::string&) { return http_response(200, kKeyAuthorization); }, true);
  } catch (const std::runtime_error&) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  const auto outcome = validate_http01(loopback_settings(server->port()), {"ip", "::1"}, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  EXPECT_EQ(outcome.address, "::1");
  const auto heads = server->heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_TRUE(contains(heads[0], "\r\nHost: [::1]:" + std::to_string(server->port()) + "\r\n")) << heads[0];
}

TEST(AcmeValidationHttp01, TrailingWhitespaceIsIgnored) {
  HttpServer server([](const std::string&) { return http_response(200, std::string(kKeyAuthorization) + " \t\r\n"); });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.detail;
}

TEST(AcmeValidationHttp01, LeadingWhitespaceIsNot) {
  HttpServer server([](const std::string&) { return http_response(200, std::string(" ") + kKeyAuthorization); });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
}

TEST(AcmeValidationHttp01, WrongBodyIsIncorrectResponseAndShowsWhatCame) {
  HttpServer server(
      [](const std::string&) { return http_response(200, "wrong\x01\"body\"\n" + std::string(100, 'x')); });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
  EXPECT_EQ(outcome.address, "127.0.0.1");
  EXPECT_TRUE(contains(outcome.detail, "received \"wrong\\x01\\\"body\\\"\\nxxxx")) << outcome.detail;
  EXPECT_TRUE(contains(outcome.detail, "xxx...\"")) << outcome.detail;  // cut short
  EXPECT_TRUE(contains(outcome.detail, kKeyAuthorization)) << outcome.detail;
}

TEST(AcmeValidationHttp01, NotFoundIsIncorrectResponse) {
  HttpServer server([](const std::string&) { return http_response(404, "not here"); });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
  EXPECT_TRUE(contains(outcome.detail, "HTTP 404")) << outcome.detail;
}

TEST(AcmeValidationHttp01, ChunkedBodyIsDecoded) {
  HttpServer server([](const std::string&) {
    const std::string ka = kKeyAuthorization;
    const std::string a = ka.substr(0, 10);
    const std::string b = ka.substr(10) + "\n";
    char sizes[2][16];
    std::snprintf(sizes[0], sizeof sizes[0], "%zx", a.size());
    std::snprintf(sizes[1], sizeof sizes[1], "%zX;ext=1", b.size());
    return std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + sizes[0] + "\r\n" + a + "\r\n" +
           sizes[1] + "\r\n" + b + "\r\n0\r\n\r\n";
  });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.detail;
}

TEST(AcmeValidationHttp01, BodyReadToCloseWithoutLength) {
  HttpServer server([](const std::string&) { return std::string("HTTP/1.0 200 OK\r\n\r\n") + kKeyAuthorization; });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.detail;
}

TEST(AcmeValidationHttp01, BodyOver8KiBIsIncorrectResponse) {
  const std::string big(8193, 'a');
  const std::vector<std::function<std::string(const std::string&)>> servers{
      [&](const std::string&) { return http_response(200, big); },
      [&](const std::string&) { return "HTTP/1.1 200 OK\r\n\r\n" + big; },
      [&](const std::string&) {
        return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + big.substr(0, 4096) + "\r\n1000\r\n" +
               big.substr(0, 4096) + "\r\n1\r\na\r\n0\r\n\r\n";
      },
  };
  for (std::size_t i = 0; i < servers.size(); ++i) {
    HttpServer server(servers[i]);
    const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
    EXPECT_EQ(outcome.error_type, "incorrectResponse") << i;
    EXPECT_TRUE(contains(outcome.detail, "larger than 8192 bytes")) << i << ": " << outcome.detail;
  }
  // Exactly 8 KiB is still read (and is then simply the wrong content).
  HttpServer exact([&](const std::string&) { return http_response(200, big.substr(0, 8192)); });
  const auto outcome = validate_http01(loopback_settings(exact.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
  EXPECT_TRUE(contains(outcome.detail, "does not match")) << outcome.detail;
}

TEST(AcmeValidationHttp01, GarbageInsteadOfHttpIsIncorrectResponse) {
  HttpServer server([](const std::string&) { return std::string("SSH-2.0-OpenSSH_9.2\r\n\r\n"); });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
  EXPECT_TRUE(contains(outcome.detail, "status line")) << outcome.detail;
}

TEST(AcmeValidationHttp01, RelativeRedirectIsFollowed) {
  HttpServer server([](const std::string& head) {
    if (head.rfind(std::string("GET ") + kChallengePath + " ", 0) == 0) {
      return http_response(302, "", "Location: /moved/here\r\n");
    }
    if (head.rfind("GET /moved/here ", 0) == 0) return http_response(301, "", "Location: there?x=1\r\n");
    if (head.rfind("GET /moved/there?x=1 ", 0) == 0) return http_response(200, kKeyAuthorization);
    return http_response(500, "unexpected " + head);
  });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.detail;
  EXPECT_EQ(server.accepted(), 3);
}

TEST(AcmeValidationHttp01, RedirectToAnotherPortIsRefused) {
  std::uint16_t other = 0;
  HttpServer server([&](const std::string&) {
    return http_response(302, "", "Location: http://127.0.0.1:" + std::to_string(other) + "/x\r\n");
  });
  other = static_cast<std::uint16_t>(server.port() == 65535 ? 1024 : server.port() + 1);
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
  EXPECT_TRUE(contains(outcome.detail, "Refused the redirect")) << outcome.detail;
  EXPECT_TRUE(contains(outcome.detail, "only http on port " + std::to_string(server.port()))) << outcome.detail;
  EXPECT_EQ(server.accepted(), 1);
}

TEST(AcmeValidationHttp01, RedirectToOtherSchemesIsRefused) {
  HttpServer server([](const std::string&) { return http_response(302, "", "Location: ftp://127.0.0.1/x\r\n"); });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
  EXPECT_TRUE(contains(outcome.detail, "only http and https")) << outcome.detail;
}

TEST(AcmeValidationHttp01, MoreThanTenRedirectsAreRefused) {
  HttpServer server([](const std::string&) { return http_response(307, "", "Location: /again\r\n"); });
  const auto outcome = validate_http01(loopback_settings(server.port()), kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
  EXPECT_TRUE(contains(outcome.detail, "Too many redirects")) << outcome.detail;
  EXPECT_EQ(server.accepted(), 11);
}

TEST(AcmeValidationHttp01, SilentServerTimesOutAsConnection) {
  LoopbackServer server([](int fd, const std::atomic<bool>& stop) { wait_for_close(fd, stop); });
  ValidationSettings settings = loopback_settings(server.port());
  settings.timeout = 1s;
  const auto begin = Clock::now();
  const auto outcome = validate_http01(settings, kLoopback, kToken, kKeyAuthorization);
  const auto took = Clock::now() - begin;
  EXPECT_EQ(outcome.error_type, "connection");
  EXPECT_TRUE(contains(outcome.detail, "time limit of 1000 ms")) << outcome.detail;
  EXPECT_EQ(outcome.address, "127.0.0.1");
  EXPECT_LT(took, 5s);
  EXPECT_GE(took, 900ms);
}

TEST(AcmeValidationHttp01, ConnectionRefusedIsConnection) {
  const std::uint16_t port = test::free_port();
  const auto outcome = validate_http01(loopback_settings(port), kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "connection");
  EXPECT_TRUE(contains(outcome.detail, "connection refused")) << outcome.detail;
  EXPECT_EQ(outcome.address, "127.0.0.1");
}

TEST(AcmeValidationHttp01, AddressOutsideAllowedNetworksIsNeverContacted) {
  HttpServer server([](const std::string&) { return http_response(200, kKeyAuthorization); });
  ValidationSettings settings = loopback_settings(server.port());
  settings.allowed_networks = {Cidr::parse("10.0.0.0/8")};
  const auto outcome = validate_http01(settings, kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "connection");
  EXPECT_TRUE(contains(outcome.detail, "this CA's [acme] allowed_networks does not include")) << outcome.detail;
  EXPECT_EQ(outcome.address, "127.0.0.1");
  std::this_thread::sleep_for(100ms);  // a connection, had one been made, would be accepted by now
  EXPECT_EQ(server.accepted(), 0);
  // And once allowed, it is.
  settings.allowed_networks = {Cidr::parse("10.0.0.0/8"), Cidr::parse("127.0.0.0/8")};
  EXPECT_TRUE(validate_http01(settings, kLoopback, kToken, kKeyAuthorization).valid);
}

TEST(AcmeValidationHttp01, RedirectToAddressOutsideAllowedNetworksIsNeverContacted) {
  std::atomic<std::uint16_t> port{0};
  HttpServer server([&](const std::string&) {
    return http_response(302, "", "Location: http://127.0.0.2:" + std::to_string(port.load()) + "/x\r\n");
  });
  port = server.port();
  ValidationSettings settings = loopback_settings(server.port());
  settings.allowed_networks = {Cidr::parse("127.0.0.1")};
  const auto outcome = validate_http01(settings, kLoopback, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "connection");
  EXPECT_TRUE(contains(outcome.detail, "127.0.0.2 is an address this CA's [acme] allowed_networks does not include"))
      << outcome.detail;
  EXPECT_EQ(server.accepted(), 1);
}

TEST(AcmeValidationHttp01, MisuseThrows) {
  const ValidationSettings settings = loopback_settings(1);
  EXPECT_THROW((void)validate_http01(settings, {"dns", "*.example.test"}, kToken, kKeyAuthorization),
               std::invalid_argument);
  EXPECT_THROW((void)validate_http01(settings, {"email", "a@b"}, kToken, kKeyAuthorization), std::invalid_argument);
  EXPECT_THROW((void)validate_http01(settings, {"ip", "not-an-ip"}, kToken, kKeyAuthorization), std::invalid_argument);
  EXPECT_THROW((void)validate_http01(settings, kLoopback, "../etc/passwd", kKeyAuthorization), std::invalid_argument);
  EXPECT_THROW((void)validate_dns01(settings, kLoopback, kKeyAuthorization), std::invalid_argument);
}

// ---- tls-alpn-01 ----

struct SslFree {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct SslCtxFree {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct ObjectFree {
  void operator()(ASN1_OBJECT* p) const noexcept { ASN1_OBJECT_free(p); }
};

Bytes acme_identifier_value(const std::string& key_authorization) {
  Bytes der{0x04, 0x20};
  const Bytes digest = crypto::sha256(as_bytes(key_authorization));
  der.insert(der.end(), digest.begin(), digest.end());
  return der;
}

struct CertSpec {
  std::string sans = "DNS:x.example.test";
  bool acme_identifier = true;
  bool critical = true;
  Bytes value = acme_identifier_value(kKeyAuthorization);  // the extension's extnValue
};

struct KeyAndCert {
  ossl::Pkey key;
  ossl::X509Ptr cert;
};

KeyAndCert make_cert(const CertSpec& spec) {
  KeyAndCert out;
  out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  bool ok = out.key && cert && X509_set_version(cert, X509_VERSION_3) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert), 3600) != nullptr && X509_set_pubkey(cert, out.key.get()) == 1;
  X509_NAME* name = X509_get_subject_name(cert);
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("acme tls alpn"), -1,
                                  -1, 0) == 1 &&
       X509_set_issuer_name(cert, name) == 1;
  if (ok && !spec.sans.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    const ossl::X509ExtensionPtr san(X509V3_EXT_nconf_nid(nullptr, &ctx, NID_subject_alt_name, spec.sans.c_str()));
    ok = san && X509_add_ext(cert, san.get(), -1) == 1;
  }
  if (ok && spec.acme_identifier) {
    const std::unique_ptr<ASN1_OBJECT, ObjectFree> oid(OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1));
    const ossl::Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    ok =
        oid && value && ASN1_OCTET_STRING_set(value.get(), spec.value.data(), static_cast<int>(spec.value.size())) == 1;
    const ossl::X509ExtensionPtr ext(
        ok ? X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), spec.critical ? 1 : 0, value.get()) : nullptr);
    ok = ext && X509_add_ext(cert, ext.get(), -1) == 1;
  }
  ok = ok && X509_sign(cert, out.key.get(), EVP_sha256()) > 0;
  if (!ok) throw std::runtime_error("cannot make the test certificate");
  return out;
}

enum class Alpn { AcmeTls, Ignore };

// A TLS server presenting one certificate; with Alpn::AcmeTls it selects acme-tls/1 (and fails
// the handshake when it is not offered), with Alpn::Ignore it has no ALPN support. With
// `http_body`, it answers one HTTP request per connection with a 200 and that body.
class TlsServer {
 public:
  TlsServer(const CertSpec& spec, Alpn alpn, std::optional<std::string> http_body = std::nullopt)
      : material_(make_cert(spec)), http_body_(std::move(http_body)) {
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!ctx_ || SSL_CTX_use_certificate(ctx_.get(), material_.cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx_.get(), material_.key.get()) != 1) {
      throw std::runtime_error("cannot set up the TLS server");
    }
    // No session tickets: the validator hangs up right after the handshake, and tickets written
    // after that would only reset the connection.
    SSL_CTX_set_num_tickets(ctx_.get(), 0);
    if (alpn == Alpn::AcmeTls) SSL_CTX_set_alpn_select_cb(ctx_.get(), select_acme_tls, nullptr);
    // Noted while the ClientHello is read, before the client can finish the handshake and look.
    SSL_CTX_set_tlsext_servername_callback(ctx_.get(), note_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx_.get(), this);
    server_ = std::make_unique<LoopbackServer>([this](int fd, const std::atomic<bool>& stop) { serve(fd, stop); });
  }

  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] int accepted() const { return server_->accepted(); }
  [[nodiscard]] std::string server_name() const {
    const std::lock_guard lock(mutex_);
    return server_name_;
  }

 private:
  static int select_acme_tls(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                             unsigned int in_length, void*) {
    static const unsigned char kOurs[] =
        "\x0a"
        "acme-tls/1";
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, out_length, kOurs, sizeof kOurs - 1, in, in_length) !=
        OPENSSL_NPN_NEGOTIATED) {
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }

  static int note_server_name(SSL* ssl, int*, void* arg) {
    auto* self = static_cast<TlsServer*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const std::lock_guard lock(self->mutex_);
    self->server_name_ = name == nullptr ? "" : name;
    return SSL_TLSEXT_ERR_OK;
  }

  void serve(int fd, const std::atomic<bool>& stop) {
    const std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx_.get()));
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return;
    if (SSL_accept(ssl.get()) != 1) {
      ERR_clear_error();
      return;
    }
    if (http_body_) {
      std::string head;
      char buffer[1024];
      while (!contains(head, "\r\n\r\n")) {
        const int n = SSL_read(ssl.get(), buffer, sizeof buffer);
        if (n <= 0) return;
        head.append(buffer, static_cast<std::size_t>(n));
      }
      const std::string response = http_response(200, *http_body_);
      (void)SSL_write(ssl.get(), response.data(), static_cast<int>(response.size()));
      (void)SSL_shutdown(ssl.get());
      return;
    }
    wait_for_close(fd, stop);
    ERR_clear_error();
  }

  KeyAndCert material_;
  std::optional<std::string> http_body_;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  mutable std::mutex mutex_;
  std::string server_name_;
  std::unique_ptr<LoopbackServer> server_;  // last: stopped first
};

ValidationSettings tls_settings(std::uint16_t port) {
  ValidationSettings s;
  s.tlsalpn01_port = port;
  s.timeout = 2s;
  return s;
}

// The dns-identifier tests connect to 127.0.0.1 without DNS: a name given as an IP identifier
// would change the SNI, so these use the IP identifier and a matching IP SAN unless the name
// itself is under test.
TEST(AcmeValidationTlsAlpn01, ValidCertificateForAnIpIdentifierWithReverseNameSni) {
  CertSpec spec;
  spec.sans = "IP:127.0.0.1";
  TlsServer server(spec, Alpn::AcmeTls);
  const auto outcome = validate_tlsalpn01(tls_settings(server.port()), kLoopback, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  EXPECT_EQ(outcome.address, "127.0.0.1");
  EXPECT_EQ(server.server_name(), "1.0.0.127.in-addr.arpa");
}

TEST(AcmeValidationTlsAlpn01, WrongDigestIsIncorrectResponse) {
  CertSpec spec;
  spec.sans = "IP:127.0.0.1";
  spec.value = acme_identifier_value("some other key authorization");
  TlsServer server(spec, Alpn::AcmeTls);
  const auto outcome = validate_tlsalpn01(tls_settings(server.port()), kLoopback, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "incorrectResponse");
  EXPECT_TRUE(contains(outcome.detail, "acmeIdentifier")) << outcome.detail;
  EXPECT_TRUE(contains(outcome.detail, to_hex(crypto::sha256(as_bytes(kKeyAuthorization))))) << outcome.detail;
}

TEST(AcmeValidationTlsAlpn01, ServerWithoutAlpnIsTls) {
  CertSpec spec;
  spec.sans = "IP:127.0.0.1";
  TlsServer server(spec, Alpn::Ignore);
  const auto outcome = validate_tlsalpn01(tls_settings(server.port()), kLoopback, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "tls");
  EXPECT_TRUE(contains(outcome.detail, "did not negotiate the ALPN protocol acme-tls/1")) << outcome.detail;
}

TEST(AcmeValidationTlsAlpn01, ExtensionProblemsAreTls) {
  struct Case {
    const char* what;
    CertSpec spec;
    const char* expected;
  };
  std::vector<Case> cases(5);
  cases[0] = {"not critical", CertSpec{}, "not critical"};
  cases[0].spec.critical = false;
  cases[1] = {"missing", CertSpec{}, "no acmeIdentifier extension"};
  cases[1].spec.acme_identifier = false;
  cases[2] = {"raw digest, not DER", CertSpec{}, "not an OCTET STRING"};
  cases[2].spec.value = crypto::sha256(as_bytes(kKeyAuthorization));
  cases[3] = {"two names", CertSpec{}, "has 2 subjectAltName entries"};
  cases[3].spec.sans = "IP:127.0.0.1,DNS:x.example.test";
  cases[4] = {"another name", CertSpec{}, "is for DNS:x.example.test, not for 127.0.0.1"};
  for (std::size_t i = 0; i < 3; ++i) cases[i].spec.sans = "IP:127.0.0.1";
  for (const Case& c : cases) {
    TlsServer server(c.spec, Alpn::AcmeTls);
    const auto outcome = validate_tlsalpn01(tls_settings(server.port()), kLoopback, kKeyAuthorization);
    EXPECT_EQ(outcome.error_type, "tls") << c.what;
    EXPECT_TRUE(contains(outcome.detail, c.expected)) << c.what << ": " << outcome.detail;
    EXPECT_EQ(outcome.address, "127.0.0.1") << c.what;
  }
}

TEST(AcmeValidationTlsAlpn01, PlainTcpServerIsTls) {
  LoopbackServer server([](int fd, const std::atomic<bool>&) { send_all(fd, http_response(400, "not TLS")); });
  const auto outcome = validate_tlsalpn01(tls_settings(server.port()), kLoopback, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "tls");
  EXPECT_TRUE(contains(outcome.detail, "TLS handshake")) << outcome.detail;
}

TEST(AcmeValidationTlsAlpn01, SilentServerTimesOut) {
  LoopbackServer server([](int fd, const std::atomic<bool>& stop) { wait_for_close(fd, stop); });
  ValidationSettings settings = tls_settings(server.port());
  settings.timeout = 1s;
  const auto begin = Clock::now();
  const auto outcome = validate_tlsalpn01(settings, kLoopback, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "connection");
  EXPECT_LT(Clock::now() - begin, 5s);
}

TEST(AcmeValidationTlsAlpn01, AddressOutsideAllowedNetworksIsNeverContacted) {
  TlsServer server(CertSpec{}, Alpn::AcmeTls);
  ValidationSettings settings = tls_settings(server.port());
  settings.allowed_networks = {Cidr::parse("192.0.2.0/24")};
  const auto outcome = validate_tlsalpn01(settings, kLoopback, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "connection");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.accepted(), 0);
}

TEST(AcmeValidationHttp01, RedirectToHttpsIsFollowedWithoutVerifyingTheCertificate) {
  TlsServer https(CertSpec{}, Alpn::Ignore, std::string(kKeyAuthorization) + "\n");
  HttpServer server([&](const std::string&) {
    return http_response(302, "",
                         "Location: https://127.0.0.1:" + std::to_string(https.port()) + kChallengePath + "\r\n");
  });
  ValidationSettings settings = loopback_settings(server.port());
  settings.tlsalpn01_port = https.port();  // stands in for 443
  const auto outcome = validate_http01(settings, kLoopback, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  EXPECT_EQ(https.accepted(), 1);
  EXPECT_EQ(https.server_name(), "");  // no SNI for an address
}

int open_descriptors() {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

TEST(AcmeValidationResources, EveryPathClosesItsDescriptors) {
  const int before = open_descriptors();
  {
    HttpServer http([](const std::string& head) {
      return contains(head, "redirect") ? http_response(302, "", "Location: ftp://x/\r\n")
                                        : http_response(200, "wrong");
    });
    LoopbackServer silent([](int fd, const std::atomic<bool>& stop) { wait_for_close(fd, stop); });
    TlsServer tls(CertSpec{}, Alpn::AcmeTls);
    ValidationSettings settings = loopback_settings(http.port());
    settings.timeout = 300ms;
    for (int i = 0; i < 3; ++i) {
      EXPECT_FALSE(validate_http01(settings, kLoopback, kToken, kKeyAuthorization).valid);
      EXPECT_FALSE(validate_http01(settings, kLoopback, "redirect", kKeyAuthorization).valid);
      EXPECT_FALSE(validate_http01(loopback_settings(test::free_port()), kLoopback, kToken, kKeyAuthorization).valid);
      settings.http01_port = silent.port();
      EXPECT_FALSE(validate_http01(settings, kLoopback, kToken, kKeyAuthorization).valid);
      settings.http01_port = http.port();
      settings.tlsalpn01_port = tls.port();
      EXPECT_EQ(validate_tlsalpn01(settings, kLoopback, kKeyAuthorization).error_type, "tls");  // a DNS SAN
      settings.resolver = "127.0.0.1:1";
      EXPECT_EQ(validate_dns01(settings, {"dns", "x.example.test"}, kKeyAuthorization).error_type, "dns");
      settings.resolver.clear();
    }
  }
  EXPECT_EQ(open_descriptors(), before);
}

// ---- through a mock DNS server: pebble-challtestsrv ----

// pebble-challtestsrv in the background: its DNS server (A, AAAA and TXT records set through its
// management API) and its http-01 and tls-alpn-01 responders.
class ChallTestSrv {
 public:
  ChallTestSrv() {
    dns_port = test::free_port();
    management_port = test::free_port();
    http01_port = test::free_port();
    tlsalpn01_port = test::free_port();
    const auto at = [](std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); };
    // -defaultIPv4/-defaultIPv6 "": without them every unknown name resolves to 127.0.0.1 / ::1.
    std::vector<std::string> args{kChallTestSrv,
                                  "-dns01",
                                  at(dns_port),
                                  "-management",
                                  at(management_port),
                                  "-http01",
                                  at(http01_port),
                                  "-https01",
                                  "",
                                  "-tlsalpn01",
                                  at(tlsalpn01_port),
                                  "-defaultIPv4",
                                  "",
                                  "-defaultIPv6",
                                  ""};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, kChallTestSrv, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start pebble-challtestsrv");
    // Ready once the management API answers (it starts after the DNS server).
    const auto give_up = Clock::now() + 10s;
    while (post("/clear-txt", R"({"host":"ready.example.test."})") != 200) {
      if (Clock::now() > give_up) throw std::runtime_error("pebble-challtestsrv did not start");
      std::this_thread::sleep_for(50ms);
    }
  }
  ~ChallTestSrv() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(20ms);
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  ChallTestSrv(const ChallTestSrv&) = delete;
  ChallTestSrv& operator=(const ChallTestSrv&) = delete;

  // POSTs `json` to the management API; the HTTP status, or 0 when nothing answered.
  [[nodiscard]] int post(const std::string& path, const std::string& json) const {
    IpAddress loopback = *IpAddress::parse("127.0.0.1");
    ConnectResult c = connect_tcp(loopback, management_port, Clock::now() + 2s);
    if (!c.fd) return 0;
    PlainStream stream(std::move(c.fd));
    const std::string request = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                                "Content-Length: " + std::to_string(json.size()) + "\r\nConnection: close\r\n\r\n" +
                                json;
    if (!stream.write_all(request, Clock::now() + 2s).ok()) return 0;
    std::string response;
    while (response.size() < 12 && stream.read_some(response, 4096, Clock::now() + 2s).ok()) {
    }
    return response.size() >= 12 && response.rfind("HTTP/1.", 0) == 0 ? std::atoi(response.substr(9, 3).c_str()) : 0;
  }

  void add_a(const std::string& host, const std::string& address) const {
    ASSERT_EQ(post("/add-a", R"({"host":")" + host + R"(.","addresses":[")" + address + R"("]})"), 200);
  }
  void add_aaaa(const std::string& host, const std::string& address) const {
    ASSERT_EQ(post("/add-aaaa", R"({"host":")" + host + R"(.","addresses":[")" + address + R"("]})"), 200);
  }
  void set_txt(const std::string& host, const std::string& value) const {
    ASSERT_EQ(post("/set-txt", R"({"host":")" + host + R"(.","value":")" + value + R"("})"), 200);
  }

  [[nodiscard]] std::string resolver() const { return "127.0.0.1:" + std::to_string(dns_port); }

  std::uint16_t dns_port = 0;
  std::uint16_t management_port = 0;
  std::uint16_t http01_port = 0;
  std::uint16_t tlsalpn01_port = 0;

 private:
  pid_t pid_ = -1;
};

class AcmeValidationDns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(kChallTestSrv, X_OK) == 0) srv_ = std::make_unique<ChallTestSrv>();
  }
  static void TearDownTestSuite() { srv_.reset(); }
  void SetUp() override {
    // A missing mock DNS fails the test, as the other ACME tests do: skipped, dns-01 would go untested.
    if (!srv_) {
      FAIL() << kChallTestSrv << " is not installed (Debian package \"pebble\"); ./packaging/bootstrap.sh installs it";
    }
  }

  [[nodiscard]] ValidationSettings settings() const {
    ValidationSettings s;
    s.resolver = srv_->resolver();
    s.timeout = 3s;
    return s;
  }

  static std::string expected_txt(const std::string& key_authorization) {
    // base64url(SHA-256) written out independently of the code under test, through OpenSSL's
    // standard base64 with the alphabet swapped and the padding dropped.
    const Bytes digest = crypto::sha256(as_bytes(key_authorization));
    std::string b64(4 * ((digest.size() + 2) / 3) + 1, '\0');
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), digest.data(), static_cast<int>(digest.size()));
    b64.resize(static_cast<std::size_t>(n));
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    for (char& c : b64) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return b64;
  }

  static std::unique_ptr<ChallTestSrv> srv_;
};

std::unique_ptr<ChallTestSrv> AcmeValidationDns::srv_;

TEST_F(AcmeValidationDns, Dns01RightValue) {
  srv_->set_txt("_acme-challenge.right.example.test", expected_txt(kKeyAuthorization));
  const auto outcome = validate_dns01(settings(), {"dns", "right.example.test"}, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  EXPECT_EQ(outcome.address, "");
}

TEST_F(AcmeValidationDns, Dns01RightValueAmongOthers) {
  srv_->set_txt("_acme-challenge.several.example.test", "an old token");
  srv_->set_txt("_acme-challenge.several.example.test", expected_txt(kKeyAuthorization));
  const auto outcome = validate_dns01(settings(), {"dns", "several.example.test"}, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
}

TEST_F(AcmeValidationDns, Dns01WrongValueIsUnauthorized) {
  srv_->set_txt("_acme-challenge.wrong.example.test", expected_txt("another key authorization"));
  const auto outcome = validate_dns01(settings(), {"dns", "wrong.example.test"}, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "unauthorized");
  EXPECT_TRUE(contains(outcome.detail, "Incorrect TXT record \"" + expected_txt("another key authorization") +
                                           "\" found at _acme-challenge.wrong.example.test"))
      << outcome.detail;
  EXPECT_TRUE(contains(outcome.detail, expected_txt(kKeyAuthorization))) << outcome.detail;
}

TEST_F(AcmeValidationDns, Dns01NoRecordIsUnauthorized) {
  // challtestsrv answers a name it has no records for with NOERROR and no answers, never NXDOMAIN.
  const auto outcome = validate_dns01(settings(), {"dns", "nothing.example.test"}, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "unauthorized");
  EXPECT_TRUE(contains(outcome.detail, "No TXT record found at _acme-challenge.nothing.example.test"))
      << outcome.detail;
}

TEST_F(AcmeValidationDns, ResolverThatNeverAnswersIsDnsWithinTheTimeout) {
  // A UDP socket nobody reads: every query goes unanswered.
  Fd silent(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof a;
  ASSERT_EQ(::bind(silent.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(silent.get(), reinterpret_cast<sockaddr*>(&a), &length), 0);
  ValidationSettings s = settings();
  s.resolver = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  s.timeout = 1s;
  const auto begin = Clock::now();
  const auto txt = validate_dns01(s, {"dns", "slow.example.test"}, kKeyAuthorization);
  const auto http = validate_http01(s, {"dns", "slow.example.test"}, kToken, kKeyAuthorization);
  EXPECT_LT(Clock::now() - begin, 6s);
  EXPECT_EQ(txt.error_type, "dns");
  EXPECT_EQ(http.error_type, "dns");
  EXPECT_TRUE(contains(http.detail, "slow.example.test")) << http.detail;
  EXPECT_TRUE(contains(http.detail, s.resolver)) << http.detail;
}

TEST_F(AcmeValidationDns, MalformedResolverIsDns) {
  ValidationSettings s = settings();
  s.resolver = "dns.example.test:53";
  const auto outcome = validate_dns01(s, {"dns", "x.example.test"}, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "dns");
  EXPECT_TRUE(contains(outcome.detail, "dns.example.test:53")) << outcome.detail;
}

TEST_F(AcmeValidationDns, Http01ThroughANameResolvedToLoopback) {
  HttpServer server([](const std::string&) { return http_response(200, kKeyAuthorization); });
  srv_->add_a("web.example.test", "127.0.0.1");
  ValidationSettings s = settings();
  s.http01_port = server.port();
  const auto outcome = validate_http01(s, {"dns", "web.example.test"}, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  EXPECT_EQ(outcome.address, "127.0.0.1");
  const auto heads = server.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_TRUE(contains(heads[0], "\r\nHost: web.example.test:" + std::to_string(server.port()) + "\r\n")) << heads[0];
}

TEST_F(AcmeValidationDns, Http01FallsBackFromIpv6ToIpv4) {
  // ::1 is tried first and refuses (nothing listens there, or IPv6 is off); 127.0.0.1 answers.
  HttpServer server([](const std::string&) { return http_response(200, kKeyAuthorization); });
  srv_->add_a("dual.example.test", "127.0.0.1");
  srv_->add_aaaa("dual.example.test", "::1");
  ValidationSettings s = settings();
  s.http01_port = server.port();
  const auto outcome = validate_http01(s, {"dns", "dual.example.test"}, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  EXPECT_EQ(outcome.address, "127.0.0.1");
}

TEST_F(AcmeValidationDns, Http01RedirectToANameIsResolvedAgain) {
  std::atomic<std::uint16_t> port{0};
  HttpServer server([&](const std::string& head) {
    if (contains(head, "Host: redirecting.example.test:")) {
      return http_response(302, "",
                           "Location: http://Target.Example.Test:" + std::to_string(port.load()) + "/elsewhere\r\n");
    }
    return http_response(200, kKeyAuthorization);
  });
  port = server.port();
  srv_->add_a("redirecting.example.test", "127.0.0.1");
  srv_->add_a("target.example.test", "127.0.0.1");
  ValidationSettings s = settings();
  s.http01_port = server.port();
  const auto outcome = validate_http01(s, {"dns", "redirecting.example.test"}, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  const auto heads = server.heads();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[1].substr(0, heads[1].find("\r\n")), "GET /elsewhere HTTP/1.1");
  EXPECT_TRUE(contains(heads[1], "\r\nHost: target.example.test:" + std::to_string(server.port()) + "\r\n"))
      << heads[1];
}

TEST_F(AcmeValidationDns, Http01UnknownNameIsDns) {
  const auto outcome = validate_http01(settings(), {"dns", "unknown.example.test"}, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "dns");
  EXPECT_EQ(outcome.detail,
            "DNS lookup of unknown.example.test found no A or AAAA record (no data) at resolver " + srv_->resolver());
  EXPECT_EQ(outcome.address, "");
}

TEST_F(AcmeValidationDns, Http01NameResolvingOutsideAllowedNetworksIsNeverContacted) {
  HttpServer server([](const std::string&) { return http_response(200, kKeyAuthorization); });
  srv_->add_a("refused.example.test", "127.0.0.1");
  ValidationSettings s = settings();
  s.http01_port = server.port();
  s.allowed_networks = {Cidr::parse("10.0.0.0/8")};
  const auto outcome = validate_http01(s, {"dns", "refused.example.test"}, kToken, kKeyAuthorization);
  EXPECT_EQ(outcome.error_type, "connection");
  EXPECT_EQ(outcome.detail,
            "refused.example.test resolves to 127.0.0.1, which this CA's [acme] allowed_networks does not include");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(AcmeValidationDns, TlsAlpn01ThroughANameResolvedToLoopback) {
  TlsServer server(CertSpec{}, Alpn::AcmeTls);  // DNS:x.example.test
  srv_->add_a("x.example.test", "127.0.0.1");
  ValidationSettings s = settings();
  s.tlsalpn01_port = server.port();
  const auto outcome = validate_tlsalpn01(s, {"dns", "X.example.test"}, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  // DNS names are case-insensitive; sent in lower case, which challtestsrv also needs.
  EXPECT_EQ(server.server_name(), "x.example.test");
}

// pebble-challtestsrv's own responders: an independent implementation of the other side.
TEST_F(AcmeValidationDns, PebbleHttp01Responder) {
  ASSERT_EQ(srv_->post("/add-http01",
                       std::string(R"({"token":")") + kToken + R"(","content":")" + kKeyAuthorization + R"("})"),
            200);
  srv_->add_a("pebble-http.example.test", "127.0.0.1");
  ValidationSettings s = settings();
  s.http01_port = srv_->http01_port;
  const auto outcome = validate_http01(s, {"dns", "pebble-http.example.test"}, kToken, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  const auto wrong = validate_http01(s, {"dns", "pebble-http.example.test"}, kToken, "tok-EN_123.other");
  EXPECT_EQ(wrong.error_type, "incorrectResponse");
}

TEST_F(AcmeValidationDns, PebbleTlsAlpn01Responder) {
  ASSERT_EQ(srv_->post("/add-tlsalpn01",
                       std::string(R"({"host":"pebble-tls.example.test","content":")") + kKeyAuthorization + R"("})"),
            200);
  srv_->add_a("pebble-tls.example.test", "127.0.0.1");
  ValidationSettings s = settings();
  s.tlsalpn01_port = srv_->tlsalpn01_port;
  const auto outcome = validate_tlsalpn01(s, {"dns", "pebble-tls.example.test"}, kKeyAuthorization);
  EXPECT_TRUE(outcome.valid) << outcome.error_type << ": " << outcome.detail;
  const auto wrong = validate_tlsalpn01(s, {"dns", "pebble-tls.example.test"}, "tok-EN_123.other");
  EXPECT_EQ(wrong.error_type, "incorrectResponse") << wrong.detail;
}

}  // namespace
}  // namespace signet::daemon::acme
