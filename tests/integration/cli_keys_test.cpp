// `signet keys ...` through the real binary: the key life cycle for every algorithm, the listing
// and its JSON, and what the listing does with entries damaged behind the store's back (edited
// with the real sqlite3 CLI): they are never offered, always counted and explained.
#include <gtest/gtest.h>

#include <array>
#include <set>

#include "cli_harness.h"

namespace signet::test::cli {
namespace {

constexpr std::array<std::string_view, 6> kAlgorithms = {"ec-p256",  "ec-p384",  "rsa-2048",
                                                         "rsa-3072", "rsa-4096", "ed25519"};

// Changes one hex digit in the middle of a key's encrypted private key (so at least one bit of
// the ciphertext flips), the way a disk error or a careless edit would.
::testing::AssertionResult flip_ciphertext_byte(const fs::path& db, const std::string& name) {
  const ProcessResult read =
      run_sqlite(db, "SELECT hex(encrypted_private_key) FROM keys WHERE name = '" + name + "'");
  std::string hex = read.out.substr(0, read.out.find('\n'));
  if (read.exit_code != 0 || hex.size() < 80) {
    return ::testing::AssertionFailure() << "cannot read the ciphertext of " << name << "\n"
                                         << describe(read);
  }
  hex[60] = hex[60] == '0' ? '1' : '0';  // inside the ciphertext, after the 12-byte nonce
  const ProcessResult write =
      run_sqlite(db, "UPDATE keys SET encrypted_private_key = X'" + hex + "' WHERE name = '" + name + "'");
  if (write.exit_code != 0) return ::testing::AssertionFailure() << describe(write);
  return ::testing::AssertionSuccess();
}

// ---- the life cycle -------------------------------------------------------------------------

TEST_F(CliTest, KeyLifeCycleForEveryAlgorithm) {
  ASSERT_TRUE(init_store());

  for (const std::string_view algorithm : kAlgorithms) {
    const std::string name = "key-" + std::string(algorithm);
    const ProcessResult r = signet_({"keys", "generate", "--name", name, "--algorithm",
                                     std::string(algorithm), "--comment", "made for " + name});
    ASSERT_TRUE(Succeeded(r)) << algorithm;
    EXPECT_TRUE(contains(r.out, "Generated key \"" + name + "\" (" + std::string(algorithm) + ", SHA256:"))
        << r.out;
  }

  // The listing, as JSON.
  const json list = signet_.json_of({"keys", "list", "--json"});
  ASSERT_TRUE(list.is_object());
  EXPECT_EQ(list["format"], 1);
  EXPECT_EQ(list["excluded_count"], 0);
  ASSERT_TRUE(list["keys"].is_array());
  ASSERT_EQ(list["keys"].size(), kAlgorithms.size());
  std::set<std::string> fingerprints;
  std::set<std::int64_t> ids;
  for (const std::string_view algorithm : kAlgorithms) {
    const std::string name = "key-" + std::string(algorithm);
    const json key = key_named(list["keys"], name);
    ASSERT_TRUE(key.is_object()) << name << " missing from " << list.dump(2);
    EXPECT_EQ(key["algorithm"], algorithm);
    EXPECT_TRUE(is_sha256_hex(key["fingerprint_sha256"])) << key.dump();
    fingerprints.insert(key.value("fingerprint_sha256", ""));
    ids.insert(key.value("id", std::int64_t{0}));
    EXPECT_EQ(key["status"], "valid");
    EXPECT_EQ(key["reusable"], true);
    EXPECT_EQ(key["source"], "generated");
    EXPECT_EQ(key["comment"], "made for " + name);
    EXPECT_EQ(key["certificates"], json::array());
    EXPECT_EQ(key["findings"], json::array());
    EXPECT_EQ(key["requests"], 0);
  }
  EXPECT_EQ(fingerprints.size(), kAlgorithms.size()) << "every key has its own fingerprint";
  EXPECT_EQ(ids.size(), kAlgorithms.size());

  // The listing, as text: one row per key with the start of its fingerprint, nothing excluded.
  const ProcessResult text = signet_({"keys", "list"});
  ASSERT_TRUE(Succeeded(text));
  for (const json& key : list["keys"]) {
    EXPECT_TRUE(contains(text.out, key["name"].get<std::string>())) << text.out;
    EXPECT_TRUE(contains(text.out, key["fingerprint_sha256"].get<std::string>().substr(0, 16))) << text.out;
  }
  EXPECT_FALSE(contains(text.out, "not offered")) << text.out;

  // verify: all valid.
  const ProcessResult verify = signet_({"keys", "verify"});
  EXPECT_TRUE(Succeeded(verify));
  const json verified = signet_.json_of({"keys", "verify", "--json"});
  EXPECT_EQ(verified["format"], 1);
  EXPECT_EQ(verified["valid"], true);
  EXPECT_EQ(verified["keys"].size(), kAlgorithms.size());

  // show: the same key object as the listing.
  const json listed = key_named(list["keys"], "key-ec-p256");
  const json shown = signet_.json_of({"keys", "show", "key-ec-p256", "--json"});
  EXPECT_EQ(shown["format"], 1);
  EXPECT_EQ(shown["key"], listed);
  const ProcessResult show_text = signet_({"keys", "show", "key-ec-p256"});
  ASSERT_TRUE(Succeeded(show_text));
  EXPECT_TRUE(contains(show_text.out, "SHA256:" + listed["fingerprint_sha256"].get<std::string>()))
      << show_text.out;
  EXPECT_TRUE(contains(show_text.out, "made for key-ec-p256")) << show_text.out;

  // rename: same entry (id, fingerprint), still valid, under the new name only.
  ASSERT_TRUE(Succeeded(signet_({"keys", "rename", "key-ec-p256", "web-2026"})));
  const json after_rename = signet_.json_of({"keys", "list", "--json"});
  const json renamed = key_named(after_rename["keys"], "web-2026");
  ASSERT_TRUE(renamed.is_object()) << after_rename.dump(2);
  EXPECT_EQ(renamed["id"], listed["id"]);
  EXPECT_EQ(renamed["fingerprint_sha256"], listed["fingerprint_sha256"]);
  EXPECT_EQ(renamed["status"], "valid");
  EXPECT_TRUE(key_named(after_rename["keys"], "key-ec-p256").is_null());
  EXPECT_TRUE(FailedWith(signet_({"keys", "show", "key-ec-p256"}), 1, "key-not-found"));
  // Renaming onto a taken name is refused and changes nothing.
  const DirSnapshot before_clash = snapshot(store_);
  EXPECT_TRUE(FailedWith(signet_({"keys", "rename", "web-2026", "key-ed25519"}), 1, "name-taken"));
  EXPECT_TRUE(FailedWith(signet_({"keys", "rename", "no-such-key", "other"}), 1, "key-not-found"));
  EXPECT_EQ(snapshot(store_), before_clash);

  // delete --yes: gone, the others untouched.
  const ProcessResult deleted = signet_({"keys", "delete", "web-2026", "--yes"});
  ASSERT_TRUE(Succeeded(deleted));
  EXPECT_TRUE(contains(deleted.out, "Deleted key \"web-2026\"")) << deleted.out;
  EXPECT_TRUE(FailedWith(signet_({"keys", "delete", "web-2026", "--yes"}), 1, "key-not-found"));
  const json after_delete = signet_.json_of({"keys", "list", "--json"});
  EXPECT_EQ(after_delete["excluded_count"], 0);
  json expected = after_rename["keys"];
  expected.erase(
      std::remove_if(expected.begin(), expected.end(), [](const json& k) { return k["name"] == "web-2026"; }),
      expected.end());
  EXPECT_EQ(after_delete["keys"], expected);
}

TEST_F(CliTest, EmptyStoreListsNoKeys) {
  ASSERT_TRUE(init_store());
  const json list = signet_.json_of({"keys", "list", "--json"});
  EXPECT_EQ(list, (json{{"format", 1}, {"keys", json::array()}, {"excluded_count", 0}, {"quarantined_count", 0}}));
  const json all = signet_.all_keys();
  EXPECT_EQ(all["keys"], json::array());
  EXPECT_EQ(all["excluded_count"], 0);

  const ProcessResult text = signet_({"keys", "list"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_TRUE(contains(text.out, "The key store holds no keys.")) << text.out;
  EXPECT_FALSE(contains(text.out, "not offered")) << text.out;
  const ProcessResult verify = signet_({"keys", "verify", "--json"});
  ASSERT_TRUE(Succeeded(verify));
  const json verified = parse_json(verify);
  EXPECT_EQ(verified["valid"], true);
  EXPECT_EQ(verified["keys"], json::array());
}

TEST_F(CliTest, GenerateRefusesBadNamesAndAlgorithmsWithoutChangingTheStore) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("taken", "ec-p256"));
  const DirSnapshot before = snapshot(store_);
  const json keys_before = signet_.all_keys();

  EXPECT_TRUE(FailedWith(signet_({"keys", "generate", "--name", "taken", "--algorithm", "ed25519"}), 1,
                         "name-taken"));
  const ProcessResult unknown = signet_({"keys", "generate", "--name", "other", "--algorithm", "dsa-1024"});
  EXPECT_TRUE(FailedWith(unknown, 1, "algorithm-unknown"));
  EXPECT_TRUE(contains(unknown.err, "ed25519")) << "the message lists the algorithms: " << unknown.err;
  EXPECT_TRUE(FailedWith(signet_({"keys", "generate", "--name", " padded ", "--algorithm", "ec-p256"}), 1,
                         "invalid-name"));
  EXPECT_TRUE(
      FailedWith(signet_({"keys", "generate", "--name", std::string(129, 'n'), "--algorithm", "ec-p256"}), 1,
                 "invalid-name"));

  EXPECT_EQ(snapshot(store_), before);
  EXPECT_EQ(signet_.all_keys(), keys_before);
}

TEST_F(CliTest, UsageErrorsExitTwoAndChangeNothing) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("k", "ec-p256"));
  const DirSnapshot before = snapshot(store_);

