#include "signet/keystore/key_file.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/crypto/key.h"
#include "signet/keystore/store.h"
#include "support/error_assert.h"
#include "support/openssl_cli.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace signet::keystore {
namespace {

namespace fs = std::filesystem;
using test::capture_error;
using test::openssl;

constexpr std::string_view kImportPass = "import passphrase 123";
constexpr std::string_view kWrongPass = "not the import passphrase";

// Inputs made once per process with the real openssl CLI, each file named for what it holds or
// what is wrong with it.
struct Fixtures {
  test::TempDir tmp;
  fs::path pass_file, wrong_pass_file, empty_pass_file;
  test::OpensslChain chain;
  std::string p(const std::string& name) const { return (tmp / name).string(); }

  Fixtures() {
    pass_file = p("import.pass");
    wrong_pass_file = p("wrong.pass");
    empty_pass_file = p("empty.pass");
    test::write_text(pass_file, std::string(kImportPass) + "\n");
    test::write_text(wrong_pass_file, std::string(kWrongPass) + "\n");
    test::write_text(empty_pass_file, "\n");
    chain = test::make_openssl_chain(tmp.path());
    const std::string key = chain.leaf_key.string();
    const std::string pass = "file:" + pass_file.string();

    // PKCS#8, PEM and DER, plain and encrypted (PBES2, AES-256-CBC).
    fs::copy_file(chain.leaf_key, p("pkcs8.pem"));
    openssl({"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", key, "-passout", pass, "-out",
             p("pkcs8_encrypted.pem")});
    openssl({"pkcs8", "-topk8", "-nocrypt", "-in", key, "-outform", "DER", "-out", p("pkcs8.der")});
    openssl({"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", key, "-passout", pass, "-outform",
             "DER", "-out", p("pkcs8_encrypted.der")});
    // Traditional ("EC PRIVATE KEY", "RSA PRIVATE KEY"), plain and with Proc-Type encryption.
    openssl({"pkey", "-in", key, "-traditional", "-out", p("ec_traditional.pem")});
    openssl({"pkey", "-in", key, "-traditional", "-aes256", "-passout", pass, "-out",
             p("ec_traditional_encrypted.pem")});
    openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p("rsa.pem")});
    openssl({"pkey", "-in", p("rsa.pem"), "-traditional", "-out", p("rsa_traditional.pem")});
    openssl({"ecparam", "-name", "prime256v1", "-genkey", "-out", p("ecparam_genkey.pem")});
    // Things that are not a private key.
    openssl({"req", "-new", "-key", key, "-subj", "/CN=leaf.example", "-out", p("csr_only.pem")});
    openssl({"req", "-in", p("csr_only.pem"), "-outform", "DER", "-out", p("csr_only.der")});
    fs::copy_file(chain.leaf_cert, p("cert_only.pem"));
    openssl({"x509", "-in", chain.leaf_cert.string(), "-outform", "DER", "-out", p("cert_only.der")});
    openssl({"pkey", "-in", key, "-pubout", "-out", p("public_key_only.pem")});
    openssl({"pkey", "-in", key, "-pubout", "-outform", "DER", "-out", p("public_key_only.der")});
    // An unrelated self-signed certificate, for mismatches.
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p("other.key")});
    openssl({"req", "-new", "-x509", "-key", p("other.key"), "-subj", "/CN=Somebody Else", "-days",
             "30", "-out", p("other.pem")});
    // Bundles.
    cat("key_and_cert.pem", {chain.leaf_key, chain.leaf_cert});
    cat("key_cert_chain_shuffled.pem",
        {chain.root_cert, chain.leaf_key, chain.intermediate_cert, chain.leaf_cert});
    cat("key_and_wrong_cert.pem", {chain.leaf_key, p("other.pem")});
    cat("key_cert_and_unrelated_cert.pem", {chain.leaf_key, chain.leaf_cert, p("other.pem")});
    cat("two_keys.pem", {chain.leaf_key, p("rsa.pem")});
    cat("chain.pem", {chain.intermediate_cert, chain.root_cert});
    // PKCS#12.
    const std::string leaf_cert = chain.leaf_cert.string();
    openssl({"pkcs12", "-export", "-inkey", key, "-in", leaf_cert, "-certfile", p("chain.pem"),
             "-name", "leaf", "-passout", pass, "-out", p("pkcs12_with_chain.p12")});
    openssl({"pkcs12", "-export", "-inkey", key, "-in", leaf_cert, "-passout",
             "file:" + empty_pass_file.string(), "-out", p("pkcs12_no_passphrase.p12")});
    openssl({"pkcs12", "-export", "-legacy", "-inkey", key, "-in", leaf_cert, "-passout", pass,
             "-out", p("pkcs12_legacy_rc2.p12")});
    openssl({"pkcs12", "-export", "-nokeys", "-in", leaf_cert, "-passout", pass, "-out",
             p("pkcs12_cert_only.p12")});
    // Broken files.
    std::string garbage(3000, '\0');
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 37 + 11) % 253);
    test::write_text(p("garbage.bin"), garbage);
    test::write_text(p("empty.bin"), "");
    std::string cert_pem = test::read_text(chain.leaf_cert);
    test::write_text(p("missing_end_line.pem"), cert_pem.substr(0, cert_pem.find("-----END")));
    test::write_text(p("crl_block.pem"), "-----BEGIN X509 CRL-----\nMAMCAQA=\n-----END X509 CRL-----\n");
    test::write_text(p("private_key_block_with_garbage.pem"),
                     "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n");
  }

  void cat(const std::string& name, const std::vector<fs::path>& parts) const {
    std::string out;
    for (const auto& part : parts) out += test::read_text(part);
    test::write_text(p(name), out);
  }
};

