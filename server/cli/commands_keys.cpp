// signet keys generate | list | verify | show | rename | delete | export | import | quarantine
#include <iostream>
#include <memory>

#include "app.h"
#include "commands.h"
#include "render.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/keystore/findings_json.h"
#include "signet/keystore/key_file.h"
#include "terminal.h"

namespace signet::cli {

namespace {

using keystore::KeyVerdict;

constexpr std::size_t kMaxImportFileSize = 1u << 20;  // key files are a few KiB

struct KeysOptions {
  std::string name;
  std::string new_name;
  std::string algorithm;
  std::string comment;
  std::vector<std::string> names;
  std::filesystem::path in;
  std::filesystem::path out;
  std::optional<std::filesystem::path> export_passphrase_file;
  std::optional<std::filesystem::path> in_passphrase_file;
  bool all = false;
  bool quarantined = false;
  bool json = false;
  bool yes = false;
  std::int64_t quarantine_id = 0;
};

std::vector<const KeyVerdict*> pointers(const std::vector<KeyVerdict>& v) {
  std::vector<const KeyVerdict*> out;
  for (const auto& k : v) out.push_back(&k);
  return out;
}

void print_created(const KeyVerdict& v, const std::string& verb) {
  std::cout << verb << " key \"" << v.name << "\" (" << v.algorithm << ", SHA256:" << v.fingerprint_hex
            << ")";
  if (!v.certificates.empty()) std::cout << " with " << v.certificates.size() << " certificate(s)";
  std::cout << ".\n";
  print_findings(std::cout, v, "  ");  // warnings only: errors would have refused the key
}

int keys_generate(const GlobalOptions& g, const KeysOptions& o) {
  const auto algorithm = crypto::parse_algorithm(o.algorithm);
  if (!algorithm) {
    throw Error(ErrorKind::Malformed, "algorithm-unknown",
                "unknown algorithm \"" + o.algorithm + "\"; choose one of " + crypto::algorithm_list());
  }
  keystore::KeyStore::validate_name(o.name);
  keystore::KeyStore store = open_store(g);
  print_created(store.generate(o.name, *algorithm, o.comment), "Generated");
  return kExitOk;
}

std::string entries_word(std::size_t n) { return n == 1 ? "1 entry" : std::to_string(n) + " entries"; }

int keys_list_quarantined(keystore::KeyStore& store, const KeysOptions& o) {
  const auto entries = store.quarantine();
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& q : entries) list.push_back(to_json(q));
    std::cout << nlohmann::json{{"format", kJsonFormat}, {"quarantined", list}}.dump(2) << "\n";
    return kExitOk;
  }
  if (entries.empty()) {
    std::cout << "The quarantine is empty.\n";
    return kExitOk;
  }
  std::cout << entries_word(entries.size()) << " in the quarantine (refused by a restore, never offered):\n";
  print_quarantine(std::cout, entries, "  ");
  std::cout << "Remove an entry with `signet keys quarantine remove ID`; restoring the same backup again "
               "quarantines it again.\n";
  return kExitOk;
}

int keys_list(const GlobalOptions& g, const KeysOptions& o) {
  keystore::KeyStore store = open_store(g);
  if (o.quarantined) {
    if (!o.all) {
      throw Error(ErrorKind::Malformed, "usage", "--quarantined lists the quarantine and needs --all");
    }
    return keys_list_quarantined(store, o);
  }
  const keystore::IntegrityReport report = store.check_all();
  const std::vector<keystore::QuarantineEntry> quarantine = store.quarantine();
  const std::size_t quarantined = quarantine.size();
  if (o.json) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& v : report.reusable) keys.push_back(to_json(v));
    if (o.all) {
      for (const auto& v : report.excluded) keys.push_back(to_json(v));
    }
    nlohmann::json out{{"format", kJsonFormat},
                       {"keys", keys},
                       {"excluded_count", report.excluded.size()},
                       {"quarantined_count", quarantined}};
    if (o.all) {
      // Beside the excluded entries: what restores refused, never keys of this store.
      nlohmann::json list = nlohmann::json::array();
      for (const auto& q : quarantine) list.push_back(to_json(q));
      out["quarantined"] = list;
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<const KeyVerdict*> shown = pointers(report.reusable);
  if (o.all) {
    for (const auto& v : report.excluded) shown.push_back(&v);
    std::sort(shown.begin(), shown.end(), [](const KeyVerdict* a, const KeyVerdict* b) { return a->name < b->name; });
  }
  if (shown.empty()) {
    std::cout << (report.checked() == 0 ? "The key store holds no keys.\n" : "No reusable keys.\n");
  } else {
    print_key_table(std::cout, shown, o.all);
  }
  if (!o.all && !report.excluded.empty()) {
    std::cout << report.excluded.size() << (report.excluded.size() == 1 ? " entry is" : " entries are")
              << " not offered because it failed the integrity check: run `signet keys list --all` "
                 "for the reasons and fixes.\n";
  }
  if (quarantined > 0 && !o.all) {
    std::cout << quarantined << (quarantined == 1 ? " entry was" : " entries were")
              << " quarantined by a restore and will never be offered: run `signet keys quarantine "
                 "list` for the reasons and fixes.\n";
  }
  if (quarantined > 0 && o.all) {
    std::cout << "\nQuarantined by a restore (" << entries_word(quarantined)
              << ", never offered; remove one with `signet keys quarantine remove ID`):\n";
    print_quarantine(std::cout, quarantine, "  ");
  }
  return kExitOk;
}