  EXPECT_TRUE(UsageError(run_process({kSignet})));
  EXPECT_TRUE(UsageError(signet_({})));
  EXPECT_TRUE(UsageError(signet_({"keys"})));
  EXPECT_TRUE(UsageError(signet_({"keys", "frobnicate"})));
  const ProcessResult no_algorithm = signet_({"keys", "generate", "--name", "x"});
  EXPECT_TRUE(UsageError(no_algorithm));
  EXPECT_TRUE(contains(no_algorithm.err, "--algorithm")) << no_algorithm.err;
  EXPECT_TRUE(UsageError(signet_({"keys", "generate", "--algorithm", "ec-p256"})));
  EXPECT_TRUE(UsageError(signet_({"keys", "export", "k"})));  // --out is required
  EXPECT_TRUE(UsageError(signet_({"keys", "show"})));
  EXPECT_TRUE(UsageError(signet_({"keys", "rename", "k"})));
  EXPECT_TRUE(UsageError(signet_({"keys", "import"})));
  // A passphrase is never taken from argv: there is no such option.
  EXPECT_TRUE(UsageError(signet_({"keys", "list", "--passphrase", "correct horse battery staple"})));
  // A passphrase file that does not exist.
  EXPECT_TRUE(UsageError(run_process({kSignet, "--data-dir", store_.string(), "--passphrase-file",
                                      (tmp_ / "missing.pass").string(), "keys", "list"})));

