// The checks `signetd --check` runs, shared with `signet setup` and the wizard, so that setup ends
// by proving that the printed start command will work. Nothing here writes: the store is opened
// read-only (KeyStore::Access::ReadOnly).
//
// Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <string>

#include "signet/core/bytes.h"

namespace signet::setup {

struct InstallationCheck {
  std::string description;  // "CA CN=... (key "ca", certificate serial ..., valid until ...)"
};

// Checks the installation that `config_path` describes: the configuration reads, the TLS
// certificate and key match and are current and issued by the CA, the store unlocks, the CA key
// passes the full integrity check, and its CA certificate is present and not expired; with
// [database] url, the PostgreSQL database answers, is not of a newer schema and serves no other
// CA (read only: the first signetd creates the schema and records its CA). The
// passphrase is read where signetd reads it (store.passphrase_file, else
// $CREDENTIALS_DIRECTORY/passphrase), unless `passphrase` is given (setup knows it; the systemd
// credential does not exist yet while setup runs). Throws the first failure as an Error whose
// message names the fix.
[[nodiscard]] InstallationCheck check_installation(const std::filesystem::path& config_path,
                                                   const Passphrase* passphrase = nullptr);

}  // namespace signet::setup
