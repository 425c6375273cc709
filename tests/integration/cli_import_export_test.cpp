// `signet keys import` and `keys export` through the real binary, with inputs made by the real
// openssl CLI and outputs read back by it: PKCS#12 and PKCS#8 in, PKCS#12 out, and every file that
// is not a usable key refused with a stable code, leaving the store byte for byte unchanged. The
// Q174781 case (a certificate request or certificate without its private key) says what is needed.
#include <gtest/gtest.h>

#include "cli_harness.h"

namespace signet::test::cli {
namespace {

constexpr std::string_view kOpensslConfig = R"([req]
distinguished_name = dn
[dn]
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ca_without_key_usage]
basicConstraints = critical,CA:TRUE
)";

// Key files, requests and certificates made with openssl in this test's directory.
class CliImportTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_text(config_, kOpensslConfig);
    p12_pass_ = passphrase_file("p12.pass", "pkcs12 passphrase 42");
  }

  // Runs openssl; a test failure when it fails.
  static ::testing::AssertionResult ossl(const std::vector<std::string>& args) {
    return Succeeded(run_openssl(args));
  }

  // A new private key (PKCS#8 PEM): "ec-p256", "ec-p384", "rsa-2048", "ed25519", "ed448".
  fs::path make_key(const std::string& file_name, const std::string& algorithm) {
    const fs::path path = tmp_ / file_name;
    std::vector<std::string> args = {"genpkey", "-out", path.string()};
    if (algorithm == "ec-p256" || algorithm == "ec-p384") {
      args.insert(args.end(),
                  {"-algorithm", "EC", "-pkeyopt",
                   algorithm == "ec-p256" ? "ec_paramgen_curve:P-256" : "ec_paramgen_curve:P-384"});
    } else if (algorithm == "rsa-2048") {
      args.insert(args.end(), {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"});
    } else {
      args.insert(args.end(), {"-algorithm", algorithm});
    }
    EXPECT_TRUE(ossl(args));
    return path;
  }

  // A self-signed certificate for `key` with the extensions of `section` in kOpensslConfig.
  fs::path self_signed(const std::string& file_name, const fs::path& key, const std::string& cn,
                       const std::string& section) {
    const fs::path path = tmp_ / file_name;
    EXPECT_TRUE(ossl({"req", "-x509", "-new", "-key", key.string(), "-subj", "/CN=" + cn, "-days", "30",
                      "-config", config_.string(), "-extensions", section, "-out", path.string()}));
    return path;
  }

  // A certificate for `key` issued by `ca_cert`/`ca_key`.
  fs::path issued(const std::string& file_name, const fs::path& key, const std::string& cn,
                  const fs::path& ca_cert, const fs::path& ca_key) {
    const fs::path csr = request(file_name + ".csr", key, cn);
    const fs::path path = tmp_ / file_name;
    EXPECT_TRUE(ossl({"x509", "-req", "-in", csr.string(), "-CA", ca_cert.string(), "-CAkey", ca_key.string(),
                      "-set_serial", "4242", "-days", "30", "-extfile", config_.string(), "-extensions",
                      "leaf", "-out", path.string()}));
    return path;
  }

  fs::path request(const std::string& file_name, const fs::path& key, const std::string& cn) {
    const fs::path path = tmp_ / file_name;
    EXPECT_TRUE(ossl({"req", "-new", "-key", key.string(), "-subj", "/CN=" + cn, "-config", config_.string(),
                      "-out", path.string()}));
    return path;
  }

  // openssl pkcs12 -export, protected by p12_pass_.
  fs::path pkcs12(const std::string& file_name, const std::vector<std::string>& inputs) {
    const fs::path path = tmp_ / file_name;
    std::vector<std::string> args = {"pkcs12", "-export",    "-passout", "file:" + p12_pass_.string(),
                                     "-out",   path.string()};
    args.insert(args.end(), inputs.begin(), inputs.end());
    EXPECT_TRUE(ossl(args));
    return path;
  }

  // The SHA-256 of the DER SubjectPublicKeyInfo of a key file, as openssl computes it: what
  // Signet's fingerprint_sha256 must be.
  std::string spki_sha256(const fs::path& key_file, const std::vector<std::string>& extra = {}) {
    const fs::path der = tmp_ / (key_file.filename().string() + ".spki.der");
    std::vector<std::string> args = {"pkey", "-in",  key_file.string(), "-pubout", "-outform",
                                     "DER",  "-out", der.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_TRUE(ossl(args));
    const ProcessResult digest = run_openssl({"dgst", "-sha256", "-r", der.string()});
    EXPECT_TRUE(Succeeded(digest));
    return digest.out.substr(0, 64);
  }

  fs::path concat(const std::string& file_name, const std::vector<fs::path>& parts) {
    std::string all;
    for (const fs::path& p : parts) all += read_text(p);
    const fs::path path = tmp_ / file_name;
    write_text(path, all);
    return path;
  }

  ProcessResult import(const fs::path& file, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"keys", "import", file.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return signet_(args);
  }

  // The store must be exactly as it was: same files, same bytes, same listing.
  struct StoreState {
    DirSnapshot files;
    json keys;
  };
  StoreState state() { return {snapshot(store_), signet_.all_keys()}; }
  void expect_unchanged(const StoreState& before, const std::string& what) {
    EXPECT_EQ(snapshot(store_), before.files) << what << " changed the store files";
    EXPECT_EQ(signet_.all_keys(), before.keys) << what << " changed the listing";
  }

  fs::path config_ = tmp_ / "openssl.cnf";
  fs::path p12_pass_;
};

// ---- Q174781: a request or certificate is not a key --------------------------------------------

TEST_F(CliImportTest, RequestsAndCertificatesWithoutTheirKeyAreRefusedWithTheWayOut) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("existing", "ec-p256"));
  const StoreState before = state();

  const fs::path key = make_key("site.key", "ec-p256");
  const fs::path csr_pem = request("site.csr", key, "www.example.test");
  const fs::path csr_der = tmp_ / "site-req.der";
  ASSERT_TRUE(ossl({"req", "-in", csr_pem.string(), "-outform", "DER", "-out", csr_der.string()}));
  const fs::path cert_pem = self_signed("site-cert.pem", key, "www.example.test", "leaf");
  const fs::path cert_der = tmp_ / "site-cert.der";
  ASSERT_TRUE(ossl({"x509", "-in", cert_pem.string(), "-outform", "DER", "-out", cert_der.string()}));
  const fs::path request_and_cert = concat("request-and-cert.pem", {csr_pem, cert_pem});
  const fs::path certs_only_p12 = pkcs12("certs-only.p12", {"-nokeys", "-in", cert_pem.string()});
  const fs::path public_key = tmp_ / "site-pub.pem";
  ASSERT_TRUE(ossl({"pkey", "-in", key.string(), "-pubout", "-out", public_key.string()}));

  for (const fs::path& file :
       {csr_pem, csr_der, cert_pem, cert_der, request_and_cert, certs_only_p12, public_key}) {
    SCOPED_TRACE(file.filename().string());
    const ProcessResult r = import(file, {"--in-passphrase-file", p12_pass_.string()});
    EXPECT_TRUE(FailedWith(r, 1, "private-key-missing"));
    EXPECT_TRUE(contains(r.err, "signet backup create")) << r.err;
    EXPECT_TRUE(contains(r.err, file.filename().string())) << "names the file: " << r.err;
    expect_unchanged(before, file.filename().string());
  }

  // The file is judged before the store is unlocked: the operator hears about the real problem.
  const Signet wrong(store_, passphrase_file("wrong.pass", "not the store passphrase"));
  EXPECT_TRUE(FailedWith(wrong({"keys", "import", csr_pem.string()}), 1, "private-key-missing"));
  expect_unchanged(before, "import with a wrong store passphrase");
}

