// The setup engine: applies a SetupPlan. The wizard (signet-setup) and `signet setup` both drive
// it; neither does any crypto, SQL or file writing of its own.
//
// apply() computes everything it can first (validation, the backup opened and checked, the CA key
// unlocked and checked again now, certificates and the configuration built in memory), then
// writes: the store (created if missing), the key and certificate, the installation record, then
// the files (CA certificate, daemon configuration, daemon TLS key and certificate), each to a
// temporary name, fsynced and renamed, mode 0600. Re-running the same reinstall plan, or
// reinstalling after a restore, never adds, changes or removes a key entry; the configuration
// and the CA certificate are replaced only when the plan says so.
//
// Thread-safety: one apply() at a time per data directory (the store serializes writers).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/certificate.h"
#include "signet/setup/plan.h"

namespace signet::daemon {
struct Config;
}

namespace signet::setup {

struct SetupSecrets {
  Passphrase store_passphrase;              // unlocks the store, or protects a new one
  std::optional<Passphrase> backup_passphrase;  // RestoreThenReinstall
};

// Called with a percentage (0..100) and what is being done; may be called from apply()'s thread
// only.
using Progress = std::function<void(int percent, const std::string& step)>;

// The files of an installation, all under the data directory.
struct InstallationFiles {
  std::filesystem::path ca_certificate;  // ca.pem
  std::filesystem::path configuration;   // signetd.toml
  std::filesystem::path tls_key;         // tls-key.pem
  std::filesystem::path tls_certificate; // tls-cert.pem (chain: server certificate, CA certificate)
  std::filesystem::path request;         // ca-request.pem (subordinate CA, until installed)
  [[nodiscard]] static InstallationFiles in(const std::filesystem::path& data_dir);
};

struct SetupResult {
  std::string ca_key_name;
  std::string ca_fingerprint_hex;
  std::optional<crypto::Certificate> ca_certificate;  // none while a subordinate CA is pending
  bool pending_certificate = false;  // a subordinate CA waits for its parent's certificate
  InstallationFiles files;
  std::vector<std::string> actions;  // what was done, in order, for the finish page and the CLI
  // How to start signetd with what was written ("signetd --config FILE", or the systemctl
  // command when the passphrase comes from a systemd credential); empty while pending.
  std::string start_command;
  // What the operator still has to do, in order (the systemd credential, a loopback public URL
  // to change, ...). Empty when the start command is all.
  std::vector<std::string> next_steps;
  // The outcome of the same checks as `signetd --check` on what was written: what signetd will
  // serve, or (check_passed false) why it would refuse to start.
  bool check_passed = false;
  std::string check_message;
  // "https://HOST:PORT/acme/directory" when the configuration written (or kept) enables ACME, else
  // empty: acme_directory_url() of the HTTPS listener and the names in the daemon's TLS certificate.
  std::string acme_directory_url;
  // With acme_directory_url: how certbot and lego ask this CA for a certificate (one command each,
  // trusting ca.pem).
  std::vector<std::string> acme_examples;
};

// Applies `plan`. Throws Error(Malformed, "plan-invalid") listing every validate() problem, and
// the store's, backup's and integrity check's errors ("key-not-found", "key-invalid",
// "no-ca-certificate", ...). On an error before the first write nothing changed.
SetupResult apply(const SetupPlan& plan, const SetupSecrets& secrets, const Progress& progress = {});

// Finishes a subordinate CA: `certificate_file` (PEM or DER, the CA certificate first, its chain
// after it) must carry the pending key's public key and be a CA certificate. The pending key is
// checked again. Then the configuration and TLS files are written as for an installation.
SetupResult install_certificate(const std::filesystem::path& data_dir, const Passphrase& store_passphrase,
                                const std::filesystem::path& certificate_file, const Progress& progress = {});

// The answers of the current installation in `data_dir`, as a plan. Throws Error(NotFound,
// "not-installed") before the first setup.
[[nodiscard]] SetupPlan current_answers(const std::filesystem::path& data_dir, const Passphrase& store_passphrase);

// The certificates in a PEM (one or more) or DER file of at most 1 MiB. Throws Error(Malformed,
// "certificate-malformed") when it holds none, and file::read's errors.
[[nodiscard]] std::vector<crypto::Certificate> read_certificates(const std::filesystem::path& path);

// The ACME directory of a daemon with these settings, "https://HOST:PORT/acme/directory": HOST is
// the first DNS name of tls_names that is not a wildcard, else its first IP address, else
// https_address; PORT is https_port.
[[nodiscard]] std::string acme_directory_url(const DaemonSettings& daemon);

// The [acme] settings of a loaded signetd.toml, as a plan holds them.
[[nodiscard]] AcmeSettings acme_settings_of(const daemon::Config& config);

// The identity written in a certificate's subject (to pre-fill the wizard when one is reused).
[[nodiscard]] CaIdentity identity_of(const crypto::Certificate& certificate);

}  // namespace signet::setup
