// Policy: decides whether a CSR may become a certificate under a profile, and what it will say.
//
// Refuses (Error(PolicyDenied) unless noted), naming what is wrong and what to do:
// - a CSR that is not DER/PEM PKCS#10 (Error(Malformed, "csr-malformed")), or whose signature does
//   not verify ("csr-signature-invalid");
// - a key type the profile does not allow, RSA under the profile's minimum or 2048 bits, RSA over
//   8192 bits, an EC curve other than P-256/P-384 ("key-type-not-allowed", "key-too-weak");
// - a CSR signed with a digest under 224 bits, MD5 or SHA-1 say ("csr-weak-signature");
// - no name, too many names, a name outside the profile's suffixes, networks or email domains, a
//   syntactically invalid name ("name-not-allowed", "name-invalid", "no-names");
// - a DNS name that is a public suffix ("com", "co.uk", "github.io") or a wildcard directly under
//   one ("*.com"), under every profile ("name-public-suffix"); a wildcard under a profile without
//   allow_wildcards ("wildcard-not-allowed"). A wildcard is only ever the whole leftmost label of a
//   DNS name ("*.example.test"); anywhere else, and in an email address, it is "name-invalid";
// - a requested validity over the profile's maximum ("validity-too-long") or not positive
//   ("validity-invalid"). The certificate never outlives the CA certificate: when it would, the
//   request is refused ("validity-beyond-ca") rather than silently shortened.
//
// Names come from the CSR's subjectAltName extension request and its subject CN (a CN that is a
// DNS name or IP address is added to the names). The subject of the certificate is CN = the first
// name, for compatibility with old clients.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/certificate.h"
#include "signet/issuance/ledger.h"
#include "signet/issuance/profile.h"
#include "signet/issuance/signer.h"

namespace signet::issuance {

struct IssuanceRequest {
  std::string csr;  // PEM, or DER bytes in a string
  std::string profile;
  std::optional<std::chrono::seconds> validity;
};

// Parses a CSR given as PEM text or DER bytes. Error(Malformed, "csr-malformed").
[[nodiscard]] crypto::CertificateRequest parse_csr(std::string_view pem_or_der);

// Applies `profile` to `csr`; on success returns the template (with a fresh random serial) and the
// matching intent for the ledger. `client` is recorded in the intent.
struct Approved {
  CertificateTemplate tmpl;
  Intent intent;
};
[[nodiscard]] Approved evaluate(const Profile& profile, const crypto::CertificateRequest& csr,
                                std::optional<std::chrono::seconds> validity, const crypto::Certificate& ca,
                                TimePoint now, const std::string& client);

// The names a CSR asks for, first seen first, as the intent records them ("dns:a.example.test",
// "ip:192.0.2.1", "email:a@example.test"); refuses invalid ones as evaluate() does.
[[nodiscard]] std::vector<std::string> requested_names(const crypto::CertificateRequest& csr);

// Checks one name of `type` "dns" (a host name or a wildcard) or "ip" under `profile` with the
// rules evaluate() applies to a CSR's names, and returns it normalized (lowercase DNS name,
// canonical IP text). Error(PolicyDenied, ...) with evaluate()'s codes; Error(Unsupported,
// "name-type-unsupported") for another type.
[[nodiscard]] std::string check_name(const Profile& profile, std::string_view type, std::string_view value);

}  // namespace signet::issuance
