// Issuance profiles: what a certificate of each kind may say, from the [profiles.NAME] tables of
// signetd.toml (README "Configuration").
//
// Two profiles always exist unless the configuration redefines them: "server-tls" (serverAuth,
// DNS and IP names) and "client-tls" (clientAuth, DNS and email names), neither with wildcards.
//
// Thread-safety: immutable values once parsed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "signet/core/bytes.h"

namespace signet::issuance {

// keyUsage bits a profile may assert (RFC 5280 4.2.1.3).
struct KeyUsage {
  bool digital_signature = false;
  bool key_encipherment = false;  // only asserted for RSA subject keys
  bool key_agreement = false;     // only asserted for EC subject keys
  bool content_commitment = false;
  friend bool operator==(const KeyUsage&, const KeyUsage&) = default;
};

// An IPv4 or IPv6 network, e.g. 10.0.0.0/8 or fd00::/8.
struct IpNetwork {
  Bytes address;  // 4 or 16 bytes, host bits zero
  int prefix = 0;
  [[nodiscard]] bool contains(ByteView ip) const;
  // "10.0.0.0/8"; throws Error(Malformed, "invalid-network").
  [[nodiscard]] static IpNetwork parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
};

// The shortest validity issued: notBefore is set a minute back (for clients whose clocks run
// slightly behind) and the validity counts from it, so anything shorter would have mostly run out
// before a client used it.
inline constexpr std::chrono::seconds kMinValidity = std::chrono::minutes(10);

struct Profile {
  std::string name;
  KeyUsage key_usage;
  std::vector<std::string> extended_key_usages;  // "serverAuth", "clientAuth", "codeSigning",
                                                 // "emailProtection", "timeStamping", "OCSPSigning"
  // Both at least kMinValidity.
  std::chrono::seconds max_validity = std::chrono::hours(24 * 90);
  std::chrono::seconds default_validity = std::chrono::hours(24 * 90);
  // Names the profile allows. An empty list allows no name of that kind. A DNS suffix
  // "example.test" allows example.test and every name below it; "*" allows any DNS name.
  std::vector<std::string> dns_suffixes;
  std::vector<IpNetwork> ip_networks;
  std::vector<std::string> email_domains;  // "example.test" allows user@example.test
  // Whether a DNS name may be a wildcard: "*." as the whole leftmost label of a name the suffixes
  // allow ("*.example.test"), never directly under a public suffix ("*.com", "*.co.uk"), never in
  // an email address. Off unless the profile says so: one wildcard certificate stands for every
  // host of a domain, which is a decision, not a default.
  bool allow_wildcards = false;
  std::size_t max_names = 100;
  // Key types a CSR may carry: "rsa" (at least min_rsa_bits, at most 8192), "ec-p256",
  // "ec-p384", "ed25519". Anything else (other curves, DSA, RSA < 2048) is always refused.
  std::vector<std::string> key_types = {"rsa", "ec-p256", "ec-p384", "ed25519"};
  int min_rsa_bits = 2048;
};

// The built-in profiles, before configuration.
[[nodiscard]] std::map<std::string, Profile> default_profiles();

// Parses the [profiles] table (may be absent: the defaults). Each [profiles.NAME] table replaces
// or adds one profile. Throws Error(Malformed, "config-invalid") naming the key (e.g.
// "profiles.web.max_validity: expected a duration such as \"90d\" or \"12h\"") for any
// unknown key, wrong type or bad value.
[[nodiscard]] std::map<std::string, Profile> parse_profiles(const toml::table* profiles);

// "90d", "12h", "30m", "3600s", or a bare number of seconds. Throws Error(Malformed,
// "invalid-duration").
[[nodiscard]] std::chrono::seconds parse_duration(std::string_view text);

}  // namespace signet::issuance
