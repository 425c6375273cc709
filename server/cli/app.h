// Entry point of the `signet` CLI: parses arguments, runs the command, maps errors to exit codes.
//
// Exit codes (documented in README.md): 0 success; 1 an operation failed (the message names the
// cause and the fix); 2 usage error; 3 an integrity check found an invalid key.
#pragma once

namespace signet::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInvalid = 3;

int run(int argc, char** argv);

}  // namespace signet::cli
