#include "signet/keystore/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/db/migrations.h"
#include "support/error_assert.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tmpfs.h"

namespace signet::keystore {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::capture_error;

constexpr std::string_view kPass = "correct horse battery staple";
constexpr std::string_view kOtherPass = "tr0ub4dor&3 is not better";

Passphrase pass(std::string_view s) { return Passphrase(as_bytes(s)); }
const crypto::ScryptParams kFastKdf = crypto::ScryptParams::insecure_for_tests();

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Everything a KeyStore exposes about its entries and history, as one comparable string: two
// equal snapshots mean nothing observable changed.
std::string snapshot(KeyStore& store) {
  std::string out;
  for (const KeyRecord& r : store.records()) {
    out += std::to_string(r.id.value) + "|" + r.name + "|" + r.algorithm + "|" +
           (r.public_key ? to_hex(*r.public_key) : "NULL") + "|" +
           (r.fingerprint ? to_hex(*r.fingerprint) : "NULL") + "|" +
           (r.encrypted_private_key ? to_hex(*r.encrypted_private_key) : "NULL") + "|" + r.source +
           "|" + std::to_string(r.created_at) + "|" + r.comment + "\n";
    for (const auto& c : r.certificates) {
      out += "  cert " + c.role + " " + std::to_string(c.position) + " " + to_hex(c.der) + "\n";
    }
    for (const auto& q : r.requests) out += "  req " + to_hex(q.der) + "\n";
  }
  for (const AuditEntry& a : store.audit_log()) {
    out += "audit " + a.action + " " + a.subject + " " + a.detail + "\n";
  }
  return out;
}

// The key rows alone (no audit log).
std::string key_rows(KeyStore& store) {
  const std::string all = snapshot(store);
  return all.substr(0, all.find("audit "));
}

crypto::SelfSignedSpec cn_spec(std::string cn) {
  crypto::SelfSignedSpec spec;
  spec.common_name = std::move(cn);
  return spec;
}

std::vector<std::string> names(KeyStore& store) {
  std::vector<std::string> out;
  for (const KeyRecord& r : store.records()) out.push_back(r.name);
  return out;
}

std::vector<std::string> audit_actions(KeyStore& store) {
  std::vector<std::string> out;
  for (const AuditEntry& a : store.audit_log()) out.push_back(a.action);
  return out;
}

// SHA-256 of a file's contents: compares whole stores without printing them on failure.
std::string digest(const fs::path& p) { return to_hex(crypto::sha256(as_bytes(test::read_text(p)))); }

std::string sqlite3_cli(const fs::path& db, const std::string& sql) {
  const test::ProcessResult r = test::run_process({"sqlite3", db.string(), sql});
  if (r.exit_code != 0) throw std::runtime_error("sqlite3 " + sql + " failed: " + r.err);
  return r.out;
}

class KeyStoreTest : public ::testing::Test {
 protected:
  [[nodiscard]] fs::path dir() const { return tmp_ / "data"; }
  [[nodiscard]] fs::path db_path() const { return KeyStore::database_path(dir()); }
  KeyStore create(std::string_view p = kPass) { return KeyStore::create(dir(), pass(p), kFastKdf); }
  KeyStore open(std::string_view p = kPass) { return KeyStore::open(dir(), pass(p)); }
  Error open_error(std::string_view p = kPass) {
    return capture_error([&] { (void)KeyStore::open(dir(), pass(p)); });
  }
  // A store with two keys, closed again (so that everything is in signet.db, no WAL).
  void make_store_with_keys() {
    KeyStore store = create();
    store.generate("root", crypto::KeyAlgorithm::EcP256, "the root");
    store.generate("ed", crypto::KeyAlgorithm::Ed25519);
  }
  void expect_opens_with_two_valid_keys() {
    KeyStore store = open();
    EXPECT_EQ(names(store), (std::vector<std::string>{"ed", "root"}));
    const IntegrityReport report = store.check_all();
    EXPECT_EQ(report.reusable.size(), 2u);
    EXPECT_TRUE(report.excluded.empty());
  }

