#include "signet/issuance/profile.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "signet/core/error.h"
#include "support/error_assert.h"

namespace signet::issuance {
namespace {

using namespace std::chrono_literals;
using test::capture_error;

constexpr auto kDay = std::chrono::hours(24);

Bytes ip4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return Bytes{a, b, c, d}; }

// Parses `text` as a whole signetd.toml and hands its [profiles] table to parse_profiles.
std::map<std::string, Profile> profiles_from(std::string_view text) {
  const toml::table root = toml::parse(text);
  return parse_profiles(root["profiles"].as_table());
}

// The config-invalid error parse_profiles throws for `text`.
Error config_error(std::string_view text) {
  return capture_error([&] { (void)profiles_from(text); });
}

void expect_config_invalid(std::string_view text, std::string_view message_part) {
  const Error e = config_error(text);
  EXPECT_EQ(e.kind(), ErrorKind::Malformed) << text;
  EXPECT_EQ(e.code(), "config-invalid") << text;
  EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos)
      << "message \"" << e.what() << "\" lacks \"" << message_part << "\"";
}

// ---- defaults -----------------------------------------------------------------------------------

TEST(DefaultProfiles, ServerTlsAndClientTlsExist) {
  const auto profiles = default_profiles();
  ASSERT_EQ(profiles.size(), 2u);
  EXPECT_TRUE(profiles.contains("server-tls"));
  EXPECT_TRUE(profiles.contains("client-tls"));
}

TEST(DefaultProfiles, ServerTlsAllowsServerAuthWithAnyDnsAndIpName) {
  const Profile p = default_profiles().at("server-tls");
  EXPECT_EQ(p.name, "server-tls");
  EXPECT_TRUE(p.key_usage.digital_signature);
  EXPECT_TRUE(p.key_usage.key_encipherment);
  EXPECT_FALSE(p.key_usage.key_agreement);
  EXPECT_FALSE(p.key_usage.content_commitment);
  EXPECT_EQ(p.extended_key_usages, std::vector<std::string>{"serverAuth"});
  EXPECT_EQ(p.dns_suffixes, std::vector<std::string>{"*"});
  ASSERT_EQ(p.ip_networks.size(), 2u);
  EXPECT_EQ(p.ip_networks[0].to_string(), "0.0.0.0/0");
  EXPECT_EQ(p.ip_networks[1].to_string(), "::/0");
  EXPECT_TRUE(p.email_domains.empty());
  EXPECT_EQ(p.max_validity, 90 * kDay);
  EXPECT_EQ(p.default_validity, 90 * kDay);
  EXPECT_EQ(p.max_names, 100u);
  EXPECT_EQ(p.key_types, (std::vector<std::string>{"rsa", "ec-p256", "ec-p384", "ed25519"}));
  EXPECT_EQ(p.min_rsa_bits, 2048);
  EXPECT_FALSE(p.allow_wildcards);
}

TEST(DefaultProfiles, ClientTlsAllowsClientAuthWithDnsAndEmailNamesButNoIp) {
  const Profile p = default_profiles().at("client-tls");
  EXPECT_EQ(p.name, "client-tls");
  EXPECT_TRUE(p.key_usage.digital_signature);
  EXPECT_FALSE(p.key_usage.key_encipherment);
  EXPECT_EQ(p.extended_key_usages, std::vector<std::string>{"clientAuth"});
  EXPECT_EQ(p.dns_suffixes, std::vector<std::string>{"*"});
  EXPECT_EQ(p.email_domains, std::vector<std::string>{"*"});
  EXPECT_TRUE(p.ip_networks.empty());
  EXPECT_EQ(p.max_validity, 90 * kDay);
  EXPECT_EQ(p.min_rsa_bits, 2048);
  EXPECT_FALSE(p.allow_wildcards);
}

