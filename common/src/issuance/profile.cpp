#include "signet/issuance/profile.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <span>

#include "signet/core/error.h"
#include "signet/issuance/names.h"

namespace signet::issuance {
namespace {

constexpr std::string_view kKnownEkus[] = {"serverAuth",      "clientAuth",   "codeSigning",
                                           "emailProtection", "timeStamping", "OCSPSigning"};
constexpr std::string_view kKnownKeyTypes[] = {"rsa", "ec-p256", "ec-p384", "ed25519"};

[[noreturn]] void invalid(const std::string& key, const std::string& what) {
  throw Error(ErrorKind::Malformed, "config-invalid", "profiles." + key + ": " + what);
}

std::string list(std::span<const std::string_view> items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + std::string(i);
  return out;
}

std::vector<std::string> strings(const toml::node& node, const std::string& key) {
  const toml::array* arr = node.as_array();
  if (arr == nullptr) invalid(key, "expected an array of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *arr) {
    const auto s = item.value<std::string>();
    if (!s) invalid(key, "expected an array of strings");
    out.push_back(*s);
  }
  return out;
}

// A suffix is a host name (the same rule as the names it allows), or "*" for any.
bool valid_dns_suffix(std::string_view s) { return s == "*" || valid_hostname(s); }

std::chrono::seconds duration(const toml::node& node, const std::string& key) {
  if (auto i = node.value_exact<std::int64_t>()) {
    if (*i <= 0) invalid(key, "expected a positive duration such as \"90d\" or \"12h\"");
    return std::chrono::seconds(*i);
  }
  const auto s = node.value<std::string>();
  if (!s) invalid(key, "expected a duration such as \"90d\" or \"12h\"");
  try {
    return parse_duration(*s);
  } catch (const Error&) {
    invalid(key, "\"" + *s + "\" is not a duration; use a number with d, h, m or s, such as \"90d\"");
  }
}

Profile server_tls() {
  Profile p;
  p.name = "server-tls";
  p.key_usage.digital_signature = true;
  p.key_usage.key_encipherment = true;
  p.extended_key_usages = {"serverAuth"};
  p.dns_suffixes = {"*"};
  p.ip_networks = {IpNetwork::parse("0.0.0.0/0"), IpNetwork::parse("::/0")};
  return p;
}

Profile client_tls() {
  Profile p;
  p.name = "client-tls";
  p.key_usage.digital_signature = true;
  p.extended_key_usages = {"clientAuth"};
  p.dns_suffixes = {"*"};
  p.email_domains = {"*"};
  return p;
}

}  // namespace

bool IpNetwork::contains(ByteView ip) const {
  if (ip.size() != address.size()) return false;
  int bits = prefix;
  for (std::size_t i = 0; i < ip.size() && bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xFF : (0xFF << (8 - bits)) & 0xFF);
    if ((ip[i] & mask) != (address[i] & mask)) return false;
  }
  return true;
}

IpNetwork IpNetwork::parse(std::string_view text) {
  const auto bad = [&]() -> Error {
    return Error(ErrorKind::Malformed, "invalid-network",
                 "\"" + std::string(text) + "\" is not a network; write it as 10.0.0.0/8 or fd00::/8");
  };
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) throw bad();
  const std::string addr(text.substr(0, slash));
  const std::string_view len = text.substr(slash + 1);
  IpNetwork net;
  unsigned char buf[16];
  int max_prefix = 0;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    net.address.assign(buf, buf + 4);
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    net.address.assign(buf, buf + 16);
    max_prefix = 128;
  } else {
    throw bad();
  }
  const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), net.prefix);
  if (ec != std::errc() || end != len.data() + len.size() || len.empty() || net.prefix < 0 ||
      net.prefix > max_prefix) {
    throw bad();
  }
  // Host bits must be zero, so that the written form means what it says.
  IpNetwork whole{net.address, max_prefix};
  IpNetwork masked = net;
  for (std::size_t i = 0; i < masked.address.size(); ++i) {
    const int bits = net.prefix - static_cast<int>(i) * 8;
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xFF : bits <= 0 ? 0 : (0xFF << (8 - bits)) & 0xFF);
    masked.address[i] = static_cast<std::uint8_t>(masked.address[i] & mask);
  }
  if (masked.address != whole.address) {
    throw Error(ErrorKind::Malformed, "invalid-network",
                "\"" + std::string(text) + "\" has host bits set; write the network address (" +
                    masked.to_string() + ")");
  }
  return net;
}

std::string IpNetwork::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(address.size() == 4 ? AF_INET : AF_INET6, address.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

std::chrono::seconds parse_duration(std::string_view text) {
  const auto bad = [&]() {
    return Error(ErrorKind::Malformed, "invalid-duration",
                 "\"" + std::string(text) + "\" is not a duration; use a number with d, h, m or s, such as \"90d\"");
  };
  if (text.empty()) throw bad();
  std::int64_t unit = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 'd': unit = 86400; break;
    case 'h': unit = 3600; break;
    case 'm': unit = 60; break;
    case 's': unit = 1; break;
    default: unit = 0;
  }
  if (unit != 0) digits.remove_suffix(1);
  else unit = 1;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n <= 0 ||
      n > std::int64_t{100} * 366 * 86400 / unit) {
    throw bad();
  }
  return std::chrono::seconds(n * unit);
}

