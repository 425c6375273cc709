// The setup engine (common/src/setup/engine.cpp): apply() in every mode, install_certificate()
// for a subordinate CA, current_answers(). What is checked is what an operator relies on: the CA
// certificate says what the plan said and is attached to the key; the daemon's TLS certificate
// verifies against it with the openssl CLI; re-applying a plan, or reinstalling after a restore,
// never adds or changes a key entry; bad input (wrong passphrases, a broken or taken key) changes
// nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <toml++/toml.h>
#include <utility>
#include <vector>

#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/db/sqlite.h"
#include "signet/issuance/ledger.h"
#include "signet/keystore/store.h"
#include "signet/setup/daemon_config.h"
#include "signet/setup/engine.h"
#include "support/error_assert.h"
#include "support/openssl_cli.h"
#include "support/signetd_process.h"
#include "support/store_edit.h"
#include "support/temp_dir.h"

namespace signet::setup {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using keystore::KeyStore;
using test::capture_error;

constexpr std::string_view kStorePass = "correct horse battery staple";
constexpr std::string_view kOtherStorePass = "the other store's passphrase";
constexpr std::string_view kBackupPass = "a backup passphrase for tests";
const crypto::ScryptParams kFastKdf = crypto::ScryptParams::insecure_for_tests();

Passphrase pass(std::string_view s) { return Passphrase(as_bytes(s)); }
SetupSecrets secrets(std::string_view store = kStorePass) { return {pass(store), std::nullopt}; }
SetupSecrets restore_secrets(std::string_view store, std::string_view backup) { return {pass(store), pass(backup)}; }

using test::free_port;

std::string quote_id(const std::string& name) { return "\"" + name + "\""; }

// Every row of the key tables (rowid and every column as an SQL literal), read with a raw SQLite
// connection: equal snapshots mean byte-identical key entries, certificates and requests.
using Rows = std::map<std::string, std::vector<std::string>>;

Rows key_rows(const fs::path& data_dir,
              const std::vector<std::string>& tables = {"keys", "key_certificates", "key_requests"}) {
  db::Database db = db::Database::open(KeyStore::database_path(data_dir), db::OpenMode::ReadOnly);
  Rows out;
  for (const std::string& table : tables) {
    std::string expr = "quote(rowid)";
    db::Statement cols = db.prepare("SELECT name FROM pragma_table_info(?)");
    cols.bind(1, table);
    while (cols.step()) expr += " || '|' || quote(" + quote_id(cols.text(0)) + ")";
    db::Statement rows = db.prepare("SELECT " + expr + " FROM " + quote_id(table) + " ORDER BY rowid");
    std::vector<std::string>& dest = out[table];
    while (rows.step()) dest.push_back(rows.text(0));
  }
  return out;
}

Rows all_rows(const fs::path& data_dir) {
  return key_rows(data_dir, {"store_meta", "keys", "key_certificates", "key_requests", "audit_log", "quarantine",
                             "installation"});
}

std::string row_diff(const Rows& a, const Rows& b) {
  for (const auto& [table, ra] : a) {
    const auto it = b.find(table);
    const std::vector<std::string> rb = it == b.end() ? std::vector<std::string>{} : it->second;
    for (std::size_t i = 0; i < std::max(ra.size(), rb.size()); ++i) {
      const std::string x = i < ra.size() ? ra[i].substr(0, 200) : "(none)";
      const std::string y = i < rb.size() ? rb[i].substr(0, 200) : "(none)";
      if (x != y) return table + " row " + std::to_string(i) + ":\n  before " + x + "\n  after  " + y;
    }
  }
  return "";
}

// The installation files that exist, with their contents.
std::map<std::string, std::string> installation_files(const fs::path& data_dir) {
  std::map<std::string, std::string> out;
  const InstallationFiles f = InstallationFiles::in(data_dir);
  for (const fs::path& p : {f.ca_certificate, f.configuration, f.tls_key, f.tls_certificate, f.request}) {
    if (fs::exists(p)) out[p.filename().string()] = test::read_text(p);
  }
  return out;
}

// The names of the files in `dir` other than the database and its journals.
std::set<std::string> other_files(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(std::string(keystore::kStoreFileName), 0) != 0) out.insert(n);
  }
  return out;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::string pem(const crypto::Certificate& c) { return crypto::to_pem(c); }

crypto::Certificate first_certificate(const fs::path& pem_file) {
  const std::string der = test::openssl({"x509", "-in", pem_file.string(), "-outform", "DER"});
  return crypto::Certificate::from_der(as_bytes(der));
}

Bytes to_bytes(std::string_view s) {
  const ByteView v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

std::set<std::pair<std::string, std::string>> field_codes_of(const std::vector<PlanProblem>& problems) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& p : problems) out.emplace(p.field, p.code);
  return out;
}

