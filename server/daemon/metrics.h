// Prometheus text-format metrics (exposition format 0.0.4), served at /metrics.
//
// Built in: signet_http_requests_total{listener,route,method,code},
// signet_http_request_duration_seconds (histogram by listener and route),
// signet_http_errors_total{listener,kind} (timeouts, oversized bodies, TLS failures),
// signet_connections_open{listener}, process_resident_memory_bytes, process_start_time_seconds.
// Handlers add their own counters and histograms by name (e.g. signet_certificates_issued_total
// {profile}, signet_issuance_duration_seconds, signet_revocations_total{reason},
// signet_ocsp_responses_total{status,cached}). Values kept elsewhere (the database writer's
// commit counts) come in through collectors, run at each render().
//
// Thread-safety: every method may be called from any thread (lock-free counters in the hot path,
// a mutex only when a new label set first appears).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signet::daemon {

using Labels = std::vector<std::pair<std::string, std::string>>;
// Labels as views, for hot paths: a braced list `{{"profile", name}}` picks these overloads and
// allocates nothing once the series exists.
using LabelViews = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Declares a metric once (help text shown in the exposition); later calls with the same name
  // are no-ops. Undeclared names are declared on first use with an empty help.
  void declare_counter(std::string name, std::string help);
  void declare_gauge(std::string name, std::string help);
  void declare_histogram(std::string name, std::string help);

  // Label values are escaped; label names must be valid Prometheus names. Using a name with
  // another type than it was declared with throws Error(Internal, "metric-type-mismatch").
  void increment(std::string_view name, const Labels& labels = {}, double by = 1.0);
  void increment(std::string_view name, LabelViews labels, double by = 1.0);
  // Sets a counter to a total kept elsewhere (which must never go down).
  void set_counter(std::string_view name, LabelViews labels, double value);
  void set_gauge(std::string_view name, const Labels& labels, double value);
  void set_gauge(std::string_view name, LabelViews labels, double value);
  void add_gauge(std::string_view name, LabelViews labels, double delta);
  // Seconds; buckets 0.5 ms .. 10 s.
  void observe(std::string_view name, const Labels& labels, double seconds);
  void observe(std::string_view name, LabelViews labels, double seconds);

  // A collector runs at the start of every render() (on the scraping thread) and sets the
  // values it mirrors. remove_collector() returns once no call of it is running.
  using Collector = std::function<void(Metrics&)>;
  std::uint64_t add_collector(Collector collector);
  void remove_collector(std::uint64_t id);

  [[nodiscard]] std::string render();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace signet::daemon
