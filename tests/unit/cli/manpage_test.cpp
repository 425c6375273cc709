// The manual pages in packaging/man/ against the programs they describe: one source of truth.
//
// signet(1) is compared with the App tree `signet` parses (make_app), signetd(8) with signetd's
// command line (make_daemon_app), its configuration keys with the table the configuration parser
// checks files against (config_keys), and its metrics with what the daemon's code registers; each
// check runs both ways where that is cheap (a page documenting an option the program refuses fails
// too). The pages follow a few conventions that make this possible, written at the top of each:
// a command of signet(1) is a `.SS "signet COMMAND..."` heading, and each option a `.TP` item
// under it; a section of signetd.toml(5) is `.SS "[section]"` with a `.TP` item per key.
//
// Every page must also pass `man --warnings` (what lintian runs), when man is installed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "app.h"
#include "command_line.h"
#include "metrics.h"
#include "signet/core/error.h"
#include "signet/issuance/profile.h"
#include "signet/setup/daemon_config.h"
#include "support/process.h"

#ifndef SIGNET_SOURCE_DIR
#error "SIGNET_SOURCE_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace signet::cli {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = SIGNET_SOURCE_DIR;
const fs::path kManDir = kSourceDir / "packaging" / "man";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Roff source as text: "\-" is "-", font changes and quotes are dropped.
std::string plain(std::string line) {
  line = std::regex_replace(line, std::regex(R"(\\f[BIRP])"), "");
  line = std::regex_replace(line, std::regex(R"(\\-)"), "-");
  line = std::regex_replace(line, std::regex(R"(\\&)"), "");
  return line;
}

std::string unquote(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '"'), s.end());
  return s;
}

// One `.SS` block of a page (or the part of a `.SH` section before its first `.SS`): its title
// and its lines.
struct Block {
  std::string section;  // the .SH title
  std::string title;    // the .SS title, "" for the text right under .SH
  std::vector<std::string> lines;
};

class ManPage {
 public:
  explicit ManPage(const std::string& file) : path_(kManDir / file) {
    std::istringstream in(read_file(path_));
    std::string line;
    blocks_.push_back({});
    while (std::getline(in, line)) {
      if (line.rfind(".SH ", 0) == 0) {
        blocks_.push_back({unquote(line.substr(4)), "", {}});
      } else if (line.rfind(".SS ", 0) == 0) {
        blocks_.push_back({blocks_.back().section, unquote(line.substr(4)), {}});
      } else {
        blocks_.back().lines.push_back(line);
      }
    }
  }

  [[nodiscard]] bool exists() const { return fs::is_regular_file(path_); }
  [[nodiscard]] const fs::path& path() const { return path_; }
  [[nodiscard]] const std::vector<Block>& blocks() const { return blocks_; }

  // The block under `.SS "title"`; nullptr when there is none.
  [[nodiscard]] const Block* subsection(const std::string& title) const {
    for (const Block& b : blocks_) {
      if (b.title == title) return &b;
    }
    return nullptr;
  }

  // The text under `.SH title`, before its first `.SS`.
  [[nodiscard]] const Block* section(const std::string& title) const {
    for (const Block& b : blocks_) {
      if (b.section == title && b.title.empty()) return &b;
    }
    return nullptr;
  }

  // The whole page as plain text.
  [[nodiscard]] std::string text() const {
    std::string out;
    for (const Block& b : blocks_) {
      out += b.title + "\n";
      for (const std::string& l : b.lines) out += plain(l) + "\n";
    }
    return out;
  }

 private:
  fs::path path_;
  std::vector<Block> blocks_;
};

// The tag lines of a block's `.TP` items, as plain text without their macro (".B", ".BR", ...).
std::vector<std::string> tags(const Block& block) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < block.lines.size(); ++i) {
    if (block.lines[i] != ".TP") continue;
    std::string tag = block.lines[i + 1];
    if (!tag.empty() && tag[0] == '.') tag = tag.substr(std::min(tag.find(' '), tag.size()));
    out.push_back(unquote(plain(tag)));
  }
  return out;
}

// The long options ("--out" as "out") in a block's .TP tags.
std::set<std::string> documented_options(const Block& block) {
  std::set<std::string> out;
  static const std::regex option(R"(--([a-z0-9][a-z0-9-]*))");
  for (const std::string& tag : tags(block)) {
    for (std::sregex_iterator m(tag.begin(), tag.end(), option), end; m != end; ++m) out.insert((*m)[1]);
  }
  return out;
}

