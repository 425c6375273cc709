// OpenedBackup (common/src/backup/backup.cpp): a backup is authenticated, its inner database
// checked like a store on disk, and every entry verified before anything is restored. Files that
// are not backups -- a certificate request, a certificate, a key file, the store itself -- are
// named for what they are, with the command that does handle them.
#include "signet/backup/backup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "signet/backup/container.h"
#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/db/migrations.h"
#include "signet/keystore/store.h"
#include "support/error_assert.h"
#include "support/openssl_cli.h"
#include "support/store_edit.h"
#include "support/temp_dir.h"

namespace signet::backup {
namespace {

namespace fs = std::filesystem;
using keystore::KeyStore;
using test::capture_error;

constexpr std::string_view kStorePass = "correct horse battery staple";
constexpr std::string_view kBackupPass = "a backup passphrase for tests";
const crypto::ScryptParams kFastKdf = crypto::ScryptParams::insecure_for_tests();

Passphrase pass(std::string_view s) { return Passphrase(as_bytes(s)); }

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

class OpenedBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(scratch());
    fs::permissions(scratch(), fs::perms::owner_all);
    KeyStore store = KeyStore::create(src(), pass(kStorePass), kFastKdf);
    store.generate("root", crypto::KeyAlgorithm::EcP256, "the root CA");
    store.generate("ed", crypto::KeyAlgorithm::Ed25519);
    const ossl::Pkey key = std::move(store.unlock_key("root").key);
    crypto::SelfSignedSpec spec;
    spec.common_name = "Backup Test Root";
    root_cert_ = crypto::make_self_signed(key.get(), spec);
    store.attach_certificate("root", *root_cert_);
    request_ = crypto::make_request(key.get(), "Backup Test Root");
    store.attach_request("root", *request_);
    store_id_hex_ = store.info().store_id_hex;
    (void)store.create_backup(good(), pass(kBackupPass), kFastKdf, "test-1.0");
  }

  [[nodiscard]] fs::path src() const { return tmp_ / "src"; }
  [[nodiscard]] fs::path scratch() const { return tmp_ / "scratch"; }
  [[nodiscard]] fs::path good() const { return tmp_ / "good.sbk"; }

  OpenedBackup open(const fs::path& file, std::string_view p = kBackupPass) {
    return OpenedBackup::open(file, pass(p), scratch());
  }
  // The error that opening `file` raises; checks that the scratch directory stayed empty.
  Error open_error(const fs::path& file, std::string_view p = kBackupPass) {
    Error e = capture_error([&] { (void)open(file, p); });
    EXPECT_TRUE(listing(scratch()).empty()) << "scratch files left behind after " << e.code();
    return e;
  }

  // A snapshot of the source store's database (no WAL), to build containers by hand.
  fs::path snapshot(const std::string& name) {
    const fs::path out = tmp_ / name;
    KeyStore store = KeyStore::open(src(), pass(kStorePass));
    store.write_snapshot(out);
    return out;
  }
  // A container around `database` with `secrets` as the data key.
  fs::path container(const std::string& name, const fs::path& database, const SecretBytes& secrets,
                     const std::string& manifest = R"({"kind":"signet-backup"})") {
    const fs::path out = tmp_ / name;
    write_container(out, pass(kBackupPass), kFastKdf, manifest, secrets, database, 4096);
    return out;
  }

  test::TempDir tmp_;
  std::optional<crypto::Certificate> root_cert_;
  std::optional<crypto::CertificateRequest> request_;
  std::string store_id_hex_;
};

