// The two incidents Signet was born from (Microsoft KB Q235964 and Q174781, described below), replayed through the real `signet`
// binary as an operator would, with the real openssl and sqlite3 tools:
//
// - KB Q235964: certificate files backed up on one certificate server and restored onto a second
//   one; reinstalling then offered an invalid key, and the key of the CA name could be invalid
//   too. Here: server A holds a CA key with its CA certificate, other keys, and entries broken
//   behind its back; server B restores A's backup. B must offer exactly the valid keys, the CA key
//   and certificate unchanged, account for every broken entry in the quarantine, and a second
//   restore must change nothing.
// - KB Q174781: restoring only the certificate request (.req) without the private key ended in a
//   bare "Key storage file is invalid". Here: restoring or importing a request or a certificate
//   alone fails with `private-key-missing`, a message naming the fix, and nothing written; a full
//   backup brings the key back.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <set>

#include "cli_harness.h"
#include "support/openssl_cli.h"

namespace signet::test::cli {
namespace {

constexpr std::string_view kBackupPassphrase = "backup passphrase kept apart from the file";
constexpr std::string_view kServerBPassphrase = "server B has a passphrase of its own";
constexpr std::string_view kExportPassphrase = "export passphrase for the checks";

using Names = std::vector<std::string>;

Names sorted(Names names) {
  std::sort(names.begin(), names.end());
  return names;
}

// Runs SQL on a store's database with the real sqlite3 CLI, behind signet's back.
::testing::AssertionResult edit_behind_its_back(const fs::path& db, const std::string& sql) {
  const ProcessResult r = run_sqlite(db, sql);
  if (r.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "sqlite3 failed on " << sql << "\n" << describe(r);
}

// A self-signed CA certificate and its key, made by openssl exactly as an operator would:
// <stem>.key, <stem>.pem, and <stem>-bundle.pem holding both (what `keys import` takes).
fs::path make_ca(const fs::path& dir, const std::string& stem, const std::string& common_name) {
  const fs::path key = dir / (stem + ".key");
  const fs::path cert = dir / (stem + ".pem");
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           key.string(), "-out", cert.string(), "-subj", "/CN=" + common_name, "-days", "3650", "-addext",
           "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  const fs::path bundle = dir / (stem + "-bundle.pem");
  write_text(bundle, read_text(key) + read_text(cert));
  return bundle;
}

// The SHA-256 (lowercase hex) of the DER SubjectPublicKeyInfo of a key file, computed by openssl:
// what Signet must report as the key's fingerprint_sha256.
std::string openssl_fingerprint(const fs::path& key_file, const fs::path& work_dir) {
  const fs::path spki = work_dir / (key_file.filename().string() + ".spki.der");
  openssl({"pkey", "-in", key_file.string(), "-pubout", "-outform", "DER", "-out", spki.string()});
  const std::string out = openssl({"dgst", "-sha256", "-r", spki.string()});
  return out.substr(0, out.find(' '));
}

// A key object without what legitimately differs between two stores holding the same key: the
// row id and the source ("restored" on the target).
json identity(json key) {
  if (key.is_object()) {
    key.erase("id");
    key.erase("source");
  }
  return key;
}

// The three lists of a restore report that say what happens to each entry.
constexpr std::array<const char*, 4> kOutcomes = {"added", "skipped", "quarantined", "already_quarantined"};

class IncidentTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_text(backup_pass_, std::string(kBackupPassphrase) + "\n");
    write_text(server_b_pass_, std::string(kServerBPassphrase) + "\n");
    write_text(export_pass_, std::string(kExportPassphrase) + "\n");
    fs::create_directory(scratch_);
  }

  void TearDown() override {
    // Every backup command ran with TMPDIR=scratch_: nothing may be left there.
    EXPECT_TRUE(file_names(scratch_).empty()) << "scratch files left behind in TMPDIR";
  }