// A loopback port something listens on, for as long as this lives.
class BusyPort {
 public:
  BusyPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on a loopback port");
    }
    port_ = ntohs(a.sin_port);
  }
  ~BusyPort() { ::close(fd_); }
  BusyPort(const BusyPort&) = delete;
  BusyPort& operator=(const BusyPort&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

class EngineTest : public ::testing::Test {
 protected:
  [[nodiscard]] fs::path dir() const { return tmp_ / "ca"; }

  SetupPlan plan(SetupMode mode, const fs::path& data_dir, const std::string& key_name = "root") {
    SetupPlan p;
    p.mode = mode;
    p.data_dir = data_dir;
    p.key_name = key_name;
    p.identity = {"Example Root CA", "Example Corp", "PKI", "DE", "Berlin", "Berlin"};
    p.validity_days = 400;
    p.path_length = 1;
    p.daemon.https_port = free_port();
    do {
      p.daemon.http_port = free_port();
    } while (p.daemon.http_port == p.daemon.https_port);
    p.daemon.tls_names = {"ca.example.test", "localhost", "127.0.0.1", "::1"};
    p.daemon.public_base_url = "http://ca.example.test:8080";
    return p;
  }
  SetupPlan plan(SetupMode mode) { return plan(mode, dir()); }

  static void create_store(const fs::path& data_dir, std::string_view passphrase = kStorePass) {
    (void)KeyStore::create(data_dir, pass(passphrase), kFastKdf);
  }
  static KeyStore open_store(const fs::path& data_dir, std::string_view passphrase = kStorePass) {
    return KeyStore::open(data_dir, pass(passphrase));
  }

  // The attached certificates of `name` with role "ca", as DER.
  static std::vector<Bytes> ca_certificates(const fs::path& data_dir, const std::string& name,
                                            std::string_view passphrase = kStorePass) {
    KeyStore store = open_store(data_dir, passphrase);
    std::vector<Bytes> out;
    const auto rec = store.record(name);
    if (!rec) return out;
    for (const auto& c : rec->certificates) {
      if (c.role == keystore::kRoleCa) out.push_back(c.der);
    }
    return out;
  }

  // A self-signed CA certificate for `name`'s key.
  static crypto::Certificate make_ca_cert(const EVP_PKEY* key, const std::string& cn,
                                          crypto::TimePoint not_before, std::chrono::seconds validity) {
    crypto::SelfSignedSpec spec;
    spec.subject = {{"O", "Imported Corp"}, {"CN", cn}};
    spec.not_before = not_before;
    spec.validity = validity;
    return crypto::make_self_signed(key, spec);
  }

  // Imports a new key named `name` with a CA certificate; returns the certificate.
  static crypto::Certificate import_with_ca_cert(const fs::path& data_dir, const std::string& name,
                                                 crypto::TimePoint not_before = std::chrono::system_clock::now() - 24h,
                                                 std::chrono::seconds validity = 24h * 365) {
    KeyStore store = open_store(data_dir);
    keystore::KeyMaterial m;
    m.key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    const crypto::Certificate cert = make_ca_cert(m.key.get(), name + " imported CA", not_before, validity);
    m.certificates.push_back(cert);
    m.format = "pkcs8-pem";
    (void)store.import(name, std::move(m));
    return cert;
  }

  test::TempDir tmp_;
};

// ---- new key ------------------------------------------------------------------------------------

TEST_F(EngineTest, NewKeyInstallsACaCertificateTlsAndConfiguration) {
  create_store(dir());
  const SetupPlan p = plan(SetupMode::NewKey);
  std::vector<int> percents;
  const SetupResult r = apply(p, secrets(), [&](int percent, const std::string& step) {
    EXPECT_FALSE(step.empty());
    percents.push_back(percent);
  });
  ASSERT_TRUE(r.ca_certificate.has_value());
  EXPECT_FALSE(r.pending_certificate);
  EXPECT_EQ(r.ca_key_name, "root");
  EXPECT_FALSE(r.actions.empty());
  ASSERT_FALSE(percents.empty());
  EXPECT_TRUE(std::is_sorted(percents.begin(), percents.end()));
  EXPECT_EQ(percents.back(), 100);

  // The CA certificate: subject from the identity, CA:TRUE with the path length, keyCertSign and
  // cRLSign, the validity asked for.
  const crypto::Certificate& ca = *r.ca_certificate;
  EXPECT_EQ(identity_of(ca), p.identity);
  EXPECT_TRUE(ca.self_issued());
  EXPECT_TRUE(ca.is_ca());
  EXPECT_TRUE(ca.has_key_cert_sign());
  EXPECT_EQ(X509_get_pathlen(ca.x509()), 1);
  const auto ku_wanted = static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  EXPECT_EQ(X509_get_key_usage(ca.x509()) & ku_wanted, ku_wanted);
  const auto validity = ca.not_after() - ca.not_before();
  EXPECT_LE(std::chrono::abs(validity - 24h * 400), 10min);
  EXPECT_LE(std::chrono::abs(ca.not_before() - std::chrono::system_clock::now()), 10min);

  // Attached to the key as its CA certificate; the key is the one the result names.
  {
    KeyStore store = open_store(dir());
    const auto rec = store.record("root");
    ASSERT_TRUE(rec.has_value());
    ASSERT_EQ(rec->certificates.size(), 1u);
    EXPECT_EQ(rec->certificates[0].role, keystore::kRoleCa);
    EXPECT_EQ(rec->certificates[0].der, ca.der());
    EXPECT_EQ(rec->source, keystore::kSourceGenerated);
    EXPECT_EQ(rec->algorithm, "ec-p256");
    const auto unlocked = store.unlock_key("root");
    EXPECT_EQ(unlocked.verdict.fingerprint_hex, r.ca_fingerprint_hex);
    const auto inst = store.installation();
    ASSERT_TRUE(inst.has_value());
    EXPECT_EQ(inst->state, "installed");
    EXPECT_EQ(inst->ca_certificate_sha256, ca.sha256_fingerprint());
  }

  // The files.
  const InstallationFiles f = InstallationFiles::in(dir());
  EXPECT_EQ(r.files.ca_certificate, f.ca_certificate);
  EXPECT_EQ(test::read_text(f.ca_certificate), pem(ca));
  for (const fs::path& file : {f.ca_certificate, f.configuration, f.tls_key, f.tls_certificate}) {
    EXPECT_EQ(mode_of(file), 0600u) << file;
  }
  EXPECT_FALSE(fs::exists(f.request));

  // The daemon's TLS certificate verifies strictly against ca.pem, with the names and serverAuth.
  const std::string verified = test::openssl(
      {"verify", "-x509_strict", "-CAfile", f.ca_certificate.string(), f.tls_certificate.string()});
  EXPECT_TRUE(contains(verified, ": OK")) << verified;
  const std::string ext =
      test::openssl({"x509", "-in", f.tls_certificate.string(), "-noout", "-ext", "subjectAltName,extendedKeyUsage,basicConstraints"});
  for (const char* want : {"DNS:ca.example.test", "DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                           "TLS Web Server Authentication", "CA:FALSE"}) {
    EXPECT_TRUE(contains(ext, want)) << want << " missing in\n" << ext;
  }
  const crypto::Certificate tls = first_certificate(f.tls_certificate);
  EXPECT_TRUE(tls.issued_by(ca));
  EXPECT_LE(tls.not_after(), ca.not_after());
  // The chain file carries the CA certificate after the server's.
  EXPECT_TRUE(contains(test::read_text(f.tls_certificate), pem(ca)));
  // The TLS key is the certificate's.
  const std::string tls_pub = test::openssl({"pkey", "-in", f.tls_key.string(), "-pubout"});
  const std::string cert_pub = test::openssl({"x509", "-in", f.tls_certificate.string(), "-noout", "-pubkey"});
  EXPECT_EQ(tls_pub, cert_pub);

  // signetd.toml parses and says what the plan said.
  const toml::table conf = toml::parse_file(f.configuration.string());
  EXPECT_EQ(conf["https"]["port"].value<std::int64_t>(), p.daemon.https_port);
  EXPECT_EQ(conf["http"]["port"].value<std::int64_t>(), p.daemon.http_port);
  EXPECT_EQ(conf["https"]["address"].value<std::string>(), p.daemon.https_address);
  EXPECT_EQ(conf["store"]["ca_key"].value<std::string>(), "root");
  EXPECT_EQ(conf["store"]["data_dir"].value<std::string>(), dir().string());
  EXPECT_EQ(conf["https"]["certificate"].value<std::string>(), f.tls_certificate.string());
  EXPECT_EQ(conf["https"]["key"].value<std::string>(), f.tls_key.string());
  EXPECT_EQ(conf["public"]["base_url"].value<std::string>(), p.daemon.public_base_url);
  EXPECT_FALSE(contains(test::read_text(f.configuration), kStorePass));

  // current_answers() gives the plan back.
  EXPECT_TRUE(current_answers(dir(), pass(kStorePass)) == p) << to_answers(current_answers(dir(), pass(kStorePass)));
}

TEST_F(EngineTest, NewKeyWithoutPathLengthAndAnotherAlgorithm) {
  create_store(dir());
  SetupPlan p = plan(SetupMode::NewKey);
  p.path_length.reset();
  p.algorithm = crypto::KeyAlgorithm::EcP384;
  const SetupResult r = apply(p, secrets());
  ASSERT_TRUE(r.ca_certificate.has_value());
  EXPECT_EQ(X509_get_pathlen(r.ca_certificate->x509()), -1);  // unlimited
  EXPECT_EQ(open_store(dir()).record("root")->algorithm, "ec-p384");
  const std::string verified = test::openssl({"verify", "-x509_strict", "-CAfile", r.files.ca_certificate.string(),
                                              r.files.tls_certificate.string()});
  EXPECT_TRUE(contains(verified, ": OK")) << verified;
}

TEST_F(EngineTest, TheInstalledCaKeyCannotBeDeletedOrRenamed) {
  create_store(dir());
  (void)apply(plan(SetupMode::NewKey), secrets());
  KeyStore store = open_store(dir());
  (void)store.generate("spare", crypto::KeyAlgorithm::EcP256);
  const Rows before = all_rows(dir());
  const Error e = capture_error([&] { store.remove("root"); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "key-installed") << e.what();
  EXPECT_TRUE(contains(e.what(), "install another CA key first")) << e.what();
  // Nor renamed: signetd.toml names it.
  const Error renamed = capture_error([&] { store.rename("root", "old-root"); });
  EXPECT_EQ(renamed.code(), "key-installed") << renamed.what();
  EXPECT_TRUE(contains(renamed.what(), "store.ca_key")) << renamed.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  // Any other key can be renamed and go.
  store.rename("spare", "spare-2");
  store.remove("spare-2");
  EXPECT_FALSE(store.record("spare-2"));
  EXPECT_TRUE(store.record("root"));
}

// The one test that pays for the strong KDF: apply() creates the store itself.
TEST_F(EngineTest, NewKeyCreatesAStrongStoreWhenThereIsNone) {
  ASSERT_FALSE(fs::exists(dir()));
  const SetupPlan p = plan(SetupMode::NewKey);
  const SetupResult r = apply(p, secrets());
  ASSERT_TRUE(r.ca_certificate.has_value());
  EXPECT_EQ(mode_of(dir()), 0700u);
  EXPECT_EQ(mode_of(KeyStore::database_path(dir())), 0600u);
  KeyStore store = open_store(dir());
  const keystore::StoreInfo info = store.info();
  EXPECT_EQ(info.kdf.n, crypto::ScryptParams::strong().n);
  EXPECT_EQ(info.key_count, 1u);
  EXPECT_EQ(ca_certificates(dir(), "root"), std::vector<Bytes>{r.ca_certificate->der()});
}

// ---- existing key -------------------------------------------------------------------------------

TEST_F(EngineTest, ExistingKeyGetsANewCaCertificateAndTheKeyRowIsUnchanged) {
  create_store(dir());
  std::string fingerprint;
  {
    KeyStore store = open_store(dir());
    fingerprint = store.generate("root", crypto::KeyAlgorithm::EcP256, "made before setup").fingerprint_hex;
  }
  const Rows before = key_rows(dir(), {"keys"});
  const SetupResult r = apply(plan(SetupMode::ExistingKey), secrets());
  ASSERT_TRUE(r.ca_certificate.has_value());
  EXPECT_EQ(r.ca_fingerprint_hex, fingerprint);
  EXPECT_EQ(row_diff(before, key_rows(dir(), {"keys"})), "");
  EXPECT_EQ(ca_certificates(dir(), "root"), std::vector<Bytes>{r.ca_certificate->der()});
  EXPECT_EQ(identity_of(*r.ca_certificate).common_name, "Example Root CA");
  EXPECT_EQ(test::read_text(r.files.ca_certificate), pem(*r.ca_certificate));
  const std::string verified = test::openssl({"verify", "-x509_strict", "-CAfile", r.files.ca_certificate.string(),
                                              r.files.tls_certificate.string()});
  EXPECT_TRUE(contains(verified, ": OK")) << verified;
}

TEST_F(EngineTest, ExistingKeyThatIsMissingOrBrokenChangesNothing) {
  create_store(dir());
  {
    KeyStore store = open_store(dir());
    (void)store.generate("root", crypto::KeyAlgorithm::EcP256);
  }
  test::StoreEditor(dir()).flip_key_byte("root", "encrypted_private_key", 20);
  const Rows before = all_rows(dir());
  const std::set<std::string> files = other_files(dir());

  Error e = capture_error([&] { (void)apply(plan(SetupMode::ExistingKey), secrets()); });
  EXPECT_EQ(e.code(), "key-invalid") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  EXPECT_EQ(other_files(dir()), files);

  e = capture_error([&] { (void)apply(plan(SetupMode::ExistingKey, dir(), "nobody"), secrets()); });
  EXPECT_EQ(e.code(), "key-not-found") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  EXPECT_EQ(other_files(dir()), files);
}

// ---- existing key and certificate ---------------------------------------------------------------

TEST_F(EngineTest, ExistingKeyAndCertificateReusesTheCertificateExactly) {
  create_store(dir());
  const crypto::Certificate cert = import_with_ca_cert(dir(), "root");
  const Rows before = key_rows(dir());
  SetupPlan p = plan(SetupMode::ExistingKeyAndCertificate);
  p.identity = {};  // the certificate brings its own
  const SetupResult r = apply(p, secrets());
  ASSERT_TRUE(r.ca_certificate.has_value());
  EXPECT_EQ(r.ca_certificate->der(), cert.der());
  EXPECT_EQ(row_diff(before, key_rows(dir())), "") << "no certificate or key row may be added or changed";
  EXPECT_EQ(test::read_text(r.files.ca_certificate), pem(cert));
  EXPECT_EQ(identity_of(cert).organization, "Imported Corp");
  const std::string verified = test::openssl({"verify", "-x509_strict", "-CAfile", r.files.ca_certificate.string(),
                                              r.files.tls_certificate.string()});
  EXPECT_TRUE(contains(verified, ": OK")) << verified;
}

TEST_F(EngineTest, ExistingKeyAndCertificateRefusesExpiredOrMissingCertificate) {
  create_store(dir());
  (void)import_with_ca_cert(dir(), "expired", std::chrono::system_clock::now() - 24h * 400, 24h * 30);
  {
    KeyStore store = open_store(dir());
    (void)store.generate("bare", crypto::KeyAlgorithm::EcP256);
  }
  const Rows before = all_rows(dir());
  const std::set<std::string> files = other_files(dir());

  Error e = capture_error([&] { (void)apply(plan(SetupMode::ExistingKeyAndCertificate, dir(), "expired"), secrets()); });
  EXPECT_EQ(e.code(), "ca-certificate-expired") << e.what();
  EXPECT_TRUE(contains(e.what(), "existing-key")) << "the message should say how to go on: " << e.what();
  e = capture_error([&] { (void)apply(plan(SetupMode::ExistingKeyAndCertificate, dir(), "bare"), secrets()); });
  EXPECT_EQ(e.code(), "no-ca-certificate") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  EXPECT_EQ(other_files(dir()), files);

  // The expired certificate's key can still be reinstalled with a new certificate.
  const SetupResult r = apply(plan(SetupMode::ExistingKey, dir(), "expired"), secrets());
  ASSERT_TRUE(r.ca_certificate.has_value());
  EXPECT_GT(r.ca_certificate->not_after(), std::chrono::system_clock::now() + 24h * 300);
  EXPECT_EQ(ca_certificates(dir(), "expired").size(), 2u);
}

// ---- restore then reinstall ---------------------------------------------------------------------

class RestoreEngineTest : public EngineTest {
 protected:
  [[nodiscard]] fs::path dir_a() const { return tmp_ / "a"; }
  [[nodiscard]] fs::path dir_b() const { return tmp_ / "b"; }
  [[nodiscard]] fs::path backup_file() const { return tmp_ / "a.sbk"; }

  // Store A: installed with a new key "root", plus a valid "spare" and two keys broken behind the
  // store's back ("flipped", "swapped"), backed up to backup_file(). Store B: an empty store.
  void SetUp() override {
    create_store(dir_a());
    plan_a_ = plan(SetupMode::NewKey, dir_a());
    const SetupResult r = apply(plan_a_, secrets());
    ca_cert_a_ = r.ca_certificate->der();
    fingerprint_a_ = r.ca_fingerprint_hex;
    {
      KeyStore a = open_store(dir_a());
      for (const char* n : {"spare", "flipped", "swap-1", "swap-2"}) (void)a.generate(n, crypto::KeyAlgorithm::EcP256);
    }
    {
      test::StoreEditor edit(dir_a());
      edit.flip_key_byte("flipped", "encrypted_private_key", 20);
      edit.swap_key_blobs("swap-1", "swap-2", "encrypted_private_key");
    }
    {
      KeyStore a = open_store(dir_a());
      (void)a.create_backup(backup_file(), pass(kBackupPass), kFastKdf, "test");
    }
    create_store(dir_b(), kOtherStorePass);
  }

  SetupPlan restore_plan(const std::string& key = "root") {
    SetupPlan p = plan(SetupMode::RestoreThenReinstall, dir_b(), key);
    p.identity = {};
    p.backup_file = backup_file();
    return p;
  }

  SetupPlan plan_a_;
  Bytes ca_cert_a_;
  std::string fingerprint_a_;
};

TEST_F(RestoreEngineTest, RestoresTheSameCaKeyAndCertificateAndQuarantinesTheBroken) {
  const SetupResult r = apply(restore_plan(), restore_secrets(kOtherStorePass, kBackupPass));
  EXPECT_EQ(r.ca_key_name, "root");
  EXPECT_EQ(r.ca_fingerprint_hex, fingerprint_a_);
  ASSERT_TRUE(r.ca_certificate.has_value());
  EXPECT_EQ(r.ca_certificate->der(), ca_cert_a_);
  EXPECT_EQ(test::read_text(InstallationFiles::in(dir_b()).ca_certificate),
            test::read_text(InstallationFiles::in(dir_a()).ca_certificate));

  KeyStore b = open_store(dir_b(), kOtherStorePass);
  std::vector<std::string> names;
  for (const auto& rec : b.records()) names.push_back(rec.name);
  EXPECT_EQ(names, (std::vector<std::string>{"root", "spare"}));
  // Every offered key is valid, the CA key among them.
  const keystore::IntegrityReport report = b.check_all();
  EXPECT_TRUE(report.excluded.empty());
  std::set<std::string> quarantined;
  for (const auto& q : b.quarantine()) {
    quarantined.insert(q.name);
    EXPECT_NE(q.fingerprint_hex, fingerprint_a_) << "the CA key was quarantined";
    EXPECT_FALSE(q.findings.empty());
  }
  EXPECT_EQ(quarantined, (std::set<std::string>{"flipped", "swap-1", "swap-2"}));
  const auto unlocked = b.unlock_key("root");
  EXPECT_EQ(unlocked.verdict.fingerprint_hex, fingerprint_a_);
  EXPECT_EQ(b.installation()->state, "installed");

  const InstallationFiles f = InstallationFiles::in(dir_b());
  const std::string verified =
      test::openssl({"verify", "-x509_strict", "-CAfile", f.ca_certificate.string(), f.tls_certificate.string()});
  EXPECT_TRUE(contains(verified, ": OK")) << verified;
  const toml::table conf = toml::parse_file(f.configuration.string());
  EXPECT_EQ(conf["store"]["data_dir"].value<std::string>(), dir_b().string());
  EXPECT_EQ(conf["store"]["ca_key"].value<std::string>(), "root");
}

TEST_F(RestoreEngineTest, TheBackupsApiClientsJoinAStoreWithClientsOnlyWhenTheAnswersSaySo) {
  (void)issuance::Ledger(KeyStore::database_path(dir_a())).add_client("admin-a", {"*"}, true, "test");
  const fs::path with_clients = tmp_ / "a-clients.sbk";
  {
    KeyStore a = open_store(dir_a());
    (void)a.create_backup(with_clients, pass(kBackupPass), kFastKdf, "test");
  }
  (void)issuance::Ledger(KeyStore::database_path(dir_b())).add_client("local-b", {"server-tls"}, false, "test");
  SetupPlan p = restore_plan();
  p.backup_file = with_clients;
  const Rows before = all_rows(dir_b());
  const Error e = capture_error([&] { (void)apply(p, restore_secrets(kOtherStorePass, kBackupPass)); });
  EXPECT_EQ(e.code(), "restore-merges-clients") << e.what();
  for (const char* part : {"admin-a", "merge_clients = true", "Nothing was restored"}) {
    EXPECT_TRUE(contains(e.what(), part)) << part << ": " << e.what();
  }
  EXPECT_FALSE(contains(e.what(), "--merge-clients (")) << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir_b())), "");

  p.merge_clients = true;
  const SetupResult r = apply(p, restore_secrets(kOtherStorePass, kBackupPass));
  EXPECT_EQ(r.ca_fingerprint_hex, fingerprint_a_);
  issuance::Ledger b(KeyStore::database_path(dir_b()));
  EXPECT_TRUE(b.client("admin-a"));
  EXPECT_TRUE(b.client("local-b"));
}

