// IP networks in CIDR notation ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7" = /32): what ACME
// validation may connect to (`[acme] allowed_networks`).
//
// Thread-safety: immutable values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signet {

// An IPv4 or IPv6 address; IPv4 is kept as IPv4 (family 4), and an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) matches IPv4 networks.
struct IpAddress {
  int family = 4;                       // 4 or 6
  std::array<std::uint8_t, 16> bytes{};  // the first 4 for IPv4
  [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
};

struct Cidr {
  IpAddress network;  // host bits zero
  int prefix = 0;
  // Error(Malformed, "cidr-invalid") naming the text, for "10.0.0.1/33", "10.0.0.1/8" (host bits
  // set: say the network meant), "", "fe80::1%eth0".
  [[nodiscard]] static Cidr parse(std::string_view text);
  [[nodiscard]] bool contains(const IpAddress& address) const;
  [[nodiscard]] std::string to_string() const;
};

// True when `networks` is empty (any) or one of them contains `address`.
[[nodiscard]] bool allowed(const std::vector<Cidr>& networks, const IpAddress& address);

}  // namespace signet