// The first word of each .TP tag (a configuration key, a metric, an environment variable).
std::set<std::string> tag_words(const Block& block) {
  std::set<std::string> out;
  for (const std::string& tag : tags(block)) {
    std::istringstream words(tag);
    std::string first;
    if (words >> first) out.insert(first);
  }
  return out;
}

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "\n  " + i;
  return out;
}

// --- signet(1) ---------------------------------------------------------------------------------

struct Command {
  std::string path;  // "signet keys quarantine remove"
  const CLI::App* app;
};

// Every command of the tree, depth first; hidden ones (group "") are not for the page.
void walk(const CLI::App* app, const std::string& path, std::vector<Command>& out) {
  for (const CLI::App* sub : app->get_subcommands({})) {
    if (sub->get_group().empty()) continue;
    const std::string sub_path = path + " " + sub->get_name();
    out.push_back({sub_path, sub});
    walk(sub, sub_path, out);
  }
}

// The long names of a command's own options, without --help (documented once, under OPTIONS).
std::set<std::string> long_options(const CLI::App& app) {
  std::set<std::string> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o == app.get_help_ptr()) continue;
    for (const std::string& name : o->get_lnames()) out.insert(name);
  }
  return out;
}

class SignetManPage : public ::testing::Test {
 protected:
  SignetManPage() : app_(make_app(global_, action_)), page_("signet.1") { walk(app_.get(), "signet", commands_); }

  GlobalOptions global_;
  Action action_;
  std::unique_ptr<CLI::App> app_;
  ManPage page_;
  std::vector<Command> commands_;
};

TEST_F(SignetManPage, EveryCommandHasItsHeading) {
  ASSERT_TRUE(page_.exists()) << page_.path();
  ASSERT_GT(commands_.size(), 20u) << "the App tree looks empty";
  std::vector<std::string> missing;
  for (const Command& c : commands_) {
    if (page_.subsection(c.path) == nullptr) missing.push_back(c.path);
  }
  EXPECT_TRUE(missing.empty()) << page_.path() << " lacks a heading .SS \"COMMAND\" for:" << list(missing);
}

TEST_F(SignetManPage, EveryHeadingIsACommand) {
  std::set<std::string> paths;
  for (const Command& c : commands_) paths.insert(c.path);
  std::vector<std::string> unknown;
  for (const Block& b : page_.blocks()) {
    if (b.section == "COMMANDS" && !b.title.empty() && !paths.contains(b.title)) unknown.push_back(b.title);
  }
  EXPECT_TRUE(unknown.empty()) << page_.path() << " documents commands signet does not have:" << list(unknown);
}

TEST_F(SignetManPage, EveryOptionIsDocumentedUnderItsCommand) {
  std::vector<std::string> missing;
  const Block* global = page_.section("OPTIONS");
  ASSERT_NE(global, nullptr) << page_.path() << " has no OPTIONS section";
  const std::set<std::string> global_documented = documented_options(*global);
  for (const std::string& name : long_options(*app_)) {
    if (!global_documented.contains(name)) missing.push_back("signet --" + name + " (under OPTIONS)");
  }
  EXPECT_TRUE(global_documented.contains("help")) << "OPTIONS should describe --help";
  for (const Command& c : commands_) {
    const Block* block = page_.subsection(c.path);
    if (block == nullptr) continue;  // reported by EveryCommandHasItsHeading
    const std::set<std::string> documented = documented_options(*block);
    for (const std::string& name : long_options(*c.app)) {
      if (!documented.contains(name)) missing.push_back(c.path + " --" + name);
    }
  }
  EXPECT_TRUE(missing.empty()) << page_.path() << " lacks a .TP item for these options:" << list(missing);
}

TEST_F(SignetManPage, EveryDocumentedOptionExists) {
  std::vector<std::string> unknown;
  const Block* global = page_.section("OPTIONS");
  ASSERT_NE(global, nullptr);
  std::set<std::string> root = long_options(*app_);
  root.insert("help");
  for (const std::string& name : documented_options(*global)) {
    if (!root.contains(name)) unknown.push_back("signet --" + name);
  }
  for (const Command& c : commands_) {
    const Block* block = page_.subsection(c.path);
    if (block == nullptr) continue;
    const std::set<std::string> real = long_options(*c.app);
    for (const std::string& name : documented_options(*block)) {
      if (!real.contains(name)) unknown.push_back(c.path + " --" + name);
    }
  }
  EXPECT_TRUE(unknown.empty()) << page_.path() << " documents options signet does not accept:" << list(unknown);
}

