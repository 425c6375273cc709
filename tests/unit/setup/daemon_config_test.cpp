// signetd.toml (common/src/setup/daemon_config.cpp): what `signet setup` writes loads as is; optional
// sections override defaults; relative paths resolve against the file's directory; anything
// unknown or mistyped is refused with the file, the line, the key and what is allowed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "signet/setup/daemon_config.h"
#include "signet/core/error.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"

namespace signet::daemon {
namespace {

namespace fs = std::filesystem;
using test::capture_error;

// As `signet setup` writes it (common/src/setup/engine.cpp).
constexpr std::string_view kSetupConfig = R"(# signetd configuration, written by signet setup.
[store]
data_dir = "/var/lib/signet"
ca_key = "root-2025"
passphrase_file = "/var/lib/signet/passphrase"

[https]
address = "0.0.0.0"
port = 8443
certificate = "/etc/signet/tls-cert.pem"
key = "/etc/signet/tls-key.pem"

[http]
address = "0.0.0.0"
port = 8080

[public]
base_url = "http://ca.example.test:8080"
)";

class ConfigTest : public ::testing::Test {
 protected:
  fs::path write(std::string_view text, const std::string& name = "signetd.toml") {
    const fs::path p = dir / name;
    test::write_text(p, text);
    return p;
  }
  Error load_error(std::string_view text) {
    const fs::path p = write(text);
    return capture_error([&] { (void)load_config(p); });
  }
  test::TempDir dir;
};

TEST_F(ConfigTest, SetupConfigurationLoadsWithDefaults) {
  const fs::path p = write(kSetupConfig);
  const Config c = load_config(p);
  EXPECT_EQ(c.source, p);
  EXPECT_EQ(c.data_dir, "/var/lib/signet");
  EXPECT_EQ(c.ca_key, "root-2025");
  EXPECT_EQ(c.passphrase_file, "/var/lib/signet/passphrase");
  EXPECT_EQ(c.https_address, "0.0.0.0");
  EXPECT_EQ(c.https_port, 8443);
  EXPECT_EQ(c.tls_certificate, "/etc/signet/tls-cert.pem");
  EXPECT_EQ(c.tls_key, "/etc/signet/tls-key.pem");
  EXPECT_EQ(c.http_port, 8080);
  EXPECT_EQ(c.base_url, "http://ca.example.test:8080");
  EXPECT_EQ(c.threads, 0U);
  EXPECT_EQ(c.max_body_bytes, 64U * 1024);
  EXPECT_EQ(c.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.crl_validity, std::chrono::hours(24 * 7));
  EXPECT_EQ(c.ocsp_nonces, Config::Nonces::Honour);
  EXPECT_EQ(c.ocsp_nonce_signatures_per_second, 200U);
  EXPECT_EQ(c.log_level, "info");
}

TEST_F(ConfigTest, OptionalSectionsOverrideDefaults) {
  const Config c = load_config(write(std::string(kSetupConfig) + R"(
[server]
threads = 4
max_body_bytes = 1048576
header_timeout = "5s"
request_timeout = "1m"
idle_timeout = 120
max_connections = 50

[crl]
validity = "3d"
refresh_before = "1d"
debounce = "0s"
delta = true
delta_validity = "12h"

[ocsp]
validity = "2d"
refresh_before = "12h"
cache_entries = 10
nonces = "ignore"
nonce_signatures_per_second = 50

[log]
level = "debug"
)"));
  EXPECT_EQ(c.threads, 4U);
  EXPECT_EQ(c.max_body_bytes, 1048576U);
  EXPECT_EQ(c.header_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.request_timeout, std::chrono::minutes(1));
  EXPECT_EQ(c.idle_timeout, std::chrono::seconds(120));
  EXPECT_EQ(c.max_connections, 50U);
  EXPECT_EQ(c.crl_validity, std::chrono::hours(72));
  EXPECT_EQ(c.crl_refresh_before, std::chrono::hours(24));
  EXPECT_EQ(c.crl_debounce, std::chrono::seconds(0));
  EXPECT_TRUE(c.delta_crl);
  EXPECT_EQ(c.delta_crl_validity, std::chrono::hours(12));
  EXPECT_EQ(c.ocsp_validity, std::chrono::hours(48));
  EXPECT_EQ(c.ocsp_refresh_before, std::chrono::hours(12));
  EXPECT_EQ(c.ocsp_cache_entries, 10U);
  EXPECT_EQ(c.ocsp_nonces, Config::Nonces::Ignore);
  EXPECT_EQ(c.ocsp_nonce_signatures_per_second, 50U);
  EXPECT_EQ(c.log_level, "debug");
}

TEST_F(ConfigTest, RelativePathsResolveAgainstTheFilesDirectory) {
  fs::create_directories(dir / "etc");
  const fs::path p = write(R"([store]
data_dir = "../data"
ca_key = "k"
passphrase_file = "secret/passphrase"
[https]
certificate = "tls/cert.pem"
key = "./tls/key.pem"
)", "etc/signetd.toml");
  const Config c = load_config(p);
  const fs::path base = fs::absolute(dir / "etc");
  EXPECT_EQ(c.data_dir, (base / "../data").lexically_normal());
  EXPECT_EQ(c.passphrase_file, base / "secret/passphrase");
  EXPECT_EQ(c.tls_certificate, base / "tls/cert.pem");
  EXPECT_EQ(c.tls_key, base / "tls/key.pem");
  // Defaults for what is absent; the public URL follows the HTTP listener.
  EXPECT_EQ(c.https_address, "127.0.0.1");
  EXPECT_EQ(c.base_url, "http://127.0.0.1:8080");
}

TEST_F(ConfigTest, MissingFileIsNotFound) {
  const Error e = capture_error([&] { (void)load_config(dir / "absent.toml"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "config-missing");
  EXPECT_NE(std::string(e.what()).find("absent.toml"), std::string::npos);
}

TEST_F(ConfigTest, UnknownKeyNamesFileLineKeyAndAllowedKeys) {
  const Error e = load_error(std::string(kSetupConfig) + "\n[server]\nthreads = 2\nmax_body = 10\n");
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "config-invalid");
  const std::string what = e.what();
  EXPECT_NE(what.find("signetd.toml:22:"), std::string::npos) << what;
  EXPECT_NE(what.find("\"server.max_body\""), std::string::npos) << what;
  EXPECT_NE(what.find("max_body_bytes"), std::string::npos) << what;  // what is allowed
}

TEST_F(ConfigTest, UnknownSectionIsRefused) {
  const Error e = load_error(std::string(kSetupConfig) + "\n[ocsp_stapling]\nenabled = true\n");
  EXPECT_EQ(e.code(), "config-invalid");
  const std::string what = e.what();
  EXPECT_NE(what.find("signetd.toml:20:"), std::string::npos) << what;
  EXPECT_NE(what.find("[ocsp_stapling]"), std::string::npos) << what;
  EXPECT_NE(what.find("store, https, http"), std::string::npos) << what;
}

TEST_F(ConfigTest, DatabaseSectionIsReadAndAcmeMayShareIt) {
  const std::string database = "\n[database]\nurl = \"postgresql://signet@db.example.test:5432/signet?sslmode=verify-full\"\n"
                               "password_file = \"db-password\"\npool_size = 16\nstatement_timeout = \"3s\"\n";
  const Config c = load_config(write(std::string(kSetupConfig) + database + "[acme]\nenabled = true\n"));
  EXPECT_EQ(c.database_url, "postgresql://signet@db.example.test:5432/signet?sslmode=verify-full");
  EXPECT_EQ(c.database_password_file, dir.path() / "db-password");
  EXPECT_EQ(c.database_pool_size, 16u);
  EXPECT_EQ(c.database_statement_timeout, std::chrono::seconds(3));
  EXPECT_TRUE(c.acme_enabled) << "ACME runs on a PostgreSQL ledger too";

  for (const auto& [text, names] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"[database]\nurl = \"postgresql://signet:secret@db/signet\"\n", {"database.url", "password"}},
           {"[database]\nurl = \"mysql://db/signet\"\n", {"database.url"}},
           {"[database]\npassword_file = \"x\"\n", {"database.password_file", "database.url"}},
           {"[database]\nurl = \"postgresql://signet@db/signet\"\n[acme]\nenabled = true\neab_required = true\n",
            {"acme.eab_required", "data key", "eab_required = false"}}}) {
    const Error e = load_error(std::string(kSetupConfig) + "\n" + text);
    EXPECT_EQ(e.code(), "config-invalid") << text;
    for (const std::string& n : names) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << n << " in " << e.what();
  }
}

TEST_F(ConfigTest, AcmeSectionIsReadAndCheckedKeyByKey) {
  EXPECT_FALSE(load_config(write(kSetupConfig)).acme_enabled) << "ACME must be off unless configured";
  const Config c = load_config(write(std::string(kSetupConfig) +
                                     "\n[acme]\nenabled = true\nprofile = \"server-tls\"\nhttp01_port = 5002\n"
                                     "tlsalpn01_port = 5001\nresolver = \"127.0.0.1:8053\"\neab_required = true\n"
                                     "allowed_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n"
                                     "terms_of_service = \"https://ca.example.test/terms\"\nvalidation_timeout = \"5s\"\n"
                                     "orders_per_account_per_hour = 20\n"));
  EXPECT_TRUE(c.acme_enabled);
  EXPECT_EQ(c.acme_http01_port, 5002);
  EXPECT_EQ(c.acme_tlsalpn01_port, 5001);
  EXPECT_EQ(c.acme_resolver, "127.0.0.1:8053");
  EXPECT_TRUE(c.acme_eab_required);
  ASSERT_EQ(c.acme_allowed_networks.size(), 2u);
  EXPECT_EQ(c.acme_allowed_networks[1].to_string(), "2001:db8::/32");
  EXPECT_EQ(c.acme_terms_of_service, "https://ca.example.test/terms");
  EXPECT_EQ(c.acme_validation_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.acme_orders_per_account_per_hour, 20u);

  for (const auto& [section, names] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"enabled = true\nprofile = \"web\"\n", {"acme.profile", "no profile \"web\"", "server-tls"}},
           {"allowed_networks = [\"10.0.0.1/8\"]\n", {"acme.allowed_networks", "10.0.0.0/8"}},
           {"allowed_networks = \"10.0.0.0/8\"\n", {"acme.allowed_networks", "array"}},
           {"http01_port = 0\n", {"acme.http01_port"}},
           {"terms_of_service = \"ftp://x\"\n", {"acme.terms_of_service"}},
           {"validation_timeout = \"1h\"\n", {"acme.validation_timeout"}},
           {"resolvr = \"x\"\n", {"acme.resolvr"}}}) {
    const Error e = load_error(std::string(kSetupConfig) + "\n[acme]\n" + section);
    EXPECT_EQ(e.code(), "config-invalid") << section;
    for (const std::string& n : names) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << n << " in " << e.what();
  }
}

