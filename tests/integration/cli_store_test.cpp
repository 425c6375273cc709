// `signet store ...` and opening a store through the real binary: creating it, its passphrase,
// its KDF, and every way the store or its directory can be wrong (missing, empty, garbage,
// truncated, newer, wrong passphrase, read-only, full). Each is a clear error with a stable code,
// and nothing changes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli_harness.h"

namespace signet::test::cli {
namespace {

// The hex of every key's encrypted private key, by name: what `store passwd` must not touch.
std::string ciphertexts(const fs::path& db) {
  const ProcessResult r = run_sqlite(db, "SELECT name, hex(encrypted_private_key) FROM keys ORDER BY name");
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  return r.out;
}

// ---- creating a store and its KDF -----------------------------------------------------------

TEST_F(CliTest, FastKdfStoreIsFlaggedByStoreCheck) {
  const ProcessResult init = signet_({"store", "init", "--insecure-fast-kdf"});
  ASSERT_TRUE(Succeeded(init));
  EXPECT_TRUE(contains(init.out, "Created key store")) << init.out;
  EXPECT_TRUE(contains(init.err, "low-cost KDF")) << "init warns at once: " << init.err;
  EXPECT_EQ(file_mode(store_), 0700u);
  EXPECT_EQ(file_mode(signet_.db()), 0600u);
  ASSERT_TRUE(generate("k", "ec-p256"));

  const json check = signet_.json_of({"store", "check", "--json"});
  EXPECT_EQ(check["format"], 1);
  EXPECT_EQ(check["kdf"]["algorithm"], "scrypt");
  EXPECT_EQ(check["kdf"]["n"], 1024);
  EXPECT_GE(check.value("schema_version", 0), 1);
  EXPECT_EQ(check["store_id"].get<std::string>().size(), 32u);
  EXPECT_EQ(check["keys_total"], 1);
  EXPECT_EQ(check["keys_valid"], 1);
  EXPECT_EQ(check["keys_invalid"], 0);
  ASSERT_TRUE(check["warnings"].is_array());
  ASSERT_EQ(check["warnings"].size(), 1u) << check.dump(2);
  EXPECT_EQ(check["warnings"][0]["code"], "kdf-weak");
  EXPECT_TRUE(contains(check["warnings"][0].value("fix", ""), "signet store passwd"));

  const ProcessResult text = signet_({"store", "check"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_TRUE(contains(text.out, "warning [kdf-weak]")) << text.out;
  EXPECT_TRUE(contains(text.out, "1 valid, 0 invalid")) << text.out;
}

// The only test that pays for the strong default KDF (about a second per command).
TEST_F(CliTest, DefaultKdfStoreWorksAndIsNotFlagged) {
  const ProcessResult init = signet_({"store", "init"});
  ASSERT_TRUE(Succeeded(init));
  EXPECT_FALSE(contains(init.err, "low-cost")) << init.err;
  ASSERT_TRUE(generate("strong", "ed25519"));

  const json check = signet_.json_of({"store", "check", "--json"});
  EXPECT_GT(check["kdf"].value("n", 0), 1024);
  EXPECT_EQ(check["keys_valid"], 1);
  ASSERT_TRUE(check["warnings"].is_array());
  for (const json& w : check["warnings"]) EXPECT_NE(w["code"], "kdf-weak") << check.dump(2);
  EXPECT_EQ(check["warnings"], json::array()) << "a fresh default store draws no warning at all";
}

TEST_F(CliTest, InitTwiceRefusesAndKeepsTheExistingStore) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("precious", "ec-p384"));
  const json keys_before = signet_.all_keys();
  const DirSnapshot before = snapshot(store_);

  EXPECT_TRUE(FailedWith(signet_({"store", "init", "--insecure-fast-kdf"}), 1, "store-exists"));
  // Not even with another passphrase.
  const Signet other_passphrase(store_, passphrase_file("other.pass", "a different passphrase"));
  EXPECT_TRUE(FailedWith(other_passphrase({"store", "init", "--insecure-fast-kdf"}), 1, "store-exists"));

  EXPECT_EQ(snapshot(store_), before);
  EXPECT_EQ(signet_.all_keys(), keys_before);
  EXPECT_TRUE(Succeeded(signet_({"keys", "verify", "precious"})));
}

TEST_F(CliTest, InitRefusesShortOrEmptyPassphrasesAndCreatesNothing) {
  const Signet short_pass(store_, passphrase_file("short.pass", "too short"));
  EXPECT_TRUE(FailedWith(short_pass({"store", "init", "--insecure-fast-kdf"}), 1, "passphrase-too-short"));
  EXPECT_FALSE(fs::exists(signet_.db()));

  const fs::path empty = tmp_ / "empty.pass";
  write_text(empty, "");
  const Signet empty_pass(store_, empty);
  EXPECT_TRUE(FailedWith(empty_pass({"store", "init", "--insecure-fast-kdf"}), 1, "passphrase-empty"));
  EXPECT_FALSE(fs::exists(signet_.db()));
}

TEST_F(CliTest, InitRefusesADataDirectoryOthersCanRead) {
  fs::create_directory(store_);
  fs::permissions(store_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  const ProcessResult r = signet_({"store", "init", "--insecure-fast-kdf"});
  EXPECT_TRUE(FailedWith(r, 1, "data-dir-permissions"));
  EXPECT_TRUE(contains(r.err, "chmod 700")) << r.err;
  EXPECT_TRUE(file_names(store_).empty());
}

// ---- passphrases ----------------------------------------------------------------------------

TEST_F(CliTest, WithoutPassphraseOrTerminalTheCliSaysHowToGiveOne) {
  // store init: nothing is created, not even the directory.
  const ProcessResult init = signet_.without_passphrase({"store", "init", "--insecure-fast-kdf"});
  EXPECT_TRUE(FailedWith(init, 1, "passphrase-required"));
  EXPECT_TRUE(contains(init.err, "--passphrase-file")) << init.err;
  EXPECT_FALSE(fs::exists(store_));

  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("k", "ec-p256"));
  const DirSnapshot before = snapshot(store_);
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"keys", "list"},
        {"keys", "generate", "--name", "x", "--algorithm", "ec-p256"},
        {"keys", "delete", "k", "--yes"},
        {"store", "check"}}) {
    const ProcessResult r = signet_.without_passphrase(command);
    EXPECT_TRUE(FailedWith(r, 1, "passphrase-required")) << command[1];
    EXPECT_TRUE(contains(r.err, "SIGNET_PASSPHRASE_FILE")) << r.err;
  }
  EXPECT_EQ(snapshot(store_), before);
}

