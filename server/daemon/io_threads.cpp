// IoThreads and thread_count (http_server.h).
#include <algorithm>
#include <memory>

#include <boost/asio/executor_work_guard.hpp>
#include <spdlog/spdlog.h>

#include "http_server.h"

namespace signet::daemon {

unsigned thread_count(unsigned configured) {
  if (configured != 0) return configured;
  return std::max(1U, std::thread::hardware_concurrency());
}

IoThreads::IoThreads(boost::asio::io_context& io, unsigned threads) : io_(io) {
  const unsigned n = thread_count(threads);
  // Keeps run() from returning while the server waits for its first connection.
  auto guard = std::make_shared<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      io.get_executor());
  for (unsigned i = 0; i < n; ++i) {
    threads_.emplace_back([&io, guard] {
      for (;;) {
        try {
          io.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("unhandled exception on a server thread: {}", e.what());
        }
      }
    });
  }
}

IoThreads::~IoThreads() { stop(); }

void IoThreads::stop() {
  io_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace signet::daemon
