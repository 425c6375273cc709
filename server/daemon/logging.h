// signetd's log: spdlog to stderr (journald adds the timestamps and the unit), written by a
// background thread so that a slow stderr never stalls a request. When the queue is full the
// oldest lines are dropped and counted (log_lines_dropped()).
//
// Thread-safety: init_logging() and shutdown_logging() from main only; the rest from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace signet::daemon {

// Installs the stderr logger as spdlog's default, at `level` ("debug", "info", "warn", "error").
void init_logging(std::string_view level);
void set_log_level(std::string_view level);
// Lines lost because stderr could not keep up.
[[nodiscard]] std::size_t log_lines_dropped();
// Flushes and stops the background writer.
void shutdown_logging();

}  // namespace signet::daemon
