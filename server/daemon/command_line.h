// signetd's command line, built apart from main() so that the manual page's test
// (tests/unit/cli/manpage_test.cpp) walks the very options signetd accepts: an option added here
// and not to signetd.8 fails that test.
//
// Header-only so that signet_daemon_lib needs no CLI11; main.cpp and the test include it.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "daemon.h"
#include "signet/core/version.h"

namespace signet::daemon {

// The signetd App, its options writing into `options` and `config` (a string: CLI11 2.1 cannot
// parse into a std::filesystem::path), which must outlive it.
inline std::unique_ptr<CLI::App> make_daemon_app(DaemonOptions& options, std::string& config) {
  auto app = std::make_unique<CLI::App>("signetd: the Signet CA daemon (HTTPS API, CRLs, OCSP)", "signetd");
  app->add_option("--config,-c", config, "the configuration file (signetd.toml, written by `signet setup`)")
      ->required();
  app->add_flag("--check", options.check,
                "check the configuration, unlock the key store and check the CA key, then exit");
  app->set_version_flag("--version", version_text("signetd"));
  return app;
}

}  // namespace signet::daemon