TEST_F(OpenedBackupTest, OpensAGoodBackupAndChecksEveryEntry) {
  {
    const OpenedBackup b = open(good());
    const nlohmann::json& m = b.manifest();
    EXPECT_EQ(m.at("kind"), "signet-backup");
    EXPECT_EQ(m.at("format_version"), kFormatVersion);
    EXPECT_EQ(m.at("store_id"), store_id_hex_);
    EXPECT_EQ(m.at("tool_version"), "test-1.0");
    EXPECT_EQ(m.at("schema_version"), db::latest_version(keystore::schema_migrations()));
    EXPECT_EQ(m.at("counts").at("keys"), 2);
    EXPECT_EQ(m.at("counts").at("certificates"), 1);
    EXPECT_EQ(m.at("counts").at("requests"), 1);
    EXPECT_EQ(m.at("tables").at("keys"), 2);
    EXPECT_EQ(to_hex(b.store_id()), store_id_hex_);
    const std::string backup_id = m.at("backup_id");
    EXPECT_EQ(backup_id.size(), 32u);
    EXPECT_EQ(std::string(b.backup_id().begin(), b.backup_id().end()), backup_id);
    EXPECT_EQ(b.context().data_key.size(), crypto::kAeadKeySize);

    ASSERT_EQ(b.records().size(), 2u);
    ASSERT_EQ(b.verdicts().size(), 2u);
    EXPECT_EQ(b.records()[0].name, "ed");
    EXPECT_EQ(b.records()[1].name, "root");
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(b.verdicts()[i].id, b.records()[i].id);
      EXPECT_EQ(b.verdicts()[i].name, b.records()[i].name);
      EXPECT_TRUE(b.verdicts()[i].reusable()) << b.verdicts()[i].name;
    }
    EXPECT_EQ(b.records()[1].comment, "the root CA");
    ASSERT_EQ(b.records()[1].certificates.size(), 1u);
    EXPECT_EQ(b.records()[1].certificates[0].der, root_cert_->der());
    ASSERT_EQ(b.records()[1].requests.size(), 1u);
    EXPECT_EQ(b.records()[1].requests[0].der, request_->der());

    // The scratch database lives in the scratch directory, private, while the backup is open.
    EXPECT_EQ(b.database_path().parent_path(), scratch());
    EXPECT_TRUE(fs::exists(b.database_path()));
    struct stat st {};
    ASSERT_EQ(::stat(b.database_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_TRUE(listing(scratch()).empty()) << "the scratch database outlived the OpenedBackup";
}

// An entry damaged inside a backup gets the fix for a copy in a backup: the local entry's fix
// ("restore it from a backup") would send the operator back to this very backup.
TEST_F(OpenedBackupTest, ADamagedEntryInABackupGetsTheFixOfABackupCopy) {
  test::StoreEditor(src()).flip_key_byte("ed", "encrypted_private_key", 20);
  const fs::path file = tmp_ / "damaged.sbk";
  {
    KeyStore store = KeyStore::open(src(), pass(kStorePass));
    (void)store.create_backup(file, pass(kBackupPass), kFastKdf, "test");
  }
  const OpenedBackup b = open(file);
  ASSERT_EQ(b.verdicts()[0].name, "ed");
  ASSERT_FALSE(b.verdicts()[0].reusable());
  for (const keystore::Finding& f : b.verdicts()[0].findings) {
    if (f.severity != keystore::Severity::Error) continue;
    EXPECT_NE(f.fix.find("older backup"), std::string::npos) << f.fix;
    EXPECT_NE(f.fix.find("This backup holds"), std::string::npos) << f.fix;
  }
  EXPECT_TRUE(b.verdicts()[1].reusable());
}

TEST_F(OpenedBackupTest, MovingAnOpenedBackupKeepsExactlyOneScratchDatabasePerBackup) {
  {
    OpenedBackup a = open(good());
    const fs::path a_path = a.database_path();
    OpenedBackup moved(std::move(a));
    EXPECT_EQ(moved.database_path(), a_path);
    EXPECT_EQ(listing(scratch()).size(), 1u);

    OpenedBackup b = open(good());
    EXPECT_EQ(listing(scratch()).size(), 2u);
    b = std::move(moved);  // b's own scratch database is no longer anyone's: it must go
    EXPECT_EQ(b.database_path(), a_path);
    EXPECT_EQ(listing(scratch()), (std::set<std::string>{a_path.filename().string()}));
    EXPECT_EQ(b.records().size(), 2u);
    EXPECT_EQ(b.database().quick_check(), "");
  }
  EXPECT_TRUE(listing(scratch()).empty());
}

TEST_F(OpenedBackupTest, WrongPassphraseAndDamageAreTheContainersErrors) {
  Error e = open_error(good(), "not the backup passphrase");
  EXPECT_EQ(e.kind(), ErrorKind::Unauthorized);
  EXPECT_EQ(e.code(), "wrong-backup-passphrase");

  std::string bytes = test::read_text(good());
  bytes.resize(bytes.size() - 1);
  test::write_text(tmp_ / "cut.sbk", bytes);
  e = open_error(tmp_ / "cut.sbk");
  EXPECT_EQ(e.kind(), ErrorKind::Integrity);
  EXPECT_EQ(e.code(), "backup-corrupt");

  e = capture_error([&] { (void)open(tmp_ / "missing.sbk"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "file-not-found");
}

TEST_F(OpenedBackupTest, CertificateRequestOrCertificateGivenAsBackupIsPrivateKeyMissing) {
  test::write_text(tmp_ / "request.pem", crypto::to_pem(*request_));
  test::write_text(tmp_ / "ca.pem", crypto::to_pem(*root_cert_));
  test::write_text(tmp_ / "ca.cer", std::string(root_cert_->der().begin(), root_cert_->der().end()));
  test::write_text(tmp_ / "request.der", std::string(request_->der().begin(), request_->der().end()));
  for (const char* name : {"request.pem", "ca.pem", "ca.cer", "request.der"}) {
    SCOPED_TRACE(name);
    const Error e = open_error(tmp_ / name);
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "private-key-missing");
    EXPECT_TRUE(contains(e.what(), "signet backup create")) << e.what();
    EXPECT_TRUE(contains(e.what(), "no private key")) << e.what();
    EXPECT_TRUE(contains(e.what(), (tmp_ / name).string())) << e.what();
  }
}

TEST_F(OpenedBackupTest, KeyFileGivenAsBackupIsNotABackupPointingToKeysImport) {
  const fs::path key = tmp_ / "key.pem";
  test::openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.string()});
  // The same key encrypted, the passphrase through a file, never argv.
  test::write_text(tmp_ / "pass.txt", "key file passphrase");
  const fs::path encrypted = tmp_ / "key-encrypted.pem";
  test::openssl({"pkcs8", "-topk8", "-in", key.string(), "-v2", "aes-256-cbc", "-passout",
                 "file:" + (tmp_ / "pass.txt").string(), "-out", encrypted.string()});
  const fs::path p12 = tmp_ / "key.p12";
  test::openssl({"req", "-new", "-x509", "-key", key.string(), "-subj", "/CN=p12", "-days", "2", "-out",
                 (tmp_ / "p12.pem").string()});
  test::openssl({"pkcs12", "-export", "-inkey", key.string(), "-in", (tmp_ / "p12.pem").string(), "-passout",
                 "file:" + (tmp_ / "pass.txt").string(), "-out", p12.string()});

  for (const fs::path& f : {key, encrypted, p12}) {
    SCOPED_TRACE(f.filename().string());
    const Error e = open_error(f);
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "not-a-backup");
    EXPECT_TRUE(contains(e.what(), "keys import")) << e.what();
  }
}