int keys_verify(const GlobalOptions& g, const KeysOptions& o) {
  keystore::KeyStore store = open_store(g);
  std::vector<KeyVerdict> checked;
  if (o.names.empty()) {
    keystore::IntegrityReport report = store.check_all();
    checked = std::move(report.reusable);
    for (auto& v : report.excluded) checked.push_back(std::move(v));
    std::sort(checked.begin(), checked.end(), [](const KeyVerdict& a, const KeyVerdict& b) { return a.name < b.name; });
  } else {
    checked = store.check(o.names);
  }
  const bool all_valid =
      std::all_of(checked.begin(), checked.end(), [](const KeyVerdict& v) { return v.reusable(); });
  if (o.json) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& v : checked) keys.push_back(to_json(v));
    std::cout << nlohmann::json{{"format", kJsonFormat}, {"valid", all_valid}, {"keys", keys}}.dump(2) << "\n";
  } else {
    for (const auto& v : checked) {
      std::cout << v.name << ": " << status_of(v) << "\n";
      print_findings(std::cout, v, "  ");
    }
    if (checked.empty()) std::cout << "The key store holds no keys.\n";
  }
  return all_valid ? kExitOk : kExitInvalid;
}

int keys_show(const GlobalOptions& g, const KeysOptions& o) {
  keystore::KeyStore store = open_store(g);
  const std::vector<std::string> one{o.name};
  const KeyVerdict v = store.check(one).front();
  if (o.json) {
    std::cout << nlohmann::json{{"format", kJsonFormat}, {"key", to_json(v)}}.dump(2) << "\n";
  } else {
    print_key_details(std::cout, v);
  }
  return kExitOk;
}

int keys_rename(const GlobalOptions& g, const KeysOptions& o) {
  keystore::KeyStore::validate_name(o.new_name);
  keystore::KeyStore store = open_store(g);
  store.rename(o.name, o.new_name);
  std::cout << "Renamed key \"" << o.name << "\" to \"" << o.new_name << "\".\n";
  return kExitOk;
}

// `keys delete NAME` where NAME is no key but an entry of the quarantine: says which and how to
// remove it, instead of a bare "not found".
void refuse_quarantined_name(keystore::KeyStore& store, const std::string& name) {
  std::vector<keystore::QuarantineEntry> same_name;
  for (auto& q : store.quarantine()) {
    if (q.name == name) same_name.push_back(std::move(q));
  }
  if (same_name.empty()) return;
  std::string which;
  for (std::size_t i = 0; i < same_name.size(); ++i) {
    const auto& q = same_name[i];
    which += (i == 0 ? "" : "; ") + std::string("id ") + std::to_string(q.id) + ", " + q.algorithm + ", " +
             (q.fingerprint_hex.empty() ? "no fingerprint" : "SHA256:" + q.fingerprint_hex) + ", quarantined " +
             iso_time(q.quarantined_at);
  }
  const std::string how =
      same_name.size() == 1
          ? "remove it with `signet keys quarantine remove " + std::to_string(same_name.front().id) + "`"
          : "remove each with `signet keys quarantine remove ID` (`signet keys quarantine list` shows them)";
  throw Error(ErrorKind::NotFound, "key-quarantined",
              "\"" + name + "\" is not a key of this store: " +
                  (same_name.size() == 1 ? "it is an entry" : std::to_string(same_name.size()) + " entries") +
                  " in the quarantine (" + which +
                  "), a damaged copy that a restore refused; it was never offered. `signet keys delete` "
                  "removes keys only; " + how + ". Nothing was deleted.");
}