  EXPECT_EQ(snapshot(store_), before);
}

TEST_F(CliTest, DeleteWithoutTerminalNeedsYes) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("keep-me", "ed25519"));
  const DirSnapshot before = snapshot(store_);

  const ProcessResult r = signet_({"keys", "delete", "keep-me"});
  EXPECT_TRUE(FailedWith(r, 1, "confirmation-required"));
  EXPECT_TRUE(contains(r.err, "--yes")) << r.err;
  EXPECT_EQ(snapshot(store_), before);
  EXPECT_EQ(names_of(signet_.all_keys()["keys"]), std::vector<std::string>{"keep-me"});
}

TEST_F(CliTest, GlobalOptionsComeFromTheEnvironmentToo) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("from-env", "ec-p256"));
  // No --data-dir, no --passphrase-file: SIGNET_DATA_DIR and SIGNET_PASSPHRASE_FILE.
  ProcessOptions env;
  env.env = {{"SIGNET_DATA_DIR", store_.string()}, {"SIGNET_PASSPHRASE_FILE", pass_.string()}};
  const ProcessResult r = run_process({kSignet, "keys", "list", "--json"}, env);
  ASSERT_TRUE(Succeeded(r));
  EXPECT_EQ(names_of(parse_json(r)["keys"]), std::vector<std::string>{"from-env"});
  // Global options may follow the command.
  const ProcessResult after = run_process({kSignet, "keys", "list", "--json", "--data-dir", store_.string(),
                                           "--passphrase-file", pass_.string()});
  ASSERT_TRUE(Succeeded(after));
  EXPECT_EQ(names_of(parse_json(after)["keys"]), std::vector<std::string>{"from-env"});
}