TEST_F(CliTest, WrongPassphraseIsRefusedAndChangesNothing) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("k", "ec-p256"));
  const DirSnapshot before = snapshot(store_);
  const Signet wrong(store_, passphrase_file("wrong.pass", "not the right passphrase"));
  const fs::path new_pass = passphrase_file("new.pass", "a brand new passphrase");

  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"keys", "list", "--json"},
        {"keys", "generate", "--name", "x", "--algorithm", "ec-p256"},
        {"keys", "rename", "k", "renamed"},
        {"keys", "delete", "k", "--yes"},
        {"keys", "verify"},
        {"store", "check", "--json"},
        {"store", "passwd", "--new-passphrase-file", new_pass.string(), "--insecure-fast-kdf"}}) {
    const ProcessResult r = wrong(command);
    EXPECT_TRUE(FailedWith(r, 1, "wrong-passphrase")) << command[0] << " " << command[1];
  }
  EXPECT_EQ(snapshot(store_), before);
  EXPECT_TRUE(Succeeded(signet_({"keys", "verify", "k"})));
}

TEST_F(CliTest, PasswdRewrapsTheDataKeyOnly) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("a", "ec-p256"));
  ASSERT_TRUE(generate("b", "ed25519"));
  const json keys_before = signet_.all_keys();
  const std::string ciphertexts_before = ciphertexts(signet_.db());

  // A too-short new passphrase, or none at all, changes nothing.
  const fs::path short_pass = passphrase_file("short.pass", "short");
  EXPECT_TRUE(FailedWith(
      signet_({"store", "passwd", "--new-passphrase-file", short_pass.string(), "--insecure-fast-kdf"}), 1,
      "passphrase-too-short"));
  EXPECT_TRUE(FailedWith(signet_({"store", "passwd", "--insecure-fast-kdf"}), 1, "passphrase-required"));
  EXPECT_TRUE(Succeeded(signet_({"keys", "verify"})));

  const fs::path new_pass = passphrase_file("new.pass", "the new store passphrase");
  const ProcessResult passwd =
      signet_({"store", "passwd", "--new-passphrase-file", new_pass.string(), "--insecure-fast-kdf"});
  ASSERT_TRUE(Succeeded(passwd));

  EXPECT_TRUE(FailedWith(signet_({"keys", "list"}), 1, "wrong-passphrase")) << "the old passphrase is gone";
  const Signet renewed(store_, new_pass);
  const ProcessResult list = renewed({"keys", "list", "--all", "--json"});
  ASSERT_TRUE(Succeeded(list));
  EXPECT_EQ(parse_json(list), keys_before) << "same keys, same fingerprints, all still valid";
  EXPECT_TRUE(Succeeded(renewed({"keys", "verify"})));
  EXPECT_EQ(ciphertexts(signet_.db()), ciphertexts_before) << "keys are not re-encrypted";
  // And the new passphrase can be used for changes.
  EXPECT_TRUE(generate(renewed, "c", "rsa-2048"));
}

