// GroupCommitter: one writer thread that runs many callers' small write transactions as one
// SQLite transaction, so that synchronous=FULL costs one fsync per batch instead of one per write.
//
// submit() queues a unit of work; the writer takes everything queued, runs BEGIN IMMEDIATE, runs
// each unit inside its own SAVEPOINT (a unit that throws is rolled back alone and its callback gets
// the exception; the others go on), COMMITs, and only then calls each unit's callback (on the
// writer thread). If the COMMIT itself fails, every unit of the batch gets that error. A callback
// with no exception means: the unit's writes are on disk.
//
// run() is the blocking form for callers that have nothing else to do (the CLI).
//
// The connection is opened by the committer (WAL, synchronous=FULL, foreign keys, busy timeout
// 5 s) and used only by the writer thread. The destructor finishes every queued unit, then stops.
//
// Thread-safety: submit() and run() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "signet/db/sqlite.h"

namespace signet::db {

class GroupCommitter {
 public:
  using Work = std::function<void(Database&)>;
  // Called after the commit, on the writer thread, with nullptr on success. Must not block.
  using Done = std::function<void(std::exception_ptr)>;

  struct Stats {
    std::uint64_t commits = 0;
    std::uint64_t units = 0;
    std::uint64_t failed_units = 0;
  };

  // Opens `path` (which must exist). `max_batch` bounds the units per transaction.
  explicit GroupCommitter(const std::filesystem::path& path, std::size_t max_batch = 512);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void submit(Work work, Done done);
  // Submits and waits; rethrows the unit's exception.
  void run(Work work);

  [[nodiscard]] Stats stats() const;

 private:
  void writer_loop();
  struct Unit {
    Work work;
    Done done;
  };
  std::filesystem::path path_;
  std::size_t max_batch_;
  Database db_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Unit> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread writer_;
};

}  // namespace signet::db
