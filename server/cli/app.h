// Entry point of the `signet` CLI: parses arguments, runs the command, maps errors to exit codes.
//
// Exit codes (documented in README.md and signet(1)): 0 success; 1 an operation failed (the
// message names the cause and the fix); 2 usage error; 3 an integrity check found an invalid key.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "context.h"

namespace signet::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInvalid = 3;

// The environment variable that gives --data-dir its default, and that default.
inline constexpr const char* kDataDirEnv = "SIGNET_DATA_DIR";
inline constexpr const char* kDefaultDataDir = "/var/lib/signet";

// The hidden command the bash completion script calls (see complete_words()). run() answers it
// before parsing; it is no subcommand, so it is in no --help and not in signet(1).
inline constexpr const char* kCompleteCommand = "__complete";

// The whole command tree of `signet`, as run() parses it, without parsing or running anything:
// run() uses it, and so do the shell completion (complete.cpp) and the manual page's test, so
// that neither can drift from the commands and options signet really has. The options write into
// `global`, and a chosen command stores its code in `action`; both must outlive the App.
[[nodiscard]] std::unique_ptr<CLI::App> make_app(GlobalOptions& global, Action& action);

// `signet __complete WORD...`: WORDs are the command line after "signet" up to the word being
// completed (the last one, possibly empty). Prints the candidates for that word, one a line, and
// returns 0. Instead of candidates it prints ":file" or ":dir" when the word is a file or a
// directory name (the shell completes those itself). Key names come from the store in the data
// directory, read without a passphrase and without writing anything; any error just gives no
// candidates, since completion must never print an error into the operator's command line.
int complete_words(const CLI::App& app, const GlobalOptions& global, const std::vector<std::string>& words);

int run(int argc, char** argv);

}  // namespace signet::cli
