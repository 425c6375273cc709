// `signet setup` driven as an operator would, with the real binary: --answers installs and a
// second run changes no key row; --print-answers scripts a reinstall; an answers file with
// problems lists every one of them; a subordinate CA is finished with --install-certificate; a
// backup is restored and reinstalled with --backup-passphrase-file; [daemon.acme] turns ACME on,
// setup prints the directory, and signetd accepts and serves it. Passphrases only in files.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <toml++/toml.h>
#include <vector>

#include "integration/cli_harness.h"
#include "signet/db/sqlite.h"
#include "signet/setup/plan.h"
#include "support/signetd_process.h"

namespace signet::test::cli {
namespace {

constexpr std::string_view kBackupPassphrase = "the backup passphrase of the test";

// A loopback socket; port 0 picks a free port. With listen, something is "already running" there.
class Socket {
 public:
  explicit Socket(bool listen) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        (listen && ::listen(fd_, 4) != 0) || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot bind a loopback socket");
    }
    port_ = ntohs(a.sin_port);
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

std::uint16_t free_port() { return Socket(false).port(); }

// Every row of the key tables, read with a raw SQLite connection.
std::vector<std::string> key_rows(const fs::path& db_file) {
  db::Database db = db::Database::open(db_file, db::OpenMode::ReadOnly);
  std::vector<std::string> out;
  for (const char* table : {"keys", "key_certificates", "key_requests"}) {
    std::string expr = "quote(rowid)";
    db::Statement cols = db.prepare("SELECT name FROM pragma_table_info(?)");
    cols.bind(1, std::string(table));
    while (cols.step()) expr += " || '|' || quote(\"" + cols.text(0) + "\")";
    db::Statement rows = db.prepare("SELECT " + expr + " FROM \"" + table + "\" ORDER BY rowid");
    while (rows.step()) out.push_back(std::string(table) + ": " + rows.text(0));
  }
  return out;
}

class CliSetupTest : public CliTest {
 protected:
  // An answers file as an operator writes it.
  fs::path answers(const std::string& file_name, const fs::path& data_dir, const std::string& mode,
                   const std::string& extra_top = "", const std::string& identity = "common_name = \"CLI Root CA\"\n"
                                                                                     "country = \"DE\"\n") {
    https_port_ = free_port();
    do {
      http_port_ = free_port();
    } while (http_port_ == https_port_);
    const fs::path path = tmp_ / file_name;
    write_text(path, "mode = \"" + mode + "\"\n" + "data_dir = \"" + data_dir.string() + "\"\n" +
                         "key_name = \"root\"\nvalidity_days = 365\n" + extra_top + "\n[identity]\n" + identity +
                         "\n[daemon]\nhttps_port = " + std::to_string(https_port_) +
                         "\nhttp_port = " + std::to_string(http_port_) +
                         "\ntls_names = [\"localhost\", \"127.0.0.1\"]\npublic_base_url = \"http://127.0.0.1:" +
                         std::to_string(http_port_) + "\"\n");
    return path;
  }

  [[nodiscard]] fs::path file(const std::string& name) const { return store_ / name; }

  ::testing::AssertionResult verifies(const fs::path& ca, const fs::path& cert) {
    const ProcessResult r = run_openssl({"verify", "-x509_strict", "-CAfile", ca.string(), cert.string()});
    if (r.exit_code == 0 && contains(r.out, ": OK")) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << describe(r);
  }

