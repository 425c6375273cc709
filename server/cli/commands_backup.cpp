// signet backup create | inspect | restore
#include <stdlib.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "app.h"
#include "commands.h"
#include "render.h"
#include "signet/backup/backup.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "signet/setup/daemon_config.h"
#include "signet/setup/inspect.h"

namespace signet::cli {

namespace {

namespace fs = std::filesystem;

struct BackupOptions {
  fs::path file;
  std::optional<fs::path> backup_passphrase_file;
  std::optional<fs::path> config;  // create: the daemon configuration to carry
  bool insecure_fast_kdf = false;
  bool dry_run = false;
  bool merge_clients = false;  // restore: add the backup's API clients to a store that has its own
  bool json = false;
};

constexpr const char* kBackupPassphraseOption = "--backup-passphrase-file FILE";

Passphrase backup_passphrase(const BackupOptions& o, bool confirm) {
  return obtain_passphrase(o.backup_passphrase_file, "backup passphrase", confirm, kBackupPassphraseOption);
}

using ScratchDir = file::PrivateTempDir;

int backup_create(const GlobalOptions& g, const BackupOptions& o) {
  keystore::KeyStore store = open_store(g);
  const Passphrase passphrase = backup_passphrase(o, true);
  const auto kdf = o.insecure_fast_kdf ? crypto::ScryptParams::insecure_for_tests() : crypto::ScryptParams::strong();
  // The installation's configuration travels in the backup: the one named, else the data
  // directory's signetd.toml (where setup writes it).
  const fs::path config_path = o.config.value_or(g.data_dir / "signetd.toml");
  std::optional<std::string> configuration;
  if (o.config || fs::exists(config_path)) {
    const Bytes text = file::read(config_path, 1u << 20);
    configuration.emplace(text.begin(), text.end());
    try {
      (void)daemon::parse_config(*configuration, config_path);
    } catch (const Error& e) {
      std::cerr << "signet: warning: " << config_path.string() << " does not load (" << e.what()
                << "); it is carried as it is, but a restore-then-reinstall will refuse it unless its answers say "
                   "configuration_from_backup = false. Fix it and back up again.\n";
    }
  }
  const keystore::BackupResult result = store.create_backup(o.file, passphrase, kdf, SIGNET_VERSION, configuration);
  const auto manifest = nlohmann::json::parse(result.manifest_json);
  if (o.json) {
    std::cout << nlohmann::json{{"format", kJsonFormat}, {"file", o.file.string()}, {"bytes", result.bytes},
                                {"manifest", manifest}}.dump(2) << "\n";
  } else {
    std::cout << "Wrote backup " << o.file.string() << " (" << result.bytes << " bytes, mode 0600): "
              << manifest["counts"]["keys"].get<std::size_t>() << " key(s), "
              << manifest["counts"]["certificates"].get<std::size_t>() << " certificate(s), "
              << manifest["counts"]["requests"].get<std::size_t>() << " request(s), the whole database";
    if (configuration) {
      std::cout << ", and the installation's configuration " << config_path.string() << ".\n";
    } else {
      std::cout << ".\nNo daemon configuration was found at " << config_path.string()
                << ": the backup carries no installation settings (name one with --config FILE).\n";
    }
  }
  std::cerr << "signet: warning: whoever holds " << o.file.string()
            << " and its passphrase can impersonate this CA. Store it offline, apart from the "
               "passphrase.\n";
  return kExitOk;
}

void print_manifest(const nlohmann::json& m) {
  std::cout << "Backup id:    " << m.value("backup_id", "") << "\n"
            << "Made:         " << m.value("created", "") << " by signet " << m.value("tool_version", "") << "\n"
            << "Store id:     " << m.value("store_id", "") << "\n"
            << "Schema:       version " << m.value("schema_version", 0) << "\n";
  if (m.contains("counts")) {
    std::cout << "Contents:     " << m["counts"].value("keys", 0) << " key(s), "
              << m["counts"].value("certificates", 0) << " certificate(s), "
              << m["counts"].value("requests", 0) << " request(s)\n";
  }
  const setup::BackupInstallation inst = setup::installation_of(m);
  if (!inst.answers && !inst.configuration) {
    std::cout << "Installation: none recorded (a restore-then-reinstall starts from the defaults)\n";
    return;
  }
  std::cout << "Installation: CA key \"" << inst.ca_key_name << "\"\n";
  std::optional<daemon::Config> config;
  if (inst.configuration) {
    try {
      config = daemon::parse_config(*inst.configuration, "the backup's signetd.toml");
    } catch (const Error& e) {
      std::cout << "  configuration: unreadable (" << e.what() << ")\n";
    }
  }
  if (config) {
    std::cout << "  HTTPS:           " << config->https_address << ":" << config->https_port << "\n"
              << "  HTTP:            " << config->http_address << ":" << config->http_port << "\n"
              << "  public base URL: " << config->base_url
              << (setup::is_loopback_url(config->base_url) ? "  (a loopback address: clients elsewhere cannot reach it)" : "")
              << "\n";
    std::string profiles;
    for (const auto& [name, profile] : config->profiles) profiles += (profiles.empty() ? "" : ", ") + name;
    std::cout << "  profiles:        " << (profiles.empty() ? "the built-in ones" : profiles) << "\n"
              << "  CRL:             valid " << config->crl_validity.count() << " s" << (config->delta_crl ? ", delta CRLs on" : "")
              << "\n  OCSP:            valid " << config->ocsp_validity.count() << " s\n"
              << "  log level:       " << config->log_level << "\n";
  } else if (inst.answers) {
    const auto& d = inst.answers->daemon;
    std::cout << "  HTTPS:           " << d.https_address << ":" << d.https_port << "\n"
              << "  HTTP:            " << d.http_address << ":" << d.http_port << "\n"
              << "  public base URL: " << d.public_base_url << "\n";
  }
  if (inst.answers) {
    std::string names;
    for (const auto& n : inst.answers->daemon.tls_names) names += (names.empty() ? "" : ", ") + n;
    std::cout << "  TLS names:       " << names << "\n";
  }
}

int backup_inspect(const GlobalOptions&, const BackupOptions& o) {
  backup::check_is_backup(o.file);  // a .req or key file: say so before asking for a passphrase
  const Passphrase passphrase = backup_passphrase(o, false);
  ScratchDir scratch;
  const backup::OpenedBackup opened = backup::OpenedBackup::open(o.file, passphrase, scratch.path());
  const auto& verdicts = opened.verdicts();
  const bool all_valid = std::all_of(verdicts.begin(), verdicts.end(), [](const auto& v) { return v.reusable(); });
  if (o.json) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& v : verdicts) keys.push_back(to_json(v));
    std::cout << nlohmann::json{{"format", kJsonFormat}, {"authenticated", true}, {"manifest", opened.manifest()},
                                {"valid", all_valid}, {"keys", keys}}.dump(2) << "\n";
  } else {
    std::cout << o.file.string() << ": authenticated, complete.\n";
    print_manifest(opened.manifest());
    for (const auto& v : verdicts) {
      std::cout << "  " << v.name << " (" << v.algorithm << "): " << status_of(v) << "\n";
      print_findings(std::cout, v, "    ");
    }
  }
  return all_valid ? kExitOk : kExitInvalid;
}

