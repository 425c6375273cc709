#include "signet/issuance/ca.h"

#include <unistd.h>

#include "signet/core/error.h"
#include "signet/crypto/key.h"
#include "signet/keystore/store.h"
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

std::unique_ptr<Ledger> open_ledger(const daemon::Config& config, const CaSigner& signer, const std::string& program) {
  if (config.database_url.empty()) {
    return std::make_unique<Ledger>(keystore::KeyStore::database_path(config.data_dir));
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::string node = program + " on " + (host[0] != '\0' ? std::string(host) : std::string("unknown host")) +
                           " (uid " + std::to_string(::getuid()) + ")";
  return std::make_unique<Ledger>(daemon::database_settings(config), ledger_owner(signer.ca_certificate(), node));
}

}  // namespace signet::issuance
