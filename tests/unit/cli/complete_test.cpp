// signet's shell completion (complete_words, behind `signet __complete`) over the real App tree.
// Key names from a real store, and the bash script itself, are tested with the real binary in
// tests/integration/cli_completion_test.cpp.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "app.h"
#include "support/temp_dir.h"

namespace signet::cli {
namespace {

class Completion : public ::testing::Test {
 protected:
  Completion() : app_(make_app(global_, action_)) { global_.data_dir = tmp_.path() / "no-store-here"; }

  // The candidates for the last of `words` (the command line after "signet"), one per element.
  std::vector<std::string> complete(const std::vector<std::string>& words) {
    ::testing::internal::CaptureStdout();
    const int rc = complete_words(*app_, global_, words);
    const std::string out = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(rc, kExitOk);
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  test::TempDir tmp_;
  GlobalOptions global_;
  Action action_;
  std::unique_ptr<CLI::App> app_;
};

using Words = std::vector<std::string>;

TEST_F(Completion, CommandsComeFromTheAppTree) {
  EXPECT_EQ(complete({""}), (Words{"acme", "backup", "clients", "issue", "keys", "ledger", "revoke", "setup", "store"}));
  EXPECT_EQ(complete({"ke"}), (Words{"keys"}));
  EXPECT_EQ(complete({"keys", ""}),
            (Words{"delete", "export", "generate", "import", "list", "quarantine", "rename", "show", "verify"}));
  EXPECT_EQ(complete({"keys", "quarantine", "r"}), (Words{"remove"}));
  EXPECT_EQ(complete({"acme", "eab", ""}), (Words{"add", "list", "remove"}));
  // Global options before the command are skipped, with their values.
  EXPECT_EQ(complete({"--data-dir", "/srv/ca", "--passphrase-file", "/x", "st"}), (Words{"store"}));
  EXPECT_EQ(complete({"--data-dir=/srv/ca", "st"}), (Words{"store"}));
  EXPECT_EQ(complete({"zzz"}), Words{});
  // After a word that is no command, signet would refuse the line: nothing to offer.
  EXPECT_EQ(complete({"nonsense", ""}), Words{});
  EXPECT_EQ(complete({"keys", "nonsense", "--"}), Words{});
}

TEST_F(Completion, OptionsOfTheCommandAndTheGlobalOnes) {
  EXPECT_EQ(complete({"keys", "generate", "--"}),
            (Words{"--algorithm", "--comment", "--data-dir", "--help", "--name", "--passphrase-file", "--version"}));
  EXPECT_EQ(complete({"backup", "restore", "f.bk", "--d"}), (Words{"--data-dir", "--dry-run"}));
  EXPECT_EQ(complete({"clients", "add", "--prof"}), (Words{"--profile", "--profiles"}));
  EXPECT_EQ(complete({"--pa"}), (Words{"--passphrase-file"}));
}

TEST_F(Completion, OptionValues) {
  EXPECT_EQ(complete({"keys", "generate", "--algorithm", ""}),
            (Words{"ec-p256", "ec-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096"}));
  EXPECT_EQ(complete({"keys", "generate", "--algorithm", "rsa-3"}), (Words{"rsa-3072"}));
  EXPECT_EQ(complete({"keys", "generate", "--algorithm=ec"}), (Words{"ec-p256", "ec-p384"}));
  // Files and directories: the shell completes them itself.
  EXPECT_EQ(complete({"keys", "export", "ca", "--out", ""}), (Words{":file"}));
  EXPECT_EQ(complete({"backup", "create", "--backup-passphrase-file", "/et"}), (Words{":file"}));
  EXPECT_EQ(complete({"--data-dir", ""}), (Words{":dir"}));
  EXPECT_EQ(complete({"keys", "list", "--data-dir="}), (Words{":dir"}));
  EXPECT_EQ(complete({"backup", "inspect", ""}), (Words{":file"}));
  EXPECT_EQ(complete({"keys", "import", ""}), (Words{":file"}));
  // A value the shell cannot guess (a new name, a comment): nothing.
  EXPECT_EQ(complete({"keys", "generate", "--name", ""}), Words{});
  EXPECT_EQ(complete({"clients", "add", ""}), Words{});
  // A flag takes no value: the next word is a positional, here a key name.
  EXPECT_EQ(complete({"keys", "show", "--json", ""}), Words{});
}

// A flag (an option without a value) does not take the next word as its value: what follows it
// is completed as if the flag was not there.
TEST_F(Completion, AFlagDoesNotSwallowTheNextWord) {
  EXPECT_EQ(complete({"keys", "list", "--all", "--"}),
            (Words{"--all", "--data-dir", "--help", "--json", "--passphrase-file", "--quarantined", "--version"}));
  EXPECT_EQ(complete({"keys", "delete", "--yes", "--d"}), (Words{"--data-dir"}));
  EXPECT_EQ(complete({"keys", "delete", "-y", "--y"}), (Words{"--yes"}));
  EXPECT_EQ(complete({"--data-dir", "/d", "keys", "show", "--json", "--j"}), (Words{"--json"}));
  EXPECT_EQ(complete({"keys", "generate", "--help", "--algorithm", "ed"}), (Words{"ed25519"}));
  EXPECT_EQ(complete({"keys", "list", "--json", "--data-dir", ""}), (Words{":dir"}));
  // A flag then a command: the command is still found.
  EXPECT_EQ(complete({"--version", "ke"}), (Words{"keys"}));
}

// --reason offers the names the parser accepts (issuance::all_revocation_reasons()).
TEST_F(Completion, RevocationReasons) {
  EXPECT_EQ(complete({"revoke", "01AB", "--reason", ""}),
            (Words{"aACompromise", "affiliationChanged", "cACompromise", "cessationOfOperation", "keyCompromise",
                   "privilegeWithdrawn", "superseded", "unspecified"}));
  EXPECT_EQ(complete({"revoke", "--reason", "k"}), (Words{"keyCompromise"}));
  EXPECT_EQ(complete({"revoke", "--json", "--reason=c"}), (Words{"cACompromise", "cessationOfOperation"}));
  EXPECT_EQ(complete({"clients", "remove", "web", "--reason", "su"}), (Words{"superseded"}));
}

TEST_F(Completion, KeyNamesWithoutAStoreGiveNothing) {
  // Key names are read from the store (tests/integration/cli_completion_test.cpp); without one,
  // nothing is printed, and no error either.
  EXPECT_EQ(complete({"keys", "show", ""}), Words{});
  EXPECT_EQ(complete({"keys", "delete", "--data-dir", "/nonexistent/dir", ""}), Words{});
  EXPECT_FALSE(std::filesystem::exists(global_.data_dir));
}

}  // namespace
}  // namespace signet::cli
