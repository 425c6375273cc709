// Revocation reason names and numbers, Serial, and the rules for DNS names and email addresses.
#include "signet/issuance/names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include <libpsl.h>

namespace signet::issuance {
namespace {

// ---- revocation reasons -----------------------------------------------------------------------

TEST(RevocationReason, NamesAreTheRfc5280OnesAsOpensslSpellsThem) {
  EXPECT_EQ(to_string(RevocationReason::Unspecified), "unspecified");
  EXPECT_EQ(to_string(RevocationReason::KeyCompromise), "keyCompromise");
  EXPECT_EQ(to_string(RevocationReason::CaCompromise), "cACompromise");
  EXPECT_EQ(to_string(RevocationReason::AffiliationChanged), "affiliationChanged");
  EXPECT_EQ(to_string(RevocationReason::Superseded), "superseded");
  EXPECT_EQ(to_string(RevocationReason::CessationOfOperation), "cessationOfOperation");
  EXPECT_EQ(to_string(RevocationReason::PrivilegeWithdrawn), "privilegeWithdrawn");
  EXPECT_EQ(to_string(RevocationReason::AaCompromise), "aACompromise");
}

TEST(RevocationReason, AllAreInNumericOrderAndRoundTrip) {
  const auto& all = all_revocation_reasons();
  ASSERT_EQ(all.size(), 8u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(static_cast<int>(all[i - 1]), static_cast<int>(all[i]));
  for (const RevocationReason r : all) {
    EXPECT_EQ(parse_revocation_reason(to_string(r)), r) << to_string(r);
    EXPECT_EQ(revocation_reason_from_int(static_cast<int>(r)), r) << to_string(r);
  }
}

TEST(RevocationReason, ParsesAnyCaseAndDashedSpellings) {
  EXPECT_EQ(parse_revocation_reason("KEYCOMPROMISE"), RevocationReason::KeyCompromise);
  EXPECT_EQ(parse_revocation_reason("keycompromise"), RevocationReason::KeyCompromise);
  EXPECT_EQ(parse_revocation_reason("key-compromise"), RevocationReason::KeyCompromise);
  EXPECT_EQ(parse_revocation_reason("Key_Compromise"), RevocationReason::KeyCompromise);
  EXPECT_EQ(parse_revocation_reason("cacompromise"), RevocationReason::CaCompromise);
  EXPECT_EQ(parse_revocation_reason("ca-compromise"), RevocationReason::CaCompromise);
  EXPECT_EQ(parse_revocation_reason("aa-compromise"), RevocationReason::AaCompromise);
  EXPECT_EQ(parse_revocation_reason("affiliation-changed"), RevocationReason::AffiliationChanged);
  EXPECT_EQ(parse_revocation_reason("cessation-of-operation"), RevocationReason::CessationOfOperation);
  EXPECT_EQ(parse_revocation_reason("Privilege-Withdrawn"), RevocationReason::PrivilegeWithdrawn);
  EXPECT_EQ(parse_revocation_reason("SUPERSEDED"), RevocationReason::Superseded);
  EXPECT_EQ(parse_revocation_reason("Unspecified"), RevocationReason::Unspecified);
}

TEST(RevocationReason, RefusesHoldRemoveAndAnythingElse) {
  for (const char* name : {"certificateHold", "certificate-hold", "removeFromCRL", "remove-from-crl", "",
                           "key compromise", "keyCompromise ", "k-e-y-compromise", "key--compromise", "1",
                           "compromise"}) {
    EXPECT_EQ(parse_revocation_reason(name), std::nullopt) << '"' << name << '"';
  }
}

TEST(RevocationReason, FromIntKnowsOnlyTheOfferedNumbers) {
  const std::set<std::int64_t> offered{0, 1, 2, 3, 4, 5, 9, 10};
  for (std::int64_t v = -2; v <= 12; ++v) {
    EXPECT_EQ(revocation_reason_from_int(v).has_value(), offered.contains(v)) << v;
  }
  EXPECT_EQ(revocation_reason_from_int(9), RevocationReason::PrivilegeWithdrawn);
  EXPECT_EQ(revocation_reason_from_int(std::int64_t{1} << 32), std::nullopt);  // no truncation to 0
}

// ---- Serial -----------------------------------------------------------------------------------

TEST(Serial, RandomIsPositiveAtMost20BytesWithoutLeadingZeros) {
  std::set<Bytes> seen;
  bool saw_20_bytes = false;
  for (int i = 0; i < 2000; ++i) {
    const Serial s = Serial::random();
    ASSERT_FALSE(s.bytes.empty());
    ASSERT_LE(s.bytes.size(), 20u);
    ASSERT_NE(s.bytes[0], 0) << s.hex();
    if (s.bytes.size() == 20) {
      saw_20_bytes = true;
      ASSERT_EQ(s.bytes[0] & 0x80, 0) << s.hex();  // top bit cleared: a positive INTEGER of 20 octets
    }
    seen.insert(s.bytes);
  }
  EXPECT_TRUE(saw_20_bytes);  // the first byte is nonzero 127 times in 128
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(Serial, HexIsUppercaseEvenLengthAndRoundTrips) {
  EXPECT_EQ((Serial{{0x3a, 0x0f}}.hex()), "3A0F");
  EXPECT_EQ((Serial{{0x0a}}.hex()), "0A");
  EXPECT_EQ((Serial{{0x00, 0x00, 0xab}}.hex()), "AB");  // "00" never leads
  EXPECT_EQ((Serial{{0x80, 0x00}}.hex()), "8000");
  for (int i = 0; i < 100; ++i) {
    const Serial s = Serial::random();
    const std::string hex = s.hex();
    EXPECT_EQ(hex.size(), 2 * s.bytes.size());
    EXPECT_EQ(hex.find_first_not_of("0123456789ABCDEF"), std::string::npos) << hex;
    EXPECT_EQ(Serial::parse_hex(hex), s) << hex;
  }
}

TEST(Serial, ParseHexAcceptsOpensslAndHumanSpellings) {
  const Serial expected{{0x3a, 0x0f}};
  for (const char* text : {"3A0F", "3a0f", "0x3a0f", "0X3A0F", "3A:0F", "00003A0F", "00:00:3a:0f", "0x00:3A0F"}) {
    EXPECT_EQ(Serial::parse_hex(text), expected) << text;
  }
  EXPECT_EQ(Serial::parse_hex("a"), (Serial{{0x0a}}));
  EXPECT_EQ(Serial::parse_hex("abc"), (Serial{{0x0a, 0xbc}}));
  EXPECT_EQ(Serial::parse_hex(std::string(40, 'F')), (Serial{Bytes(20, 0xff)}));
  EXPECT_EQ(Serial::parse_hex("00" + std::string(40, '7')), (Serial{Bytes(20, 0x77)}));
}

TEST(Serial, ParseHexRefusesZeroGarbageAndTooLong) {
  const std::vector<std::string> refused{"",   "0",    "00",    "0x", "0x0", "::", "3G", "3A 0F", "-1",
                                         "+1", "0x-1", "3A0Fh", std::string(42, '1'), "1" + std::string(40, '0')};
  for (const std::string& text : refused) {
    EXPECT_EQ(Serial::parse_hex(text), std::nullopt) << '"' << text << '"';
  }
}

// ---- host names ---------------------------------------------------------------------------------

TEST(Hostname, AcceptsLdhLabelsInEitherCase) {
  for (const std::string& name : {std::string("localhost"), std::string("www.example.test"), std::string("WWW.Example.TEST"),
                                  std::string("a-b.c9.example"), std::string("xn--bcher-kva.example"), std::string("1.2.3.4.in-addr.arpa"),
                                  std::string(63, 'a') + ".test"}) {
    EXPECT_TRUE(valid_hostname(name)) << name;
  }
}

TEST(Hostname, RefusesEmptyLabelsWildcardsAndOtherCharacters) {
  for (const std::string& name :
       {std::string(""), std::string("."), std::string("example..test"), std::string(".example.test"),
        std::string("example.test."), std::string("*.example.test"), std::string("*"), std::string("a*.example.test"),
        std::string("-a.example.test"), std::string("a-.example.test"), std::string("a_b.example.test"),
        std::string("a b.test"), std::string("caf\xc3\xa9.test"), std::string("a.test\0b", 8),
        std::string(64, 'a') + ".test", std::string(254, 'a')}) {
    EXPECT_FALSE(valid_hostname(name)) << name;
  }
}

TEST(Hostname, AWildcardIsTheWholeLeftmostLabelOnly) {
  EXPECT_TRUE(is_wildcard_name("*.example.test"));
  EXPECT_TRUE(is_wildcard_name("*.localhost"));
  for (const char* name : {"*", "*.", "**.example.test", "*.*.example.test", "a*.example.test", "*a.example.test",
                           "a.*.example.test", "www.example.test", "*..example.test", "*.example.test."}) {
    EXPECT_FALSE(is_wildcard_name(name)) << name;
  }
}

// ---- public suffixes ----------------------------------------------------------------------------

TEST(PublicSuffix, TopLevelDomainsRegistryZonesAndHostingPlatformsAreSuffixes) {
  // ICANN section, a multi-label registry zone, the private section, a "*.ck" wildcard rule, an
  // IDN in its A-label form, and either case.
  for (const char* name : {"com", "org", "uk", "co.uk", "github.io", "s3.amazonaws.com", "foo.ck", "xn--55qx5d.cn",
                           "COM", "Co.Uk"}) {
    EXPECT_TRUE(is_public_suffix(name)) << name;
  }
}

TEST(PublicSuffix, RegisteredDomainsAndInternalSingleLabelsAreNot) {
  // "www.ck" is the "!www.ck" exception to "*.ck". "localhost", "myhost" and "internal" are in no
  // list: only the list's implicit "*" rule would make them suffixes, and it is not applied.
  for (const char* name : {"example.com", "www.example.co.uk", "user.github.io", "www.ck", "localhost", "myhost",
                           "internal", "example.test", "test"}) {
    EXPECT_FALSE(is_public_suffix(name)) << name;
  }
  // Not host names at all: not suffixes either (the caller refuses them as invalid).
  EXPECT_FALSE(is_public_suffix(""));
  EXPECT_FALSE(is_public_suffix("com."));
  EXPECT_FALSE(is_public_suffix("*.com"));
}

// The list comes from the system (libpsl and Debian's publicsuffix package), the newer of the
// two: the answers above are the system list's, not a copy of ours.
TEST(PublicSuffix, TheSystemListIsTheOneConsulted) {
  const psl_ctx_t* builtin = psl_builtin();
  ASSERT_NE(builtin, nullptr) << "libpsl was built without a list";
  for (const char* name : {"com", "co.uk", "github.io", "localhost", "example.com"}) {
    EXPECT_EQ(is_public_suffix(name),
              psl_is_public_suffix2(builtin, name, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) == 1)
        << name;
  }
}

// ---- email addresses ----------------------------------------------------------------------------

TEST(EmailAddress, AcceptsALocalPartAndAHostName) {
  for (const char* addr : {"alice@example.test", "a+b@example.test", "Alice@EXAMPLE.test", "root@localhost",
                           "#a\"b,c;d<e>f\\g=h+i@example.test"}) {
    EXPECT_TRUE(valid_email_address(addr)) << addr;
  }
}

TEST(EmailAddress, TheDomainIsAHostNameWithoutWildcardOrEmptyLabel) {
  for (const std::string& addr :
       {std::string("a@*.example.com"), std::string("a@"), std::string("@example.com"), std::string("a@example..com"),
        std::string("a@.example.com"), std::string("a@example.com."), std::string("a@*"), std::string("a@b@example.com"),
        std::string("no-at-sign"), std::string("a b@example.com"), std::string("a\x01@example.com"),
        std::string("\xc3\xa9@example.com"), std::string("a@bad_domain.com")}) {
    EXPECT_FALSE(valid_email_address(addr)) << addr;
  }
}

}  // namespace
}  // namespace signet::issuance
