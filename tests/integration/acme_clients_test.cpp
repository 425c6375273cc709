// ACME (RFC 8555) as real clients see it: lego (http-01, tls-alpn-01, dns-01 with a wildcard,
// revoke, renew) and certbot (standalone http-01) against a real signetd on loopback, with
// pebble-challtestsrv as the mock DNS that every validation asks (it answers every A query with
// 127.0.0.1 and serves the TXT records lego's dns-01 hook sets through its management API). The
// relying party is openssl: the certificates verify, the revocation shows in OCSP and the CRL.
// Then the refusals (a name outside the profile, nothing answering the challenge, a challenge
// server that never answers) and a restart that the accounts survive.
//
// One CA and one signetd for the suite; everything listens on 127.0.0.1 on ports from free_port().
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/acme_harness.h"
#include "support/openssl_cli.h"
#include "support/postgres_server.h"
#include "support/process.h"
#include "support/signetd_process.h"
#include "support/temp_dir.h"

extern char** environ;

namespace signet::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kSignetd = SIGNETD_PATH;
const std::string kSignet = SIGNET_CLI_PATH;
constexpr int kValidationTimeoutSeconds = 3;  // [acme] validation_timeout for the suite

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

std::size_t count_matches(const std::string& text, const std::regex& re) {
  return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re),
                                                std::sregex_iterator()));
}

// The program `name` in PATH, or "".
std::string in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string entry = rest.substr(0, colon);
    rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
    const fs::path candidate = fs::path(entry.empty() ? "." : entry) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