// ---- stores that cannot be opened -----------------------------------------------------------

TEST_F(CliTest, MissingStoreIsNamedAndNotCreated) {
  const Signet nowhere(tmp_ / "nowhere", pass_);
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"keys", "list"},
        {"keys", "generate", "--name", "x", "--algorithm", "ec-p256"},
        {"store", "check"}}) {
    const ProcessResult r = nowhere(command);
    EXPECT_TRUE(FailedWith(r, 1, "store-missing")) << command[1];
    EXPECT_TRUE(contains(r.err, "signet store init")) << r.err;
  }
  EXPECT_FALSE(fs::exists(tmp_ / "nowhere"));
  // An existing but empty directory: the same.
  fs::create_directory(store_);
  EXPECT_TRUE(FailedWith(signet_({"keys", "list"}), 1, "store-missing"));
  EXPECT_TRUE(file_names(store_).empty());
}

// Puts `contents` in place of signet.db (mode 0600) in this test's store directory.
void replace_database(const Signet& s, std::string_view contents) {
  fs::create_directories(s.data_dir());
  fs::permissions(s.data_dir(), fs::perms::owner_all);
  write_text(s.db(), contents);
}

// Listing, generating and checking all fail with one of `codes`, and leave the store directory
// byte for byte as it was.
void expect_refused_without_change(const Signet& s, const std::vector<std::string>& codes) {
  const DirSnapshot before = snapshot(s.data_dir());
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"keys", "list"},
        {"keys", "generate", "--name", "x", "--algorithm", "ec-p256"},
        {"store", "check", "--json"}}) {
    const ProcessResult r = s(command);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_NE(std::find(codes.begin(), codes.end(), error_code(r)), codes.end()) << "unexpected error code\n"
                                                                                 << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
  }
  EXPECT_EQ(snapshot(s.data_dir()), before) << "a refused store must not be touched";
}

TEST_F(CliTest, EmptyDatabaseFileIsNotAStore) {
  replace_database(signet_, "");
  const ProcessResult r = signet_({"keys", "list"});
  EXPECT_TRUE(FailedWith(r, 1, "not-a-store"));
  EXPECT_TRUE(contains(r.err, "empty")) << r.err;
  expect_refused_without_change(signet_, {"not-a-store"});
}

