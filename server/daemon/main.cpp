// signetd: the CA daemon. All logic is in signet_daemon_lib (daemon.cpp) and common/.
#include <CLI/CLI.hpp>

#include "daemon.h"

int main(int argc, char** argv) {
  CLI::App app{"signetd: the Signet CA daemon (HTTPS API, CRLs, OCSP)"};
  signet::daemon::DaemonOptions options;
  std::string config;
  app.add_option("--config,-c", config, "the configuration file (signetd.toml, written by `signet setup`)")
      ->required();
  app.add_flag("--check", options.check,
               "check the configuration, unlock the key store and check the CA key, then exit");
  app.set_version_flag("--version", std::string("signetd ") + SIGNET_VERSION);
  CLI11_PARSE(app, argc, argv);
  options.config = config;
  return signet::daemon::run_daemon(options);
}