// ---- importing keys ---------------------------------------------------------------------------

TEST_F(CliImportTest, Pkcs12WithItsCertificate) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("existing", "ec-p256"));
  const fs::path key = make_key("web.key", "ec-p256");
  const fs::path cert = self_signed("web.pem", key, "www.example.test", "leaf");
  const fs::path p12 = pkcs12("web.p12", {"-inkey", key.string(), "-in", cert.string()});
  const StoreState before = state();

  // Wrong passphrase, or none and no terminal: refused, nothing written.
  const fs::path wrong = passphrase_file("wrong.pass", "not the pkcs12 passphrase");
  const ProcessResult bad = import(p12, {"--in-passphrase-file", wrong.string()});
  EXPECT_TRUE(FailedWith(bad, 1, "wrong-import-passphrase"));
  expect_unchanged(before, "a wrong PKCS#12 passphrase");
  const ProcessResult none = import(p12);
  EXPECT_TRUE(FailedWith(none, 1, "passphrase-required"));
  EXPECT_TRUE(contains(none.err, "--in-passphrase-file")) << none.err;
  expect_unchanged(before, "a PKCS#12 without passphrase");

  // The right one: imported under the file's name, with its certificate.
  const ProcessResult ok =
      import(p12, {"--in-passphrase-file", p12_pass_.string(), "--comment", "from openssl"});
  ASSERT_TRUE(Succeeded(ok));
  EXPECT_TRUE(contains(ok.out, "Imported key \"web\"")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "1 certificate(s)")) << ok.out;
  const json keys = signet_.json_of({"keys", "list", "--json"});
  EXPECT_EQ(keys["excluded_count"], 0);
  const json web = key_named(keys["keys"], "web");
  ASSERT_TRUE(web.is_object()) << keys.dump(2);
  EXPECT_EQ(web["algorithm"], "ec-p256");
  EXPECT_EQ(web["source"], "imported");
  EXPECT_EQ(web["comment"], "from openssl");
  EXPECT_EQ(web["status"], "valid");
  EXPECT_EQ(web["fingerprint_sha256"], spki_sha256(key)) << "the fingerprint is SHA-256(SPKI DER)";
  ASSERT_EQ(web["certificates"].size(), 1u) << web.dump(2);
  const json& c = web["certificates"][0];
  EXPECT_EQ(c["role"], "leaf");
  EXPECT_EQ(c["subject"], "CN=www.example.test");
  EXPECT_EQ(c["issuer"], "CN=www.example.test");
  EXPECT_FALSE(c.value("serial", "").empty());
  EXPECT_FALSE(c.value("not_after", "").empty());
  const ProcessResult listed = signet_({"keys", "list"});
  EXPECT_TRUE(contains(listed.out, "CN=www.example.test (until ")) << listed.out;

  // The same key again, under another name: key-exists. Another key under this name: name-taken.
  const StoreState with_web = state();
  const ProcessResult twice =
      import(p12, {"--in-passphrase-file", p12_pass_.string(), "--name", "web-again"});
  EXPECT_TRUE(FailedWith(twice, 1, "key-exists"));
  EXPECT_TRUE(contains(twice.err, "\"web\"")) << "names the entry that holds it: " << twice.err;
  const fs::path other = make_key("web-other.key", "ec-p256");
  EXPECT_TRUE(FailedWith(import(other, {"--name", "web"}), 1, "name-taken"));
  expect_unchanged(with_web, "a duplicate import");
}