int keys_delete(const GlobalOptions& g, const KeysOptions& o) {
  keystore::KeyStore store = open_store(g);
  const auto record = store.record(o.name);
  if (!record) {
    refuse_quarantined_name(store, o.name);
    throw Error(ErrorKind::NotFound, "key-not-found",
                "no key named \"" + o.name + "\" (see `signet keys list --all`); nothing was deleted");
  }
  if (!o.yes) {
    const std::string fp = record->fingerprint ? to_hex(*record->fingerprint) : "none";
    const auto answer = prompt_line("Delete key \"" + o.name + "\" (" + record->algorithm + ", SHA256:" +
                                    fp + ") with its certificates? This cannot be undone; export "
                                    "it first if it may be needed. Type the key name to confirm: ");
    if (!answer) {
      throw Error(ErrorKind::PolicyDenied, "confirmation-required",
                  "deleting a key needs confirmation and there is no terminal: pass --yes");
    }
    if (*answer != o.name) {
      std::cout << "Not deleted.\n";
      return kExitError;
    }
  }
  store.remove(o.name);
  std::cout << "Deleted key \"" << o.name << "\".\n";
  return kExitOk;
}

int keys_export(const GlobalOptions& g, const KeysOptions& o) {
  keystore::KeyStore store = open_store(g);
  const keystore::UnlockedKey key = store.unlock_key(o.name);  // refuses an invalid entry
  const Passphrase passphrase = obtain_passphrase(o.export_passphrase_file, "export passphrase", true,
                                                  "--export-passphrase-file FILE");
  if (passphrase.size() < keystore::kMinPassphraseLength) {
    throw Error(ErrorKind::PolicyDenied, "passphrase-too-short",
                "the export passphrase needs at least " + std::to_string(keystore::kMinPassphraseLength) +
                    " characters: this file will hold a private key");
  }
  const Bytes p12 = keystore::make_pkcs12(key.key.get(), key.certificates, o.name, passphrase);
  file::write_atomic(o.out, p12, 0600, /*overwrite=*/false);
  std::cout << "Exported key \"" << o.name << "\" with " << key.certificates.size()
            << " certificate(s) to " << o.out.string() << " (PKCS#12, AES-256, mode 0600).\n";
  std::cerr << "signet: warning: " << o.out.string()
            << " holds the private key: whoever has this file and its passphrase can impersonate "
               "its owner. Keep it offline and delete it when it is no longer needed.\n";
  return kExitOk;
}

int keys_quarantine_list(const GlobalOptions& g, const KeysOptions& o) {
  keystore::KeyStore store = open_store(g);
  return keys_list_quarantined(store, o);
}

int keys_quarantine_remove(const GlobalOptions& g, const KeysOptions& o) {
  keystore::KeyStore store = open_store(g);
  const keystore::QuarantineEntry q = store.remove_quarantined(o.quarantine_id);
  std::cout << "Removed entry " << q.id << " (\"" << q.name << "\", " << q.algorithm << ", "
            << (q.fingerprint_hex.empty() ? "no fingerprint" : "SHA256:" + q.fingerprint_hex)
            << ") from the quarantine. Keys and certificates are unchanged. Restoring the same backup "
               "again would quarantine it again.\n";
  return kExitOk;
}

std::string default_import_name(const std::filesystem::path& in) {
  std::string stem = in.stem().string();
  return stem.empty() ? "imported" : stem;
}

int keys_import(const GlobalOptions& g, const KeysOptions& o) {
  const std::string name = o.name.empty() ? default_import_name(o.in) : o.name;
  keystore::KeyStore::validate_name(name);
  const Bytes contents = file::read(o.in, kMaxImportFileSize);
  const keystore::PassphraseSource ask = [&o] {
    return obtain_passphrase(o.in_passphrase_file, "passphrase of " + o.in.string(), false,
                             "--in-passphrase-file FILE");
  };
  // Parse first: a file without a private key fails before the store is even unlocked.
  keystore::KeyMaterial material = keystore::parse_key_file(contents, o.in.string(), ask);
  keystore::KeyStore store = open_store(g);
  print_created(store.import(name, std::move(material), keystore::kSourceImported, o.comment), "Imported");
  return kExitOk;
}

}  // namespace