// True when something accepts TCP connections on 127.0.0.1:port.
bool port_open(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

// A helper program in the background (pebble-challtestsrv), stdout and stderr in `log`. It dies
// with the test process (PR_SET_PDEATHSIG) and is stopped (SIGTERM, then SIGKILL) on destruction.
class BackgroundProcess {
 public:
  BackgroundProcess(std::vector<std::string> argv, const fs::path& log) : log_(log) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) throw std::runtime_error("cannot create " + log.string());
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls from here on
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(out);
    if (pid_ < 0) throw std::runtime_error("fork failed");
  }
  ~BackgroundProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(20ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  [[nodiscard]] bool running() {
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }
  [[nodiscard]] std::string log() const { return fs::exists(log_) ? read_text(log_) : std::string(); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
};

class AcmeClientsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_.clear();
    for (const char* tool : {"lego", "certbot", "pebble-challtestsrv", "openssl", "curl"}) {
      if (in_path(tool).empty()) {
        setup_error_ += std::string(tool) + " is not installed (not in PATH); ./packaging/bootstrap.sh installs it. ";
      }
    }
    if (!setup_error_.empty()) return;

    dir_ = new TempDir();
    const fs::path d = dir_->path();
    const ProcessResult setup = make_test_ca(kSignet, d, "issuing-ca", "ACME Clients Test CA", "acme clients passphrase");
    if (setup.exit_code != 0) {
      setup_error_ = "signet setup failed: " + describe(setup);
      return;
    }
    http01_port_ = free_port();
    tlsalpn01_port_ = free_port();
    dns_port_ = free_port();
    mgmt_port_ = free_port();
    std::string config = read_text(d / "signetd.toml");
    config += "\n[acme]\nenabled = true\nhttp01_port = " + std::to_string(http01_port_) +
              "\ntlsalpn01_port = " + std::to_string(tlsalpn01_port_) + "\nresolver = \"127.0.0.1:" +
              std::to_string(dns_port_) + "\"\nprofile = \"acme-web\"\nvalidation_timeout = \"" +
              std::to_string(kValidationTimeoutSeconds) +
              "s\"\n"
              "[crl]\ndebounce = \"1s\"\n"
              "[profiles.acme-web]\nextended_key_usage = [\"serverAuth\"]\n"
              "key_usage = [\"digitalSignature\", \"keyEncipherment\"]\ndns_suffixes = [\"example.com\"]\n"
              "ip_networks = [\"127.0.0.0/8\"]\nallow_wildcards = true\n";
    config += test_ledger_config("acme_clients");
    write_text(d / "signetd.toml", config);

    // The mock DNS; its HTTP challenge servers are off (the clients answer the challenges).
    challtestsrv_ = new BackgroundProcess(
        {"pebble-challtestsrv", "-dns01", "127.0.0.1:" + std::to_string(dns_port_), "-management",
         "127.0.0.1:" + std::to_string(mgmt_port_), "-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv6", ""},
        d / "challtestsrv.log");
    const auto deadline = Clock::now() + 10s;
    while (!port_open(mgmt_port_) && challtestsrv_->running() && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
    if (!port_open(mgmt_port_)) {
      setup_error_ = "pebble-challtestsrv did not start: " + challtestsrv_->log();
      return;
    }

    // lego's dns-01 hook (the exec provider): sets and clears TXT records in the mock DNS.
    const fs::path hook = d / "dns-hook.sh";
    const std::string mgmt = "http://127.0.0.1:" + std::to_string(mgmt_port_);
    write_text(hook, "#!/bin/sh\ncase \"$1\" in\n"
                     "  present) exec curl -sS --fail --max-time 5 -d \"{\\\"host\\\":\\\"$2\\\",\\\"value\\\":\\\"$3\\\"}\" " +
                         mgmt + "/set-txt ;;\n"
                                "  cleanup) exec curl -sS --fail --max-time 5 -d \"{\\\"host\\\":\\\"$2\\\"}\" " +
                         mgmt + "/clear-txt ;;\nesac\n");
    fs::permissions(hook, fs::perms::owner_all);

    start_daemon("signetd.log");
    if (https_.empty()) setup_error_ = "signetd did not start: " + (daemon_ ? daemon_->log() : std::string());
  }

  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    delete challtestsrv_;
    challtestsrv_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }
  void TearDown() override {
    if (!HasFailure() || !setup_error_.empty()) return;
    if (daemon_ != nullptr) std::cerr << "signetd log:\n" << daemon_->log() << "\n";
    if (challtestsrv_ != nullptr) std::cerr << "pebble-challtestsrv log:\n" << challtestsrv_->log() << "\n";
  }

  static void start_daemon(const std::string& log_name) {
    daemon_ = new SignetdProcess(kSignetd, dir() / "signetd.toml", dir() / log_name);
    https_.clear();
    http_.clear();
    if (!daemon_->wait_for_log("listening on")) return;
    std::tie(https_, http_) = daemon_->urls();
  }

  static fs::path dir() { return dir_->path(); }
  static fs::path ca_pem() { return dir() / "ca.pem"; }
  static std::string directory_url() { return https_ + "/acme/directory"; }
  static std::string port(std::uint16_t p) { return "127.0.0.1:" + std::to_string(p); }

  // Environment for the clients: trust the suite's CA, and never a proxy (all of this is loopback).
  static ProcessOptions client_options(int timeout_seconds) {
    ProcessOptions o;
    o.timeout_seconds = timeout_seconds;
    o.env["LEGO_CA_CERTIFICATES"] = ca_pem().string();
    o.env["REQUESTS_CA_BUNDLE"] = ca_pem().string();
    o.env["NO_PROXY"] = "*";
    o.unset_env = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    return o;
  }

  // `lego --server <signetd> --email a@example.com --accept-tos --path <path> args...`.
  static ProcessResult lego(const fs::path& path, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env = {}, int timeout_seconds = 60) {
    std::vector<std::string> argv = {"lego",       "--server", directory_url(), "--email", "a@example.com",
                                     "--accept-tos", "--path",   path.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions o = client_options(timeout_seconds);
    for (const auto& [k, v] : env) o.env[k] = v;
    return run_process(argv, o);
  }
  // lego for `domain` over http-01, answering on the suite's http01 port; `command` is run or renew.
  static ProcessResult lego_http01(const fs::path& path, const std::string& domain,
                                   const std::vector<std::string>& command = {"run"}) {
    std::vector<std::string> args = {"--domains", domain, "--http", "--http.port", port(http01_port_)};
    args.insert(args.end(), command.begin(), command.end());
    return lego(path, args);
  }

  // Checks that `cert` chains to the suite's CA (openssl verify) and names `names` as DNS SANs.
  static void expect_verifies(const fs::path& cert, const std::vector<std::string>& names) {
    ASSERT_TRUE(fs::exists(cert)) << cert;
    const ProcessResult verify =
        run_process({"openssl", "verify", "-purpose", "sslserver", "-CAfile", ca_pem().string(), cert.string()});
    EXPECT_EQ(verify.exit_code, 0) << describe(verify);
    EXPECT_TRUE(contains(verify.out, cert.string() + ": OK")) << describe(verify);
    const std::string text = openssl({"x509", "-in", cert.string(), "-noout", "-text"});
    for (const auto& n : names) EXPECT_TRUE(contains(text, "DNS:" + n)) << n << " missing in\n" << text;
    EXPECT_TRUE(contains(text, "TLS Web Server Authentication")) << text;
    EXPECT_FALSE(contains(text, "TLS Web Client Authentication")) << text;
  }

  // The certificate's serial as openssl prints it (upper-case hex).
  static std::string serial_of(const fs::path& cert) {
    std::string s = openssl({"x509", "-in", cert.string(), "-noout", "-serial"});
    s = s.substr(s.find('=') + 1);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }

  // `openssl ocsp` against the daemon's POST /ocsp; its stdout and stderr together.
  static std::string ocsp_status(const fs::path& cert) {
    const ProcessResult r = run_process({"openssl", "ocsp", "-issuer", ca_pem().string(), "-cert", cert.string(),
                                         "-url", http_ + "/ocsp", "-CAfile", ca_pem().string(), "-resp_text"});
    return r.out + r.err;
  }

  // Waits (bounded) until the CRL at /crl lists `serial`.
  static bool crl_lists(const std::string& serial, std::string& last_text) {
    const fs::path der = dir() / "crl.der";
    const auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline) {
      const ProcessResult r =
          run_process({"curl", "-sS", "--fail", "--max-time", "10", "-o", der.string(), http_ + "/crl"});
      if (r.exit_code == 0) {
        last_text = run_process({"openssl", "crl", "-inform", "DER", "-in", der.string(), "-noout", "-text"}).out;
        if (contains(last_text, "Serial Number: " + serial)) return true;
      } else {
        last_text = describe(r);
      }
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  // The id of the ACME account lego saved under `path` (from its registration URI).
  static std::string account_id(const fs::path& path) {
    for (const auto& entry : fs::recursive_directory_iterator(path / "accounts")) {
      if (entry.path().filename() != "account.json") continue;
      const auto j = nlohmann::json::parse(read_text(entry.path()), nullptr, false);
      const std::string uri = j.is_object() ? j["registration"].value("uri", "") : "";
      const std::size_t at = uri.rfind("/acme/acct/");
      if (at != std::string::npos) return uri.substr(at + 11);
    }
    ADD_FAILURE() << "no account.json with a registration under " << path;
    return "<none>";
  }

  // How many ACME accounts the running signetd has logged as created.
  static std::size_t accounts_created() {
    return count_matches(daemon_->log(), std::regex("acme: account \\S+ created from"));
  }

  // A value from the public /metrics endpoint, -1 when absent.
  static double metric(const std::string& series) {
    const ProcessResult r = run_process({"curl", "-sS", "--max-time", "10", http_ + "/metrics"});
    const std::size_t at = r.out.find("\n" + series + " ");
    return at == std::string::npos ? -1.0 : std::stod(r.out.substr(at + series.size() + 2));
  }

  static std::string setup_error_;
  static TempDir* dir_;
  static SignetdProcess* daemon_;
  static BackgroundProcess* challtestsrv_;
  static std::string https_;
  static std::string http_;
  static std::uint16_t http01_port_, tlsalpn01_port_, dns_port_, mgmt_port_;
};
std::string AcmeClientsTest::setup_error_;
TempDir* AcmeClientsTest::dir_ = nullptr;
SignetdProcess* AcmeClientsTest::daemon_ = nullptr;
BackgroundProcess* AcmeClientsTest::challtestsrv_ = nullptr;
std::string AcmeClientsTest::https_;
std::string AcmeClientsTest::http_;
std::uint16_t AcmeClientsTest::http01_port_ = 0;
std::uint16_t AcmeClientsTest::tlsalpn01_port_ = 0;
std::uint16_t AcmeClientsTest::dns_port_ = 0;
std::uint16_t AcmeClientsTest::mgmt_port_ = 0;

TEST_F(AcmeClientsTest, LegoHttp01Issues) {
  const fs::path path = dir() / "lego-http01";
  const ProcessResult r = lego_http01(path, "test.example.com");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  expect_verifies(path / "certificates" / "test.example.com.crt", {"test.example.com"});
  // The bundle lego saved is the leaf and then the CA.
  const std::string bundle = read_text(path / "certificates" / "test.example.com.crt");
  EXPECT_TRUE(contains(bundle, read_text(ca_pem()))) << bundle;
  EXPECT_TRUE(contains(daemon_->log(), "acme: http-01 for dns:test.example.com")) << daemon_->log();
}

TEST_F(AcmeClientsTest, LegoTlsAlpn01Issues) {
  const fs::path path = dir() / "lego-tlsalpn01";
  const ProcessResult r =
      lego(path, {"--domains", "alpn.example.com", "--tls", "--tls.port", port(tlsalpn01_port_), "run"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  expect_verifies(path / "certificates" / "alpn.example.com.crt", {"alpn.example.com"});
  EXPECT_TRUE(contains(daemon_->log(), "acme: tls-alpn-01 for dns:alpn.example.com")) << daemon_->log();
}

TEST_F(AcmeClientsTest, LegoDns01IssuesForANameAndItsWildcard) {
  const fs::path path = dir() / "lego-dns01";
  const ProcessResult r = lego(path,
                               {"--domains", "dns.example.com", "--domains", "*.dns.example.com", "--dns", "exec",
                                "--dns.resolvers", port(dns_port_), "--dns.disable-cp", "run"},
                               {{"EXEC_PATH", (dir() / "dns-hook.sh").string()},
                                {"EXEC_POLLING_INTERVAL", "1"},
                                {"EXEC_PROPAGATION_TIMEOUT", "10"},
                                {"EXEC_SEQUENCE_INTERVAL", "1"}});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  expect_verifies(path / "certificates" / "dns.example.com.crt", {"dns.example.com", "*.dns.example.com"});
  // Two authorizations, both validated by dns-01 (a wildcard can only be validated that way; its
  // authorization names the base domain, RFC 8555 7.1.4).
  const std::string log = daemon_->log();
  EXPECT_EQ(count_matches(log, std::regex("acme: dns-01 for dns:dns\\.example\\.com \\(account " + account_id(path) +
                                          "\\) is valid")),
            2U)
      << log;
}

TEST_F(AcmeClientsTest, CertbotStandaloneHttp01Issues) {
  const fs::path d = dir() / "certbot";
  const ProcessResult r = run_process(
      {"certbot", "certonly", "--standalone", "--http-01-port", std::to_string(http01_port_), "--http-01-address",
       "127.0.0.1", "--server", directory_url(), "-d", "cb.example.com", "--agree-tos", "-m", "a@example.com",
       "--non-interactive", "--no-eff-email", "--config-dir", (d / "conf").string(), "--work-dir",
       (d / "work").string(), "--logs-dir", (d / "logs").string()},
      client_options(90));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const fs::path live = d / "conf" / "live" / "cb.example.com";
  expect_verifies(live / "cert.pem", {"cb.example.com"});
  // fullchain.pem is the leaf and then the CA, as certbot got it from the certificate URL.
  EXPECT_EQ(read_text(live / "fullchain.pem"), read_text(live / "cert.pem") + read_text(ca_pem()));
}

TEST_F(AcmeClientsTest, LegoRevokeShowsInOcspAndCrl) {
  const fs::path path = dir() / "lego-revoke";
  ProcessResult r = lego_http01(path, "revoke.example.com");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  // The leaf alone (lego's file is the bundle).
  const fs::path cert = dir() / "revoked.pem";
  openssl({"x509", "-in", (path / "certificates" / "revoke.example.com.crt").string(), "-out", cert.string()});
  const std::string serial = serial_of(cert);
  std::string ocsp = ocsp_status(cert);
  ASSERT_TRUE(contains(ocsp, cert.string() + ": good")) << ocsp;

  r = lego(path, {"--domains", "revoke.example.com", "revoke", "--keep", "--reason", "1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(daemon_->log(), "revoked by")) << daemon_->log();

  // OCSP says so at once, with the reason; the response verifies against the CA.
  ocsp = ocsp_status(cert);
  EXPECT_TRUE(contains(ocsp, "Response verify OK")) << ocsp;
  EXPECT_TRUE(contains(ocsp, cert.string() + ": revoked")) << ocsp;
  EXPECT_TRUE(contains(ocsp, "Reason: keyCompromise")) << ocsp;
  // The CRL after its debounce.
  std::string crl;
  EXPECT_TRUE(crl_lists(serial, crl)) << "the CRL never listed " << serial << ":\n" << crl;
  EXPECT_TRUE(contains(crl, "Key Compromise")) << crl;

  // Revoking it again is refused, and lego says why.
  r = lego(path, {"--domains", "revoke.example.com", "revoke", "--keep"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "alreadyRevoked")) << describe(r);
}

TEST_F(AcmeClientsTest, SecondOrderAndRenewReuseTheAccount) {
  const fs::path path = dir() / "lego-reuse";
  const std::size_t accounts_before = accounts_created();
  const double metric_before = metric("signet_acme_accounts_created_total");
  ProcessResult r = lego_http01(path, "reuse.example.com");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const fs::path crt = path / "certificates" / "reuse.example.com.crt";
  const std::string first = serial_of(crt);
  ASSERT_TRUE(daemon_->wait_for_log_count("created from", accounts_before + 1, 5s));
  EXPECT_EQ(accounts_created(), accounts_before + 1);

  // A second run with the same --path: the saved account, a new certificate.
  r = lego_http01(path, "reuse.example.com");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::string second = serial_of(crt);
  EXPECT_NE(first, second);
  // And a renewal.
  r = lego_http01(path, "reuse.example.com", {"renew", "--days", "36500", "--no-random-sleep"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(serial_of(crt), second);
  expect_verifies(crt, {"reuse.example.com"});

  EXPECT_EQ(accounts_created(), accounts_before + 1) << daemon_->log();
  // All three certificates went to the one account.
  EXPECT_EQ(count_matches(daemon_->log(), std::regex("acme-account=" + account_id(path) + " serial=")), 3U)
      << daemon_->log();
  if (metric_before >= 0) {
    EXPECT_EQ(metric("signet_acme_accounts_created_total"), metric_before + 1);
  }
}

TEST_F(AcmeClientsTest, NameOutsideTheProfileIsRejectedIdentifier) {
  const fs::path path = dir() / "lego-rejected";
  const ProcessResult r = lego_http01(path, "test.example.org");
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "rejectedIdentifier")) << describe(r);
  EXPECT_FALSE(fs::exists(path / "certificates" / "test.example.org.crt"));
}

TEST_F(AcmeClientsTest, NothingListeningFailsWithConnectionQuickly) {
  // lego answers on another port, so nothing listens where signetd connects.
  const fs::path path = dir() / "lego-nothing";
  const auto started = Clock::now();
  const ProcessResult r =
      lego(path, {"--domains", "nothing.example.com", "--http", "--http.port", port(free_port()), "run"});
  const double took = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "urn:ietf:params:acme:error:connection")) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "nothing.example.com")) << describe(r);
  // A refused connection fails at once; lego's whole run stays inside the validation timeout
  // (plus its own start, account and order, well under a second on loopback).
  EXPECT_LT(took, kValidationTimeoutSeconds + 2.0) << describe(r);
  EXPECT_FALSE(fs::exists(path / "certificates" / "nothing.example.com.crt"));
}

TEST_F(AcmeClientsTest, ChallengeServerThatNeverAnswersTimesOut) {
  // Connections to the http01 port complete but hear nothing: the validation must give up after
  // [acme] validation_timeout, and lego then fails with a connection problem.
  SilentListener silent(http01_port_);
  const fs::path path = dir() / "lego-silent";
  const auto started = Clock::now();
  const ProcessResult r =
      lego(path, {"--domains", "silent.example.com", "--http", "--http.port", port(free_port()), "run"});
  const double took = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "urn:ietf:params:acme:error:connection")) << describe(r);
  EXPECT_GE(took, kValidationTimeoutSeconds - 0.5) << describe(r);
  EXPECT_LT(took, kValidationTimeoutSeconds + 4.0) << describe(r);
  EXPECT_TRUE(contains(daemon_->log(), "acme: http-01 for dns:silent.example.com")) << daemon_->log();
}