TEST_F(CliTest, GarbageDatabaseFileIsNotAStore) {
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>((i * 7919 + 13) % 251));
  replace_database(signet_, garbage);
  EXPECT_TRUE(FailedWith(signet_({"keys", "list"}), 1, "not-a-store"));
  expect_refused_without_change(signet_, {"not-a-store"});
}

TEST_F(CliTest, SqliteDatabaseThatIsNoStoreIsNotAStore) {
  fs::create_directories(store_);
  fs::permissions(store_, fs::perms::owner_all);
  ASSERT_TRUE(
      Succeeded(run_sqlite(signet_.db(), "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hi')")));
  EXPECT_TRUE(FailedWith(signet_({"keys", "list"}), 1, "not-a-store"));
  expect_refused_without_change(signet_, {"not-a-store"});
}

TEST_F(CliTest, TruncatedDatabaseIsRefusedAsDamaged) {
  ASSERT_TRUE(init_store());
  for (const char* name : {"k1", "k2", "k3", "k4"}) ASSERT_TRUE(generate(name, "rsa-2048"));
  const auto full_size = fs::file_size(signet_.db());
  ASSERT_GT(full_size, 3 * 4096u);

  for (const std::string& size : {std::string("4096"), std::to_string(full_size / 2)}) {
    SCOPED_TRACE("truncated to " + size + " of " + std::to_string(full_size) + " bytes");
    const Signet copy(tmp_ / ("truncated-" + size), pass_);
    fs::create_directory(copy.data_dir());
    fs::permissions(copy.data_dir(), fs::perms::owner_all);
    fs::copy_file(signet_.db(), copy.db());
    ASSERT_TRUE(Succeeded(run_process({"truncate", "-s", size, copy.db().string()})));
    const ProcessResult r = copy({"keys", "list"});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_TRUE(error_code(r) == "store-corrupt" || error_code(r) == "not-a-store") << describe(r);
    EXPECT_TRUE(contains(lowercase(r.err), "backup")) << "the message says how to recover: " << r.err;
    expect_refused_without_change(copy, {"store-corrupt", "not-a-store"});
  }
  EXPECT_TRUE(Succeeded(signet_({"keys", "verify"}))) << "the original is untouched";
}

TEST_F(CliTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("k", "ec-p256"));
  ASSERT_TRUE(Succeeded(run_sqlite(signet_.db(), "PRAGMA user_version = 99")));
  const ProcessResult r = signet_({"keys", "list"});
  EXPECT_TRUE(FailedWith(r, 1, "schema-too-new"));
  EXPECT_TRUE(contains(r.err, "upgrade")) << r.err;
  expect_refused_without_change(signet_, {"schema-too-new"});
  const ProcessResult version = run_sqlite(signet_.db(), "PRAGMA user_version");
  EXPECT_EQ(version.out, "99\n") << "no migration was attempted";
}

TEST_F(CliTest, StoreCheckWarnsAboutAnOpenStoreFile) {
  ASSERT_TRUE(init_store());
  fs::permissions(signet_.db(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                    fs::perms::others_read);
  const json check = signet_.json_of({"store", "check", "--json"});
  std::vector<std::string> codes;
  for (const json& w : check["warnings"]) codes.push_back(w.value("code", ""));
  EXPECT_NE(std::find(codes.begin(), codes.end(), "store-file-permissions"), codes.end()) << check.dump(2);
}

// ---- read-only and full file systems (real tmpfs mounts) ------------------------------------

class CliMountTest : public CliTest {
 protected:
  // Mounts a private (0700) tmpfs of `size` on `dir`; a test failure, not a skip, when it cannot.
  ::testing::AssertionResult mount_tmpfs(const fs::path& dir, const std::string& size) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const ProcessResult r =
        run_process({"mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", dir.string()});
    if (r.exit_code != 0) {
      return ::testing::AssertionFailure()
             << "cannot mount a tmpfs on " << dir << " (these tests need root and mount(2)): " << describe(r);
    }
    mounts_.push_back(dir);
    return ::testing::AssertionSuccess();
  }

  static ::testing::AssertionResult remount(const fs::path& dir, const std::string& options) {
    return Succeeded(run_process({"mount", "-o", "remount," + options, dir.string()}));
  }

  void TearDown() override {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
      ProcessResult r = run_process({"umount", it->string()});
      if (r.exit_code != 0) r = run_process({"umount", "-l", it->string()});
      EXPECT_EQ(r.exit_code, 0) << "cannot unmount " << *it << ": " << describe(r);
    }
    mounts_.clear();
  }

  std::vector<fs::path> mounts_;
};