  test::TempDir tmp_;
};

// ---- create / open -----------------------------------------------------------------------------

TEST_F(KeyStoreTest, CreateThenOpenRoundTrip) {
  std::string id;
  {
    KeyStore store = create();
    const KeyVerdict v = store.generate("root", crypto::KeyAlgorithm::EcP256, "the root");
    EXPECT_TRUE(v.reusable());
    EXPECT_EQ(v.algorithm, "ec-p256");
    EXPECT_EQ(v.source, kSourceGenerated);
    store.generate("ed", crypto::KeyAlgorithm::Ed25519);
    const StoreInfo info = store.info();
    id = info.store_id_hex;
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(info.path, db_path());
    EXPECT_EQ(info.schema_version, db::latest_version(schema_migrations()));
    EXPECT_EQ(info.kdf, kFastKdf);
    EXPECT_EQ(info.key_count, 2u);
  }
  KeyStore store = open();
  const StoreInfo info = store.info();
  EXPECT_EQ(info.store_id_hex, id);
  EXPECT_EQ(info.key_count, 2u);
  EXPECT_EQ(names(store), (std::vector<std::string>{"ed", "root"}));
  EXPECT_EQ(store.record("root")->comment, "the root");
  EXPECT_EQ(store.check_all().reusable.size(), 2u);
  EXPECT_EQ(audit_actions(store), (std::vector<std::string>{"store.init", "key.generate", "key.generate"}));
}

TEST_F(KeyStoreTest, FileIs0600DirectoryIs0700AndNoTemporaryFilesRemain) {
  {
    KeyStore store = create();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    EXPECT_EQ(mode_of(dir()), 0700u);
    EXPECT_EQ(mode_of(db_path()), 0600u);
    // The WAL and shared-memory files hold key material too.
    for (const char* suffix : {"-wal", "-shm"}) {
      const fs::path side = db_path().string() + suffix;
      if (fs::exists(side)) {
        EXPECT_EQ(mode_of(side), 0600u) << side;
      }
    }
  }
  for (const auto& e : fs::directory_iterator(dir())) {
    EXPECT_EQ(e.path().filename(), "signet.db") << "left behind: " << e.path();
  }
}

TEST_F(KeyStoreTest, CreateAcceptsAnExistingPrivateDirectory) {
  fs::create_directory(dir());
  fs::permissions(dir(), fs::perms::owner_all, fs::perm_options::replace);
  EXPECT_NO_THROW((void)create());
  EXPECT_TRUE(fs::exists(db_path()));
}

TEST_F(KeyStoreTest, CreateRefusesAnExistingStoreAndLeavesItAlone) {
  make_store_with_keys();
  const std::string before = digest(db_path());
  const Error e = capture_error([&] { (void)create(kOtherPass); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "store-exists");
  EXPECT_NE(std::string(e.what()).find(db_path().string()), std::string::npos) << e.what();
  EXPECT_EQ(digest(db_path()), before);
  expect_opens_with_two_valid_keys();
}

TEST_F(KeyStoreTest, CreateRefusesAnEmptyFileInThePlaceOfTheStore) {
  // Even an empty signet.db may be a store the operator has yet to restore: never overwrite.
  fs::create_directory(dir());
  fs::permissions(dir(), fs::perms::owner_all, fs::perm_options::replace);
  test::write_text(db_path(), "");
  EXPECT_EQ(capture_error([&] { (void)create(); }).code(), "store-exists");
}

TEST_F(KeyStoreTest, CreateRefusesAGroupReadableDirectory) {
  fs::create_directory(dir());
  ::chmod(dir().c_str(), 0750);
  const Error e = capture_error([&] { (void)create(); });
  EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied);
  EXPECT_EQ(e.code(), "data-dir-permissions");
  EXPECT_NE(std::string(e.what()).find("chmod 700"), std::string::npos) << e.what();
  EXPECT_TRUE(fs::is_empty(dir())) << "nothing may be written into it";
  EXPECT_EQ(mode_of(dir()), 0750u);
}

TEST_F(KeyStoreTest, CreateRefusesAShortPassphraseBeforeTouchingTheDisk) {
  const Error e = capture_error([&] { (void)create("elevenchars"); });
  EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied);
  EXPECT_EQ(e.code(), "passphrase-too-short");
  EXPECT_NE(std::string(e.what()).find("at least 12"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).find("elevenchars"), std::string::npos) << "a secret was printed";
  EXPECT_FALSE(fs::exists(dir()));
  EXPECT_NO_THROW((void)create("twelve chars"));  // exactly the minimum
}

TEST_F(KeyStoreTest, CreateRefusesInvalidKdfParameters) {
  const Error e = capture_error([&] { (void)KeyStore::create(dir(), pass(kPass), {1000, 8, 1}); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "kdf-params-invalid");
  EXPECT_FALSE(fs::exists(db_path()));
}

TEST_F(KeyStoreTest, WrongPassphraseIsUnauthorizedAndChangesNothing) {
  make_store_with_keys();
  const std::string before = digest(db_path());
  const Error e = open_error(kOtherPass);
  EXPECT_EQ(e.kind(), ErrorKind::Unauthorized);
  EXPECT_EQ(e.code(), "wrong-passphrase");
  const std::string what = e.what();
  EXPECT_NE(what.find(db_path().string()), std::string::npos) << what;
  EXPECT_EQ(what.find(kOtherPass), std::string::npos) << "the passphrase must never be printed";
  EXPECT_EQ(what.find(kPass), std::string::npos) << "the passphrase must never be printed";
  EXPECT_EQ(digest(db_path()), before);
  expect_opens_with_two_valid_keys();
}

TEST_F(KeyStoreTest, MissingStoreIsNotFound) {
  Error e = open_error();  // the directory does not exist either
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "store-missing");
  EXPECT_NE(std::string(e.what()).find("signet store init"), std::string::npos) << e.what();
  fs::create_directory(dir());
  e = open_error();
  EXPECT_EQ(e.code(), "store-missing");
  EXPECT_FALSE(fs::exists(db_path())) << "opening must not create a store";
}

TEST_F(KeyStoreTest, EmptyFileIsNotAStore) {
  fs::create_directory(dir());
  test::write_text(db_path(), "");
  const Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "not-a-store");
  EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  EXPECT_EQ(fs::file_size(db_path()), 0u);
}