TEST_F(SignetManPage, EnvironmentAndExitStatus) {
  std::vector<std::string> env = {kDataDirEnv};
  std::vector<const CLI::App*> apps = {app_.get()};
  for (const Command& c : commands_) apps.push_back(c.app);
  for (const CLI::App* a : apps) {
    for (const CLI::Option* o : a->get_options()) {
      if (!o->get_envname().empty()) env.push_back(o->get_envname());
    }
  }
  const Block* environment = page_.section("ENVIRONMENT");
  ASSERT_NE(environment, nullptr) << page_.path() << " has no ENVIRONMENT section";
  std::vector<std::string> missing;
  for (const std::string& name : env) {
    if (!tag_words(*environment).contains(name)) missing.push_back(name);
  }
  EXPECT_TRUE(missing.empty()) << "ENVIRONMENT of " << page_.path() << " lacks:" << list(missing);

  const Block* exit_status = page_.section("EXIT STATUS");
  ASSERT_NE(exit_status, nullptr) << page_.path() << " has no EXIT STATUS section";
  const std::set<std::string> statuses = tag_words(*exit_status);
  for (const int code : {kExitOk, kExitError, kExitUsage, kExitInvalid}) {
    EXPECT_TRUE(statuses.contains(std::to_string(code))) << "EXIT STATUS lacks " << code;
  }
  EXPECT_EQ(statuses.size(), 4u) << "EXIT STATUS describes statuses signet does not use";
}

TEST_F(SignetManPage, TheCompletionCommandIsHidden) {
  // `signet __complete` is for the bash script only: neither a subcommand (--help would list it)
  // nor in the page.
  for (const CLI::App* sub : app_->get_subcommands({})) EXPECT_NE(sub->get_name(), kCompleteCommand);
  EXPECT_EQ(read_file(page_.path()).find(kCompleteCommand), std::string::npos);
  EXPECT_EQ(app_->help().find(kCompleteCommand), std::string::npos);
}

// --- signetd(8) and signetd.toml(5) ------------------------------------------------------------

TEST(SignetdManPage, EveryOptionIsDocumentedAndNoOther) {
  const ManPage page("signetd.8");
  ASSERT_TRUE(page.exists()) << page.path();
  daemon::DaemonOptions options;
  std::string config;
  const auto app = daemon::make_daemon_app(options, config);
  std::set<std::string> real;
  for (const CLI::Option* o : app->get_options()) {
    for (const std::string& name : o->get_lnames()) real.insert(name);
  }
  ASSERT_TRUE(real.contains("config") && real.contains("version") && real.contains("help"));
  const Block* section = page.section("OPTIONS");
  ASSERT_NE(section, nullptr) << page.path() << " has no OPTIONS section";
  const std::set<std::string> documented = documented_options(*section);
  std::vector<std::string> missing;
  std::vector<std::string> unknown;
  for (const std::string& name : real) {
    if (!documented.contains(name)) missing.push_back("--" + name);
  }
  for (const std::string& name : documented) {
    if (!real.contains(name)) unknown.push_back("--" + name);
  }
  EXPECT_TRUE(missing.empty()) << page.path() << " OPTIONS lacks:" << list(missing);
  EXPECT_TRUE(unknown.empty()) << page.path() << " documents options signetd does not accept:" << list(unknown);
}