  std::uint16_t https_port_ = 0;
  std::uint16_t http_port_ = 0;
};

TEST_F(CliSetupTest, AnswersInstallAndASecondRunChangesNothing) {
  ASSERT_TRUE(init_store());
  const fs::path a = answers("install.toml", store_, "new-key");
  const ProcessResult first = signet_({"setup", "--answers", a.string()});
  ASSERT_TRUE(Succeeded(first));
  EXPECT_TRUE(contains(first.out, "The CA is set up")) << describe(first);
  EXPECT_TRUE(contains(first.err, "100%")) << "progress goes to stderr\n" << describe(first);
  for (const char* f : {"ca.pem", "signetd.toml", "tls-key.pem", "tls-cert.pem"}) {
    EXPECT_EQ(file_mode(file(f)), 0600u) << f;
  }
  EXPECT_TRUE(verifies(file("ca.pem"), file("tls-cert.pem")));
  const std::string conf = read_text(file("signetd.toml"));
  EXPECT_TRUE(contains(conf, "port = " + std::to_string(https_port_))) << conf;
  EXPECT_FALSE(contains(conf, kStorePassphrase));
  EXPECT_FALSE(contains(first.out + first.err, kStorePassphrase));

  const std::vector<std::string> rows = key_rows(signet_.db());
  ASSERT_EQ(names_of(signet_.all_keys()["keys"]), std::vector<std::string>{"root"});
  const DirSnapshot files = snapshot(store_);
  const ProcessResult second = signet_({"setup", "--answers", a.string()});
  ASSERT_TRUE(Succeeded(second));
  EXPECT_EQ(key_rows(signet_.db()), rows);
  for (const char* f : {"ca.pem", "signetd.toml", "tls-key.pem", "tls-cert.pem"}) {
    EXPECT_EQ(read_text(file(f)), files.at(f)) << f << " changed on the second run";
  }
}

TEST_F(CliSetupTest, PrintedAnswersScriptAReinstall) {
  ASSERT_TRUE(init_store());
  const fs::path a = answers("install.toml", store_, "new-key", "path_length = 0\n");
  ASSERT_TRUE(Succeeded(signet_({"setup", "--answers", a.string()})));
  const std::string ca = read_text(file("ca.pem"));
  const std::string conf = read_text(file("signetd.toml"));
  const std::vector<std::string> rows = key_rows(signet_.db());

  const ProcessResult printed = signet_({"setup", "--print-answers"});
  ASSERT_TRUE(Succeeded(printed));
  setup::SetupPlan original = setup::parse_answers(read_text(a), "install.toml");
  // The answers said nothing of the passphrase: setup recorded the file it was given, which is
  // where signetd will read it.
  original.passphrase_source = setup::PassphraseSource::OperatorFile;
  original.passphrase_file = fs::absolute(pass_).lexically_normal();
  EXPECT_TRUE(setup::parse_answers(printed.out, "printed") == original) << printed.out;
  EXPECT_EQ(toml::parse(conf)["store"]["passphrase_file"].value<std::string>(), original.passphrase_file.string());
  EXPECT_FALSE(contains(printed.out, kStorePassphrase));

  // The machine lost its files; the printed answers bring the same installation back.
  const fs::path scripted = tmp_ / "printed.toml";
  write_text(scripted, printed.out);
  for (const char* f : {"ca.pem", "signetd.toml", "tls-key.pem", "tls-cert.pem"}) fs::remove(file(f));
  ASSERT_TRUE(Succeeded(signet_({"setup", "--answers", scripted.string()})));
  EXPECT_EQ(read_text(file("ca.pem")), ca);
  EXPECT_EQ(read_text(file("signetd.toml")), conf);
  EXPECT_TRUE(verifies(file("ca.pem"), file("tls-cert.pem")));
  EXPECT_EQ(key_rows(signet_.db()), rows);
}

TEST_F(CliSetupTest, PrintAnswersBeforeSetupSaysNotInstalled) {
  ASSERT_TRUE(init_store());
  EXPECT_TRUE(FailedWith(signet_({"setup", "--print-answers"}), 1, "not-installed"));
}

TEST_F(CliSetupTest, AnswersWithProblemsListEveryOneAndChangeNothing) {
  const Socket listener(true);
  const fs::path path = tmp_ / "bad.toml";
  write_text(path, "mode = \"new-key\"\ndata_dir = \"" + store_.string() +
                       "\"\nvalidity_days = 0\npath_length = 40\n[identity]\ncommon_name = \"\"\ncountry = \"Germany\"\n"
                       "[daemon]\nhttps_port = " + std::to_string(listener.port()) +
                       "\nhttp_port = " + std::to_string(free_port()) +
                       "\ntls_names = [\"bad name\"]\npublic_base_url = \"ca.example.com\"\n");
  // No passphrase is needed to be told what is wrong.
  const ProcessResult r = signet_.without_passphrase({"setup", "--answers", path.string()});
  EXPECT_TRUE(FailedWith(r, 1, "plan-invalid"));
  for (const char* field : {"identity.common_name", "identity.country", "validity_days", "path_length",
                            "daemon.https_port", "daemon.tls_names", "daemon.public_base_url"}) {
    EXPECT_TRUE(contains(r.err, std::string("\n  ") + field + " [")) << field << " not listed\n" << describe(r);
  }
  EXPECT_TRUE(contains(r.err, "[port-in-use]")) << describe(r);
  EXPECT_FALSE(fs::exists(store_)) << "nothing may be created for a plan with problems";
}

TEST_F(CliSetupTest, UnknownOrMistypedKeysAreRefused) {
  ASSERT_TRUE(init_store());
  const DirSnapshot before = snapshot(store_);
  const fs::path path = tmp_ / "typo.toml";
  write_text(path, "mode = \"new-key\"\nkey_name = \"root\"\nvalidity_dayz = 30\n");
  ProcessResult r = signet_({"setup", "--answers", path.string()});
  EXPECT_TRUE(FailedWith(r, 1, "answers-invalid"));
  EXPECT_TRUE(contains(r.err, "validity_dayz") && contains(r.err, "line 3")) << describe(r);

  write_text(path, "mode = \"new-key\"\n[daemon]\nhttps_port = 99999\n");
  r = signet_({"setup", "--answers", path.string()});
  EXPECT_TRUE(FailedWith(r, 1, "answers-invalid"));
  EXPECT_TRUE(contains(r.err, "daemon.https_port")) << describe(r);
  EXPECT_EQ(snapshot(store_), before);
}

TEST_F(CliSetupTest, ExactlyOneActionMustBeChosen) {
  ASSERT_TRUE(init_store());
  const fs::path a = answers("a.toml", store_, "new-key");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"setup"}, std::vector<std::string>{"setup", "--answers", a.string(), "--print-answers"}}) {
    const ProcessResult r = signet_(args);
    EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << describe(r);
    EXPECT_TRUE(contains(r.err, "--answers") && contains(r.err, "--print-answers") &&
                contains(r.err, "--install-certificate"))
        << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
  }
  EXPECT_FALSE(fs::exists(file("ca.pem")));
}