TEST_F(OpenedBackupTest, OtherFilesAreNotABackup) {
  // Random bytes, text, and the key store's own database (an operator's easy mistake), also one
  // larger than any key file.
  test::write_text(tmp_ / "text.txt", "hello\n");
  std::string random(3000, '\0');
  const Bytes r = crypto::random_bytes(random.size());
  std::copy(r.begin(), r.end(), random.begin());
  test::write_text(tmp_ / "random.bin", random);
  const fs::path small_db = snapshot("signet-copy.db");
  {
    test::StoreEditor(src()).exec(
        "CREATE TABLE filler (b BLOB); INSERT INTO filler WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
        "SELECT i + 1 FROM n WHERE i < 40) SELECT randomblob(65536) FROM n");
  }
  const fs::path big_db = snapshot("signet-big.db");
  ASSERT_GT(fs::file_size(big_db), 2u << 20);
  for (const fs::path& f : {tmp_ / "text.txt", tmp_ / "random.bin", small_db, big_db}) {
    SCOPED_TRACE(f.filename().string());
    const Error e = open_error(f);
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "not-a-backup") << e.what();
    EXPECT_TRUE(contains(e.what(), "signet backup create")) << e.what();
  }
}

TEST_F(OpenedBackupTest, DamagedInnerDatabaseIsBackupDatabaseCorrupt) {
  const fs::path snap = snapshot("snap.db");
  const std::string good_db = test::read_text(snap);
  ASSERT_GT(good_db.size(), 8192u);
  std::vector<std::pair<std::string, std::string>> databases = {
      {"garbage", std::string(8192, 'x')},
      {"empty", ""},
      {"sqlite header only", good_db.substr(0, 100)},
      {"first page only", good_db.substr(0, 4096)},
      {"cut in half", good_db.substr(0, good_db.size() / 2)},
      {"cut one byte short", good_db.substr(0, good_db.size() - 1)},
  };
  {
    // A page in the middle overwritten.
    std::string damaged = good_db;
    for (std::size_t i = 4096; i < 8192; ++i) damaged[i] = static_cast<char>(0xA5);
    databases.emplace_back("second page overwritten", damaged);
  }
  const SecretBytes key(ByteView(crypto::random_bytes(32)));
  for (std::size_t i = 0; i < databases.size(); ++i) {
    SCOPED_TRACE(databases[i].first);
    const fs::path inner = tmp_ / ("inner" + std::to_string(i) + ".db");
    test::write_text(inner, databases[i].second);
    const fs::path file = container("inner" + std::to_string(i) + ".sbk", inner, key);
    const Error e = open_error(file);
    EXPECT_EQ(e.kind(), ErrorKind::Integrity);
    EXPECT_EQ(e.code(), "backup-database-corrupt") << e.what();
    EXPECT_TRUE(contains(e.what(), "Nothing was restored")) << e.what();
  }
}

