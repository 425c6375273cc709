// Benchmarks of the key store's full integrity check (see README.md in this directory).
//
// The headline figures are BM_VerifyAll/ec-p256/10000 (target <= 1.5 s) and
// BM_VerifyAll/rsa-2048/1000 (target <= 1.0 s): KeyStore::check_all() on a real signet.db, which
// loads every entry from SQLite and runs the six rules on all cores.
//
// The stores are built once through the public API and cached on disk, keyed by algorithm and
// size (SIGNET_BENCH_CACHE, default /tmp/signet-bench-cache): building them costs a transaction
// with an fsync per key, and RSA key generation takes minutes. A cached store is reused only if it
// opens with the bench passphrase and holds exactly the expected keys, all of the expected
// algorithm; otherwise it is rebuilt.
#include <benchmark/benchmark.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/keystore/key_file.h"
#include "signet/keystore/store.h"

namespace {

namespace fs = std::filesystem;
using signet::Passphrase;
using signet::crypto::KeyAlgorithm;
using signet::keystore::IntegrityReport;
using signet::keystore::KeyMaterial;
using signet::keystore::KeyStore;
using Seconds = std::chrono::duration<double>;

// Not a secret: these stores hold throw-away keys.
constexpr std::string_view kBenchPassphrase = "signet-benchmark-passphrase";

Passphrase bench_passphrase() { return Passphrase(signet::as_bytes(kBenchPassphrase)); }

fs::path cache_root() {
  const char* env = std::getenv("SIGNET_BENCH_CACHE");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/tmp/signet-bench-cache");
}

std::string label(KeyAlgorithm algorithm, std::size_t count) {
  return std::string(signet::crypto::to_string(algorithm)) + "/" + std::to_string(count);
}

fs::path store_dir(KeyAlgorithm algorithm, std::size_t count) {
  return cache_root() /
         (std::string(signet::crypto::to_string(algorithm)) + "-" + std::to_string(count));
}

// Why the cached store in `dir` cannot be used, or std::nullopt when it can.
std::optional<std::string> cache_problem(const fs::path& dir, KeyAlgorithm algorithm,
                                         std::size_t count) {
  std::error_code ec;
  if (!fs::exists(KeyStore::database_path(dir), ec)) return "no cached store";
  try {
    KeyStore store = KeyStore::open(dir, bench_passphrase());
    const auto records = store.records();
    if (records.size() != count) {
      return "it holds " + std::to_string(records.size()) + " keys, not " + std::to_string(count);
    }
    const std::string_view expected = signet::crypto::to_string(algorithm);
    if (!std::all_of(records.begin(), records.end(),
                     [expected](const auto& r) { return r.algorithm == expected; })) {
      return "it holds keys of another algorithm";
    }
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("it does not open: ") + e.what();
  }
}

// Generates `count` keys on all cores (crypto::generate_key is thread-safe).
std::vector<signet::ossl::Pkey> generate_keys(KeyAlgorithm algorithm, std::size_t count) {
  std::vector<signet::ossl::Pkey> keys(count);
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto work = [&] {
    try {
      for (std::size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
        keys[i] = signet::crypto::generate_key(algorithm);
        done.fetch_add(1);
      }
    } catch (...) {
      const std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next.store(count);
    }
  };
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
    // Progress, because RSA generation takes minutes.
    auto last = std::chrono::steady_clock::now();
    while (done.load() < count) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (std::chrono::steady_clock::now() - last > std::chrono::seconds(10)) {
        std::fprintf(stderr, "signet-bench:   generated %zu/%zu keys\n", done.load(), count);
        last = std::chrono::steady_clock::now();
      }
      const std::lock_guard lock(failure_mutex);
      if (failure) break;
    }
  }
  if (failure) std::rethrow_exception(failure);
  return keys;
}

