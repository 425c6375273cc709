// SetupPlan, validate() and the answers file (common/src/setup/plan.cpp): validate() reports every
// problem at once, each tied to its field, including the machine's own state (a port already in
// use, a read-only or too open data directory); the answers file round-trips a plan exactly and
// refuses, naming the key and line, anything it cannot read.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "signet/core/error.h"
#include "signet/setup/plan.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"
#include "support/tmpfs.h"

namespace signet::setup {
namespace {

namespace fs = std::filesystem;
using test::capture_error;

// A socket bound (and optionally listening) on 127.0.0.1; port 0 picks a free one.
class BoundSocket {
 public:
  explicit BoundSocket(std::uint16_t port = 0, bool listen = true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind() failed");
    if (listen && ::listen(fd_, 4) != 0) throw std::runtime_error("listen() failed");
    socklen_t len = sizeof a;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) throw std::runtime_error("getsockname");
    port_ = ntohs(a.sin_port);
  }
  ~BoundSocket() { ::close(fd_); }
  BoundSocket(const BoundSocket&) = delete;
  BoundSocket& operator=(const BoundSocket&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A loopback port that nothing listens on (bound to 0, read, closed; never connected, so no
// TIME_WAIT keeps it).
std::uint16_t free_port() { return BoundSocket(0, false).port(); }

using FieldCode = std::pair<std::string, std::string>;

std::set<FieldCode> field_codes(const std::vector<PlanProblem>& problems) {
  std::set<FieldCode> out;
  for (const auto& p : problems) out.emplace(p.field, p.code);
  return out;
}

std::string describe(const std::vector<PlanProblem>& problems) {
  std::string out;
  for (const auto& p : problems) out += "\n  " + p.field + " [" + p.code + "]: " + p.message;
  return out.empty() ? " (none)" : out;
}

class PlanTest : public ::testing::Test {
 protected:
  // A plan that validates: an absolute data directory that does not exist yet (its parent is a
  // private temporary directory) and two free loopback ports.
  SetupPlan valid_plan() {
    SetupPlan p;
    p.data_dir = tmp_ / "ca";
    p.key_name = "root";
    p.identity.common_name = "Example Root CA";
    p.identity.organization = "Example Corp";
    p.identity.country = "DE";
    p.daemon.https_port = free_port();
    do {
      p.daemon.http_port = free_port();
    } while (p.daemon.http_port == p.daemon.https_port);
    p.daemon.public_base_url = "http://ca.example.com:8080";
    p.daemon.tls_names = {"ca.example.com", "127.0.0.1", "::1"};
    return p;
  }

  test::TempDir tmp_;
};

TEST_F(PlanTest, ModeNamesRoundTrip) {
  for (SetupMode m : {SetupMode::NewKey, SetupMode::ExistingKey, SetupMode::ExistingKeyAndCertificate,
                      SetupMode::RestoreThenReinstall, SetupMode::Subordinate}) {
    EXPECT_EQ(parse_mode(to_string(m)), m) << to_string(m);
  }
  EXPECT_EQ(to_string(SetupMode::ExistingKeyAndCertificate), "existing-key-and-certificate");
  EXPECT_EQ(parse_mode("new_key"), std::nullopt);
  EXPECT_EQ(parse_mode(""), std::nullopt);
}

TEST_F(PlanTest, ValidPlanHasNoProblems) {
  SetupPlan p = valid_plan();
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
  // An existing private directory is fine too.
  fs::create_directory(p.data_dir);
  fs::permissions(p.data_dir, fs::perms::owner_all, fs::perm_options::replace);
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
  // So are a path length of 0 and the limits of the validity.
  p.path_length = 0;
  p.validity_days = 1;
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
  p.path_length = 16;
  p.validity_days = 36525;
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
}

TEST_F(PlanTest, TheInstalledCasOwnListenersAreNoConflict) {
  // A reinstall while this CA's own signetd runs: its ports are in use, by the daemon setup keeps.
  BoundSocket https;
  BoundSocket http;
  BoundSocket stranger;
  SetupPlan p = valid_plan();
  fs::create_directory(p.data_dir);
  fs::permissions(p.data_dir, fs::perms::owner_all, fs::perm_options::replace);
  test::write_text(p.data_dir / "signetd.toml",
                   "[https]\naddress = \"127.0.0.1\"\nport = " + std::to_string(https.port()) +
                       "\n[http]\naddress = \"127.0.0.1\"\nport = " + std::to_string(http.port()) + "\n");
  p.daemon.https_address = p.daemon.http_address = "127.0.0.1";
  p.daemon.https_port = https.port();
  p.daemon.http_port = http.port();
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
  // Another program's port still is one.
  p.daemon.http_port = stranger.port();
  const auto problems = validate(p);
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(problems[0].field, "daemon.http_port");
  EXPECT_EQ(problems[0].code, "port-in-use");
}

TEST_F(PlanTest, ReportsEveryProblemAtOnceEachWithItsField) {
  BoundSocket listener;  // something already listens on the HTTPS port
  SetupPlan p = valid_plan();
  p.daemon.https_port = listener.port();
  p.identity.common_name = "";
  p.identity.organization = std::string(65, 'o');
  p.identity.organizational_unit = std::string(65, 'u');
  p.identity.state = std::string(129, 's');
  p.identity.locality = "line\nbreak";
  p.identity.country = "de";
  p.validity_days = 0;
  p.path_length = 17;
  p.key_name = " padded";
  p.daemon.tls_names = {"ok.example.com", "not a name!", "-dash.example.com"};
  p.daemon.public_base_url = "ftp://ca.example.com";

  const std::vector<PlanProblem> problems = validate(p);
  const std::set<FieldCode> got = field_codes(problems);
  const std::set<FieldCode> expected = {
      {"identity.common_name", "required"},
      {"identity.organization", "too-long"},
      {"identity.organizational_unit", "too-long"},
      {"identity.state", "too-long"},
      {"identity.locality", "invalid"},
      {"identity.country", "invalid"},
      {"validity_days", "invalid"},
      {"path_length", "invalid"},
      {"key_name", "invalid"},
      {"daemon.https_port", "port-in-use"},
      {"daemon.tls_names", "invalid"},
      {"daemon.public_base_url", "invalid"},
  };
  EXPECT_EQ(got, expected) << describe(problems);
  // Both bad TLS names are named, the good one is not.
  std::size_t tls = 0;
  for (const auto& pr : problems) {
    EXPECT_FALSE(pr.message.empty()) << pr.field;
    if (pr.field == "daemon.tls_names") {
      ++tls;
      EXPECT_EQ(pr.message.find("ok.example.com"), std::string::npos) << pr.message;
    }
    if (pr.field == "daemon.https_port") {
      EXPECT_NE(pr.message.find(std::to_string(listener.port())), std::string::npos) << pr.message;
    }
    if (pr.field == "identity.organization") {
      EXPECT_NE(pr.message.find("65"), std::string::npos) << pr.message;
    }
  }
  EXPECT_EQ(tls, 2u) << describe(problems);
}

TEST_F(PlanTest, ReportsPortConflictsHugeValidityAndBadAddresses) {
  SetupPlan p = valid_plan();
  p.daemon.http_port = p.daemon.https_port;  // the same port twice
  p.validity_days = 36526;
  p.path_length = -1;
  p.daemon.tls_names.clear();
  p.daemon.public_base_url = "http://";
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"daemon.http_port", "conflict"},
                                                           {"validity_days", "invalid"},
                                                           {"path_length", "invalid"},
                                                           {"daemon.tls_names", "required"},
                                                           {"daemon.public_base_url", "invalid"}}))
      << describe(validate(p));