TEST_F(RestoreEngineTest, ABrokenOrMissingKeyInTheBackupIsNeverTheCaKeyAndNothingIsWritten) {
  const Rows before = all_rows(dir_b());
  const std::set<std::string> files = other_files(dir_b());
  for (const char* broken : {"flipped", "swap-1"}) {
    const Error e =
        capture_error([&] { (void)apply(restore_plan(broken), restore_secrets(kOtherStorePass, kBackupPass)); });
    EXPECT_EQ(e.code(), "key-invalid") << e.what();
    EXPECT_TRUE(contains(e.what(), broken)) << e.what();
    EXPECT_EQ(row_diff(before, all_rows(dir_b())), "");
    EXPECT_EQ(other_files(dir_b()), files);
  }
  const Error e =
      capture_error([&] { (void)apply(restore_plan("nobody"), restore_secrets(kOtherStorePass, kBackupPass)); });
  EXPECT_EQ(e.code(), "key-not-found") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir_b())), "");
  EXPECT_EQ(other_files(dir_b()), files);
}

TEST_F(RestoreEngineTest, WrongBackupPassphraseWritesNothing) {
  const Rows before = all_rows(dir_b());
  const std::set<std::string> files = other_files(dir_b());
  const Error e = capture_error(
      [&] { (void)apply(restore_plan(), restore_secrets(kOtherStorePass, "not the backup passphrase")); });
  EXPECT_EQ(e.code(), "wrong-backup-passphrase") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir_b())), "");
  EXPECT_EQ(other_files(dir_b()), files);
  EXPECT_TRUE(installation_files(dir_b()).empty());

  // No backup passphrase at all.
  const Error none = capture_error([&] { (void)apply(restore_plan(), secrets(kOtherStorePass)); });
  EXPECT_EQ(none.code(), "passphrase-required") << none.what();
  EXPECT_EQ(other_files(dir_b()), files);
}

