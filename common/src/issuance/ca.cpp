#include "signet/issuance/ca.h"

#include <unistd.h>

#include "signet/core/error.h"
#include "signet/crypto/key.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "ledger_backend.h"
#include "signet/setup/inspect.h"

namespace signet::issuance {
namespace {

// "The" CA certificate of the key, by the one rule (setup::choose_ca_certificate).
crypto::Certificate pick_ca_certificate(const keystore::UnlockedKey& key,
                                        const std::optional<keystore::Installation>& installation,
                                        const std::string& key_name) {
  std::vector<std::string> roles;
  for (const auto& c : key.verdict.certificates) roles.push_back(c.role);
  std::optional<crypto::Certificate> chosen = setup::choose_ca_certificate(
      key.certificates, roles, installation ? installation->ca_certificate_sha256 : std::nullopt);
  if (!chosen) {
    throw Error(ErrorKind::NotFound, "ca-certificate-missing",
                "the CA key \"" + key_name + "\" has no CA certificate; for a subordinate CA, install the "
                "certificate its parent signed with `signet setup --install-certificate FILE`");
  }
  return *std::move(chosen);
}

}  // namespace

std::shared_ptr<const CaSigner> open_ca(keystore::KeyStore& store, const std::string& ca_key, const PublicUrls& urls) {
  keystore::UnlockedKey key;
  try {
    key = store.unlock_key(ca_key);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Integrity || e.kind() == ErrorKind::NotFound) {
      throw Error(e.kind(), e.code(),
                  "the CA key \"" + ca_key + "\" cannot be used: " + e.what() +
                      ". Run `signet keys verify` to see every finding; restore the key from a backup or re-run "
                      "`signet setup` with a valid key");
    }
    throw;
  }
  const crypto::Certificate ca_cert = pick_ca_certificate(key, store.installation(), ca_key);
  if (ca_cert.not_after() < std::chrono::system_clock::now()) {
    throw Error(ErrorKind::Integrity, "ca-certificate-expired",
                "the CA certificate " + ca_cert.subject() + " has expired; renew it with `signet setup`");
  }
  std::vector<crypto::Certificate> chain;
  for (std::size_t i = 0; i < key.certificates.size() && i < key.verdict.certificates.size(); ++i) {
    if (key.verdict.certificates[i].role == keystore::kRoleChain) chain.push_back(key.certificates[i]);
  }
  return std::make_shared<const CaSigner>(std::move(key.key), ca_cert, std::move(chain), urls);
}

LedgerOwner ledger_owner(const crypto::Certificate& ca_certificate, const std::string& node) {
  LedgerOwner owner;
  owner.ca_key_sha256 = crypto::fingerprint_of_spki(crypto::public_key_der(ca_certificate.public_key())).hex();
  owner.ca_subject = ca_certificate.subject();
  owner.node = node;
  return owner;
}

namespace {

// A node started on an empty PostgreSQL ledger while its key store's own ledger holds
// certificates that were never moved (`signet ledger migrate` forgotten) would serve CRLs without
// their revocations and answer "unknown" for them: refused. A store whose ledger was moved, or a
// node joining a database that is in use (its store's copy came with a backup), goes on.
void refuse_unmoved_ledger(const std::filesystem::path& data_dir, Ledger& shared, const std::string& where) {
  const std::filesystem::path file = keystore::KeyStore::database_path(data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return;
  db::Database db = db::Database::open(file, db::OpenMode::ReadOnly);
  const auto count = [&db](const std::string& sql) {
    db::Statement s = db.prepare(sql);
    return s.step() ? s.int64(0) : std::int64_t{0};
  };
  if (count("SELECT count(*) FROM audit_log WHERE action = '" + std::string(detail::kLedgerMovedAction) + "'") > 0) {
    return;
  }
  const std::int64_t certificates = count("SELECT count(*) FROM issued_certificates");
  const std::int64_t clients = count("SELECT count(*) FROM api_clients");
  const std::int64_t accounts = count("SELECT count(*) FROM acme_accounts");
  if (certificates + clients + accounts == 0) return;
  ListQuery first;
  first.limit = 1;
  if (!shared.list(first).items.empty() || !shared.clients().empty()) return;
  throw Error(ErrorKind::Conflict, "ledger-not-moved",
              "the key store's ledger (" + file.string() + ") holds " + std::to_string(certificates) +
                  " certificates, " + std::to_string(clients) + " API clients and " + std::to_string(accounts) +
                  " ACME accounts, and the PostgreSQL database at " + where +
                  " is empty: move them first with `signet ledger migrate --from-sqlite` (with signetd stopped), "
                  "or remove [database] url to keep using the key store's ledger");
}

}  // namespace

std::unique_ptr<Ledger> open_ledger(const daemon::Config& config, const CaSigner& signer, const std::string& program) {
  if (config.database_url.empty()) {
    return std::make_unique<Ledger>(keystore::KeyStore::database_path(config.data_dir));
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::string node = program + " on " + (host[0] != '\0' ? std::string(host) : std::string("unknown host")) +
                           " (uid " + std::to_string(::getuid()) + ")";
  auto ledger = std::make_unique<Ledger>(daemon::database_settings(config), ledger_owner(signer.ca_certificate(), node));
  refuse_unmoved_ledger(config.data_dir, *ledger, db::pg::describe(config.database_url));
  return ledger;
}

}  // namespace signet::issuance