  SetupPlan q = valid_plan();
  q.daemon.https_address = "localhost";  // a name, not an address to listen on
  q.daemon.http_port = 0;
  EXPECT_EQ(field_codes(validate(q)),
            (std::set<FieldCode>{{"daemon.https_address", "invalid"}, {"daemon.http_port", "invalid"}}))
      << describe(validate(q));
}

// install_certificate() later writes the configuration and TLS certificate from a subordinate
// plan's daemon settings, so they are checked when the request is made.
TEST_F(PlanTest, SubordinatePlanDaemonSettingsAreChecked) {
  SetupPlan p = valid_plan();
  p.mode = SetupMode::Subordinate;
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
  p.daemon.tls_names = {"not a name!"};
  p.daemon.public_base_url = "ca.example.com";
  p.daemon.http_port = p.daemon.https_port;
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"daemon.tls_names", "invalid"},
                                                           {"daemon.public_base_url", "invalid"},
                                                           {"daemon.http_port", "conflict"}}))
      << describe(validate(p));
}

// A server that was just stopped leaves its accepted connections in TIME_WAIT on its port.
// signetd binds with SO_REUSEADDR, so such a port is free for it; validate() said "in use" and a
// restore onto the ports of the server it replaces was refused for a minute.
TEST_F(PlanTest, PortInTimeWaitIsFreeAsForTheDaemon) {
  std::uint16_t port = 0;
  {
    BoundSocket listener;
    port = listener.port();
    const int on = 1;  // as signetd's acceptor: its connections (and their TIME_WAIT) inherit it
    ASSERT_EQ(::setsockopt(listener.fd(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), 0);
    const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(client, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    // The listener's fd is private to BoundSocket: accept through a second descriptor of it.
    const int accepted = ::accept(listener.fd(), nullptr, nullptr);
    ASSERT_GE(accepted, 0);
    ::close(accepted);  // the server side closes first: TIME_WAIT on the server's port
    ::close(client);
  }
  EXPECT_FALSE(port_in_use("127.0.0.1", port));
}

TEST_F(PlanTest, PortInUseSeesAListenerAndNotAFreePort) {
  BoundSocket listener;
  EXPECT_TRUE(port_in_use("127.0.0.1", listener.port()));
  EXPECT_FALSE(port_in_use("127.0.0.1", free_port()));
  EXPECT_FALSE(port_in_use("not an address", listener.port()));
}

TEST_F(PlanTest, RelativeOrEmptyDataDirIsInvalid) {
  SetupPlan p = valid_plan();
  p.data_dir = "var/lib/signet";
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"data_dir", "invalid"}})) << describe(validate(p));
  p.data_dir.clear();
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"data_dir", "invalid"}})) << describe(validate(p));
  // A file where the directory should be.
  test::write_text(tmp_ / "file", "x");
  p.data_dir = tmp_ / "file";
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"data_dir", "invalid"}})) << describe(validate(p));
}