std::map<std::string, Profile> default_profiles() {
  std::map<std::string, Profile> out;
  for (Profile p : {server_tls(), client_tls()}) out.emplace(p.name, std::move(p));
  return out;
}

std::map<std::string, Profile> parse_profiles(const toml::table* profiles) {
  std::map<std::string, Profile> out = default_profiles();
  if (profiles == nullptr) return out;
  for (const auto& [key, node] : *profiles) {
    const std::string name(key.str());
    const toml::table* t = node.as_table();
    if (t == nullptr) invalid(name, "expected a table ([profiles." + name + "])");
    if (name.empty() || name.size() > 64 ||
        !std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        })) {
      invalid(name, "a profile name is 1 to 64 letters, digits, '-', '_' or '.'");
    }
    // A profile table is complete on its own: unset keys take the defaults of a new profile with
    // no names allowed, so a typo cannot widen what an operator meant to allow.
    Profile p;
    p.name = name;
    p.key_usage.digital_signature = true;
    for (const auto& [k, v] : *t) {
      const std::string field(k.str());
      const std::string path = name + "." + field;
      if (field == "key_usage") {
        p.key_usage = KeyUsage{};
        for (const std::string& u : strings(v, path)) {
          if (u == "digitalSignature") p.key_usage.digital_signature = true;
          else if (u == "keyEncipherment") p.key_usage.key_encipherment = true;
          else if (u == "keyAgreement") p.key_usage.key_agreement = true;
          else if (u == "contentCommitment" || u == "nonRepudiation") p.key_usage.content_commitment = true;
          else invalid(path, "unknown key usage \"" + u +
                                 "\"; allowed: digitalSignature, keyEncipherment, keyAgreement, contentCommitment");
        }
      } else if (field == "extended_key_usage") {
        p.extended_key_usages = strings(v, path);
        for (const auto& e : p.extended_key_usages) {
          if (std::find(std::begin(kKnownEkus), std::end(kKnownEkus), e) == std::end(kKnownEkus)) {
            invalid(path, "unknown extended key usage \"" + e + "\"; allowed: " + list(kKnownEkus));
          }
        }
      } else if (field == "max_validity") {
        p.max_validity = duration(v, path);
      } else if (field == "default_validity") {
        p.default_validity = duration(v, path);
      } else if (field == "dns_suffixes") {
        p.dns_suffixes = strings(v, path);
        for (auto& s : p.dns_suffixes) {
          std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          if (!valid_dns_suffix(s)) invalid(path, "\"" + s + "\" is not a DNS name suffix (such as \"example.test\") or \"*\"");
        }
      } else if (field == "ip_networks") {
        p.ip_networks.clear();
        for (const std::string& n : strings(v, path)) {
          try {
            p.ip_networks.push_back(IpNetwork::parse(n));
          } catch (const Error& e) {
            invalid(path, e.what());
          }
        }
      } else if (field == "email_domains") {
        p.email_domains = strings(v, path);
        for (auto& s : p.email_domains) {
          std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          if (!valid_dns_suffix(s)) invalid(path, "\"" + s + "\" is not a domain (such as \"example.test\") or \"*\"");
        }
      } else if (field == "allow_wildcards") {
        const auto b = v.value_exact<bool>();
        if (!b) invalid(path, "expected true or false");
        p.allow_wildcards = *b;
      } else if (field == "max_names") {
        const auto n = v.value_exact<std::int64_t>();
        if (!n || *n < 1 || *n > 1000) invalid(path, "expected a number from 1 to 1000");
        p.max_names = static_cast<std::size_t>(*n);
      } else if (field == "key_types") {
        p.key_types = strings(v, path);
        if (p.key_types.empty()) invalid(path, "allow at least one key type: " + list(kKnownKeyTypes));
        for (const auto& kt : p.key_types) {
          if (std::find(std::begin(kKnownKeyTypes), std::end(kKnownKeyTypes), kt) == std::end(kKnownKeyTypes)) {
            invalid(path, "unknown key type \"" + kt + "\"; allowed: " + list(kKnownKeyTypes));
          }
        }
      } else if (field == "min_rsa_bits") {
        const auto n = v.value_exact<std::int64_t>();
        if (!n || *n < 2048 || *n > 8192) invalid(path, "expected a number from 2048 to 8192 (RSA under 2048 bits is always refused)");
        p.min_rsa_bits = static_cast<int>(*n);
      } else {
        invalid(path, "unknown key; allowed: key_usage, extended_key_usage, max_validity, default_validity, "
                      "dns_suffixes, ip_networks, email_domains, allow_wildcards, max_names, key_types, min_rsa_bits");
      }
    }
    if (!t->contains("default_validity")) p.default_validity = std::min(p.default_validity, p.max_validity);
    if (p.default_validity > p.max_validity) {
      invalid(name + ".default_validity", "is longer than max_validity");
    }
    if (p.max_validity < kMinValidity || p.default_validity < kMinValidity) {
      invalid(name + (p.max_validity < kMinValidity ? ".max_validity" : ".default_validity"),
              "is shorter than 10 minutes, the shortest validity issued (notBefore is set a minute back for "
              "clock skew, and a certificate that short-lived would run out before it is used)");
    }
    if (p.dns_suffixes.empty() && p.ip_networks.empty() && p.email_domains.empty()) {
      invalid(name, "allows no names; set dns_suffixes, ip_networks or email_domains");
    }
    out[name] = std::move(p);
  }
  return out;
}

}  // namespace signet::issuance