TEST_F(CliImportTest, CaCertificatesAndChainsGetTheirRoles) {
  ASSERT_TRUE(init_store());
  // A CA key with its CA certificate, as one PEM bundle.
  const fs::path ca_key = make_key("ca.key", "ec-p384");
  const fs::path ca_cert = self_signed("ca.pem", ca_key, "Example Root CA", "ca");
  ASSERT_TRUE(Succeeded(import(concat("ca-bundle.pem", {ca_key, ca_cert}), {"--name", "root-ca"})));
  // A leaf key, its certificate issued by that CA, and the CA certificate as its chain (PKCS#12).
  const fs::path leaf_key = make_key("leaf.key", "rsa-2048");
  const fs::path leaf_cert = issued("leaf.pem", leaf_key, "leaf.example.test", ca_cert, ca_key);
  const fs::path p12 = pkcs12(
      "leaf.p12", {"-inkey", leaf_key.string(), "-in", leaf_cert.string(), "-certfile", ca_cert.string()});
  ASSERT_TRUE(Succeeded(import(p12, {"--in-passphrase-file", p12_pass_.string()})));

  const json keys = signet_.json_of({"keys", "list", "--json"});
  EXPECT_EQ(keys["excluded_count"], 0);
  const json root = key_named(keys["keys"], "root-ca");
  ASSERT_TRUE(root.is_object()) << keys.dump(2);
  EXPECT_EQ(root["algorithm"], "ec-p384");
  ASSERT_EQ(root["certificates"].size(), 1u);
  EXPECT_EQ(root["certificates"][0]["role"], "ca");
  EXPECT_EQ(root["certificates"][0]["subject"], "CN=Example Root CA");

  const json leaf = key_named(keys["keys"], "leaf");
  ASSERT_TRUE(leaf.is_object()) << keys.dump(2);
  EXPECT_EQ(leaf["algorithm"], "rsa-2048");
  EXPECT_EQ(leaf["fingerprint_sha256"], spki_sha256(leaf_key));
  ASSERT_EQ(leaf["certificates"].size(), 2u) << leaf.dump(2);
  EXPECT_EQ(leaf["certificates"][0]["role"], "leaf");
  EXPECT_EQ(leaf["certificates"][0]["subject"], "CN=leaf.example.test");
  EXPECT_EQ(leaf["certificates"][0]["issuer"], "CN=Example Root CA");
  EXPECT_EQ(leaf["certificates"][1]["role"], "chain");
  EXPECT_EQ(leaf["certificates"][1]["subject"], "CN=Example Root CA");
}

