// Names and numbers shared by the issuance code: revocation reasons, key usages, serials, and the
// rules for the DNS names and email addresses a certificate may carry.
//
// Thread-safety: plain values and pure functions. is_public_suffix() loads the system's public
// suffix list once, on first use, under a static initialiser's lock; it is read-only after that.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/bytes.h"

namespace signet::issuance {

// RFC 5280 5.3.1 CRLReason. The numbers are the DER ENUMERATED values; 7 is unused. certificateHold
// (6) and removeFromCRL (8) are not offered: Signet revocations are permanent.
enum class RevocationReason : int {
  Unspecified = 0,
  KeyCompromise = 1,
  CaCompromise = 2,
  AffiliationChanged = 3,
  Superseded = 4,
  CessationOfOperation = 5,
  PrivilegeWithdrawn = 9,
  AaCompromise = 10,
};

// The RFC 5280 names, as openssl's -crl_reason spells them: "unspecified", "keyCompromise",
// "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation",
// "privilegeWithdrawn", "aACompromise".
[[nodiscard]] std::string_view to_string(RevocationReason reason) noexcept;
// Accepts the names above, case-insensitively, and also "key-compromise" style. std::nullopt for
// anything else (including certificateHold and removeFromCRL).
[[nodiscard]] std::optional<RevocationReason> parse_revocation_reason(std::string_view name);
// Every reason, in numeric order, for help texts and errors.
[[nodiscard]] const std::vector<RevocationReason>& all_revocation_reasons();
// From the stored number; std::nullopt when it is not one of the values above.
[[nodiscard]] std::optional<RevocationReason> revocation_reason_from_int(std::int64_t value);

// A certificate serial number: the big-endian magnitude of a positive INTEGER, no leading zero
// bytes. Shown and stored as uppercase hex (as `openssl x509 -serial` prints it, e.g. "3A0F...").
struct Serial {
  Bytes bytes;

  // 20 random bytes with the top bit cleared (159 bits of entropy, positive, within RFC 5280's
  // 20-octet limit), leading zero bytes dropped. Uses the OpenSSL CSPRNG.
  [[nodiscard]] static Serial random();
  // Parses hex (either case, optional "0x" prefix and ':' separators, leading zeros ignored).
  // std::nullopt when it is not hex, is zero, or is longer than 20 bytes.
  [[nodiscard]] static std::optional<Serial> parse_hex(std::string_view hex);
  [[nodiscard]] std::string hex() const;  // uppercase, even length, "00" never leads
  friend bool operator==(const Serial&, const Serial&) = default;
};

// ---- DNS names and email addresses ---------------------------------------------------------------

// A host name as a certificate may name it (RFC 5280 4.2.1.6, RFC 1123 2.1): labels of 1 to 63
// letters, digits and '-', not beginning or ending with '-', joined by single dots; 253
// characters at most; no trailing dot, no wildcard. Either case.
[[nodiscard]] bool valid_hostname(std::string_view name);
// An API client's name: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.
[[nodiscard]] bool valid_client_name(std::string_view name);

// True when `name` is "*." followed by a valid host name: a wildcard as the whole leftmost label,
// the only form browsers match (RFC 6125 6.4.3, CA/Browser Forum BR 3.2.2.6). "a*.example.test",
// "*.*.example.test" and "*" are not. Whether a profile allows it, and whether the name under the
// wildcard may be covered, is the caller's decision (see is_public_suffix).
[[nodiscard]] bool is_wildcard_name(std::string_view name);

// True when `name` is a public suffix by the system's Public Suffix List, ICANN and private
// sections alike: "com", "co.uk", "github.io", "foo.ck" (by the rule "*.ck"). The list's implicit
// "*" rule (every unlisted top-level label is a suffix) is not applied, so that single-label
// internal names such as "localhost" or "myhost" are not public suffixes. Either case; a name
// that is not a valid host name is not a suffix. Throws Error(Internal, "public-suffix-list-missing")
// when no list can be loaded (the publicsuffix and libpsl5 packages are missing).
[[nodiscard]] bool is_public_suffix(std::string_view name);

// An email address as an rfc822Name may carry it: a non-empty local part of printable ASCII
// without spaces, one '@', and a domain that is a valid host name (no wildcard, no empty label).
[[nodiscard]] bool valid_email_address(std::string_view address);

}  // namespace signet::issuance
