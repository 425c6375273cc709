#include "signet/db/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "signet/core/error.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"

namespace signet::db {
namespace {

namespace fs = std::filesystem;
using test::capture_error;

// A VFS that forwards everything to the default one and counts xSync calls (fsync/fdatasync), so a
// test can see which commits went to disk. Installed as the default VFS for its lifetime.
class SyncCountingVfs {
 public:
  SyncCountingVfs() : real_(sqlite3_vfs_find(nullptr)) {
    vfs_ = *real_;
    vfs_.zName = "signet-sync-counting";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &SyncCountingVfs::open;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~SyncCountingVfs() {
    sqlite3_vfs_register(real_, 1);
    sqlite3_vfs_unregister(&vfs_);
  }
  SyncCountingVfs(const SyncCountingVfs&) = delete;
  SyncCountingVfs& operator=(const SyncCountingVfs&) = delete;

  [[nodiscard]] int syncs() const { return syncs_.load(); }

 private:
  struct File {
    sqlite3_file base;
    SyncCountingVfs* owner;
    sqlite3_file* real;  // the default VFS's file, stored right after this struct
  };
  static File* self(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return self(f)->real; }
  static const sqlite3_io_methods* m(sqlite3_file* f) { return real(f)->pMethods; }

  static int open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* owner = static_cast<SyncCountingVfs*>(vfs->pAppData);
    File* f = self(file);
    f->owner = owner;
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    f->base.pMethods = nullptr;
    const int rc = owner->real_->xOpen(owner->real_, name, f->real, flags, out_flags);
    if (f->real->pMethods != nullptr) f->base.pMethods = &kMethods;
    return rc;
  }
  static int close(sqlite3_file* f) { return m(f)->xClose(real(f)); }
  static int read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) { return m(f)->xRead(real(f), p, n, o); }
  static int write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) { return m(f)->xWrite(real(f), p, n, o); }
  static int truncate(sqlite3_file* f, sqlite3_int64 n) { return m(f)->xTruncate(real(f), n); }
  static int sync(sqlite3_file* f, int flags) {
    ++self(f)->owner->syncs_;
    return m(f)->xSync(real(f), flags);
  }
  static int size(sqlite3_file* f, sqlite3_int64* n) { return m(f)->xFileSize(real(f), n); }
  static int lock(sqlite3_file* f, int l) { return m(f)->xLock(real(f), l); }
  static int unlock(sqlite3_file* f, int l) { return m(f)->xUnlock(real(f), l); }
  static int reserved(sqlite3_file* f, int* r) { return m(f)->xCheckReservedLock(real(f), r); }
  static int control(sqlite3_file* f, int op, void* a) { return m(f)->xFileControl(real(f), op, a); }
  static int sector(sqlite3_file* f) { return m(f)->xSectorSize(real(f)); }
  static int device(sqlite3_file* f) { return m(f)->xDeviceCharacteristics(real(f)); }
  static int shm_map(sqlite3_file* f, int i, int n, int e, void volatile** p) { return m(f)->xShmMap(real(f), i, n, e, p); }
  static int shm_lock(sqlite3_file* f, int o, int n, int fl) { return m(f)->xShmLock(real(f), o, n, fl); }
  static void shm_barrier(sqlite3_file* f) { m(f)->xShmBarrier(real(f)); }
  static int shm_unmap(sqlite3_file* f, int d) { return m(f)->xShmUnmap(real(f), d); }
  // Version 2 of the methods: no xFetch/xUnfetch, so SQLite does not memory-map through us.
  static constexpr sqlite3_io_methods kMethods = {
      2, &close, &read, &write, &truncate, &sync, &size, &lock, &unlock, &reserved, &control,
      &sector, &device, &shm_map, &shm_lock, &shm_barrier, &shm_unmap, nullptr, nullptr};

  sqlite3_vfs* real_;
  sqlite3_vfs vfs_{};
  std::atomic<int> syncs_{0};
};

// Holds the writer thread inside one unit until released, so that what is submitted meanwhile is
// queued and lands in the next batch, deterministically.
class WriterGate {
 public:
  void hold(GroupCommitter& committer) {
    committer.submit([this](Database&) {
      started_.set_value();
      go_.get_future().wait();
    }, [](std::exception_ptr) {});
    started_.get_future().wait();
  }
  void release() { go_.set_value(); }

