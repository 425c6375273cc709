#include "signet/core/bytes.h"

#include <gtest/gtest.h>

namespace signet {
namespace {

TEST(Hex, LowerAndColonForms) {
  const Bytes b{0x00, 0xab, 0x10};
  EXPECT_EQ(to_hex(b), "00ab10");
  EXPECT_EQ(to_colon_hex(b), "00:AB:10");
  EXPECT_EQ(to_hex(Bytes{}), "");
}

TEST(SecretBytes, MoveLeavesSourceEmptyAndWipeClears) {
  SecretBytes a(as_bytes("passphrase"));
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(b.as_string_view(), "passphrase");
  b.truncate(4);
  EXPECT_EQ(b.as_string_view(), "pass");
  b.append(as_bytes("word"));
  EXPECT_EQ(b.as_string_view(), "password");
  b.wipe();
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace signet
