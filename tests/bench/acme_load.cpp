// ACME load: complete orders per second against a running signetd, as many clients would make
// them. Each worker thread is one client with its own account key and one keep-alive HTTPS
// connection; each order is newOrder, the authorization, the http-01 challenge (answered by this
// program's own responder, which signetd connects to), finalize with a fresh CSR, and the
// certificate download: everything a client does but the account creation, which happens once per
// worker. Names are distinct per order, so that no authorization is reused and every order costs a
// validation.
//
// Usage: signet_acme_load DIRECTORY_URL CA_PEM RESPONDER_PORT [--workers N] [--seconds N]
// Prints orders completed, orders a second, and the failures by kind. tests/bench/acme_load.sh
// sets up signetd and the mock DNS and runs it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <netdb.h>
#include <openssl/ssl.h>
#include <strings.h>

#include <nlohmann/json.hpp>

#include "signet/acme/jws.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"

namespace {

using json = nlohmann::json;

// token -> key authorization, for the responder.
std::mutex g_tokens_mutex;
std::map<std::string, std::string> g_tokens;

// A minimal http-01 responder: one thread per connection, GET /.well-known/acme-challenge/TOKEN.
void respond(int fd) {
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    request.append(buf, static_cast<std::size_t>(n));
  }
  const std::string prefix = "GET /.well-known/acme-challenge/";
  std::string body, status = "404 Not Found";
  if (request.starts_with(prefix)) {
    const std::string token = request.substr(prefix.size(), request.find(' ', prefix.size()) - prefix.size());
    std::lock_guard lock(g_tokens_mutex);
    if (auto it = g_tokens.find(token); it != g_tokens.end()) {
      body = it->second;
      status = "200 OK";
    }
  }
  const std::string answer = "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\nConnection: close\r\n\r\n" + body;
  (void)::write(fd, answer.data(), answer.size());
  ::close(fd);
}

void responder(std::uint16_t port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s, 512) != 0) {
    std::perror("responder");
    std::exit(1);
  }
  for (;;) {
    const int fd = ::accept(s, nullptr, nullptr);
    if (fd >= 0) std::thread(respond, fd).detach();
  }
}

struct Answer {
  int status = 0;
  std::string body;
  std::string location;
  std::string nonce;
  [[nodiscard]] json body_json() const { return json::parse(body, nullptr, false); }
};

// One client: an account and a keep-alive TLS connection (OpenSSL directly: Asio's SSL wrapper
// needs OpenSSL's deprecated RSA API, which this build leaves out).
class Client {
 public:
  Client(std::string host, std::string port, const std::string& ca_pem)
      : ctx_(SSL_CTX_new(TLS_client_method()), SSL_CTX_free), host_(std::move(host)), port_(std::move(port)) {
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
    if (SSL_CTX_load_verify_locations(ctx_.get(), ca_pem.c_str(), nullptr) != 1) {
      throw std::runtime_error("cannot read " + ca_pem);
    }
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    connect();
  }
  ~Client() { disconnect(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Answer request(const std::string& method, const std::string& target, const std::string& body = {}) {
    for (int attempt = 0;; ++attempt) {
      try {
        return exchange(method, target, body);
      } catch (const std::exception&) {
        if (attempt == 2) throw;
        connect();
      }
    }
  }

  Answer post(const std::string& url, const std::string& payload) {
    if (nonce_.empty()) (void)request("HEAD", "/acme/new-nonce");
    json header{{"url", url}, {"nonce", nonce_}};
    if (kid_.empty()) {
      header["jwk"] = signet::acme::jwk_of(key_.get());
    } else {
      header["kid"] = kid_;
    }
    nonce_.clear();
    return request("POST", path_of(url), signet::acme::sign_jws(key_.get(), header, payload));
  }

  void register_account() {
    const Answer a = post(url_of("/acme/new-account"), R"({"termsOfServiceAgreed": true})");
    if (a.status != 201 && a.status != 200) throw std::runtime_error("new-account: " + a.body);
    kid_ = a.location;
  }

  [[nodiscard]] std::string thumbprint() const {
    return signet::acme::parse_jwk(signet::acme::jwk_of(key_.get())).thumbprint;
  }
  [[nodiscard]] std::string url_of(const std::string& path) const { return "https://" + host_ + ":" + port_ + path; }

 private:
  std::string path_of(const std::string& url) const {
    const std::string base = url_of("");
    return url.starts_with(base) ? url.substr(base.size()) : url;
  }

  void disconnect() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    ssl_ = nullptr;
    fd_ = -1;
  }

  void connect() {
    disconnect();
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found) != 0) throw std::runtime_error("resolve");
    fd_ = ::socket(found->ai_family, SOCK_STREAM, 0);
    const int rc = ::connect(fd_, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    if (rc != 0) throw std::runtime_error("connect");
    ssl_ = SSL_new(ctx_.get());
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, host_.c_str());
    if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake");
    pending_.clear();
  }

  void send_all(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const int n = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
      if (n <= 0) throw std::runtime_error("write");
      done += static_cast<std::size_t>(n);
    }
  }

  void fill() {
    char buf[16384];
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("read");
    pending_.append(buf, static_cast<std::size_t>(n));
  }

  static std::string header_value(const std::string& head, const std::string& name) {
    std::size_t at = 0;
    while ((at = head.find("\r\n", at)) != std::string::npos) {
      at += 2;
      if (strncasecmp(head.c_str() + at, name.c_str(), name.size()) == 0 && head[at + name.size()] == ':') {
        const std::size_t start = head.find_first_not_of(' ', at + name.size() + 1);
        return head.substr(start, head.find("\r\n", start) - start);
      }
    }
    return {};
  }

  Answer exchange(const std::string& method, const std::string& target, const std::string& body) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host_ + ":" + port_ + "\r\n";
    if (method == "POST") req += "Content-Type: application/jose+json\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    send_all(req);
    std::size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) fill();
    const std::string head = pending_.substr(0, end + 2);
    pending_.erase(0, end + 4);
    Answer a;
    a.status = std::atoi(head.c_str() + head.find(' ') + 1);
    const std::string length = header_value(head, "Content-Length");
    const std::size_t size = method == "HEAD" || length.empty() ? 0 : std::stoul(length);
    while (pending_.size() < size) fill();
    a.body = pending_.substr(0, size);
    pending_.erase(0, size);
    a.location = header_value(head, "Location");
    a.nonce = header_value(head, "Replay-Nonce");
    if (!a.nonce.empty()) nonce_ = a.nonce;
    if (header_value(head, "Connection") == "close") connect();
    return a;
  }

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
  std::string host_, port_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string pending_;
  signet::ossl::Pkey key_ = signet::crypto::generate_key(signet::crypto::KeyAlgorithm::EcP256);
  std::string kid_, nonce_;
};