// signetd.8 names every key briefly (as section.key), and no key the parser refuses.
TEST(SignetdManPage, NamesEveryConfigurationKey) {
  const ManPage page("signetd.8");
  const std::string text = page.text();
  const std::vector<std::string> keys = daemon::config_keys();
  ASSERT_GT(keys.size(), 40u);
  std::vector<std::string> missing;
  for (const std::string& key : keys) {
    if (!std::regex_search(text, std::regex("(^|[^a-z_.])" + std::regex_replace(key, std::regex(R"(\.)"), R"(\.)") +
                                            "($|[^a-z0-9_])"))) {
      missing.push_back(key);
    }
  }
  EXPECT_TRUE(missing.empty()) << page.path() << " does not name these keys of signetd.toml:" << list(missing);

  std::string sections;
  for (const std::string& s : daemon::config_sections()) sections += (sections.empty() ? "" : "|") + s;
  const std::regex mention("(^|[^a-z_./])(" + sections + R"()\.([a-z][a-z0-9_]*))");
  std::vector<std::string> unknown;
  for (std::sregex_iterator m(text.begin(), text.end(), mention), end; m != end; ++m) {
    const std::string key = (*m)[2].str() + "." + (*m)[3].str();
    if ((*m)[2] != "profiles" && std::find(keys.begin(), keys.end(), key) == keys.end()) unknown.push_back(key);
  }
  EXPECT_TRUE(unknown.empty()) << page.path() << " names keys signetd.toml may not have:" << list(unknown);
}

// The keys issuance::parse_profiles() accepts, from its own "unknown key; allowed: ..." message
// (the profile parser keeps no list apart from its code).
std::vector<std::string> profile_keys() {
  try {
    toml::table root = toml::parse("[p]\nno_such_key_for_the_test = 1\n");
    (void)issuance::parse_profiles(&root);
  } catch (const Error& e) {
    const std::string message = e.what();
    const std::size_t at = message.find("allowed: ");
    if (at == std::string::npos) return {};
    std::vector<std::string> out;
    std::istringstream in(message.substr(at + 9));
    std::string item;
    while (std::getline(in, item, ',')) {
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(" .") + 1);
      out.push_back(item);
    }
    return out;
  }
  return {};
}

// Whether parse_profiles() knows `key` (a wrong value is fine here: only "unknown key" is not).
bool profile_key_known(const std::string& key) {
  try {
    toml::table root = toml::parse("[p]\n" + key + " = {}\n");
    (void)issuance::parse_profiles(&root);
  } catch (const Error& e) {
    return std::string(e.what()).find("unknown key") == std::string::npos;
  }
  return true;
}

TEST(SignetdTomlManPage, EverySectionAndKeyIsDocumentedAndNoOther) {
  const ManPage page("signetd.toml.5");
  ASSERT_TRUE(page.exists()) << page.path();
  std::vector<std::string> missing;
  std::vector<std::string> unknown;
  const std::vector<std::string> keys = daemon::config_keys();
  for (const std::string& section : daemon::config_sections()) {
    const std::string title = section == "profiles" ? "[profiles.NAME]" : "[" + section + "]";
    const Block* block = page.subsection(title);
    if (block == nullptr) {
      missing.push_back(title);
      continue;
    }
    const std::set<std::string> documented = tag_words(*block);
    if (section == "profiles") {
      const std::vector<std::string> accepted = profile_keys();
      EXPECT_GT(accepted.size(), 5u) << "could not learn the profile keys from parse_profiles()";
      for (const std::string& key : accepted) {
        if (!documented.contains(key)) missing.push_back("profiles.NAME." + key);
      }
      for (const std::string& key : documented) {
        if (!profile_key_known(key)) unknown.push_back("profiles.NAME." + key);
      }
      continue;
    }
    for (const std::string& key : keys) {
      if (key.rfind(section + ".", 0) == 0 && !documented.contains(key.substr(section.size() + 1))) {
        missing.push_back(key);
      }
    }
    for (const std::string& key : documented) {
      if (std::find(keys.begin(), keys.end(), section + "." + key) == keys.end()) unknown.push_back(section + "." + key);
    }
  }
  for (const Block& b : page.blocks()) {
    if (b.title.empty() || b.title[0] != '[' || b.title == "[profiles.NAME]") continue;
    const std::string name = b.title.substr(1, b.title.size() - 2);
    const std::vector<std::string> sections = daemon::config_sections();
    if (std::find(sections.begin(), sections.end(), name) == sections.end()) unknown.push_back(b.title);
  }
  EXPECT_TRUE(missing.empty()) << page.path() << " lacks (a .TP item under .SS \"[section]\"):" << list(missing);
  EXPECT_TRUE(unknown.empty()) << page.path() << " documents what signetd.toml may not have:" << list(unknown);
}