TEST_F(CliImportTest, Pkcs8AndTraditionalKeyFiles) {
  ASSERT_TRUE(init_store());
  // Encrypted PKCS#8 PEM (PBES2, AES-256): named after the file.
  const fs::path plain = make_key("plain-ed.key", "ed25519");
  const fs::path encrypted = tmp_ / "signing-key.pem";
  ASSERT_TRUE(ossl({"pkcs8", "-topk8", "-in", plain.string(), "-v2", "aes-256-cbc", "-passout",
                    "file:" + p12_pass_.string(), "-out", encrypted.string()}));
  ASSERT_TRUE(contains(read_text(encrypted), "BEGIN ENCRYPTED PRIVATE KEY"));
  const StoreState empty = state();
  const fs::path wrong = passphrase_file("wrong.pass", "not the key passphrase");
  EXPECT_TRUE(
      FailedWith(import(encrypted, {"--in-passphrase-file", wrong.string()}), 1, "wrong-import-passphrase"));
  expect_unchanged(empty, "a wrong PKCS#8 passphrase");
  ASSERT_TRUE(Succeeded(import(encrypted, {"--in-passphrase-file", p12_pass_.string()})));

  // Unencrypted PKCS#8 DER, and a traditional ("BEGIN EC PRIVATE KEY") PEM.
  const fs::path rsa = make_key("rsa.key", "rsa-2048");
  const fs::path rsa_der = tmp_ / "rsa-key.der";
  ASSERT_TRUE(ossl(
      {"pkcs8", "-topk8", "-nocrypt", "-in", rsa.string(), "-outform", "DER", "-out", rsa_der.string()}));
  ASSERT_TRUE(Succeeded(import(rsa_der)));
  const fs::path ec = make_key("ec.key", "ec-p384");
  const fs::path ec_traditional = tmp_ / "ec-traditional.pem";
  ASSERT_TRUE(ossl({"pkey", "-in", ec.string(), "-traditional", "-out", ec_traditional.string()}));
  ASSERT_TRUE(contains(read_text(ec_traditional), "BEGIN EC PRIVATE KEY"));
  ASSERT_TRUE(Succeeded(import(ec_traditional, {"--name", "ec-trad"})));

  const json keys = signet_.json_of({"keys", "list", "--json"});
  EXPECT_EQ(keys["excluded_count"], 0);
  const std::map<std::string, std::pair<std::string, fs::path>> expected = {
      {"signing-key", {"ed25519", plain}}, {"rsa-key", {"rsa-2048", rsa}}, {"ec-trad", {"ec-p384", ec}}};
  EXPECT_EQ(keys["keys"].size(), expected.size()) << keys.dump(2);
  for (const auto& [name, alg_and_key] : expected) {
    const json k = key_named(keys["keys"], name);
    ASSERT_TRUE(k.is_object()) << name << " in " << keys.dump(2);
    EXPECT_EQ(k["algorithm"], alg_and_key.first) << name;
    EXPECT_EQ(k["fingerprint_sha256"], spki_sha256(alg_and_key.second)) << name;
    EXPECT_EQ(k["source"], "imported") << name;
  }
}

