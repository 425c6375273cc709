// Revocation reason names and numbers, and Serial.
#include "signet/issuance/names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace signet::issuance