// Writes zeros to `path` until the file system is full; false on any other error.
bool fill_file_system(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const std::string chunk(64 * 1024, '\0');
  bool full = false;
  for (;;) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      full = errno == ENOSPC;
      break;
    }
  }
  ::close(fd);
  return full;
}

TEST_F(CliMountTest, ReadOnlyDataDirectoryIsReportedAndNothingChanges) {
  const fs::path mount_point = tmp_ / "ro";
  ASSERT_TRUE(mount_tmpfs(mount_point, "4m"));
  const Signet s(mount_point / "store", pass_);
  ASSERT_TRUE(init_store(s));
  ASSERT_TRUE(generate(s, "before", "ec-p256"));
  const json keys_before = s.all_keys();
  const DirSnapshot before = snapshot(s.data_dir());
  // A second, writable store to export from onto the read-only file system.
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("exportable", "ed25519"));
  const fs::path export_pass = passphrase_file("export.pass", "export passphrase 1234");

  ASSERT_TRUE(remount(mount_point, "ro"));

  const ProcessResult gen = s({"keys", "generate", "--name", "during", "--algorithm", "ec-p256"});
  EXPECT_TRUE(FailedWith(gen, 1, "data-dir-not-writable"));
  EXPECT_TRUE(contains(lowercase(gen.err), "read-only")) << gen.err;
  // Even reading needs the journal: the same clear error, not a crash or a half-open store.
  const ProcessResult list = s({"keys", "list"});
  EXPECT_TRUE(FailedWith(list, 1, "data-dir-not-writable"));
  EXPECT_TRUE(contains(lowercase(list.err), "read-only")) << list.err;
  const ProcessResult init = Signet(mount_point / "another", pass_)({"store", "init", "--insecure-fast-kdf"});
  EXPECT_TRUE(FailedWith(init, 1, "not-writable"));
  EXPECT_TRUE(contains(lowercase(init.err), "read-only")) << init.err;
  const ProcessResult exp =
      signet_({"keys", "export", "exportable", "--out", (mount_point / "x.p12").string(),
               "--export-passphrase-file", export_pass.string()});
  EXPECT_TRUE(FailedWith(exp, 1, "not-writable"));
  EXPECT_TRUE(contains(lowercase(exp.err), "read-only")) << exp.err;

  ASSERT_TRUE(remount(mount_point, "rw"));
  EXPECT_EQ(snapshot(s.data_dir()), before);
  EXPECT_EQ(file_names(mount_point), std::vector<std::string>{"store"});
  EXPECT_EQ(s.all_keys(), keys_before);
  EXPECT_TRUE(Succeeded(s({"keys", "verify"})));
}