TEST_F(RestoreEngineTest, WrongBackupPassphraseIntoAMissingDataDirLeavesNoDirectory) {
  SetupPlan p = restore_plan();
  p.data_dir = tmp_ / "not-yet";
  const Error e = capture_error(
      [&] { (void)apply(p, restore_secrets(kOtherStorePass, "not the backup passphrase")); });
  EXPECT_EQ(e.code(), "wrong-backup-passphrase") << e.what();
  EXPECT_FALSE(fs::exists(p.data_dir)) << "a refused restore left a data directory behind";
}

TEST_F(RestoreEngineTest, WrongStorePassphraseWritesNothing) {
  const Rows before = all_rows(dir_b());
  const std::set<std::string> files = other_files(dir_b());
  const Error e = capture_error([&] { (void)apply(restore_plan(), restore_secrets(kStorePass, kBackupPass)); });
  EXPECT_EQ(e.code(), "wrong-passphrase") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir_b())), "");
  EXPECT_EQ(other_files(dir_b()), files);
}

TEST_F(RestoreEngineTest, ApplyingTwiceAndReinstallingAfterRestoreNeverTouchesAKeyEntry) {
  const SetupPlan p = restore_plan();
  (void)apply(p, restore_secrets(kOtherStorePass, kBackupPass));
  const Rows after_first = key_rows(dir_b());
  const Rows keys_first = key_rows(dir_b(), {"keys"});
  const auto files_first = installation_files(dir_b());
  const std::size_t quarantined = open_store(dir_b(), kOtherStorePass).quarantine().size();

  const SetupResult again = apply(p, restore_secrets(kOtherStorePass, kBackupPass));
  EXPECT_EQ(again.ca_certificate->der(), ca_cert_a_);
  EXPECT_EQ(row_diff(after_first, key_rows(dir_b())), "");
  EXPECT_EQ(installation_files(dir_b()), files_first);
  EXPECT_EQ(open_store(dir_b(), kOtherStorePass).quarantine().size(), quarantined);

  // Reinstalling the restored key with its certificate, or with a new one: no key entry is added
  // or changed.
  SetupPlan reuse = plan(SetupMode::ExistingKeyAndCertificate, dir_b(), "root");
  reuse.identity = {};
  const SetupResult r1 = apply(reuse, secrets(kOtherStorePass));
  EXPECT_EQ(r1.ca_certificate->der(), ca_cert_a_);
  EXPECT_EQ(row_diff(after_first, key_rows(dir_b())), "");

  SetupPlan fresh = plan(SetupMode::ExistingKey, dir_b(), "root");
  fresh.identity.common_name = "Example Root CA G2";
  const SetupResult r2 = apply(fresh, secrets(kOtherStorePass));
  EXPECT_NE(r2.ca_certificate->der(), ca_cert_a_);
  EXPECT_EQ(r2.ca_fingerprint_hex, fingerprint_a_);
  EXPECT_EQ(row_diff(keys_first, key_rows(dir_b(), {"keys"})), "");
}

// ---- the installation travels in the backup -----------------------------------------------------

// Server A with its own settings in signetd.toml (a profile, CRL and log settings that no answers
// file holds), backed up with that configuration.
class CarryOnEngineTest : public RestoreEngineTest {
 protected:
  void SetUp() override {
    RestoreEngineTest::SetUp();
    const InstallationFiles f = InstallationFiles::in(dir_a());
    std::string config = test::read_text(f.configuration);
    config += "\n[crl]\nvalidity = \"3d\"\nrefresh_before = \"1d\"\n\n[log]\nlevel = \"warn\"\n\n"
              "[profiles.web-short]\nmax_validity = \"7d\"\ndefault_validity = \"7d\"\ndns_suffixes = [\"example.test\"]\nkey_usage = [\"digitalSignature\"]\n"
              "extended_key_usage = [\"serverAuth\"]\n";
    (void)daemon::parse_config(config, f.configuration);  // a configuration signetd accepts
    config_a_ = config;
    fs::remove(carry_backup());
    KeyStore a = open_store(dir_a());
    (void)a.create_backup(carry_backup(), pass(kBackupPass), kFastKdf, "test", config_a_);
  }
  [[nodiscard]] fs::path carry_backup() const { return tmp_ / "a-with-config.sbk"; }

  // A restore plan that sets no [daemon] key: everything comes from the backup.
  SetupPlan bare_restore_plan() {
    SetupPlan p = restore_plan();
    p.backup_file = carry_backup();
    p.daemon = DaemonSettings{};
    p.daemon_keys_set.clear();
    return p;
  }

  std::string config_a_;
};

TEST_F(CarryOnEngineTest, ServerBTakesServerAsSettingsWithItsOwnPaths) {
  const SetupResult r = apply(bare_restore_plan(), restore_secrets(kOtherStorePass, kBackupPass));
  ASSERT_TRUE(r.check_passed) << r.check_message;
  const InstallationFiles f = InstallationFiles::in(dir_b());
  const daemon::Config a = daemon::load_config(InstallationFiles::in(dir_a()).configuration);
  const daemon::Config b = daemon::load_config(f.configuration);
  EXPECT_EQ(b.base_url, "http://ca.example.test:8080");
  EXPECT_EQ(b.https_port, a.https_port);
  EXPECT_EQ(b.http_port, a.http_port);
  EXPECT_EQ(b.crl_validity, std::chrono::seconds(3 * 86400));
  EXPECT_EQ(b.log_level, "warn");
  EXPECT_TRUE(b.profiles.count("web-short")) << test::read_text(f.configuration);
  // This machine's paths, never the old one's.
  EXPECT_EQ(b.data_dir, dir_b());
  EXPECT_EQ(b.tls_certificate, f.tls_certificate);
  EXPECT_EQ(b.tls_key, f.tls_key);
  EXPECT_EQ(b.ca_key, "root");
  // The TLS certificate carries A's names.
  const crypto::Certificate tls = first_certificate(f.tls_certificate);
  EXPECT_TRUE(contains(test::openssl({"x509", "-in", f.tls_certificate.string(), "-noout", "-ext", "subjectAltName"}),
                       "ca.example.test"));
  (void)tls;
  // The installation record holds the settings actually used.
  const SetupPlan recorded = current_answers(dir_b(), pass(kOtherStorePass));
  EXPECT_EQ(recorded.daemon.public_base_url, "http://ca.example.test:8080");
  EXPECT_EQ(recorded.daemon.https_port, a.https_port);
}

TEST_F(CarryOnEngineTest, KeysTheAnswersSetWinAndTheRestComesFromTheBackup) {
  SetupPlan p = bare_restore_plan();
  p.daemon.public_base_url = "https://ca-b.example.test";
  p.daemon_keys_set = {"public_base_url"};
  const SetupResult r = apply(p, restore_secrets(kOtherStorePass, kBackupPass));
  ASSERT_TRUE(r.check_passed) << r.check_message;
  const daemon::Config a = daemon::load_config(InstallationFiles::in(dir_a()).configuration);
  const daemon::Config b = daemon::load_config(InstallationFiles::in(dir_b()).configuration);
  EXPECT_EQ(b.base_url, "https://ca-b.example.test");
  EXPECT_EQ(b.https_port, a.https_port);
  EXPECT_EQ(b.log_level, "warn");
}

TEST_F(CarryOnEngineTest, AMovedHttpPortWithTheOldUrlIsNamedInWhatIsLeftToDo) {
  SetupPlan p = bare_restore_plan();
  p.daemon.http_port = free_port();
  p.daemon_keys_set = {"http_port"};
  const SetupResult r = apply(p, restore_secrets(kOtherStorePass, kBackupPass));
  EXPECT_TRUE(std::any_of(r.next_steps.begin(), r.next_steps.end(), [&](const std::string& s) {
    return contains(s, "names port 8080") && contains(s, std::to_string(p.daemon.http_port));
  })) << (r.next_steps.empty() ? std::string("(no steps)") : r.next_steps.back());
}