TEST_F(CliImportTest, FilesThatAreNoUsableKeyAreRefusedAndChangeNothing) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("existing", "ed25519"));
  const StoreState before = state();

  // A key with somebody else's certificate.
  const fs::path key = make_key("mine.key", "ec-p256");
  const fs::path theirs = make_key("theirs.key", "ec-p256");
  const fs::path their_cert = self_signed("theirs.pem", theirs, "someone.example.test", "leaf");
  const ProcessResult mismatch = import(concat("mismatch.pem", {key, their_cert}));
  EXPECT_TRUE(FailedWith(mismatch, 1, "certificate-key-mismatch"));
  expect_unchanged(before, "a key with a foreign certificate");

  // A "CA" certificate without keyCertSign (what a bare `openssl req -x509` gives).
  const fs::path weak_ca = self_signed("weak-ca.pem", key, "Weak CA", "ca_without_key_usage");
  EXPECT_TRUE(FailedWith(import(concat("weak-ca-bundle.pem", {key, weak_ca})), 1, "ca-certificate-not-ca"));
  expect_unchanged(before, "a CA certificate without keyCertSign");

  // Garbage, an empty file, a missing file, an oversized file.
  std::string garbage;
  for (int i = 0; i < 3000; ++i) garbage.push_back(static_cast<char>((i * 31 + 7) % 256));
  const fs::path garbage_file = tmp_ / "garbage.bin";
  write_text(garbage_file, garbage);
  EXPECT_TRUE(FailedWith(import(garbage_file), 1, "not-a-key-file"));
  const fs::path text_file = tmp_ / "notes.txt";
  write_text(text_file, "this is not a key\n");
  EXPECT_TRUE(FailedWith(import(text_file), 1, "not-a-key-file"));
  const fs::path empty_file = tmp_ / "empty.pem";
  write_text(empty_file, "");
  EXPECT_TRUE(FailedWith(import(empty_file), 1, "empty-file"));
  const ProcessResult missing = import(tmp_ / "no-such-file.p12");
  EXPECT_EQ(missing.exit_code, 1) << describe(missing);
  EXPECT_TRUE(contains(missing.err, "no-such-file.p12")) << missing.err;
  const fs::path huge = tmp_ / "huge.pem";
  write_text(huge, std::string(2u << 20, 'A'));
  EXPECT_TRUE(FailedWith(import(huge), 1, "file-too-large"));

  // A key type Signet does not store.
  const fs::path ed448 = make_key("ed448.key", "ed448");
  EXPECT_TRUE(FailedWith(import(ed448), 1, "algorithm-unsupported"));

  // A PKCS#12 with OpenSSL 3's disabled legacy ciphers (RC2-40, as old Windows exports): the right
  // passphrase must not be called wrong; the message says how to convert the file.
  const fs::path legacy = pkcs12("legacy.p12", {"-legacy", "-inkey", key.string(), "-in",
                                                self_signed("mine.pem", key, "mine", "leaf").string()});
  const ProcessResult legacy_right = import(legacy, {"--in-passphrase-file", p12_pass_.string()});
  EXPECT_TRUE(FailedWith(legacy_right, 1, "pkcs12-unsupported"));
  EXPECT_TRUE(contains(legacy_right.err, "-legacy")) << legacy_right.err;
  const fs::path wrong = passphrase_file("wrong.pass", "not the pkcs12 passphrase");
  EXPECT_TRUE(
      FailedWith(import(legacy, {"--in-passphrase-file", wrong.string()}), 1, "wrong-import-passphrase"));

  expect_unchanged(before, "the refused files");
}

// ---- exporting keys ---------------------------------------------------------------------------

