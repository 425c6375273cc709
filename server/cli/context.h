// What every command shares: the global options and the ways to obtain secrets.
//
// Secrets never come from argv: a passphrase is read from a file (--passphrase-file,
// SIGNET_PASSPHRASE_FILE) or typed at a no-echo prompt on the terminal.
//
// Thread-safety: single-threaded (one per process).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "signet/core/bytes.h"
#include "signet/issuance/ledger.h"
#include "signet/issuance/signer.h"
#include "signet/keystore/store.h"
#include "signet/setup/daemon_config.h"

namespace signet::cli {

inline constexpr const char* kStorePassphraseOption = "--passphrase-file FILE (or SIGNET_PASSPHRASE_FILE)";

struct GlobalOptions {
  std::filesystem::path data_dir;                        // --data-dir, SIGNET_DATA_DIR
  std::optional<std::filesystem::path> passphrase_file;  // --passphrase-file, SIGNET_PASSPHRASE_FILE
};

// Reads a passphrase file: the first line, without its line ending. Refuses an empty one, warns
// on stderr when the file is readable by group or others.
[[nodiscard]] Passphrase read_passphrase_file(const std::filesystem::path& path, const std::string& what);

// The passphrase from `file` if given, else from a terminal prompt (asked twice when `confirm`),
// else an Error telling the operator how to provide one. `what` names it ("key store passphrase").
// `option` names how to give it in a file ("--passphrase-file FILE or SIGNET_PASSPHRASE_FILE").
[[nodiscard]] Passphrase obtain_passphrase(const std::optional<std::filesystem::path>& file,
                                           const std::string& what, bool confirm,
                                           const std::string& option);

// Opens and unlocks the store in the data dir, with the audit actor set to this user.
[[nodiscard]] keystore::KeyStore open_store(const GlobalOptions& options,
                                            keystore::KeyStore::Access access = keystore::KeyStore::Access::ReadWrite);

// The ledger signetd uses: the PostgreSQL database of [database] url in `config` (and `signer`, the
// CA's, proves that the database serves this CA), else the store's SQLite file.
[[nodiscard]] std::unique_ptr<issuance::Ledger> ledger_for(const GlobalOptions& g, const daemon::Config* config,
                                                           const issuance::CaSigner* signer);

// The ledger of signetd's configuration, `config` or DATA_DIR/signetd.toml (the SQLite file when
// there is none or it sets no [database] url). `store` is the open key store: with a url, the CA
// key named in the configuration is opened from it.
[[nodiscard]] std::unique_ptr<issuance::Ledger> open_configured_ledger(const GlobalOptions& g, keystore::KeyStore& store,
                                                                       const std::optional<std::filesystem::path>& config);

// Who runs this command, for audit rows: the name of the real uid (getuid(), "uid:N" when the
// system has no name for it), never $USER or $LOGNAME, which anyone can set. When sudo's SUDO_USER
// names someone else it follows in parentheses, "root (sudo from alice)": it says who went
// through sudo, but it comes from the environment, so it is supplementary, never the identity.
[[nodiscard]] std::string operator_identity();

// "cli:" + operator_identity(): the key store's audit actor.
[[nodiscard]] std::string audit_actor();

// "operator:" + operator_identity(): the issuance commands' actor, and the client name recorded on
// the certificates the operator issues.
[[nodiscard]] std::string operator_actor();

}  // namespace signet::cli
