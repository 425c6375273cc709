#include "signet/core/cidr.h"

#include <gtest/gtest.h>

#include "support/error_assert.h"

namespace signet {
namespace {

IpAddress ip(std::string_view text) {
  const auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

TEST(CidrIpAddress, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(ip("192.0.2.7").family, 4);
  EXPECT_EQ(ip("192.0.2.7").to_string(), "192.0.2.7");
  EXPECT_EQ(ip("2001:DB8::1").family, 6);
  EXPECT_EQ(ip("2001:DB8::1").to_string(), "2001:db8::1");
  // A mapped address stays IPv6 as written; only matching treats it as IPv4.
  EXPECT_EQ(ip("::ffff:10.1.2.3").family, 6);
  for (const char* bad :
       {"", "10.0.0", "10.0.0.256", "010.0.0.1", "fe80::1%eth0", "[::1]", "host", " 10.0.0.1", "10.0.0.1/8"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
  }
}

TEST(CidrParse, AcceptsNetworksAndSingleAddresses) {
  EXPECT_EQ(Cidr::parse("10.0.0.0/8").to_string(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::parse("192.0.2.7").to_string(), "192.0.2.7/32");
  EXPECT_EQ(Cidr::parse("0.0.0.0/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(Cidr::parse("2001:db8::/32").to_string(), "2001:db8::/32");
  EXPECT_EQ(Cidr::parse("::1").to_string(), "::1/128");
  EXPECT_EQ(Cidr::parse("::/0").prefix, 0);
}

TEST(CidrParse, RejectsMalformedText) {
  for (const char* bad : {"", "10.0.0.1/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/8/8",
                          "fe80::1%eth0", "garbage", "10.0.0.0/08x", "/8"}) {
    const Error e = test::capture_error([&] { (void)Cidr::parse(bad); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << bad;
    EXPECT_EQ(e.code(), "cidr-invalid") << bad;
    EXPECT_NE(std::string(e.what()).find(std::string("\"") + bad + "\""), std::string::npos) << e.what();
  }
  const Error too_long = test::capture_error([] { (void)Cidr::parse("10.0.0.1/33"); });
  EXPECT_NE(std::string(too_long.what()).find("longer than 32 bits"), std::string::npos) << too_long.what();
}

TEST(CidrParse, HostBitsSetNamesTheNetworkMeant) {
  const Error v4 = test::capture_error([] { (void)Cidr::parse("10.0.0.1/8"); });
  EXPECT_EQ(v4.code(), "cidr-invalid");
  EXPECT_NE(std::string(v4.what()).find("the network is 10.0.0.0/8"), std::string::npos) << v4.what();
  const Error odd = test::capture_error([] { (void)Cidr::parse("192.168.1.130/25"); });
  EXPECT_NE(std::string(odd.what()).find("192.168.1.128/25"), std::string::npos) << odd.what();
  const Error v6 = test::capture_error([] { (void)Cidr::parse("2001:db8::1/64"); });
  EXPECT_NE(std::string(v6.what()).find("2001:db8::/64"), std::string::npos) << v6.what();
}

TEST(CidrContains, MatchesByPrefix) {
  const Cidr ten = Cidr::parse("10.0.0.0/8");
  EXPECT_TRUE(ten.contains(ip("10.255.1.2")));
  EXPECT_FALSE(ten.contains(ip("11.0.0.0")));
  const Cidr odd = Cidr::parse("192.168.1.128/25");
  EXPECT_TRUE(odd.contains(ip("192.168.1.200")));
  EXPECT_FALSE(odd.contains(ip("192.168.1.127")));
  const Cidr v6 = Cidr::parse("2001:db8::/33");
  EXPECT_TRUE(v6.contains(ip("2001:db8:7fff::1")));
  EXPECT_FALSE(v6.contains(ip("2001:db8:8000::1")));
  EXPECT_TRUE(Cidr::parse("::/0").contains(ip("::1")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0").contains(ip("203.0.113.9")));
  EXPECT_TRUE(Cidr::parse("192.0.2.7").contains(ip("192.0.2.7")));
  EXPECT_FALSE(Cidr::parse("192.0.2.7").contains(ip("192.0.2.8")));
}

TEST(CidrContains, FamiliesDoNotMixExceptMappedIpv4) {
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0").contains(ip("2001:db8::1")));
  EXPECT_FALSE(Cidr::parse("::/1").contains(ip("10.0.0.1")));
  // ::ffff:10.1.2.3 is 10.1.2.3 reached over an IPv6 socket: IPv4 networks must see it.
  EXPECT_TRUE(Cidr::parse("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/8").contains(ip("::ffff:11.1.2.3")));
  // Not the other way round: "::/0" means every IPv6 address, not IPv4 as well.
  EXPECT_FALSE(Cidr::parse("::/0").contains(ip("10.9.9.9")));
  EXPECT_TRUE(Cidr::parse("::ffff:10.0.0.0/104").contains(ip("::ffff:10.9.9.9")));
}

TEST(CidrAllowed, EmptyListAllowsAnythingElseOneMustMatch) {
  EXPECT_TRUE(allowed({}, ip("203.0.113.9")));
  EXPECT_TRUE(allowed({}, ip("::1")));
  const std::vector<Cidr> nets{Cidr::parse("10.0.0.0/8"), Cidr::parse("2001:db8::/32")};
  EXPECT_TRUE(allowed(nets, ip("10.1.2.3")));
  EXPECT_TRUE(allowed(nets, ip("2001:db8::5")));
  EXPECT_FALSE(allowed(nets, ip("127.0.0.1")));
  EXPECT_FALSE(allowed(nets, ip("::1")));
}

}  // namespace
}  // namespace signet
