// signet acme eab add | list | remove, signet acme accounts list | deactivate: the operator's side
// of ACME. External account binding keys (RFC 8555 7.3.4) let only the clients the operator gave a
// key id and HMAC key create accounts (with [acme] eab_required = true), and choose the profile
// their orders use. They work on the same store as signetd, which sees a change at its next
// request.
//
// The HMAC key is printed once, by `eab add`; the store keeps it sealed under a key derived from
// its data key (KeyStore::derive_secret), so a copy of the database alone does not give it away.
#include <iostream>
#include <map>
#include <memory>

#include "app.h"
#include "commands.h"
#include "render.h"
#include "signet/acme/jws.h"
#include "signet/acme/store.h"
#include "signet/core/error.h"
#include "signet/crypto/primitives.h"
#include "signet/issuance/ledger.h"
#include "signet/issuance/profile.h"
#include "signet/keystore/store.h"
#include "signet/setup/daemon_config.h"

namespace signet::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kHmacKeyBytes = 32;
constexpr const char* kLedgerConfigHelp =
    "signetd.toml whose [database] holds the ledger (default: DATA_DIR/signetd.toml)";

struct AcmeOptions {
  std::string name;
  std::optional<std::string> profile;
  std::optional<fs::path> config;
  std::string kid;
  std::string id;
  bool json = false;
};

// The store, opened with the passphrase (which authenticates the operator), closed again once the
// EAB sealing key is derived; then the ACME tables through signetd's ledger (the store's file, or
// the PostgreSQL database of [database] url).
struct OpenedAcme {
  SecretBytes seal_key;
  std::unique_ptr<issuance::Ledger> ledger;
  std::unique_ptr<acme::AcmeStore> store;
};

OpenedAcme open_acme(const GlobalOptions& g, const AcmeOptions& o) {
  OpenedAcme out;
  {
    keystore::KeyStore store = open_store(g);
    out.seal_key = store.derive_secret(acme::kEabSealPurpose);
    out.ledger = open_configured_ledger(g, store, o.config);
  }
  out.store = std::make_unique<acme::AcmeStore>(*out.ledger);
  return out;
}

// The configuration EAB keys are made for: signetd.toml (--config, or the data dir's), or the
// built-in defaults while there is none yet.
struct ConfigView {
  daemon::Config config;
  fs::path path;
  bool configured = false;
};

ConfigView read_config(const GlobalOptions& g, const AcmeOptions& o) {
  ConfigView v;
  v.path = o.config.value_or(g.data_dir / "signetd.toml");
  v.configured = o.config.has_value() || fs::exists(v.path);
  if (v.configured) {
    v.config = daemon::load_config(v.path);
  } else {
    v.config.profiles = issuance::default_profiles();
  }
  return v;
}

// The profile a new key gives its account's orders: --profile, else [acme] profile; it must exist
// where signetd will look it up.
std::string checked_profile(const ConfigView& v, const AcmeOptions& o) {
  const std::string name = o.profile.value_or(v.config.acme_profile);
  if (v.config.profiles.contains(name)) return name;
  std::string known;
  for (const auto& [existing, profile] : v.config.profiles) known += (known.empty() ? "" : ", ") + existing;
  throw Error(ErrorKind::Malformed, "profile-unknown",
              "there is no profile \"" + name + "\" in " +
                  (v.configured ? v.path.string() : "the built-in profiles (there is no " + v.path.string() + " yet)") +
                  "; it has " + known + ". Name one of those with --profile, or define [profiles." + name +
                  "] there first");
}

std::string directory_hint(const ConfigView& v) {
  const std::string& a = v.config.https_address;
  const bool usable = v.configured && v.config.https_port != 0 && a != "0.0.0.0" && a != "::" && !a.empty();
  if (!usable) return "https://<this CA's name>:<HTTPS port>/acme/directory";
  const std::string host = a.find(':') != std::string::npos ? "[" + a + "]" : a;
  return "https://" + host + ":" + std::to_string(v.config.https_port) + "/acme/directory";
}

json eab_json(const acme::ExternalAccountKey& k) {
  json j{{"kid", k.kid},
         {"name", k.name},
         {"profile", k.profile},
         {"created_at", iso_time(k.created_at)},
         {"account", k.account_id.empty() ? json() : json(k.account_id)},
         {"removed_at", k.removed_at ? json(iso_time(*k.removed_at)) : json()}};
  return j;
}