TEST_F(CarryOnEngineTest, ConfigurationFromBackupFalseStartsFromTheDefaults) {
  SetupPlan p = bare_restore_plan();
  p.configuration_from_backup = false;
  (void)apply(p, restore_secrets(kOtherStorePass, kBackupPass));
  const daemon::Config b = daemon::load_config(InstallationFiles::in(dir_b()).configuration);
  EXPECT_EQ(b.log_level, "info");
  EXPECT_FALSE(b.profiles.count("web-short"));
  // The listeners and URL still come from the backup's installation record.
  EXPECT_EQ(b.base_url, "http://ca.example.test:8080");
}

TEST_F(CarryOnEngineTest, AnInvalidConfigurationInTheBackupChangesNothing) {
  {
    fs::remove(carry_backup());
    KeyStore a = open_store(dir_a());
    (void)a.create_backup(carry_backup(), pass(kBackupPass), kFastKdf, "test", config_a_ + "\n[bogus]\nx = 1\n");
  }
  const Rows before = all_rows(dir_b());
  const Error e = capture_error([&] { (void)apply(bare_restore_plan(), restore_secrets(kOtherStorePass, kBackupPass)); });
  EXPECT_EQ(e.code(), "backup-configuration-invalid") << e.what();
  EXPECT_TRUE(contains(e.what(), "bogus")) << e.what();
  EXPECT_TRUE(contains(e.what(), "configuration_from_backup = false")) << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir_b())), "");
  EXPECT_TRUE(installation_files(dir_b()).empty());
}

TEST_F(CarryOnEngineTest, APortOfTheBackupInUseHereIsNamedAndNothingChanges) {
  BusyPort busy;  // something on this machine holds A's HTTPS port
  std::string config = config_a_;
  const daemon::Config a = daemon::load_config(InstallationFiles::in(dir_a()).configuration);
  const std::string from = "port = " + std::to_string(a.https_port);
  config.replace(config.find(from), from.size(), "port = " + std::to_string(busy.port()));
  {
    fs::remove(carry_backup());
    KeyStore store = open_store(dir_a());
    (void)store.create_backup(carry_backup(), pass(kBackupPass), kFastKdf, "test", config);
  }
  const Rows before = all_rows(dir_b());
  const Error e = capture_error([&] { (void)apply(bare_restore_plan(), restore_secrets(kOtherStorePass, kBackupPass)); });
  EXPECT_EQ(e.code(), "plan-invalid") << e.what();
  EXPECT_TRUE(contains(e.what(), std::to_string(busy.port()))) << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir_b())), "");
}

// ---- ACME in restore-then-reinstall ---------------------------------------------------------------

TEST_F(CarryOnEngineTest, TheBackupsAcmeSettingsCarryOnUnlessTheAnswersSetThem) {
  {
    fs::remove(carry_backup());
    KeyStore a = open_store(dir_a());
    (void)a.create_backup(carry_backup(), pass(kBackupPass), kFastKdf, "test",
                          config_a_ + "\n[acme]\nenabled = true\nprofile = \"web-short\"\nwebsite = \"https://a.example.test\"\n"
                                      "orders_per_account_per_hour = 7\n");
  }
  const SetupResult r = apply(bare_restore_plan(), restore_secrets(kOtherStorePass, kBackupPass));
  ASSERT_TRUE(r.check_passed) << r.check_message;
  const fs::path conf = InstallationFiles::in(dir_b()).configuration;
  daemon::Config b = daemon::load_config(conf);
  EXPECT_TRUE(b.acme_enabled);
  EXPECT_EQ(b.acme_profile, "web-short");
  EXPECT_EQ(b.acme_website, "https://a.example.test");  // keys setup does not know are kept
  EXPECT_EQ(b.acme_orders_per_account_per_hour, 7u);
  EXPECT_FALSE(r.acme_directory_url.empty());
  EXPECT_EQ(current_answers(dir_b(), pass(kOtherStorePass)).daemon.acme.profile, "web-short");

  // [daemon.acme] in the answers replaces them: off, the section stays, saying enabled = false.
  SetupPlan off = bare_restore_plan();
  off.replace_configuration = true;
  off.daemon_keys_set = {"acme"};
  (void)apply(off, restore_secrets(kOtherStorePass, kBackupPass));
  b = daemon::load_config(conf);
  EXPECT_FALSE(b.acme_enabled);
  EXPECT_EQ(b.acme_website, "https://a.example.test");

  // A profile the backup's configuration does not define: refused before anything is written.
  SetupPlan unknown = bare_restore_plan();
  unknown.replace_configuration = true;
  unknown.daemon.acme.enabled = true;
  unknown.daemon.acme.profile = "no-such-profile";
  unknown.daemon_keys_set = {"acme"};
  const Rows before = all_rows(dir_b());
  const auto files = installation_files(dir_b());
  const Error e = capture_error([&] { (void)apply(unknown, restore_secrets(kOtherStorePass, kBackupPass)); });
  EXPECT_EQ(e.code(), "plan-invalid") << e.what();
  EXPECT_TRUE(contains(e.what(), "no-such-profile") && contains(e.what(), "web-short")) << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir_b())), "");
  EXPECT_EQ(installation_files(dir_b()), files);
}

// ---- ACME ([daemon.acme] -> signetd.toml's [acme]) --------------------------------------------------

TEST_F(EngineTest, AcmeEnabledWritesAnAcmeSectionThatSignetdLoads) {
  create_store(dir());
  SetupPlan p = plan(SetupMode::NewKey);
  p.daemon.acme.enabled = true;
  p.daemon.acme.http01_port = 8080;
  p.daemon.acme.resolver = "127.0.0.1:8053";
  p.daemon.acme.allowed_networks = {"10.0.0.0/8", "2001:db8::/32"};
  p.daemon.acme.terms_of_service = "https://ca.example.test/terms";
  const SetupResult r = apply(p, secrets());
  ASSERT_TRUE(r.check_passed) << r.check_message;
  const InstallationFiles f = InstallationFiles::in(dir());

  // The written file loads as signetd loads it, and says what the plan said.
  const daemon::Config c = daemon::load_config(f.configuration);
  EXPECT_TRUE(c.acme_enabled);
  EXPECT_EQ(c.acme_profile, "server-tls");
  EXPECT_EQ(c.acme_http01_port, 8080);
  EXPECT_EQ(c.acme_tlsalpn01_port, 443);
  EXPECT_EQ(c.acme_resolver, "127.0.0.1:8053");
  EXPECT_FALSE(c.acme_eab_required);
  ASSERT_EQ(c.acme_allowed_networks.size(), 2u);
  EXPECT_EQ(c.acme_allowed_networks[1].to_string(), "2001:db8::/32");
  EXPECT_EQ(c.acme_terms_of_service, "https://ca.example.test/terms");
  EXPECT_EQ(acme_settings_of(c), p.daemon.acme);
  const toml::table conf = toml::parse_file(f.configuration.string());
  EXPECT_EQ(conf["acme"]["enabled"].value<bool>(), true);

  // The directory on the HTTPS listener, by the TLS certificate's first DNS name.
  EXPECT_EQ(r.acme_directory_url, "https://ca.example.test:" + std::to_string(p.daemon.https_port) + "/acme/directory");
  ASSERT_EQ(r.acme_examples.size(), 2u);
  EXPECT_TRUE(contains(r.acme_examples[0], "certbot") && contains(r.acme_examples[0], "--server " + r.acme_directory_url) &&
              contains(r.acme_examples[0], "REQUESTS_CA_BUNDLE=" + f.ca_certificate.string()) &&
              contains(r.acme_examples[0], "--http-01-port 8080"))
      << r.acme_examples[0];
  EXPECT_TRUE(contains(r.acme_examples[1], "lego") && contains(r.acme_examples[1], "--server " + r.acme_directory_url) &&
              contains(r.acme_examples[1], "LEGO_CA_CERTIFICATES=" + f.ca_certificate.string()) &&
              contains(r.acme_examples[1], "--http.port :8080"))
      << r.acme_examples[1];
  // The listener is on 127.0.0.1: only clients on this machine reach it, which is said.
  EXPECT_TRUE(std::any_of(r.next_steps.begin(), r.next_steps.end(),
                          [](const std::string& s) { return contains(s, "only ACME clients on this machine"); }));
  // The installation record keeps the settings (--print-answers, a subordinate's later install).
  EXPECT_TRUE(current_answers(dir(), pass(kStorePass)) == p);
}

TEST_F(EngineTest, AcmeOffWritesNoAcmeSection) {
  create_store(dir());
  const SetupResult r = apply(plan(SetupMode::NewKey), secrets());
  ASSERT_TRUE(r.check_passed) << r.check_message;
  const InstallationFiles f = InstallationFiles::in(dir());
  const toml::table conf = toml::parse_file(f.configuration.string());
  EXPECT_FALSE(conf.contains("acme")) << test::read_text(f.configuration);
  EXPECT_FALSE(daemon::load_config(f.configuration).acme_enabled);
  EXPECT_TRUE(r.acme_directory_url.empty());
  EXPECT_TRUE(r.acme_examples.empty());
}