const Fixtures& fx() {
  static const auto* fixtures = new Fixtures();  // built once, left for the OS to reclaim
  return *fixtures;
}

Bytes contents(const std::string& name) { return file::read(fx().p(name)); }

// A passphrase source that counts how often it is asked.
struct CountingSource {
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  std::string value;
  explicit CountingSource(std::string_view v) : value(v) {}
  PassphraseSource source() const {
    return [calls = calls, value = value] {
      ++*calls;
      return Passphrase(as_bytes(value));
    };
  }
};

PassphraseSource right() { return CountingSource(kImportPass).source(); }

// A source that fails the test when it is asked: for files that are not encrypted.
PassphraseSource never() {
  return []() -> Passphrase {
    ADD_FAILURE() << "the passphrase was asked for a file that is not encrypted";
    return Passphrase(as_bytes(kImportPass));
  };
}

KeyMaterial parse(const std::string& name, const PassphraseSource& pass) {
  return parse_key_file(contents(name), name, pass);
}

Error parse_error(const std::string& name, const PassphraseSource& pass) {
  return capture_error([&] { (void)parse(name, pass); });
}

ossl::Pkey load_pem_key(const fs::path& path) {
  ossl::Bio bio{BIO_new_file(path.c_str(), "r")};
  return ossl::Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

crypto::Certificate load_pem_cert(const fs::path& path) {
  ossl::Bio bio{BIO_new_file(path.c_str(), "r")};
  ossl::X509Ptr x{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  return crypto::Certificate::from_x509(x.get());
}

void expect_leaf_key(const KeyMaterial& m, const std::string& what) {
  static const ossl::Pkey leaf = load_pem_key(fx().chain.leaf_key);
  ASSERT_TRUE(m.key) << what;
  EXPECT_TRUE(crypto::same_public_key(m.key.get(), leaf.get())) << what;
  EXPECT_TRUE(crypto::pairwise_consistent(m.key.get(), leaf.get())) << what;
}

// ---- private keys in every supported form ------------------------------------------------------

TEST(ParseKeyFile, UnencryptedFormsNeverAskForAPassphrase) {
  const std::pair<const char*, const char*> cases[] = {
      {"pkcs8.pem", "pkcs8-pem"},
      {"pkcs8.der", "pkcs8-der"},
      {"ec_traditional.pem", "traditional-pem"},
      {"pkcs12_no_passphrase.p12", "pkcs12"},
  };
  for (const auto& [file, format] : cases) {
    const KeyMaterial m = parse(file, never());
    expect_leaf_key(m, file);
    EXPECT_EQ(m.format, format) << file;
  }
}

TEST(ParseKeyFile, EncryptedFormsAskOnceAndDecrypt) {
  const std::pair<const char*, const char*> cases[] = {
      {"pkcs8_encrypted.pem", "encrypted-pkcs8-pem"},
      {"pkcs8_encrypted.der", "encrypted-pkcs8-der"},
      {"ec_traditional_encrypted.pem", "encrypted-traditional-pem"},
      {"pkcs12_with_chain.p12", "pkcs12"},
  };
  for (const auto& [file, format] : cases) {
    CountingSource src(kImportPass);
    const KeyMaterial m = parse(file, src.source());
    expect_leaf_key(m, file);
    EXPECT_EQ(m.format, format) << file;
    EXPECT_EQ(*src.calls, 1) << file;
  }
}

TEST(ParseKeyFile, TraditionalRsaKey) {
  const KeyMaterial m = parse("rsa_traditional.pem", never());
  ASSERT_TRUE(m.key);
  EXPECT_EQ(crypto::algorithm_of(m.key.get()), crypto::KeyAlgorithm::Rsa2048);
  EXPECT_EQ(m.format, "traditional-pem");
  EXPECT_TRUE(test::read_text(fx().p("rsa_traditional.pem")).starts_with("-----BEGIN RSA PRIVATE KEY-----"));
}

TEST(ParseKeyFile, KeyFromOpensslEcparamGenkeyWithItsParametersBlock) {
  // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key: a common way to make
  // an EC key that must import.
  ASSERT_TRUE(test::read_text(fx().p("ecparam_genkey.pem")).starts_with("-----BEGIN EC PARAMETERS-----"));
  const KeyMaterial m = parse("ecparam_genkey.pem", never());
  ASSERT_TRUE(m.key);
  EXPECT_EQ(crypto::algorithm_of(m.key.get()), crypto::KeyAlgorithm::EcP256);
}

TEST(ParseKeyFile, PemKeyWithItsCertificate) {
  const KeyMaterial m = parse("key_and_cert.pem", never());
  expect_leaf_key(m, "key_and_cert.pem");
  ASSERT_EQ(m.certificates.size(), 1u);
  EXPECT_EQ(m.certificates[0].subject(), "CN=leaf.example");
  EXPECT_TRUE(m.requests.empty());
}

TEST(ParseKeyFile, WindowsLineEndingsAreFine) {
  std::string crlf;
  for (const char c : test::read_text(fx().p("key_and_cert.pem"))) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  const KeyMaterial m = parse_key_file(as_bytes(crlf), "key_and_cert_crlf.pem", never());
  expect_leaf_key(m, "key_and_cert_crlf.pem");
  EXPECT_EQ(m.certificates.size(), 1u);
}

TEST(ParseKeyFile, Pkcs12CarriesTheChain) {
  const KeyMaterial m = parse("pkcs12_with_chain.p12", right());
  expect_leaf_key(m, "pkcs12_with_chain.p12");
  ASSERT_EQ(m.certificates.size(), 3u);
  EXPECT_EQ(m.certificates[0].subject(), "CN=leaf.example") << "the key's own certificate first";
  std::vector<std::string> rest = {m.certificates[1].subject(), m.certificates[2].subject()};
  std::sort(rest.begin(), rest.end());
  EXPECT_EQ(rest, (std::vector<std::string>{"CN=Test Intermediate CA,O=Signet Tests",
                                            "CN=Test Root CA,O=Signet Tests"}));
}

// ---- wrong or missing passphrases -------------------------------------------------------------

TEST(ParseKeyFile, WrongPassphraseIsUnauthorizedForEveryEncryptedForm) {
  for (const char* file : {"pkcs12_with_chain.p12", "pkcs8_encrypted.pem", "pkcs8_encrypted.der",
                           "ec_traditional_encrypted.pem"}) {
    const Error e = parse_error(file, CountingSource(kWrongPass).source());
    EXPECT_EQ(e.kind(), ErrorKind::Unauthorized) << file;
    EXPECT_EQ(e.code(), "wrong-import-passphrase") << file;
    const std::string what = e.what();
    EXPECT_NE(what.find(file), std::string::npos) << what;
    EXPECT_EQ(what.find(kWrongPass), std::string::npos) << "a passphrase was printed: " << what;
  }
}

TEST(ParseKeyFile, EncryptedFileWithoutAPassphraseSourceSaysHowToGiveOne) {
  for (const char* file : {"pkcs12_with_chain.p12", "pkcs8_encrypted.pem", "pkcs8_encrypted.der"}) {
    const Error e = parse_error(file, PassphraseSource{});
    EXPECT_EQ(e.kind(), ErrorKind::Unauthorized) << file;
    EXPECT_EQ(e.code(), "import-passphrase-required") << file;
  }
}

TEST(ParseKeyFile, ErrorsFromThePassphraseSourcePropagate) {
  const PassphraseSource failing = []() -> Passphrase {
    throw Error(ErrorKind::NotFound, "passphrase-file-missing", "no such passphrase file");
  };
  for (const char* file : {"pkcs12_with_chain.p12", "pkcs8_encrypted.pem", "pkcs8_encrypted.der"}) {
    EXPECT_EQ(parse_error(file, failing).code(), "passphrase-file-missing") << file;
  }
}

TEST(ParseKeyFile, LegacyPkcs12IsUnsupportedWithTheConversionCommand) {
  const Error e = parse_error("pkcs12_legacy_rc2.p12", right());
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << e.what();
  EXPECT_EQ(e.code(), "pkcs12-unsupported") << e.what();
  EXPECT_NE(std::string(e.what()).find("-legacy"), std::string::npos) << e.what();
}

// ---- files without a private key (Q174781) ---------------------------------------------------

TEST(ParseKeyFile, RequestsCertificatesAndPublicKeysAloneAreNotKeys) {
  for (const char* file : {"csr_only.pem", "csr_only.der", "cert_only.pem", "cert_only.der",
                           "public_key_only.pem", "public_key_only.der", "pkcs12_cert_only.p12"}) {
    const Error e = parse_error(file, right());
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << file;
    EXPECT_EQ(e.code(), "private-key-missing") << file;
    const std::string what = e.what();
    EXPECT_NE(what.find("signet backup create"), std::string::npos) << what;
    EXPECT_NE(what.find(file), std::string::npos) << what;
    EXPECT_NE(what.find("Nothing was imported"), std::string::npos) << what;
  }
  EXPECT_NE(std::string(parse_error("csr_only.pem", never()).what()).find("certificate request"),
            std::string::npos);
  EXPECT_NE(std::string(parse_error("cert_only.der", never()).what()).find("a certificate"),
            std::string::npos);
}

// ---- broken files -----------------------------------------------------------------------------

TEST(ParseKeyFile, BrokenFilesGetTheirOwnCodes) {
  const std::pair<const char*, const char*> cases[] = {
      {"garbage.bin", "not-a-key-file"},
      {"empty.bin", "empty-file"},
      {"two_keys.pem", "multiple-private-keys"},
      {"missing_end_line.pem", "pem-malformed"},
      {"crl_block.pem", "pem-unexpected-block"},
      {"private_key_block_with_garbage.pem", "private-key-malformed"},
  };
  for (const auto& [file, code] : cases) {
    const Error e = parse_error(file, never());
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << file;
    EXPECT_EQ(e.code(), code) << file << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
}

TEST(ParseKeyFile, TextThatIsNotPemIsNotAKeyFile) {
  const std::string text = "just some notes\nnothing to see\n";
  const Error e = capture_error([&] { (void)parse_key_file(as_bytes(text), "notes.txt", never()); });
  EXPECT_EQ(e.code(), "not-a-key-file");
  const std::string armour_only = "-----BEGIN nonsense";
  EXPECT_EQ(capture_error([&] { (void)parse_key_file(as_bytes(armour_only), "x.pem", never()); }).kind(),
            ErrorKind::Malformed);
}

TEST(ParseKeyFile, TruncatedFilesAreRefusedNotHalfRead) {
  for (const char* file : {"pkcs12_with_chain.p12", "pkcs8.der", "pkcs8.pem"}) {
    const Bytes full = contents(file);
    const Bytes half(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2));
    const Error e = capture_error([&] { (void)parse_key_file(half, file, right()); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << file << ": " << e.what();
  }
}

// ---- KeyStore::import of what was parsed ------------------------------------------------------

class KeyFileImport : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<KeyStore>(KeyStore::create(tmp_ / "data", Passphrase(as_bytes("store passphrase 1")),
                                                         crypto::ScryptParams::insecure_for_tests()));
  }
  test::TempDir tmp_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(KeyFileImport, KeyWithCertificateAndShuffledChainIsStoredInChainOrder) {
  store_->import("leaf", parse("key_cert_chain_shuffled.pem", never()));
  const KeyRecord r = *store_->record("leaf");
  ASSERT_EQ(r.certificates.size(), 3u);
  EXPECT_EQ(r.certificates[0].role, kRoleLeaf);
  EXPECT_EQ(r.certificates[0].der, load_pem_cert(fx().chain.leaf_cert).der());
  EXPECT_EQ(r.certificates[1].role, kRoleChain);
  EXPECT_EQ(r.certificates[1].der, load_pem_cert(fx().chain.intermediate_cert).der());
  EXPECT_EQ(r.certificates[2].role, kRoleChain);
  EXPECT_EQ(r.certificates[2].der, load_pem_cert(fx().chain.root_cert).der());
  EXPECT_TRUE(store_->check(std::vector<std::string>{"leaf"}).front().reusable());
}

TEST_F(KeyFileImport, Pkcs12WithChainImportsWithRoles) {
  store_->import("from-p12", parse("pkcs12_with_chain.p12", right()));
  const KeyRecord r = *store_->record("from-p12");
  ASSERT_EQ(r.certificates.size(), 3u);
  EXPECT_EQ(r.certificates[0].role, kRoleLeaf);
  EXPECT_EQ(r.certificates[1].role, kRoleChain);
  EXPECT_EQ(r.certificates[1].der, load_pem_cert(fx().chain.intermediate_cert).der());
  EXPECT_EQ(r.certificates[2].role, kRoleChain);
}

TEST_F(KeyFileImport, IntermediateCaKeyGetsRoleCa) {
  const std::string pem = test::read_text(fx().chain.intermediate_key) +
                          test::read_text(fx().chain.intermediate_cert) +
                          test::read_text(fx().chain.root_cert);
  store_->import("intermediate", parse_key_file(as_bytes(pem), "intermediate.pem", never()));
  const KeyRecord r = *store_->record("intermediate");
  ASSERT_EQ(r.certificates.size(), 2u);
  EXPECT_EQ(r.certificates[0].role, kRoleCa);
  EXPECT_EQ(r.certificates[1].role, kRoleChain);
}

TEST_F(KeyFileImport, KeyWithSomebodyElsesCertificateWritesNothing) {
  const auto before = store_->records().size();
  const auto audit_before = store_->audit_log().size();
  const Error e = capture_error([&] { store_->import("leaf", parse("key_and_wrong_cert.pem", never())); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "certificate-key-mismatch");
  EXPECT_NE(std::string(e.what()).find("Somebody Else"), std::string::npos) << e.what();
  EXPECT_EQ(store_->records().size(), before);
  EXPECT_EQ(store_->audit_log().size(), audit_before);
}

TEST_F(KeyFileImport, UnrelatedExtraCertificateWritesNothing) {
  const Error e =
      capture_error([&] { store_->import("leaf", parse("key_cert_and_unrelated_cert.pem", never())); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "chain-certificate-unrelated");
  EXPECT_TRUE(store_->records().empty());
}

// ---- make_pkcs12 ------------------------------------------------------------------------------

TEST(MakePkcs12, IsReadableByOpensslWithoutLegacyAndReimports) {
  test::TempDir dir;
  const ossl::Pkey key = load_pem_key(fx().chain.leaf_key);
  const std::vector<crypto::Certificate> certs = {load_pem_cert(fx().chain.leaf_cert),
                                                  load_pem_cert(fx().chain.intermediate_cert),
                                                  load_pem_cert(fx().chain.root_cert)};
  const Bytes p12 = make_pkcs12(key.get(), certs, "signet-leaf", Passphrase(as_bytes(kImportPass)));
  file::write_atomic(dir / "export.p12", p12);

  const test::ProcessResult r =
      test::run_process({"openssl", "pkcs12", "-in", (dir / "export.p12").string(), "-passin",
                         "file:" + fx().pass_file.string(), "-nodes", "-info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("MAC: sha256"), std::string::npos) << all;
  EXPECT_NE(all.find("AES-256-CBC"), std::string::npos) << all;
  EXPECT_EQ(all.find("RC2"), std::string::npos) << all;
  EXPECT_EQ(all.find("3DES"), std::string::npos) << all;
  EXPECT_NE(all.find("friendlyName: signet-leaf"), std::string::npos) << all;
  EXPECT_NE(all.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  std::size_t cert_blocks = 0;
  for (std::size_t pos = 0; (pos = r.out.find("-----BEGIN CERTIFICATE-----", pos)) != std::string::npos; ++pos) {
    ++cert_blocks;
  }
  EXPECT_EQ(cert_blocks, 3u);

  CountingSource src(kImportPass);
  const KeyMaterial back = parse_key_file(p12, "export.p12", src.source());
  EXPECT_EQ(*src.calls, 1);
  ASSERT_TRUE(back.key);
  EXPECT_EQ(crypto::public_key_der(back.key.get()), crypto::public_key_der(key.get()));
  ASSERT_EQ(back.certificates.size(), 3u);
  EXPECT_EQ(back.certificates[0].der(), certs[0].der());
  const Error wrong = capture_error(
      [&] { (void)parse_key_file(p12, "export.p12", CountingSource(kWrongPass).source()); });
  EXPECT_EQ(wrong.code(), "wrong-import-passphrase");
}

TEST(MakePkcs12, KeyWithoutCertificatesAndEveryAlgorithmRoundTrips) {
  for (const auto a : {crypto::KeyAlgorithm::EcP384, crypto::KeyAlgorithm::Ed25519,
                       crypto::KeyAlgorithm::Rsa2048}) {
    const ossl::Pkey key = crypto::generate_key(a);
    for (const bool with_cert : {false, true}) {
      std::vector<crypto::Certificate> certs;
      if (with_cert) {
        crypto::SelfSignedSpec spec;
        spec.common_name = "Export CA";
        certs.push_back(crypto::make_self_signed(key.get(), spec));
      }
      const Bytes p12 = make_pkcs12(key.get(), certs, "k", Passphrase(as_bytes(kImportPass)));
      const KeyMaterial back = parse_key_file(p12, "k.p12", right());
      ASSERT_TRUE(back.key) << crypto::to_string(a);
      EXPECT_TRUE(crypto::same_public_key(back.key.get(), key.get())) << crypto::to_string(a);
      EXPECT_EQ(crypto::algorithm_of(back.key.get()), a);
      EXPECT_EQ(back.certificates.size(), with_cert ? 1u : 0u) << crypto::to_string(a);
    }
  }
}

}  // namespace
}  // namespace signet::keystore
