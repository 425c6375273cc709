// signetd: the CA daemon. All logic is in signet_daemon_lib (daemon.cpp) and common/; the command
// line is in command_line.h.
#include "command_line.h"

int main(int argc, char** argv) {
  signet::daemon::DaemonOptions options;
  std::string config;
  const auto app = signet::daemon::make_daemon_app(options, config);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with 0; a usage error exits 2, as signet's do (and LSB's
    // "invalid or excess argument"), not with the parser's own numbers.
    return app->exit(e) == 0 ? 0 : 2;
  }
  options.config = config;
  return signet::daemon::run_daemon(options);
}
