#include "app.h"

#include <sys/stat.h>

#include <cstdlib>
#include <iostream>
#include <string_view>

#include "signet/core/error.h"
#include "signet/core/version.h"

namespace signet::cli {

namespace {

int exit_code_for(const Error& e) {
  return e.kind() == ErrorKind::Integrity && e.code() == "key-invalid" ? kExitInvalid : kExitError;
}

}  // namespace

std::unique_ptr<CLI::App> make_app(GlobalOptions& global, Action& action) {
  auto app = std::make_unique<CLI::App>("signet: operator CLI for the Signet certificate authority", "signet");
  app->require_subcommand(1);
  app->fallthrough();  // global options may follow the subcommand
  app->set_version_flag("--version", version_text("signet"));
  app->footer(
      "Passphrases are never taken from the command line: use --passphrase-file FILE, "
      "SIGNET_PASSPHRASE_FILE, or type them at the prompt.\n"
      "Exit status: 0 success, 1 an operation failed, 2 usage error, 3 an invalid key was found.");

  const char* env_dir = std::getenv(kDataDirEnv);
  global.data_dir = env_dir != nullptr && *env_dir != '\0' ? env_dir : kDefaultDataDir;
  app->add_option("--data-dir", global.data_dir,
                  "Directory of the key store (env SIGNET_DATA_DIR, default /var/lib/signet)");
  app->add_option("--passphrase-file", global.passphrase_file,
                  "File whose first line is the key store passphrase (env SIGNET_PASSPHRASE_FILE)")
      ->envname("SIGNET_PASSPHRASE_FILE")
      ->check(CLI::ExistingFile);

  add_store_commands(*app, global, action);
  add_keys_commands(*app, global, action);
  add_backup_commands(*app, global, action);
  add_setup_commands(*app, global, action);
  add_issuance_commands(*app, global, action);
  add_acme_commands(*app, global, action);
  return app;
}

int run(int argc, char** argv) {
  ::umask(077);  // everything this process creates is private

  GlobalOptions global;
  Action action;
  const std::unique_ptr<CLI::App> app = make_app(global, action);

  // `signet __complete WORD...` (for the bash completion script) is handled before parsing: the
  // words are a partial command line, which CLI11 would parse as signet's own options (--help,
  // --version, a global --passphrase-file that must exist) or refuse as incomplete. It is not a
  // subcommand, so no --help lists it.
  if (argc >= 2 && std::string_view(argv[1]) == kCompleteCommand) {
    return complete_words(*app, global, std::vector<std::string>(argv + 2, argv + argc));
  }

  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app->exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!action) return kExitUsage;
  try {
    return action();
  } catch (const Error& e) {
    std::cerr << "signet: error [" << e.code() << "]: " << e.what() << "\n";
    return exit_code_for(e);
  } catch (const std::exception& e) {
    std::cerr << "signet: internal error: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace signet::cli