TEST_F(CliSetupTest, SubordinateIsFinishedWithInstallCertificate) {
  ASSERT_TRUE(init_store());
  const fs::path a = answers("sub.toml", store_, "subordinate", "", "common_name = \"CLI Issuing CA\"\n");
  const ProcessResult pending = signet_({"setup", "--answers", a.string()});
  ASSERT_TRUE(Succeeded(pending));
  EXPECT_TRUE(contains(pending.out, "--install-certificate")) << describe(pending);
  ASSERT_TRUE(fs::exists(file("ca-request.pem")));
  EXPECT_FALSE(fs::exists(file("ca.pem")));

  // The parent CA, made with openssl, signs the request with a CA profile.
  const fs::path parent_key = tmp_ / "parent.key";
  const fs::path parent = tmp_ / "parent.pem";
  ASSERT_TRUE(Succeeded(run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                     "-nodes", "-keyout", parent_key.string(), "-out", parent.string(), "-subj",
                                     "/CN=CLI Parent CA", "-days", "30", "-addext",
                                     "basicConstraints=critical,CA:TRUE", "-addext",
                                     "keyUsage=critical,keyCertSign,cRLSign"})));
  const fs::path ext = tmp_ / "ca.ext";
  write_text(ext, "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
  const fs::path signed_cert = tmp_ / "issuing.pem";
  ASSERT_TRUE(Succeeded(run_openssl({"x509", "-req", "-in", file("ca-request.pem").string(), "-CA", parent.string(),
                                     "-CAkey", parent_key.string(), "-set_serial", "4242", "-days", "20",
                                     "-extfile", ext.string(), "-out", signed_cert.string()})));

  // The parent's own certificate is for another key.
  EXPECT_TRUE(FailedWith(signet_({"setup", "--install-certificate", parent.string()}), 1, "certificate-key-mismatch"));
  EXPECT_FALSE(fs::exists(file("ca.pem")));

  const ProcessResult installed = signet_({"setup", "--install-certificate", signed_cert.string()});
  ASSERT_TRUE(Succeeded(installed));
  EXPECT_TRUE(contains(installed.out, "The CA is set up")) << describe(installed);
  EXPECT_EQ(run_openssl({"x509", "-in", file("ca.pem").string(), "-outform", "DER"}).out,
            run_openssl({"x509", "-in", signed_cert.string(), "-outform", "DER"}).out);
  const ProcessResult v = run_openssl({"verify", "-x509_strict", "-CAfile", parent.string(), "-untrusted",
                                       file("ca.pem").string(), file("tls-cert.pem").string()});
  EXPECT_TRUE(v.exit_code == 0 && contains(v.out, ": OK")) << describe(v);
  EXPECT_TRUE(FailedWith(signet_({"setup", "--install-certificate", signed_cert.string()}), 1, "not-pending"));
}