TEST_F(EngineTest, AcmeAskedForOverAKeptConfigurationSaysHowToTurnItOn) {
  create_store(dir());
  SetupPlan p = plan(SetupMode::NewKey);
  (void)apply(p, secrets());
  const InstallationFiles f = InstallationFiles::in(dir());
  const std::string kept = test::read_text(f.configuration);
  p.daemon.acme.enabled = true;
  p.daemon.acme.eab_required = true;
  const SetupResult r = apply(p, secrets());
  EXPECT_EQ(test::read_text(f.configuration), kept);
  EXPECT_TRUE(r.acme_directory_url.empty());
  EXPECT_TRUE(std::any_of(r.next_steps.begin(), r.next_steps.end(), [](const std::string& s) {
    return contains(s, "ACME was asked for") && contains(s, "replace_configuration = true");
  }));
  p.replace_configuration = true;
  const SetupResult replaced = apply(p, secrets());
  ASSERT_TRUE(replaced.check_passed) << replaced.check_message;
  EXPECT_TRUE(daemon::load_config(f.configuration).acme_eab_required);
  EXPECT_FALSE(replaced.acme_directory_url.empty());
  EXPECT_TRUE(contains(replaced.acme_examples.at(0), "--eab-kid")) << replaced.acme_examples.at(0);
  EXPECT_TRUE(contains(replaced.acme_examples.at(1), "--eab --kid")) << replaced.acme_examples.at(1);
  EXPECT_TRUE(std::any_of(replaced.next_steps.begin(), replaced.next_steps.end(),
                          [](const std::string& s) { return contains(s, "signet acme eab add"); }));
}

TEST_F(EngineTest, AcmeDirectoryHostFollowsTheTlsNames) {
  DaemonSettings d;
  d.https_port = 9443;
  d.tls_names = {"10.0.0.1", "*.example.test", "ca.example.test"};
  EXPECT_EQ(acme_directory_url(d), "https://ca.example.test:9443/acme/directory");
  d.tls_names = {"*.example.test", "2001:db8::1", "10.0.0.1"};
  EXPECT_EQ(acme_directory_url(d), "https://[2001:db8::1]:9443/acme/directory");
  d.tls_names.clear();
  d.https_address = "192.0.2.1";
  EXPECT_EQ(acme_directory_url(d), "https://192.0.2.1:9443/acme/directory");
}

// ---- where signetd gets the passphrase ------------------------------------------------------------

TEST_F(EngineTest, TheOperatorsPassphraseFileIsRecordedAndTheStartCommandWorks) {
  create_store(dir());
  const fs::path pf = tmp_ / "operator-passphrase";
  test::write_text(pf, std::string(kStorePass) + "\n");
  fs::permissions(pf, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  SetupPlan p = plan(SetupMode::NewKey);
  p.passphrase_source = PassphraseSource::OperatorFile;
  p.passphrase_file = pf;
  const SetupResult r = apply(p, secrets());
  EXPECT_TRUE(r.check_passed) << r.check_message;
  const daemon::Config c = daemon::load_config(r.files.configuration);
  EXPECT_EQ(c.passphrase_file, pf);
  EXPECT_TRUE(r.start_command.ends_with("signetd --config " + r.files.configuration.string())) << r.start_command;
  EXPECT_FALSE(fs::exists(dir() / "passphrase"));  // nothing was written where no one looks
}

TEST_F(EngineTest, APassphraseFileThatDoesNotUnlockTheStoreIsRefusedBeforeAnyWrite) {
  create_store(dir());
  const fs::path pf = tmp_ / "stale-passphrase";
  test::write_text(pf, "an old passphrase\n");
  SetupPlan p = plan(SetupMode::NewKey);
  p.passphrase_source = PassphraseSource::OperatorFile;
  p.passphrase_file = pf;
  const Rows before = all_rows(dir());
  const Error e = capture_error([&] { (void)apply(p, secrets()); });
  EXPECT_EQ(e.code(), "passphrase-file-mismatch") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  EXPECT_TRUE(installation_files(dir()).empty());
  // A missing file is a plan problem, named before anything is asked.
  p.passphrase_file = tmp_ / "missing";
  EXPECT_EQ(field_codes_of(validate(p)).count({"passphrase_file", "not-found"}), 1u);
}

TEST_F(EngineTest, AStoredPassphraseFileIsWritten0600AndUsed) {
  create_store(dir());
  SetupPlan p = plan(SetupMode::NewKey);
  p.passphrase_source = PassphraseSource::StoredFile;
  const SetupResult r = apply(p, secrets());
  EXPECT_TRUE(r.check_passed) << r.check_message;
  EXPECT_EQ(mode_of(dir() / "passphrase"), 0600u);
  EXPECT_EQ(test::read_text(dir() / "passphrase"), std::string(kStorePass) + "\n");
  EXPECT_EQ(daemon::load_config(r.files.configuration).passphrase_file, dir() / "passphrase");
  EXPECT_TRUE(std::any_of(r.actions.begin(), r.actions.end(),
                          [](const std::string& a) { return contains(a, "whoever can read it"); }));
}

TEST_F(EngineTest, TheSystemdCredentialLeavesNoFileAndSaysWhatToDo) {
  create_store(dir());
  const SetupResult r = apply(plan(SetupMode::NewKey), secrets());
  EXPECT_TRUE(r.check_passed) << r.check_message;
  EXPECT_TRUE(daemon::load_config(r.files.configuration).passphrase_file.empty());
  EXPECT_FALSE(fs::exists(dir() / "passphrase"));
  EXPECT_EQ(r.start_command, "systemctl enable --now signetd");
  ASSERT_FALSE(r.next_steps.empty());
  EXPECT_TRUE(contains(r.next_steps.front(), "LoadCredential=passphrase:/etc/signet/passphrase")) << r.next_steps.front();
}

// The audit log says what happened: setup generated the CA key (it was logged as an import).
TEST_F(EngineTest, TheGeneratedCaKeyIsAuditedAsGenerated) {
  create_store(dir());
  (void)apply(plan(SetupMode::NewKey), secrets());
  std::vector<std::string> actions;
  for (const auto& e : open_store(dir()).audit_log()) {
    if (e.subject == "root" && e.action.rfind("key.", 0) == 0) actions.push_back(e.action);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"key.generate"}));
}

TEST_F(EngineTest, ALoopbackPublicUrlIsNamedInWhatIsLeftToDo) {
  create_store(dir());
  SetupPlan p = plan(SetupMode::NewKey);
  p.daemon.public_base_url = "http://127.0.0.1:8080";
  const SetupResult r = apply(p, secrets());
  EXPECT_TRUE(std::any_of(r.next_steps.begin(), r.next_steps.end(),
                          [](const std::string& s) { return contains(s, "loopback"); }));
}

// ---- an installed CA is never replaced silently --------------------------------------------------

TEST_F(EngineTest, ANewInstallOverAnInstalledCaIsRefusedUnlessConfirmed) {
  create_store(dir());
  const SetupResult first = apply(plan(SetupMode::NewKey, dir(), "root"), secrets());
  const auto files = installation_files(dir());
  const Rows before = all_rows(dir());
  SetupPlan other = plan(SetupMode::NewKey, dir(), "root-2");
  other.identity.common_name = "Another Root";
  const Error e = capture_error([&] { (void)apply(other, secrets()); });
  EXPECT_EQ(e.code(), "installation-exists") << e.what();
  EXPECT_TRUE(contains(e.what(), first.ca_fingerprint_hex)) << e.what();
  EXPECT_TRUE(contains(e.what(), "CN=Example Root CA")) << e.what();
  EXPECT_EQ(installation_files(dir()), files);
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");

  other.replace_installation = true;
  const SetupResult r = apply(other, secrets());
  EXPECT_NE(r.ca_fingerprint_hex, first.ca_fingerprint_hex);
  std::set<std::string> kept;
  for (const auto& entry : fs::directory_iterator(dir())) {
    const std::string n = entry.path().filename().string();
    if (n.find(".replaced-") != std::string::npos) kept.insert(n.substr(0, n.find(".replaced-")));
  }
  EXPECT_EQ(kept, (std::set<std::string>{"ca.pem", "signetd.toml"}));
}

// One ledger serves one CA: a new CA in a directory whose ledger holds the installed CA's
// certificates would sign CRLs listing serials it never issued. Refused even when confirmed.
TEST_F(EngineTest, ACaWhoseLedgerHoldsCertificatesIsNeverReplacedInPlace) {
  create_store(dir());
  (void)apply(plan(SetupMode::NewKey, dir(), "root"), secrets());
  {
    db::Database db = db::Database::open(KeyStore::database_path(dir()), db::OpenMode::ReadWrite);
    db.exec("INSERT INTO crl_state (singleton, crl_number, updated_at) VALUES (1, 3, 0)");
  }
  const auto files = installation_files(dir());
  const Rows before = all_rows(dir());
  SetupPlan other = plan(SetupMode::NewKey, dir(), "root-2");
  other.replace_installation = true;
  const Error e = capture_error([&] { (void)apply(other, secrets()); });
  EXPECT_EQ(e.code(), "ledger-belongs-to-another-ca") << e.what();
  EXPECT_TRUE(contains(e.what(), "new data directory")) << e.what();
  EXPECT_EQ(installation_files(dir()), files);
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
}

TEST_F(EngineTest, ReinstallingFromADirectoryWithoutAStoreCreatesNothing) {
  for (SetupMode mode : {SetupMode::ExistingKey, SetupMode::ExistingKeyAndCertificate}) {
    SetupPlan p = plan(mode, tmp_ / "empty", "root");
    fs::create_directory(tmp_ / "empty");
    fs::permissions(tmp_ / "empty", fs::perms::owner_all, fs::perm_options::replace);
    const Error e = capture_error([&] { (void)apply(p, secrets()); });
    EXPECT_EQ(e.code(), "store-missing") << e.what();
    EXPECT_TRUE(contains(e.what(), "new-key")) << e.what();
    EXPECT_TRUE(fs::is_empty(tmp_ / "empty"));
  }
}