 private:
  std::promise<void> started_;
  std::promise<void> go_;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Database db = Database::open(path(), OpenMode::ReadWriteCreate);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, "
        "  parent INTEGER NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);");
  }

  [[nodiscard]] fs::path path() const { return dir_ / "test.db"; }

  // Counted from a separate connection: what is on disk for everyone.
  std::int64_t count(const std::string& where = "1") {
    Database db = Database::open(path(), OpenMode::ReadOnly);
    Statement s = db.prepare("SELECT count(*) FROM t WHERE " + where);
    return s.step() ? s.int64(0) : -1;
  }

  static GroupCommitter::Work insert(std::int64_t id) {
    return [id](Database& db) {
      db.prepare("INSERT INTO t (id, v) VALUES (?, ?)").bind(1, id).bind(2, "row " + std::to_string(id)).run();
    };
  }

  test::TempDir dir_;
};

TEST_F(GroupCommitTest, TheConnectionIsWalWithFullSyncAndForeignKeys) {
  GroupCommitter committer(path());
  std::string journal;
  std::int64_t synchronous = -1;
  std::int64_t foreign_keys = -1;
  std::int64_t busy_timeout = -1;
  committer.run([&](Database& db) {
    Statement j = db.prepare("PRAGMA journal_mode");
    if (j.step()) journal = j.text(0);
    Statement s = db.prepare("PRAGMA synchronous");
    if (s.step()) synchronous = s.int64(0);
    Statement f = db.prepare("PRAGMA foreign_keys");
    if (f.step()) foreign_keys = f.int64(0);
    Statement b = db.prepare("PRAGMA busy_timeout");
    if (b.step()) busy_timeout = b.int64(0);
  });
  EXPECT_EQ(journal, "wal");
  EXPECT_EQ(synchronous, 2) << "synchronous=FULL";
  EXPECT_EQ(foreign_keys, 1);
  EXPECT_EQ(busy_timeout, 5000);
}

// What a unit's work sees of the connection's synchronous setting: 2 is FULL, 1 is NORMAL.
GroupCommitter::Work read_synchronous(std::int64_t& out) {
  return [&out](Database& db) {
    Statement s = db.prepare("PRAGMA synchronous");
    out = s.step() ? s.int64(0) : -1;
  };
}

TEST_F(GroupCommitTest, AnOrderedUnitCommitsWithoutSyncAndADurableOneWithFullSync) {
  GroupCommitter committer(path());
  std::int64_t ordered = -1;
  std::int64_t durable = -1;
  std::int64_t ordered_again = -1;
  committer.run(read_synchronous(ordered), GroupCommitter::Sync::Ordered);
  EXPECT_EQ(committer.stats().synced_commits, 0U);
  committer.run(read_synchronous(durable));
  EXPECT_EQ(committer.stats().synced_commits, 1U);
  committer.run(read_synchronous(ordered_again), GroupCommitter::Sync::Ordered);
  EXPECT_EQ(ordered, 1) << "synchronous=NORMAL for an Ordered batch";
  EXPECT_EQ(durable, 2) << "synchronous=FULL for a Durable batch";
  EXPECT_EQ(ordered_again, 1) << "the setting follows each batch";
  EXPECT_EQ(committer.stats().commits, 3U);
  EXPECT_EQ(committer.stats().synced_commits, 1U);
}

TEST_F(GroupCommitTest, ABatchCommitsItsOrderedUnitsFirstAndCallsThemBackBeforeTheFsync) {
  GroupCommitter committer(path());
  WriterGate gate;
  gate.hold(committer);
  std::int64_t ordered_sync = -1;
  std::int64_t durable_sync = -1;
  std::atomic<bool> ordered_called_back{false};
  bool ordered_done_before_durable_ran = false;
  std::promise<void> durable_done;
  // Submitted first, but Durable: it runs after the Ordered unit's callback.
  committer.submit(
      [&](Database& db) {
        ordered_done_before_durable_ran = ordered_called_back.load();
        read_synchronous(durable_sync)(db);
        insert(1)(db);
      },
      [&](std::exception_ptr) { durable_done.set_value(); });
  committer.submit(
      [&](Database& db) {
        read_synchronous(ordered_sync)(db);
        insert(2)(db);
      },
      [&](std::exception_ptr e) { ordered_called_back = e == nullptr; }, GroupCommitter::Sync::Ordered);
  gate.release();
  durable_done.get_future().wait();
  EXPECT_EQ(ordered_sync, 1) << "the Ordered unit commits in a NORMAL transaction of its own";
  EXPECT_EQ(durable_sync, 2);
  EXPECT_TRUE(ordered_done_before_durable_ran) << "an Ordered unit never waits for the batch's fsync";
  EXPECT_EQ(count(), 2);
  const GroupCommitter::Stats stats = committer.stats();
  EXPECT_EQ(stats.commits, 3U) << "the gate's, then one for the Ordered unit and one for the Durable one";
  EXPECT_EQ(stats.synced_commits, 2U);
}

