// The text `--version` prints in every program (signet, signetd): the project's version and the
// run-time versions of OpenSSL and SQLite.
#include "signet/core/version.h"

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <regex>
#include <string>

#include "app.h"
#include "command_line.h"

namespace signet {
namespace {

TEST(Version, NamesTheProgramTheProjectAndTheRuntimeLibraries) {
  EXPECT_TRUE(std::regex_match(std::string(project_version()), std::regex(R"(\d+\.\d+\.\d+)"))) << project_version();
  const std::string text = version_text("signet");
  EXPECT_EQ(text, "signet " + std::string(project_version()) + " (" + OpenSSL_version(OPENSSL_VERSION) +
                      ", SQLite " + sqlite3_libversion() + ")");
  EXPECT_NE(text.find("OpenSSL 3."), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

// Both command lines print it for --version (CLI11 throws CallForVersion with the text).
TEST(Version, SignetAndSignetdPrintIt) {
  cli::GlobalOptions global;
  cli::Action action;
  const auto signet = cli::make_app(global, action);
  daemon::DaemonOptions options;
  std::string config;
  const auto signetd = daemon::make_daemon_app(options, config);
  for (auto* app : {signet.get(), signetd.get()}) {
    try {
      app->parse(std::vector<std::string>{"--version"});
      ADD_FAILURE() << app->get_name() << " --version did not stop";
    } catch (const CLI::CallForVersion& e) {
      EXPECT_EQ(std::string(e.what()), version_text(app->get_name()));
    }
  }
}

}  // namespace
}  // namespace signet
