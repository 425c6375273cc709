// signetd's configuration (signetd.toml, written by `signet setup`; every key is documented in the
// README, "Configuration"). Unknown keys and wrong types are errors that name the key.
//
// Thread-safety: an immutable value once loaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/cidr.h"
#include "signet/db/postgres.h"
#include "signet/issuance/profile.h"

namespace signet::daemon {

struct Config {
  std::filesystem::path source;  // the file it was read from

  // [store]
  std::filesystem::path data_dir;
  std::string ca_key;                    // the key store entry that is the CA key
  std::filesystem::path passphrase_file; // absent: $CREDENTIALS_DIRECTORY/passphrase (systemd)

  // [https]
  std::string https_address = "127.0.0.1";
  std::uint16_t https_port = 8443;
  std::filesystem::path tls_certificate;  // PEM: the daemon's certificate, then its chain
  std::filesystem::path tls_key;          // PEM private key, 0600

  // [http]
  std::string http_address = "127.0.0.1";
  std::uint16_t http_port = 8080;

  // [public]
  std::string base_url;  // "http://127.0.0.1:8080": CRL DP, AIA OCSP and caIssuers are built on it

  // [server]
  unsigned threads = 0;                                   // 0: one per core
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::seconds header_timeout{10};                // a request's headers must arrive in this
  std::chrono::seconds request_timeout{30};               // ... and its body
  std::chrono::seconds idle_timeout{60};                  // keep-alive connection with no request
  std::size_t max_connections = 1024;                     // open at once, on each listener
  std::size_t max_connections_per_address = 64;           // from one client address, both listeners

  // [crl]
  std::chrono::seconds crl_validity = std::chrono::hours(24 * 7);   // nextUpdate - thisUpdate
  std::chrono::seconds crl_refresh_before = std::chrono::hours(24 * 3); // regenerate when closer
  std::chrono::seconds crl_debounce{2};                   // after a revocation
  bool delta_crl = false;
  std::chrono::seconds delta_crl_validity = std::chrono::hours(24);

  // [ocsp]
  std::chrono::seconds ocsp_validity = std::chrono::hours(24 * 4);  // nextUpdate - thisUpdate
  std::chrono::seconds ocsp_refresh_before = std::chrono::hours(24 * 2);
  std::size_t ocsp_cache_entries = 100000;                 // least recently used ones go first
  std::size_t ocsp_cache_mib = 64;                         // and the cache's size in MiB, roughly
  // Responses signed because a request missed the cache: this many a second for requests about one
  // issued certificate, a quarter of it for the rest; beyond it, tryLater (see OcspResponder).
  unsigned ocsp_signatures_per_second = 500;
  // A request with a nonce (RFC 8954): Honour signs a fresh response that echoes it, at most
  // ocsp_nonce_signatures_per_second of them (beyond that it is answered as Ignore does); Ignore
  // answers it from the cache without the nonce, as RFC 8954 section 2.1 allows.
  enum class Nonces { Honour, Ignore };
  Nonces ocsp_nonces = Nonces::Honour;
  unsigned ocsp_nonce_signatures_per_second = 200;

  // [acme] (RFC 8555; README "ACME")
  bool acme_enabled = false;
  std::string acme_profile = "server-tls";      // the profile ACME orders are checked and issued under
  std::uint16_t acme_http01_port = 80;          // where http-01 is validated
  std::uint16_t acme_tlsalpn01_port = 443;      // where tls-alpn-01 is validated
  std::string acme_resolver;                    // "host:port" of the DNS server validation asks; "" = system
  bool acme_eab_required = false;               // new accounts need an external account binding
  std::vector<Cidr> acme_allowed_networks;      // where validation may connect; empty = anywhere
  std::string acme_terms_of_service;            // URL for the directory's meta, "" = none
  std::string acme_website;                     // URL for the directory's meta, "" = none
  std::chrono::seconds acme_validation_timeout{10};  // one validation, resolution to answer
  unsigned acme_orders_per_account_per_hour = 300;
  unsigned acme_pending_authorizations_per_account = 300;
  unsigned acme_new_accounts_per_address_per_hour = 50;

  // [database]: the ledger's backend. "" (the default): the key store's own SQLite file. A
  // postgresql:// URL: a PostgreSQL database shared by several signetd nodes (signet/issuance/ledger.h).
  std::string database_url;
  std::filesystem::path database_password_file;  // absent: $CREDENTIALS_DIRECTORY/database-password, if any
  unsigned database_pool_size = 8;               // connections per process
  std::chrono::milliseconds database_statement_timeout{10000};
  std::chrono::seconds database_connect_timeout{5};
  // [log]
  std::string log_level = "info";  // "debug", "info", "warn", "error"

  // [profiles.NAME] (see signet/issuance/profile.h)
  std::map<std::string, issuance::Profile> profiles;
};

// Reads and validates the file. Throws Error(NotFound, "config-missing"), Error(Malformed,
// "config-invalid") with the file, line and key in the message.
[[nodiscard]] Config load_config(const std::filesystem::path& path);
// The same checks on a configuration's text; `path` names it in errors, and relative paths in it
// are taken relative to path's directory.
[[nodiscard]] Config parse_config(std::string_view text, const std::filesystem::path& path);

// Every section of signetd.toml, in the order the README documents them, and every key of each
// as "section.key". This is the table parse_config() itself checks a file against (an unknown
// section or key is an error), so the manual page's test (tests/unit/cli/manpage_test.cpp)
// compares signetd.toml(5) with what is really accepted. [profiles.NAME] tables are checked by
// issuance::parse_profiles() and have no entry in config_keys().
[[nodiscard]] std::vector<std::string> config_sections();
[[nodiscard]] std::vector<std::string> config_keys();

// The store passphrase file to use: the configured one (even when a systemd credential is there
// too), else $CREDENTIALS_DIRECTORY/passphrase. Throws Error(NotFound, "passphrase-file-missing")
// when the configured file does not exist, or none is configured and there is no credential.
[[nodiscard]] std::filesystem::path passphrase_path(const Config& config);

// The PostgreSQL settings of [database], with the password read: from database.password_file,
// else from the systemd credential $CREDENTIALS_DIRECTORY/database-password, else none (the
// server may use peer or certificate authentication). Error(NotFound, "database-password-missing")
// when the configured file is not there. Only when database_url is set.
[[nodiscard]] db::pg::Settings database_settings(const Config& config);
// The database password file database_settings() reads; empty when there is none.
[[nodiscard]] std::filesystem::path database_password_path(const Config& config);

}  // namespace signet::daemon