TEST(ParseProfiles, AbsentTableGivesTheDefaults) {
  const auto profiles = parse_profiles(nullptr);
  ASSERT_EQ(profiles.size(), 2u);
  EXPECT_EQ(profiles.at("server-tls").extended_key_usages, std::vector<std::string>{"serverAuth"});
  EXPECT_EQ(profiles_from("[daemon]\nlisten = \"x\"\n").size(), 2u);
}

TEST(ParseProfiles, EmptyProfilesTableGivesTheDefaults) {
  EXPECT_EQ(profiles_from("[profiles]\n").size(), 2u);
}

// ---- valid tables -------------------------------------------------------------------------------

TEST(ParseProfiles, AFullProfileIsParsedFieldByField) {
  const auto profiles = profiles_from(R"(
[profiles.web]
key_usage = ["digitalSignature", "keyEncipherment", "keyAgreement", "nonRepudiation"]
extended_key_usage = ["serverAuth", "clientAuth"]
max_validity = "30d"
default_validity = "7d"
dns_suffixes = ["Example.TEST", "internal"]
ip_networks = ["10.0.0.0/8", "fd00::/8", "192.0.2.1/32"]
email_domains = ["Mail.Example.test"]
allow_wildcards = true
max_names = 5
key_types = ["ec-p256", "rsa"]
min_rsa_bits = 3072
)");
  ASSERT_EQ(profiles.size(), 3u);  // the defaults stay
  const Profile& p = profiles.at("web");
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.key_usage, (KeyUsage{.digital_signature = true,
                                   .key_encipherment = true,
                                   .key_agreement = true,
                                   .content_commitment = true}));
  EXPECT_EQ(p.extended_key_usages, (std::vector<std::string>{"serverAuth", "clientAuth"}));
  EXPECT_EQ(p.max_validity, 30 * kDay);
  EXPECT_EQ(p.default_validity, 7 * kDay);
  EXPECT_EQ(p.dns_suffixes, (std::vector<std::string>{"example.test", "internal"}));  // lower-cased
  ASSERT_EQ(p.ip_networks.size(), 3u);
  EXPECT_EQ(p.ip_networks[0].to_string(), "10.0.0.0/8");
  EXPECT_EQ(p.ip_networks[1].to_string(), "fd00::/8");
  EXPECT_EQ(p.ip_networks[2].to_string(), "192.0.2.1/32");
  EXPECT_EQ(p.email_domains, std::vector<std::string>{"mail.example.test"});
  EXPECT_TRUE(p.allow_wildcards);
  EXPECT_EQ(p.max_names, 5u);
  EXPECT_EQ(p.key_types, (std::vector<std::string>{"ec-p256", "rsa"}));
  EXPECT_EQ(p.min_rsa_bits, 3072);
}

TEST(ParseProfiles, ContentCommitmentIsAcceptedUnderItsNewName) {
  const auto p = profiles_from(R"(
[profiles.sign]
key_usage = ["contentCommitment"]
dns_suffixes = ["*"]
)").at("sign");
  EXPECT_EQ(p.key_usage, (KeyUsage{.content_commitment = true}));  // the list replaces the default
}

TEST(ParseProfiles, AMinimalProfileTakesSafeDefaultsAndNoNames) {
  const Profile p = profiles_from(R"(
[profiles.min]
dns_suffixes = ["example.test"]
)").at("min");
  EXPECT_EQ(p.key_usage, (KeyUsage{.digital_signature = true}));
  EXPECT_TRUE(p.extended_key_usages.empty());
  EXPECT_TRUE(p.ip_networks.empty());
  EXPECT_TRUE(p.email_domains.empty());
  EXPECT_EQ(p.max_validity, 90 * kDay);
  EXPECT_EQ(p.default_validity, 90 * kDay);
  EXPECT_EQ(p.max_names, 100u);
  EXPECT_EQ(p.key_types, (std::vector<std::string>{"rsa", "ec-p256", "ec-p384", "ed25519"}));
  EXPECT_EQ(p.min_rsa_bits, 2048);
  EXPECT_FALSE(p.allow_wildcards) << "a wildcard is allowed only by saying so";
}

