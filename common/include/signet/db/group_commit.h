// GroupCommitter: one writer thread that runs many callers' small write transactions as one
// SQLite transaction, so that synchronous=FULL costs one fsync per batch instead of one per write.
//
// submit() queues a unit of work; the writer takes everything queued, runs BEGIN IMMEDIATE, runs
// each unit inside its own SAVEPOINT (a unit that throws is rolled back alone and its callback gets
// the exception; the others go on), COMMITs, and only then calls each unit's callback (on the
// writer thread). If the COMMIT itself fails, every unit of that transaction gets its error. A callback
// with no exception means: the unit's writes are committed, and on disk when the unit was Durable.
//
// Sync says what a unit needs of its commit. Durable (the default): on disk before the callback
// (synchronous=FULL, an fsync of the WAL). Ordered: committed and visible, and it survives a crash
// of the process, but a power loss may take it back until a later Durable commit. That is safe
// because WAL frames are replayed in order, each checksummed on the ones before it: recovery keeps
// a prefix of the commits, so a commit is never kept without every commit before it, and the fsync
// of a later Durable commit makes every earlier Ordered commit durable too. The writer commits a
// batch's Ordered units first, in a transaction of their own with synchronous=NORMAL (no fsync),
// and calls them back before it runs the batch's Durable units with synchronous=FULL. So units of
// one Sync commit in the order they were submitted, and an Ordered unit may commit before a
// Durable one submitted earlier; an Ordered unit never waits for an fsync.
// The issuance ledger uses Ordered for intents: an intent only has to be recorded before its
// certificate is signed, and it is on disk with the certificate's Durable commit, before anyone
// sees the certificate.
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
#include <vector>

#include "signet/db/sqlite.h"

namespace signet::db {

class GroupCommitter {
 public:
  using Work = std::function<void(Database&)>;
  // Called after the commit, on the writer thread, with nullptr on success. Must not block.
  using Done = std::function<void(std::exception_ptr)>;

  enum class Sync {
    Durable,  // on disk before the callback (synchronous=FULL)
    Ordered,  // committed before the callback; on disk with the next Durable commit
  };

  struct Stats {
    std::uint64_t commits = 0;
    std::uint64_t synced_commits = 0;  // commits made with synchronous=FULL
    std::uint64_t units = 0;
    std::uint64_t failed_units = 0;
  };

  // Opens `path` (which must exist). `max_batch` bounds the units per transaction.
  explicit GroupCommitter(const std::filesystem::path& path, std::size_t max_batch = 512);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void submit(Work work, Done done, Sync sync = Sync::Durable);
  // Submits and waits; rethrows the unit's exception.
  void run(Work work, Sync sync = Sync::Durable);

  [[nodiscard]] Stats stats() const;

 private:
  struct Unit {
    Work work;
    Done done;
    Sync sync;
  };
  void writer_loop();
  // Runs `units` (all of one Sync) in one transaction (more if SQLite drops one), then calls back.
  void commit_group(std::vector<Unit>& units, Sync sync);
  void set_synchronous(bool full);
  std::filesystem::path path_;
  std::size_t max_batch_;
  Database db_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Unit> queue_;
  bool stopping_ = false;
  Stats stats_;
  bool full_sync_ = true;  // the connection's synchronous setting; writer thread only
  std::thread writer_;
};

}  // namespace signet::db