// Builds the store under a temporary name next to `dir`, then renames it into place, so an
// interrupted build never leaves a store that looks complete.
void populate(const fs::path& dir, KeyAlgorithm algorithm, std::size_t count) {
  const auto start = std::chrono::steady_clock::now();
  const fs::path tmp = fs::path(dir.string() + ".building-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  try {
    // The KDF cost is not what is measured: use the cheap test parameters.
    KeyStore store =
        KeyStore::create(tmp, bench_passphrase(), signet::crypto::ScryptParams::insecure_for_tests());
    std::vector<signet::ossl::Pkey> keys = generate_keys(algorithm, count);
    const auto generated = std::chrono::steady_clock::now();
    std::fprintf(stderr, "signet-bench:   key generation: %.1f s\n",
                 Seconds(generated - start).count());
    // No batch API: one transaction (and fsync) per key.
    char name[32];
    for (std::size_t i = 0; i < count; ++i) {
      std::snprintf(name, sizeof name, "bench-%06zu", i);
      (void)store.import(name, KeyMaterial{std::move(keys[i]), {}, {}, "bench"},
                         signet::keystore::kSourceGenerated, "benchmark key");
    }
    std::fprintf(stderr, "signet-bench:   import: %.1f s\n",
                 Seconds(std::chrono::steady_clock::now() - generated).count());
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  fs::remove_all(dir);
  fs::rename(tmp, dir);
  std::fprintf(stderr, "signet-bench: built %s (%s keys) in %.1f s\n", dir.c_str(),
               label(algorithm, count).c_str(),
               Seconds(std::chrono::steady_clock::now() - start).count());
}

// The cached store for (algorithm, count), built first if needed. Returns its directory.
fs::path ensure_store(KeyAlgorithm algorithm, std::size_t count) {
  static std::set<fs::path> ready;  // checked in this process already
  const fs::path dir = store_dir(algorithm, count);
  if (ready.count(dir) != 0) return dir;
  if (const auto problem = cache_problem(dir, algorithm, count)) {
    std::fprintf(stderr, "signet-bench: building %s store at %s (%s); this happens once\n",
                 label(algorithm, count).c_str(), dir.c_str(), problem->c_str());
    std::error_code ec;
    fs::create_directories(cache_root(), ec);
    populate(dir, algorithm, count);
    if (const auto still = cache_problem(dir, algorithm, count)) {
      throw std::runtime_error("the freshly built store at " + dir.string() +
                               " is not usable: " + *still);
    }
  }
  ready.insert(dir);
  return dir;
}

void set_counters(benchmark::State& state, std::size_t count) {
  const auto n = static_cast<double>(count);
  state.counters["keys"] = benchmark::Counter(n);
  state.counters["keys/s"] = benchmark::Counter(n, benchmark::Counter::kIsIterationInvariantRate);
}

bool all_reusable(benchmark::State& state, const IntegrityReport& report, std::size_t count) {
  if (report.reusable.size() == count && report.excluded.empty()) return true;
  state.SkipWithError(("expected " + std::to_string(count) + " reusable keys, got " +
                       std::to_string(report.reusable.size()) + " reusable and " +
                       std::to_string(report.excluded.size()) + " excluded")
                          .c_str());
  return false;
}

// Runs `body` with the calling thread (and so the check's worker threads, which inherit it)
// pinned to one CPU. The check still starts one worker per core, all sharing that CPU.
class PinnedToOneCpu {
 public:
  PinnedToOneCpu() {
    ok_ = ::sched_getaffinity(0, sizeof saved_, &saved_) == 0;
    if (!ok_) return;
    int first = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &saved_)) {
        first = cpu;
        break;
      }
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ok_ = first >= 0 && ::sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~PinnedToOneCpu() {
    if (ok_) (void)::sched_setaffinity(0, sizeof saved_, &saved_);
  }
  PinnedToOneCpu(const PinnedToOneCpu&) = delete;
  PinnedToOneCpu& operator=(const PinnedToOneCpu&) = delete;
  [[nodiscard]] bool ok() const noexcept { return ok_; }

 private:
  cpu_set_t saved_{};
  bool ok_ = false;
};