TEST(ParseProfiles, AllowWildcardsIsABooleanDefaultingToFalse) {
  EXPECT_FALSE(profiles_from("[profiles.w]\ndns_suffixes = [\"*\"]\nallow_wildcards = false\n").at("w").allow_wildcards);
  EXPECT_TRUE(profiles_from("[profiles.w]\ndns_suffixes = [\"*\"]\nallow_wildcards = true\n").at("w").allow_wildcards);
  for (const char* value : {"1", "\"true\"", "\"yes\"", "[true]"}) {
    SCOPED_TRACE(value);
    expect_config_invalid("[profiles.w]\ndns_suffixes = [\"*\"]\nallow_wildcards = " + std::string(value) + "\n",
                          "profiles.w.allow_wildcards: expected true or false");
  }
  // A misspelling is an unknown key, which names allow_wildcards among the allowed ones.
  expect_config_invalid("[profiles.w]\ndns_suffixes = [\"*\"]\nallow_wildcard = true\n",
                        "profiles.w.allow_wildcard: unknown key; allowed: ");
  expect_config_invalid("[profiles.w]\ndns_suffixes = [\"*\"]\nallow_wildcard = true\n", "allow_wildcards");
}

TEST(ParseProfiles, AProfileWithOnlyNetworksOrOnlyEmailDomainsIsValid) {
  const auto profiles = profiles_from(R"(
[profiles.ips]
ip_networks = ["192.0.2.0/24"]
[profiles.mail]
email_domains = ["*"]
)");
  EXPECT_EQ(profiles.at("ips").ip_networks.size(), 1u);
  EXPECT_EQ(profiles.at("mail").email_domains, std::vector<std::string>{"*"});
}

TEST(ParseProfiles, DefaultValidityFollowsAShorterMaxValidityWhenUnset) {
  const Profile p = profiles_from(R"(
[profiles.short]
dns_suffixes = ["*"]
max_validity = "12h"
)").at("short");
  EXPECT_EQ(p.max_validity, 12h);
  EXPECT_EQ(p.default_validity, 12h);
}

TEST(ParseProfiles, DefaultValidityEqualToMaxIsAccepted) {
  const Profile p = profiles_from(R"(
[profiles.eq]
dns_suffixes = ["*"]
max_validity = "10d"
default_validity = "240h"
)").at("eq");
  EXPECT_EQ(p.default_validity, p.max_validity);
}

TEST(ParseProfiles, DurationsMayBeIntegersOfSeconds) {
  const Profile p = profiles_from(R"(
[profiles.n]
dns_suffixes = ["*"]
max_validity = 86400
default_validity = 3600
)").at("n");
  EXPECT_EQ(p.max_validity, 86400s);
  EXPECT_EQ(p.default_validity, 3600s);
}

TEST(ParseProfiles, RedefiningABuiltInProfileReplacesItWhole) {
  const auto profiles = profiles_from(R"(
[profiles.server-tls]
dns_suffixes = ["example.test"]
extended_key_usage = ["serverAuth"]
)");
  ASSERT_EQ(profiles.size(), 2u);
  const Profile& p = profiles.at("server-tls");
  EXPECT_EQ(p.dns_suffixes, std::vector<std::string>{"example.test"});
  EXPECT_TRUE(p.ip_networks.empty());  // not inherited from the built-in
  EXPECT_FALSE(p.key_usage.key_encipherment);
  EXPECT_EQ(profiles.at("client-tls").extended_key_usages, std::vector<std::string>{"clientAuth"});
}

TEST(ParseProfiles, KeyUsageAndEkuMayBeEmptyLists) {
  const Profile p = profiles_from(R"(
[profiles.bare]
key_usage = []
extended_key_usage = []
dns_suffixes = ["*"]
)").at("bare");
  EXPECT_EQ(p.key_usage, KeyUsage{});
  EXPECT_TRUE(p.extended_key_usages.empty());
}

