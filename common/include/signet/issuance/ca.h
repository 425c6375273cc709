// Opening the CA for issuance: the CA key from the key store (checked just now), its CA
// certificate and chain, as a CaSigner. Shared by signetd and `signet issue`.
#pragma once

#include <memory>
#include <string>

#include "signet/issuance/ledger.h"
#include "signet/issuance/signer.h"
#include "signet/setup/daemon_config.h"
#include "signet/keystore/store.h"

namespace signet::issuance {

// Unlocks `ca_key` (the full integrity check runs) and picks its CA certificate: the one the
// installation record names, else the one valid longest. Refuses, naming the fix: a key that fails
// the check (Integrity "key-invalid", with every finding), a missing key (NotFound), no CA
// certificate yet ("ca-certificate-missing", e.g. a subordinate waiting for its parent), an
// expired CA certificate ("ca-certificate-expired").
[[nodiscard]] std::shared_ptr<const CaSigner> open_ca(keystore::KeyStore& store, const std::string& ca_key,
                                                      const PublicUrls& urls);

// The ledger `config` names: with [database] url, the PostgreSQL database, which must serve the
// CA of `signer` (recorded in it on first use); else the key store's SQLite file in the data dir.
// `program` says who opens it ("signetd", "signet"), for the database's record.
[[nodiscard]] std::unique_ptr<Ledger> open_ledger(const daemon::Config& config, const CaSigner& signer,
                                                  const std::string& program);

// The CA a PostgreSQL ledger serves: its key's SubjectPublicKeyInfo SHA-256 and its subject.
[[nodiscard]] LedgerOwner ledger_owner(const crypto::Certificate& ca_certificate, const std::string& node);

}  // namespace signet::issuance
