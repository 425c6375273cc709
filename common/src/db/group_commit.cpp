#include "signet/db/group_commit.h"

#include <future>
#include <memory>
#include <utility>
#include <vector>

#include "signet/core/error.h"

namespace signet::db {

namespace {

Database open_writer(const std::filesystem::path& path) {
  Database db = Database::open(path, OpenMode::ReadWrite);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}

// True while `db` is inside a transaction. SQLite rolls a transaction back by itself after some
// errors (a full disk, an I/O error, SQLITE_NOMEM); this is how we notice.
bool in_transaction(const Database& db) { return sqlite3_get_autocommit(db.handle()) == 0; }

void rollback_quietly(Database& db) {
  if (in_transaction(db)) sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace

GroupCommitter::GroupCommitter(const std::filesystem::path& path, std::size_t max_batch)
    : path_(path), max_batch_(max_batch == 0 ? 1 : max_batch), db_(open_writer(path)) {
  writer_ = std::thread([this] { writer_loop(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void GroupCommitter::submit(Work work, Done done, Sync sync) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      throw Error(ErrorKind::Internal, "committer-stopped",
                  "a write was submitted to " + path_.string() + " while its writer is shutting down");
    }
    queue_.push_back(Unit{std::move(work), std::move(done), sync});
  }
  wake_.notify_one();
}

void GroupCommitter::run(Work work, Sync sync) {
  if (std::this_thread::get_id() == writer_.get_id()) {
    // The writer would wait for itself.
    throw Error(ErrorKind::Internal, "committer-reentered",
                "GroupCommitter::run() called from a commit callback");
  }
  // The callback owns the promise too: this thread may return (and would destroy a promise it
  // owned alone) while set_value() is still running on the writer thread.
  auto promise = std::make_shared<std::promise<void>>();
  std::future<void> result = promise->get_future();
  submit(std::move(work), [promise](std::exception_ptr error) {
    if (error) {
      promise->set_exception(std::move(error));
    } else {
      promise->set_value();
    }
  }, sync);
  result.get();
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void GroupCommitter::set_synchronous(bool full) {
  if (full == full_sync_) return;
  // Not exec_cached: SQLite applies this pragma when the statement is prepared, and it cannot
  // change inside a transaction, so it runs here, between transactions, freshly prepared.
  db_.exec(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  full_sync_ = full;
}

void GroupCommitter::writer_loop() {
  for (;;) {
    std::vector<Unit> ordered;
    std::vector<Unit> durable;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      for (std::size_t taken = 0; !queue_.empty() && taken < max_batch_; ++taken) {
        Unit& unit = queue_.front();
        (unit.sync == Sync::Ordered ? ordered : durable).push_back(std::move(unit));
        queue_.pop_front();
      }
    }
    // The Ordered units first: their callbacks run before the Durable units' fsync, so that an
    // Ordered writer (an issuance's intent) never waits for the disk.
    commit_group(ordered, Sync::Ordered);
    commit_group(durable, Sync::Durable);
  }
}

void GroupCommitter::commit_group(std::vector<Unit>& units, Sync sync) {
  if (units.empty()) return;
  // errors[i] is what unit i's callback gets; nullptr means its writes are committed.
  std::vector<std::exception_ptr> errors(units.size());
  std::uint64_t commits = 0;
  std::size_t next = 0;
  try {
    set_synchronous(sync == Sync::Durable);
  } catch (...) {
    // Without the setting the group's durability cannot be promised: no unit runs.
    for (std::exception_ptr& e : errors) e = std::current_exception();
    next = units.size();
  }
  while (next < units.size()) {
    // One transaction over units[first, next). It normally covers the whole group; when SQLite
    // drops the transaction under a unit (a full disk), the units before it share the error and
    // the rest go on in a new transaction.
    const std::size_t first = next;
    try {
      db_.exec_cached("BEGIN IMMEDIATE");
    } catch (...) {
      for (std::size_t i = first; i < units.size(); ++i) errors[i] = std::current_exception();
      break;
    }
    bool lost = false;
    for (; next < units.size() && !lost; ++next) {
      try {
        db_.exec_cached("SAVEPOINT unit");
        units[next].work(db_);
        db_.exec_cached("RELEASE unit");
      } catch (...) {
        errors[next] = std::current_exception();
        bool undone = false;
        if (in_transaction(db_)) {
          try {
            db_.exec_cached("ROLLBACK TO unit");
            db_.exec_cached("RELEASE unit");
            undone = true;
          } catch (...) {
          }
        }
        if (!undone) {
          // The transaction is gone (or cannot be trusted): the units before this one in it
          // are not on disk either.
          rollback_quietly(db_);
          for (std::size_t i = first; i < next; ++i) {
            if (!errors[i]) errors[i] = errors[next];
          }
          lost = true;
        }
      }
    }
    if (lost) continue;
    try {
      db_.exec_cached("COMMIT");
      ++commits;
    } catch (...) {
      // E.g. a deferred foreign key: nothing of this transaction is on disk.
      const std::exception_ptr error = std::current_exception();
      rollback_quietly(db_);
      for (std::size_t i = first; i < next; ++i) {
        if (!errors[i]) errors[i] = error;
      }
    }
  }

  std::uint64_t failed = 0;
  for (const std::exception_ptr& e : errors) {
    if (e) ++failed;
  }
  {
    std::lock_guard lock(mutex_);
    stats_.commits += commits;
    if (sync == Sync::Durable) stats_.synced_commits += commits;
    stats_.units += units.size();
    stats_.failed_units += failed;
  }
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (!units[i].done) continue;
    try {
      units[i].done(errors[i]);
    } catch (...) {
      // A callback must not throw; if one does, the writer still serves everyone else.
    }
  }
}

}  // namespace signet::db
