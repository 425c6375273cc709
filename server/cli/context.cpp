#include "context.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "signet/core/error.h"
#include "signet/core/file.h"
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

std::string audit_actor() {
  std::string user = "uid " + std::to_string(::geteuid());
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    user = pw->pw_name;
  }
  std::string actor = "cli:" + user;
  if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && *sudo != '\0') {
    actor += " (sudo from " + std::string(sudo) + ")";
  }
  return actor;
}

keystore::KeyStore open_store(const GlobalOptions& options) {
  const Passphrase passphrase = obtain_passphrase(options.passphrase_file, "key store passphrase", false, kStorePassphraseOption);
  keystore::KeyStore store = keystore::KeyStore::open(options.data_dir, passphrase);
  store.set_actor(audit_actor());
  return store;
}

}  // namespace signet::cli