TEST_F(ConfigTest, WrongTypesAndValuesAreRefusedNamingTheKey) {
  struct Case {
    std::string top;    // before any table
    std::string https;  // more lines in [https]
    std::string rest;   // more tables
    std::string expected;
  };
  const Case cases[] = {
      {"", "port = \"8443\"\n", "", "https.port: expected an integer, got a string"},
      {"", "", "[server]\nthreads = 1.5\n", "server.threads: expected an integer, got a floating-point number"},
      {"", "", "[crl]\ndelta = \"yes\"\n", "crl.delta: expected true or false"},
      {"", "", "[server]\nheader_timeout = \"soon\"\n", "server.header_timeout: expected a duration"},
      {"", "", "[server]\nheader_timeout = true\n", "server.header_timeout: expected a duration"},
      {"", "", "[log]\nlevel = \"verbose\"\n", "log.level: \"verbose\" is not one of debug, info, warn, error"},
      {"", "", "[http]\nport = 70000\n", "http.port: must be from 0 to 65535"},
      {"", "", "[server]\nmax_connections = 0\n", "server.max_connections: must be from 1"},
      {"", "", "[public]\nbase_url = \"ca.example.test\"\n", "public.base_url: must be an http:// or https:// URL"},
      {"", "", "[ocsp]\nvalidity = \"1d\"\nrefresh_before = \"2d\"\n",
       "ocsp.refresh_before must be shorter than ocsp.validity"},
      {"", "", "[ocsp]\nnonces = \"honor\"\n", "ocsp.nonces: \"honor\" is not one of honour"},
      {"", "", "[ocsp]\nnonce_signatures_per_second = 0\n", "ocsp.nonce_signatures_per_second: must be from 1"},
      {"log = \"debug\"\n", "", "", "log: expected a table"},
      {"", "", "[store.extra]\n", "unknown key \"store.extra\""},
  };
  for (const Case& c : cases) {
    const std::string text = c.top + "[store]\ndata_dir = \"/d\"\nca_key = \"k\"\n" +
                             "[https]\ncertificate = \"c.pem\"\nkey = \"k.pem\"\n" + c.https + c.rest;
    const Error e = load_error(text);
    EXPECT_EQ(e.code(), "config-invalid") << text;
    EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << text << " => " << e.what();
  }
}