int eab_add(const GlobalOptions& g, const AcmeOptions& o) {
  try {
    keystore::KeyStore::validate_name(o.name);  // the same rules as a key's name
  } catch (const Error& e) {
    throw Error(e.kind(), e.code(),
                "\"" + o.name + "\" is not a valid name for an external account binding key: use 1 to 128 printable "
                "characters, not starting with '-' or a space and not ending with a space");
  }
  const ConfigView view = read_config(g, o);
  const std::string profile = checked_profile(view, o);
  OpenedAcme opened = open_acme(g, o);

  acme::ExternalAccountKey key;
  key.kid = acme::random_id();
  key.name = o.name;
  key.profile = profile;
  SecretBytes hmac(kHmacKeyBytes);
  crypto::random_bytes(std::span(hmac.data(), hmac.size()));
  key.hmac_sealed = crypto::aead_seal(opened.seal_key.view(), hmac.view(), as_bytes(key.kid));
  opened.store->add_eab_key(key, operator_actor());
  const std::string hmac_text = acme::base64url_encode(hmac.view());
  const auto stored = opened.store->eab_key(key.kid);

  if (o.json) {
    json j = eab_json(stored ? *stored : key);
    j["format"] = kJsonFormat;
    j["hmac_key"] = hmac_text;
    std::cout << j.dump(2) << "\n";
  } else {
    const std::string server = directory_hint(view);
    std::cout << "Added external account binding key \"" << key.name << "\" (profile " << key.profile
              << "). It binds one ACME account; that account's orders use profile " << key.profile << ".\n\n"
              << "  Key id:    " << key.kid << "\n"
              << "  HMAC key:  " << hmac_text << "\n\n"
              << "The HMAC key is shown this once (the store keeps it sealed); give both to the client's operator\n"
              << "over a safe channel.\n\n"
              << "  certbot register --server " << server << " --eab-kid " << key.kid << " --eab-hmac-key "
              << hmac_text << " ...\n"
              << "  lego --server " << server << " --eab --kid " << key.kid << " --hmac " << hmac_text << " ...\n";
  }
  if (view.configured && !view.config.acme_enabled) {
    std::cerr << "signet: note: [acme] is not enabled in " << view.path.string()
              << "; signetd serves ACME once it is (enabled = true) and restarts.\n";
  }
  return kExitOk;
}

int eab_list(const GlobalOptions& g, const AcmeOptions& o) {
  OpenedAcme opened = open_acme(g, o);
  const auto keys = opened.store->eab_keys();
  if (o.json) {
    json items = json::array();
    for (const auto& k : keys) items.push_back(eab_json(k));
    std::cout << json{{"format", kJsonFormat}, {"eab_keys", items}}.dump(2) << "\n";
    return kExitOk;
  }
  if (keys.empty()) {
    std::cout << "No external account binding keys. Make one with `signet acme eab add NAME`.\n";
    return kExitOk;
  }
  for (const auto& k : keys) {
    std::cout << k.kid << "  " << k.name << "  profile " << k.profile << "  created " << iso_time(k.created_at) << "  "
              << (k.account_id.empty() ? "unused" : "bound to account " + k.account_id)
              << (k.removed_at ? "  removed " + iso_time(*k.removed_at) : "") << "\n";
  }
  return kExitOk;
}

