// Upgrading through the real `signet` binary: the store of every older Signet
// (tests/fixtures/schema/vN) is migrated by the first command that opens it, `signet store check`
// lists the verified copy made before the migration and says what to do with it, and every key,
// certificate, API client and ACME key the old Signet made is still there.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "cli_harness.h"

namespace signet::test::cli {
namespace {

const fs::path kFixtures = fs::path(SIGNET_FIXTURE_DIR) / "schema";
constexpr int kLatestSchema = 6;

fs::path fixture_dir(int v) { return kFixtures / ("v" + std::to_string(v)); }

class CliUpgrade : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    const int v = GetParam();
    ASSERT_TRUE(fs::exists(fixture_dir(v) / "signet.db")) << "missing fixture v" << v;
    std::ifstream in(fixture_dir(v) / "manifest.json");
    manifest_ = json::parse(in);
    fs::create_directory(store_);
    fs::permissions(store_, fs::perms::owner_all, fs::perm_options::replace);
    fs::copy_file(fixture_dir(v) / "signet.db", signet_.db());
    fs::permissions(signet_.db(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    write_text(pass_, read_text(fixture_dir(v) / "passphrase"));
  }

  TempDir tmp_;
  fs::path store_ = tmp_ / "store";
  fs::path pass_ = tmp_ / "store.pass";
  Signet signet_{store_, pass_};
  json manifest_;
};

TEST_P(CliUpgrade, StoreCheckMigratesAndListsTheCopy) {
  const int v = GetParam();
  const bool upgrade = v < kLatestSchema;
  const std::string fixture_bytes = read_text(signet_.db());

  const json check = signet_.json_of({"store", "check", "--json"});
  EXPECT_EQ(check.value("schema_version", 0), kLatestSchema);
  EXPECT_EQ(check.value("keys_invalid", -1), 0);
  EXPECT_EQ(check.value("keys_total", 0), static_cast<int>(manifest_.at("keys").size()));
  ASSERT_TRUE(check["upgrade_copies"].is_array()) << check.dump(2);
  for (const json& w : check["warnings"]) EXPECT_EQ(w.value("code", ""), "kdf-weak") << w.dump();

  if (!upgrade) {
    EXPECT_TRUE(check["upgrade_copies"].empty()) << check.dump(2);
    EXPECT_TRUE(contains(signet_({"store", "check"}).out, "Upgrade copies: none"));
  } else {
    ASSERT_EQ(check["upgrade_copies"].size(), 1u) << check.dump(2);
    const json& copy = check["upgrade_copies"][0];
    const std::string name = copy.value("file", "");
    EXPECT_TRUE(name.starts_with("signet.db.schema-" + std::to_string(v) + "-")) << name;
    EXPECT_TRUE(name.ends_with(".bak")) << name;
    EXPECT_EQ(copy.value("schema_version", 0), v);
    EXPECT_EQ(copy.value("mode", ""), "0600");
    const std::string taken = copy.value("taken", "");  // RFC 3339, the time in the name
    ASSERT_EQ(taken.size(), 20u) << taken;
    EXPECT_TRUE(contains(name, taken.substr(0, 4) + taken.substr(5, 2) + taken.substr(8, 2) + "T" +
                                   taken.substr(11, 2) + taken.substr(14, 2) + taken.substr(17, 2) + "Z"))
        << name << " " << taken;
    EXPECT_EQ(copy.value("path", ""), (store_ / name).string());
    EXPECT_EQ(file_mode(store_ / name), 0600u);
    EXPECT_EQ(copy.value("bytes", 0u), fs::file_size(store_ / name));

    // The copy holds the old store: its schema, and the same rows as the fixture.
    const ProcessResult version = run_sqlite(store_ / name, "PRAGMA user_version");
    EXPECT_EQ(version.out, std::to_string(v) + "\n") << describe(version);
    const ProcessResult integrity = run_sqlite(store_ / name, "PRAGMA integrity_check");
    EXPECT_EQ(integrity.out, "ok\n") << describe(integrity);
    const fs::path fixture_copy = tmp_ / "fixture.db";
    write_text(fixture_copy, fixture_bytes);
    const std::string rows = "SELECT name, hex(encrypted_private_key), hex(fingerprint) FROM keys ORDER BY id";
    EXPECT_EQ(run_sqlite(store_ / name, rows).out, run_sqlite(fixture_copy, rows).out);

    // The text output names the copy and says what it is for and how to go back.
    const ProcessResult text = signet_({"store", "check"});
    ASSERT_TRUE(Succeeded(text));
    EXPECT_TRUE(contains(text.out, "Upgrade copies: 1")) << text.out;
    EXPECT_TRUE(contains(text.out, name + "  schema " + std::to_string(v))) << text.out;
    EXPECT_TRUE(contains(text.out, "mode 0600")) << text.out;
    EXPECT_TRUE(contains(text.out, "Remove them once")) << text.out;
    EXPECT_TRUE(contains(text.out, "stop signetd, replace signet.db with the copy")) << text.out;

    // Audited, once; a second command makes no second copy.
    const json audit = signet_.json_of({"store", "audit", "--json"});
    int migrations = 0;
    for (const json& e : audit["audit"]) {
      if (e.value("action", "") != "store.migrate") continue;
      ++migrations;
      EXPECT_TRUE(contains(e.value("detail", ""), "schema " + std::to_string(v) + " -> 6")) << e.dump();
      EXPECT_TRUE(contains(e.value("detail", ""), name)) << e.dump();
    }
    EXPECT_EQ(migrations, 1);
    EXPECT_EQ(signet_.json_of({"store", "check", "--json"})["upgrade_copies"].size(), 1u);
  }

  // Every key the old Signet made, with the fingerprint it printed, passes `keys verify`.
  const json verify = signet_.json_of({"keys", "verify", "--json"});
  EXPECT_EQ(verify.value("valid", false), true) << verify.dump(2);
  for (const json& k : manifest_.at("keys")) {
    const json found = key_named(verify["keys"], k.at("name").get<std::string>());
    ASSERT_FALSE(found.is_null()) << k.dump();
    EXPECT_EQ(found.value("fingerprint_sha256", ""), k.at("fingerprint_sha256").get<std::string>());
    EXPECT_EQ(found.value("algorithm", ""), k.at("algorithm").get<std::string>());
    EXPECT_EQ(found.value("status", ""), "valid");
  }

  // The ledger, the API clients and the ACME keys, as the migrated store has them.
  for (const json& c : manifest_.at("certificates")) {
    const std::string serial = c.at("serial");
    const ProcessResult r = run_sqlite(
        signet_.db(), "SELECT state, revoked_at IS NOT NULL FROM issued_certificates WHERE serial = '" + serial + "'");
    EXPECT_EQ(r.out, std::string("issued|") + (c.at("revoked").get<bool>() ? "1" : "0") + "\n") << serial;
  }
  for (const json& name : manifest_.at("clients")) {
    const ProcessResult r = run_sqlite(
        signet_.db(), "SELECT count(*) FROM api_clients WHERE removed_at IS NULL AND name = '" +
                          name.get<std::string>() + "'");
    EXPECT_EQ(r.out, "1\n") << name;
  }
  for (const json& kid : manifest_.at("acme_eab_kids")) {
    const ProcessResult r =
        run_sqlite(signet_.db(), "SELECT count(*) FROM acme_eab_keys WHERE kid = '" + kid.get<std::string>() + "'");
    EXPECT_EQ(r.out, "1\n") << kid;
  }
}

// The first command that migrates says so on stderr (an upgrade is never silent), once.
TEST_P(CliUpgrade, TheCommandThatMigratesSaysSo) {
  const int v = GetParam();
  const ProcessResult first = signet_({"keys", "list", "--json"});
  ASSERT_TRUE(Succeeded(first)) << describe(first);
  EXPECT_TRUE(json::accept(first.out)) << "stdout must stay one JSON document: " << first.out;
  if (v < kLatestSchema) {
    EXPECT_TRUE(contains(first.err, "migrated the key store")) << first.err;
    EXPECT_TRUE(contains(first.err, "from schema version " + std::to_string(v) + " to 6")) << first.err;
    EXPECT_TRUE(contains(first.err, "signet.db.schema-" + std::to_string(v) + "-")) << first.err;
  } else {
    EXPECT_FALSE(contains(first.err, "migrated")) << first.err;
  }
  const ProcessResult second = signet_({"keys", "list", "--json"});
  EXPECT_FALSE(contains(second.err, "migrated")) << second.err;
}

// A restore's dry run writes nothing to an older store: no migration, no copy, the same bytes.
TEST_P(CliUpgrade, RestoreDryRunDoesNotMigrate) {
  const int v = GetParam();
  // A backup of another, current store.
  const fs::path other_dir = tmp_ / "other";
  const fs::path backup_pass = tmp_ / "backup.pass";
  write_text(backup_pass, "a backup passphrase of some length\n");
  Signet other(other_dir, pass_);
  ASSERT_TRUE(Succeeded(other({"store", "init", "--insecure-fast-kdf"})));
  ASSERT_TRUE(Succeeded(other({"keys", "generate", "--name", "from-backup", "--algorithm", "ec-p256"})));
  const fs::path backup = tmp_ / "other.sbk";
  ASSERT_TRUE(Succeeded(other({"backup", "create", "--out", backup.string(), "--backup-passphrase-file",
                               backup_pass.string()})));

  const std::string before = read_text(signet_.db());
  const ProcessResult r = signet_({"backup", "restore", backup.string(), "--backup-passphrase-file",
                                   backup_pass.string(), "--dry-run"});
  ASSERT_TRUE(Succeeded(r)) << describe(r);
  EXPECT_TRUE(contains(r.out, "from-backup")) << r.out;
  EXPECT_EQ(read_text(signet_.db()), before) << "a dry run changed signet.db (schema " << v << ")";
  for (const auto& entry : fs::directory_iterator(store_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("signet.db.schema-")) << entry.path();
  }
  EXPECT_EQ(run_sqlite(signet_.db(), "PRAGMA user_version").out, std::to_string(v) + "\n");
}

// A file named like a copy is checked for what it is, not trusted for its name (one schema version
// is enough: this is about store check, not the migration).
class CliUpgradeCopies : public CliUpgrade {};
INSTANTIATE_TEST_SUITE_P(SchemaFour, CliUpgradeCopies, ::testing::Values(4));

TEST_P(CliUpgradeCopies, AFileNamedLikeACopyIsCheckedNotTrusted) {
  ASSERT_TRUE(Succeeded(signet_({"keys", "list"})));  // migrates, with a real copy
  write_text(store_ / "signet.db.schema-2-20200101T000000Z.bak", "junk");
  fs::copy_file(signet_.db(), store_ / "signet.db.schema-3-20200102T000000Z.bak");  // schema 6 inside
  const json check = signet_.json_of({"store", "check", "--json"});
  ASSERT_EQ(check["upgrade_copies"].size(), 3u) << check.dump(2);
  std::map<std::string, bool> valid;
  for (const json& c : check["upgrade_copies"]) valid[c.value("file", "")] = c.value("valid", true);
  EXPECT_FALSE(valid.at("signet.db.schema-2-20200101T000000Z.bak"));
  EXPECT_FALSE(valid.at("signet.db.schema-3-20200102T000000Z.bak"));
  int invalid_warnings = 0;
  for (const json& w : check["warnings"]) invalid_warnings += w.value("code", "") == "upgrade-copy-invalid" ? 1 : 0;
  EXPECT_EQ(invalid_warnings, 2) << check.dump(2);
  const ProcessResult text = signet_({"store", "check"});
  EXPECT_TRUE(contains(text.out, "signet.db.schema-2-20200101T000000Z.bak  schema 2  4 bytes  mode")) << text.out;
  EXPECT_TRUE(contains(text.out, "NOT A VALID COPY")) << text.out;
  EXPECT_TRUE(contains(text.out, "schema version 6, not the 3 its name says")) << text.out;
}

INSTANTIATE_TEST_SUITE_P(EverySchemaVersion, CliUpgrade, ::testing::Range(1, kLatestSchema + 1),
                         [](const ::testing::TestParamInfo<int>& version) { return "v" + std::to_string(version.param); });

}  // namespace
}  // namespace signet::test::cli