TEST_F(ConfigTest, MissingRequiredKeyIsNamed) {
  const Error e = load_error("[store]\ndata_dir = \"/d\"\n[https]\ncertificate = \"c\"\nkey = \"k\"\n");
  EXPECT_EQ(e.code(), "config-invalid");
  EXPECT_NE(std::string(e.what()).find("missing store.ca_key"), std::string::npos) << e.what();
}

TEST_F(ConfigTest, TomlSyntaxErrorNamesTheLine) {
  const Error e = load_error("[store]\ndata_dir = \"/d\"\nca_key = \n");
  EXPECT_EQ(e.code(), "config-invalid");
  EXPECT_NE(std::string(e.what()).find("signetd.toml:3:"), std::string::npos) << e.what();
}

class PassphrasePathTest : public ConfigTest {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv("CREDENTIALS_DIRECTORY")) saved_ = v;
    ::unsetenv("CREDENTIALS_DIRECTORY");
  }
  void TearDown() override {
    if (saved_) ::setenv("CREDENTIALS_DIRECTORY", saved_->c_str(), 1);
    else ::unsetenv("CREDENTIALS_DIRECTORY");
  }
  std::optional<std::string> saved_;
};

// The operator's store.passphrase_file wins over a systemd credential that is there too: the
// credential is what signetd falls back on when the configuration names no file.
TEST_F(PassphrasePathTest, ConfiguredFileWins) {
  Config c;
  c.passphrase_file = dir / "pass";
  test::write_text(c.passphrase_file, "x");
  const fs::path credentials = dir / "credentials";
  fs::create_directory(credentials);
  test::write_text(credentials / "passphrase", "y");
  ::setenv("CREDENTIALS_DIRECTORY", credentials.c_str(), 1);
  EXPECT_EQ(passphrase_path(c), dir / "pass");
}

TEST_F(PassphrasePathTest, ConfiguredButMissingIsNotFound) {
  Config c;
  c.passphrase_file = dir / "absent";
  const Error e = capture_error([&] { (void)passphrase_path(c); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "passphrase-file-missing");
}

TEST_F(PassphrasePathTest, SystemdCredentialIsTheFallback) {
  test::write_text(dir / "passphrase", "x");
  ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  EXPECT_EQ(passphrase_path(Config{}), dir / "passphrase");
}

TEST_F(PassphrasePathTest, NeitherIsNotFound) {
  const Error e = capture_error([&] { (void)passphrase_path(Config{}); });
  EXPECT_EQ(e.code(), "passphrase-file-missing");
  EXPECT_NE(std::string(e.what()).find("LoadCredential"), std::string::npos);
}

}  // namespace
}  // namespace signet::daemon