TEST_F(GroupCommitTest, OnlyDurableCommitsReachTheDisk) {
  SyncCountingVfs vfs;
  GroupCommitter committer(path());
  committer.run(insert(1));  // the first commit also writes the WAL header
  const int before = vfs.syncs();
  for (std::int64_t id = 2; id <= 6; ++id) committer.run(insert(id), GroupCommitter::Sync::Ordered);
  EXPECT_EQ(vfs.syncs(), before) << "Ordered commits do not fsync";
  EXPECT_EQ(count(), 6) << "but they are committed: another connection sees them";
  committer.run(insert(7));
  EXPECT_GE(vfs.syncs(), before + 1) << "a Durable commit fsyncs the WAL, with every frame before it";
}

TEST_F(GroupCommitTest, OpeningAMissingFileFails) {
  const Error e = capture_error([&] { GroupCommitter committer(dir_ / "missing.db"); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
}

TEST_F(GroupCommitTest, ConcurrentWritersShareCommits) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  GroupCommitter committer(path());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          committer.run(insert(t * kPerThread + i + 1));
        } catch (...) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const GroupCommitter::Stats stats = committer.stats();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stats.units, std::uint64_t{kThreads * kPerThread});
  EXPECT_EQ(stats.failed_units, 0u);
  EXPECT_LT(stats.commits, stats.units) << "no two writers ever shared a transaction";
  EXPECT_GE(stats.commits, 1u);
  EXPECT_EQ(count(), kThreads * kPerThread);
}

TEST_F(GroupCommitTest, TheWriterTakesEverythingQueuedUpToMaxBatch) {
  constexpr int kUnits = 25;
  // Declared before the committer, whose destructor (joining the writer) must run first.
  std::latch done(kUnits);
  std::atomic<int> failures{0};
  GroupCommitter committer(path(), 10);
  WriterGate gate;
  gate.hold(committer);
  for (int i = 1; i <= kUnits; ++i) {
    committer.submit(insert(i), [&](std::exception_ptr e) {
      if (e) ++failures;
      done.count_down();
    });
  }
  gate.release();
  done.wait();
  const GroupCommitter::Stats stats = committer.stats();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stats.units, std::uint64_t{kUnits + 1});
  // The gate's own batch, then 10 + 10 + 5.
  EXPECT_EQ(stats.commits, 4u);
  EXPECT_EQ(count(), kUnits);
}

TEST_F(GroupCommitTest, AFailingUnitIsRolledBackAloneAndGetsItsOwnError) {
  std::latch done(4);
  std::exception_ptr errors[4];
  GroupCommitter committer(path());
  WriterGate gate;
  gate.hold(committer);
  auto record = [&](int i) {
    return [&, i](std::exception_ptr e) {
      errors[i] = e;
      done.count_down();
    };
  };
  committer.submit(insert(1), record(0));
  committer.submit([](Database& db) {
    insert(2)(db);
    throw std::runtime_error("unit 2 gave up after writing");
  }, record(1));
  committer.submit(insert(3), record(2));
  committer.submit(insert(1), record(3));  // primary key taken by the first unit of the batch
  gate.release();
  done.wait();

  EXPECT_FALSE(errors[0]);
  EXPECT_FALSE(errors[2]);
  ASSERT_TRUE(errors[1]);
  try {
    std::rethrow_exception(errors[1]);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "unit 2 gave up after writing");
  }
  ASSERT_TRUE(errors[3]);
  const Error conflict = capture_error([&] { std::rethrow_exception(errors[3]); });
  EXPECT_EQ(conflict.kind(), ErrorKind::Conflict);

  EXPECT_EQ(count(), 2);
  EXPECT_EQ(count("id = 2"), 0) << "the failing unit's own write must be rolled back";
  const GroupCommitter::Stats stats = committer.stats();
  EXPECT_EQ(stats.commits, 2u) << "the gate's batch, then one for the four units";
  EXPECT_EQ(stats.failed_units, 2u);
}