TEST_F(CliSetupTest, RestoreThenReinstallFromABackup) {
  // Store A, installed and backed up.
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(Succeeded(signet_({"setup", "--answers", answers("a.toml", store_, "new-key").string()})));
  const fs::path backup_pass = passphrase_file("backup.pass", kBackupPassphrase);
  const fs::path backup = tmp_ / "a.sbk";
  ASSERT_TRUE(Succeeded(signet_({"backup", "create", "--out", backup.string(), "--insecure-fast-kdf",
                                 "--backup-passphrase-file", backup_pass.string()})));
  const json keys_a = signet_.all_keys()["keys"];

  // Store B on another machine, with another passphrase.
  const Signet b(tmp_ / "b", passphrase_file("b.pass", "the passphrase of store B"));
  ASSERT_TRUE(init_store(b));
  const fs::path plan_b = answers("b.toml", b.data_dir(), "restore-then-reinstall",
                                  "backup_file = \"" + backup.string() + "\"\n", "");
  // The wrong backup passphrase: refused, nothing written.
  const fs::path wrong = passphrase_file("wrong.pass", "not the backup passphrase");
  EXPECT_TRUE(FailedWith(b({"setup", "--answers", plan_b.string(), "--backup-passphrase-file", wrong.string()}), 1,
                         "wrong-backup-passphrase"));
  EXPECT_FALSE(fs::exists(b.data_dir() / "ca.pem"));
  EXPECT_FALSE(fs::exists(b.data_dir() / "signetd.toml"));

  ASSERT_TRUE(Succeeded(b({"setup", "--answers", plan_b.string(), "--backup-passphrase-file", backup_pass.string()})));
  EXPECT_EQ(read_text(b.data_dir() / "ca.pem"), read_text(file("ca.pem")));
  const json keys_b = b.all_keys()["keys"];
  ASSERT_FALSE(key_named(keys_b, "root").is_null()) << keys_b.dump();
  EXPECT_EQ(key_named(keys_b, "root").value("fingerprint_sha256", "b"),
            key_named(keys_a, "root").value("fingerprint_sha256", "a"));
  EXPECT_TRUE(verifies(b.data_dir() / "ca.pem", b.data_dir() / "tls-cert.pem"));

  // Running it again changes no key row.
  const std::vector<std::string> rows = key_rows(b.db());
  ASSERT_TRUE(Succeeded(b({"setup", "--answers", plan_b.string(), "--backup-passphrase-file", backup_pass.string()})));
  EXPECT_EQ(key_rows(b.db()), rows);
}

