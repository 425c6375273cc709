// The signetd process: configuration, the Service, the HTTP server, signals and systemd
// notifications. main.cpp only parses the command line.
//
// Thread-safety: run_daemon() is called once, from main.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config.h"

namespace signet::daemon {

struct DaemonOptions {
  std::filesystem::path config;
  bool check = false;  // validate the configuration, unlock the store, check the CA key, exit
};

// Runs until SIGTERM or SIGINT. Returns the process exit code: 0 after a clean stop or a good
// --check, 1 when the configuration, the store, the CA key or a listener is unusable (the reason
// is printed on stderr as "signetd: <message>").
[[nodiscard]] int run_daemon(const DaemonOptions& options);

// What differs between two configurations, as "section.key" names: `applied` can change on
// reload, `restart` needs a restart (store, listeners, server limits).
struct ConfigChanges {
  std::vector<std::string> applied;
  std::vector<std::string> restart;
};
[[nodiscard]] ConfigChanges compare_configs(const Config& running, const Config& next);

}  // namespace signet::daemon