std::atomic<std::uint64_t> g_names{0};

// One complete order; "" on success, else what failed.
std::string order(Client& c, const std::string& thumbprint) {
  const std::string name = "load" + std::to_string(g_names++) + ".example.com";
  const Answer created = c.post(c.url_of("/acme/new-order"),
                                json{{"identifiers", {{{"type", "dns"}, {"value", name}}}}}.dump());
  if (created.status != 201) return "new-order " + std::to_string(created.status);
  const json o = created.body_json();
  const json authz = c.post(o["authorizations"][0].get<std::string>(), "").body_json();
  std::string challenge_url;
  for (const json& ch : authz["challenges"]) {
    if (ch["type"] != "http-01") continue;
    const std::string token = ch["token"];
    std::lock_guard lock(g_tokens_mutex);
    g_tokens[token] = token + "." + thumbprint;
    challenge_url = ch["url"];
  }
  json ch = c.post(challenge_url, "{}").body_json();
  for (int i = 0; i < 50 && ch.value("status", "") == "processing"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ch = c.post(challenge_url, "").body_json();
  }
  if (ch.value("status", "") != "valid") return "challenge " + ch.value("status", "?");
  const signet::ossl::Pkey key = signet::crypto::generate_key(signet::crypto::KeyAlgorithm::EcP256);
  const signet::crypto::CertificateRequest csr = signet::crypto::make_request(key.get(), name);
  const Answer done =
      c.post(o["finalize"].get<std::string>(), json{{"csr", signet::acme::base64url_encode(csr.der())}}.dump());
  const json finished = done.body_json();
  if (done.status != 200 || finished.value("status", "") != "valid") return "finalize " + std::to_string(done.status);
  const Answer pem = c.post(finished["certificate"].get<std::string>(), "");
  if (pem.status != 200 || pem.body.find("BEGIN CERTIFICATE") == std::string::npos) return "download";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: signet_acme_load https://HOST:PORT CA_PEM RESPONDER_PORT [--workers N] [--seconds N]\n";
    return 2;
  }
  const std::string base = argv[1];
  const std::string ca = argv[2];
  const auto responder_port = static_cast<std::uint16_t>(std::stoi(argv[3]));
  int workers = 32, seconds = 10;
  for (int i = 4; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--workers") workers = std::stoi(argv[i + 1]);
    if (std::string(argv[i]) == "--seconds") seconds = std::stoi(argv[i + 1]);
  }
  const std::string hostport = base.substr(base.find("://") + 3);
  const std::string host = hostport.substr(0, hostport.rfind(':'));
  const std::string port = hostport.substr(hostport.rfind(':') + 1);
  std::thread(responder, responder_port).detach();

  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < workers; ++i) {
    clients.push_back(std::make_unique<Client>(host, port, ca));
    clients.back()->register_account();
  }
  std::atomic<std::uint64_t> completed{0};
  std::mutex failures_mutex;
  std::map<std::string, int> failures;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (auto& c : clients) {
    threads.emplace_back([&, client = c.get()] {
      const std::string thumbprint = client->thumbprint();
      while (std::chrono::steady_clock::now() < end) {
        std::string failed;
        try {
          failed = order(*client, thumbprint);
        } catch (const std::exception& e) {
          failed = std::string("exception: ") + e.what();
        }
        if (failed.empty()) {
          ++completed;
        } else {
          std::lock_guard lock(failures_mutex);
          ++failures[failed.substr(0, 80)];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("workers %d, %.1f s: %llu complete orders, %.1f orders/s\n", workers, elapsed,
              static_cast<unsigned long long>(completed.load()), static_cast<double>(completed.load()) / elapsed);
  for (const auto& [what, n] : failures) std::printf("  failed %d: %s\n", n, what.c_str());
  return failures.empty() ? 0 : 1;
}