TEST_F(KeyStoreTest, GarbageFileIsNotAStore) {
  fs::create_directory(dir());
  std::string garbage(8192, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) % 251);
  for (const std::string& contents : {garbage, std::string("hello\n"), std::string("SQLite format")}) {
    test::write_text(db_path(), contents);
    const Error e = open_error();
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << contents.size();
    EXPECT_EQ(e.code(), "not-a-store") << contents.size();
    EXPECT_NE(std::string(e.what()).find("not an SQLite database"), std::string::npos) << e.what();
    EXPECT_TRUE(test::read_text(db_path()) == contents) << "the file was changed";
  }
}

TEST_F(KeyStoreTest, DirectoryInThePlaceOfTheFileIsNotAStore) {
  fs::create_directories(db_path());
  const Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "not-a-store");
}

TEST_F(KeyStoreTest, TruncatedStoreIsReportedClearlyAtEveryLength) {
  {
    KeyStore store = create();
    for (int i = 0; i < 6; ++i) {
      store.generate("key-" + std::to_string(i), crypto::KeyAlgorithm::EcP256,
                     std::string(600, static_cast<char>('a' + i)));
    }
  }
  const std::string full = test::read_text(db_path());
  ASSERT_GE(full.size(), 4u * 4096) << "the store is too small for this test to mean anything";
  struct Case {
    std::size_t size;
    const char* code;
    ErrorKind kind;
  };
  const Case cases[] = {
      {10, "not-a-store", ErrorKind::Malformed},          // not even the SQLite magic
      {16, "store-corrupt", ErrorKind::Integrity},        // magic, no header
      {100, "store-corrupt", ErrorKind::Integrity},       // header, no page
      {4096, "store-corrupt", ErrorKind::Integrity},      // first page only
      {full.size() / 2, "store-corrupt", ErrorKind::Integrity},
      {full.size() - 4096, "store-corrupt", ErrorKind::Integrity},
  };
  for (const Case& c : cases) {
    test::write_text(db_path(), std::string_view(full).substr(0, c.size));
    const Error e = open_error();
    EXPECT_EQ(e.code(), c.code) << "truncated to " << c.size << ": " << e.what();
    EXPECT_EQ(e.kind(), c.kind) << "truncated to " << c.size;
    EXPECT_NE(std::string(e.what()).find(c.kind == ErrorKind::Integrity ? "restore it from a backup"
                                                                         : "Restore it from a backup"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(fs::file_size(db_path()), c.size) << "opening must not repair or extend the file";
  }
  // The intact copy still opens: the failures above were about the damage, nothing else.
  test::write_text(db_path(), full);
  KeyStore store = open();
  EXPECT_EQ(store.check_all().reusable.size(), 6u);
}

TEST_F(KeyStoreTest, SqliteDatabaseThatIsNotAStoreIsNotAStore) {
  fs::create_directory(dir());
  (void)sqlite3_cli(db_path(), "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);");
  Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "not-a-store");
  EXPECT_NE(std::string(e.what()).find("not a Signet key store"), std::string::npos) << e.what();
  // Another application's database that happens to use user_version as well.
  (void)sqlite3_cli(db_path(), "PRAGMA user_version = 1;");
  const std::string before = digest(db_path());
  e = open_error();
  EXPECT_EQ(e.code(), "not-a-store") << e.what();
  EXPECT_EQ(digest(db_path()), before) << "a foreign database must not be migrated";
}

TEST_F(KeyStoreTest, NewerSchemaIsUnsupportedAndUntouched) {
  make_store_with_keys();
  (void)sqlite3_cli(db_path(), "PRAGMA user_version = 999;");
  const std::string before = digest(db_path());
  const Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.code(), "schema-too-new");
  EXPECT_NE(std::string(e.what()).find("upgrade"), std::string::npos) << e.what();
  EXPECT_EQ(digest(db_path()), before);
  // Back at the version this build knows, the same file opens with its keys.
  (void)sqlite3_cli(db_path(), "PRAGMA user_version = " +
                                   std::to_string(db::latest_version(schema_migrations())) + ";");
  expect_opens_with_two_valid_keys();
}

TEST_F(KeyStoreTest, OlderSchemaIsNotMigratedForAWrongPassphrase) {
  const auto& migrations = schema_migrations();
  if (migrations.size() < 2) {
    // With one migration there is no older schema to start from; the rule still holds
    // trivially. Assert it so that the test is not silently vacuous if that changes.
    ASSERT_EQ(db::latest_version(migrations), 1);
    return;
  }
  make_store_with_keys();
  // Turn the store back into schema version 1 by hand (what an old signet left behind).
  (void)sqlite3_cli(db_path(), "PRAGMA user_version = 1;");
  {
    db::Database raw = db::Database::open(db_path(), db::OpenMode::ReadWrite);
    db::Statement s = raw.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT IN "
        "('store_meta', 'keys', 'key_certificates', 'key_requests', 'audit_log', 'sqlite_sequence')");
    std::vector<std::string> newer;
    while (s.step()) newer.push_back(s.text(0));
    for (const auto& t : newer) raw.exec("DROP TABLE " + t);
  }
  const std::string before = digest(db_path());
  const Error e = open_error(kOtherPass);
  EXPECT_EQ(e.code(), "wrong-passphrase");
  EXPECT_EQ(digest(db_path()), before) << "a wrong passphrase changed the store";
  // With the right passphrase it is migrated.
  KeyStore store = open();
  EXPECT_EQ(store.info().schema_version, db::latest_version(migrations));
  EXPECT_EQ(store.check_all().reusable.size(), 2u);
}

