// signet setup --answers FILE | --print-answers | --install-certificate FILE
#include <iostream>
#include <memory>
#include <toml++/toml.h>

#include "app.h"
#include "commands.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/keystore/store.h"
#include "signet/setup/engine.h"

namespace signet::cli {

namespace {

namespace fs = std::filesystem;

struct SetupOptions {
  std::optional<fs::path> answers;
  std::optional<fs::path> install_certificate;
  std::optional<fs::path> backup_passphrase_file;
  bool print_answers = false;
};

// Prints what was done, how to start signetd and what is left; returns the exit code (the
// installation was written either way, but a start command that would fail is an error).
int print_result(const setup::SetupResult& r) {
  for (const std::string& a : r.actions) std::cout << "- " << a << "\n";
  if (r.pending_certificate) {
    std::cout << "The subordinate CA key \"" << r.ca_key_name << "\" waits for its certificate: send "
              << r.files.request.string() << " to the parent CA, then run\n"
              << "  signet setup --install-certificate SIGNED-CERTIFICATE.pem\n";
    return kExitOk;
  }
  std::cout << "The CA is set up: key \"" << r.ca_key_name << "\" (SHA256:" << r.ca_fingerprint_hex << ")";
  if (r.ca_certificate) std::cout << ", certificate " << r.ca_certificate->subject();
  std::cout << ".\nFiles: " << r.files.ca_certificate.string() << ", " << r.files.configuration.string() << ", "
            << r.files.tls_certificate.string() << ", " << r.files.tls_key.string() << "\n";
  if (!r.check_passed) {
    std::cerr << "signet: error: the installation was written, but " << r.check_message << "\n";
    return kExitError;
  }
  std::cout << "Check: " << r.check_message << "\n";
  if (!r.next_steps.empty()) {
    std::cout << "Still to do:\n";
    int n = 0;
    for (const std::string& step : r.next_steps) std::cout << "  " << ++n << ". " << step << "\n";
  }
  // Before the start command, which stays the last thing printed (scripts take it from there).
  if (!r.acme_directory_url.empty()) {
    std::cout << "ACME directory: " << r.acme_directory_url << "\n";
    if (!r.acme_examples.empty()) std::cout << "ACME clients ask for certificates with, for example:\n";
    for (const std::string& e : r.acme_examples) std::cout << "  " << e << "\n";
  }
  std::cout << "Start signetd with:\n  " << r.start_command << "\n";
  return kExitOk;
}

// The file that the packaged signetd.service loads with LoadCredential=passphrase:FILE.
const fs::path kSystemdCredentialFile = "/etc/signet/passphrase";

// Where signetd will get the passphrase when the answers do not say: the file this command was
// given (--passphrase-file or SIGNET_PASSPHRASE_FILE), else the systemd credential (also when that
// file is the credential's own).
void default_passphrase_source(setup::SetupPlan& plan, std::string_view answers, const GlobalOptions& g) {
  bool named = false;
  try {
    const toml::table root = toml::parse(answers);
    named = root.contains("passphrase_source") || root.contains("passphrase_file");
  } catch (const toml::parse_error&) {
    named = true;  // parse_answers() has read it already; not reached
  }
  if (named || !g.passphrase_file) return;
  const fs::path file = fs::absolute(*g.passphrase_file).lexically_normal();
  // /etc/signet/passphrase is the file signetd.service loads as its credential: given that file,
  // the operator is setting up the service, and signetd (User=signet) could not read it directly.
  if (file == kSystemdCredentialFile) {
    plan.passphrase_source = setup::PassphraseSource::SystemdCredential;
    return;
  }
  plan.passphrase_source = setup::PassphraseSource::OperatorFile;
  plan.passphrase_file = file;
}

int run_setup(const GlobalOptions& g, const SetupOptions& o) {
  const int chosen = (o.answers ? 1 : 0) + (o.install_certificate ? 1 : 0) + (o.print_answers ? 1 : 0);
  if (chosen != 1) {
    throw Error(ErrorKind::Malformed, "usage",
                "choose exactly one of --answers FILE, --install-certificate FILE, --print-answers");
  }
  if (o.print_answers) {
    const Passphrase pass = obtain_passphrase(g.passphrase_file, "key store passphrase", false, kStorePassphraseOption);
    std::cout << setup::to_answers(setup::current_answers(g.data_dir, pass));
    return kExitOk;
  }
  if (o.install_certificate) {
    const Passphrase pass = obtain_passphrase(g.passphrase_file, "key store passphrase", false, kStorePassphraseOption);
    return print_result(setup::install_certificate(g.data_dir, pass, *o.install_certificate));
  }
  const Bytes text = file::read(*o.answers, 1u << 20);
  const std::string_view answers(reinterpret_cast<const char*>(text.data()), text.size());
  setup::SetupPlan plan = setup::parse_answers(answers, o.answers->string());
  if (plan.data_dir.empty()) plan.data_dir = g.data_dir;
  // Files the answers name by a relative path are beside the answers file, wherever setup runs
  // from; the installation record keeps them absolute, so that --print-answers replays.
  const fs::path answers_dir = fs::absolute(*o.answers).parent_path();
  for (fs::path* p : {&plan.backup_file, &plan.passphrase_file}) {
    if (!p->empty() && p->is_relative()) *p = (answers_dir / *p).lexically_normal();
  }
  default_passphrase_source(plan, answers, g);
  // Every problem at once, before any passphrase is asked for.
  if (const auto problems = setup::validate(plan); !problems.empty()) {
    std::string message = o.answers->string() + " cannot be applied:";
    for (const auto& p : problems) message += "\n  " + p.field + " [" + p.code + "]: " + p.message;
    throw Error(ErrorKind::Malformed, "plan-invalid", message);
  }
  const bool new_store = !fs::exists(keystore::KeyStore::database_path(plan.data_dir));
  setup::SetupSecrets secrets{
      obtain_passphrase(g.passphrase_file, new_store ? "new key store passphrase" : "key store passphrase", new_store,
                        kStorePassphraseOption),
      std::nullopt};
  if (plan.mode == setup::SetupMode::RestoreThenReinstall) {
    secrets.backup_passphrase =
        obtain_passphrase(o.backup_passphrase_file, "backup passphrase", false, "--backup-passphrase-file FILE");
  }
  return print_result(setup::apply(plan, secrets, [](int percent, const std::string& step) {
    std::cerr << "[" << percent << "%] " << step << "\n";
  }));
}

}  // namespace

void add_setup_commands(CLI::App& root, const GlobalOptions& global, Action& action) {
  auto o = std::make_shared<SetupOptions>();
  CLI::App* cmd = root.add_subcommand(
      "setup", "Install or reinstall the CA without a display (the engine behind signet-setup)");
  cmd->add_option("--answers", o->answers, "Apply this answers file (TOML; see README, \"Answers file\")")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--print-answers", o->print_answers,
                "Print the answers of the current installation, to script a reinstall");
  cmd->add_option("--install-certificate", o->install_certificate,
                  "Finish a subordinate CA with the certificate its parent signed")
      ->check(CLI::ExistingFile);
  cmd->add_option("--backup-passphrase-file", o->backup_passphrase_file,
                  "File holding the backup passphrase (mode restore-then-reinstall)")
      ->check(CLI::ExistingFile);
  cmd->callback([&global, &action, o] { action = [&global, o] { return run_setup(global, *o); }; });
}

}  // namespace signet::cli
