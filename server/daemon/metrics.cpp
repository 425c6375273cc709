#include "metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "signet/core/error.h"

namespace signet::daemon {
namespace {

enum class Type { Counter, Gauge, Histogram };

constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

std::string_view type_name(Type t) {
  switch (t) {
    case Type::Counter: return "counter";
    case Type::Gauge: return "gauge";
    case Type::Histogram: return "histogram";
  }
  return "untyped";
}

// One time series. Counters and gauges use `value`; histograms the rest. Never moves once created
// (the per-thread caches point at it).
struct Series {
  std::string labels;  // rendered: k="v",k2="v2" (no braces)
  std::atomic<double> value{0.0};
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};  // last: above 10 s
  std::atomic<double> sum{0.0};
};

struct Family {
  Type type = Type::Counter;
  std::string help;
  std::map<std::string, std::unique_ptr<Series>, std::less<>> series;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Per-thread cache from "name\0labels" to the series: the hot path takes no lock once a series
// exists. Keyed by the Metrics instance's serial number, so a new instance never sees stale
// pointers.
struct ThreadCache {
  std::uint64_t owner = 0;
  std::unordered_map<std::string, std::pair<Series*, Type>, StringHash, std::equal_to<>> entries;
  std::string key;
  std::string labels;
};
thread_local ThreadCache t_cache;

std::atomic<std::uint64_t> g_next_instance{1};

void append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

template <class Range>
void render_labels(std::string& out, const Range& labels) {
  out.clear();
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    append_escaped(out, v);
    out += '"';
  }
}

void atomic_add(std::atomic<double>& a, double by) { a.fetch_add(by, std::memory_order_relaxed); }

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

double resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

// Seconds since the epoch at which the process started (from /proc, so it is right even when
// Metrics is built late).
double process_start_time() {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  std::ifstream proc_stat("/proc/stat");
  std::string line;
  double boot = 0;
  while (std::getline(proc_stat, line)) {
    if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
  }
  if (close == std::string::npos || boot == 0) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  // Field 3 (state) is the first after the command; starttime is field 22.
  for (int i = 3; i <= 22 && (fields >> field); ++i) {
  }
  const double ticks = std::stod(field.empty() ? "0" : field);
  return boot + ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace

struct Metrics::Impl {
  std::uint64_t instance = g_next_instance.fetch_add(1);
  double start_time = process_start_time();
  mutable std::mutex mutex;
  std::map<std::string, Family, std::less<>> families;
  // Held while collectors run, so that remove_collector() waits for a running one. Never taken
  // with `mutex` held (a collector takes `mutex` through find()).
  mutable std::mutex collectors_mutex;
  std::map<std::uint64_t, Collector> collectors;
  std::uint64_t next_collector = 1;

  void declare(std::string name, std::string help, Type type) {
    std::lock_guard lock(mutex);
    auto [it, inserted] = families.try_emplace(std::move(name));
    if (inserted) {
      it->second.type = type;
      it->second.help = std::move(help);
    } else if (it->second.help.empty()) {
      it->second.help = std::move(help);
    }
  }

  template <class Range>
  Series& find(std::string_view name, const Range& labels, Type type) {
    ThreadCache& cache = t_cache;
    if (cache.owner != instance) {
      cache.entries.clear();
      cache.owner = instance;
    }
    render_labels(cache.labels, labels);
    cache.key.assign(name);
    cache.key += '\0';
    cache.key += cache.labels;
    if (auto it = cache.entries.find(std::string_view(cache.key)); it != cache.entries.end()) {
      if (it->second.second != type) mismatch(name, it->second.second, type);
      return *it->second.first;
    }
    Series* series = nullptr;
    Type actual = type;
    {
      std::lock_guard lock(mutex);
      auto fit = families.find(name);
      if (fit == families.end()) {
        fit = families.try_emplace(std::string(name)).first;
        fit->second.type = type;
      }
      actual = fit->second.type;
      if (actual == type) {
        auto& slot = fit->second.series[cache.labels];
        if (!slot) {
          slot = std::make_unique<Series>();
          slot->labels = cache.labels;
        }
        series = slot.get();
      }
    }
    if (actual != type) mismatch(name, actual, type);
    cache.entries.emplace(cache.key, std::make_pair(series, type));
    return *series;
  }

  [[noreturn]] static void mismatch(std::string_view name, Type declared, Type used) {
    throw Error(ErrorKind::Internal, "metric-type-mismatch",
                "metric " + std::string(name) + " is a " + std::string(type_name(declared)) +
                    ", used as a " + std::string(type_name(used)));
  }

  static void observe_into(Series& s, double seconds) {
    std::size_t i = 0;
    while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
    s.buckets[i].fetch_add(1, std::memory_order_relaxed);
    atomic_add(s.sum, seconds);
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  declare_counter("signet_http_requests_total", "HTTP requests answered, by listener, route, method and status code.");
  declare_histogram("signet_http_request_duration_seconds",
                    "Time from a request's first byte to its response written, by listener and route.");
  declare_counter("signet_http_errors_total",
                  "Connections and requests dropped or refused by the HTTP layer, by listener and kind "
                  "(header_timeout, request_timeout, handshake_timeout, tls_handshake, body_too_large, "
                  "header_too_large, bad_request, connection_limit).");
  declare_gauge("signet_connections_open", "Open client connections, by listener.");
}

Metrics::~Metrics() = default;

void Metrics::declare_counter(std::string name, std::string help) { impl_->declare(std::move(name), std::move(help), Type::Counter); }
void Metrics::declare_gauge(std::string name, std::string help) { impl_->declare(std::move(name), std::move(help), Type::Gauge); }
void Metrics::declare_histogram(std::string name, std::string help) {
  impl_->declare(std::move(name), std::move(help), Type::Histogram);
}

void Metrics::increment(std::string_view name, const Labels& labels, double by) {
  atomic_add(impl_->find(name, labels, Type::Counter).value, by);
}
void Metrics::increment(std::string_view name, LabelViews labels, double by) {
  atomic_add(impl_->find(name, labels, Type::Counter).value, by);
}
void Metrics::set_counter(std::string_view name, LabelViews labels, double value) {
  impl_->find(name, labels, Type::Counter).value.store(value, std::memory_order_relaxed);
}
void Metrics::set_gauge(std::string_view name, const Labels& labels, double value) {
  impl_->find(name, labels, Type::Gauge).value.store(value, std::memory_order_relaxed);
}
void Metrics::set_gauge(std::string_view name, LabelViews labels, double value) {
  impl_->find(name, labels, Type::Gauge).value.store(value, std::memory_order_relaxed);
}
void Metrics::add_gauge(std::string_view name, LabelViews labels, double delta) {
  atomic_add(impl_->find(name, labels, Type::Gauge).value, delta);
}
void Metrics::observe(std::string_view name, const Labels& labels, double seconds) {
  Impl::observe_into(impl_->find(name, labels, Type::Histogram), seconds);
}
void Metrics::observe(std::string_view name, LabelViews labels, double seconds) {
  Impl::observe_into(impl_->find(name, labels, Type::Histogram), seconds);
}

std::uint64_t Metrics::add_collector(Collector collector) {
  std::lock_guard lock(impl_->collectors_mutex);
  const std::uint64_t id = impl_->next_collector++;
  impl_->collectors.emplace(id, std::move(collector));
  return id;
}

void Metrics::remove_collector(std::uint64_t id) {
  std::lock_guard lock(impl_->collectors_mutex);
  impl_->collectors.erase(id);
}

std::string Metrics::render() {
  {
    std::lock_guard lock(impl_->collectors_mutex);
    for (const auto& [id, collect] : impl_->collectors) collect(*this);
  }
  std::string out;
  out.reserve(8192);
  const auto braces = [](std::string_view labels) { return labels.empty() ? std::string() : "{" + std::string(labels) + "}"; };
  const auto help_line = [&](std::string_view name, std::string_view help, Type type) {
    out += "# HELP ";
    out += name;
    out += ' ';
    for (char c : help) {
      if (c == '\n') out += "\\n";
      else if (c == '\\') out += "\\\\";
      else out += c;
    }
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type_name(type);
    out += '\n';
  };
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [name, family] : impl_->families) {
      help_line(name, family.help, family.type);
      for (const auto& [key, s] : family.series) {
        if (family.type != Type::Histogram) {
          out += name + braces(s->labels) + ' ' + number(s->value.load(std::memory_order_relaxed)) + '\n';
          continue;
        }
        const std::string sep = s->labels.empty() ? "" : ",";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
          cumulative += s->buckets[i].load(std::memory_order_relaxed);
          const std::string le = i < kBuckets.size() ? number(kBuckets[i]) : "+Inf";
          out += name + "_bucket{" + s->labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + '\n';
        }
        out += name + "_sum" + braces(s->labels) + ' ' + number(s->sum.load(std::memory_order_relaxed)) + '\n';
        out += name + "_count" + braces(s->labels) + ' ' + std::to_string(cumulative) + '\n';
      }
    }
  }
  help_line("process_resident_memory_bytes", "Resident memory size in bytes.", Type::Gauge);
  out += "process_resident_memory_bytes " + number(resident_memory_bytes()) + '\n';
  help_line("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Type::Gauge);
  out += "process_start_time_seconds " + number(impl_->start_time) + '\n';
  help_line("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", Type::Counter);
  out += "process_cpu_seconds_total " + number(cpu_seconds()) + '\n';
  return out;
}

}  // namespace signet::daemon