TEST_F(PlanTest, GroupAccessibleDataDirIsReported) {
  SetupPlan p = valid_plan();
  fs::create_directory(p.data_dir);
  fs::permissions(p.data_dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec,
                  fs::perm_options::replace);
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"data_dir", "permissions"}})) << describe(validate(p));
  fs::permissions(p.data_dir, fs::perms::owner_all | fs::perms::others_exec, fs::perm_options::replace);
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"data_dir", "permissions"}})) << describe(validate(p));
}

class PlanOnTmpfs : public PlanTest {
 protected:
  void SetUp() override {
    try {
      mount_ = std::make_unique<test::TmpfsMount>(tmp_ / "mnt", "1m");
      mount_->remount_read_only();
    } catch (const std::exception& e) {
      FAIL() << "cannot mount a read-only tmpfs (these tests need CAP_SYS_ADMIN): " << e.what();
    }
  }
  void TearDown() override {
    if (mount_) {
      const std::string error = mount_->unmount();
      EXPECT_EQ(error, "") << "umount failed";
    }
  }
  std::unique_ptr<test::TmpfsMount> mount_;
};

TEST_F(PlanOnTmpfs, ReadOnlyDataDirIsNotWritableEvenForRoot) {
  SetupPlan p = valid_plan();
  p.data_dir = mount_->path() / "signet";  // to be created inside a read-only file system
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"data_dir", "not-writable"}})) << describe(validate(p));
  p.data_dir = mount_->path();  // the read-only directory itself
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"data_dir", "not-writable"}})) << describe(validate(p));
}

TEST_F(PlanTest, RestoreModeNeedsAnExistingBackupFile) {
  SetupPlan p = valid_plan();
  p.mode = SetupMode::RestoreThenReinstall;
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"backup_file", "required"}})) << describe(validate(p));
  p.backup_file = tmp_ / "missing.sbk";
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"backup_file", "not-found"}})) << describe(validate(p));
  test::write_text(p.backup_file, "not checked here");
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
  // Other modes ignore the backup file.
  p.mode = SetupMode::NewKey;
  p.backup_file = tmp_ / "missing.sbk";
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
}

