// What the Debian packages add around the programs, with the real binaries: `--version`, the
// hidden `signet __complete` with key names from a real store (read without a passphrase, writing
// nothing), the bash completion script itself (packaging/completion/signet, run by bash with
// COMP_WORDS and COMP_CWORD set), and the metrics a running signetd exports against signetd(8).
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_harness.h"
#include "support/signetd_process.h"

#ifndef SIGNET_SOURCE_DIR
#error "SIGNET_SOURCE_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace signet::test::cli {
namespace {

const fs::path kSourceDir = SIGNET_SOURCE_DIR;
const std::string kSignetd = SIGNETD_PATH;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

using Lines = std::vector<std::string>;

// --- --version ------------------------------------------------------------------------------------

TEST(Version, SignetAndSignetdNameTheRuntimeLibraries) {
  const std::string libraries =
      std::string(" (") + OpenSSL_version(OPENSSL_VERSION) + ", SQLite " + sqlite3_libversion() + ")\n";
  for (const std::string& program : {kSignet, kSignetd}) {
    const ProcessResult r = run_process({program, "--version"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const std::string name = fs::path(program).filename().string();
    EXPECT_TRUE(std::regex_match(r.out, std::regex(name + R"( \d+\.\d+\.\d+ \(OpenSSL 3\.[^,]+, SQLite 3\.\d+\.\d+\)\n)")))
        << r.out;
    EXPECT_TRUE(r.out.ends_with(libraries)) << r.out << "expected to end with" << libraries;
  }
  // The same library the sqlite3 program reports (both are Debian's libsqlite3).
  const ProcessResult sqlite = run_process({"sqlite3", "--version"});
  if (sqlite.exit_code == 0) {
    EXPECT_TRUE(sqlite.out.starts_with(std::string(sqlite3_libversion()) + " ")) << sqlite.out;
  }
}

// --- signet __complete ----------------------------------------------------------------------------

class CompletionTest : public CliTest {
 protected:
  // `signet __complete WORDS...` with the environment `env` and neither SIGNET_DATA_DIR nor a
  // passphrase unless env sets it.
  ProcessResult complete(const std::vector<std::string>& words, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {kSignet, "__complete"};
    argv.insert(argv.end(), words.begin(), words.end());
    ProcessOptions o;
    o.unset_env = {"SIGNET_DATA_DIR", "SIGNET_PASSPHRASE_FILE"};
    o.env = std::move(env);
    return run_process(argv, o);
  }

  Lines candidates(const std::vector<std::string>& words, std::map<std::string, std::string> env = {}) {
    const ProcessResult r = complete(words, std::move(env));
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.err, "") << describe(r);
    return lines_of(r.out);
  }

  // Bash, with the completion script loaded, completing `line` (split at spaces; a trailing space
  // means a new, empty word) as if TAB was pressed at its end. `signet` is the built binary.
  Lines bash_complete(const std::string& line, std::map<std::string, std::string> env = {}) {
    std::string words = "'" + kSignet + "'";
    std::istringstream in(line);
    int count = 1;
    for (std::string w; in >> w; ++count) words += " '" + w + "'";
    if (line.empty() || line.back() == ' ') {
      words += " ''";
      ++count;
    }
    const std::string script = "source '" + (kSourceDir / "packaging/completion/signet").string() +
                               "' || exit 9\n"
                               "complete -p signet >/dev/null || exit 8\n"
                               "COMP_WORDS=(" + words + ")\nCOMP_CWORD=" + std::to_string(count - 1) +
                               "\n_signet\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
    ProcessOptions o;
    o.unset_env = {"SIGNET_DATA_DIR", "SIGNET_PASSPHRASE_FILE"};
    o.env = std::move(env);
    const ProcessResult r = run_process({"bash", "--norc", "--noprofile", "-c", script}, o);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    Lines out = lines_of(r.out);
    if (out.size() == 1 && out[0].empty()) out.clear();  // printf prints one empty line for none
    return out;
  }

  // Bash, with the completion script loaded, completing the last of `words` (each as typed, with
  // its quotes) after "signet". Gives, for every candidate, what the shell reads once readline has
  // inserted it and the operator presses Enter: "COUNT:[WORD]..." (readline replaces the text
  // after a quote left open, and closes that quote). `words` must hold no newline.
  Lines bash_insert(const std::vector<std::string>& words, std::map<std::string, std::string> env = {}) {
    const auto quote = [](const std::string& w) {
      std::string q = "'";
      for (const char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return q + "'";
    };
    // The typed text up to and including a quote left open in the last word, and that quote.
    std::string head, open;
    const std::string& last = words.back();
    char state = 0;
    for (std::size_t i = 0; i < last.size(); ++i) {
      const char c = last[i];
      if (state == 0 && c == '\\') {
        ++i;
      } else if (state == 0 && (c == '\'' || c == '"')) {
        state = c;
        head = last.substr(0, i + 1);
      } else if (c == state) {
        state = 0;
      } else if (state == '"' && c == '\\') {
        ++i;
      }
    }
    if (state != 0) {
      open = std::string(1, state);
    } else {
      head.clear();
    }
    std::string comp_words = quote(kSignet);
    for (const std::string& w : words) comp_words += " " + quote(w);
    const std::string script = "source '" + (kSourceDir / "packaging/completion/signet").string() +
                               "' || exit 9\n"
                               "COMP_WORDS=(" + comp_words + ")\nCOMP_CWORD=" + std::to_string(words.size()) +
                               "\n_signet\n"
                               "head=" + quote(head) + "\nopen=" + quote(open) + "\n"
                               "for r in \"${COMPREPLY[@]}\"; do\n"
                               "  eval \"set -- $head$r$open\"\n"
                               "  printf '%s:' \"$#\"; printf '[%s]' \"$@\"; printf '\\n'\n"
                               "done\n";
    ProcessOptions o;
    o.unset_env = {"SIGNET_DATA_DIR", "SIGNET_PASSPHRASE_FILE"};
    o.env = std::move(env);
    const ProcessResult r = run_process({"bash", "--norc", "--noprofile", "-c", script}, o);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return lines_of(r.out);
  }

  // Renames key `from` to `to` in the store's database itself, bypassing any check of names that
  // signet makes: the completion must cope with whatever name a store holds.
  void rename_in_database(const std::string& from, const std::string& to) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((store_ / "signet.db").string().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE keys SET name = ?1 WHERE name = ?2", -1, &st, nullptr), SQLITE_OK);
    sqlite3_bind_text(st, 1, to.data(), static_cast<int>(to.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, from.data(), static_cast<int>(from.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  // A store with three keys, made through the real binary.
  void make_store() {
    ASSERT_TRUE(init_store());
    ASSERT_TRUE(generate("ca-2026", "ec-p256"));
    ASSERT_TRUE(generate("web-a", "ec-p256"));
    ASSERT_TRUE(generate("web-b", "ed25519"));
  }
};

TEST_F(CompletionTest, IsHiddenFromHelp) {
  const ProcessResult help = run_process({kSignet, "--help"});
  EXPECT_EQ(help.exit_code, 0) << describe(help);
  EXPECT_TRUE(contains(help.out, "keys")) << help.out;
  EXPECT_FALSE(contains(help.out, "__complete")) << help.out;
}

TEST_F(CompletionTest, KeyNamesFromARealStoreWithoutPassphraseAndWithoutWriting) {
  make_store();
  const DirSnapshot before = snapshot(store_);
  const std::vector<std::string> files_before = file_names(store_);
  const std::string dir = store_.string();

  EXPECT_EQ(candidates({"--data-dir", dir, "keys", "show", ""}), (Lines{"ca-2026", "web-a", "web-b"}));
  EXPECT_EQ(candidates({"--data-dir=" + dir, "keys", "delete", "web"}), (Lines{"web-a", "web-b"}));
  EXPECT_EQ(candidates({"keys", "export", "c"}, {{"SIGNET_DATA_DIR", dir}}), (Lines{"ca-2026"}));
  // --data-dir after the command, as signet accepts global options there too.
  EXPECT_EQ(candidates({"keys", "verify", "ca-2026", "--data-dir", dir, "w"}), (Lines{"web-a", "web-b"}));
  // Only the first name of `keys rename` is an existing key.
  EXPECT_EQ(candidates({"--data-dir", dir, "keys", "rename", ""}), (Lines{"ca-2026", "web-a", "web-b"}));
  EXPECT_EQ(candidates({"--data-dir", dir, "keys", "rename", "web-a", ""}), Lines{});
  // A passphrase file that does not exist does not matter: nothing is unlocked.
  EXPECT_EQ(candidates({"--data-dir", dir, "keys", "show", ""}, {{"SIGNET_PASSPHRASE_FILE", "/nonexistent"}}),
            (Lines{"ca-2026", "web-a", "web-b"}));

  // Nothing was written: the same files (no -wal or -shm left behind), byte for byte.
  EXPECT_EQ(file_names(store_), files_before);
  EXPECT_TRUE(snapshot(store_) == before) << "completion changed the store directory";
}

TEST_F(CompletionTest, NoStoreOrABrokenOneGivesNoCandidatesAndNoError) {
  EXPECT_EQ(candidates({"--data-dir", (tmp_ / "missing").string(), "keys", "show", ""}), Lines{});
  EXPECT_FALSE(fs::exists(tmp_ / "missing"));
  fs::create_directories(tmp_ / "junk");
  write_text(tmp_ / "junk" / "signet.db", "this is not SQLite");
  EXPECT_EQ(candidates({"--data-dir", (tmp_ / "junk").string(), "keys", "show", ""}), Lines{});
  EXPECT_EQ(read_text(tmp_ / "junk" / "signet.db"), "this is not SQLite");
}

TEST_F(CompletionTest, TheBashScript) {
  make_store();
  const DirSnapshot before = snapshot(store_);
  const std::map<std::string, std::string> env = {{"SIGNET_DATA_DIR", store_.string()}};

  EXPECT_EQ(bash_complete("ke"), (Lines{"keys"}));
  EXPECT_EQ(bash_complete("keys qu"), (Lines{"quarantine"}));
  EXPECT_EQ(bash_complete("backup restore f.bk --merge"), (Lines{"--merge-clients"}));
  EXPECT_EQ(bash_complete("keys generate --algorithm ec"), (Lines{"ec-p256", "ec-p384"}));
  EXPECT_EQ(bash_complete("keys show ", env), (Lines{"ca-2026", "web-a", "web-b"}));
  EXPECT_EQ(bash_complete("keys show web", env), (Lines{"web-a", "web-b"}));
  EXPECT_EQ(bash_complete("--data-dir " + store_.string() + " keys delete c"), (Lines{"ca-2026"}));
  // "--data-dir=DIR" comes split at '=' by readline; the script puts it together.
  EXPECT_EQ(bash_complete("--data-dir = " + store_.string() + " keys show ca"), (Lines{"ca-2026"}));
  // Paths are completed by bash.
  write_text(tmp_ / "import-me.pem", "x");
  EXPECT_EQ(bash_complete("keys import " + (tmp_ / "import-").string()), (Lines{(tmp_ / "import-me.pem").string()}));
  EXPECT_EQ(bash_complete("keys export ca --out " + (tmp_ / "import-").string()),
            (Lines{(tmp_ / "import-me.pem").string()}));
  EXPECT_EQ(bash_complete("--data-dir " + (tmp_ / "sto").string()), (Lines{store_.string()}));
  EXPECT_EQ(bash_complete("keys list --data-dir = " + (tmp_ / "sto").string()), (Lines{store_.string()}));
  EXPECT_EQ(bash_complete("nonsense "), Lines{});

  EXPECT_TRUE(snapshot(store_) == before) << "completion changed the store directory";
}

// Key names are values: whatever characters they hold, the script inserts each as exactly one
// word that the shell reads back as the name, and runs nothing. A name with a control character
// (a newline would make two candidates) is never offered: it could not be typed anyway.
TEST_F(CompletionTest, KeyNamesAreInsertedQuoted) {
  make_store();
  const std::string pwned = (tmp_ / "PWNED").string();
  const std::string evil = "x$(touch " + pwned + ")";
  rename_in_database("ca-2026", evil);
  rename_in_database("web-a", "has space");
  rename_in_database("web-b", "it's \"$HOME\" `id` !x");
  ASSERT_TRUE(generate("web-c", "ec-p256"));
  rename_in_database("web-c", "line\nbreak");
  ASSERT_TRUE(generate("web-d", "ec-p256"));
  rename_in_database("web-d", "tab\there");
  const std::map<std::string, std::string> env = {{"SIGNET_DATA_DIR", store_.string()}};

  // signet offers the names as they are, one a line, but none with a control character.
  EXPECT_EQ(candidates({"keys", "show", ""}, env), (Lines{"has space", "it's \"$HOME\" `id` !x", evil}));
  EXPECT_EQ(candidates({"keys", "show", "line"}, env), Lines{});
  EXPECT_EQ(candidates({"keys", "show", "break"}, env), Lines{});
  EXPECT_EQ(candidates({"keys", "show", "tab"}, env), Lines{});

  // Completing an empty word, a prefix, a backslash-quoted one and one in open quotes.
  EXPECT_EQ(bash_insert({"keys", "show", ""}, env),
            (Lines{"1:[has space]", "1:[it's \"$HOME\" `id` !x]", "1:[" + evil + "]"}));
  EXPECT_EQ(bash_insert({"keys", "show", "x"}, env), (Lines{"1:[" + evil + "]"}));
  EXPECT_EQ(bash_insert({"keys", "delete", "--yes", "x$"}, env), (Lines{"1:[" + evil + "]"}));
  EXPECT_EQ(bash_insert({"keys", "show", "has\\ s"}, env), (Lines{"1:[has space]"}));
  EXPECT_EQ(bash_insert({"keys", "show", "'has s"}, env), (Lines{"1:[has space]"}));
  EXPECT_EQ(bash_insert({"keys", "show", "\"has"}, env), (Lines{"1:[has space]"}));
  EXPECT_EQ(bash_insert({"keys", "show", "'it"}, env), (Lines{"1:[it's \"$HOME\" `id` !x]"}));
  EXPECT_EQ(bash_insert({"keys", "show", "\"it"}, env), (Lines{"1:[it's \"$HOME\" `id` !x]"}));
  EXPECT_EQ(bash_insert({"keys", "show", "it\\'s\\ \\\"\\$H"}, env), (Lines{"1:[it's \"$HOME\" `id` !x]"}));
  // The words before the current one reach signet unquoted too.
  EXPECT_EQ(bash_insert({"--data-dir", "'" + store_.string() + "'", "keys", "export", "'x$("}),
            (Lines{"1:[" + evil + "]"}));
  EXPECT_FALSE(fs::exists(pwned)) << "completing a key name ran a command substitution";
}

// A flag takes no value: after it come key names and options. --reason offers the reasons, and
// "--option=VALUE" in one word (when '=' is not in COMP_WORDBREAKS) is completed too.
TEST_F(CompletionTest, AfterFlagsReasonsAndOptionEqualsValue) {
  make_store();
  const std::string dir = store_.string();
  EXPECT_EQ(candidates({"--data-dir", dir, "keys", "delete", "--yes", ""}), (Lines{"ca-2026", "web-a", "web-b"}));
  EXPECT_EQ(candidates({"--data-dir", dir, "keys", "show", "--json", "w"}), (Lines{"web-a", "web-b"}));
  EXPECT_EQ(candidates({"keys", "list", "--all", "--j"}), (Lines{"--json"}));
  EXPECT_EQ(bash_complete("--data-dir " + dir + " keys delete -y "), (Lines{"ca-2026", "web-a", "web-b"}));
  EXPECT_EQ(bash_complete("revoke 0A --reason key"), (Lines{"keyCompromise"}));
  EXPECT_EQ(bash_complete("revoke 0A --reason = su"), (Lines{"superseded"}));

  // One word "--data-dir=PATH": bash completes the path and keeps "--data-dir=" before it.
  fs::create_directories(tmp_ / "with space");
  EXPECT_EQ(bash_complete("--data-dir=" + (tmp_ / "sto").string()), (Lines{"--data-dir=" + dir + "/"}));
  EXPECT_EQ(bash_insert({"keys", "list", "--data-dir=" + (tmp_ / "with").string()}),
            (Lines{"1:[--data-dir=" + (tmp_ / "with space").string() + "/]"}));
  EXPECT_EQ(bash_complete("keys generate --algorithm=ec"), (Lines{"--algorithm=ec-p256", "--algorithm=ec-p384"}));
  EXPECT_EQ(bash_complete("--data-dir=" + dir + " keys show --json ca"), (Lines{"ca-2026"}));
}

// While signetd has the store open (its WAL and shared-memory files exist), completion reads
// through them, read-only, and sees the keys. Also: every metric the running daemon exports, with
// ACME on, is in signetd(8), whose METRICS section tests/unit/cli/manpage_test.cpp checks too.
TEST_F(CompletionTest, WhileSignetdRunsAndEveryMetricItExportsIsInSignetd8) {
  const fs::path d = tmp_ / "ca";
  fs::create_directories(d);
  fs::permissions(d, fs::perms::owner_all);
  const ProcessResult setup = make_test_ca(kSignet, d, "ca-key", "Completion Test CA", "completion passphrase");
  ASSERT_EQ(setup.exit_code, 0) << describe(setup);
  write_text(d / "signetd.toml", read_text(d / "signetd.toml") + "\n[acme]\nenabled = true\n");
  SignetdProcess daemon(kSignetd, d / "signetd.toml", d / "signetd.log");
  ASSERT_TRUE(daemon.wait_for_log("listening on")) << daemon.log();

  EXPECT_TRUE(fs::exists(d / "signet.db-wal") && fs::exists(d / "signet.db-shm")) << "the test expects WAL files";
  EXPECT_EQ(candidates({"--data-dir", d.string(), "keys", "show", ""}), (Lines{"ca-key"}));

  const ProcessResult metrics = run_process({"curl", "-sS", "--max-time", "10", daemon.urls().second + "/metrics"});
  ASSERT_EQ(metrics.exit_code, 0) << describe(metrics);
  std::set<std::string> exported;
  static const std::regex type_line(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) )");
  for (std::sregex_iterator m(metrics.out.begin(), metrics.out.end(), type_line), end; m != end; ++m) {
    exported.insert((*m)[1]);
  }
  ASSERT_GT(exported.size(), 25u) << metrics.out;
  EXPECT_TRUE(exported.contains("signet_acme_orders_created_total")) << metrics.out;
  const std::string page = read_text(kSourceDir / "packaging/man/signetd.8");
  std::vector<std::string> missing;
  for (const std::string& name : exported) {
    if (!contains(page, ".B " + name + "\n")) missing.push_back(name);
  }
  EXPECT_TRUE(missing.empty()) << "signetd.8 (METRICS) lacks metrics signetd exports: " << ::testing::PrintToString(missing);
}

}  // namespace
}  // namespace signet::test::cli
