// signet clients add | list | remove, signet issue, signet revoke: the operator's side of
// issuance. They use the same code as signetd (policy, issuer, ledger), against the same store,
// so a certificate issued or revoked here is in the daemon's database; the daemon notices a
// revocation within a few seconds and refreshes its CRL and OCSP answers.
#include <iostream>
#include <map>
#include <memory>

#include "app.h"
#include "commands.h"
#include "render.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/issuance/ca.h"
#include "signet/issuance/issuer.h"
#include "signet/issuance/ledger.h"
#include "signet/issuance/profile.h"
#include "signet/keystore/store.h"
#include "signet/setup/daemon_config.h"

namespace signet::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct IssuanceOptions {
  std::string name;
  std::vector<std::string> profiles;
  bool admin = false;
  bool json = false;
  std::optional<fs::path> config;
  fs::path csr;
  fs::path out;
  std::string profile;
  std::optional<std::string> validity;
  std::string serial;
  std::string reason = "unspecified";
  bool from_sqlite = false;
};

daemon::Config read_config(const GlobalOptions& g, const IssuanceOptions& o) {
  const fs::path path = o.config.value_or(g.data_dir / "signetd.toml");
  return daemon::load_config(path);
}

// Opening the store with the passphrase authenticates the operator for every command here.
std::unique_ptr<issuance::Ledger> open_ledger(const GlobalOptions& g, const IssuanceOptions& o) {
  keystore::KeyStore store = open_store(g);
  return open_configured_ledger(g, store, o.config);
}

json client_json(const issuance::ApiClient& c) {
  return {{"name", c.name}, {"id", c.id}, {"profiles", c.profiles}, {"admin", c.admin}, {"created_at", iso_time(c.created_at)}};
}

// A client may be given only profiles that exist where it will use them: in signetd.toml, or
// among the built-in ones while there is none yet.
void check_profiles_exist(const GlobalOptions& g, const IssuanceOptions& o) {
  const fs::path path = o.config.value_or(g.data_dir / "signetd.toml");
  const bool configured = o.config.has_value() || fs::exists(path);
  const std::map<std::string, issuance::Profile> profiles =
      configured ? read_config(g, o).profiles : issuance::default_profiles();
  for (const std::string& name : o.profiles) {
    if (name.empty() || name == "*" || profiles.contains(name)) continue;  // (an empty one: the ledger says)
    std::string known;
    for (const auto& [existing, profile] : profiles) known += (known.empty() ? "" : ", ") + existing;
    throw Error(ErrorKind::Malformed, "profile-unknown",
                "there is no profile \"" + name + "\" in " +
                    (configured ? path.string() : "the built-in profiles (there is no " + path.string() + " yet)") +
                    "; it has " + known + " (\"*\" for all). Name one of those, or define [profiles." + name +
                    "] there first");
  }
}

int clients_add(const GlobalOptions& g, const IssuanceOptions& o) {
  check_profiles_exist(g, o);
  const std::unique_ptr<issuance::Ledger> ledger = open_ledger(g, o);
  const issuance::NewClient added = ledger->add_client(o.name, o.profiles, o.admin, operator_actor());
  if (o.json) {
    json j = client_json(added.client);
    j["format"] = kJsonFormat;
    j["token"] = added.token;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "Added API client \"" << added.client.name << "\"" << (added.client.admin ? " (admin)" : "")
              << ". Its token, shown this once (only a hash is kept):\n\n  " << added.token
              << "\n\nGive it to the client over a safe channel; it sends it as \"Authorization: Bearer <token>\".\n";
  }
  return kExitOk;
}

int clients_list(const GlobalOptions& g, const IssuanceOptions& o) {
  const std::unique_ptr<issuance::Ledger> ledger = open_ledger(g, o);
  const auto clients = ledger->clients();
  if (o.json) {
    json items = json::array();
    for (const auto& c : clients) items.push_back(client_json(c));
    std::cout << json{{"format", kJsonFormat}, {"clients", items}}.dump(2) << "\n";
    return kExitOk;
  }
  if (clients.empty()) {
    std::cout << "No API clients. Add one with `signet clients add NAME --profile server-tls`.\n";
    return kExitOk;
  }
  for (const auto& c : clients) {
    std::string profiles;
    for (const auto& p : c.profiles) profiles += (profiles.empty() ? "" : ",") + p;
    std::cout << c.name << "  id " << c.id << "  profiles " << profiles << (c.admin ? "  admin" : "") << "  since "
              << iso_time(c.created_at) << "\n";
  }
  return kExitOk;
}