TEST_F(KeyStoreTest, MissingMetadataRowIsCorrupt) {
  make_store_with_keys();
  (void)sqlite3_cli(db_path(), "DELETE FROM store_meta;");
  const Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::Integrity);
  EXPECT_EQ(e.code(), "store-corrupt");
}

TEST_F(KeyStoreTest, DamagedKdfParametersAreRefusedNotObeyed) {
  make_store_with_keys();
  for (const char* update : {"UPDATE store_meta SET kdf_n = 1000;",          // not a power of 2
                             "UPDATE store_meta SET kdf_n = 1099511627776;",  // 2^40: 128 TiB
                             "UPDATE store_meta SET kdf_r = 0;",
                             "UPDATE store_meta SET kdf_n = -1024;"}) {
    (void)sqlite3_cli(db_path(), "UPDATE store_meta SET kdf_n = 1024, kdf_r = 8, kdf_p = 1;");
    (void)sqlite3_cli(db_path(), update);
    const Error e = open_error();
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << update;
    EXPECT_EQ(e.code(), "kdf-params-invalid") << update;
  }
  (void)sqlite3_cli(db_path(), "UPDATE store_meta SET kdf_n = 1024, kdf_r = 8, kdf_p = 1;");
  (void)sqlite3_cli(db_path(), "UPDATE store_meta SET kdf_algorithm = 'argon2id';");
  const Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.code(), "kdf-unsupported");
}

// ---- names, conflicts --------------------------------------------------------------------------