  // Runs with TMPDIR pointing at this test's scratch directory.
  [[nodiscard]] ProcessOptions in_scratch() const {
    ProcessOptions options;
    options.env["TMPDIR"] = scratch_.string();
    return options;
  }

  // `backup create --json` of `s` into `out`; checks the promises every backup makes.
  json create_backup(const Signet& s, const fs::path& out) {
    const ProcessResult r = s({"backup", "create", "--out", out.string(), "--backup-passphrase-file",
                               backup_pass_.string(), "--insecure-fast-kdf", "--json"},
                              in_scratch());
    EXPECT_TRUE(Succeeded(r));
    EXPECT_EQ(file_mode(out), 0600u) << out;
    EXPECT_TRUE(contains(r.err, "impersonate")) << "backup create must warn who can impersonate the CA:\n"
                                                << r.err;
    return parse_json(r);
  }

  ProcessResult restore(const Signet& s, const fs::path& backup, bool dry_run) {
    std::vector<std::string> args{
        "backup", "restore", backup.string(), "--backup-passphrase-file", backup_pass_.string(), "--json"};
    if (dry_run) args.emplace_back("--dry-run");
    return s(args, in_scratch());
  }

  json restore_json(const Signet& s, const fs::path& backup, bool dry_run) {
    const ProcessResult r = restore(s, backup, dry_run);
    EXPECT_TRUE(Succeeded(r));
    json report = parse_json(r);
    EXPECT_EQ(report["dry_run"], dry_run) << report.dump(2);
    return report;
  }

  static Names names_in(const json& report, const char* outcome) { return names_of(report[outcome]); }

  // The certificate DER and the public key (SPKI DER) inside a PKCS#12 written by `keys export`,
  // read back with openssl.
  struct Exported {
    std::string certificate_der;
    std::string public_key_der;
  };
  Exported export_and_read(const Signet& s, const std::string& name, const std::string& tag) {
    const fs::path p12 = tmp_ / (tag + ".p12");
    EXPECT_TRUE(Succeeded(s(
        {"keys", "export", name, "--out", p12.string(), "--export-passphrase-file", export_pass_.string()})));
    const std::string pass = "file:" + export_pass_.string();
    const fs::path certs = tmp_ / (tag + "-certs.pem");
    const fs::path cert_der = tmp_ / (tag + "-cert.der");
    const fs::path key = tmp_ / (tag + "-key.pem");
    const fs::path pub_der = tmp_ / (tag + "-pub.der");
    openssl({"pkcs12", "-in", p12.string(), "-passin", pass, "-nokeys", "-out", certs.string()});
    openssl({"x509", "-in", certs.string(), "-outform", "DER", "-out", cert_der.string()});
    openssl({"pkcs12", "-in", p12.string(), "-passin", pass, "-nocerts", "-nodes", "-out", key.string()});
    openssl({"pkey", "-in", key.string(), "-pubout", "-outform", "DER", "-out", pub_der.string()});
    return {read_text(cert_der), read_text(pub_der)};
  }