// Every key says whether SIGHUP applies it or it needs a restart (in its item or for its section).
TEST(SignetdTomlManPage, EveryKeySaysWhenItApplies) {
  const ManPage page("signetd.toml.5");
  std::vector<std::string> silent;
  for (const Block& b : page.blocks()) {
    if (b.title.empty() || b.title[0] != '[') continue;
    std::string intro;
    std::size_t i = 0;
    for (; i < b.lines.size() && b.lines[i] != ".TP"; ++i) intro += plain(b.lines[i]) + " ";
    const auto says = [](const std::string& s) {
      return s.find("restart") != std::string::npos || s.find("SIGHUP") != std::string::npos;
    };
    if (says(intro)) continue;
    std::string item;
    std::string key;
    for (; i <= b.lines.size(); ++i) {
      if (i == b.lines.size() || b.lines[i] == ".TP") {
        if (!key.empty() && !says(item)) silent.push_back(b.title + " " + key);
        if (i + 1 < b.lines.size()) {
          std::istringstream words(plain(b.lines[i + 1]));
          std::string macro;
          words >> macro >> key;
        }
        item.clear();
        continue;
      }
      item += plain(b.lines[i]) + " ";
    }
  }
  EXPECT_TRUE(silent.empty()) << "these keys do not say whether SIGHUP applies them:" << list(silent);
}

// Every metric signetd exports, documented under METRICS of signetd.8, and no other. The names are
// those the real registry renders by itself (Metrics::render) and every metric name in the
// daemon's sources (declared, incremented, observed or set: all are string literals there);
// tests/integration/cli_completion_test.cpp compares the page with a running signetd's /metrics.
std::set<std::string> daemon_metric_names() {
  std::set<std::string> out;
  daemon::Metrics metrics;
  const std::string exposition = metrics.render();
  static const std::regex type_line(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) )");
  for (std::sregex_iterator m(exposition.begin(), exposition.end(), type_line), end; m != end; ++m) {
    out.insert((*m)[1]);
  }
  static const std::regex literal(R"re("((signet|process)_[a-z0-9_]+)")re");
  for (const auto& entry : fs::directory_iterator(kSourceDir / "server" / "daemon")) {
    const std::string source = read_file(entry.path());
    for (std::sregex_iterator m(source.begin(), source.end(), literal), end; m != end; ++m) out.insert((*m)[1]);
  }
  return out;
}

TEST(SignetdManPage, EveryMetricIsDocumentedAndNoOther) {
  const ManPage page("signetd.8");
  const Block* section = page.section("METRICS");
  ASSERT_NE(section, nullptr) << page.path() << " has no METRICS section";
  const std::set<std::string> documented = tag_words(*section);
  const std::set<std::string> real = daemon_metric_names();
  ASSERT_GT(real.size(), 20u);
  std::vector<std::string> missing;
  std::vector<std::string> unknown;
  for (const std::string& name : real) {
    if (!documented.contains(name)) missing.push_back(name);
  }
  for (const std::string& name : documented) {
    if (!real.contains(name)) unknown.push_back(name);
  }
  EXPECT_TRUE(missing.empty()) << page.path() << " METRICS lacks:" << list(missing);
  EXPECT_TRUE(unknown.empty()) << page.path() << " documents metrics signetd does not export:" << list(unknown);
}

// --- every page --------------------------------------------------------------------------------

// What lintian runs on a manual page: any warning (an unknown macro, "can't break line") fails.
TEST(ManPages, PassManWarningsAndLexgrog) {
  if (!fs::exists("/usr/bin/man") || !fs::exists("/usr/bin/lexgrog")) GTEST_SKIP() << "man-db is not installed";
  for (const char* file : {"signet.1", "signetd.8", "signet-setup.1", "signetd.toml.5"}) {
    const fs::path path = kManDir / file;
    ASSERT_TRUE(fs::is_regular_file(path)) << path;
    const test::ProcessResult man =
        test::run_process({"env", "LC_ALL=C.UTF-8", "MANROFFSEQ=", "MANWIDTH=80", "man", "--warnings", "-E",
                           "UTF-8", "-l", "-Tutf8", "-Z", path.string()});
    EXPECT_EQ(man.exit_code, 0) << path << "\n" << man.err;
    EXPECT_EQ(man.err, "") << path << ": man --warnings";
    const test::ProcessResult lexgrog = test::run_process({"lexgrog", path.string()});
    EXPECT_EQ(lexgrog.exit_code, 0) << path << ": lexgrog cannot read its NAME section\n" << lexgrog.out << lexgrog.err;
  }
}

}  // namespace
}  // namespace signet::cli