TEST_F(KeyStoreTest, NameTakenIsConflictAndWritesNothing) {
  KeyStore store = create();
  store.generate("root", crypto::KeyAlgorithm::EcP256);
  const std::string before = snapshot(store);
  const Error e = capture_error([&] { store.generate("root", crypto::KeyAlgorithm::Ed25519); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "name-taken");
  EXPECT_NE(std::string(e.what()).find("\"root\""), std::string::npos) << e.what();
  EXPECT_EQ(snapshot(store), before);
}

TEST_F(KeyStoreTest, SameKeyImportedTwiceIsKeyExists) {
  KeyStore store = create();
  const ossl::Pkey key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  KeyMaterial m1;
  m1.key = ossl::Pkey(EVP_PKEY_dup(key.get()));
  store.import("first", std::move(m1));
  const std::string before = snapshot(store);
  KeyMaterial m2;
  m2.key = ossl::Pkey(EVP_PKEY_dup(key.get()));
  const Error e = capture_error([&] { store.import("second", std::move(m2)); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "key-exists");
  EXPECT_NE(std::string(e.what()).find("\"first\""), std::string::npos) << e.what();
  EXPECT_EQ(snapshot(store), before);
  EXPECT_EQ(store.record("first")->source, kSourceImported);
}

TEST_F(KeyStoreTest, InvalidNamesAreRefusedEverywhere) {
  KeyStore store = create();
  store.generate("valid", crypto::KeyAlgorithm::EcP256);
  const std::string before = snapshot(store);
  const std::vector<std::string> invalid = {
      "", " leading", "trailing ", "-looks-like-an-option", "tab\there", "new\nline",
      std::string("nul\0byte", 8), "del\x7f", std::string(129, 'x')};
  for (const std::string& name : invalid) {
    for (const auto& attempt : std::vector<std::function<void()>>{
             [&] { KeyStore::validate_name(name); },
             [&] { store.generate(name, crypto::KeyAlgorithm::EcP256); },
             [&] { store.rename("valid", name); }}) {
      const Error e = capture_error(attempt);
      EXPECT_EQ(e.kind(), ErrorKind::Malformed) << "name: " << name;
      EXPECT_EQ(e.code(), "invalid-name") << "name: " << name;
    }
  }
  EXPECT_EQ(snapshot(store), before);
  for (const std::string& name : {std::string("a"), std::string(128, 'x'), std::string("Zürich CA 2025"),
                                  std::string("with spaces inside"), std::string("x-")}) {
    EXPECT_NO_THROW(KeyStore::validate_name(name)) << name;
  }
}

// ---- rename / remove / audit --------------------------------------------------------------------

TEST_F(KeyStoreTest, RenameKeepsTheKeyValidAndIsAudited) {
  KeyStore store = create();
  store.set_actor("alice");
  store.generate("old", crypto::KeyAlgorithm::EcP256);
  const KeyRecord before = *store.record("old");
  store.rename("old", "new");
  EXPECT_FALSE(store.record("old").has_value());
  const KeyRecord after = *store.record("new");
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.encrypted_private_key, before.encrypted_private_key);
  EXPECT_NO_THROW((void)store.unlock_key("new"));  // the name is not part of the AAD
  const AuditEntry last = store.audit_log().back();
  EXPECT_EQ(last.action, "key.rename");
  EXPECT_EQ(last.subject, "new");
  EXPECT_EQ(last.actor, "alice");
  EXPECT_NE(last.detail.find("\"old\""), std::string::npos) << last.detail;
}

TEST_F(KeyStoreTest, RenameErrorsChangeNothing) {
  KeyStore store = create();
  store.generate("a", crypto::KeyAlgorithm::EcP256);
  store.generate("b", crypto::KeyAlgorithm::Ed25519);
  const std::string before = snapshot(store);
  Error e = capture_error([&] { store.rename("missing", "c"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "key-not-found");
  e = capture_error([&] { store.rename("a", "b"); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "name-taken");
  EXPECT_EQ(snapshot(store), before);
  // Renaming to the same name is a no-op, not an error.
  EXPECT_NO_THROW(store.rename("a", "a"));
  EXPECT_EQ(snapshot(store), before);
}

TEST_F(KeyStoreTest, RemoveDeletesTheEntryWithItsCertificatesAndRequests) {
  KeyStore store = create();
  store.generate("doomed", crypto::KeyAlgorithm::EcP256);
  store.generate("kept", crypto::KeyAlgorithm::EcP256);
  {
    const UnlockedKey k = store.unlock_key("doomed");
    store.attach_certificate("doomed", crypto::make_self_signed(k.key.get(), cn_spec("Doomed CA")));
    store.attach_request("doomed", crypto::make_request(k.key.get(), "doomed"));
  }
  const std::string fingerprint = to_hex(*store.record("doomed")->fingerprint);
  store.remove("doomed");
  EXPECT_FALSE(store.record("doomed").has_value());
  EXPECT_EQ(names(store), std::vector<std::string>{"kept"});
  const AuditEntry last = store.audit_log().back();
  EXPECT_EQ(last.action, "key.delete");
  EXPECT_EQ(last.subject, "doomed");
  EXPECT_NE(last.detail.find(fingerprint), std::string::npos) << last.detail;
  // No orphaned certificate or request rows are left in the file.
  db::Database raw = db::Database::open(db_path(), db::OpenMode::ReadOnly);
  for (const char* table : {"key_certificates", "key_requests"}) {
    db::Statement s = raw.prepare(std::string("SELECT count(*) FROM ") + table);
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.int64(0), 0) << table;
  }
}

TEST_F(KeyStoreTest, RemoveMissingIsNotFoundAndChangesNothing) {
  KeyStore store = create();
  store.generate("a", crypto::KeyAlgorithm::EcP256);
  const std::string before = snapshot(store);
  const Error e = capture_error([&] { store.remove("b"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "key-not-found");
  EXPECT_EQ(snapshot(store), before);
}

TEST_F(KeyStoreTest, AuditLogRecordsEveryChangeInOrderWithoutSecrets) {
  KeyStore store = create();
  store.set_actor("operator");
  store.generate("k", crypto::KeyAlgorithm::EcP256);
  store.rename("k", "k2");
  store.change_passphrase(pass(kOtherPass));
  store.remove("k2");
  EXPECT_EQ(audit_actions(store), (std::vector<std::string>{"store.init", "key.generate", "key.rename",
                                                            "store.passwd", "key.delete"}));
  const auto log = store.audit_log();
  EXPECT_EQ(log.front().actor, "signet");
  EXPECT_EQ(log[1].actor, "operator");
  EXPECT_EQ(log[1].subject, "k");
  for (const AuditEntry& a : log) {
    EXPECT_EQ(a.detail.find(kPass), std::string::npos);
    EXPECT_EQ(a.detail.find(kOtherPass), std::string::npos);
    EXPECT_GT(a.at, 0);
  }
}

TEST_F(KeyStoreTest, TimestampsComeFromTheInjectedClock) {
  const FixedClock clock(TimePoint{std::chrono::seconds(1700000000)});
  KeyStore store = KeyStore::create(dir(), pass(kPass), kFastKdf, clock);
  store.generate("k", crypto::KeyAlgorithm::EcP256);
  EXPECT_EQ(store.info().created_at, 1700000000);
  EXPECT_EQ(store.record("k")->created_at, 1700000000);
  EXPECT_EQ(store.audit_log().back().at, 1700000000);
}

// ---- change_passphrase ------------------------------------------------------------------------

TEST_F(KeyStoreTest, ChangePassphraseRewrapsOnlyTheDataKey) {
  std::string keys_before;
  Bytes salt_before, wrapped_before;
  const auto read_meta = [&](Bytes& salt, Bytes& wrapped) {
    db::Database raw = db::Database::open(db_path(), db::OpenMode::ReadOnly);
    db::Statement s = raw.prepare("SELECT kdf_salt, wrapped_data_key FROM store_meta");
    ASSERT_TRUE(s.step());
    salt = s.blob(0);
    wrapped = s.blob(1);
  };
  {
    KeyStore store = create();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    store.generate("ed", crypto::KeyAlgorithm::Ed25519);
    keys_before = key_rows(store);
    read_meta(salt_before, wrapped_before);
    store.change_passphrase(pass(kOtherPass));
    // The open store keeps working with the same data key.
    EXPECT_NO_THROW((void)store.unlock_key("root"));
    EXPECT_EQ(audit_actions(store).back(), "store.passwd");
  }
  const Error e = open_error(kPass);
  EXPECT_EQ(e.code(), "wrong-passphrase") << "the old passphrase still works";
  KeyStore store = open(kOtherPass);
  EXPECT_EQ(store.check_all().reusable.size(), 2u);
  EXPECT_EQ(key_rows(store), keys_before)
      << "key rows must be byte-identical: only the data key is re-wrapped";
  Bytes salt_after, wrapped_after;
  read_meta(salt_after, wrapped_after);
  EXPECT_NE(salt_after, salt_before) << "a new passphrase gets a new salt";
  EXPECT_NE(wrapped_after, wrapped_before);
  EXPECT_EQ(store.info().kdf, kFastKdf) << "the cost is kept unless asked";
}

TEST_F(KeyStoreTest, ChangePassphraseCanRaiseTheKdfCost) {
  {
    KeyStore store = create();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    store.change_passphrase(pass(kOtherPass), crypto::ScryptParams{1u << 11, 8, 1});
  }
  KeyStore store = open(kOtherPass);
  EXPECT_EQ(store.info().kdf, (crypto::ScryptParams{1u << 11, 8, 1}));
  EXPECT_EQ(store.check_all().reusable.size(), 1u);
}

TEST_F(KeyStoreTest, ChangePassphraseRefusesBadInputAndKeepsTheOldOne) {
  {
    KeyStore store = create();
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    const std::string before = snapshot(store);
    Error e = capture_error([&] { store.change_passphrase(pass("short")); });
    EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied);
    EXPECT_EQ(e.code(), "passphrase-too-short");
    e = capture_error([&] { store.change_passphrase(pass(kOtherPass), crypto::ScryptParams{3, 8, 1}); });
    EXPECT_EQ(e.code(), "kdf-params-invalid");
    EXPECT_EQ(snapshot(store), before);
  }
  KeyStore store = open(kPass);
  EXPECT_EQ(store.check_all().reusable.size(), 1u);
}

// ---- unlock_key -------------------------------------------------------------------------------

TEST_F(KeyStoreTest, UnlockKeyReturnsAWorkingPrivateKey) {
  KeyStore store = create();
  for (const auto a : {crypto::KeyAlgorithm::EcP256, crypto::KeyAlgorithm::EcP384,
                       crypto::KeyAlgorithm::Ed25519, crypto::KeyAlgorithm::Rsa2048}) {
    const std::string name(crypto::to_string(a));
    store.generate(name, a);
    const UnlockedKey k = store.unlock_key(name);
    ASSERT_TRUE(k.key) << name;
    EXPECT_EQ(crypto::algorithm_of(k.key.get()), a);
    const ossl::Pkey stored_public = crypto::parse_public_key_der(*store.record(name)->public_key);
    EXPECT_TRUE(crypto::same_public_key(k.key.get(), stored_public.get())) << name;
    EXPECT_TRUE(crypto::pairwise_consistent(k.key.get(), stored_public.get())) << name;
    EXPECT_TRUE(k.verdict.reusable());
    EXPECT_TRUE(k.certificates.empty());
  }
}

TEST_F(KeyStoreTest, UnlockMissingKeyIsNotFound) {
  KeyStore store = create();
  const Error e = capture_error([&] { (void)store.unlock_key("nope"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "key-not-found");
}

TEST_F(KeyStoreTest, CheckNamesReturnsVerdictsInTheOrderAskedAndRefusesUnknownNames) {
  KeyStore store = create();
  store.generate("a", crypto::KeyAlgorithm::EcP256);
  store.generate("b", crypto::KeyAlgorithm::Ed25519);
  const std::vector<std::string> asked = {"b", "a"};
  const auto verdicts = store.check(asked);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].name, "b");
  EXPECT_EQ(verdicts[1].name, "a");
  const std::vector<std::string> unknown = {"a", "zzz"};
  EXPECT_EQ(capture_error([&] { (void)store.check(unknown); }).code(), "key-not-found");
}

// ---- import -----------------------------------------------------------------------------------

TEST_F(KeyStoreTest, ImportRefusesUnsupportedKeysAndMissingKeys) {
  KeyStore store = create();
  const std::string before = snapshot(store);
  for (EVP_PKEY* raw : {EVP_RSA_gen(1024), EVP_EC_gen("secp256k1")}) {
    KeyMaterial m;
    m.key = ossl::Pkey(raw);
    const Error e = capture_error([&] { store.import("weak", std::move(m)); });
    EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied);
    EXPECT_EQ(e.code(), "algorithm-unsupported");
    EXPECT_NE(std::string(e.what()).find("ec-p256"), std::string::npos) << e.what();
  }
  KeyMaterial no_key;
  const ossl::Pkey other = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  no_key.requests.push_back(crypto::make_request(other.get(), "csr only"));
  const Error e = capture_error([&] { store.import("csr", std::move(no_key)); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "private-key-missing");
  EXPECT_EQ(snapshot(store), before);
}

TEST_F(KeyStoreTest, ImportRecordsSourceAndOwnCertificateRole) {
  KeyStore store = create();
  const ossl::Pkey key = crypto::generate_key(crypto::KeyAlgorithm::EcP384);
  KeyMaterial m;
  m.key = ossl::Pkey(EVP_PKEY_dup(key.get()));
  m.certificates.push_back(crypto::make_self_signed(key.get(), cn_spec("Imported CA")));
  m.requests.push_back(crypto::make_request(key.get(), "imported"));
  const KeyVerdict v = store.import("imported", std::move(m), kSourceRestored, "from backup");
  EXPECT_TRUE(v.reusable());
  const KeyRecord r = *store.record("imported");
  EXPECT_EQ(r.source, kSourceRestored);
  EXPECT_EQ(r.comment, "from backup");
  ASSERT_EQ(r.certificates.size(), 1u);
  EXPECT_EQ(r.certificates[0].role, kRoleCa);
  EXPECT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(store.audit_log().back().action, "key.import");
}

// ---- attach_certificate / attach_request ------------------------------------------------------

TEST_F(KeyStoreTest, AttachMatchingCertificatesAndRequest) {
  KeyStore store = create();
  store.generate("ca", crypto::KeyAlgorithm::EcP256);
  const UnlockedKey k = store.unlock_key("ca");
  const crypto::Certificate ca_cert = crypto::make_self_signed(k.key.get(), cn_spec("Signet Root"));
  store.attach_certificate("ca", ca_cert);
  crypto::SelfSignedSpec leaf_spec = cn_spec("ocsp.example");
  leaf_spec.ca = false;
  const crypto::Certificate leaf = crypto::make_self_signed(k.key.get(), leaf_spec);
  store.attach_certificate("ca", leaf);
  store.attach_request("ca", crypto::make_request(k.key.get(), "Signet Root"));

  const KeyRecord r = *store.record("ca");
  ASSERT_EQ(r.certificates.size(), 2u);
  // The newest own certificate comes first.
  EXPECT_EQ(r.certificates[0].role, kRoleLeaf);
  EXPECT_EQ(r.certificates[0].der, leaf.der());
  EXPECT_EQ(r.certificates[1].role, kRoleCa);
  EXPECT_EQ(r.certificates[1].der, ca_cert.der());
  EXPECT_EQ(r.requests.size(), 1u);
  const UnlockedKey again = store.unlock_key("ca");
  ASSERT_EQ(again.certificates.size(), 2u);
  EXPECT_EQ(again.certificates[1].der(), ca_cert.der());
  const auto actions = audit_actions(store);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "key.attach-certificate"), 2);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "key.attach-request"), 1);
}