// Last: it restarts the suite's signetd.
TEST_F(AcmeClientsTest, AccountSurvivesARestart) {
  const fs::path path = dir() / "lego-restart";
  ProcessResult r = lego_http01(path, "restart.example.com");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const fs::path crt = path / "certificates" / "restart.example.com.crt";
  const std::string before = serial_of(crt);

  // Pin the ports signetd got, so that the directory URL (lego files its accounts under the
  // server's host and port) stays the same across the restart.
  const std::string old_https = https_;
  const std::string old_http = http_;
  const auto port_of = [](const std::string& url) { return url.substr(url.rfind(':') + 1); };
  std::string config = read_text(dir() / "signetd.toml");
  const std::regex https_port("(\\[https\\][^\\[]*?\\nport = )0\\n");
  const std::regex http_port("(\\[http\\][^\\[]*?\\nport = )0\\n");
  ASSERT_TRUE(std::regex_search(config, https_port)) << config;
  ASSERT_TRUE(std::regex_search(config, http_port)) << config;
  config = std::regex_replace(config, https_port, "$01" + port_of(old_https) + "\n");
  config = std::regex_replace(config, http_port, "$01" + port_of(old_http) + "\n");
  write_text(dir() / "signetd.toml", config);

  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait(20s), 0) << daemon_->log();
  delete daemon_;
  daemon_ = nullptr;
  start_daemon("signetd-restarted.log");
  ASSERT_NE(daemon_, nullptr);
  ASSERT_EQ(https_, old_https) << daemon_->log();
  ASSERT_EQ(http_, old_http) << daemon_->log();

  r = lego_http01(path, "restart.example.com", {"renew", "--days", "36500", "--no-random-sleep"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(serial_of(crt), before);
  expect_verifies(crt, {"restart.example.com"});
  // The renewal used the account from before the restart (the new process created none), and
  // the certificate went to it.
  EXPECT_EQ(accounts_created(), 0U) << daemon_->log();
  EXPECT_TRUE(contains(daemon_->log(), "acme-account=" + account_id(path) + " serial=")) << daemon_->log();
}

}  // namespace
}  // namespace signet::test