// ---- idempotence --------------------------------------------------------------------------------

TEST_F(EngineTest, NewKeyPlanAppliedAgainChangesNothing) {
  create_store(dir());
  const SetupPlan p = plan(SetupMode::NewKey);
  const SetupResult first = apply(p, secrets());
  const Rows rows = key_rows(dir());
  const auto files = installation_files(dir());

  const SetupResult second = apply(p, secrets());
  EXPECT_EQ(second.ca_fingerprint_hex, first.ca_fingerprint_hex);
  EXPECT_EQ(second.ca_certificate->der(), first.ca_certificate->der());
  EXPECT_EQ(row_diff(rows, key_rows(dir())), "");
  EXPECT_EQ(installation_files(dir()), files);
}

TEST_F(EngineTest, ExistingKeyPlanAppliedAgainChangesNothing) {
  create_store(dir());
  {
    KeyStore store = open_store(dir());
    (void)store.generate("root", crypto::KeyAlgorithm::EcP256);
  }
  const SetupPlan p = plan(SetupMode::ExistingKey);
  const SetupResult first = apply(p, secrets());
  const Rows rows = key_rows(dir());
  const auto files = installation_files(dir());
  const SetupResult second = apply(p, secrets());
  EXPECT_EQ(second.ca_certificate->der(), first.ca_certificate->der());
  EXPECT_EQ(row_diff(rows, key_rows(dir())), "") << "re-applying an existing-key plan added a certificate";
  EXPECT_EQ(installation_files(dir()), files);
}

TEST_F(EngineTest, ExistingKeyAndCertificatePlanAppliedAgainChangesNothing) {
  create_store(dir());
  (void)import_with_ca_cert(dir(), "root");
  const Rows rows = key_rows(dir());
  const SetupPlan p = plan(SetupMode::ExistingKeyAndCertificate);
  (void)apply(p, secrets());
  const auto files = installation_files(dir());
  (void)apply(p, secrets());
  EXPECT_EQ(row_diff(rows, key_rows(dir())), "");
  EXPECT_EQ(installation_files(dir()), files);
}

TEST_F(EngineTest, ConfigurationAndCaCertificateAreReplacedOnlyWhenThePlanSaysSo) {
  create_store(dir());
  const SetupPlan p = plan(SetupMode::NewKey);
  const SetupResult first = apply(p, secrets());
  const InstallationFiles f = InstallationFiles::in(dir());
  const std::string conf = test::read_text(f.configuration);
  const std::string ca = test::read_text(f.ca_certificate);
  const Rows keys = key_rows(dir(), {"keys"});

  // Other ports, other identity, no flags: the configuration and the certificate stay.
  SetupPlan changed = plan(SetupMode::ExistingKey);
  changed.identity.common_name = "Example Root CA G2";
  while (changed.daemon.https_port == p.daemon.https_port || changed.daemon.https_port == changed.daemon.http_port) {
    changed.daemon.https_port = free_port();
  }
  SetupPlan keep = changed;
  keep.mode = SetupMode::ExistingKeyAndCertificate;
  (void)apply(keep, secrets());
  EXPECT_EQ(test::read_text(f.configuration), conf);
  EXPECT_EQ(test::read_text(f.ca_certificate), ca);
  EXPECT_EQ(ca_certificates(dir(), "root").size(), 1u);

  // replace_configuration: the configuration says the new port; the CA certificate stays.
  keep.replace_configuration = true;
  (void)apply(keep, secrets());
  const std::string conf2 = test::read_text(f.configuration);
  EXPECT_NE(conf2, conf);
  EXPECT_EQ(toml::parse(conf2)["https"]["port"].value<std::int64_t>(), changed.daemon.https_port);
  EXPECT_EQ(test::read_text(f.ca_certificate), ca);

  // replace_ca_certificate: a new CA certificate for the same key, in ca.pem and attached; the
  // configuration stays; the key entry never changes.
  SetupPlan replace = p;
  replace.replace_ca_certificate = true;
  replace.identity.common_name = "Example Root CA G2";
  const SetupResult r = apply(replace, secrets());
  EXPECT_NE(r.ca_certificate->der(), first.ca_certificate->der());
  EXPECT_EQ(r.ca_fingerprint_hex, first.ca_fingerprint_hex);
  EXPECT_EQ(test::read_text(f.ca_certificate), pem(*r.ca_certificate));
  EXPECT_EQ(test::read_text(f.configuration), conf2);
  EXPECT_EQ(ca_certificates(dir(), "root").size(), 2u);
  EXPECT_EQ(row_diff(keys, key_rows(dir(), {"keys"})), "");
  // The TLS certificate follows the CA certificate.
  const std::string verified =
      test::openssl({"verify", "-x509_strict", "-CAfile", f.ca_certificate.string(), f.tls_certificate.string()});
  EXPECT_TRUE(contains(verified, ": OK")) << verified;
}

TEST_F(EngineTest, ReplacedCaCertificateWithTheSameNameAlsoReplacesTheChainInTheTlsFile) {
  create_store(dir());
  const SetupPlan p = plan(SetupMode::NewKey);
  (void)apply(p, secrets());
  const InstallationFiles f = InstallationFiles::in(dir());
  SetupPlan replace = p;
  replace.replace_ca_certificate = true;  // same identity, same key: the old TLS certificate still verifies
  const SetupResult r = apply(replace, secrets());
  const std::string chain = test::read_text(f.tls_certificate);
  EXPECT_TRUE(contains(chain, pem(*r.ca_certificate))) << "tls-cert.pem still carries the replaced CA certificate";
}

