#include "logging.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace signet::daemon {
namespace {

spdlog::level::level_enum parse_level(std::string_view level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return spdlog::level::info;
}

}  // namespace

void init_logging(std::string_view level) {
  // 8,192 queued lines (about 3 MiB, allocated up front): at 10,000 requests/s that is most of a
  // second of stderr stalls before the oldest lines are overwritten (and counted).
  spdlog::init_thread_pool(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::async_logger>("signetd", std::move(sink), spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_level(parse_level(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void set_log_level(std::string_view level) { spdlog::default_logger_raw()->set_level(parse_level(level)); }

std::size_t log_lines_dropped() {
  auto pool = spdlog::thread_pool();
  return pool ? pool->overrun_counter() : 0;
}

void shutdown_logging() {
  spdlog::default_logger_raw()->flush();
  spdlog::shutdown();
}

}  // namespace signet::daemon