TEST_F(CliSetupTest, AcmeInTheAnswersPrintsTheDirectoryAndSignetdServesIt) {
  ASSERT_TRUE(init_store());
  const fs::path a = answers("acme.toml", store_, "new-key");
  write_text(a, read_text(a) + "\n[daemon.acme]\nenabled = true\nhttp01_port = 8080\n");
  const ProcessResult r = signet_({"setup", "--answers", a.string()});
  ASSERT_TRUE(Succeeded(r));
  const std::string url = "https://localhost:" + std::to_string(https_port_) + "/acme/directory";
  EXPECT_TRUE(contains(r.out, "ACME directory: " + url + "\n")) << describe(r);
  EXPECT_TRUE(contains(r.out, "certbot certonly --standalone --server " + url + " --http-01-port 8080")) << describe(r);
  EXPECT_TRUE(contains(r.out, "lego --server " + url)) << describe(r);
  // The start command is still the last thing printed.
  EXPECT_TRUE(contains(r.out, "Start signetd with:\n  ") && r.out.rfind("ACME") < r.out.rfind("Start signetd with:"))
      << describe(r);
  const std::string conf = read_text(file("signetd.toml"));
  const toml::table t = toml::parse(conf);
  EXPECT_EQ(t["acme"]["enabled"].value<bool>(), true) << conf;
  EXPECT_EQ(t["acme"]["http01_port"].value<std::int64_t>(), 8080) << conf;

  // signetd accepts the configuration, and serves the directory at the printed URL.
  const ProcessResult check = run_process({SIGNETD_PATH, "--config", file("signetd.toml").string(), "--check"});
  EXPECT_EQ(check.exit_code, 0) << describe(check);
  SignetdProcess server(SIGNETD_PATH, file("signetd.toml"), tmp_ / "signetd.log");
  ASSERT_TRUE(server.wait_for_log("listening on")) << server.log();
  const ProcessResult directory =
      run_process({"curl", "-sS", "--max-time", "30", "--cacert", file("ca.pem").string(), url});
  EXPECT_EQ(directory.exit_code, 0) << describe(directory);
  EXPECT_TRUE(contains(directory.out, "newAccount") && contains(directory.out, "newOrder")) << describe(directory);

  // Without the table, none of it.
  ASSERT_TRUE(init_store(Signet(tmp_ / "plain", pass_)));
  const fs::path plain = answers("plain.toml", tmp_ / "plain", "new-key");
  const ProcessResult off = signet_({"setup", "--answers", plain.string()});
  ASSERT_TRUE(Succeeded(off));
  EXPECT_FALSE(contains(off.out, "ACME")) << describe(off);
  EXPECT_FALSE(toml::parse(read_text(tmp_ / "plain" / "signetd.toml")).contains("acme"));
}

TEST_F(CliSetupTest, AcmeProblemsInTheAnswersAreNamedBeforeAnythingIsWritten) {
  const fs::path a = answers("bad-acme.toml", store_, "new-key");
  write_text(a, read_text(a) + "\n[daemon.acme]\nenabled = true\nprofile = \"web\"\nresolver = \"dns.example.com\"\n"
                               "allowed_networks = [\"10.0.0.1/8\"]\n");
  const ProcessResult r = signet_.without_passphrase({"setup", "--answers", a.string()});
  EXPECT_TRUE(FailedWith(r, 1, "plan-invalid"));
  for (const char* field : {"daemon.acme.profile", "daemon.acme.resolver", "daemon.acme.allowed_networks"}) {
    EXPECT_TRUE(contains(r.err, std::string("\n  ") + field + " [")) << field << " not listed\n" << describe(r);
  }
  EXPECT_FALSE(fs::exists(store_)) << "nothing may be created for a plan with problems";

  write_text(a, "mode = \"new-key\"\n[daemon.acme]\nenabled = true\nhttp01port = 80\n");
  const ProcessResult typo = signet_.without_passphrase({"setup", "--answers", a.string()});
  EXPECT_TRUE(FailedWith(typo, 1, "answers-invalid"));
  EXPECT_TRUE(contains(typo.err, "daemon.acme.http01port") && contains(typo.err, "line 4")) << describe(typo);
}

}  // namespace
}  // namespace signet::test::cli