TEST(ParseProfiles, BoundaryNumbersAreAccepted) {
  const auto profiles = profiles_from(R"(
[profiles.lo]
dns_suffixes = ["*"]
max_names = 1
min_rsa_bits = 2048
[profiles.hi]
dns_suffixes = ["*"]
max_names = 1000
min_rsa_bits = 8192
)");
  EXPECT_EQ(profiles.at("lo").max_names, 1u);
  EXPECT_EQ(profiles.at("lo").min_rsa_bits, 2048);
  EXPECT_EQ(profiles.at("hi").max_names, 1000u);
  EXPECT_EQ(profiles.at("hi").min_rsa_bits, 8192);
}

// ---- errors -------------------------------------------------------------------------------------

TEST(ParseProfiles, AnUnknownKeyIsRefusedByName) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_validty = \"30d\"\n",
                        "profiles.web.max_validty: unknown key");
}

TEST(ParseProfiles, AnUnknownEkuIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nextended_key_usage = [\"serverauth\"]\n",
                        "profiles.web.extended_key_usage: unknown extended key usage \"serverauth\"");
}

TEST(ParseProfiles, AnUnknownKeyUsageIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nkey_usage = [\"keyCertSign\"]\n",
                        "profiles.web.key_usage: unknown key usage \"keyCertSign\"");
}

TEST(ParseProfiles, ABadDurationIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_validity = \"90 days\"\n",
                        "profiles.web.max_validity: \"90 days\" is not a duration");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\ndefault_validity = \"1w\"\n",
                        "profiles.web.default_validity");
}

TEST(ParseProfiles, AValidityUnderTenMinutesIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_validity = \"5m\"\n",
                        "profiles.web.max_validity: is shorter than 10 minutes");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\ndefault_validity = 60\n",
                        "profiles.web.default_validity: is shorter than 10 minutes");
}

TEST(ParseProfiles, ADurationOfTheWrongTypeIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_validity = 1.5\n",
                        "profiles.web.max_validity: expected a duration");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_validity = [\"90d\"]\n",
                        "profiles.web.max_validity: expected a duration");
}

// toml++'s permissive value<int64_t>() reads true as 1 and 4096.0 as 4096; the header promises
// "wrong type" is refused, so a boolean must not become a one-second validity.
TEST(ParseProfiles, NumbersOfTheWrongTomlTypeAreRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_validity = true\n",
                        "profiles.web.max_validity: expected a duration");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\ndefault_validity = 3600.0\n",
                        "profiles.web.default_validity: expected a duration");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_names = true\n", "max_names");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_names = 5.0\n", "max_names");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmin_rsa_bits = 4096.0\n", "min_rsa_bits");
}

TEST(ParseProfiles, AZeroOrNegativeIntegerDurationIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_validity = 0\n",
                        "profiles.web.max_validity: expected a positive duration");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_validity = -3600\n",
                        "profiles.web.max_validity: expected a positive duration");
}

TEST(ParseProfiles, DefaultValidityLongerThanMaxIsRefused) {
  expect_config_invalid(R"(
[profiles.web]
dns_suffixes = ["*"]
max_validity = "30d"
default_validity = "31d"
)",
                        "profiles.web.default_validity: is longer than max_validity");
}

TEST(ParseProfiles, AnExplicitDefaultOverTheImplicitMaxIsRefused) {
  // max_validity unset means 90 days.
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\ndefault_validity = \"91d\"\n",
                        "longer than max_validity");
}

TEST(ParseProfiles, ABadNetworkIsRefused) {
  for (const char* net : {"10.0.0.0", "10.0.0.0/33", "fd00::/129", "10.0.0/8", "example.test/8", "10.0.0.0/-1",
                          "10.0.0.0/8x", "10.0.0.0/", "/8", ""}) {
    SCOPED_TRACE(net);
    expect_config_invalid(std::string("[profiles.web]\nip_networks = [\"") + net + "\"]\n",
                          "profiles.web.ip_networks:");
  }
}