TEST_F(CliImportTest, ExportIsReadableByOpensslAndRoundTrips) {
  ASSERT_TRUE(init_store());
  const fs::path key = make_key("web.key", "ec-p256");
  const fs::path cert = self_signed("web.pem", key, "www.example.test", "leaf");
  ASSERT_TRUE(Succeeded(import(concat("web-bundle.pem", {key, cert}), {"--name", "web"})));
  ASSERT_TRUE(generate("gen", "ed25519"));
  const json keys = signet_.json_of({"keys", "list", "--json"});
  const json web = key_named(keys["keys"], "web");
  const json gen = key_named(keys["keys"], "gen");
  ASSERT_TRUE(web.is_object() && gen.is_object()) << keys.dump(2);
  const fs::path export_pass = passphrase_file("export.pass", "export passphrase 1234");

  const fs::path out = tmp_ / "web.p12";
  const ProcessResult exported = signet_(
      {"keys", "export", "web", "--out", out.string(), "--export-passphrase-file", export_pass.string()});
  ASSERT_TRUE(Succeeded(exported));
  EXPECT_TRUE(contains(exported.out, "Exported key \"web\" with 1 certificate(s)")) << exported.out;
  EXPECT_TRUE(contains(exported.err, "impersonate")) << "the operator is warned: " << exported.err;
  EXPECT_EQ(file_mode(out), 0600u);

  // openssl reads it without -legacy, with the export passphrase and only with it.
  const fs::path dump = tmp_ / "web-dump.pem";
  ASSERT_TRUE(ossl({"pkcs12", "-in", out.string(), "-passin", "file:" + export_pass.string(), "-nodes",
                    "-out", dump.string()}));
  const std::string dumped = read_text(dump);
  EXPECT_TRUE(contains(dumped, "BEGIN PRIVATE KEY")) << dumped;
  EXPECT_TRUE(contains(dumped, "BEGIN CERTIFICATE")) << dumped;
  EXPECT_EQ(spki_sha256(dump), web["fingerprint_sha256"]) << "the exported key is the stored key";
  const ProcessResult info = run_openssl(
      {"pkcs12", "-in", out.string(), "-passin", "file:" + export_pass.string(), "-info", "-noout"});
  ASSERT_TRUE(Succeeded(info));
  EXPECT_TRUE(contains(info.out + info.err, "AES-256-CBC")) << describe(info);
  EXPECT_FALSE(contains(info.out + info.err, "RC2")) << describe(info);
  EXPECT_NE(run_openssl({"pkcs12", "-in", out.string(), "-passin", "file:" + p12_pass_.string(), "-nodes",
                         "-out", (tmp_ / "should-fail.pem").string()})
                .exit_code,
            0)
      << "another passphrase must not open it";

  // Into a second store: the same key (fingerprint) with the same certificate.
  const Signet second(tmp_ / "second-store", pass_);
  ASSERT_TRUE(init_store(second));
  ASSERT_TRUE(
      Succeeded(second({"keys", "import", out.string(), "--in-passphrase-file", export_pass.string()})));
  const fs::path gen_out = tmp_ / "gen.p12";
  ASSERT_TRUE(Succeeded(signet_({"keys", "export", "gen", "--out", gen_out.string(),
                                 "--export-passphrase-file", export_pass.string()})));
  ASSERT_TRUE(
      Succeeded(second({"keys", "import", gen_out.string(), "--in-passphrase-file", export_pass.string()})));
  const json second_keys = second.json_of({"keys", "list", "--json"});
  EXPECT_EQ(second_keys["excluded_count"], 0);
  const json web2 = key_named(second_keys["keys"], "web");
  const json gen2 = key_named(second_keys["keys"], "gen");
  ASSERT_TRUE(web2.is_object() && gen2.is_object()) << second_keys.dump(2);
  EXPECT_EQ(web2["fingerprint_sha256"], web["fingerprint_sha256"]);
  EXPECT_EQ(web2["certificates"], web["certificates"]);
  EXPECT_EQ(gen2["fingerprint_sha256"], gen["fingerprint_sha256"]);
  EXPECT_EQ(gen2["algorithm"], "ed25519");
}

TEST_F(CliImportTest, ExportNeverOverwritesAndNeedsAPassphrase) {
  ASSERT_TRUE(init_store());
  ASSERT_TRUE(generate("k", "ec-p256"));
  const fs::path export_pass = passphrase_file("export.pass", "export passphrase 1234");
  const StoreState before = state();

  const fs::path existing = tmp_ / "existing.p12";
  write_text(existing, "precious, not to be overwritten");
  std::vector<std::string> files_before = file_names(tmp_.path());
  const ProcessResult clash = signet_(
      {"keys", "export", "k", "--out", existing.string(), "--export-passphrase-file", export_pass.string()});
  EXPECT_TRUE(FailedWith(clash, 1, "file-exists"));
  EXPECT_EQ(read_text(existing), "precious, not to be overwritten");
  EXPECT_EQ(file_names(tmp_.path()), files_before) << "no temporary file left behind";

  const fs::path out = tmp_ / "k.p12";
  const fs::path short_pass = passphrase_file("short.pass", "short");
  files_before = file_names(tmp_.path());
  EXPECT_TRUE(FailedWith(signet_({"keys", "export", "k", "--out", out.string(), "--export-passphrase-file",
                                  short_pass.string()}),
                         1, "passphrase-too-short"));
  EXPECT_TRUE(FailedWith(signet_({"keys", "export", "k", "--out", out.string()}), 1, "passphrase-required"));
  EXPECT_TRUE(FailedWith(signet_({"keys", "export", "nope", "--out", out.string(), "--export-passphrase-file",
                                  export_pass.string()}),
                         1, "key-not-found"));
  EXPECT_EQ(file_names(tmp_.path()), files_before);
  expect_unchanged(before, "the refused exports");
}

}  // namespace
}  // namespace signet::test::cli