void print_items(const std::string& title, const std::vector<keystore::RestoreItem>& items, bool findings) {
  std::cout << title << ": " << items.size() << "\n";
  for (const auto& item : items) {
    std::cout << "  " << item.verdict.name << " (" << item.verdict.algorithm << ", SHA256:"
              << (item.verdict.fingerprint_hex.empty() ? "none" : item.verdict.fingerprint_hex.substr(0, 16)) << ")";
    if (!item.target_name.empty() && item.target_name != item.verdict.name) std::cout << " as \"" << item.target_name << "\"";
    if (!item.note.empty()) std::cout << ": " << item.note;
    std::cout << "\n";
    if (findings) print_findings(std::cout, item.verdict, "    ");
  }
}

nlohmann::json items_json(const std::vector<keystore::RestoreItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) {
    nlohmann::json j = to_json(item.verdict);
    j["target_name"] = item.target_name;
    j["note"] = item.note;
    out.push_back(j);
  }
  return out;
}

nlohmann::json clients_json(const std::vector<keystore::RestoreClient>& clients) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : clients) {
    nlohmann::json j = {{"name", c.name}, {"id", c.id}, {"admin", c.admin}, {"profiles", c.profiles}};
    if (!c.note.empty()) j["note"] = c.note;
    out.push_back(j);
  }
  return out;
}

void print_clients(const std::string& title, const std::vector<keystore::RestoreClient>& clients) {
  std::cout << title << ": " << clients.size() << "\n";
  for (const auto& c : clients) {
    std::string profiles;
    for (const std::string& p : c.profiles) profiles += (profiles.empty() ? "" : ", ") + p;
    std::cout << "  " << c.name << " (id " << c.id << (c.admin ? ", ADMIN" : "") << ", profiles " << profiles << ")";
    if (!c.note.empty()) std::cout << ": " << c.note;
    std::cout << "\n";
  }
}

