// The controlling terminal: no-echo passphrase prompts and confirmations. Prompts go to /dev/tty,
// never to stdout, so that `--json` output stays clean.
//
// Thread-safety: single-threaded.
#pragma once

#include <optional>
#include <string>

#include "signet/core/bytes.h"

namespace signet::cli {

// True when the process has a terminal to ask on (stdin is a tty and /dev/tty opens).
[[nodiscard]] bool have_terminal();

// Prompts on /dev/tty with echo off; std::nullopt when there is no terminal.
[[nodiscard]] std::optional<Passphrase> prompt_secret(const std::string& prompt);

// Prompts on /dev/tty for a line (echoed); std::nullopt when there is no terminal.
[[nodiscard]] std::optional<std::string> prompt_line(const std::string& prompt);

}  // namespace signet::cli