TEST_F(PlanTest, ReusedCertificateBringsItsOwnIdentity) {
  SetupPlan p = valid_plan();
  p.identity = {};
  p.mode = SetupMode::ExistingKeyAndCertificate;
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
  p.replace_ca_certificate = true;  // a new certificate needs a name again
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"identity.common_name", "required"}}));
  p.replace_ca_certificate = false;
  p.mode = SetupMode::ExistingKey;
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"identity.common_name", "required"}}));
  p.identity.common_name = "   ";  // blank is not a name
  EXPECT_EQ(field_codes(validate(p)), (std::set<FieldCode>{{"identity.common_name", "required"}}));
}

// ---- answers files ------------------------------------------------------------------------------

TEST_F(PlanTest, AnswersRoundTripEveryField) {
  SetupPlan p = valid_plan();
  p.mode = SetupMode::RestoreThenReinstall;
  p.key_name = "root \"2024\" ca";
  p.algorithm = crypto::KeyAlgorithm::Rsa3072;
  p.identity = {"Exämple Root CA", "Example \"Corp\"", "PKI\\Ops", "CH", "Zürich", "Zürich"};
  p.validity_days = 7300;
  p.path_length = 0;
  p.backup_file = tmp_ / "backups" / "a b.sbk";
  p.subordinate_existing_key = true;
  p.replace_configuration = true;
  p.replace_ca_certificate = true;
  p.daemon.https_address = "::1";
  p.daemon.http_address = "0.0.0.0";
  p.daemon.https_port = 65535;
  p.daemon.http_port = 1;
  p.daemon.tls_names = {"ca.example.com", "*.ca.example.com", "10.0.0.1"};
  p.daemon.public_base_url = "https://ca.example.com/pki";
  const std::string text = to_answers(p);
  const SetupPlan back = parse_answers(text, "answers.toml");
  EXPECT_TRUE(back == p) << text;
  EXPECT_EQ(to_answers(back), text);

  // The defaults, with no path length and every mode.
  for (SetupMode m : {SetupMode::NewKey, SetupMode::ExistingKey, SetupMode::ExistingKeyAndCertificate,
                      SetupMode::RestoreThenReinstall, SetupMode::Subordinate}) {
    SetupPlan d;
    d.mode = m;
    const SetupPlan d_back = parse_answers(to_answers(d), "d.toml");
    EXPECT_TRUE(d_back == d) << to_answers(d);
    EXPECT_FALSE(d_back.path_length.has_value());
  }
  // No secret is written: the answers only hold what the plan holds.
  EXPECT_EQ(text.find("passphrase ="), std::string::npos) << text;
}

TEST_F(PlanTest, AnswersMayOmitKeysAndGetTheDefaults) {
  const SetupPlan p = parse_answers("mode = \"existing-key\"\nkey_name = \"old\"\n[identity]\ncommon_name = \"X\"\n",
                                    "a.toml");
  EXPECT_EQ(p.mode, SetupMode::ExistingKey);
  EXPECT_EQ(p.key_name, "old");
  EXPECT_EQ(p.identity.common_name, "X");
  EXPECT_TRUE(p.data_dir.empty());  // the CLI fills it from --data-dir
  EXPECT_EQ(p.daemon, DaemonSettings{});
  EXPECT_EQ(p.validity_days, SetupPlan{}.validity_days);
}

void expect_answers_invalid(std::string_view text, const std::vector<std::string>& mentions) {
  const Error e = capture_error([&] { (void)parse_answers(text, "answers.toml"); });
  EXPECT_EQ(e.code(), "answers-invalid") << text;
  EXPECT_EQ(e.kind(), ErrorKind::Malformed) << text;
  const std::string what = e.what();
  for (const auto& m : mentions) EXPECT_NE(what.find(m), std::string::npos) << "\"" << m << "\" missing in: " << what;
}

TEST_F(PlanTest, AnswersRefuseUnknownKeysNamingKeyAndLine) {
  expect_answers_invalid("mode = \"new-key\"\nkey_name = \"ca\"\nvalidty_days = 10\n",
                         {"answers.toml", "validty_days", "line 3"});
  expect_answers_invalid("mode = \"new-key\"\n[identity]\ncommon_name = \"X\"\n\ncountry_code = \"DE\"\n",
                         {"identity.country_code", "line 5"});
  expect_answers_invalid("[daemon]\nhttps_port = 8443\nhtps_address = \"127.0.0.1\"\n",
                         {"daemon.htps_address", "line 3"});
  expect_answers_invalid("[extra]\nx = 1\n", {"extra", "line 1"});
}