TEST_F(OpenedBackupTest, InnerDatabaseWithANewerSchemaIsSchemaTooNew) {
  const fs::path snap = snapshot("snap.db");
  db::Database::open(snap, db::OpenMode::ReadWrite).exec("PRAGMA user_version = 99");
  const fs::path file = container("newer.sbk", snap, SecretBytes(ByteView(crypto::random_bytes(32))));
  const Error e = open_error(file);
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.code(), "schema-too-new");
  EXPECT_TRUE(contains(e.what(), "upgrade signet")) << e.what();
}

TEST_F(OpenedBackupTest, InnerDatabaseWithAnOlderSchemaIsMigratedInScratchOnly) {
  // A store of schema version 1 (before the quarantine, the installation and the ledger existed).
  const fs::path snap = snapshot("snap.db");
  db::Database::open(snap, db::OpenMode::ReadWrite)
      .exec("DROP TABLE quarantine; DROP TABLE installation; " + std::string(test::kDropLedgerTables) +
            " PRAGMA user_version = 1");
  // Its data key is the real one: build the container from the real backup's secrets.
  const OpenedBackup real = open(good());
  const fs::path file =
      container("older.sbk", snap, SecretBytes(real.context().data_key), real.manifest().dump());
  const std::string before = test::read_text(file);
  OpenedBackup b = open(file);
  EXPECT_EQ(b.database().user_version(), db::latest_version(keystore::schema_migrations()));
  ASSERT_EQ(b.verdicts().size(), 2u);
  for (const auto& v : b.verdicts()) EXPECT_TRUE(v.reusable()) << v.name;
  EXPECT_EQ(test::read_text(file), before);
}

TEST_F(OpenedBackupTest, SecretsOfTheWrongSizeAreBackupCorrupt) {
  const fs::path snap = snapshot("snap.db");
  for (const std::size_t size : {0u, 1u, 16u, 31u, 33u, 64u}) {
    SCOPED_TRACE("secrets of " + std::to_string(size) + " bytes");
    const fs::path file = container("secrets" + std::to_string(size) + ".sbk", snap,
                                    SecretBytes(ByteView(crypto::random_bytes(size))));
    const Error e = open_error(file);
    EXPECT_EQ(e.kind(), ErrorKind::Integrity);
    EXPECT_EQ(e.code(), "backup-corrupt") << e.what();
  }
}

