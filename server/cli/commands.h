// Registration of the CLI's command groups. Each registers its subcommands on `root` and, when one
// is chosen, stores the code to run in `action` (run after parsing, so that parse errors never
// half-run a command).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "context.h"

namespace signet::cli {

using Action = std::function<int()>;

void add_store_commands(CLI::App& root, const GlobalOptions& global, Action& action);
void add_keys_commands(CLI::App& root, const GlobalOptions& global, Action& action);
void add_backup_commands(CLI::App& root, const GlobalOptions& global, Action& action);
void add_setup_commands(CLI::App& root, const GlobalOptions& global, Action& action);

}  // namespace signet::cli