TEST_F(GroupCommitTest, CallbacksRunAfterTheCommitOnTheWriterThread) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::latch done(kThreads * kPerThread);
  std::atomic<int> not_visible{0};
  std::atomic<int> errors{0};
  std::atomic<int> on_submitter{0};
  GroupCommitter committer(path());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::thread::id me = std::this_thread::get_id();
      for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t id = t * kPerThread + i + 1;
        committer.submit(insert(id), [&, id, me](std::exception_ptr e) {
          if (e) ++errors;
          if (std::this_thread::get_id() == me) ++on_submitter;
          // Another connection sees the row: it is committed, not only written.
          Database other = Database::open(path(), OpenMode::ReadOnly);
          Statement s = other.prepare("SELECT count(*) FROM t WHERE id = ?");
          s.bind(1, id);
          if (!s.step() || s.int64(0) != 1) ++not_visible;
          done.count_down();
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  done.wait();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(not_visible.load(), 0);
  EXPECT_EQ(on_submitter.load(), 0);
}

TEST_F(GroupCommitTest, AFailedCommitReachesEveryUnitOfTheBatch) {
  std::latch done(2);
  std::exception_ptr errors[2];
  GroupCommitter committer(path());
  WriterGate gate;
  gate.hold(committer);
  committer.submit(insert(1), [&](std::exception_ptr e) {
    errors[0] = e;
    done.count_down();
  });
  // A deferred foreign key fails only at COMMIT: the whole transaction is refused.
  committer.submit([](Database& db) { db.exec("INSERT INTO child (id, parent) VALUES (1, 99)"); },
                   [&](std::exception_ptr e) {
                     errors[1] = e;
                     done.count_down();
                   });
  gate.release();
  done.wait();
  for (const std::exception_ptr& e : errors) {
    ASSERT_TRUE(e);
    const Error error = capture_error([&] { std::rethrow_exception(e); });
    EXPECT_EQ(error.kind(), ErrorKind::Conflict);
  }
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(committer.stats().failed_units, 2u);
  // The writer recovered: the next unit commits.
  committer.run(insert(2));
  EXPECT_EQ(count(), 1);
}

TEST_F(GroupCommitTest, RunRethrowsTheUnitsError) {
  GroupCommitter committer(path());
  const Error e = capture_error([&] {
    committer.run([](Database&) { throw Error(ErrorKind::PolicyDenied, "not-today", "refused"); });
  });
  EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied);
  EXPECT_EQ(e.code(), "not-today");
  committer.run(insert(1));
  EXPECT_EQ(count(), 1);
}

TEST_F(GroupCommitTest, RunFromACallbackIsRefusedInsteadOfDeadlocking) {
  std::promise<std::string> code;
  GroupCommitter committer(path());
  committer.submit(insert(1), [&](std::exception_ptr) {
    try {
      committer.run(insert(2));
      code.set_value("");
    } catch (const Error& e) {
      code.set_value(e.code());
    }
  });
  EXPECT_EQ(code.get_future().get(), "committer-reentered");
}

TEST_F(GroupCommitTest, TheDestructorFinishesEveryQueuedUnit) {
  constexpr int kUnits = 100;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> probes{0};
  std::atomic<bool> saw_stopping{false};
  std::thread releaser;
  {
    GroupCommitter committer(path(), 16);
    auto gate = std::make_shared<WriterGate>();
    gate->hold(committer);
    for (int i = 1; i <= kUnits; ++i) {
      committer.submit(insert(i), [&](std::exception_ptr e) { ++(e ? failed : ok); });
    }
    // The destructor must start while all of them are still queued behind the gate. The releaser
    // waits for that event itself: once the destructor has begun, submit() refuses with
    // "committer-stopped" (the committer stays alive meanwhile: its destructor waits for the
    // writer, which waits for the gate). Probes submitted before that are queued units too (Ordered,
    // so that they cost no fsync).
    releaser = std::thread([gate, &committer, &probes, &saw_stopping] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (std::chrono::steady_clock::now() < deadline) {
        try {
          committer.submit([](Database&) {}, [](std::exception_ptr) {}, GroupCommitter::Sync::Ordered);
          ++probes;
          std::this_thread::yield();
        } catch (const Error& e) {
          saw_stopping = e.code() == "committer-stopped";
          break;
        }
      }
      gate->release();
    });
  }
  releaser.join();
  EXPECT_TRUE(saw_stopping.load()) << "the destructor had not begun after 30 s (or submit failed otherwise)";
  EXPECT_EQ(ok.load(), kUnits);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(count(), kUnits);
}

}  // namespace
}  // namespace signet::db