TEST_F(PlanTest, AnswersRefuseWrongTypesNamingKeyAndLine) {
  expect_answers_invalid("mode = \"new-key\"\nvalidity_days = \"ten years\"\n", {"validity_days", "line 2"});
  expect_answers_invalid("key_name = 5\n", {"key_name", "line 1"});
  expect_answers_invalid("replace_configuration = \"yes\"\n", {"replace_configuration", "line 1"});
  expect_answers_invalid("\n[identity]\ncommon_name = 12\n", {"identity.common_name", "line 3"});
  expect_answers_invalid("[daemon]\nhttps_port = \"8443\"\n", {"daemon.https_port", "line 2"});
  expect_answers_invalid("[daemon]\ntls_names = \"localhost\"\n", {"daemon.tls_names"});
  expect_answers_invalid("[daemon]\ntls_names = [\"localhost\", 7]\n", {"daemon.tls_names"});
  expect_answers_invalid("path_length = 1.5\n", {"path_length", "line 1"});
}

TEST_F(PlanTest, AnswersRefuseBadModeAlgorithmAndPorts) {
  expect_answers_invalid("mode = \"fresh\"\n", {"\"fresh\"", "new-key", "restore-then-reinstall"});
  expect_answers_invalid("algorithm = \"dsa-1024\"\n", {"\"dsa-1024\"", "ec-p256"});
  expect_answers_invalid("[daemon]\nhttps_port = 0\n", {"daemon.https_port", "65535"});
  expect_answers_invalid("[daemon]\nhttp_port = 70000\n", {"daemon.http_port", "65535"});
  expect_answers_invalid("[daemon]\nhttp_port = -1\n", {"daemon.http_port"});
}

TEST_F(PlanTest, MalformedTomlNamesTheLine) {
  expect_answers_invalid("mode = \"new-key\"\nkey_name = \"ca\"\nvalidity_days = = 3\n", {"answers.toml", "line 3"});
  expect_answers_invalid("mode = \"new-key\"\n[identity\ncommon_name = \"x\"\n", {"line 2"});
  expect_answers_invalid("mode = \"new-key\"\nmode = \"existing-key\"\n", {"line 2"});
}