  fs::path backup_pass_ = tmp_ / "backup.pass";
  fs::path server_b_pass_ = tmp_ / "server-b.pass";
  fs::path export_pass_ = tmp_ / "export.pass";
  fs::path scratch_ = tmp_ / "scratch";
  // Server A is the fixture's store (signet_); server B has its own directory and passphrase.
  Signet server_b_{tmp_ / "server-b", server_b_pass_};
};

// ---- KB Q235964 ------------------------------------------------------------------------------

TEST_F(IncidentTest, Q235964_SecondServerOffersOnlyValidKeysAndTheSameCaKey) {
  const Signet& server_a = signet_;
  ASSERT_TRUE(init_store(server_a));

  // Server A: the CA key with its self-signed CA certificate, and other keys.
  const fs::path ca_bundle = make_ca(tmp_.path(), "ca", "Incident CA");
  ASSERT_TRUE(Succeeded(server_a({"keys", "import", ca_bundle.string(), "--name", "ca"})));
  ASSERT_TRUE(generate(server_a, "web", "ec-p384"));
  ASSERT_TRUE(generate(server_a, "mail", "ed25519"));
  // Entries that get broken behind A's back, the way a bad script, disk or setup run would.
  for (const char* victim : {"flipped", "orphan", "truncated", "swapped"}) {
    ASSERT_TRUE(generate(server_a, victim, "ec-p256"));
  }
  const fs::path old_ca_bundle = make_ca(tmp_.path(), "old-ca", "Incident CA (old)");
  ASSERT_TRUE(Succeeded(server_a({"keys", "import", old_ca_bundle.string(), "--name", "old-ca"})));

  const fs::path db_a = server_a.db();
  // The first byte of the nonce changed: the ciphertext no longer authenticates.
  ASSERT_TRUE(edit_behind_its_back(
      db_a,
      "UPDATE keys SET encrypted_private_key = CAST((CASE WHEN substr(encrypted_private_key, 1, 1) "
      "= X'00' THEN X'01' ELSE X'00' END) || substr(encrypted_private_key, 2) AS BLOB) "
      "WHERE name = 'flipped'"));
  // The private key gone, only the public half left (a request without its key).
  ASSERT_TRUE(
      edit_behind_its_back(db_a, "UPDATE keys SET encrypted_private_key = NULL WHERE name = 'orphan'"));
  ASSERT_TRUE(edit_behind_its_back(
      db_a, "UPDATE keys SET encrypted_private_key = substr(encrypted_private_key, 1, 10) "
            "WHERE name = 'truncated'"));
  // Another entry's ciphertext copied over.
  ASSERT_TRUE(edit_behind_its_back(
      db_a,
      "UPDATE keys SET encrypted_private_key = (SELECT encrypted_private_key FROM keys WHERE name = "
      "'web') WHERE name = 'swapped'"));
  // The old CA key now carries the current CA's certificate: "the key that corresponds to your
  // Certificate Authority name may be invalid".
  ASSERT_TRUE(edit_behind_its_back(
      db_a,
      "UPDATE key_certificates SET der = (SELECT c.der FROM key_certificates c JOIN keys k ON "
      "c.key_id = k.id WHERE k.name = 'ca') WHERE key_id = (SELECT id FROM keys WHERE name = 'old-ca')"));
  // A broken entry appended at the end of the list, as SYSOCMGR's reinstall did.
  ASSERT_TRUE(edit_behind_its_back(
      db_a,
      "INSERT INTO keys (name, algorithm, public_key, fingerprint, encrypted_private_key, source, "
      "created_at) VALUES ('zz-setup-leftover', 'ec-p256', X'3000', zeroblob(32), zeroblob(60), "
      "'generated', 0)"));
  // Data beyond the keys (the ledger's issued certificates): a backup is the whole database.
  ASSERT_TRUE(edit_behind_its_back(
      db_a,
      "INSERT INTO issued_certificates (serial, state, profile, client, subject, names, requested_at, "
      "not_before, not_after, der) VALUES ('01', 'issued', 'p', 'operator:a', 'CN=a.example', '[]', 0, 0, 0, "
      "X'30'), ('02', 'issued', 'p', 'operator:a', 'CN=b.example', '[]', 0, 0, 0, X'30'), ('03', 'issued', "
      "'p', 'operator:a', 'CN=c.example', '[]', 0, 0, 0, X'30')"));

  const Names valid = {"ca", "mail", "web"};
  const std::map<std::string, std::string> broken = {
      {"flipped", "ciphertext-auth-failed"},  {"orphan", "private-key-missing"},
      {"truncated", "ciphertext-malformed"},  {"swapped", "ciphertext-auth-failed"},
      {"old-ca", "certificate-key-mismatch"}, {"zz-setup-leftover", "public-key-malformed"}};
  Names invalid;
  for (const auto& [name, code] : broken) invalid.push_back(name);

  // A itself offers only the valid keys and says why the others are not offered.
  const json a_all = server_a.all_keys();
  ASSERT_EQ(a_all["excluded_count"], broken.size()) << a_all.dump(2);
  for (const auto& [name, code] : broken) {
    const json entry = key_named(a_all["keys"], name);
    ASSERT_EQ(entry.value("status", ""), "invalid") << name << ": " << entry.dump(2);
    const Names codes = finding_codes(entry);
    EXPECT_NE(std::find(codes.begin(), codes.end(), code), codes.end()) << name << ": " << entry.dump(2);
  }
  const json a_ca = key_named(a_all["keys"], "ca");
  ASSERT_EQ(a_ca.value("status", ""), "valid") << a_ca.dump(2);
  ASSERT_EQ(a_ca["certificates"].size(), 1u);
  EXPECT_EQ(a_ca["certificates"][0]["role"], "ca");
  EXPECT_EQ(a_ca["certificates"][0]["subject"], "CN=Incident CA");
  EXPECT_EQ(a_ca["fingerprint_sha256"], openssl_fingerprint(tmp_ / "ca.key", tmp_.path()))
      << "the fingerprint is the SHA-256 of the key's SubjectPublicKeyInfo";

  // Back A up.
  const fs::path backup = tmp_ / "server-a.sgbk";
  const json created = create_backup(server_a, backup);
  EXPECT_EQ(created["manifest"]["counts"]["keys"], valid.size() + broken.size()) << created.dump(2);
  EXPECT_EQ(created["manifest"]["counts"]["certificates"], 2);
  EXPECT_EQ(created["bytes"], fs::file_size(backup));

  // Server B does not exist yet. A dry run says what would happen and writes nothing at all.
  const json dry = restore_json(server_b_, backup, /*dry_run=*/true);
  EXPECT_FALSE(fs::exists(server_b_.data_dir())) << "a dry run into a missing store created its directory";
  EXPECT_EQ(names_in(dry, "added"), valid) << dry.dump(2);
  EXPECT_EQ(names_in(dry, "quarantined"), invalid) << dry.dump(2);
  EXPECT_TRUE(dry["skipped"].empty());
  EXPECT_TRUE(dry["already_quarantined"].empty());
  EXPECT_EQ(dry["tables"]["issued_certificates"], 3);

  // The real restore does exactly what the dry run said.
  const json first = restore_json(server_b_, backup, /*dry_run=*/false);
  for (const char* outcome : kOutcomes) {
    EXPECT_EQ(first[outcome], dry[outcome]) << "the dry run mispredicted \"" << outcome << "\"";
  }
  EXPECT_EQ(first["tables"]["issued_certificates"], 3);
  for (const json& item : first["added"]) EXPECT_EQ(item["target_name"], item["name"]);
  EXPECT_EQ(file_names(server_b_.data_dir()), Names{"signet.db"}) << "only the store, no scratch file";
  EXPECT_EQ(file_mode(server_b_.data_dir()), 0700u);
  EXPECT_EQ(file_mode(server_b_.db()), 0600u);
  // The store the restore created is protected by the strong default KDF, like any real store.
  // Re-wrapped with the test KDF only to keep the rest of this test fast (keys are untouched).
  EXPECT_EQ(server_b_.json_of({"store", "check", "--json"})["kdf"]["n"], 1 << 17);
  ASSERT_TRUE(Succeeded(server_b_(
      {"store", "passwd", "--new-passphrase-file", server_b_pass_.string(), "--insecure-fast-kdf"})));

  // B offers exactly the valid keys, in every listing, and each is the very key A had.
  const json b_list = server_b_.json_of({"keys", "list", "--json"});
  EXPECT_EQ(names_of(b_list["keys"]), valid) << b_list.dump(2);
  EXPECT_EQ(b_list["excluded_count"], 0) << "an invalid entry became a key on B";
  // ...and the refused entries are accounted for beside the listing, never dropped silently.
  EXPECT_EQ(b_list["quarantined_count"], broken.size()) << b_list.dump(2);
  const ProcessResult b_listing = server_b_({"keys", "list"});
  EXPECT_NE(b_listing.out.find(std::to_string(broken.size()) + " entries were quarantined"), std::string::npos)
      << b_listing.out;
  const json b_all = server_b_.all_keys();
  EXPECT_EQ(names_of(b_all["keys"]), valid) << "--all shows no invalid key either:\n" << b_all.dump(2);
  for (const std::string& name : valid) {
    const json b_key = key_named(b_list["keys"], name);
    EXPECT_EQ(b_key.value("status", ""), "valid") << b_key.dump(2);
    EXPECT_EQ(b_key.value("source", ""), "restored") << b_key.dump(2);
    EXPECT_EQ(identity(b_key), identity(key_named(a_all["keys"], name)))
        << name << " differs between A and B";
  }
  const ProcessResult b_text = server_b_({"keys", "list"});
  ASSERT_TRUE(Succeeded(b_text));
  for (const std::string& name : valid) EXPECT_TRUE(contains(b_text.out, name)) << b_text.out;
  for (const std::string& name : invalid) EXPECT_FALSE(contains(b_text.out, name)) << b_text.out;
  // --all: no invalid key; the refused entries follow, as the quarantine, never as keys.
  const ProcessResult b_all_text = server_b_({"keys", "list", "--all"});
  ASSERT_TRUE(Succeeded(b_all_text));
  const std::size_t quarantine_section = b_all_text.out.find("Quarantined by a restore");
  ASSERT_NE(quarantine_section, std::string::npos) << b_all_text.out;
  const std::string b_all_keys_text = b_all_text.out.substr(0, quarantine_section);
  for (const std::string& name : invalid) {
    EXPECT_FALSE(contains(b_all_keys_text, name)) << b_all_text.out;
    EXPECT_TRUE(contains(b_all_text.out.substr(quarantine_section), ": " + name + " (")) << b_all_text.out;
  }
  EXPECT_FALSE(contains(b_all_keys_text, "invalid")) << b_all_text.out;

  // The CA key: same fingerprint, same certificate (subject, serial, validity), same DER, and the
  // same private key, read back with openssl from what B exports.
  const json b_ca = server_b_.json_of({"keys", "show", "ca", "--json"})["key"];
  EXPECT_EQ(b_ca["fingerprint_sha256"], a_ca["fingerprint_sha256"]);
  EXPECT_EQ(b_ca["certificates"], a_ca["certificates"]);
  EXPECT_EQ(b_ca["certificates"][0]["serial"], a_ca["certificates"][0]["serial"]);
  EXPECT_EQ(b_ca["certificates"][0]["not_after"], a_ca["certificates"][0]["not_after"]);
  const Exported from_b = export_and_read(server_b_, "ca", "b-ca");
  openssl({"x509", "-in", (tmp_ / "ca.pem").string(), "-outform", "DER", "-out", (tmp_ / "ca.der").string()});
  openssl({"pkey", "-in", (tmp_ / "ca.key").string(), "-pubout", "-outform", "DER", "-out",
           (tmp_ / "ca-pub.der").string()});
  EXPECT_EQ(from_b.certificate_der, read_text(tmp_ / "ca.der"))
      << "B's CA certificate is not A's, byte for byte";
  EXPECT_EQ(from_b.public_key_der, read_text(tmp_ / "ca-pub.der")) << "B's CA private key is not A's";

  // Every broken entry is accounted for in B's quarantine, with A's findings, never offered.
  const json quarantine = server_b_.json_of({"keys", "list", "--all", "--quarantined", "--json"});
  EXPECT_EQ(names_of(quarantine["quarantined"]), invalid) << quarantine.dump(2);
  for (const json& q : quarantine["quarantined"]) {
    const std::string name = q.value("name", "");
    EXPECT_EQ(q["status"], "quarantined");
    EXPECT_EQ(q["reusable"], false);
    EXPECT_EQ(q["origin_store_id"], created["manifest"]["store_id"]);
    EXPECT_EQ(finding_codes(q), finding_codes(key_named(a_all["keys"], name))) << q.dump(2);
    for (const json& f : q["findings"]) {
      EXPECT_FALSE(f.value("message", "").empty()) << q.dump(2);
      EXPECT_FALSE(f.value("fix", "").empty()) << q.dump(2);
    }
  }
  EXPECT_TRUE(Succeeded(server_b_({"keys", "verify"})));
  const json verified = server_b_.json_of({"keys", "verify", "--json"});
  EXPECT_EQ(verified["valid"], true);
  EXPECT_EQ(names_of(verified["keys"]), valid);
  EXPECT_TRUE(Succeeded(server_b_({"store", "check"})));

  // Restoring the same backup again: the dry run predicts nothing new and writes nothing...
  const DirSnapshot b_files = snapshot(server_b_.data_dir());
  const json dry_again = restore_json(server_b_, backup, /*dry_run=*/true);
  EXPECT_EQ(snapshot(server_b_.data_dir()), b_files) << "a dry run changed B's store";
  // ...and the restore adds nothing: every valid key is skipped, every broken one already known.
  const json second = restore_json(server_b_, backup, /*dry_run=*/false);
  for (const char* outcome : kOutcomes) {
    EXPECT_EQ(second[outcome], dry_again[outcome]) << "the dry run mispredicted \"" << outcome << "\"";
  }
  EXPECT_EQ(second["added"], json::array()) << second.dump(2);
  EXPECT_EQ(second["quarantined"], json::array()) << second.dump(2);
  EXPECT_EQ(names_in(second, "skipped"), valid);
  for (const json& item : second["skipped"]) EXPECT_EQ(item["target_name"], item["name"]) << item.dump(2);
  EXPECT_EQ(names_in(second, "already_quarantined"), invalid);
  EXPECT_EQ(second["tables"]["issued_certificates"], 0) << "rows already present were added again";
  EXPECT_EQ(server_b_.all_keys(), b_all) << "the second restore changed B's keys";
  EXPECT_EQ(server_b_.json_of({"keys", "list", "--all", "--quarantined", "--json"}), quarantine)
      << "the second restore changed B's quarantine";
  const ProcessResult issued = run_sqlite(server_b_.db(), "SELECT count(*) FROM issued_certificates");
  EXPECT_EQ(issued.out, "3\n") << describe(issued);
  EXPECT_TRUE(Succeeded(server_b_({"keys", "verify"})));
}

TEST_F(IncidentTest, Q235964_DryRunIntoAnExistingStorePredictsTheRestoreExactly) {
  const Signet& server_a = signet_;
  ASSERT_TRUE(init_store(server_a));
  ASSERT_TRUE(generate(server_a, "web", "ec-p256"));
  ASSERT_TRUE(generate(server_a, "mail", "ec-p256"));
  ASSERT_TRUE(generate(server_a, "signing", "ed25519"));
  ASSERT_TRUE(generate(server_a, "orphan", "ec-p256"));
  ASSERT_TRUE(edit_behind_its_back(server_a.db(),
                                   "UPDATE keys SET encrypted_private_key = NULL WHERE name = 'orphan'"));
  const json a_all = server_a.all_keys();

  // Server B already has keys: its own "web" (another key under a taken name), A's "mail" under
  // another name (imported from A's PKCS#12), and one of its own.
  ASSERT_TRUE(init_store(server_b_));
  ASSERT_TRUE(generate(server_b_, "web", "ec-p256"));
  ASSERT_TRUE(generate(server_b_, "b-only", "ec-p384"));
  const fs::path mail_p12 = tmp_ / "mail.p12";
  ASSERT_TRUE(Succeeded(server_a({"keys", "export", "mail", "--out", mail_p12.string(),
                                  "--export-passphrase-file", export_pass_.string()})));
  ASSERT_TRUE(Succeeded(server_b_({"keys", "import", mail_p12.string(), "--name", "mail-from-a",
                                   "--in-passphrase-file", export_pass_.string()})));
  const json b_before = server_b_.all_keys();

  const fs::path backup = tmp_ / "server-a.sgbk";
  (void)create_backup(server_a, backup);

  const DirSnapshot files_before = snapshot(server_b_.data_dir());
  const json dry = restore_json(server_b_, backup, /*dry_run=*/true);
  EXPECT_EQ(snapshot(server_b_.data_dir()), files_before) << "a dry run changed B's store";
  EXPECT_EQ(server_b_.all_keys(), b_before);

  const json real = restore_json(server_b_, backup, /*dry_run=*/false);
  for (const char* outcome : kOutcomes) {
    EXPECT_EQ(real[outcome], dry[outcome]) << "the dry run mispredicted \"" << outcome << "\"\n"
                                           << dry.dump(2) << "\n"
                                           << real.dump(2);
  }

  // What happened, entry by entry.
  EXPECT_EQ(names_in(real, "added"), (Names{"signing", "web"})) << real.dump(2);
  EXPECT_EQ(key_named(real["added"], "web")["target_name"], "web-restored") << real.dump(2);
  EXPECT_TRUE(contains(key_named(real["added"], "web").value("note", ""), "taken")) << real.dump(2);
  EXPECT_EQ(key_named(real["added"], "signing")["target_name"], "signing");
  EXPECT_EQ(names_in(real, "skipped"), Names{"mail"});
  EXPECT_EQ(key_named(real["skipped"], "mail")["target_name"], "mail-from-a") << real.dump(2);
  EXPECT_EQ(names_in(real, "quarantined"), Names{"orphan"});

  const json b_after = server_b_.all_keys();
  EXPECT_EQ(names_of(b_after["keys"]), sorted({"b-only", "mail-from-a", "signing", "web", "web-restored"}))
      << b_after.dump(2);
  EXPECT_EQ(b_after["excluded_count"], 0);
  EXPECT_EQ(identity(key_named(b_after["keys"], "web")), identity(key_named(b_before["keys"], "web")))
      << "B's own \"web\" was touched";
  EXPECT_EQ(key_named(b_after["keys"], "web-restored")["fingerprint_sha256"],
            key_named(a_all["keys"], "web")["fingerprint_sha256"]);
  EXPECT_EQ(key_named(b_after["keys"], "signing")["fingerprint_sha256"],
            key_named(a_all["keys"], "signing")["fingerprint_sha256"]);
  EXPECT_TRUE(Succeeded(server_b_({"keys", "verify"})));
}

// ---- KB Q174781 ------------------------------------------------------------------------------

TEST_F(IncidentTest, Q174781_RequestOrCertificateWithoutItsPrivateKeyIsRefused) {
  // The site's key, its certificate request (.req) and a certificate, made by openssl.
  const fs::path site_key = tmp_ / "site.key";
  const fs::path site_req = tmp_ / "site.req";
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           site_key.string(), "-out", site_req.string(), "-subj", "/CN=www.example.test"});
  const fs::path site_req_der = tmp_ / "site-req.der";
  openssl({"req", "-in", site_req.string(), "-outform", "DER", "-out", site_req_der.string()});
  const fs::path site_crt = tmp_ / "site.crt";
  openssl({"x509", "-req", "-in", site_req.string(), "-signkey", site_key.string(), "-days", "30", "-out",
           site_crt.string()});
  const fs::path site_crt_der = tmp_ / "site-crt.der";
  openssl({"x509", "-in", site_crt.string(), "-outform", "DER", "-out", site_crt_der.string()});
  const fs::path req_and_crt = tmp_ / "site-req-and-crt.pem";
  write_text(req_and_crt, read_text(site_req) + read_text(site_crt));

  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("existing", "ec-p256"));
  const DirSnapshot files_before = snapshot(store_);
  const json keys_before = signet_.all_keys();
  const Signet missing(tmp_ / "never-created", pass_);

  // The message must name the fix: the private key itself, or a full backup.
  auto names_the_fix = [](const ProcessResult& r) -> ::testing::AssertionResult {
    const std::string err = lowercase(r.err);
    if (contains(err, "private key") && contains(err, "signet backup create")) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "the message does not name the private key and `signet backup "
                                            "create`:\n"
                                         << describe(r);
  };

  for (const fs::path& file : {site_req, site_req_der, site_crt, site_crt_der, req_and_crt}) {
    SCOPED_TRACE(file.filename().string());
    const std::string path = file.string();
    const std::string backup_pass = backup_pass_.string();

    // `backup restore site.req`, into the existing store and into a missing one.
    ProcessResult r =
        signet_({"backup", "restore", path, "--backup-passphrase-file", backup_pass}, in_scratch());
    EXPECT_TRUE(FailedWith(r, 1, "private-key-missing"));
    EXPECT_TRUE(names_the_fix(r));
    r = signet_({"backup", "restore", path, "--backup-passphrase-file", backup_pass, "--dry-run"},
                in_scratch());
    EXPECT_TRUE(FailedWith(r, 1, "private-key-missing"));
    r = missing({"backup", "restore", path, "--backup-passphrase-file", backup_pass}, in_scratch());
    EXPECT_TRUE(FailedWith(r, 1, "private-key-missing"));
    EXPECT_FALSE(fs::exists(missing.data_dir())) << "a failed restore created the data directory";
    // Without a backup passphrase (and no terminal): still the real cause, not a passphrase prompt.
    r = signet_({"backup", "restore", path}, in_scratch());
    EXPECT_TRUE(FailedWith(r, 1, "private-key-missing"));
    r = signet_({"backup", "inspect", path}, in_scratch());
    EXPECT_TRUE(FailedWith(r, 1, "private-key-missing"));

    // `keys import site.req`, into the existing store and into a missing one.
    r = signet_({"keys", "import", path, "--name", "site"});
    EXPECT_TRUE(FailedWith(r, 1, "private-key-missing"));
    EXPECT_TRUE(names_the_fix(r));
    r = missing({"keys", "import", path, "--name", "site"});
    EXPECT_TRUE(FailedWith(r, 1, "private-key-missing"));
    EXPECT_FALSE(fs::exists(missing.data_dir()));

    EXPECT_EQ(snapshot(store_), files_before) << "a refused restore or import changed the store";
  }
  EXPECT_EQ(signet_.all_keys(), keys_before);
  EXPECT_TRUE(signet_.json_of({"keys", "list", "--all", "--quarantined", "--json"})["quarantined"].empty());

  // The way back is the complete key: the private key with its request, in a full backup.
  const fs::path key_and_req = tmp_ / "site-key-and-req.pem";
  write_text(key_and_req, read_text(site_key) + read_text(site_req));
  ASSERT_TRUE(Succeeded(signet_({"keys", "import", key_and_req.string(), "--name", "site"})));
  const json site = signet_.json_of({"keys", "show", "site", "--json"})["key"];
  EXPECT_EQ(site["requests"], 1);
  EXPECT_EQ(site["fingerprint_sha256"], openssl_fingerprint(site_key, tmp_.path()));

  const fs::path backup = tmp_ / "full.sgbk";
  (void)create_backup(signet_, backup);  // with the impersonation warning the KB article asks for
  const json restored = restore_json(server_b_, backup, /*dry_run=*/false);
  EXPECT_EQ(names_in(restored, "added"), (Names{"existing", "site"})) << restored.dump(2);
  const json on_b = server_b_.json_of({"keys", "show", "site", "--json"})["key"];
  EXPECT_EQ(identity(on_b), identity(site));
  EXPECT_EQ(on_b["status"], "valid");
  EXPECT_TRUE(Succeeded(server_b_({"keys", "verify"})));
}

}  // namespace
}  // namespace signet::test::cli