int eab_remove(const GlobalOptions& g, const AcmeOptions& o) {
  OpenedAcme opened = open_acme(g, o);
  opened.store->remove_eab_key(o.kid, operator_actor());
  const auto removed = opened.store->eab_key(o.kid, true);
  const std::string account = removed ? removed->account_id : "";
  if (o.json) {
    std::cout << json{{"format", kJsonFormat}, {"kid", o.kid}, {"account", account.empty() ? json() : json(account)}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "Removed external account binding key " << o.kid << ": no new account can bind with it.\n";
  if (!account.empty()) {
    std::cout << "The account it bound, " << account << ", stays valid; deactivate it with `signet acme accounts "
              << "deactivate " << account << "` to stop its requests.\n";
  }
  return kExitOk;
}

json account_json(const acme::Account& a) {
  return {{"id", a.id},
          {"status", std::string(acme::to_string(a.status))},
          {"contact", a.contact},
          {"created_at", iso_time(a.created_at)},
          {"created_from", a.created_from},
          {"eab_kid", a.eab_kid.empty() ? json() : json(a.eab_kid)}};
}

int accounts_list(const GlobalOptions& g, const AcmeOptions& o) {
  OpenedAcme opened = open_acme(g, o);
  const auto accounts = opened.store->accounts();
  if (o.json) {
    json items = json::array();
    for (const auto& a : accounts) items.push_back(account_json(a));
    std::cout << json{{"format", kJsonFormat}, {"accounts", items}}.dump(2) << "\n";
    return kExitOk;
  }
  if (accounts.empty()) {
    std::cout << "No ACME accounts.\n";
    return kExitOk;
  }
  for (const auto& a : accounts) {
    std::string contact;
    for (const auto& c : a.contact) contact += (contact.empty() ? "" : ",") + c;
    std::cout << a.id << "  " << acme::to_string(a.status) << "  created " << iso_time(a.created_at) << " from "
              << a.created_from << "  contact " << (contact.empty() ? "-" : contact) << "  eab "
              << (a.eab_kid.empty() ? "-" : a.eab_kid) << "\n";
  }
  return kExitOk;
}

int accounts_deactivate(const GlobalOptions& g, const AcmeOptions& o) {
  OpenedAcme opened = open_acme(g, o);
  opened.store->deactivate_account(o.id, operator_actor());
  if (o.json) {
    std::cout << json{{"format", kJsonFormat}, {"id", o.id}, {"status", "deactivated"}}.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "Deactivated ACME account " << o.id
            << ": signetd refuses its next request, and its pending authorizations are deactivated. Its "
               "certificates stay valid (revoke them with `signet revoke SERIAL`).\n";
  return kExitOk;
}

}  // namespace

void add_acme_commands(CLI::App& root, const GlobalOptions& global, Action& action) {
  CLI::App* acme_cmd = root.add_subcommand("acme", "Manage ACME external account binding keys and accounts");
  acme_cmd->require_subcommand(1);

  CLI::App* eab = acme_cmd->add_subcommand("eab", "External account binding keys (RFC 8555 7.3.4)");
  eab->require_subcommand(1);

  auto add_o = std::make_shared<AcmeOptions>();
  CLI::App* add = eab->add_subcommand("add", "Make a key id and HMAC key for one ACME account (printed once)");
  add->add_option("name", add_o->name, "What to call it (who it is for)")->required();
  add->add_option("--profile", add_o->profile,
                  "Profile the bound account's orders use (default: [acme] profile of signetd.toml)");
  add->add_option("--config", add_o->config, "signetd.toml whose profiles it may use (default: DATA_DIR/signetd.toml)");
  add->add_flag("--json", add_o->json, "Print JSON (includes the HMAC key)");
  bind_command(add, global, action, add_o, eab_add);

  auto list_o = std::make_shared<AcmeOptions>();
  CLI::App* list = eab->add_subcommand("list", "List the keys and the accounts they bound (never the HMAC keys)");
  list->add_flag("--json", list_o->json, "Print JSON");
  list->add_option("--config", list_o->config, kLedgerConfigHelp);
  bind_command(list, global, action, list_o, eab_list);

  auto rm_o = std::make_shared<AcmeOptions>();
  CLI::App* rm = eab->add_subcommand("remove", "Remove a key: no new account binds with it");
  rm->add_option("kid", rm_o->kid, "Key id, as `signet acme eab list` shows it")->required();
  rm->add_flag("--json", rm_o->json, "Print JSON");
  rm->add_option("--config", rm_o->config, kLedgerConfigHelp);
  bind_command(rm, global, action, rm_o, eab_remove);

  CLI::App* accounts = acme_cmd->add_subcommand("accounts", "ACME accounts");
  accounts->require_subcommand(1);

  auto alist_o = std::make_shared<AcmeOptions>();
  CLI::App* alist = accounts->add_subcommand("list", "List the ACME accounts");
  alist->add_flag("--json", alist_o->json, "Print JSON");
  alist->add_option("--config", alist_o->config, kLedgerConfigHelp);
  bind_command(alist, global, action, alist_o, accounts_list);

  auto deact_o = std::make_shared<AcmeOptions>();
  CLI::App* deact =
      accounts->add_subcommand("deactivate", "Deactivate an ACME account: signetd refuses its requests from now on");
  deact->add_option("id", deact_o->id, "Account id, as `signet acme accounts list` shows it")->required();
  deact->add_flag("--json", deact_o->json, "Print JSON");
  deact->add_option("--config", deact_o->config, kLedgerConfigHelp);
  bind_command(deact, global, action, deact_o, accounts_deactivate);
}

}  // namespace signet::cli