// ---- damaged entries ------------------------------------------------------------------------

TEST_F(CliTest, EntryWithEditedCiphertextIsNeverOfferedButAccountedFor) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("good-key", "ec-p256"));
  ASSERT_TRUE(generate("damaged", "ed25519"));
  ASSERT_TRUE(flip_ciphertext_byte(signet_.db(), "damaged"));

  // The picker's view: only the good key, and a count of what is not offered.
  const ProcessResult text = signet_({"keys", "list"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_TRUE(contains(text.out, "good-key")) << text.out;
  EXPECT_FALSE(contains(text.out, "damaged")) << text.out;
  EXPECT_TRUE(contains(text.out, "1 entry is not offered")) << text.out;
  EXPECT_TRUE(contains(text.out, "signet keys list --all")) << text.out;

  const json list = signet_.json_of({"keys", "list", "--json"});
  EXPECT_EQ(names_of(list["keys"]), std::vector<std::string>{"good-key"});
  EXPECT_EQ(list["excluded_count"], 1);

  // --all: the damaged entry with its status, the reason and a fix.
  const json all = signet_.all_keys();
  EXPECT_EQ(all["excluded_count"], 1);
  EXPECT_EQ(names_of(all["keys"]), (std::vector<std::string>{"damaged", "good-key"}));
  const json bad = key_named(all["keys"], "damaged");
  ASSERT_TRUE(bad.is_object()) << all.dump(2);
  EXPECT_EQ(bad["status"], "invalid");
  EXPECT_EQ(bad["reusable"], false);
  EXPECT_EQ(bad["algorithm"], "ed25519");
  EXPECT_TRUE(is_sha256_hex(bad["fingerprint_sha256"]));
  ASSERT_FALSE(bad["findings"].empty()) << bad.dump(2);
  const json& finding = bad["findings"][0];
  EXPECT_EQ(finding["code"], "ciphertext-auth-failed");
  EXPECT_EQ(finding["severity"], "error");
  EXPECT_FALSE(finding.value("message", "").empty());
  EXPECT_FALSE(finding.value("fix", "").empty());
  EXPECT_EQ(key_named(all["keys"], "good-key")["status"], "valid");

  const ProcessResult all_text = signet_({"keys", "list", "--all"});
  ASSERT_TRUE(Succeeded(all_text));
  EXPECT_TRUE(contains(all_text.out, "damaged")) << all_text.out;
  EXPECT_TRUE(contains(all_text.out, "invalid")) << all_text.out;
  EXPECT_TRUE(contains(all_text.out, "ciphertext-auth-failed")) << all_text.out;
  EXPECT_TRUE(contains(all_text.out, "fix:")) << all_text.out;

  // verify: 3 when any checked key is invalid, 0 for the good one alone.
  const ProcessResult verify_all = signet_({"keys", "verify"});
  EXPECT_EQ(verify_all.exit_code, 3) << describe(verify_all);
  EXPECT_TRUE(contains(verify_all.out, "damaged: invalid")) << verify_all.out;
  EXPECT_TRUE(contains(verify_all.out, "good-key: valid")) << verify_all.out;
  const json verified = signet_.json_of({"keys", "verify", "--json"}, 3);
  EXPECT_EQ(verified["valid"], false);
  EXPECT_EQ(verified["keys"].size(), 2u);
  EXPECT_TRUE(Succeeded(signet_({"keys", "verify", "good-key"})));
  EXPECT_EQ(signet_({"keys", "verify", "damaged"}).exit_code, 3);
  EXPECT_EQ(signet_({"keys", "verify", "good-key", "damaged"}).exit_code, 3);
  EXPECT_TRUE(FailedWith(signet_({"keys", "verify", "no-such-key"}), 1, "key-not-found"));

  // store check: 3, with the counts.
  const ProcessResult check = signet_({"store", "check"});
  EXPECT_EQ(check.exit_code, 3) << describe(check);
  EXPECT_TRUE(contains(check.out, "ciphertext-auth-failed")) << check.out;
  const json checked = signet_.json_of({"store", "check", "--json"}, 3);
  EXPECT_EQ(checked["keys_total"], 2);
  EXPECT_EQ(checked["keys_valid"], 1);
  EXPECT_EQ(checked["keys_invalid"], 1);

  // show works on it (to read the findings) and says invalid.
  const json shown = signet_.json_of({"keys", "show", "damaged", "--json"});
  EXPECT_EQ(shown["key"]["status"], "invalid");

  // export refuses it, with exit 3, and writes nothing.
  const fs::path export_pass = passphrase_file("export.pass", "export passphrase 1234");
  const fs::path out = tmp_ / "damaged.p12";
  const DirSnapshot before_export = snapshot(store_);
  const std::vector<std::string> tmp_before = file_names(tmp_.path());
  EXPECT_TRUE(FailedWith(signet_({"keys", "export", "damaged", "--out", out.string(),
                                  "--export-passphrase-file", export_pass.string()}),
                         3, "key-invalid"));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(file_names(tmp_.path()), tmp_before) << "no temporary file left behind";
  EXPECT_EQ(snapshot(store_), before_export);

  // The fix the operator is told about: delete the damaged entry; then everything is clean.
  ASSERT_TRUE(Succeeded(signet_({"keys", "delete", "damaged", "--yes"})));
  const ProcessResult clean = signet_({"keys", "list"});
  ASSERT_TRUE(Succeeded(clean));
  EXPECT_FALSE(contains(clean.out, "not offered")) << clean.out;
  EXPECT_TRUE(Succeeded(signet_({"keys", "verify"})));
  EXPECT_TRUE(Succeeded(signet_({"store", "check"})));
}

TEST_F(CliTest, EveryKindOfTamperingIsExcludedWithItsReason) {
  ASSERT_TRUE(init_store());
  for (const char* name : {"intact", "foreign-pubkey", "no-private-key", "truncated", "swap-a", "swap-b"}) {
    ASSERT_TRUE(generate(name, "ec-p256"));
  }
  // A second store, whose entry gets copied into the first one.
  const Signet other(tmp_ / "other-store", pass_);
  ASSERT_TRUE(init_store(other));
  ASSERT_TRUE(generate(other, "elsewhere", "ec-p384"));
  const json intact_before = key_named(signet_.all_keys()["keys"], "intact");

  const std::string db = signet_.db().string();
  // Another row's public key (and so another fingerprint) under this entry's private key.
  ASSERT_TRUE(Succeeded(run_sqlite(db,
                                   "UPDATE keys SET public_key = (SELECT public_key FROM keys WHERE "
                                   "name = 'intact') WHERE name = 'foreign-pubkey'")));
  // A request-like entry: public key and metadata, but no private key (Q235964).
  ASSERT_TRUE(Succeeded(
      run_sqlite(db, "UPDATE keys SET encrypted_private_key = NULL WHERE name = 'no-private-key'")));
  ASSERT_TRUE(Succeeded(run_sqlite(db,
                                   "UPDATE keys SET encrypted_private_key = "
                                   "substr(encrypted_private_key, 1, 10) WHERE name = 'truncated'")));
  // Two entries' ciphertexts swapped.
  ASSERT_TRUE(
      Succeeded(run_sqlite(db,
                           "CREATE TEMP TABLE saved AS SELECT name, encrypted_private_key AS e FROM keys; "
                           "UPDATE keys SET encrypted_private_key = (SELECT e FROM saved WHERE saved.name = "
                           "CASE keys.name WHEN 'swap-a' THEN 'swap-b' ELSE 'swap-a' END) "
                           "WHERE name IN ('swap-a', 'swap-b')")));
  // A whole row copied from the other store.
  ASSERT_TRUE(Succeeded(run_sqlite(
      db, "ATTACH '" + other.db().string() +
              "' AS o; "
              "INSERT INTO keys (name, algorithm, public_key, fingerprint, encrypted_private_key, source, "
              "created_at, comment) SELECT 'copied', algorithm, public_key, fingerprint, "
              "encrypted_private_key, source, created_at, comment FROM o.keys WHERE name = 'elsewhere'")));

  const ProcessResult text = signet_({"keys", "list"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_TRUE(contains(text.out, "6 entries are not offered")) << text.out;

  const json list = signet_.json_of({"keys", "list", "--json"});
  EXPECT_EQ(names_of(list["keys"]), std::vector<std::string>{"intact"});
  EXPECT_EQ(list["excluded_count"], 6);
  EXPECT_EQ(key_named(list["keys"], "intact"), intact_before) << "the intact key is unaffected";

  const json all = signet_.all_keys()["keys"];
  ASSERT_EQ(all.size(), 7u) << all.dump(2);
  const std::map<std::string, std::string> expected_finding = {
      {"foreign-pubkey", "public-key-mismatch"}, {"no-private-key", "private-key-missing"},
      {"truncated", "ciphertext-malformed"},     {"swap-a", "ciphertext-auth-failed"},
      {"swap-b", "ciphertext-auth-failed"},      {"copied", "ciphertext-auth-failed"}};
  for (const auto& [name, code] : expected_finding) {
    const json key = key_named(all, name);
    ASSERT_TRUE(key.is_object()) << name;
    EXPECT_EQ(key["status"], "invalid") << name;
    EXPECT_EQ(key["reusable"], false) << name;
    const std::vector<std::string> codes = finding_codes(key);
    EXPECT_NE(std::find(codes.begin(), codes.end(), code), codes.end())
        << name << " should report " << code << ": " << key.dump(2);
  }

  EXPECT_EQ(signet_({"keys", "verify"}).exit_code, 3);
  EXPECT_TRUE(Succeeded(signet_({"keys", "verify", "intact"})));
  EXPECT_EQ(signet_({"store", "check"}).exit_code, 3);
  const fs::path export_pass = passphrase_file("export.pass", "export passphrase 1234");
  for (const auto& [name, code] : expected_finding) {
    const fs::path out = tmp_ / (name + ".p12");
    EXPECT_TRUE(FailedWith(signet_({"keys", "export", name, "--out", out.string(), "--export-passphrase-file",
                                    export_pass.string()}),
                           3, "key-invalid"))
        << name;
    EXPECT_FALSE(fs::exists(out)) << name;
  }
}

}  // namespace
}  // namespace signet::test::cli
