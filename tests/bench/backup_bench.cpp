// Benchmarks of backup and restore (see README.md in this directory).
//
// Fixtures, built once and cached under SIGNET_BENCH_CACHE (default /tmp/signet-bench-cache):
//   backup-keys-1000:       a store with 1,000 ec-p256 keys;
//   backup-keys-1000-rows:  the same keys plus 100,000 certificate-sized rows (1,200 bytes each)
//                           in an extra table, which travels through backup and restore like any
//                           table of a future schema.
// Measured, each on a fresh target:
//   BM_BackupCreate:  KeyStore::create_backup (snapshot, manifest, chunked encryption, fsync);
//   BM_Restore:       OpenedBackup::open (decrypt, authenticate, check every key on all cores)
//                     plus KeyStore::restore (re-wrap, insert, copy tables, one transaction).
//                     Target: 1,000 ec-p256 keys checked and written in <= 2 s.
// KDFs use the low-cost test setting so that scrypt (about 0.3 s per derivation at the default)
// is not what is measured. Peak memory is measured on the real CLI by backup_memory.sh.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "signet/backup/backup.h"
#include "signet/core/bytes.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"

namespace {

namespace fs = std::filesystem;
using signet::Passphrase;
using signet::crypto::ScryptParams;
using signet::keystore::KeyStore;

constexpr std::string_view kPassphrase = "signet-benchmark-passphrase";
constexpr std::size_t kKeys = 1000;
constexpr std::int64_t kRows = 100000;
constexpr int kRowBytes = 1200;

Passphrase passphrase() { return Passphrase(signet::as_bytes(kPassphrase)); }

fs::path cache_root() {
  const char* env = std::getenv("SIGNET_BENCH_CACHE");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/tmp/signet-bench-cache");
}

// The cached source store (created on first use) and a backup of it.
struct Fixture {
  fs::path store_dir;
  fs::path backup_file;
};

Fixture fixture(bool with_rows) {
  const fs::path dir = cache_root() / (with_rows ? "backup-keys-1000-rows" : "backup-keys-1000");
  const fs::path backup = dir.string() + ".signet-backup";
  if (fs::exists(backup)) return {dir, backup};
  fs::create_directories(cache_root());
  fs::remove_all(dir);
  {
    KeyStore store = KeyStore::create(dir, passphrase(), ScryptParams::insecure_for_tests());
    for (std::size_t i = 0; i < kKeys; ++i) {
      (void)store.generate("key-" + std::to_string(i), signet::crypto::KeyAlgorithm::EcP256);
    }
  }
  if (with_rows) {
    signet::db::Database db = signet::db::Database::open(KeyStore::database_path(dir),
                                                         signet::db::OpenMode::ReadWrite);
    db.exec("CREATE TABLE bench_certificates (id INTEGER PRIMARY KEY, der BLOB NOT NULL)");
    db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
            std::to_string(kRows) + ") INSERT INTO bench_certificates (id, der) SELECT i, randomblob(" +
            std::to_string(kRowBytes) + ") FROM n");
  }
  KeyStore store = KeyStore::open(dir, passphrase());
  fs::remove(backup);
  (void)store.create_backup(backup, passphrase(), ScryptParams::insecure_for_tests(), "bench");
  return {dir, backup};
}

void BM_BackupCreate(benchmark::State& state) {
  const Fixture f = fixture(state.range(0) != 0);
  KeyStore store = KeyStore::open(f.store_dir, passphrase());
  const fs::path out = cache_root() / "bench-out.signet-backup";
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove(out);
    state.ResumeTiming();
    (void)store.create_backup(out, passphrase(), ScryptParams::insecure_for_tests(), "bench");
  }
  state.counters["bytes"] = static_cast<double>(fs::file_size(out));
  fs::remove(out);
}

void BM_Restore(benchmark::State& state) {
  const Fixture f = fixture(state.range(0) != 0);
  const fs::path target = cache_root() / "bench-restore-target";
  std::size_t added = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(target);
    KeyStore store = KeyStore::create(target, passphrase(), ScryptParams::insecure_for_tests());
    state.ResumeTiming();
    signet::backup::OpenedBackup opened = signet::backup::OpenedBackup::open(f.backup_file, passphrase(), target);
    const auto report = store.restore(opened, false);
    added = report.added.size();
  }
  if (added != kKeys) state.SkipWithError("the restore did not add every key");
  state.counters["keys"] = static_cast<double>(added);
  state.counters["keys/s"] = benchmark::Counter(static_cast<double>(added) * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  fs::remove_all(target);
}

BENCHMARK(BM_BackupCreate)->ArgName("rows100k")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)
    ->UseRealTime()->Iterations(3);
BENCHMARK(BM_Restore)->ArgName("rows100k")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)
    ->UseRealTime()->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