// Found by a new operator's walk: a world-readable passphrase file (or /etc/shadow) was taken;
// 20,000 TLS names made a certificate no TLS client accepts; DEL, C1 and bidi overrides got into
// the CA's name; a 100,000-character public URL went into every certificate.
TEST_F(PlanTest, PassphraseFileNamesAndUrlsHaveBounds) {
  SetupPlan p = valid_plan();
  const fs::path pf = tmp_ / "pass";
  test::write_text(pf, "a store passphrase\n");
  fs::permissions(pf, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::replace);
  p.passphrase_source = PassphraseSource::OperatorFile;
  p.passphrase_file = pf;
  EXPECT_EQ(field_codes(validate(p)).count({"passphrase_file", "permissions"}), 1u) << describe(validate(p));
  fs::permissions(pf, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  EXPECT_EQ(field_codes(validate(p)).count({"passphrase_file", "permissions"}), 0u) << describe(validate(p));

  SetupPlan names = valid_plan();
  names.daemon.tls_names.clear();
  for (int i = 0; i < 101; ++i) names.daemon.tls_names.push_back("h" + std::to_string(i) + ".example.test");
  EXPECT_EQ(field_codes(validate(names)).count({"daemon.tls_names", "too-many"}), 1u);

  SetupPlan url = valid_plan();
  url.daemon.public_base_url = "http://ca.example.test/" + std::string(600, 'a');
  EXPECT_EQ(field_codes(validate(url)).count({"daemon.public_base_url", "too-long"}), 1u);
  url.daemon.public_base_url = "http://ca.example.test/\x7f";
  EXPECT_EQ(field_codes(validate(url)).count({"daemon.public_base_url", "invalid"}), 1u);

  for (const char* bad : {"Del\x7f" "CA", "C1\xc2\x85" "CA", "RTL\xe2\x80\xae" "CA", "Iso\xe2\x81\xa6" "CA"}) {
    SetupPlan name = valid_plan();
    name.identity.common_name = bad;
    EXPECT_EQ(field_codes(validate(name)).count({"identity.common_name", "invalid"}), 1u) << describe(validate(name));
  }
  SetupPlan umlaut = valid_plan();
  umlaut.identity.common_name = "M\xc3\xbcnchen \xe2\x80\x94 Root";  // ü and an em dash are fine
  EXPECT_EQ(field_codes(validate(umlaut)).count({"identity.common_name", "invalid"}), 0u) << describe(validate(umlaut));
}

// ---- [daemon.acme] ----------------------------------------------------------------------------------

TEST_F(PlanTest, AcmeAnswersAreReadAndRoundTrip) {
  const SetupPlan p = parse_answers(
      "mode = \"new-key\"\n[daemon]\nhttps_port = 8443\n[daemon.acme]\nenabled = true\nprofile = \"client-tls\"\n"
      "http01_port = 8080\ntlsalpn01_port = 8443\nresolver = \"192.0.2.53:8053\"\neab_required = true\n"
      "allowed_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]\nterms_of_service = \"https://ca.example.com/terms\"\n",
      "a.toml");
  const AcmeSettings& a = p.daemon.acme;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.profile, "client-tls");
  EXPECT_EQ(a.http01_port, 8080);
  EXPECT_EQ(a.tlsalpn01_port, 8443);
  EXPECT_EQ(a.resolver, "192.0.2.53:8053");
  EXPECT_TRUE(a.eab_required);
  EXPECT_EQ(a.allowed_networks, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"}));
  EXPECT_EQ(a.terms_of_service, "https://ca.example.com/terms");
  EXPECT_EQ(p.daemon_keys_set, (std::vector<std::string>{"https_port", "acme"}));
  const std::string text = to_answers(p);
  EXPECT_NE(text.find("[daemon.acme]"), std::string::npos) << text;
  EXPECT_TRUE(parse_answers(text, "again.toml") == p) << text;

  // Only `enabled`: the other keys take signetd's defaults.
  const SetupPlan on = parse_answers("[daemon.acme]\nenabled = true\n", "on.toml");
  AcmeSettings expected;
  expected.enabled = true;
  EXPECT_EQ(on.daemon.acme, expected);
  EXPECT_EQ(on.daemon.acme.http01_port, 80);
  EXPECT_EQ(on.daemon.acme.profile, "server-tls");
  EXPECT_EQ(on.daemon_keys_set, (std::vector<std::string>{"acme"}));
  // No table: off, and not set (in restore-then-reinstall the backup's settings stay).
  const SetupPlan off = parse_answers("[daemon]\nhttps_port = 8443\n", "off.toml");
  EXPECT_FALSE(off.daemon.acme.enabled);
  EXPECT_EQ(off.daemon_keys_set, (std::vector<std::string>{"https_port"}));
  EXPECT_EQ(to_answers(off).find("acme"), std::string::npos) << to_answers(off);
  // A plan made in code (the wizard's) writes the table, off.
  EXPECT_NE(to_answers(SetupPlan{}).find("[daemon.acme]"), std::string::npos);
  EXPECT_TRUE(parse_answers(to_answers(SetupPlan{}), "d.toml") == SetupPlan{});
}

TEST_F(PlanTest, AcmeAnswersRefuseUnknownKeysAndWrongTypesNamingTheKey) {
  expect_answers_invalid("[daemon.acme]\nenabled = true\nhttp_01_port = 80\n",
                         {"daemon.acme.http_01_port", "line 3", "Answers file"});
  expect_answers_invalid("[daemon]\nacme = true\n", {"daemon.acme", "line 2", "[daemon.acme]"});
  expect_answers_invalid("[daemon.acme]\nenabled = \"yes\"\n", {"daemon.acme.enabled", "line 2", "wrong type"});
  // A float where an integer goes (found by the answers fuzz target: 4E20 was cast out of range).
  expect_answers_invalid("mode = \"subordinate\"\n\n[daemon]\nhttps_port = 4E20\n", {"https_port", "line 4", "wrong type"});
  expect_answers_invalid("[daemon]\nhttps_port = 8443.0\n", {"https_port", "wrong type"});
  expect_answers_invalid("[daemon.acme]\nhttp01_port = 0\n", {"daemon.acme.http01_port", "65535"});
  expect_answers_invalid("[daemon.acme]\ntlsalpn01_port = 70000\n", {"daemon.acme.tlsalpn01_port", "65535"});
  expect_answers_invalid("[daemon.acme]\nresolver = 53\n", {"daemon.acme.resolver", "line 2"});
  expect_answers_invalid("[daemon.acme]\nallowed_networks = \"10.0.0.0/8\"\n",
                         {"daemon.acme.allowed_networks", "line 2", "10.0.0.0/8"});
  expect_answers_invalid("[daemon.acme]\nallowed_networks = [\"10.0.0.0/8\", 7]\n", {"daemon.acme.allowed_networks"});
}

TEST_F(PlanTest, AcmeProblemsAreReportedWithTheirKey) {
  SetupPlan p = valid_plan();
  p.daemon.acme.enabled = true;
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));
  for (const char* ok : {"192.0.2.53", "192.0.2.53:8053", "2001:db8::53", "[2001:db8::53]:8053", "[::1]"}) {
    p.daemon.acme.resolver = ok;
    EXPECT_TRUE(validate(p).empty()) << ok << describe(validate(p));
  }
  p.daemon.acme.allowed_networks = {"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"};
  p.daemon.acme.terms_of_service = "https://ca.example.com/terms";
  p.daemon.acme.profile = "client-tls";
  EXPECT_TRUE(validate(p).empty()) << describe(validate(p));

  SetupPlan bad = valid_plan();
  bad.daemon.acme.enabled = true;
  bad.daemon.acme.profile = "web";
  bad.daemon.acme.http01_port = 0;
  bad.daemon.acme.tlsalpn01_port = 0;
  bad.daemon.acme.resolver = "dns.example.com";
  bad.daemon.acme.allowed_networks = {"10.0.0.1/8"};
  bad.daemon.acme.terms_of_service = "ftp://ca.example.com/terms";
  const auto problems = validate(bad);
  EXPECT_EQ(field_codes(problems), (std::set<FieldCode>{{"daemon.acme.profile", "unknown-profile"},
                                                        {"daemon.acme.http01_port", "invalid"},
                                                        {"daemon.acme.tlsalpn01_port", "invalid"},
                                                        {"daemon.acme.resolver", "invalid"},
                                                        {"daemon.acme.allowed_networks", "invalid"},
                                                        {"daemon.acme.terms_of_service", "invalid"}}))
      << describe(problems);
  // Each message says what to do.
  const std::string text = describe(problems);
  for (const char* hint : {"server-tls", "dns.example.com", "system's resolver", "10.0.0.0/8", "https://"}) {
    EXPECT_NE(text.find(hint), std::string::npos) << hint << text;
  }
  for (const char* resolver : {"192.0.2.53:", "192.0.2.53:0", "192.0.2.53:99999", "[2001:db8::53", "[2001:db8::53]x",
                               "localhost:53"}) {
    SetupPlan r = valid_plan();
    r.daemon.acme.resolver = resolver;
    EXPECT_EQ(field_codes(validate(r)), (std::set<FieldCode>{{"daemon.acme.resolver", "invalid"}})) << resolver;
  }
  SetupPlan empty = valid_plan();
  empty.daemon.acme.profile.clear();
  EXPECT_EQ(field_codes(validate(empty)), (std::set<FieldCode>{{"daemon.acme.profile", "required"}}));
  // Off, a profile only the backup (or a hand-edited configuration) defines is no problem; a
  // restore that takes the backup's configuration has its profiles checked once it is open.
  SetupPlan off = valid_plan();
  off.daemon.acme.profile = "web";
  EXPECT_TRUE(validate(off).empty()) << describe(validate(off));
  SetupPlan restore = valid_plan();
  restore.mode = SetupMode::RestoreThenReinstall;
  restore.backup_file = tmp_ / "backup.sbk";
  test::write_text(restore.backup_file, "x");
  restore.daemon.acme.enabled = true;
  restore.daemon.acme.profile = "web";
  EXPECT_TRUE(validate(restore).empty()) << describe(validate(restore));
  restore.configuration_from_backup = false;
  EXPECT_EQ(field_codes(validate(restore)), (std::set<FieldCode>{{"daemon.acme.profile", "unknown-profile"}}));
}

}  // namespace
}  // namespace signet::setup