TEST_F(KeyStoreTest, AttachMismatchingItemsIsRefusedAndWritesNothing) {
  KeyStore store = create();
  store.generate("mine", crypto::KeyAlgorithm::EcP256);
  const ossl::Pkey stranger = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
  const std::string before = snapshot(store);

  Error e = capture_error([&] {
    store.attach_certificate("mine", crypto::make_self_signed(stranger.get(), cn_spec("Stranger")));
  });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "certificate-key-mismatch");
  EXPECT_NE(std::string(e.what()).find("Nothing was written"), std::string::npos) << e.what();

  e = capture_error([&] { store.attach_request("mine", crypto::make_request(stranger.get(), "x")); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "request-key-mismatch");

  // A "CA certificate" for our key that cannot sign certificates is no CA certificate.
  const UnlockedKey k = store.unlock_key("mine");
  crypto::SelfSignedSpec no_sign = cn_spec("Not really a CA");
  no_sign.key_cert_sign = false;
  e = capture_error([&] { store.attach_certificate("mine", crypto::make_self_signed(k.key.get(), no_sign)); });
  EXPECT_EQ(e.code(), "ca-certificate-not-ca");

  e = capture_error([&] {
    store.attach_certificate("missing", crypto::make_self_signed(k.key.get(), cn_spec("x")));
  });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  e = capture_error([&] { store.attach_request("missing", crypto::make_request(k.key.get(), "x")); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);

  EXPECT_EQ(snapshot(store), before);
}

TEST_F(KeyStoreTest, ExpiredCertificateIsAWarningNotARefusal) {
  KeyStore store = create();
  store.generate("old-ca", crypto::KeyAlgorithm::EcP256);
  const UnlockedKey k = store.unlock_key("old-ca");
  crypto::SelfSignedSpec spec = cn_spec("Expired CA");
  spec.not_before = std::chrono::system_clock::now() - 48h;
  spec.validity = 24h;
  store.attach_certificate("old-ca", crypto::make_self_signed(k.key.get(), spec));
  const auto verdicts = store.check(std::vector<std::string>{"old-ca"});
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_TRUE(verdicts[0].reusable());
  EXPECT_TRUE(verdicts[0].has_finding(FindingCode::CertificateExpired));
}

// ---- real fault injection: read-only and full file systems -----------------------------------

class KeyStoreOnTmpfs : public ::testing::Test {
 protected:
  void mount(const std::string& size) {
    try {
      mount_ = std::make_unique<test::TmpfsMount>(tmp_ / "mnt", size);
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
  void TearDown() override {
    if (mount_) {
      EXPECT_EQ(mount_->unmount(), "");
    }
    mount_.reset();
  }
  [[nodiscard]] fs::path dir() const { return mount_->path() / "data"; }
  [[nodiscard]] fs::path db_path() const { return KeyStore::database_path(dir()); }

  test::TempDir tmp_;
  std::unique_ptr<test::TmpfsMount> mount_;
};

TEST_F(KeyStoreOnTmpfs, ReadOnlyFileSystemFailsWithStorageAndLeavesTheStoreUnchanged) {
  ASSERT_NO_FATAL_FAILURE(mount("8m"));
  {
    KeyStore store = KeyStore::create(dir(), pass(kPass), kFastKdf);
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    store.generate("ed", crypto::KeyAlgorithm::Ed25519);
  }  // closed: a file system with a file open for writing cannot be remounted read-only
  const std::string before = digest(db_path());
  mount_->remount_read_only();

  Error e = capture_error([&] { (void)KeyStore::open(dir(), pass(kPass)); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "data-dir-not-writable");
  EXPECT_NE(std::string(e.what()).find("read-only file system"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find(dir().string()), std::string::npos) << e.what();

  e = capture_error([&] { (void)KeyStore::create(mount_->path() / "other", pass(kPass), kFastKdf); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage) << e.what();
  EXPECT_NE(std::string(e.what()).find("read-only file system"), std::string::npos) << e.what();

  mount_->remount_read_write();
  EXPECT_EQ(digest(db_path()), before);
  EXPECT_FALSE(fs::exists(mount_->path() / "other"));
  KeyStore store = KeyStore::open(dir(), pass(kPass));
  EXPECT_EQ(names(store), (std::vector<std::string>{"ed", "root"}));
  EXPECT_EQ(store.check_all().reusable.size(), 2u);
}

TEST_F(KeyStoreOnTmpfs, FullDiskFailsGenerateWithDiskFullAndNothingIsHalfWritten) {
  ASSERT_NO_FATAL_FAILURE(mount("2m"));
  {
    KeyStore store = KeyStore::create(dir(), pass(kPass), kFastKdf);
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    store.generate("ed", crypto::KeyAlgorithm::Ed25519);
  }
  const fs::path filler = mount_->path() / "filler";
  {
    KeyStore store = KeyStore::open(dir(), pass(kPass));
    const std::string before = snapshot(store);  // also maps the WAL index before the disk fills
    ASSERT_GT(test::fill_until_full(filler), 0u);

    const Error e = capture_error([&] { store.generate("third", crypto::KeyAlgorithm::EcP256); });
    EXPECT_EQ(e.kind(), ErrorKind::Storage) << e.what();
    EXPECT_EQ(e.code(), "disk-full") << e.what();
    EXPECT_NE(std::string(e.what()).find("nothing was changed"), std::string::npos) << e.what();
    EXPECT_EQ(snapshot(store), before);
    EXPECT_FALSE(store.record("third").has_value());

    // With space again, the same store object works: the failure left no transaction open.
    fs::remove(filler);
    store.generate("third", crypto::KeyAlgorithm::EcP256);
    EXPECT_EQ(names(store), (std::vector<std::string>{"ed", "root", "third"}));
  }
  KeyStore store = KeyStore::open(dir(), pass(kPass));
  EXPECT_EQ(store.check_all().reusable.size(), 3u);
  const auto actions = audit_actions(store);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "key.generate"), 3)
      << "the failed attempt must not have left an audit row";
}

TEST_F(KeyStoreOnTmpfs, HugeCommentThatDoesNotFitIsDiskFullAndTheStoreStillOpens) {
  ASSERT_NO_FATAL_FAILURE(mount("1m"));
  std::string before;
  {
    KeyStore store = KeyStore::create(dir(), pass(kPass), kFastKdf);
    store.generate("root", crypto::KeyAlgorithm::EcP256);
    before = snapshot(store);
    const Error e = capture_error(
        [&] { store.generate("big", crypto::KeyAlgorithm::EcP256, std::string(2 << 20, 'c')); });
    EXPECT_EQ(e.kind(), ErrorKind::Storage) << e.what();
    EXPECT_EQ(e.code(), "disk-full") << e.what();
    EXPECT_EQ(snapshot(store), before);
  }
  KeyStore store = KeyStore::open(dir(), pass(kPass));
  EXPECT_EQ(snapshot(store), before);
  EXPECT_EQ(store.check_all().reusable.size(), 1u);
}

TEST_F(KeyStoreOnTmpfs, FullDiskDuringCreateLeavesNoStoreBehind) {
  ASSERT_NO_FATAL_FAILURE(mount("512k"));
  fs::create_directory(dir());
  fs::permissions(dir(), fs::perms::owner_all, fs::perm_options::replace);
  ASSERT_GT(test::fill_until_full(mount_->path() / "filler"), 0u);
  const Error e = capture_error([&] { (void)KeyStore::create(dir(), pass(kPass), kFastKdf); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage) << e.what();
  EXPECT_EQ(e.code(), "disk-full") << e.what();
  EXPECT_TRUE(fs::is_empty(dir())) << "a failed create must leave nothing, not half a store";
  // With space again, create works in the same directory.
  fs::remove(mount_->path() / "filler");
  EXPECT_NO_THROW((void)KeyStore::create(dir(), pass(kPass), kFastKdf));
}

}  // namespace
}  // namespace signet::keystore