TEST(ParseProfiles, ANetworkWithHostBitsSetIsRefusedWithTheNetworkAddress) {
  expect_config_invalid("[profiles.web]\nip_networks = [\"10.1.2.3/8\"]\n", "host bits set");
  expect_config_invalid("[profiles.web]\nip_networks = [\"10.1.2.3/8\"]\n", "(10.0.0.0/8)");
  expect_config_invalid("[profiles.web]\nip_networks = [\"fd00::1/64\"]\n", "(fd00::/64)");
}

TEST(ParseProfiles, AProfileWithNoNamesIsRefused) {
  expect_config_invalid("[profiles.web]\nextended_key_usage = [\"serverAuth\"]\n",
                        "profiles.web: allows no names");
  expect_config_invalid("[profiles.web]\ndns_suffixes = []\nip_networks = []\nemail_domains = []\n",
                        "profiles.web: allows no names");
}

TEST(ParseProfiles, ABadKeyTypeIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nkey_types = [\"rsa\", \"ec-secp256k1\"]\n",
                        "profiles.web.key_types: unknown key type \"ec-secp256k1\"");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nkey_types = [\"dsa\"]\n", "unknown key type");
}

TEST(ParseProfiles, AnEmptyKeyTypeListIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nkey_types = []\n",
                        "profiles.web.key_types: allow at least one key type");
}

TEST(ParseProfiles, MinRsaBitsOutOfRangeIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmin_rsa_bits = 1024\n",
                        "profiles.web.min_rsa_bits: expected a number from 2048 to 8192");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmin_rsa_bits = 2047\n", "min_rsa_bits");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmin_rsa_bits = 16384\n", "min_rsa_bits");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmin_rsa_bits = \"2048\"\n", "min_rsa_bits");
}

TEST(ParseProfiles, MaxNamesOutOfRangeIsRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_names = 0\n",
                        "profiles.web.max_names: expected a number from 1 to 1000");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [\"*\"]\nmax_names = 1001\n", "max_names");
}

TEST(ParseProfiles, ABadDnsSuffixIsRefused) {
  for (const char* s : {".example.test", "example.test.", "exa mple.test", "a..b", "*.example.test", ""}) {
    SCOPED_TRACE(s);
    expect_config_invalid(std::string("[profiles.web]\ndns_suffixes = [\"") + s + "\"]\n",
                          "profiles.web.dns_suffixes:");
  }
}

TEST(ParseProfiles, ABadEmailDomainIsRefused) {
  expect_config_invalid("[profiles.web]\nemail_domains = [\"user@example.test\"]\n",
                        "profiles.web.email_domains: \"user@example.test\" is not a domain");
}

TEST(ParseProfiles, NonStringListsAreRefused) {
  expect_config_invalid("[profiles.web]\ndns_suffixes = \"example.test\"\n",
                        "profiles.web.dns_suffixes: expected an array of strings");
  expect_config_invalid("[profiles.web]\ndns_suffixes = [1, 2]\n",
                        "profiles.web.dns_suffixes: expected an array of strings");
}

TEST(ParseProfiles, AProfileThatIsNotATableIsRefused) {
  expect_config_invalid("[profiles]\nweb = \"server\"\n", "profiles.web: expected a table");
}

TEST(ParseProfiles, ABadProfileNameIsRefused) {
  expect_config_invalid("[profiles.\"web site\"]\ndns_suffixes = [\"*\"]\n", "a profile name is 1 to 64");
  expect_config_invalid("[profiles.\"" + std::string(65, 'a') + "\"]\ndns_suffixes = [\"*\"]\n",
                        "a profile name is 1 to 64");
}

// ---- parse_duration -----------------------------------------------------------------------------

