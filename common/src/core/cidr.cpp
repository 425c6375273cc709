#include "signet/core/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "signet/core/error.h"

namespace signet {

namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const IpAddress& a) {
  return a.family == 6 && std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), a.bytes.begin());
}

IpAddress mapped_to_v4(const IpAddress& a) {
  IpAddress out;
  out.family = 4;
  std::copy_n(a.bytes.begin() + 12, 4, out.bytes.begin());
  return out;
}

int width(int family) { return family == 4 ? 32 : 128; }

// True when the first `prefix` bits of a and b agree (both of the same family).
bool same_prefix(const IpAddress& a, const IpAddress& b, int prefix) {
  const int whole = prefix / 8;
  if (!std::equal(a.bytes.begin(), a.bytes.begin() + whole, b.bytes.begin())) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[static_cast<std::size_t>(whole)] & mask) == (b.bytes[static_cast<std::size_t>(whole)] & mask);
}

IpAddress masked(const IpAddress& a, int prefix) {
  IpAddress out = a;
  const int bytes = width(a.family) / 8;
  for (int i = 0; i < bytes; ++i) {
    const int bits = std::clamp(prefix - i * 8, 0, 8);
    const auto mask = static_cast<std::uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
    out.bytes[static_cast<std::size_t>(i)] &= mask;
  }
  return out;
}

[[noreturn]] void invalid(std::string_view text, const std::string& why) {
  throw Error(ErrorKind::Malformed, "cidr-invalid",
              "\"" + std::string(text) + "\" is not a network in CIDR notation: " + why);
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a terminated string; anything longer than the longest IPv6 text is not one.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  IpAddress out;
  if (inet_pton(AF_INET, s.c_str(), out.bytes.data()) == 1) {
    out.family = 4;
    return out;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.bytes.data()) == 1) {
    out.family = 6;
    return out;
  }
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

Cidr Cidr::parse(std::string_view text) {
  if (text.empty()) invalid(text, "it is empty");
  const auto slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) invalid(text, "\"" + std::string(text.substr(0, slash)) + "\" is not an IPv4 or IPv6 address");
  Cidr out;
  out.network = *address;
  out.prefix = width(address->family);
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    int prefix = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || digits.size() > 3 || ec != std::errc() || end != digits.data() + digits.size() ||
        prefix < 0) {
      invalid(text, "the prefix length \"" + std::string(digits) + "\" is not a number");
    }
    if (prefix > out.prefix) {
      invalid(text, "the prefix length " + std::to_string(prefix) + " is longer than " + std::to_string(out.prefix) +
                        " bits");
    }
    out.prefix = prefix;
  }
  const IpAddress network = masked(out.network, out.prefix);
  if (network.bytes != out.network.bytes) {
    // Most likely a host address typed where its network was meant; naming it lets the operator
    // fix the line instead of guessing which of the two was intended.
    invalid(text, "host bits are set; the network is " + network.to_string() + "/" + std::to_string(out.prefix));
  }
  return out;
}

bool Cidr::contains(const IpAddress& address) const {
  // ::ffff:a.b.c.d is a.b.c.d reached over an IPv6 socket, so IPv4 networks see it; an IPv6
  // network never covers a plain IPv4 address ("::/0" is not meant to allow all of IPv4).
  IpAddress a = address;
  if (network.family == 4 && is_v4_mapped(a)) a = mapped_to_v4(a);
  if (a.family != network.family) return false;
  return same_prefix(a, network, prefix);
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix); }

bool allowed(const std::vector<Cidr>& networks, const IpAddress& address) {
  return networks.empty() ||
         std::any_of(networks.begin(), networks.end(), [&](const Cidr& c) { return c.contains(address); });
}

}  // namespace signet