TEST_F(EngineTest, AKeptConfigurationIsRewrittenWhenItNamesAnotherCaKey) {
  create_store(dir());
  (void)apply(plan(SetupMode::NewKey, dir(), "root"), secrets());
  const InstallationFiles f = InstallationFiles::in(dir());
  ASSERT_EQ(toml::parse(test::read_text(f.configuration))["store"]["ca_key"].value<std::string>(), "root");
  {
    KeyStore store = open_store(dir());
    (void)store.generate("root-2", crypto::KeyAlgorithm::EcP256);
  }
  SetupPlan other = plan(SetupMode::ExistingKey, dir(), "root-2");  // replace_configuration stays false
  // Another key replaces the installed CA: never silently.
  const std::string old_config = test::read_text(f.configuration);
  const Error refused = capture_error([&] { (void)apply(other, secrets()); });
  EXPECT_EQ(refused.code(), "installation-exists") << refused.what();
  EXPECT_TRUE(contains(refused.what(), "key \"root\"")) << refused.what();
  EXPECT_TRUE(contains(refused.what(), "replace_installation = true")) << refused.what();
  EXPECT_EQ(test::read_text(f.configuration), old_config);

  other.replace_installation = true;
  const SetupResult r = apply(other, secrets());
  EXPECT_EQ(toml::parse(test::read_text(f.configuration))["store"]["ca_key"].value<std::string>(), "root-2");
  // The old configuration is kept beside the new one.
  bool kept = false;
  for (const auto& e : fs::directory_iterator(dir())) {
    if (e.path().filename().string().starts_with("signetd.toml.replaced-")) {
      kept = true;
      EXPECT_EQ(test::read_text(e.path()), old_config);
      EXPECT_EQ(fs::status(e.path()).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  EXPECT_TRUE(kept);
  EXPECT_TRUE(std::any_of(r.actions.begin(), r.actions.end(),
                          [](const std::string& a) { return contains(a, "Kept the replaced signetd.toml"); }));
}

// ---- bad input ----------------------------------------------------------------------------------

TEST_F(EngineTest, WrongStorePassphraseWritesNothing) {
  create_store(dir());
  const Rows before = all_rows(dir());
  const std::set<std::string> files = other_files(dir());
  const Error e = capture_error([&] { (void)apply(plan(SetupMode::NewKey), secrets("not the store passphrase")); });
  EXPECT_EQ(e.code(), "wrong-passphrase") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  EXPECT_EQ(other_files(dir()), files);
  EXPECT_TRUE(installation_files(dir()).empty());
}

TEST_F(EngineTest, NewKeyWithATakenNameWritesNothing) {
  create_store(dir());
  {
    KeyStore store = open_store(dir());
    (void)store.generate("root", crypto::KeyAlgorithm::EcP256);
  }
  const Rows before = all_rows(dir());
  const std::set<std::string> files = other_files(dir());
  const Error e = capture_error([&] { (void)apply(plan(SetupMode::NewKey), secrets()); });
  EXPECT_EQ(e.code(), "name-taken") << e.what();
  EXPECT_TRUE(contains(e.what(), "existing-key")) << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  EXPECT_EQ(other_files(dir()), files);
}

TEST_F(EngineTest, InvalidPlanIsRefusedWithEveryProblem) {
  create_store(dir());
  const Rows before = all_rows(dir());
  SetupPlan p = plan(SetupMode::NewKey);
  p.identity.common_name.clear();
  p.validity_days = 0;
  const Error e = capture_error([&] { (void)apply(p, secrets()); });
  EXPECT_EQ(e.code(), "plan-invalid");
  EXPECT_TRUE(contains(e.what(), "identity.common_name")) << e.what();
  EXPECT_TRUE(contains(e.what(), "validity_days")) << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
}

// validate() calls "123" and "1.2.3" DNS names (inet_pton does not take them as addresses); the
// TLS certificate must agree, or issuing it fails after the store was written.
TEST_F(EngineTest, NumericLookingDnsNamesAreDnsNamesInTheTlsCertificate) {
  create_store(dir());
  SetupPlan p = plan(SetupMode::NewKey);
  p.daemon.tls_names = {"123", "1.2.3", "10.0.0.1"};
  ASSERT_TRUE(validate(p).empty());
  const SetupResult r = apply(p, secrets());
  const std::string ext =
      test::openssl({"x509", "-in", r.files.tls_certificate.string(), "-noout", "-ext", "subjectAltName"});
  for (const char* want : {"DNS:123", "DNS:1.2.3", "IP Address:10.0.0.1"}) {
    EXPECT_TRUE(contains(ext, want)) << want << " missing in\n" << ext;
  }
}

TEST_F(EngineTest, CurrentAnswersBeforeSetupIsNotInstalled) {
  create_store(dir());
  const Error e = capture_error([&] { (void)current_answers(dir(), pass(kStorePass)); });
  EXPECT_EQ(e.code(), "not-installed");
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
}

// ---- subordinate --------------------------------------------------------------------------------

class SubordinateEngineTest : public EngineTest {
 protected:
  void SetUp() override {
    create_store(dir());
    fs::create_directory(tmp_ / "parent");
    chain_ = test::make_openssl_chain(tmp_ / "parent");
    plan_ = plan(SetupMode::Subordinate, dir(), "issuing");
    plan_.identity = {"Example Issuing CA", "Example Corp", "", "DE", "", ""};
    plan_.path_length = 0;
  }

  // The request signed by the parent CA; `ca` false signs it as a leaf.
  fs::path sign_request(const std::string& out_name, bool ca = true) {
    const fs::path ext = tmp_ / (out_name + ".ext");
    test::write_text(ext, ca ? "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                             : "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n");
    const fs::path out = tmp_ / out_name;
    (void)test::openssl({"x509", "-req", "-in", InstallationFiles::in(dir()).request.string(), "-CA",
                         chain_.root_cert.string(), "-CAkey", chain_.root_key.string(), "-set_serial",
                         std::to_string(++serial_), "-days", "365", "-extfile", ext.string(), "-out", out.string()});
    return out;
  }

  test::OpensslChain chain_;
  SetupPlan plan_;
  int serial_ = 4096;
};

TEST_F(SubordinateEngineTest, RequestThenCertificateInstallsTheCa) {
  const SetupResult pending = apply(plan_, secrets());
  EXPECT_TRUE(pending.pending_certificate);
  EXPECT_FALSE(pending.ca_certificate.has_value());
  const InstallationFiles f = InstallationFiles::in(dir());
  ASSERT_TRUE(fs::exists(f.request));
  EXPECT_EQ(mode_of(f.request), 0600u);
  EXPECT_FALSE(fs::exists(f.ca_certificate));
  EXPECT_FALSE(fs::exists(f.configuration));
  {
    KeyStore store = open_store(dir());
    const auto rec = store.record("issuing");
    ASSERT_TRUE(rec.has_value());
    ASSERT_EQ(rec->requests.size(), 1u);
    EXPECT_TRUE(rec->certificates.empty());
    const std::string req_der = test::openssl({"req", "-in", f.request.string(), "-outform", "DER"});
    EXPECT_EQ(rec->requests[0].der, to_bytes(req_der)) << "the attached request is the one written";
    EXPECT_EQ(store.installation()->state, "pending-certificate");
  }
  const std::string req_text = test::openssl({"req", "-in", f.request.string(), "-noout", "-verify", "-subject"});
  EXPECT_TRUE(contains(req_text, "CN = Example Issuing CA")) << req_text;

  // Applying the same plan again adds no key and no request.
  const Rows rows = key_rows(dir());
  const auto files = installation_files(dir());
  (void)apply(plan_, secrets());
  EXPECT_EQ(row_diff(rows, key_rows(dir())), "");
  EXPECT_EQ(installation_files(dir()), files);

  const fs::path signed_cert = sign_request("issuing.pem");
  const SetupResult r = install_certificate(dir(), pass(kStorePass), signed_cert);
  ASSERT_TRUE(r.ca_certificate.has_value());
  EXPECT_FALSE(r.pending_certificate);
  EXPECT_EQ(r.ca_key_name, "issuing");
  EXPECT_EQ(r.ca_certificate->der(), first_certificate(signed_cert).der());
  EXPECT_EQ(ca_certificates(dir(), "issuing"), std::vector<Bytes>{r.ca_certificate->der()});
  EXPECT_EQ(open_store(dir()).installation()->state, "installed");
  EXPECT_EQ(test::read_text(f.ca_certificate), pem(*r.ca_certificate));
  for (const fs::path& file : {f.ca_certificate, f.configuration, f.tls_key, f.tls_certificate}) {
    EXPECT_EQ(mode_of(file), 0600u) << file;
  }
  const std::string verified =
      test::openssl({"verify", "-x509_strict", "-CAfile", chain_.root_cert.string(), "-untrusted",
                     f.ca_certificate.string(), f.tls_certificate.string()});
  EXPECT_TRUE(contains(verified, ": OK")) << verified;
  const toml::table conf = toml::parse_file(f.configuration.string());
  EXPECT_EQ(conf["https"]["port"].value<std::int64_t>(), plan_.daemon.https_port);
  EXPECT_EQ(conf["store"]["ca_key"].value<std::string>(), "issuing");
  EXPECT_TRUE(current_answers(dir(), pass(kStorePass)) == plan_);

  // Nothing is pending any more.
  const Error e = capture_error([&] { (void)install_certificate(dir(), pass(kStorePass), signed_cert); });
  EXPECT_EQ(e.code(), "not-pending") << e.what();

  // Re-applying the subordinate plan to the installed CA keeps it installed: no new request, no
  // key or certificate row, the same files, and no step back to "pending".
  const Rows installed_rows = key_rows(dir());
  const auto installed_files = installation_files(dir());
  const SetupResult again = apply(plan_, secrets());
  EXPECT_FALSE(again.pending_certificate);
  ASSERT_TRUE(again.ca_certificate.has_value());
  EXPECT_EQ(again.ca_certificate->der(), r.ca_certificate->der());
  EXPECT_EQ(open_store(dir()).installation()->state, "installed");
  EXPECT_EQ(row_diff(installed_rows, key_rows(dir())), "");
  EXPECT_EQ(installation_files(dir()), installed_files);
}

TEST_F(SubordinateEngineTest, WrongCertificatesAreRefusedAndNothingChanges) {
  (void)apply(plan_, secrets());
  const Rows before = all_rows(dir());
  const auto files = installation_files(dir());

  // A certificate for another key (the parent's own).
  Error e = capture_error([&] { (void)install_certificate(dir(), pass(kStorePass), chain_.root_cert); });
  EXPECT_EQ(e.code(), "certificate-key-mismatch") << e.what();
  // The right key, but signed as a leaf.
  const fs::path leaf = sign_request("leaf.pem", false);
  e = capture_error([&] { (void)install_certificate(dir(), pass(kStorePass), leaf); });
  EXPECT_EQ(e.code(), "ca-certificate-not-ca") << e.what();
  // Not a certificate at all.
  test::write_text(tmp_ / "junk.pem", "not a certificate\n");
  e = capture_error([&] { (void)install_certificate(dir(), pass(kStorePass), tmp_ / "junk.pem"); });
  EXPECT_EQ(e.code(), "certificate-malformed") << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  EXPECT_EQ(installation_files(dir()), files);
}

TEST_F(SubordinateEngineTest, TheRequestAloneIsNeverEnough) {
  (void)apply(plan_, secrets());
  const fs::path signed_cert = sign_request("issuing.pem");
  {
    // Lost behind the store's back (KeyStore::remove refuses the key an installation awaits).
    db::Database db = db::Database::open(KeyStore::database_path(dir()), db::OpenMode::ReadWrite);
    db.prepare("DELETE FROM keys WHERE name = 'issuing'").run();
  }
  const Rows before = all_rows(dir());
  const Error e = capture_error([&] { (void)install_certificate(dir(), pass(kStorePass), signed_cert); });
  EXPECT_EQ(e.code(), "key-not-found") << e.what();
  EXPECT_TRUE(contains(e.what(), "request alone")) << e.what();
  EXPECT_EQ(row_diff(before, all_rows(dir())), "");
  EXPECT_FALSE(fs::exists(InstallationFiles::in(dir()).ca_certificate));
}

TEST_F(SubordinateEngineTest, InstallWithNothingPendingIsRefused) {
  const fs::path other = tmp_ / "other";
  create_store(other);
  const Error e = capture_error([&] { (void)install_certificate(other, pass(kStorePass), chain_.intermediate_cert); });
  EXPECT_EQ(e.code(), "not-pending") << e.what();
  EXPECT_TRUE(installation_files(other).empty());
}

}  // namespace
}  // namespace signet::setup
