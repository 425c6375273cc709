// What a data directory, a store and a backup hold (common/src/setup/inspect.cpp): the one rule
// for "the" CA certificate, what is installed, and looking that writes nothing.
#include "signet/setup/inspect.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "signet/setup/engine.h"
#include "support/error_assert.h"
#include "support/signetd_process.h"
#include "support/store_edit.h"
#include "support/temp_dir.h"

namespace signet::setup {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using keystore::KeyStore;

constexpr std::string_view kPass = "correct horse battery staple";
Passphrase pass(std::string_view s = kPass) { return Passphrase(as_bytes(s)); }

crypto::Certificate ca_cert(const EVP_PKEY* key, const std::string& cn, std::chrono::hours validity) {
  crypto::SelfSignedSpec spec;
  spec.subject = {{"CN", cn}};
  spec.not_before = std::chrono::system_clock::now() - 1h;
  spec.validity = validity;
  spec.ca = true;
  spec.key_cert_sign = true;
  return crypto::make_self_signed(key, spec);
}

TEST(ChooseCaCertificate, TheInstalledOneElseTheOneValidLongestAndNeverALeaf) {
  const ossl::Pkey key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  const crypto::Certificate shorter = ca_cert(key.get(), "Short", 24h * 30);
  const crypto::Certificate longer = ca_cert(key.get(), "Long", 24h * 300);
  const crypto::Certificate leaf_longest = ca_cert(key.get(), "Leaf", 24h * 3000);
  const std::vector<crypto::Certificate> certs{shorter, longer, leaf_longest};
  const std::vector<std::string> roles{"ca", "ca", "leaf"};
  EXPECT_EQ(choose_ca_certificate(certs, roles, std::nullopt)->der(), longer.der());
  EXPECT_EQ(choose_ca_certificate(certs, roles, shorter.sha256_fingerprint())->der(), shorter.der());
  // An installed certificate that is no longer attached: the rule falls back to the longest.
  EXPECT_EQ(choose_ca_certificate(certs, roles, Bytes(32, 0x42))->der(), longer.der());
  // A leaf is never "the" CA certificate, even when the installation names it.
  EXPECT_EQ(choose_ca_certificate(certs, roles, leaf_longest.sha256_fingerprint())->der(), longer.der());
  EXPECT_FALSE(choose_ca_certificate({leaf_longest}, {"leaf"}, std::nullopt).has_value());
}

TEST(IsLoopbackUrl, LoopbackHostsOnly) {
  for (const char* url : {"http://127.0.0.1:8080", "http://127.1.2.3", "https://localhost/x", "http://LOCALHOST.:80",
                          "http://[::1]:8080/", "http://ca.localhost", "http://user@127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_url(url)) << url;
  }
  for (const char* url : {"http://ca.example.com", "https://10.0.0.1:8443", "http://[2001:db8::1]/",
                          "http://localhost.example.com", "http://128.0.0.1", "not a url"}) {
    EXPECT_FALSE(is_loopback_url(url)) << url;
  }
}

class InspectTest : public ::testing::Test {
 protected:
  fs::path dir() const { return tmp_ / "ca"; }

  // An installed CA "root" plus a broken entry and a quarantined one.
  void install() {
    (void)KeyStore::create(dir(), pass(), crypto::ScryptParams::insecure_for_tests());
    SetupPlan p;
    p.mode = SetupMode::NewKey;
    p.data_dir = dir();
    p.key_name = "root";
    p.identity.common_name = "Inspect Root";
    p.daemon.https_port = test::free_port();
    do {
      p.daemon.http_port = test::free_port();
    } while (p.daemon.http_port == p.daemon.https_port);
    https_port_ = p.daemon.https_port;
    result_ = apply(p, {pass(), std::nullopt});
    KeyStore s = KeyStore::open(dir(), pass());
    (void)s.generate("broken", crypto::KeyAlgorithm::EcP256);
  }

  test::TempDir tmp_;
  SetupResult result_;
  std::uint16_t https_port_ = 0;
};

TEST_F(InspectTest, NothingInstalledInAnEmptyDirectory) {
  fs::create_directories(dir());
  EXPECT_FALSE(installed_ca(dir()).has_value());
}

TEST_F(InspectTest, InstalledCaIsReadFromTheFilesWithoutAPassphrase) {
  install();
  const auto inst = installed_ca(dir());
  ASSERT_TRUE(inst.has_value());
  EXPECT_EQ(inst->subject, "CN=Inspect Root");
  EXPECT_EQ(inst->key_name, "root");
  EXPECT_EQ(inst->fingerprint_hex, result_.ca_fingerprint_hex);
  // A damaged ca.pem still counts as an installation, with what can be read.
  test::write_text(dir() / "ca.pem", "not a certificate");
  const auto damaged = installed_ca(dir());
  ASSERT_TRUE(damaged.has_value());
  EXPECT_EQ(damaged->subject, "");
  EXPECT_EQ(damaged->key_name, "root");
}

TEST_F(InspectTest, StoreContentsOfferValidKeysAndAccountForTheRest) {
  install();
  {
    test::StoreEditor edit(dir());
    edit.flip_key_byte("broken", "encrypted_private_key", 20);
  }
  const StoreContents c = inspect_store(dir(), pass());
  ASSERT_EQ(c.offered.size(), 1u);
  EXPECT_EQ(c.offered[0].verdict.name, "root");
  ASSERT_TRUE(c.offered[0].ca_certificate.has_value());
  EXPECT_EQ(c.offered[0].ca_certificate->subject(), "CN=Inspect Root");
  ASSERT_EQ(c.excluded.size(), 1u);
  EXPECT_EQ(c.excluded[0].name, "broken");
  EXPECT_EQ(c.installed_key, "root");
}

TEST_F(InspectTest, LookingAtAStoreWritesNothingEvenOnAnOlderSchema) {
  install();
  const fs::path db = KeyStore::database_path(dir());
  // Take the store back to schema 3 (no ledger tables), as an older Signet left it.
  {
    db::Database raw = db::Database::open(db, db::OpenMode::ReadWrite);
    raw.exec(std::string(test::kDropLedgerTables) + " PRAGMA user_version = 3");
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const std::string before = test::read_text(db);
  auto listing = [this] {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir())) names.insert(e.path().filename().string());
    return names;
  };
  const std::set<std::string> files = listing();
  ASSERT_FALSE(files.count("signet.db-wal"));
  const StoreContents c = inspect_store(dir(), pass());
  EXPECT_EQ(listing(), files) << "looking at the store left files beside it (-wal, -shm)";
  // A wrong passphrase leaves nothing either.
  EXPECT_THROW((void)inspect_store(dir(), pass("not the passphrase")), Error);
  EXPECT_EQ(listing(), files);
  EXPECT_EQ(c.offered.size(), 2u);
  EXPECT_EQ(test::read_text(db), before) << "inspect_store changed the store file";
  db::Database raw = db::Database::open(db, db::OpenMode::ReadOnly);
  EXPECT_EQ(raw.user_version(), 3);
  // And a read-only store refuses writes instead of making them.
  KeyStore ro = KeyStore::open(dir(), pass(), KeyStore::Access::ReadOnly);
  EXPECT_THROW(ro.generate("new", crypto::KeyAlgorithm::EcP256), Error);
}

TEST_F(InspectTest, AWrongPassphraseIsTheStoresError) {
  install();
  const Error e = test::capture_error([&] { (void)inspect_store(dir(), pass("not the passphrase")); });
  EXPECT_EQ(e.code(), "wrong-passphrase");
}

TEST_F(InspectTest, ABackupCarriesItsInstallation) {
  install();
  const fs::path file = tmp_ / "b.sbk";
  {
    KeyStore s = KeyStore::open(dir(), pass());
    (void)s.create_backup(file, pass("a backup passphrase"), crypto::ScryptParams::insecure_for_tests(), "test",
                          test::read_text(dir() / "signetd.toml"));
  }
  const BackupContents b = inspect_backup(file, pass("a backup passphrase"));
  EXPECT_EQ(b.installation.ca_key_name, "root");
  ASSERT_TRUE(b.installation.answers.has_value());
  EXPECT_EQ(b.installation.answers->daemon.https_port, https_port_);
  ASSERT_TRUE(b.installation.configuration.has_value());
  EXPECT_EQ(*b.installation.configuration, test::read_text(dir() / "signetd.toml"));
  ASSERT_EQ(b.offered.size(), 2u);  // root and the (valid) spare "broken"
  EXPECT_FALSE(b.created.empty());
}

}  // namespace
}  // namespace signet::setup
