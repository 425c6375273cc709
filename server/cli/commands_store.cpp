// signet store init | passwd | check | audit
#include <sys/stat.h>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "app.h"
#include "commands.h"
#include "render.h"
#include "signet/core/error.h"
#include "signet/keystore/upgrade_copy.h"

namespace signet::cli {

namespace {

// What an operator may do with the copies an upgrade left (README, "Upgrades").
constexpr const char* kUpgradeCopiesAdvice =
    "verified copies of the store as it was before an upgrade migrated it. Remove them once you are "
    "satisfied with the upgrade. To go back: stop signetd, replace signet.db with the copy (remove "
    "signet.db-wal and signet.db-shm too), and run the Signet that wrote that schema version";

std::string octal_mode(unsigned mode) {
  char out[8];
  std::snprintf(out, sizeof out, "%04o", mode & 07777u);
  return out;
}

// A copy's time as its name has it (20261205T171500Z), in RFC 3339 like every time in --json output.
std::string rfc3339_of_copy_time(const std::string& t) {
  if (t.size() != 16) return t;
  return t.substr(0, 4) + "-" + t.substr(4, 2) + "-" + t.substr(6, 2) + "T" + t.substr(9, 2) + ":" + t.substr(11, 2) +
         ":" + t.substr(13, 2) + "Z";
}

struct StoreOptions {
  bool insecure_fast_kdf = false;
  std::optional<std::filesystem::path> new_passphrase_file;
  bool json = false;
};

crypto::ScryptParams kdf_for(const StoreOptions& o) {
  return o.insecure_fast_kdf ? crypto::ScryptParams::insecure_for_tests() : crypto::ScryptParams::strong();
}

void warn_if_weak(const crypto::ScryptParams& kdf) {
  if (kdf.weaker_than_default()) {
    std::cerr << "signet: warning: this store's passphrase is protected by a low-cost KDF (scrypt N="
              << kdf.n << "), meant for tests only; run `signet store passwd` to re-wrap it with "
              << "the strong default\n";
  }
}

int store_init(const GlobalOptions& g, const StoreOptions& o) {
  const Passphrase passphrase =
      obtain_passphrase(g.passphrase_file, "new key store passphrase", true, kStorePassphraseOption);
  keystore::KeyStore store = keystore::KeyStore::create(g.data_dir, passphrase, kdf_for(o));
  const keystore::StoreInfo info = store.info();
  std::cout << "Created key store " << info.path.string() << " (store id " << info.store_id_hex << ").\n"
            << "Keep the passphrase safe: without it the keys cannot be used, and there is no "
               "recovery.\n";
  warn_if_weak(info.kdf);
  return kExitOk;
}

int store_passwd(const GlobalOptions& g, const StoreOptions& o) {
  keystore::KeyStore store = open_store(g);
  const Passphrase fresh = obtain_passphrase(o.new_passphrase_file, "new key store passphrase", true,
                                             "--new-passphrase-file FILE");
  store.change_passphrase(fresh, kdf_for(o));
  std::cout << "The key store passphrase was changed (the data key was re-wrapped; keys are "
               "unchanged).\n";
  warn_if_weak(kdf_for(o));
  return kExitOk;
}

int store_check(const GlobalOptions& g, const StoreOptions& o) {
  keystore::KeyStore store = open_store(g);  // runs PRAGMA quick_check and the schema checks
  const keystore::StoreInfo info = store.info();
  const keystore::IntegrityReport report = store.check_all();

  nlohmann::json warnings = nlohmann::json::array();
  if (info.kdf.weaker_than_default()) {
    warnings.push_back({{"code", "kdf-weak"},
                        {"message", "the passphrase is protected by a low-cost KDF (scrypt N=" +
                                        std::to_string(info.kdf.n) + ") meant for tests only"},
                        {"fix", "run `signet store passwd` to re-wrap the data key with the strong default"}});
  }
  struct stat st {};
  if (::stat(info.path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    warnings.push_back({{"code", "store-file-permissions"},
                        {"message", info.path.string() + " is accessible to group or others"},
                        {"fix", "run `chmod 600 " + info.path.string() + "`"}});
  }

  // The copies made before migrations (a copy is the whole store: it must be private too).
  const std::vector<keystore::UpgradeCopy> copies = keystore::list_upgrade_copies(g.data_dir);
  for (const auto& c : copies) {
    if (!c.problem.empty()) {
      warnings.push_back({{"code", "upgrade-copy-invalid"},
                          {"message", c.path.string() + " is named as a copy of the store made before an upgrade, but " +
                                          c.problem + ": it cannot be used to go back"},
                          {"fix", "remove it (`rm " + c.path.string() + "`); take a backup with `signet backup create` "
                                  "if you want a way back"}});
    }
    if ((c.mode & 0077) != 0) {
      warnings.push_back({{"code", "upgrade-copy-permissions"},
                          {"message", c.path.string() + " is accessible to group or others"},
                          {"fix", "run `chmod 600 " + c.path.string() + "`"}});
    }
  }

  if (o.json) {
    nlohmann::json upgrade_copies = nlohmann::json::array();
    for (const auto& c : copies) {
      upgrade_copies.push_back({{"file", c.path.filename().string()},
                                {"path", c.path.string()},
                                {"schema_version", c.name.schema_version},
                                {"taken", rfc3339_of_copy_time(c.name.taken_at)},
                                {"bytes", c.size},
                                {"mode", octal_mode(c.mode)},
                                {"valid", c.problem.empty()}});
    }
    nlohmann::json keys = nlohmann::json::array();
    for (const auto* list : {&report.reusable, &report.excluded}) {
      for (const auto& v : *list) keys.push_back(to_json(v));
    }
    nlohmann::json doc = {{"format", kJsonFormat},
                          {"store", info.path.string()},
                          {"store_id", info.store_id_hex},
                          {"schema_version", info.schema_version},
                          {"kdf", {{"algorithm", "scrypt"}, {"n", info.kdf.n}, {"r", info.kdf.r}, {"p", info.kdf.p}}},
                          {"created", iso_time(info.created_at)},
                          {"keys_total", report.checked()},
                          {"keys_valid", report.reusable.size()},
                          {"keys_invalid", report.excluded.size()},
                          {"warnings", warnings},
                          {"upgrade_copies", upgrade_copies},
                          {"keys", keys}};
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << "Store:       " << info.path.string() << "\n"
              << "Store id:    " << info.store_id_hex << "\n"
              << "Schema:      version " << info.schema_version << "\n"
              << "KDF:         scrypt N=" << info.kdf.n << " r=" << info.kdf.r << " p=" << info.kdf.p << "\n"
              << "Created:     " << iso_time(info.created_at) << "\n"
              << "Database:    passed SQLite's quick_check\n"
              << "Keys:        " << report.checked() << " (" << report.reusable.size() << " valid, "
              << report.excluded.size() << " invalid)\n";
    if (copies.empty()) {
      std::cout << "Upgrade copies: none\n";
    } else {
      std::cout << "Upgrade copies: " << copies.size() << "\n";
      for (const auto& c : copies) {
        std::cout << "  " << c.path.filename().string() << "  schema " << c.name.schema_version << "  " << c.size
                  << " bytes  mode " << octal_mode(c.mode) << (c.problem.empty() ? "" : "  NOT A VALID COPY") << "\n";
      }
      const bool all_valid =
          std::all_of(copies.begin(), copies.end(), [](const keystore::UpgradeCopy& c) { return c.problem.empty(); });
      std::cout << (all_valid ? "  These are " : "  Those not marked NOT A VALID COPY are ") << kUpgradeCopiesAdvice
                << ".\n";
    }
    for (const auto& w : warnings) {
      std::cout << "warning [" << w["code"].get<std::string>() << "] " << w["message"].get<std::string>()
                << "\n  fix: " << w["fix"].get<std::string>() << "\n";
    }
    for (const auto& v : report.excluded) {
      std::cout << "invalid key \"" << v.name << "\":\n";
      print_findings(std::cout, v, "  ");
    }
  }
  return report.excluded.empty() ? kExitOk : kExitInvalid;
}

// The audit log, oldest first: every change to the store with who, what and when (never a secret).
int store_audit(const GlobalOptions& g, const StoreOptions& o) {
  keystore::KeyStore store = open_store(g);
  const std::vector<keystore::AuditEntry> log = store.audit_log();
  if (o.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& e : log) {
      rows.push_back({{"at", iso_time(e.at)},
                      {"actor", e.actor},
                      {"action", e.action},
                      {"subject", e.subject},
                      {"detail", e.detail}});
    }
    std::cout << nlohmann::json{{"format", kJsonFormat}, {"audit", rows}}.dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& e : log) {
    std::cout << iso_time(e.at) << "  " << e.actor << "  " << e.action;
    if (!e.subject.empty()) std::cout << "  \"" << e.subject << "\"";
    if (!e.detail.empty()) std::cout << "  " << e.detail;
    std::cout << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_store_commands(CLI::App& root, const GlobalOptions& global, Action& action) {
  auto opts = std::make_shared<StoreOptions>();
  CLI::App* store = root.add_subcommand("store", "Create, re-key and check the key store");
  store->require_subcommand(1);

  CLI::App* init = store->add_subcommand("init", "Create a new, empty key store in the data directory");
  init->add_flag("--insecure-fast-kdf", opts->insecure_fast_kdf,
                 "Use a low-cost scrypt setting. FOR TESTS ONLY: `store check` warns about it");
  init->callback([&global, &action, opts] { action = [&global, opts] { return store_init(global, *opts); }; });

  CLI::App* passwd = store->add_subcommand("passwd", "Change the key store passphrase (re-wraps the data key only)");
  passwd->add_option("--new-passphrase-file", opts->new_passphrase_file,
                     "File holding the new passphrase (else it is asked twice on the terminal)")
      ->check(CLI::ExistingFile);
  passwd->add_flag("--insecure-fast-kdf", opts->insecure_fast_kdf, "Use a low-cost scrypt setting. FOR TESTS ONLY");
  passwd->callback([&global, &action, opts] { action = [&global, opts] { return store_passwd(global, *opts); }; });

  CLI::App* check = store->add_subcommand(
      "check", "Check the database and every key; exit 3 when any key is invalid");
  check->add_flag("--json", opts->json, "Print JSON (see README, \"JSON output\")");
  check->callback([&global, &action, opts] { action = [&global, opts] { return store_check(global, *opts); }; });

  CLI::App* audit = store->add_subcommand("audit", "Show the audit log: every change, who made it and when");
  audit->add_flag("--json", opts->json, "Print JSON (see README, \"JSON output\")");
  audit->callback([&global, &action, opts] { action = [&global, opts] { return store_audit(global, *opts); }; });
}

}  // namespace signet::cli
