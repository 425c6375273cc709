// Opening the CA for issuance: the CA key from the key store (checked just now), its CA
// certificate and chain, as a CaSigner. Shared by signetd and `signet issue`.
#pragma once

#include <memory>
#include <string>

#include "signet/issuance/signer.h"
#include "signet/keystore/store.h"

namespace signet::issuance {

// Unlocks `ca_key` (the full integrity check runs) and picks its CA certificate: the one the
// installation record names, else the one valid longest. Refuses, naming the fix: a key that fails
// the check (Integrity "key-invalid", with every finding), a missing key (NotFound), no CA
// certificate yet ("ca-certificate-missing", e.g. a subordinate waiting for its parent), an
// expired CA certificate ("ca-certificate-expired").
[[nodiscard]] std::shared_ptr<const CaSigner> open_ca(keystore::KeyStore& store, const std::string& ca_key,
                                                      const PublicUrls& urls);

}  // namespace signet::issuance