// ---- benchmarks ---------------------------------------------------------------------------

// The headline: KeyStore::check_all() on an open store (load every row, six rules, all cores).
void BM_VerifyAll(benchmark::State& state, KeyAlgorithm algorithm, std::size_t count) {
  try {
    KeyStore store = KeyStore::open(ensure_store(algorithm, count), bench_passphrase());
    for (auto _ : state) {
      IntegrityReport report = store.check_all();
      if (!all_reusable(state, report, count)) break;
      benchmark::DoNotOptimize(report);
    }
    set_counters(state, count);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// The same with the process pinned to one CPU: the cost per core, for other machines.
void BM_VerifyAllOneCpu(benchmark::State& state, KeyAlgorithm algorithm, std::size_t count) {
  try {
    KeyStore store = KeyStore::open(ensure_store(algorithm, count), bench_passphrase());
    const PinnedToOneCpu pin;
    if (!pin.ok()) {
      state.SkipWithError("cannot set the CPU affinity");
      return;
    }
    for (auto _ : state) {
      IntegrityReport report = store.check_all();
      if (!all_reusable(state, report, count)) break;
      benchmark::DoNotOptimize(report);
    }
    set_counters(state, count);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// What a command such as `signet keys list` pays from a cold start: KeyStore::open (SQLite
// quick_check, migrations, scrypt with the cheap test parameters) and then check_all().
void BM_OpenAndVerifyAll(benchmark::State& state, KeyAlgorithm algorithm, std::size_t count) {
  try {
    const fs::path dir = ensure_store(algorithm, count);
    for (auto _ : state) {
      KeyStore store = KeyStore::open(dir, bench_passphrase());
      IntegrityReport report = store.check_all();
      if (!all_reusable(state, report, count)) break;
      benchmark::DoNotOptimize(report);
    }
    set_counters(state, count);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// The SQLite part alone: KeyStore::records(), which check_all() starts with.
void BM_LoadRecords(benchmark::State& state, KeyAlgorithm algorithm, std::size_t count) {
  try {
    KeyStore store = KeyStore::open(ensure_store(algorithm, count), bench_passphrase());
    for (auto _ : state) {
      auto records = store.records();
      if (records.size() != count) {
        state.SkipWithError("wrong number of records");
        break;
      }
      benchmark::DoNotOptimize(records);
    }
    set_counters(state, count);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

struct Size {
  KeyAlgorithm algorithm;
  std::size_t count;
  int iterations;
};

void register_benchmarks() {
  // Quick sizes first, then the ones with targets (ec-p256/10000 <= 1.5 s, rsa-2048/1000 <= 1.0 s).
  const Size sizes[] = {
      {KeyAlgorithm::EcP256, 1000, 10},
      {KeyAlgorithm::Rsa2048, 100, 10},
      {KeyAlgorithm::EcP256, 10000, 3},
      {KeyAlgorithm::Rsa2048, 1000, 3},
  };
  using Fn = void (*)(benchmark::State&, KeyAlgorithm, std::size_t);
  const std::pair<const char*, Fn> benchmarks[] = {
      {"BM_VerifyAll", BM_VerifyAll},
      {"BM_VerifyAllOneCpu", BM_VerifyAllOneCpu},
      {"BM_OpenAndVerifyAll", BM_OpenAndVerifyAll},
      {"BM_LoadRecords", BM_LoadRecords},
  };
  for (const Size& size : sizes) {
    for (const auto& [name, fn] : benchmarks) {
      const std::string full = std::string(name) + "/" + label(size.algorithm, size.count);
      benchmark::RegisterBenchmark(full.c_str(), fn, size.algorithm, size.count)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->Iterations(size.iterations);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("signet_bench_cache", cache_root().string());
  benchmark::AddCustomContext("hardware_concurrency",
                              std::to_string(std::thread::hardware_concurrency()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