issuance::RevocationReason parse_reason(const std::string& text) {
  const auto reason = issuance::parse_revocation_reason(text);
  if (!reason) {
    std::string names;
    for (auto r : issuance::all_revocation_reasons()) names += (names.empty() ? "" : ", ") + std::string(issuance::to_string(r));
    throw Error(ErrorKind::Malformed, "reason-invalid", "\"" + text + "\" is not a revocation reason; use one of " + names);
  }
  return *reason;
}

int clients_remove(const GlobalOptions& g, const IssuanceOptions& o) {
  const issuance::RevocationReason reason = parse_reason(o.reason);
  const std::unique_ptr<issuance::Ledger> ledger = open_ledger(g, o);
  const issuance::RemovedClient removed = ledger->remove_client(o.name, operator_actor(), reason);
  if (o.json) {
    json serials = json::array();
    for (const auto& s : removed.revoked) serials.push_back(s.hex());
    std::cout << json{{"format", kJsonFormat},
                      {"name", removed.client.name},
                      {"id", removed.client.id},
                      {"reason", std::string(issuance::to_string(reason))},
                      {"revoked", serials}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "Removed API client \"" << removed.client.name << "\" (id " << removed.client.id
            << ") for good: its token no longer works, and a client added under this name later is another client.\n";
  if (removed.revoked.empty()) {
    std::cout << "It had no valid client certificates to revoke.\n";
  } else {
    std::cout << "Revoked its " << removed.revoked.size() << " client certificate"
              << (removed.revoked.size() == 1 ? "" : "s") << " (" << issuance::to_string(reason) << "):\n";
    for (const auto& s : removed.revoked) std::cout << "  " << s.hex() << "\n";
    std::cout << "A running signetd refuses them at once and publishes them in its CRL and OCSP answers within a "
                 "few seconds.\n";
  }
  return kExitOk;
}

int issue(const GlobalOptions& g, const IssuanceOptions& o) {
  const daemon::Config config = read_config(g, o);
  const auto profile = config.profiles.find(o.profile);
  if (profile == config.profiles.end()) {
    std::string known;
    for (const auto& [name, p] : config.profiles) known += (known.empty() ? "" : ", ") + name;
    throw Error(ErrorKind::NotFound, "profile-unknown", "there is no profile \"" + o.profile + "\"; " +
                                                            config.source.string() + " has " + known);
  }
  std::optional<std::chrono::seconds> validity;
  if (o.validity) validity = issuance::parse_duration(*o.validity);
  const Bytes csr_text = file::read(o.csr, 1u << 16);
  const crypto::CertificateRequest csr =
      issuance::parse_csr(std::string_view(reinterpret_cast<const char*>(csr_text.data()), csr_text.size()));
  std::error_code ec;
  if (fs::exists(o.out, ec)) {
    throw Error(ErrorKind::Conflict, "output-exists", o.out.string() + " exists; choose another --out or remove it");
  }

  std::shared_ptr<const issuance::CaSigner> signer;
  {
    keystore::KeyStore store = open_store(g);
    signer = issuance::open_ca(store, config.ca_key, issuance::PublicUrls{config.base_url, config.delta_crl});
  }
  const std::unique_ptr<issuance::Ledger> ledger = ledger_for(g, &config, signer.get());
  issuance::Issuer issuer(signer, *ledger);
  const issuance::IssuanceResult result = issuer.issue(profile->second, csr, validity, operator_actor());

  const std::string pem = crypto::to_pem(result.certificate) + signer->ca_chain_pem();
  // The certificate is in the database already; the file is a copy (temp file, fsync, rename).
  file::write_atomic(o.out, as_bytes(pem), 0644, true);
  if (o.json) {
    std::cout << json{{"format", kJsonFormat},
                      {"serial", result.intent.serial.hex()},
                      {"profile", result.intent.profile},
                      {"names", result.intent.names},
                      {"file", o.out.string()}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "Issued certificate " << result.intent.serial.hex() << " (profile " << result.intent.profile
              << ", " << result.intent.names.size() << " names, valid until "
              << iso_time(std::chrono::system_clock::to_time_t(result.intent.not_after)) << ") to "
              << o.out.string() << " with the CA chain.\n";
  }
  return kExitOk;
}

int revoke(const GlobalOptions& g, const IssuanceOptions& o) {
  const auto serial = issuance::Serial::parse_hex(o.serial);
  if (!serial) {
    throw Error(ErrorKind::Malformed, "serial-invalid",
                "\"" + o.serial + "\" is not a serial number; give it in hex, as `openssl x509 -noout -serial` prints it");
  }
  const issuance::RevocationReason reason = parse_reason(o.reason);
  const std::unique_ptr<issuance::Ledger> ledger = open_ledger(g, o);
  const issuance::RevokeResult r = ledger->revoke(*serial, reason, operator_actor());
  if (o.json) {
    std::cout << json{{"format", kJsonFormat},
                      {"serial", r.record.serial.hex()},
                      {"reason", std::string(issuance::to_string(reason))},
                      {"revoked_at", iso_time(*r.record.revoked_at)}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "Revoked certificate " << r.record.serial.hex() << " (" << issuance::to_string(reason)
              << "). A running signetd publishes it in its CRL and OCSP answers within a few seconds.\n";
  }
  return kExitOk;
}

// Moves the store's SQLite ledger into the PostgreSQL database signetd.toml names.
int ledger_migrate(const GlobalOptions& g, const IssuanceOptions& o) {
  if (!o.from_sqlite) {
    throw Error(ErrorKind::Malformed, "source-missing",
                "say where the ledger comes from: --from-sqlite (the key store's own ledger, the only source)");
  }
  const fs::path path = o.config.value_or(g.data_dir / "signetd.toml");
  const daemon::Config config = read_config(g, o);
  if (config.database_url.empty()) {
    throw Error(ErrorKind::Malformed, "database-not-configured",
                path.string() + " has no [database] url: add the PostgreSQL database there first "
                                "(url = \"postgresql://USER@HOST:PORT/DATABASE\", password_file), then run this again");
  }
  const std::optional<file::FileLock> lock =
      file::FileLock::try_lock(g.data_dir / "signetd.lock", file::FileLock::Mode::Exclusive);
  if (!lock) {
    throw Error(ErrorKind::Conflict, "signetd-running",
                "a signetd is running on " + g.data_dir.string() +
                    " (it holds signetd.lock there): stop it first (systemctl stop signetd), run this again, then "
                    "start it: it will use the database. Nothing was moved");
  }
  keystore::KeyStore store = open_store(g);
  const std::shared_ptr<const issuance::CaSigner> signer =
      issuance::open_ca(store, config.ca_key, issuance::PublicUrls{config.base_url, config.delta_crl});
  const issuance::LedgerImport moved = issuance::import_sqlite_ledger(
      keystore::KeyStore::database_path(g.data_dir), daemon::database_settings(config),
      issuance::ledger_owner(signer->ca_certificate(), "signet ledger migrate"), operator_actor());
  const std::string where = db::pg::describe(config.database_url);
  if (o.json) {
    std::cout << json{{"format", kJsonFormat},
                      {"database", where},
                      {"certificates", moved.certificates},
                      {"revoked", moved.revoked},
                      {"clients", moved.clients},
                      {"audit_rows", moved.audit_rows},
                      {"crl_number", moved.crl_number},
                      {"revision", moved.revision},
                      {"acme_accounts", moved.acme_accounts},
                      {"acme_orders", moved.acme_orders}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "Moved the ledger into " << where << ": " << moved.certificates << " certificates ("
              << moved.revoked << " revoked), " << moved.clients << " API clients, " << moved.acme_accounts
              << " ACME accounts with " << moved.acme_orders << " orders, " << moved.audit_rows
              << " audit rows; the next CRL number follows " << moved.crl_number
              << ". The counts were checked in the database before the commit.\n"
                 "signetd and signet use the database from now on; the key store keeps its copy of the old ledger, "
                 "unchanged.\n";
  }
  return kExitOk;
}

}  // namespace

void add_issuance_commands(CLI::App& root, const GlobalOptions& global, Action& action) {
  CLI::App* clients = root.add_subcommand("clients", "Manage the API clients that may request certificates");
  clients->require_subcommand(1);

  auto add_o = std::make_shared<IssuanceOptions>();
  CLI::App* add = clients->add_subcommand("add", "Add an API client and print its bearer token (once)");
  add->add_option("name", add_o->name, "Client name (letters, digits, '.', '_', '-')")->required();
  add->add_option("--profile,--profiles", add_o->profiles, "Profiles it may use (repeat or comma-separate; * = all)")
      ->delimiter(',')
      ->required();
  add->add_flag("--admin", add_o->admin, "May list and revoke every client's certificates");
  add->add_option("--config", add_o->config, "signetd.toml whose profiles it may use (default: DATA_DIR/signetd.toml)");
  add->add_flag("--json", add_o->json, "Print JSON (includes the token)");
  bind_command(add, global, action, add_o, clients_add);

  auto list_o = std::make_shared<IssuanceOptions>();
  CLI::App* list = clients->add_subcommand("list", "List the API clients (never their tokens)");
  list->add_flag("--json", list_o->json, "Print JSON");
  list->add_option("--config", list_o->config, "signetd.toml naming the ledger (default: DATA_DIR/signetd.toml)");
  bind_command(list, global, action, list_o, clients_list);

  auto rm_o = std::make_shared<IssuanceOptions>();
  CLI::App* rm = clients->add_subcommand(
      "remove", "Remove an API client for good: its token stops working and its client certificates are revoked");
  rm->add_option("name", rm_o->name, "Client name")->required();
  rm_o->reason = "cessationOfOperation";
  rm->add_option("--reason", rm_o->reason,
                 "Revocation reason for its client certificates (default cessationOfOperation; keyCompromise when "
                 "its key or token leaked)");
  rm->add_flag("--json", rm_o->json, "Print JSON");
  rm->add_option("--config", rm_o->config, "signetd.toml naming the ledger (default: DATA_DIR/signetd.toml)");
  bind_command(rm, global, action, rm_o, clients_remove);

  auto issue_o = std::make_shared<IssuanceOptions>();
  CLI::App* iss = root.add_subcommand("issue", "Issue a certificate for a CSR, as signetd would");
  iss->add_option("--csr", issue_o->csr, "PKCS#10 request (PEM or DER)")->required();
  iss->add_option("--profile", issue_o->profile, "Profile from signetd.toml (server-tls, client-tls, ...)")->required();
  iss->add_option("--out", issue_o->out, "Where to write the certificate and chain (PEM; must not exist)")->required();
  iss->add_option("--validity", issue_o->validity, "Validity such as 30d (default: the profile's)");
  iss->add_option("--config", issue_o->config, "signetd.toml (default: DATA_DIR/signetd.toml)");
  iss->add_flag("--json", issue_o->json, "Print JSON");
  bind_command(iss, global, action, issue_o, issue);

  auto revoke_o = std::make_shared<IssuanceOptions>();
  CLI::App* rev = root.add_subcommand("revoke", "Revoke a certificate this CA issued");
  rev->add_option("serial", revoke_o->serial, "Serial in hex, as `openssl x509 -noout -serial` prints it")->required();
  rev->add_option("--reason", revoke_o->reason,
                  "unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, "
                  "privilegeWithdrawn, aACompromise");
  rev->add_flag("--json", revoke_o->json, "Print JSON");
  rev->add_option("--config", revoke_o->config, "signetd.toml naming the ledger (default: DATA_DIR/signetd.toml)");
  bind_command(rev, global, action, revoke_o, revoke);

  CLI::App* ledger = root.add_subcommand("ledger", "The ledger of issued certificates and API clients");
  ledger->require_subcommand(1);
  auto migrate_o = std::make_shared<IssuanceOptions>();
  CLI::App* migrate = ledger->add_subcommand(
      "migrate", "Move the key store's ledger into the PostgreSQL database of [database] url, all or nothing");
  migrate->add_flag("--from-sqlite", migrate_o->from_sqlite, "The source: the key store's own (SQLite) ledger")
      ->required();
  migrate->add_option("--config", migrate_o->config, "signetd.toml (default: DATA_DIR/signetd.toml)");
  migrate->add_flag("--json", migrate_o->json, "Print JSON");
  bind_command(migrate, global, action, migrate_o, ledger_migrate);
}

}  // namespace signet::cli
