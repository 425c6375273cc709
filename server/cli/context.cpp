#include "context.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/issuance/ca.h"
#include "terminal.h"

namespace signet::cli {

Passphrase read_passphrase_file(const std::filesystem::path& path, const std::string& what) {
  if (file::readable_by_others(path)) {
    std::cerr << "signet: warning: the " << what << " file " << path.string()
              << " is readable by group or others; run `chmod 600 " << path.string() << "`\n";
  }
  return file::read_passphrase(path, what);
}

Passphrase obtain_passphrase(const std::optional<std::filesystem::path>& file, const std::string& what,
                             bool confirm, const std::string& option) {
  if (file) return read_passphrase_file(*file, what);
  std::string prompt = what;
  prompt[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(prompt[0])));
  auto first = prompt_secret(prompt + ": ");
  if (!first) {
    throw Error(ErrorKind::Unauthorized, "passphrase-required",
                "the " + what + " is needed and there is no terminal to ask on: put it in a file "
                "(mode 0600) and pass " + option + " (passphrases are never taken from the command line)");
  }
  if (first->empty()) {
    throw Error(ErrorKind::Malformed, "passphrase-empty", "an empty " + what + " is not allowed");
  }
  if (confirm) {
    auto second = prompt_secret("Repeat " + what + ": ");
    if (!second || second->as_string_view() != first->as_string_view()) {
      throw Error(ErrorKind::Malformed, "passphrase-mismatch",
                  "the two entries of the " + what + " differ; nothing was changed");
    }
  }
  return *std::move(first);
}

namespace {

// The login name of `uid` from the password database; "uid:N" when it has none.
std::string user_name(uid_t uid) {
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  for (int attempt = 0; attempt < 4; ++attempt) {  // bounded: the buffer grows to 16x at most
    passwd entry{};
    passwd* found = nullptr;
    const int rc = ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc == 0 && found != nullptr && found->pw_name != nullptr && *found->pw_name != '\0') return found->pw_name;
    break;
  }
  return "uid:" + std::to_string(uid);
}

}  // namespace

std::string operator_identity() {
  std::string who = user_name(::getuid());
  if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && *sudo != '\0' && who != sudo) {
    who += " (sudo from " + std::string(sudo) + ")";
  }
  return who;
}

std::string audit_actor() { return "cli:" + operator_identity(); }

std::string operator_actor() { return "operator:" + operator_identity(); }

keystore::KeyStore open_store(const GlobalOptions& options, keystore::KeyStore::Access access) {
  const Passphrase passphrase = obtain_passphrase(options.passphrase_file, "key store passphrase", false, kStorePassphraseOption);
  keystore::KeyStore store = keystore::KeyStore::open(options.data_dir, passphrase, access);
  store.set_actor(audit_actor());
  // An upgrade is never silent: say what was migrated and where the way back is (stderr, so that
  // --json output stays one document).
  if (const auto migrated = store.migration()) {
    std::cerr << "signet: migrated the key store " << keystore::KeyStore::database_path(options.data_dir).string()
              << " from schema version " << migrated->from_version << " to " << migrated->to_version
              << "; the verified copy made before is " << migrated->copy.string()
              << " (see `signet store check`)\n";
  }
  return store;
}

std::unique_ptr<issuance::Ledger> ledger_for(const GlobalOptions& g, const daemon::Config* config,
                                             const issuance::CaSigner* signer) {
  if (config != nullptr && !config->database_url.empty() && signer != nullptr) {
    return issuance::open_ledger(*config, *signer, "signet");
  }
  return std::make_unique<issuance::Ledger>(keystore::KeyStore::database_path(g.data_dir));
}

std::unique_ptr<issuance::Ledger> open_configured_ledger(const GlobalOptions& g, keystore::KeyStore& store,
                                                         const std::optional<std::filesystem::path>& config) {
  const std::filesystem::path path = config.value_or(g.data_dir / "signetd.toml");
  if (!config.has_value() && !std::filesystem::exists(path)) return ledger_for(g, nullptr, nullptr);
  const daemon::Config c = daemon::load_config(path);
  if (c.database_url.empty()) return ledger_for(g, nullptr, nullptr);
  const std::shared_ptr<const issuance::CaSigner> signer =
      issuance::open_ca(store, c.ca_key, issuance::PublicUrls{c.base_url, c.delta_crl});
  return ledger_for(g, &c, signer.get());
}

}  // namespace signet::cli