void print_report(const keystore::RestoreReport& r, const fs::path& file, const nlohmann::json& manifest, bool json) {
  if (json) {
    nlohmann::json tables = nlohmann::json::object();
    for (const auto& [t, n] : r.tables) tables[t] = n;
    nlohmann::json skipped_tables = nlohmann::json::array();
    for (const auto& t : r.skipped_tables) skipped_tables.push_back({{"name", t.name}, {"reason", t.reason}});
    std::cout << nlohmann::json{{"format", kJsonFormat}, {"dry_run", r.dry_run}, {"backup", file.string()},
                                {"manifest", manifest}, {"added", items_json(r.added)},
                                {"skipped", items_json(r.skipped)}, {"quarantined", items_json(r.quarantined)},
                                {"already_quarantined", items_json(r.already_quarantined)}, {"tables", tables},
                                {"skipped_tables", skipped_tables},
                                {"clients", {{"added", clients_json(r.clients_added)},
                                             {"skipped", clients_json(r.clients_skipped)},
                                             {"store_had_clients", r.store_had_clients},
                                             {"needs_merge_clients", r.needs_merge_clients}}}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << (r.dry_run ? "Dry run: nothing was written. Restoring " : "Restored ") << file.string()
            << (r.dry_run ? " would do this:\n" : ":\n");
  print_items(r.dry_run ? "Would add" : "Added", r.added, false);
  print_items(r.dry_run ? "Would skip (already present)" : "Skipped (already present)", r.skipped, false);
  print_items(r.dry_run ? "Would quarantine (invalid, never offered)" : "Quarantined (invalid, never offered)",
              r.quarantined, true);
  if (!r.already_quarantined.empty()) print_items("Already quarantined", r.already_quarantined, false);
  print_clients(r.dry_run ? "API clients it would add" : "API clients added", r.clients_added);
  if (!r.clients_added.empty() && !r.store_had_clients) {
    std::cout << "  (this store had no API clients: the backup's come with it, and their tokens and client "
                 "certificates work here)\n";
  }
  if (!r.clients_skipped.empty()) {
    print_clients(r.dry_run ? "API clients it would skip" : "API clients skipped", r.clients_skipped);
  }
  if (r.needs_merge_clients) {
    std::cout << "This store has API clients of its own: a real run is refused unless --merge-clients is given, "
                 "to add the clients above (an ADMIN client can manage every client and revoke any "
                 "certificate).\n";
  }
  for (const auto& [t, n] : r.tables) {
    std::cout << "Table " << t << ": " << n << (r.dry_run ? " row(s) in the backup" : " row(s) added") << "\n";
  }
  for (const auto& t : r.skipped_tables) {
    std::cout << "Table " << t.name << " left out: " << t.reason << "\n";
  }
  if (!r.quarantined.empty()) {
    std::cout << "Quarantined entries are listed, with their fixes, by `signet keys quarantine list`.\n";
  }
}

// Copies the store in `from` into the empty directory `to` without writing anything in `from`
// (immutable when no other connection has it open, else read-only beside the writer).
void copy_store_for_dry_run(const fs::path& from, const fs::path& to) {
  const fs::path source = keystore::KeyStore::database_path(from);
  std::error_code ec;
  const bool in_use = fs::exists(source.string() + "-wal", ec) || fs::exists(source.string() + "-shm", ec);
  db::Database src = db::Database::open(source, in_use ? db::OpenMode::ReadOnly : db::OpenMode::Immutable);
  db::Database dst = db::Database::open(keystore::KeyStore::database_path(to), db::OpenMode::ReadWriteCreate);
  db::copy_into(src, dst, "copying " + source.string() + " for the dry run");
}

void remove_new_store(const fs::path& dir) {
  const fs::path db = keystore::KeyStore::database_path(dir);
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((db.string() + suffix).c_str());
}

int backup_restore(const GlobalOptions& g, const BackupOptions& o) {
  const bool store_exists = fs::exists(keystore::KeyStore::database_path(g.data_dir));
  const bool dir_exists = fs::exists(g.data_dir);
  backup::check_is_backup(o.file);  // a .req or key file: say so before asking for a passphrase
  const Passphrase passphrase = backup_passphrase(o, false);
  // Authenticate and check the whole backup before the target is touched.
  std::optional<ScratchDir> scratch;
  fs::path scratch_dir = g.data_dir;
  if (!store_exists) {
    scratch.emplace();
    scratch_dir = scratch->path();
  }
  backup::OpenedBackup opened = backup::OpenedBackup::open(o.file, passphrase, scratch_dir);

  keystore::RestoreReport report;
  if (store_exists) {
    // A dry run writes nothing, not even the migration of an older store: it runs against a private
    // copy of the store (what it tries is rolled back there; a migration happens there too).
    std::optional<ScratchDir> dry_run_copy;
    GlobalOptions target = g;
    if (o.dry_run) {
      dry_run_copy.emplace();
      copy_store_for_dry_run(g.data_dir, dry_run_copy->path());
      target.data_dir = dry_run_copy->path();
    }
    keystore::KeyStore store =
        o.dry_run ? keystore::KeyStore::open(target.data_dir, obtain_passphrase(g.passphrase_file, "key store passphrase",
                                                                                false, kStorePassphraseOption))
                  : open_store(g);
    report = store.restore(opened, keystore::RestoreOptions{.dry_run = o.dry_run, .merge_clients = o.merge_clients});
  } else if (o.dry_run) {
    report = keystore::KeyStore::plan_restore_into_empty_store(opened);
    if (!o.json) {  // --json prints one JSON document and nothing else
      std::cout << "(" << g.data_dir.string() << " holds no store: a new one would be created.)\n";
    }
  } else {
    const Passphrase store_pass =
        obtain_passphrase(g.passphrase_file, "new key store passphrase", true, kStorePassphraseOption);
    // All or nothing: on failure the store this run created goes, and so does the directory if
    // this run made it (fs::remove leaves a directory that is not empty).
    auto remove_new_dir = [&g, dir_exists] {
      std::error_code ec;
      if (!dir_exists) fs::remove(g.data_dir, ec);
    };
    std::optional<keystore::KeyStore> store;
    try {
      store.emplace(keystore::KeyStore::create(g.data_dir, store_pass));
    } catch (...) {
      remove_new_dir();
      throw;
    }
    store->set_actor(audit_actor());
    try {
      report = store->restore(opened, false);
    } catch (...) {
      store.reset();  // close it before its files go
      remove_new_store(g.data_dir);
      remove_new_dir();
      throw;
    }
  }
  print_report(report, o.file, opened.manifest(), o.json);
  return kExitOk;
}

}  // namespace

void add_backup_commands(CLI::App& root, const GlobalOptions& global, Action& action) {
  auto o = std::make_shared<BackupOptions>();
  CLI::App* backup = root.add_subcommand("backup", "Back up the whole store; inspect and restore backups");
  backup->require_subcommand(1);
  auto bind = [&global, &action, o](CLI::App* cmd, CommandFn<BackupOptions> fn) { bind_command(cmd, global, action, o, fn); };
  auto passphrase_option = [&o](CLI::App* cmd) {
    cmd->add_option("--backup-passphrase-file", o->backup_passphrase_file,
                    "File holding the backup passphrase (else asked on the terminal)")
        ->check(CLI::ExistingFile);
  };

  CLI::App* create = backup->add_subcommand(
      "create", "Write an encrypted, authenticated backup of the whole store (safe while signetd runs)");
  create->add_option("--out", o->file, "Backup file to write (must not exist; written 0600)")->required();
  passphrase_option(create);
  create->add_option("--config", o->config,
                     "The daemon configuration to carry in the backup (default: DATA_DIR/signetd.toml)")
      ->check(CLI::ExistingFile);
  create->add_flag("--insecure-fast-kdf", o->insecure_fast_kdf, "Low-cost scrypt. FOR TESTS ONLY");
  create->add_flag("--json", o->json, "Print JSON");
  bind(create, backup_create);

  CLI::App* inspect = backup->add_subcommand(
      "inspect", "Authenticate a backup and show its manifest and a verdict per key; changes nothing");
  inspect->add_option("file", o->file, "Backup file")->required();
  passphrase_option(inspect);
  inspect->add_flag("--json", o->json, "Print JSON");
  bind(inspect, backup_inspect);

  CLI::App* restore = backup->add_subcommand(
      "restore", "Restore a backup into the data dir's store (created if missing): all or nothing");
  restore->add_option("file", o->file, "Backup file")->required();
  passphrase_option(restore);
  restore->add_flag("--dry-run", o->dry_run,
                    "Show what would be added, skipped and quarantined (keys, API clients, tables); write nothing");
  restore->add_flag("--merge-clients", o->merge_clients,
                    "Add the backup's API clients to a store that has API clients of its own (a new or "
                    "client-less store takes them without it)");
  restore->add_flag("--json", o->json, "Print JSON");
  bind(restore, backup_restore);
}

}  // namespace signet::cli
