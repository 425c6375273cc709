// SetupPlan: everything an installation or reinstallation of a Signet CA decides, as a plain value
// that the wizard's pages fill and `signet setup --answers FILE.toml` reads
// (README, "Answers file" and "The setup wizard").
//
// validate() returns every problem at once, each tied to the field it concerns, so that the wizard
// can show it on the right page and the CLI can print them all. It looks only at the plan and the
// machine (directories, ports); checks that need the key store unlocked (does the chosen key exist,
// is it valid now) are made by apply(), which runs the full integrity check again at that moment.
//
// Thread-safety: plain values and reentrant functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "signet/crypto/key.h"

namespace signet::setup {

enum class SetupMode {
  NewKey,                     // install: generate a new CA key and a new self-signed CA certificate
  ExistingKey,                // reinstall with a key from the store and a new CA certificate
  ExistingKeyAndCertificate,  // reinstall with a key from the store and its existing CA certificate
  RestoreThenReinstall,       // restore a backup, then reinstall with one of its keys and certificate
  Subordinate,                // a new or existing key; writes a request for a parent CA
};

// "new-key", "existing-key", "existing-key-and-certificate", "restore-then-reinstall",
// "subordinate": the names used in answers files.
[[nodiscard]] std::string_view to_string(SetupMode mode) noexcept;
[[nodiscard]] std::optional<SetupMode> parse_mode(std::string_view name) noexcept;

// The distinguished name of the CA. Only the common name is required.
struct CaIdentity {
  std::string common_name;
  std::string organization;
  std::string organizational_unit;
  std::string country;  // two letters (ISO 3166)
  std::string state;
  std::string locality;
  friend bool operator==(const CaIdentity&, const CaIdentity&) = default;
};

// signetd's ACME server (RFC 8555), written to signetd.toml's [acme] section when enabled (README,
// "ACME"). The answers file names these keys as signetd.toml does, in a [daemon.acme] table.
struct AcmeSettings {
  bool enabled = false;
  std::string profile = "server-tls";  // the profile ACME orders are issued under
  std::uint16_t http01_port = 80;       // where the CA connects to validate http-01
  std::uint16_t tlsalpn01_port = 443;   // where the CA connects to validate tls-alpn-01
  std::string resolver;                 // "IP" or "IP:port" ("[IPv6]:port") of the DNS server; "" = system
  bool eab_required = false;            // new accounts need an external account binding
  std::vector<std::string> allowed_networks;  // CIDRs validation may connect to; empty = anywhere
  std::string terms_of_service;         // URL for the directory's meta; "" = none
  friend bool operator==(const AcmeSettings&, const AcmeSettings&) = default;
};

// What signetd will listen on and call itself.
struct DaemonSettings {
  std::string https_address = "127.0.0.1";
  std::uint16_t https_port = 8443;  // REST and ACME, TLS 1.2+
  std::string http_address = "127.0.0.1";
  std::uint16_t http_port = 8080;  // CA certificate, CRLs and OCSP (public by convention)
  std::vector<std::string> tls_names = {"localhost", "127.0.0.1"};  // DNS names and IPs of the daemon
  std::string public_base_url = "http://127.0.0.1:8080";  // base of CRL and OCSP links
  AcmeSettings acme;  // [daemon.acme]
  friend bool operator==(const DaemonSettings&, const DaemonSettings&) = default;
};

// Where signetd reads the store passphrase from when it starts. Setup records exactly this source in
// signetd.toml and prints the start command that works with it.
enum class PassphraseSource {
  SystemdCredential,  // no file in the configuration: systemd's LoadCredential=passphrase:FILE
  OperatorFile,       // a file the operator keeps (passphrase_file); it must exist and unlock the store
  StoredFile,         // setup writes the passphrase to <data_dir>/passphrase (0600): unattended start
};

// "systemd-credential", "file", "store-file": the names used in answers files.
[[nodiscard]] std::string_view to_string(PassphraseSource source) noexcept;
[[nodiscard]] std::optional<PassphraseSource> parse_passphrase_source(std::string_view name) noexcept;

// The [daemon] keys, as answers files name them ("acme": the [daemon.acme] table, as a whole).
inline constexpr std::string_view kDaemonKeys[] = {"https_address", "https_port",      "http_address", "http_port",
                                                   "tls_names",     "public_base_url", "acme"};
// The keys of [daemon.acme].
inline constexpr std::string_view kAcmeKeys[] = {"enabled",  "profile",      "http01_port",      "tlsalpn01_port",
                                                 "resolver", "eab_required", "allowed_networks", "terms_of_service"};

struct SetupPlan {
  SetupMode mode = SetupMode::NewKey;
  std::filesystem::path data_dir = "/var/lib/signet";
  std::string key_name = "ca";  // the new key's name, or the existing key to reuse
  crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::EcP256;  // for a new key
  CaIdentity identity;
  std::int64_t validity_days = 3650;   // of a new CA certificate
  std::optional<int> path_length;      // basicConstraints pathLenConstraint; none = unlimited
  std::filesystem::path backup_file;   // RestoreThenReinstall
  bool subordinate_existing_key = false;  // Subordinate: reuse key_name instead of generating it
  // RestoreThenReinstall into a store that has API clients of its own: the backup's API clients
  // (admins too) are added to them only when this is true; otherwise the restore is refused.
  bool merge_clients = false;
  DaemonSettings daemon;
  // The [daemon] keys the answers (or the wizard's daemon page) set. In restore-then-reinstall
  // every other daemon setting comes from the backup's installation; in the other modes from the
  // defaults above.
  std::vector<std::string> daemon_keys_set = {std::begin(kDaemonKeys), std::end(kDaemonKeys)};
  // RestoreThenReinstall: the backup's signetd.toml (profiles, CRL, OCSP, server and log settings,
  // every section) becomes this installation's, with this machine's paths. false: defaults.
  bool configuration_from_backup = true;
  PassphraseSource passphrase_source = PassphraseSource::SystemdCredential;
  std::filesystem::path passphrase_file;  // OperatorFile: absolute path
  // An installed CA in data_dir (ca.pem, signetd.toml) is replaced only when this is true; the old
  // files are kept beside the new ones (NAME.replaced-YYYYmmddTHHMMSSZ).
  bool replace_installation = false;
  // A reinstall keeps the current configuration file and CA certificate unless told otherwise.
  bool replace_configuration = false;
  bool replace_ca_certificate = false;
  friend bool operator==(const SetupPlan&, const SetupPlan&) = default;
};

struct PlanProblem {
  std::string field;    // "identity.common_name", "daemon.https_port", ...
  std::string code;     // stable: "required", "too-long", "invalid", "port-in-use", ...
  std::string message;  // what is wrong and what to do
};

// Every problem of `plan`, in field order; empty when the plan can be applied.
[[nodiscard]] std::vector<PlanProblem> validate(const SetupPlan& plan);

// True when something on this machine already listens on address:port (a bind fails with
// EADDRINUSE).
[[nodiscard]] bool port_in_use(const std::string& address, std::uint16_t port);

// The answers-file form of a plan (TOML), and back. parse_answers throws Error(Malformed,
// "answers-invalid") naming the key and line of the first thing it cannot read; unknown keys are
// refused, so a typo never silently becomes a default.
[[nodiscard]] std::string to_answers(const SetupPlan& plan);
[[nodiscard]] SetupPlan parse_answers(std::string_view toml, const std::string& source_name);

}  // namespace signet::setup
