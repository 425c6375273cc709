// What the CLI integration tests share: running the real `signet` binary (SIGNET_CLI_PATH) against
// a store in a private temporary directory, checking exit codes and error codes, parsing --json
// output, and telling whether a store changed.
//
// Every command gets --data-dir and --passphrase-file explicitly and runs with SIGNET_DATA_DIR and
// SIGNET_PASSPHRASE_FILE removed from its environment, so the developer's environment never leaks
// into a test. run_process() gives the child no controlling terminal, which is what the
// "no terminal" cases rely on.
//
// Thread-safety: one test at a time per object (each test builds its own).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace signet::test::cli {

namespace fs = std::filesystem;
using nlohmann::json;

inline const std::string kSignet = SIGNET_CLI_PATH;

// Store passphrases are at least 12 characters (keystore::kMinPassphraseLength).
inline constexpr std::string_view kStorePassphrase = "correct horse battery staple";

inline std::string describe(const ProcessResult& r) {
  return "exit status " + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" +
         r.err + "--------------";
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

inline std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The CODE of the first "signet: error [CODE]: ..." line on stderr, "" if there is none.
inline std::string error_code(const ProcessResult& r) {
  const std::string_view prefix = "signet: error [";
  const std::size_t at = r.err.find(prefix);
  if (at == std::string::npos) return "";
  const std::size_t start = at + prefix.size();
  const std::size_t end = r.err.find(']', start);
  return end == std::string::npos ? "" : r.err.substr(start, end - start);
}

inline ::testing::AssertionResult Succeeded(const ProcessResult& r) {
  if (r.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected exit status 0, got " << describe(r);
}

// The command failed with `exit_code`, said "signet: error [code]: <a message>" on stderr, and
// printed nothing on stdout (a script reading stdout must not mistake a failure for output).
inline ::testing::AssertionResult FailedWith(const ProcessResult& r, int exit_code, std::string_view code) {
  auto failure = [&r](std::string_view why) {
    return ::testing::AssertionFailure() << why << "\n" << describe(r);
  };
  if (r.exit_code != exit_code) {
    return failure("expected exit status " + std::to_string(exit_code) + " and error [" + std::string(code) +
                   "]");
  }
  const std::string line_start = "signet: error [" + std::string(code) + "]: ";
  const std::size_t at = r.err.find(line_start);
  if (at == std::string::npos) return failure("stderr lacks \"" + line_start + "\"");
  const std::size_t eol = r.err.find('\n', at);
  const std::size_t message_len = (eol == std::string::npos ? r.err.size() : eol) - (at + line_start.size());
  if (message_len < 20) return failure("the error message is missing or too short to help");
  if (!r.out.empty()) return failure("expected nothing on stdout for a failed command");
  return ::testing::AssertionSuccess();
}

// A usage error: exit 2, something on stderr, nothing done.
inline ::testing::AssertionResult UsageError(const ProcessResult& r) {
  if (r.exit_code == 2 && !r.err.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected a usage error (exit status 2)\n" << describe(r);
}

// Stdout parsed as JSON; a test failure (and null) when it is not JSON.
inline json parse_json(const ProcessResult& r) {
  try {
    return json::parse(r.out);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "stdout is not JSON (" << e.what() << ")\n" << describe(r);
    return json();
  }
}

// The regular files directly in `dir`, with their contents: equal snapshots mean the store and
// everything beside it (journals, temporary files) are byte for byte the same.
using DirSnapshot = std::map<std::string, std::string>;

inline DirSnapshot snapshot(const fs::path& dir) {
  DirSnapshot out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) out[entry.path().filename().string()] = read_text(entry.path());
  }
  return out;
}

inline std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

inline unsigned file_mode(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<unsigned>(st.st_mode & 07777);
}

inline bool is_sha256_hex(const json& value) {
  if (!value.is_string()) return false;
  const std::string s = value.get<std::string>();
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The key object named `name` in a list of key objects (null when absent).
inline json key_named(const json& keys, std::string_view name) {
  if (!keys.is_array()) return json();
  for (const json& k : keys) {
    if (k.value("name", "") == name) return k;
  }
  return json();
}

inline std::vector<std::string> names_of(const json& keys) {
  std::vector<std::string> out;
  if (!keys.is_array()) return out;
  for (const json& k : keys) out.push_back(k.value("name", ""));
  std::sort(out.begin(), out.end());
  return out;
}

// The finding codes of one key object.
inline std::vector<std::string> finding_codes(const json& key) {
  std::vector<std::string> out;
  if (!key.is_object() || !key.contains("findings")) return out;
  for (const json& f : key["findings"]) out.push_back(f.value("code", ""));
  return out;
}

// Runs other programs: openssl and sqlite3, as an operator (or an attacker) would.
inline ProcessResult run_openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  return run_process(args);
}

inline ProcessResult run_sqlite(const fs::path& db, const std::string& sql) {
  return run_process({"sqlite3", "-bail", db.string(), sql});
}

// One data directory and its passphrase file, driven through the real binary.
class Signet {
 public:
  Signet(fs::path data_dir, fs::path passphrase_file)
      : data_dir_(std::move(data_dir)), passphrase_file_(std::move(passphrase_file)) {}

  [[nodiscard]] const fs::path& data_dir() const { return data_dir_; }
  [[nodiscard]] const fs::path& passphrase_file() const { return passphrase_file_; }
  [[nodiscard]] fs::path db() const { return data_dir_ / "signet.db"; }

  // signet --data-dir DIR --passphrase-file FILE ARGS...
  [[nodiscard]] ProcessResult operator()(const std::vector<std::string>& args,
                                         ProcessOptions options = {}) const {
    return run_with({"--data-dir", data_dir_.string(), "--passphrase-file", passphrase_file_.string()}, args,
                    std::move(options));
  }

  // signet --data-dir DIR ARGS... (no passphrase anywhere, and no terminal to ask on)
  [[nodiscard]] ProcessResult without_passphrase(const std::vector<std::string>& args) const {
    return run_with({"--data-dir", data_dir_.string()}, args, {});
  }

  // Runs a --json command that must succeed with `expected_exit`, and parses its output.
  [[nodiscard]] json json_of(const std::vector<std::string>& args, int expected_exit = 0) const {
    const ProcessResult r = (*this)(args);
    EXPECT_EQ(r.exit_code, expected_exit) << describe(r);
    return parse_json(r);
  }

  // `keys list --all --json`: every entry, reusable or not.
  [[nodiscard]] json all_keys() const { return json_of({"keys", "list", "--all", "--json"}); }

 private:
  [[nodiscard]] static ProcessResult run_with(std::vector<std::string> argv,
                                              const std::vector<std::string>& args, ProcessOptions options) {
    argv.insert(argv.begin(), kSignet);
    argv.insert(argv.end(), args.begin(), args.end());
    options.unset_env.push_back("SIGNET_DATA_DIR");
    options.unset_env.push_back("SIGNET_PASSPHRASE_FILE");
    return run_process(argv, options);
  }

  fs::path data_dir_;
  fs::path passphrase_file_;
};

// Each test: its own private temporary directory with a store directory "store" and a
// passphrase file for it (mode 0600). The store is not created: tests call init_store().
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { write_text(pass_, std::string(kStorePassphrase) + "\n"); }

  // A passphrase file (0600) holding `passphrase` on its first line.
  fs::path passphrase_file(const std::string& file_name, std::string_view passphrase) {
    const fs::path path = tmp_ / file_name;
    write_text(path, std::string(passphrase) + "\n");
    return path;
  }

  // `store init --insecure-fast-kdf` for `s` (default: this test's store).
  static ::testing::AssertionResult init_store(const Signet& s) {
    return Succeeded(s({"store", "init", "--insecure-fast-kdf"}));
  }
  ::testing::AssertionResult init_store() { return init_store(signet_); }

  static ::testing::AssertionResult generate(const Signet& s, const std::string& name,
                                             const std::string& algorithm) {
    return Succeeded(s({"keys", "generate", "--name", name, "--algorithm", algorithm}));
  }
  ::testing::AssertionResult generate(const std::string& name, const std::string& algorithm) {
    return generate(signet_, name, algorithm);
  }

  TempDir tmp_;
  fs::path store_ = tmp_ / "store";
  fs::path pass_ = tmp_ / "store.pass";
  Signet signet_{store_, pass_};
};

}  // namespace signet::test::cli