void add_keys_commands(CLI::App& root, const GlobalOptions& global, Action& action) {
  auto o = std::make_shared<KeysOptions>();
  CLI::App* keys = root.add_subcommand("keys", "Generate, list, verify, import and export keys");
  keys->require_subcommand(1);
  auto bind = [&global, &action, o](CLI::App* cmd, CommandFn<KeysOptions> fn) { bind_command(cmd, global, action, o, fn); };

  CLI::App* generate = keys->add_subcommand("generate", "Generate a new key in the store");
  generate->add_option("--name", o->name, "Unique name of the new key")->required();
  generate->add_option("--algorithm", o->algorithm, "One of " + crypto::algorithm_list())->required();
  generate->add_option("--comment", o->comment, "Free text kept with the key");
  bind(generate, keys_generate);

  CLI::App* list = keys->add_subcommand(
      "list", "List the keys that pass the full integrity check now (--all: every entry, with findings)");
  list->add_flag("--all", o->all, "Show every entry with its status and findings");
  list->add_flag("--json", o->json, "Print JSON (see README, \"JSON output\")");
  list->add_flag("--quarantined", o->quarantined,
                 "With --all: only the quarantine, as `signet keys quarantine list` shows it");
  bind(list, keys_list);

  CLI::App* verify = keys->add_subcommand(
      "verify", "Run the full integrity check on the named keys (default: all); exit 3 if any is invalid");
  verify->add_option("names", o->names, "Key names");
  verify->add_flag("--json", o->json, "Print JSON");
  bind(verify, keys_verify);

  CLI::App* show = keys->add_subcommand("show", "Show one key, its certificates and its findings");
  show->add_option("name", o->name, "Key name")->required();
  show->add_flag("--json", o->json, "Print JSON");
  bind(show, keys_show);

  CLI::App* rename = keys->add_subcommand("rename", "Rename a key");
  rename->add_option("old", o->name, "Current name")->required();
  rename->add_option("new", o->new_name, "New name")->required();
  bind(rename, keys_rename);

  CLI::App* del = keys->add_subcommand("delete", "Delete a key and its certificates (asks first)");
  del->add_option("name", o->name, "Key name")->required();
  del->add_flag("--yes,-y", o->yes, "Do not ask for confirmation");
  bind(del, keys_delete);

  CLI::App* exp = keys->add_subcommand("export", "Export a valid key with its certificates as PKCS#12");
  exp->add_option("name", o->name, "Key name")->required();
  exp->add_option("--out", o->out, "PKCS#12 file to write (must not exist; written 0600)")->required();
  exp->add_option("--export-passphrase-file", o->export_passphrase_file,
                  "File holding the passphrase that protects the PKCS#12 (else asked twice)")
      ->check(CLI::ExistingFile);
  bind(exp, keys_export);

  CLI::App* imp = keys->add_subcommand(
      "import", "Import a key: PKCS#12, PKCS#8 (PEM/DER, encrypted or not), or PEM key + certificates");
  imp->add_option("file", o->in, "Key file")->required();
  imp->add_option("--name", o->name, "Name for the key (default: the file name without extension)");
  imp->add_option("--in-passphrase-file", o->in_passphrase_file,
                  "File holding the passphrase of an encrypted key file (else asked when needed)")
      ->check(CLI::ExistingFile);
  imp->add_option("--comment", o->comment, "Free text kept with the key");
  bind(imp, keys_import);

  CLI::App* quarantine = keys->add_subcommand(
      "quarantine", "The entries restores refused (never offered): list them, remove one");
  quarantine->require_subcommand(1);
  CLI::App* qlist = quarantine->add_subcommand(
      "list", "List the quarantined entries with their ids, fingerprints, findings and fixes");
  qlist->add_flag("--json", o->json, "Print JSON (see README, \"JSON output\")");
  bind(qlist, keys_quarantine_list);
  CLI::App* qremove = quarantine->add_subcommand(
      "remove", "Remove one quarantined entry by its id (audited; keys are untouched)");
  qremove->add_option("id", o->quarantine_id, "The entry's id, as `signet keys quarantine list` shows it")
      ->required();
  bind(qremove, keys_quarantine_remove);
}

}  // namespace signet::cli
