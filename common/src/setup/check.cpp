#include "signet/setup/check.h"

#include <openssl/evp.h>

#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/core/time_format.h"
#include "signet/issuance/ca.h"
#include "signet/keystore/key_file.h"
#include "signet/keystore/store.h"
#include "signet/setup/daemon_config.h"
#include "signet/setup/engine.h"

namespace signet::setup {

namespace fs = std::filesystem;

namespace {

// The daemon's TLS key and certificate: they belong together, are current, and chain to the CA.
void check_tls(const daemon::Config& config, const crypto::Certificate& ca_certificate) {
  const std::vector<crypto::Certificate> chain = read_certificates(config.tls_certificate);
  const Bytes key_bytes = file::read(config.tls_key, 1u << 20);
  const keystore::KeyMaterial key = keystore::parse_key_file(key_bytes, config.tls_key.string(), nullptr);
  const crypto::Certificate& leaf = chain.front();
  if (EVP_PKEY_eq(leaf.public_key(), key.key.get()) != 1) {
    throw Error(ErrorKind::Malformed, "tls-key-mismatch",
                config.tls_key.string() + " is not the key of the certificate in " + config.tls_certificate.string() +
                    ": run `signet setup` again with replace_configuration = true to issue a new pair");
  }
  const auto now = std::chrono::system_clock::now();
  if (leaf.not_after() < now) {
    throw Error(ErrorKind::PolicyDenied, "tls-certificate-expired",
                "the daemon's TLS certificate " + config.tls_certificate.string() + " expired on " +
                    format_utc(leaf.not_after(), "%Y-%m-%d") + ": run `signet setup` again to issue a new one");
  }
  if (!leaf.issued_by(ca_certificate)) {
    throw Error(ErrorKind::Malformed, "tls-certificate-foreign",
                "the daemon's TLS certificate " + config.tls_certificate.string() + " was not issued by the CA " +
                    ca_certificate.subject() + ": clients given ca.pem would refuse it; run `signet setup` "
                    "again with replace_configuration = true");
  }
}

}  // namespace

InstallationCheck check_installation(const fs::path& config_path, const Passphrase* passphrase) {
  const daemon::Config config = daemon::load_config(config_path);
  std::optional<Passphrase> read;
  if (passphrase == nullptr) {
    read.emplace(file::read_passphrase(daemon::passphrase_path(config), "store passphrase"));
    passphrase = &*read;
  }
  keystore::KeyStore store = keystore::KeyStore::open(config.data_dir, *passphrase, keystore::KeyStore::Access::ReadOnly);
  const std::shared_ptr<const issuance::CaSigner> signer =
      issuance::open_ca(store, config.ca_key, issuance::PublicUrls{config.base_url, config.delta_crl});
  const crypto::Certificate& ca = signer->ca_certificate();
  check_tls(config, ca);
  InstallationCheck out;
  out.description = "CA " + ca.subject() + " (key \"" + config.ca_key + "\", certificate serial " + ca.serial_hex() +
                    ", valid until " + format_utc(ca.not_after(), "%Y-%m-%d") + "), " +
                    std::to_string(config.profiles.size()) + " profiles, public base URL " + config.base_url;
  if (!config.database_url.empty()) {
    // Read only: the first signetd creates the schema and records its CA.
    const issuance::LedgerDatabaseState db = issuance::inspect_ledger_database(
        daemon::database_settings(config), issuance::ledger_owner(ca, "signetd --check"));
    out.description += ", ledger in PostgreSQL at " + db::pg::describe(config.database_url) +
                       (db.schema_version == 0 ? std::string(" (empty: signetd creates the schema)")
                                               : " (schema " + std::to_string(db.schema_version) +
                                                     (db.schema_version < db.latest_version
                                                          ? ", signetd migrates it to " + std::to_string(db.latest_version)
                                                          : std::string()) +
                                                     (db.records_owner ? ", this CA's" : ", no CA recorded yet") + ")");
  }
  return out;
}

}  // namespace signet::setup
