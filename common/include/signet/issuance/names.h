// Names and numbers shared by the issuance code: revocation reasons, key usages, serials.
//
// Thread-safety: plain values and pure functions.
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

}  // namespace signet::issuance