TEST(ParseDuration, AcceptsEachUnitAndBareSeconds) {
  EXPECT_EQ(parse_duration("90d"), 90 * kDay);
  EXPECT_EQ(parse_duration("12h"), 12h);
  EXPECT_EQ(parse_duration("30m"), 30min);
  EXPECT_EQ(parse_duration("3600s"), 3600s);
  EXPECT_EQ(parse_duration("3600"), 3600s);
  EXPECT_EQ(parse_duration("1"), 1s);
  EXPECT_EQ(parse_duration("1d"), kDay);
}

TEST(ParseDuration, AcceptsUpToAHundredYears) {
  EXPECT_EQ(parse_duration("36600d"), 36600 * kDay);
  const std::int64_t hundred_years = std::int64_t{36600} * 86400;
  EXPECT_EQ(parse_duration(std::to_string(hundred_years)), std::chrono::seconds(hundred_years));
}

TEST(ParseDuration, RefusesMalformedText) {
  for (const char* text : {"", "d", "h", "s", "0", "0d", "-1d", "-5", "+5", "1.5d", "5 d", " 5d", "5d ", "1w", "5D",
                           "5dd", "d5", "abc", "12hm", "0x10"}) {
    SCOPED_TRACE(text);
    const Error e = capture_error([&] { (void)parse_duration(text); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "invalid-duration");
  }
}

TEST(ParseDuration, RefusesMoreThanAHundredYearsAndOverflow) {
  for (const char* text : {"36601d", "878401h", "99999999999999999999", "9223372036854775807d"}) {
    SCOPED_TRACE(text);
    const Error e = capture_error([&] { (void)parse_duration(text); });
    EXPECT_EQ(e.code(), "invalid-duration");
  }
}

TEST(ParseDuration, TheMessageNamesTheInput) {
  const Error e = capture_error([] { (void)parse_duration("soon"); });
  EXPECT_NE(std::string(e.what()).find("\"soon\""), std::string::npos) << e.what();
}

// ---- IpNetwork ----------------------------------------------------------------------------------

TEST(IpNetwork, ParsesV4AndV6AndPrintsBack) {
  const IpNetwork v4 = IpNetwork::parse("10.0.0.0/8");
  EXPECT_EQ(v4.address, ip4(10, 0, 0, 0));
  EXPECT_EQ(v4.prefix, 8);
  EXPECT_EQ(v4.to_string(), "10.0.0.0/8");
  const IpNetwork v6 = IpNetwork::parse("2001:db8::/32");
  EXPECT_EQ(v6.address.size(), 16u);
  EXPECT_EQ(v6.prefix, 32);
  EXPECT_EQ(v6.to_string(), "2001:db8::/32");
}

TEST(IpNetwork, ParseErrorsAreInvalidNetwork) {
  for (const char* text : {"10.0.0.0", "10.0.0.0/33", "::/129", "10.0.0.1/24", "nonsense/8", "10.0.0.0/a",
                           "10.0.0.0/08x", "10.0.0.0/+8"}) {
    SCOPED_TRACE(text);
    const Error e = capture_error([&] { (void)IpNetwork::parse(text); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "invalid-network");
  }
}

TEST(IpNetwork, PrefixZeroContainsEveryAddressOfItsFamilyOnly) {
  const IpNetwork any4 = IpNetwork::parse("0.0.0.0/0");
  EXPECT_TRUE(any4.contains(ip4(0, 0, 0, 0)));
  EXPECT_TRUE(any4.contains(ip4(255, 255, 255, 255)));
  EXPECT_TRUE(any4.contains(ip4(192, 0, 2, 1)));
  EXPECT_FALSE(any4.contains(Bytes(16, 0)));

  const IpNetwork any6 = IpNetwork::parse("::/0");
  EXPECT_TRUE(any6.contains(Bytes(16, 0)));
  EXPECT_TRUE(any6.contains(Bytes(16, 0xFF)));
  EXPECT_FALSE(any6.contains(ip4(192, 0, 2, 1)));
}

TEST(IpNetwork, PrefixEight) {
  const IpNetwork net = IpNetwork::parse("10.0.0.0/8");
  EXPECT_TRUE(net.contains(ip4(10, 0, 0, 0)));
  EXPECT_TRUE(net.contains(ip4(10, 255, 255, 255)));
  EXPECT_TRUE(net.contains(ip4(10, 1, 2, 3)));
  EXPECT_FALSE(net.contains(ip4(11, 0, 0, 0)));
  EXPECT_FALSE(net.contains(ip4(9, 255, 255, 255)));
  EXPECT_FALSE(net.contains(ip4(138, 0, 0, 0)));  // 10 with the top bit set

  const IpNetwork v6 = IpNetwork::parse("fd00::/8");
  EXPECT_TRUE(v6.contains(IpNetwork::parse("fd12:3456::1/128").address));
  EXPECT_TRUE(v6.contains(IpNetwork::parse("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128").address));
  EXPECT_FALSE(v6.contains(IpNetwork::parse("fc00::1/128").address));
  EXPECT_FALSE(v6.contains(IpNetwork::parse("fe00::/128").address));
}

TEST(IpNetwork, PrefixNotOnAByteBoundary) {
  const IpNetwork net = IpNetwork::parse("172.16.0.0/12");
  EXPECT_TRUE(net.contains(ip4(172, 16, 0, 0)));
  EXPECT_TRUE(net.contains(ip4(172, 31, 255, 255)));
  EXPECT_FALSE(net.contains(ip4(172, 32, 0, 0)));
  EXPECT_FALSE(net.contains(ip4(172, 15, 255, 255)));

  const IpNetwork v6 = IpNetwork::parse("fc00::/7");
  EXPECT_TRUE(v6.contains(IpNetwork::parse("fc00::/128").address));
  EXPECT_TRUE(v6.contains(IpNetwork::parse("fdff:ffff::/128").address));
  EXPECT_FALSE(v6.contains(IpNetwork::parse("fe00::/128").address));
}

TEST(IpNetwork, PrefixThirtyTwoIsOneV4Address) {
  const IpNetwork one = IpNetwork::parse("192.0.2.1/32");
  EXPECT_TRUE(one.contains(ip4(192, 0, 2, 1)));
  EXPECT_FALSE(one.contains(ip4(192, 0, 2, 0)));
  EXPECT_FALSE(one.contains(ip4(192, 0, 2, 2)));
  EXPECT_FALSE(one.contains(ip4(193, 0, 2, 1)));
}

TEST(IpNetwork, PrefixThirtyTwoInV6IsAnAddressBlock) {
  const IpNetwork net = IpNetwork::parse("2001:db8::/32");
  EXPECT_TRUE(net.contains(IpNetwork::parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128").address));
  EXPECT_TRUE(net.contains(IpNetwork::parse("2001:db8::/128").address));
  EXPECT_FALSE(net.contains(IpNetwork::parse("2001:db9::/128").address));
  EXPECT_FALSE(net.contains(ip4(32, 1, 13, 184)));  // same first four bytes, other family
}

TEST(IpNetwork, PrefixOneTwentyEightIsOneV6Address) {
  const IpNetwork one = IpNetwork::parse("2001:db8::1/128");
  EXPECT_TRUE(one.contains(IpNetwork::parse("2001:db8::1/128").address));
  EXPECT_FALSE(one.contains(IpNetwork::parse("2001:db8::2/128").address));
  EXPECT_FALSE(one.contains(IpNetwork::parse("2001:db8::/128").address));
  EXPECT_FALSE(one.contains(IpNetwork::parse("3001:db8::1/128").address));
}

TEST(IpNetwork, AnAddressOfNeitherLengthIsNotContained) {
  EXPECT_FALSE(IpNetwork::parse("0.0.0.0/0").contains(Bytes{}));
  EXPECT_FALSE(IpNetwork::parse("0.0.0.0/0").contains(Bytes{1, 2, 3}));
  EXPECT_FALSE(IpNetwork::parse("::/0").contains(Bytes(15, 0)));
}

}  // namespace
}  // namespace signet::issuance