TEST_F(OpenedBackupTest, ManifestThatIsNotJsonIsBackupCorrupt) {
  const fs::path snap = snapshot("snap.db");
  for (const std::string_view manifest : {"", "{", "not json", "{\"kind\": }"}) {
    SCOPED_TRACE(manifest);
    const fs::path file = container("manifest.sbk", snap, SecretBytes(ByteView(crypto::random_bytes(32))),
                                    std::string(manifest));
    const Error e = open_error(file);
    EXPECT_EQ(e.kind(), ErrorKind::Integrity);
    EXPECT_EQ(e.code(), "backup-corrupt") << e.what();
    fs::remove(file);
  }
}

TEST_F(OpenedBackupTest, ManifestOfTheWrongShapeIsBackupCorrupt) {
  const fs::path snap = snapshot("snap.db");
  for (const auto& [manifest, problem] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "not a JSON object"},
           {"\"text\"", "not a JSON object"},
           {R"({"backup_id": 5})", "backup_id is not a string"},
           {R"({"created": ["x"]})", "created is not a string"},
           {R"({"schema_version": -1})", "schema_version is not a whole number"},
           {R"({"counts": [1]})", "counts is not an object"},
           {R"({"counts": {"keys": "2"}})", "counts.keys is not a whole number"},
           {R"({"installation": "x"})", "installation is not an object"}}) {
    SCOPED_TRACE(manifest);
    const fs::path file = container("manifest.sbk", snap, SecretBytes(ByteView(crypto::random_bytes(32))), manifest);
    const Error e = open_error(file);
    EXPECT_EQ(e.code(), "backup-corrupt") << e.what();
    EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
    fs::remove(file);
  }
}

TEST_F(OpenedBackupTest, BackupWithAnotherDataKeyOpensButEveryEntryFailsAuthentication) {
  // Authenticated container, wrong data key inside: nothing in it is offered.
  const fs::path snap = snapshot("snap.db");
  const fs::path file = container("other-key.sbk", snap, SecretBytes(ByteView(crypto::random_bytes(32))));
  const OpenedBackup b = open(file);
  ASSERT_EQ(b.verdicts().size(), 2u);
  for (const auto& v : b.verdicts()) {
    EXPECT_FALSE(v.reusable()) << v.name;
    EXPECT_TRUE(v.has_finding(keystore::FindingCode::CiphertextAuthFailed)) << v.name;
  }
}

TEST_F(OpenedBackupTest, EntryDigestCoversTheEntryAsStored) {
  const OpenedBackup b = open(good());
  const keystore::KeyRecord& root = b.records()[1];
  const Bytes digest = entry_digest(root);
  EXPECT_EQ(digest.size(), 32u);
  EXPECT_EQ(entry_digest(root), digest);
  EXPECT_NE(entry_digest(b.records()[0]), digest);
  auto changed = [&](const std::function<void(keystore::KeyRecord&)>& edit) {
    keystore::KeyRecord r = root;
    edit(r);
    return entry_digest(r);
  };
  EXPECT_NE(changed([](auto& r) { r.name += "x"; }), digest);
  EXPECT_NE(changed([](auto& r) { r.algorithm = "ec-p384"; }), digest);
  EXPECT_NE(changed([](auto& r) { (*r.encrypted_private_key)[20] ^= 1; }), digest);
  EXPECT_NE(changed([](auto& r) { r.encrypted_private_key.reset(); }), digest);
  EXPECT_NE(changed([](auto& r) { r.encrypted_private_key = Bytes{}; }), digest);
  EXPECT_NE(changed([](auto& r) { r.public_key.reset(); }), digest);
  EXPECT_NE(changed([](auto& r) { r.fingerprint->back() ^= 1; }), digest);
  EXPECT_NE(changed([](auto& r) { r.certificates.clear(); }), digest);
  EXPECT_NE(changed([](auto& r) { r.certificates[0].role = "leaf"; }), digest);
  EXPECT_NE(changed([](auto& r) { r.requests.clear(); }), digest);
  // Field boundaries are unambiguous: moving a byte from one field to the next changes it.
  EXPECT_NE(changed([](auto& r) { r.name = "roo"; r.algorithm = "tec-p256"; }), digest);
}

}  // namespace
}  // namespace signet::backup
