// Running a real program (the signet CLI, openssl, sqlite3) from a test, with no shell involved.
// Thread-safety: reentrant.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace signet::test {

struct ProcessResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::map<std::string, std::string> env;  // added to (or overriding) the current environment
  std::vector<std::string> unset_env;      // removed from it
  std::optional<std::string> stdin_data;   // fed on standard input, then closed (else /dev/null)
  int timeout_seconds = 120;               // the child is killed after this long
};

// Runs argv[0] (looked up in PATH when it has no '/') with `argv`, captures stdout and stderr.
[[nodiscard]] ProcessResult run_process(const std::vector<std::string>& argv,
                                        const ProcessOptions& options = {});

}  // namespace signet::test
