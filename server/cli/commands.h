// Registration of the CLI's command groups. Each registers its subcommands on `root` and, when one
// is chosen, stores the code to run in `action` (run after parsing, so that parse errors never
// half-run a command).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>

#include "context.h"

namespace signet::cli {

using Action = std::function<int()>;

template <typename Options>
using CommandFn = int (*)(const GlobalOptions&, const Options&);

// When `cmd` is chosen, `action` becomes fn(global, *options), run after parsing completes.
template <typename Options>
void bind_command(CLI::App* cmd, const GlobalOptions& global, Action& action, std::shared_ptr<Options> options,
                  CommandFn<Options> fn) {
  cmd->callback([&global, &action, options, fn] { action = [&global, options, fn] { return fn(global, *options); }; });
}

void add_store_commands(CLI::App& root, const GlobalOptions& global, Action& action);
void add_keys_commands(CLI::App& root, const GlobalOptions& global, Action& action);
void add_backup_commands(CLI::App& root, const GlobalOptions& global, Action& action);
void add_setup_commands(CLI::App& root, const GlobalOptions& global, Action& action);
void add_issuance_commands(CLI::App& root, const GlobalOptions& global, Action& action);
void add_acme_commands(CLI::App& root, const GlobalOptions& global, Action& action);

}  // namespace signet::cli