TEST_F(CliMountTest, FullDiskRefusesChangesAndKeepsTheStore) {
  const fs::path mount_point = tmp_ / "full";
  ASSERT_TRUE(mount_tmpfs(mount_point, "1m"));
  const Signet s(mount_point / "store", pass_);
  ASSERT_TRUE(init_store(s));
  ASSERT_TRUE(generate(s, "first", "ec-p256"));

  // Keys with a large comment until the disk is full (argv allows 128 KiB per argument).
  const std::string comment(100 * 1024, 'c');
  json keys_before;
  ProcessResult failed;
  int generated = 0;
  for (int i = 0; i < 40; ++i) {
    keys_before = s.all_keys();
    const ProcessResult r = s({"keys", "generate", "--name", "filler-" + std::to_string(i), "--algorithm",
                               "ec-p256", "--comment", comment});
    if (r.exit_code != 0) {
      failed = r;
      break;
    }
    ++generated;
  }
  ASSERT_GT(generated, 0) << "the store should have had room for a few keys";
  ASSERT_TRUE(FailedWith(failed, 1, "disk-full")) << "after " << generated << " keys";

  // The store still opens and offers exactly what it held, all valid.
  EXPECT_EQ(s.all_keys(), keys_before);
  EXPECT_TRUE(Succeeded(s({"keys", "verify"})));

  // Completely full: refused with the real cause (not a bare I/O error), and nothing lost.
  ASSERT_TRUE(fill_file_system(mount_point / "ballast"));
  const ProcessResult gen = s({"keys", "generate", "--name", "when-full", "--algorithm", "ed25519"});
  EXPECT_TRUE(FailedWith(gen, 1, "disk-full"));
  fs::remove(mount_point / "ballast");
  EXPECT_EQ(s.all_keys(), keys_before);

  // With room again, the store works as before.
  ASSERT_TRUE(remount(mount_point, "size=4m"));
  ASSERT_TRUE(generate(s, "after", "ed25519"));
  const json after = s.all_keys();
  EXPECT_EQ(after["excluded_count"], 0);
  EXPECT_EQ(after["keys"].size(), keys_before["keys"].size() + 1);
  EXPECT_TRUE(Succeeded(s({"keys", "verify"})));

  // Full again, this time with the store closed cleanly (no WAL index left): even opening it
  // needs a little room, and the error names the real cause rather than a bare I/O error.
  ASSERT_EQ(file_names(s.data_dir()), std::vector<std::string>{"signet.db"});
  ASSERT_TRUE(fill_file_system(mount_point / "ballast"));
  const ProcessResult list = s({"keys", "list"});
  EXPECT_TRUE(FailedWith(list, 1, "disk-full"));
  EXPECT_TRUE(
      FailedWith(s({"keys", "generate", "--name", "never", "--algorithm", "ec-p256"}), 1, "disk-full"));
  fs::remove(mount_point / "ballast");
  EXPECT_EQ(s.all_keys(), after);
}

TEST_F(CliMountTest, InitAndExportOnFullDiskLeaveNothingBehind) {
  const fs::path mount_point = tmp_ / "full";
  ASSERT_TRUE(mount_tmpfs(mount_point, "256k"));
  const Signet s(mount_point / "store", pass_);
  fs::create_directory(s.data_dir());
  fs::permissions(s.data_dir(), fs::perms::owner_all);
  // A store elsewhere, to export onto the full file system.
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("exportable", "ec-p384"));
  const fs::path export_pass = passphrase_file("export.pass", "export passphrase 1234");
  const fs::path out = mount_point / "exportable.p12";
  ASSERT_TRUE(fill_file_system(mount_point / "ballast"));

  EXPECT_TRUE(FailedWith(s({"store", "init", "--insecure-fast-kdf"}), 1, "disk-full"));
  EXPECT_TRUE(file_names(s.data_dir()).empty()) << "no store and no temporary file";
  const ProcessResult exp = signet_({"keys", "export", "exportable", "--out", out.string(),
                                     "--export-passphrase-file", export_pass.string()});
  EXPECT_TRUE(FailedWith(exp, 1, "disk-full"));
  EXPECT_EQ(file_names(mount_point), (std::vector<std::string>{"ballast", "store"}))
      << "no partial PKCS#12 and no temporary file";

  fs::remove(mount_point / "ballast");
  EXPECT_TRUE(init_store(s)) << "once there is room, init works";
  EXPECT_TRUE(Succeeded(s({"keys", "list"})));
  EXPECT_TRUE(Succeeded(signet_({"keys", "export", "exportable", "--out", out.string(),
                                 "--export-passphrase-file", export_pass.string()})));
  EXPECT_EQ(file_mode(out), 0600u);
}

}  // namespace
}  // namespace signet::test::cli
