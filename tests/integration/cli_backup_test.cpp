// `signet backup create | inspect | restore` through the real binary, when things go wrong: a
// wrong passphrase, a truncated or edited backup, a file that is no backup, an existing output
// file, a read-only or full file system (real tmpfs mounts), the wrong store passphrase. Each must
// fail with a clear error and change nothing. Also: what a backup file looks like from outside,
// what inspect reports, and backups taken while another process keeps writing.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "cli_harness.h"
#include "support/tmpfs.h"

namespace signet::test::cli {
namespace {

using namespace std::chrono_literals;
using Names = std::vector<std::string>;

constexpr std::string_view kBackupPassphrase = "the backup passphrase, kept offline";
constexpr std::string_view kTargetPassphrase = "target store passphrase 2026";

// Copies `from` to `to` with the byte at `offset` (counted from the end when negative) XORed
// with 0x01.
void copy_with_flipped_byte(const fs::path& from, const fs::path& to, std::int64_t offset) {
  std::string bytes = read_text(from);
  const auto size = static_cast<std::int64_t>(bytes.size());
  const std::int64_t at = offset < 0 ? size + offset : offset;
  ASSERT_TRUE(at >= 0 && at < size) << "offset " << offset << " outside " << from;
  char& b = bytes[static_cast<std::size_t>(at)];
  b = static_cast<char>(b ^ 0x01);
  write_text(to, bytes);
}

// Copies `from` to `to` and cuts it to `length` bytes with truncate(1), as a failed copy would.
void copy_truncated(const fs::path& from, const fs::path& to, std::uintmax_t length) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  const ProcessResult r = run_process({"truncate", "-s", std::to_string(length), to.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(fs::file_size(to), length);
}

// Everything an operator can observe about a store: its files byte for byte, every entry with
// its verdict, and the quarantine.
struct StoreState {
  DirSnapshot files;
  json keys;
  json quarantine;
};

class CliBackupTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_text(backup_pass_, std::string(kBackupPassphrase) + "\n");
    write_text(target_pass_, std::string(kTargetPassphrase) + "\n");
    fs::create_directory(scratch_);
  }

  void TearDown() override {
    // Unmount before TempDir cleans up, whatever happened in the test.
    for (std::optional<TmpfsMount>* m : {&mount_b_, &mount_a_}) {
      if (!m->has_value()) continue;
      const std::string problem = (*m)->unmount();
      EXPECT_EQ(problem, "") << "cannot unmount " << (*m)->path();
      m->reset();
    }
    EXPECT_TRUE(file_names(scratch_).empty()) << "scratch files left behind in TMPDIR";
  }

  // Mounts a tmpfs; a test failure with mount's message (never a skip) when it cannot.
  ::testing::AssertionResult mount(std::optional<TmpfsMount>& slot, const fs::path& dir,
                                   const std::string& size) {
    try {
      slot.emplace(dir, size);
    } catch (const std::exception& e) {
      return ::testing::AssertionFailure() << "cannot mount a tmpfs on " << dir
                                           << " (these tests need root with CAP_SYS_ADMIN): " << e.what();
    }
    return ::testing::AssertionSuccess();
  }

  [[nodiscard]] ProcessOptions in_scratch() const {
    ProcessOptions options;
    options.env["TMPDIR"] = scratch_.string();
    return options;
  }

  // The source store (the fixture's): three valid keys.
  void make_source() {
    ASSERT_TRUE(init_store());
    ASSERT_TRUE(generate("ca", "ec-p256"));
    ASSERT_TRUE(generate("web", "ed25519"));
    ASSERT_TRUE(generate("mail", "ec-p384"));
  }

  ProcessResult create(const Signet& s, const fs::path& out, const fs::path& pass_file) {
    return s({"backup", "create", "--out", out.string(), "--backup-passphrase-file", pass_file.string(),
              "--insecure-fast-kdf", "--json"},
             in_scratch());
  }

  // A backup of the source store; a test failure when it cannot be made.
  fs::path backup_of_source(const std::string& file_name) {
    const fs::path out = tmp_ / file_name;
    EXPECT_TRUE(Succeeded(create(signet_, out, backup_pass_)));
    return out;
  }

