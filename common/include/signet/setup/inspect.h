// What a data directory, a key store or a backup holds, as the wizard's pages and `signet setup`
// show it before anything is written. Every function here only reads: the store is opened read-only
// (no schema migration, no journal-mode change; an older schema is read from a private migrated
// copy), and a backup is opened into a private scratch directory that is removed again.
//
// Thread-safety: reentrant functions over plain values; call them off the GUI thread.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/certificate.h"
#include "signet/keystore/integrity.h"
#include "signet/keystore/store.h"
#include "signet/setup/plan.h"

namespace signet::setup {

// Which of a key's certificates is "the" CA certificate: the one whose SHA-256 the installation
// record names, when it is still attached; otherwise, among the certificates with role "ca", the
// one valid longest. std::nullopt when the key has none. `certificates` and `roles` run in
// parallel (a key's certificates and their roles, as the store keeps them). This is the only
// place that decides it: the engine, signetd and the wizard all call it.
[[nodiscard]] std::optional<crypto::Certificate> choose_ca_certificate(
    const std::vector<crypto::Certificate>& certificates, const std::vector<std::string>& roles,
    const std::optional<Bytes>& installed_certificate_sha256);

// The same rule over an entry as stored (certificates that do not parse are skipped).
[[nodiscard]] std::optional<crypto::Certificate> choose_ca_certificate(
    const keystore::KeyRecord& record, const std::optional<Bytes>& installed_certificate_sha256);

// An installed CA, as the files of a data directory show it without any passphrase: ca.pem and
// signetd.toml. Used to say what an installation would replace.
struct InstalledCa {
  std::filesystem::path data_dir;
  std::string subject;               // RFC 4514 (CN first), of ca.pem; "" when ca.pem is unreadable
  std::string key_name;              // store.ca_key of signetd.toml; "" when unreadable
  std::string fingerprint_hex;       // SHA-256 of the CA certificate's public key (as `signet keys list`)
  TimePoint not_after{};             // of the CA certificate
  std::filesystem::path ca_certificate;  // <data_dir>/ca.pem, when present
  std::filesystem::path configuration;   // <data_dir>/signetd.toml, when present
};

// What is installed in `data_dir`: std::nullopt when neither ca.pem nor signetd.toml is there.
// Never throws for unreadable files (their fields stay empty); reads nothing else.
[[nodiscard]] std::optional<InstalledCa> installed_ca(const std::filesystem::path& data_dir);

// One key that passed the full integrity check just now, as a picker offers it.
struct OfferedKey {
  keystore::KeyVerdict verdict;                       // reusable() is true; may carry warnings
  std::optional<crypto::Certificate> ca_certificate;  // choose_ca_certificate()
  std::vector<crypto::Certificate> certificates;      // every attached certificate that parses
};

// What a key store holds, checked just now.
struct StoreContents {
  std::vector<OfferedKey> offered;                     // valid keys, by name
  std::vector<keystore::KeyVerdict> excluded;          // entries that failed a rule, with findings
  std::vector<keystore::QuarantineEntry> quarantined;  // entries a restore refused
  std::optional<std::string> installed_key;            // the key the installation record names
};

// Called with the number of entries about to be checked (once, before the check).
using CountCallback = std::function<void(std::size_t entries)>;

// Unlocks the store in `data_dir` read-only and checks every entry. Writes nothing. Throws what
// KeyStore::open throws ("store-missing", "wrong-passphrase", "store-corrupt", ...).
[[nodiscard]] StoreContents inspect_store(const std::filesystem::path& data_dir, const Passphrase& passphrase,
                                          const CountCallback& on_count = {});

// The installation a backup carries: what setup had applied on the machine it was made on.
struct BackupInstallation {
  std::string ca_key_name;                  // the CA key's name in the backup; "" when unknown
  std::optional<SetupPlan> answers;         // the installation record's answers, when present
  std::optional<std::string> configuration; // that machine's signetd.toml, verbatim, when present
};

// The installation recorded in a backup's manifest (its "installation" object and "ca_name").
[[nodiscard]] BackupInstallation installation_of(const nlohmann::json& manifest);

// What a backup holds, opened and checked in a private scratch directory (removed again).
struct BackupContents {
  std::vector<OfferedKey> offered;
  std::vector<keystore::KeyVerdict> excluded;  // these would be quarantined by a restore
  BackupInstallation installation;
  std::string created;  // RFC 3339, from the manifest
};

// Opens and checks `file`. Writes nothing outside a private temporary directory. Throws what
// backup::OpenedBackup::open throws ("wrong-backup-passphrase", "backup-corrupt", ...).
[[nodiscard]] BackupContents inspect_backup(const std::filesystem::path& file, const Passphrase& passphrase);

// True when `url`'s host is a loopback address or "localhost" (certificates would carry CRL and
// OCSP links that no client elsewhere can reach).
[[nodiscard]] bool is_loopback_url(const std::string& url);

}  // namespace signet::setup