  ProcessResult restore(const Signet& s, const fs::path& backup, const std::vector<std::string>& extra = {},
                        const fs::path* pass_file = nullptr) {
    std::vector<std::string> args{"backup", "restore", backup.string(), "--backup-passphrase-file",
                                  (pass_file != nullptr ? *pass_file : backup_pass_).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return s(args, in_scratch());
  }

  ProcessResult inspect(const fs::path& backup, bool json_output = false) {
    std::vector<std::string> args{"backup", "inspect", backup.string(), "--backup-passphrase-file",
                                  backup_pass_.string()};
    if (json_output) args.emplace_back("--json");
    return signet_(args, in_scratch());
  }

  static StoreState state_of(const Signet& s) {
    return {snapshot(s.data_dir()), s.all_keys(),
            s.json_of({"keys", "list", "--all", "--quarantined", "--json"})};
  }

  static void expect_unchanged(const Signet& s, const StoreState& before, const std::string& what) {
    EXPECT_EQ(snapshot(s.data_dir()), before.files) << what << " changed the store's files";
    EXPECT_EQ(s.all_keys(), before.keys) << what << " changed the keys";
    EXPECT_EQ(s.json_of({"keys", "list", "--all", "--quarantined", "--json"}), before.quarantine)
        << what << " changed the quarantine";
  }

  // A target store with one key of its own.
  void make_target() {
    ASSERT_TRUE(init_store(target_));
    ASSERT_TRUE(generate(target_, "target-own", "ec-p256"));
  }

  // A failed restore of `backup` changes neither the target nor a missing store's directory, and
  // inspect fails the same way.
  void expect_refused(const fs::path& backup, const std::string& code, const StoreState& target_before) {
    EXPECT_TRUE(FailedWith(restore(target_, backup), 1, code));
    EXPECT_TRUE(FailedWith(restore(target_, backup, {"--dry-run"}), 1, code));
    EXPECT_TRUE(FailedWith(restore(missing_, backup), 1, code));
    EXPECT_FALSE(fs::exists(missing_.data_dir())) << "a failed restore created " << missing_.data_dir();
    EXPECT_TRUE(FailedWith(inspect(backup), 1, code));
    expect_unchanged(target_, target_before, "a refused restore");
  }

  fs::path backup_pass_ = tmp_ / "backup.pass";
  fs::path target_pass_ = tmp_ / "target.pass";
  fs::path scratch_ = tmp_ / "scratch";
  Signet target_{tmp_ / "target", target_pass_};
  Signet missing_{tmp_ / "missing", target_pass_};
  std::optional<TmpfsMount> mount_a_;
  std::optional<TmpfsMount> mount_b_;
};

// Adds `rows` issued certificates of 1000 bytes each to a store's ledger, with sqlite3 (data beyond
// the keys, as a CA's would be): a backup then spans several 1 MiB chunks.
::testing::AssertionResult add_bulk(const Signet& s, int rows) {
  const ProcessResult r = run_sqlite(
      s.db(),
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(rows) +
          ") INSERT INTO issued_certificates (serial, state, profile, client, subject, names, requested_at, "
          "not_before, not_after, der) SELECT printf('%08X', i), 'issued', 'bulk', 'operator:test', '', '[]', "
          "0, 0, 0, zeroblob(1000) FROM n");
  if (r.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << describe(r);
}

// ---- wrong passphrases ------------------------------------------------------------------------

TEST_F(CliBackupTest, WrongBackupPassphraseIsRefusedAndChangesNothing) {
  make_source();
  const fs::path backup = backup_of_source("a.sgbk");
  make_target();
  const StoreState before = state_of(target_);
  const fs::path wrong = passphrase_file("wrong.pass", "not the backup passphrase");

  EXPECT_TRUE(FailedWith(restore(target_, backup, {}, &wrong), 1, "wrong-backup-passphrase"));
  EXPECT_TRUE(FailedWith(restore(target_, backup, {"--dry-run"}, &wrong), 1, "wrong-backup-passphrase"));
  EXPECT_TRUE(FailedWith(restore(missing_, backup, {}, &wrong), 1, "wrong-backup-passphrase"));
  EXPECT_FALSE(fs::exists(missing_.data_dir()));
  EXPECT_TRUE(
      FailedWith(signet_({"backup", "inspect", backup.string(), "--backup-passphrase-file", wrong.string()},
                         in_scratch()),
                 1, "wrong-backup-passphrase"));
  // No passphrase and no terminal: asked for, never guessed.
  EXPECT_TRUE(
      FailedWith(target_({"backup", "restore", backup.string()}, in_scratch()), 1, "passphrase-required"));
  expect_unchanged(target_, before, "a restore with the wrong backup passphrase");

  // With the right one, the same backup restores.
  const ProcessResult ok = restore(target_, backup, {"--json"});
  ASSERT_TRUE(Succeeded(ok));
  EXPECT_EQ(names_of(parse_json(ok)["added"]), (Names{"ca", "mail", "web"}));
}

TEST_F(CliBackupTest, WrongPassphraseForTheTargetStoreChangesNothing) {
  make_source();
  const fs::path backup = backup_of_source("a.sgbk");
  make_target();
  const StoreState before = state_of(target_);
  const Signet wrong_target(target_.data_dir(),
                            passphrase_file("wrong-target.pass", "not the target passphrase"));

  EXPECT_TRUE(FailedWith(restore(wrong_target, backup), 1, "wrong-passphrase"));
  EXPECT_TRUE(FailedWith(restore(wrong_target, backup, {"--dry-run"}), 1, "wrong-passphrase"));
  expect_unchanged(target_, before, "a restore with the wrong store passphrase");
}

// ---- damaged backups --------------------------------------------------------------------------

TEST_F(CliBackupTest, TruncatedBackupIsRefusedAndChangesNothing) {
  make_source();
  const fs::path small = backup_of_source("small.sgbk");  // one chunk
  ASSERT_TRUE(add_bulk(signet_, 2500));
  const fs::path big = backup_of_source("big.sgbk");  // three chunks
  ASSERT_GT(fs::file_size(big), 2u << 20);
  make_target();
  const StoreState before = state_of(target_);

  // The header is 74 bytes; each full chunk is a 4-byte length and 1 MiB + a 16-byte tag.
  constexpr std::uintmax_t kFirstChunkEnd = 74 + 4 + (1u << 20) + 16;
  struct Cut {
    const fs::path* file;
    std::uintmax_t length;
    std::string code;
  };
  const std::uintmax_t small_size = fs::file_size(small);
  const std::uintmax_t big_size = fs::file_size(big);
  const std::vector<Cut> cuts = {
      {&small, 0, "not-a-backup"},                 // empty
      {&small, 5, "not-a-backup"},                 // not even the magic
      {&small, 40, "backup-corrupt"},              // inside the header
      {&small, 74, "backup-corrupt"},              // the header alone
      {&small, small_size / 2, "backup-corrupt"},  // the middle
      {&small, small_size - 1, "backup-corrupt"},  // the last byte missing
      {&big, big_size / 2, "backup-corrupt"},      // inside a later chunk
      {&big, kFirstChunkEnd, "backup-corrupt"},    // after a whole chunk that is not the last
      {&big, big_size - 1, "backup-corrupt"},      // the last byte of the last chunk
  };
  for (const Cut& cut : cuts) {
    SCOPED_TRACE(cut.file->filename().string() + " cut to " + std::to_string(cut.length) + " bytes");
    const fs::path cut_file = tmp_ / "cut.sgbk";
    copy_truncated(*cut.file, cut_file, cut.length);
    expect_refused(cut_file, cut.code, before);
    if (cut.code == "backup-corrupt") {
      const ProcessResult r = restore(target_, cut_file);
      EXPECT_TRUE(contains(r.err, "ends")) << "the message should say the file ends early:\n" << r.err;
    }
  }
}

TEST_F(CliBackupTest, EditedBackupIsRefusedAndChangesNothing) {
  make_source();
  const fs::path small = backup_of_source("small.sgbk");  // one chunk
  ASSERT_TRUE(add_bulk(signet_, 2500));
  const fs::path big = backup_of_source("big.sgbk");  // three chunks
  make_target();
  const StoreState before = state_of(target_);

  struct Flip {
    const fs::path* file;
    std::int64_t offset;
    std::string code;
  };
  const auto big_middle = static_cast<std::int64_t>(fs::file_size(big) / 2);
  const auto small_middle = static_cast<std::int64_t>(fs::file_size(small) / 2);
  const std::vector<Flip> flips = {
      {&small, 0, "not-a-backup"},                // the magic
      {&small, 9, "backup-version-unsupported"},  // the format version
      {&small, 30, "wrong-backup-passphrase"},    // the salt: another key, nothing decrypts
      {&small, 72, "wrong-backup-passphrase"},    // reserved header bytes, authenticated too
      // In a one-chunk backup the first chunk is the only one: a damaged chunk and a wrong
      // passphrase cannot be told apart, and the message says so.
      {&small, small_middle, "wrong-backup-passphrase"},
      {&small, -1, "wrong-backup-passphrase"},
      {&big, 0, "not-a-backup"},
      {&big, 30, "wrong-backup-passphrase"},
      {&big, big_middle, "backup-corrupt"},  // a later chunk
      {&big, -1, "backup-corrupt"},          // the tag of the final chunk
  };
  for (const Flip& flip : flips) {
    SCOPED_TRACE(flip.file->filename().string() + " with byte " + std::to_string(flip.offset) + " flipped");
    const fs::path edited = tmp_ / "edited.sgbk";
    copy_with_flipped_byte(*flip.file, edited, flip.offset);
    expect_refused(edited, flip.code, before);
    if (flip.code == "wrong-backup-passphrase") {
      const ProcessResult r = restore(target_, edited);
      EXPECT_TRUE(contains(r.err, "damaged")) << "the message should admit the file may be damaged:\n"
                                              << r.err;
    }
  }

  // Data appended after the final chunk.
  const fs::path extended = tmp_ / "extended.sgbk";
  write_text(extended, read_text(small) + "x");
  expect_refused(extended, "backup-corrupt", before);
}

TEST_F(CliBackupTest, FilesThatAreNoBackupAreRefused) {
  make_source();
  make_target();
  const StoreState before = state_of(target_);

  const fs::path text = tmp_ / "notes.txt";
  write_text(text, "This is not a backup.\n");
  expect_refused(text, "not-a-backup", before);

  // A store's own database, and a large file of random bytes (larger than any key file).
  expect_refused(signet_.db(), "not-a-backup", before);
  const fs::path noise = tmp_ / "random.bin";
  ASSERT_TRUE(Succeeded(run_process({"openssl", "rand", "-out", noise.string(), std::to_string(2u << 20)})));
  expect_refused(noise, "not-a-backup", before);

  // A key file: the message points at `keys import`.
  const fs::path export_pass = passphrase_file("export.pass", "export passphrase 12345");
  const fs::path p12 = tmp_ / "web.p12";
  ASSERT_TRUE(Succeeded(signet_(
      {"keys", "export", "web", "--out", p12.string(), "--export-passphrase-file", export_pass.string()})));
  expect_refused(p12, "not-a-backup", before);
  EXPECT_TRUE(contains(restore(target_, p12).err, "signet keys import"));
  // Refused for what it is even without a backup passphrase (no prompt for a file that is no backup).
  EXPECT_TRUE(FailedWith(target_({"backup", "restore", text.string()}, in_scratch()), 1, "not-a-backup"));

  expect_refused(tmp_ / "no-such.sgbk", "file-not-found", before);
}

// ---- backup create ----------------------------------------------------------------------------

TEST_F(CliBackupTest, CreateNeverOverwritesAnExistingFile) {
  make_source();
  const fs::path existing = tmp_ / "precious.sgbk";
  write_text(existing, "an operator's precious file\n");
  fs::permissions(existing, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  const std::vector<std::string> files_before = file_names(tmp_.path());
  const DirSnapshot store_before = snapshot(store_);

  EXPECT_TRUE(FailedWith(create(signet_, existing, backup_pass_), 1, "file-exists"));
  EXPECT_EQ(read_text(existing), "an operator's precious file\n");
  EXPECT_EQ(file_mode(existing), 0640u);
  EXPECT_EQ(file_names(tmp_.path()), files_before) << "no temporary file may be left beside it";
  EXPECT_EQ(snapshot(store_), store_before) << "a refused backup changed the store";

  // Nor over an earlier backup.
  const fs::path first = backup_of_source("first.sgbk");
  const std::string first_bytes = read_text(first);
  EXPECT_TRUE(FailedWith(create(signet_, first, backup_pass_), 1, "file-exists"));
  EXPECT_EQ(read_text(first), first_bytes);
}

TEST_F(CliBackupTest, BackupFileIsPrivateEncryptedAndComesWithAWarning) {
  make_source();
  const fs::path out = tmp_ / "a.sgbk";
  const ProcessResult r = create(signet_, out, backup_pass_);
  ASSERT_TRUE(Succeeded(r));
  EXPECT_EQ(file_mode(out), 0600u);
  EXPECT_TRUE(contains(r.err, "signet: warning: whoever holds " + out.string())) << r.err;
  EXPECT_TRUE(contains(r.err, "impersonate")) << r.err;
  const json created = parse_json(r);
  EXPECT_EQ(created["file"], out.string());
  EXPECT_EQ(created["bytes"], fs::file_size(out));
  EXPECT_EQ(created["manifest"]["counts"]["keys"], 3);
  EXPECT_EQ(file_names(store_), Names{"signet.db"}) << "no snapshot left in the data dir";

  // Nothing inside is readable without the passphrase: no SQLite header, no key name, no
  // fingerprint.
  const std::string bytes = read_text(out);
  EXPECT_EQ(bytes.substr(0, 8), "SIGNETBK");
  EXPECT_FALSE(contains(bytes, "SQLite format 3"));
  EXPECT_FALSE(contains(bytes, "signet-backup"));
  const json all = signet_.all_keys();  // a named value: the loop must not outlive it
  for (const json& key : all["keys"]) {
    EXPECT_FALSE(contains(bytes, key.value("fingerprint_sha256", "?")));
  }

  // The text form says the same, and a short backup passphrase is refused before anything is written.
  const ProcessResult text =
      signet_({"backup", "create", "--out", (tmp_ / "b.sgbk").string(), "--backup-passphrase-file",
               backup_pass_.string(), "--insecure-fast-kdf"},
              in_scratch());
  ASSERT_TRUE(Succeeded(text));
  EXPECT_TRUE(contains(text.out, "mode 0600")) << text.out;
  EXPECT_TRUE(contains(text.out, "3 key(s)")) << text.out;
  EXPECT_TRUE(contains(text.err, "impersonate")) << text.err;
  EXPECT_TRUE(FailedWith(create(signet_, tmp_ / "short.sgbk", passphrase_file("short.pass", "short")), 1,
                         "passphrase-too-short"));
  EXPECT_FALSE(fs::exists(tmp_ / "short.sgbk"));
}

// ---- backup inspect ---------------------------------------------------------------------------

TEST_F(CliBackupTest, InspectGivesAVerdictPerKeyAndChangesNothing) {
  make_source();
  const fs::path clean = backup_of_source("clean.sgbk");
  const DirSnapshot source_files = snapshot(store_);

  const ProcessResult ok = inspect(clean, /*json_output=*/true);
  ASSERT_TRUE(Succeeded(ok));
  const json report = parse_json(ok);
  EXPECT_EQ(report["authenticated"], true);
  EXPECT_EQ(report["valid"], true);
  EXPECT_EQ(report["manifest"]["counts"]["keys"], 3);
  EXPECT_EQ(names_of(report["keys"]), (Names{"ca", "mail", "web"}));
  for (const json& k : report["keys"]) EXPECT_EQ(k["status"], "valid") << k.dump(2);
  const ProcessResult ok_text = inspect(clean);
  ASSERT_TRUE(Succeeded(ok_text));
  EXPECT_TRUE(contains(ok_text.out, "authenticated")) << ok_text.out;
  // Inspect needs no store at all.
  EXPECT_TRUE(Succeeded(
      missing_({"backup", "inspect", clean.string(), "--backup-passphrase-file", backup_pass_.string()},
               in_scratch())));
  EXPECT_FALSE(fs::exists(missing_.data_dir()));

  // One entry damaged behind the store's back, then backed up: exit 3, the entry named.
  ASSERT_TRUE(Succeeded(
      run_sqlite(store_ / "signet.db", "UPDATE keys SET encrypted_private_key = NULL WHERE name = 'web'")));
  const fs::path damaged = backup_of_source("damaged.sgbk");
  const DirSnapshot damaged_files = snapshot(store_);
  const ProcessResult bad = inspect(damaged, /*json_output=*/true);
  EXPECT_EQ(bad.exit_code, 3) << describe(bad);
  const json bad_report = parse_json(bad);
  EXPECT_EQ(bad_report["valid"], false);
  const json web = key_named(bad_report["keys"], "web");
  EXPECT_EQ(web["status"], "invalid");
  EXPECT_EQ(finding_codes(web), Names{"private-key-missing"});
  EXPECT_EQ(key_named(bad_report["keys"], "ca")["status"], "valid");
  const ProcessResult bad_text = inspect(damaged);
  EXPECT_EQ(bad_text.exit_code, 3) << describe(bad_text);
  EXPECT_TRUE(contains(bad_text.out, "[private-key-missing]")) << bad_text.out;

  // Inspect wrote nothing anywhere: the store (its --data-dir) and the backups are untouched.
  EXPECT_EQ(snapshot(store_), damaged_files);
  EXPECT_NE(source_files, damaged_files);  // (the edit above did change it)
  EXPECT_EQ(file_names(store_), Names{"signet.db"});
}

// ---- the quarantine after a restore ----------------------------------------------------------

// The id of the quarantined entry named `name` in a list of quarantine objects (-1 when absent).
std::int64_t quarantine_id_of(const json& entries, std::string_view name) {
  const json q = key_named(entries, name);
  return q.is_object() && q.contains("id") ? q["id"].get<std::int64_t>() : -1;
}

TEST_F(CliBackupTest, QuarantinedEntriesAreListedBesideTheExcludedOnesAndRemovedAudited) {
  make_source();
  // Two entries damaged behind the store's back, then backed up: web loses its private key, mail
  // gets ca's ciphertext (which does not authenticate as mail's).
  ASSERT_TRUE(Succeeded(run_sqlite(store_ / "signet.db",
                                   "UPDATE keys SET encrypted_private_key = NULL WHERE name = 'web';"
                                   "UPDATE keys SET encrypted_private_key = (SELECT encrypted_private_key "
                                   "FROM keys WHERE name = 'ca') WHERE name = 'mail'")));
  const json source_keys = signet_.all_keys();
  const fs::path backup = backup_of_source("damaged.sgbk");
  make_target();
  const ProcessResult restored = restore(target_, backup, {"--json"});
  ASSERT_TRUE(Succeeded(restored));
  const json report = parse_json(restored);
  EXPECT_EQ(names_of(report["quarantined"]), (Names{"mail", "web"})) << report.dump(2);
  // The restore's own report already gives the quarantine's fix, not "restore a full backup".
  for (const json& item : report["quarantined"]) {
    for (const json& f : item["findings"]) {
      EXPECT_TRUE(contains(f.value("fix", ""), "older backup")) << f.dump(2);
      EXPECT_TRUE(contains(f.value("fix", ""), "signet keys quarantine remove ")) << f.dump(2);
      EXPECT_FALSE(contains(lowercase(f.value("fix", "")), "restore a full backup")) << f.dump(2);
    }
  }

  // `keys list`: the count, and where to look.
  const ProcessResult list = target_({"keys", "list"});
  ASSERT_TRUE(Succeeded(list));
  EXPECT_TRUE(contains(list.out, "2 entries were quarantined")) << list.out;
  EXPECT_TRUE(contains(list.out, "signet keys quarantine list")) << list.out;
  EXPECT_FALSE(contains(list.out, "web")) << list.out;

  // `keys list --all --json`: the quarantined entries beside the excluded ones, each with its id,
  // fingerprint, when, and findings with message and fix.
  const json all = target_.json_of({"keys", "list", "--all", "--json"});
  EXPECT_EQ(names_of(all["keys"]), (Names{"ca", "target-own"})) << all.dump(2);
  EXPECT_EQ(all["excluded_count"], 0);
  EXPECT_EQ(all["quarantined_count"], 2);
  ASSERT_TRUE(all["quarantined"].is_array()) << all.dump(2);
  EXPECT_EQ(names_of(all["quarantined"]), (Names{"mail", "web"}));
  for (const std::string name : {"mail", "web"}) {
    const json q = key_named(all["quarantined"], name);
    SCOPED_TRACE(q.dump(2));
    EXPECT_TRUE(q["id"].is_number_integer());
    EXPECT_EQ(q["fingerprint_sha256"], key_named(source_keys["keys"], name)["fingerprint_sha256"]);
    EXPECT_TRUE(is_sha256_hex(q["fingerprint_sha256"]));
    EXPECT_EQ(q["status"], "quarantined");
    EXPECT_EQ(q["reusable"], false);
    EXPECT_EQ(q.value("quarantined", "").size(), 20u);  // 2026-12-04T10:00:00Z
    ASSERT_FALSE(q["findings"].empty());
    for (const json& f : q["findings"]) {
      EXPECT_FALSE(f.value("message", "").empty());
      EXPECT_TRUE(contains(f.value("fix", ""), "older backup"));
      EXPECT_TRUE(contains(f.value("fix", ""), "signet keys import"));
      EXPECT_TRUE(contains(f.value("fix", ""),
                           "signet keys quarantine remove " + std::to_string(q["id"].get<std::int64_t>())));
      EXPECT_EQ(f.size(), 4u) << "findings keep their shape {code, severity, message, fix}";
    }
  }
  EXPECT_EQ(finding_codes(key_named(all["quarantined"], "web")), Names{"private-key-missing"});
  EXPECT_EQ(finding_codes(key_named(all["quarantined"], "mail")), Names{"ciphertext-auth-failed"});
  const std::int64_t web_id = quarantine_id_of(all["quarantined"], "web");
  const std::int64_t mail_id = quarantine_id_of(all["quarantined"], "mail");

  // `keys list --all` as text: the keys, then the quarantine with ids, fingerprints and fixes.
  const ProcessResult all_text = target_({"keys", "list", "--all"});
  ASSERT_TRUE(Succeeded(all_text));
  const std::size_t section = all_text.out.find("Quarantined by a restore (2 entries");
  ASSERT_NE(section, std::string::npos) << all_text.out;
  const std::string quarantine_part = all_text.out.substr(section);
  EXPECT_FALSE(contains(all_text.out.substr(0, section), "web")) << all_text.out;
  EXPECT_TRUE(contains(quarantine_part, "id " + std::to_string(web_id) + ": web")) << all_text.out;
  EXPECT_TRUE(contains(quarantine_part, "SHA256:" + key_named(all["quarantined"], "web")["fingerprint_sha256"].get<std::string>()))
      << all_text.out;
  EXPECT_TRUE(contains(quarantine_part, "[private-key-missing]")) << all_text.out;
  EXPECT_TRUE(contains(quarantine_part, "fix: ")) << all_text.out;
  EXPECT_TRUE(contains(quarantine_part, "older backup")) << all_text.out;

  // `keys quarantine list`: the same entries; --json the same objects.
  const json qlist = target_.json_of({"keys", "quarantine", "list", "--json"});
  EXPECT_EQ(qlist["format"], 1);
  EXPECT_EQ(qlist["quarantined"], all["quarantined"]);
  EXPECT_EQ(target_.json_of({"keys", "list", "--all", "--quarantined", "--json"}), qlist);
  const ProcessResult qtext = target_({"keys", "quarantine", "list"});
  ASSERT_TRUE(Succeeded(qtext));
  EXPECT_TRUE(contains(qtext.out, "2 entries in the quarantine")) << qtext.out;
  EXPECT_TRUE(contains(qtext.out, "id " + std::to_string(mail_id) + ": mail")) << qtext.out;

  // `keys delete web` does not say "not found": it names the quarantine and the command, by id.
  const StoreState before = state_of(target_);
  const ProcessResult del = target_({"keys", "delete", "web", "--yes"});
  EXPECT_TRUE(FailedWith(del, 1, "key-quarantined"));
  EXPECT_TRUE(contains(del.err, "signet keys quarantine remove " + std::to_string(web_id))) << del.err;
  EXPECT_TRUE(contains(del.err, "Nothing was deleted")) << del.err;
  expect_unchanged(target_, before, "keys delete of a quarantined name");
  // An id that does not exist: a clear error naming the listing, nothing changed.
  const ProcessResult wrong = target_({"keys", "quarantine", "remove", "4242"});
  EXPECT_TRUE(FailedWith(wrong, 1, "quarantine-entry-not-found"));
  EXPECT_TRUE(contains(wrong.err, "signet keys quarantine list")) << wrong.err;
  expect_unchanged(target_, before, "removing a quarantine id that does not exist");
  EXPECT_TRUE(UsageError(target_({"keys", "quarantine", "remove"})));
  EXPECT_TRUE(UsageError(target_({"keys", "quarantine", "remove", "web"})));

  // Removing web: gone from the quarantine; keys and the other entry unchanged; audited.
  const ProcessResult removed = target_({"keys", "quarantine", "remove", std::to_string(web_id)});
  ASSERT_TRUE(Succeeded(removed));
  EXPECT_TRUE(contains(removed.out, "Removed entry " + std::to_string(web_id) + " (\"web\"")) << removed.out;
  const json after = target_.json_of({"keys", "list", "--all", "--json"});
  EXPECT_EQ(after["keys"], all["keys"]);
  EXPECT_EQ(after["quarantined_count"], 1);
  EXPECT_EQ(names_of(after["quarantined"]), Names{"mail"});
  EXPECT_EQ(key_named(after["quarantined"], "mail"), key_named(all["quarantined"], "mail"));
  const json audit = target_.json_of({"store", "audit", "--json"});
  ASSERT_FALSE(audit["audit"].empty()) << audit.dump(2);
  const json& last = audit["audit"].back();
  EXPECT_EQ(last["action"], "key.quarantine.remove") << audit.dump(2);
  EXPECT_EQ(last["subject"], "web");
  EXPECT_TRUE(contains(last.value("detail", ""), key_named(all["quarantined"], "web")["fingerprint_sha256"].get<std::string>()))
      << last.dump(2);
  const ProcessResult audit_text = target_({"store", "audit"});
  ASSERT_TRUE(Succeeded(audit_text));
  EXPECT_TRUE(contains(audit_text.out, "key.quarantine.remove  \"web\"")) << audit_text.out;

  // A second removal of the same id fails, changing nothing.
  const StoreState after_remove = state_of(target_);
  EXPECT_TRUE(FailedWith(target_({"keys", "quarantine", "remove", std::to_string(web_id)}), 1,
                         "quarantine-entry-not-found"));
  expect_unchanged(target_, after_remove, "a second removal");
  // `keys delete web` is a plain "not found" now.
  EXPECT_TRUE(FailedWith(target_({"keys", "delete", "web", "--yes"}), 1, "key-not-found"));

  // Restoring the same backup again quarantines web again (it is still damaged in that backup).
  const json again = parse_json(restore(target_, backup, {"--json"}));
  EXPECT_EQ(names_of(again["quarantined"]), Names{"web"}) << again.dump(2);
  EXPECT_EQ(names_of(again["already_quarantined"]), Names{"mail"}) << again.dump(2);
  EXPECT_EQ(names_of(target_.json_of({"keys", "quarantine", "list", "--json"})["quarantined"]), (Names{"mail", "web"}));
}

// ---- read-only and full file systems (real tmpfs mounts) ------------------------------------

TEST_F(CliBackupTest, RestoreOntoAReadOnlyFileSystemChangesNothing) {
  make_source();
  const fs::path first = backup_of_source("first.sgbk");
  ASSERT_TRUE(generate("later-1", "ec-p256"));
  ASSERT_TRUE(generate("later-2", "ed25519"));
  const fs::path second = backup_of_source("second.sgbk");

  ASSERT_TRUE(mount(mount_a_, tmp_ / "ro", "8m"));
  const Signet target(mount_a_->path() / "store", target_pass_);
  ASSERT_TRUE(init_store(target));
  ASSERT_TRUE(Succeeded(restore(target, first)));
  const StoreState before = state_of(target);
  ASSERT_EQ(names_of(before.keys["keys"]), (Names{"ca", "mail", "web"}));

  ASSERT_NO_THROW(mount_a_->remount_read_only());
  const ProcessResult r = restore(target, second);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const std::set<std::string> storage_codes = {"io-error", "data-dir-not-writable", "store-not-writable"};
  EXPECT_EQ(storage_codes.count(error_code(r)), 1u) << describe(r);
  EXPECT_TRUE(contains(lowercase(r.err), "read-only")) << "the message must name the cause:\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  const ProcessResult into_new = restore(Signet(mount_a_->path() / "new", target_pass_), second);
  EXPECT_EQ(into_new.exit_code, 1) << describe(into_new);
  EXPECT_TRUE(contains(lowercase(into_new.err), "read-only")) << into_new.err;

  ASSERT_NO_THROW(mount_a_->remount_read_write());
  expect_unchanged(target, before, "a restore onto a read-only file system");
  EXPECT_EQ(file_names(mount_a_->path()), Names{"store"});
  // Writable again, the same backup restores what it holds.
  const ProcessResult ok = restore(target, second, {"--json"});
  ASSERT_TRUE(Succeeded(ok));
  EXPECT_EQ(names_of(parse_json(ok)["added"]), (Names{"later-1", "later-2"}));
}

TEST_F(CliBackupTest, FullDiskDuringRestoreChangesNothing) {
  // A source with many keys and many certificates: a 4 MB database.
  ASSERT_TRUE(init_store());
  constexpr int kKeys = 12;
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(generate("key-" + std::to_string(i), "ec-p256"));
  ASSERT_TRUE(add_bulk(signet_, 4000));
  const fs::path backup = backup_of_source("big.sgbk");

  // Two small file systems, each with a store holding a key of its own. On 6 MB the restore's
  // scratch copy of the database fits but the transaction that adds it does not; on 3 MB not even
  // the scratch copy fits.
  ASSERT_TRUE(mount(mount_a_, tmp_ / "six", "6m"));
  ASSERT_TRUE(mount(mount_b_, tmp_ / "three", "3m"));
  for (const TmpfsMount* m : {&*mount_a_, &*mount_b_}) {
    SCOPED_TRACE(m->path().filename().string());
    const Signet target(m->path() / "store", target_pass_);
    ASSERT_TRUE(init_store(target));
    ASSERT_TRUE(generate(target, "target-own", "ec-p256"));
    const StoreState before = state_of(target);

    const ProcessResult r = restore(target, backup);
    EXPECT_TRUE(FailedWith(r, 1, "disk-full"));
    expect_unchanged(target, before, "a restore onto a full disk");
    EXPECT_TRUE(before.quarantine["quarantined"].empty());
    EXPECT_EQ(file_names(target.data_dir()), Names{"signet.db"}) << "no scratch copy, journal or WAL left";
    const ProcessResult bulk = run_sqlite(target.db(), "SELECT count(*) FROM issued_certificates");
    EXPECT_EQ(bulk.out, "0\n") << describe(bulk);
    EXPECT_TRUE(Succeeded(target({"store", "check"})));
    EXPECT_TRUE(Succeeded(target({"keys", "verify"})));
  }
  // Into a missing store on the full disk: no store and no directory left behind. (The scratch
  // copy then goes to TMPDIR, elsewhere: 6 MB would hold the new store, 3 MB does not.)
  const Signet fresh(mount_b_->path() / "fresh", target_pass_);
  EXPECT_TRUE(FailedWith(restore(fresh, backup), 1, "disk-full"));
  EXPECT_EQ(file_names(mount_b_->path()), Names{"store"});

  // With room again, the same backup restores completely.
  mount_b_.reset();  // unmounts
  const Signet roomy(tmp_ / "roomy", target_pass_);
  const ProcessResult ok = restore(roomy, backup, {"--json"});
  ASSERT_TRUE(Succeeded(ok));
  const json report = parse_json(ok);
  EXPECT_EQ(report["added"].size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(report["tables"]["issued_certificates"], 4000);
}

// ---- backups while another process writes -----------------------------------------------------

TEST_F(CliBackupTest, BackupsTakenWhileAnotherProcessWritesRestoreConsistently) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(add_bulk(signet_, 2000));  // a 2 MB database: each snapshot takes a while

  // The writer: another process generating keys w-0, w-1, ... one after the other, until told to
  // stop. The backups wait on its progress (a condition variable, no polling); the deadline only
  // bounds a machine that stalls.
  std::mutex mutex;
  std::condition_variable progress;
  int committed = 0;
  bool stop = false;
  bool writer_failed = false;
  std::optional<ProcessResult> writer_failure;  // written by the writer, read after join()
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  std::thread writer([&] {
    for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
      {
        const std::lock_guard lock(mutex);
        if (stop) return;
      }
      ProcessResult r =
          signet_({"keys", "generate", "--name", "w-" + std::to_string(i), "--algorithm", "ec-p256"});
      {
        const std::lock_guard lock(mutex);
        if (r.exit_code != 0) {
          writer_failure = std::move(r);
          writer_failed = true;
        } else {
          committed = i + 1;
        }
      }
      progress.notify_all();
      if (writer_failed) return;
    }
  });
  struct JoinOnExit {  // even when an assertion below returns early
    std::mutex& mutex;
    bool& stop;
    std::thread& thread;
    ~JoinOnExit() {
      {
        const std::lock_guard lock(mutex);
        stop = true;
      }
      if (thread.joinable()) thread.join();
    }
  } join_on_exit{mutex, stop, writer};
  const auto committed_now = [&] {
    const std::lock_guard lock(mutex);
    return committed;
  };
  const auto wait_until_committed = [&](int n) {
    std::unique_lock lock(mutex);
    return progress.wait_until(lock, deadline, [&] { return committed >= n || writer_failed; }) && committed >= n;
  };

  struct Taken {
    fs::path file;
    int committed_before = 0;
    int committed_after = 0;
    ProcessResult result;
  };
  std::vector<Taken> backups;
  int next = 0;
  for (int b = 0; b < 3; ++b) {
    next += 8;  // about half a second of writing between backups
    if (!wait_until_committed(next)) break;
    Taken t;
    t.file = tmp_ / ("during-" + std::to_string(b) + ".sgbk");
    t.committed_before = committed_now();
    t.result = create(signet_, t.file, backup_pass_);
    t.committed_after = committed_now();
    backups.push_back(std::move(t));
  }
  (void)wait_until_committed(next + 4);  // the writer goes on after the last backup
  {
    const std::lock_guard lock(mutex);
    stop = true;
  }
  writer.join();
  ASSERT_FALSE(writer_failure.has_value()) << "a backup made the writer fail: " << describe(*writer_failure);
  ASSERT_EQ(backups.size(), 3u) << "the writer did not get far enough";
  const json source = signet_.all_keys();

  for (std::size_t b = 0; b < backups.size(); ++b) {
    const Taken& t = backups[b];
    SCOPED_TRACE("backup " + std::to_string(b));
    ASSERT_TRUE(Succeeded(t.result));
    const ProcessResult inspected = inspect(t.file, /*json_output=*/true);
    ASSERT_TRUE(Succeeded(inspected));
    const int keys = parse_json(inspected)["manifest"]["counts"]["keys"].get<int>();
    EXPECT_EQ(parse_json(t.result)["manifest"]["counts"]["keys"], keys);
    // Every key committed before the backup started is in it; nothing that did not exist when it
    // ended is (one generate may have committed without having exited yet).
    EXPECT_GE(keys, t.committed_before);
    EXPECT_LE(keys, t.committed_after + 1);

    const Signet restored(tmp_ / ("restored-" + std::to_string(b)), target_pass_);
    ASSERT_TRUE(init_store(restored));  // a fresh store with the fast test KDF
    const ProcessResult r = restore(restored, t.file, {"--json"});
    ASSERT_TRUE(Succeeded(r));
    EXPECT_EQ(parse_json(r)["added"].size(), static_cast<std::size_t>(keys));
    EXPECT_EQ(parse_json(r)["tables"]["issued_certificates"], 2000);
    EXPECT_TRUE(Succeeded(restored({"store", "check"})));
    const json list = restored.json_of({"keys", "list", "--json"});
    EXPECT_EQ(list["excluded_count"], 0);
    // A consistent snapshot of one sequential writer: exactly w-0 .. w-(keys-1), each the same key.
    Names expected;
    for (int i = 0; i < keys; ++i) expected.push_back("w-" + std::to_string(i));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(names_of(list["keys"]), expected);
    for (const json& k : list["keys"]) {
      EXPECT_EQ(k["fingerprint_sha256"],
                key_named(source["keys"], k.value("name", ""))["fingerprint_sha256"]);
    }
  }
}

// ---- API clients -------------------------------------------------------------------------------

TEST_F(CliBackupTest, ApiClientsAreListedAndMergedIntoAStoreWithClientsOnlyWithTheOption) {
  make_source();
  ASSERT_TRUE(Succeeded(signet_({"clients", "add", "alice", "--profile", "*", "--admin", "--json"})));
  ASSERT_TRUE(Succeeded(signet_({"clients", "add", "bob", "--profile", "server-tls", "--json"})));
  const fs::path backup = backup_of_source("clients.sgbk");

  // Into a new store (server B from server A's backup): the clients come without an option, and
  // the output says so.
  const ProcessResult fresh = restore(missing_, backup);
  ASSERT_TRUE(Succeeded(fresh));
  for (const char* part : {"API clients added: 2", "alice (id ", ", ADMIN, profiles *)", "bob (id ",
                           "this store had no API clients"}) {
    EXPECT_TRUE(contains(fresh.out, part)) << part << " is not in:\n" << fresh.out;
  }

  // Into a store with a client of its own: the dry run lists what would be added, and says that
  // the option is needed...
  make_target();
  ASSERT_TRUE(Succeeded(target_({"clients", "add", "carol", "--profile", "server-tls", "--json"})));
  const StoreState before = state_of(target_);
  const ProcessResult dry = restore(target_, backup, {"--dry-run", "--json"});
  ASSERT_TRUE(Succeeded(dry));
  const json d = parse_json(dry);
  EXPECT_EQ(d["clients"]["needs_merge_clients"], true);
  EXPECT_EQ(d["clients"]["store_had_clients"], true);
  EXPECT_EQ(names_of(d["clients"]["added"]), (Names{"alice", "bob"}));
  EXPECT_EQ(d["clients"]["added"][0]["admin"], true);
  EXPECT_EQ(d["clients"]["added"][0]["profiles"], json::array({"*"}));
  EXPECT_EQ(d["clients"]["added"][1]["admin"], false);
  const ProcessResult dry_text = restore(target_, backup, {"--dry-run"});
  ASSERT_TRUE(Succeeded(dry_text));
  EXPECT_TRUE(contains(dry_text.out, "API clients it would add: 2")) << dry_text.out;
  EXPECT_TRUE(contains(dry_text.out, "unless --merge-clients is given")) << dry_text.out;
  // ...the restore without it is refused, naming them and the option, before anything is written...
  const ProcessResult refused = restore(target_, backup);
  EXPECT_TRUE(FailedWith(refused, 1, "restore-merges-clients"));
  for (const char* part : {"alice (admin, profiles *)", "bob (profiles server-tls)", "--merge-clients",
                           "Nothing was restored"}) {
    EXPECT_TRUE(contains(refused.err, part)) << part << " is not in:\n" << refused.err;
  }
  expect_unchanged(target_, before, "a restore refused for its API clients");
  // ...and with it, they are merged, and listed as added.
  const ProcessResult merged = restore(target_, backup, {"--merge-clients", "--json"});
  ASSERT_TRUE(Succeeded(merged));
  EXPECT_EQ(names_of(parse_json(merged)["clients"]["added"]), (Names{"alice", "bob"}));
  EXPECT_EQ(names_of(parse_json(merged)["added"]), (Names{"ca", "mail", "web"}));
  EXPECT_EQ(names_of(target_.json_of({"clients", "list", "--json"})["clients"]), (Names{"alice", "bob", "carol"}));
  // Again: nothing to add, no option needed; both named as skipped.
  const ProcessResult again = restore(target_, backup, {"--json"});
  ASSERT_TRUE(Succeeded(again));
  EXPECT_TRUE(parse_json(again)["clients"]["added"].empty());
  EXPECT_EQ(names_of(parse_json(again)["clients"]["skipped"]), (Names{"alice", "bob"}));
}

}  // namespace
}  // namespace signet::test::cli
