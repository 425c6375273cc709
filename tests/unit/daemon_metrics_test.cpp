// Metrics (server/daemon/metrics.cpp): Prometheus text format 0.0.4 with HELP and TYPE once per
// family, escaped label values, cumulative histogram buckets, and counts that stay exact when
// many threads add at once; collectors set mirrored totals at each render and stop when removed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "metrics.h"
#include "signet/core/error.h"
#include "support/error_assert.h"

namespace signet::daemon {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(MetricsTest, CounterWithLabelsRendersHelpTypeAndSample) {
  Metrics m;
  m.declare_counter("signet_test_total", "Things done.");
  m.increment("signet_test_total", {{"kind", "a"}});
  m.increment("signet_test_total", {{"kind", "a"}}, 2);
  m.increment("signet_test_total", Labels{{"kind", "b"}});
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# HELP signet_test_total Things done.")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE signet_test_total counter")) << text;
  EXPECT_TRUE(has_line(text, "signet_test_total{kind=\"a\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "signet_test_total{kind=\"b\"} 1")) << text;
}

TEST(MetricsTest, UnlabelledAndUndeclaredMetrics) {
  Metrics m;
  m.increment("signet_plain_total");
  m.increment("signet_plain_total", {}, 0.5);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE signet_plain_total counter")) << text;
  EXPECT_TRUE(has_line(text, "signet_plain_total 1.5")) << text;
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Metrics m;
  m.increment("signet_escape_total", {{"v", "a\"b\\c\nd"}});
  EXPECT_TRUE(has_line(m.render(), R"(signet_escape_total{v="a\"b\\c\nd"} 1)")) << m.render();
}

TEST(MetricsTest, GaugesSetAndAdd) {
  Metrics m;
  m.set_gauge("signet_g", {{"l", "x"}}, 7);
  m.add_gauge("signet_g", {{"l", "x"}}, -2);
  m.add_gauge("signet_g", {{"l", "y"}}, 1);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE signet_g gauge")) << text;
  EXPECT_TRUE(has_line(text, "signet_g{l=\"x\"} 5")) << text;
  EXPECT_TRUE(has_line(text, "signet_g{l=\"y\"} 1")) << text;
}

TEST(MetricsTest, ACollectorSetsCountersAtEachRenderUntilRemoved) {
  Metrics m;
  m.declare_counter("signet_mirrored_total", "A total kept elsewhere.");
  double source = 3;
  const std::uint64_t id = m.add_collector([&source](Metrics& metrics) {
    metrics.set_counter("signet_mirrored_total", {{"kind", "x"}}, source);
  });
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE signet_mirrored_total counter")) << text;
  EXPECT_TRUE(has_line(text, "signet_mirrored_total{kind=\"x\"} 3")) << text;
  source = 10;
  text = m.render();
  EXPECT_TRUE(has_line(text, "signet_mirrored_total{kind=\"x\"} 10")) << "read again at each render: " << text;
  m.remove_collector(id);
  source = 99;
  text = m.render();
  EXPECT_TRUE(has_line(text, "signet_mirrored_total{kind=\"x\"} 10")) << "a removed collector runs no more: " << text;
  m.remove_collector(id);  // removing twice is harmless
}

TEST(MetricsTest, RemovingACollectorWaitsForItsRunningCall) {
  Metrics m;
  std::promise<void> entered;
  std::promise<void> leave;
  std::atomic<bool> finished{false};
  const std::uint64_t id = m.add_collector([&](Metrics&) {
    entered.set_value();
    leave.get_future().wait();
    finished = true;
  });
  std::thread scraper([&] { (void)m.render(); });
  entered.get_future().wait();
  std::thread remover([&] {
    m.remove_collector(id);
    EXPECT_TRUE(finished.load()) << "remove_collector returned while its collector was running";
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the remover block, if it would
  leave.set_value();
  remover.join();
  scraper.join();
}

TEST(MetricsTest, SetCounterOnAGaugeThrows) {
  Metrics m;
  m.declare_gauge("signet_a_gauge", "");
  const Error e = test::capture_error([&] { m.set_counter("signet_a_gauge", {}, 1); });
  EXPECT_EQ(e.code(), "metric-type-mismatch");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Metrics m;
  m.declare_histogram("signet_h_seconds", "Latency.");
  m.observe("signet_h_seconds", {{"route", "/x"}}, 0.0004);
  m.observe("signet_h_seconds", {{"route", "/x"}}, 0.003);
  m.observe("signet_h_seconds", {{"route", "/x"}}, 20);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE signet_h_seconds histogram")) << text;
  EXPECT_TRUE(has_line(text, "signet_h_seconds_bucket{route=\"/x\",le=\"0.0005\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "signet_h_seconds_bucket{route=\"/x\",le=\"0.0025\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "signet_h_seconds_bucket{route=\"/x\",le=\"0.005\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "signet_h_seconds_bucket{route=\"/x\",le=\"10\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "signet_h_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "signet_h_seconds_sum{route=\"/x\"} 20.0034")) << text;
  EXPECT_TRUE(has_line(text, "signet_h_seconds_count{route=\"/x\"} 3")) << text;
}

TEST(MetricsTest, HistogramWithoutLabels) {
  Metrics m;
  m.observe("signet_plain_seconds", {}, 0.01);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "signet_plain_seconds_bucket{le=\"0.01\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "signet_plain_seconds_count 1")) << text;
}

TEST(MetricsTest, BuiltInAndProcessMetricsArePresent) {
  const std::string text = Metrics().render();
  for (const char* name : {"signet_http_requests_total counter", "signet_http_request_duration_seconds histogram",
                           "signet_http_errors_total counter", "signet_connections_open gauge",
                           "process_resident_memory_bytes gauge", "process_start_time_seconds gauge"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + name + "\n"), std::string::npos) << name;
  }
  const auto at = text.find("\nprocess_resident_memory_bytes ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stod(text.substr(at + 31)), 0);
  const auto start = text.find("\nprocess_start_time_seconds ");
  ASSERT_NE(start, std::string::npos);
  EXPECT_GT(std::stod(text.substr(start + 28)), 1.6e9);
}

TEST(MetricsTest, UsingANameAsAnotherTypeThrows) {
  Metrics m;
  m.declare_histogram("signet_x_seconds", "");
  const Error e = test::capture_error([&] { m.increment("signet_x_seconds"); });
  EXPECT_EQ(e.code(), "metric-type-mismatch");
  // The same through the per-thread cache (the series now exists as a counter).
  m.increment("signet_y_total");
  const Error again = test::capture_error([&] { m.observe("signet_y_total", {}, 1); });
  EXPECT_EQ(again.code(), "metric-type-mismatch");
}

TEST(MetricsTest, ConcurrentIncrementsAreExact) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 20000; ++i) {
        m.increment("signet_c_total", {{"shared", "yes"}});
        m.increment("signet_c_total", {{"thread", t % 2 == 0 ? "even" : "odd"}});
        m.observe("signet_c_seconds", {}, 0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "signet_c_total{shared=\"yes\"} 80000")) << text;
  EXPECT_TRUE(has_line(text, "signet_c_total{thread=\"even\"} 40000")) << text;
  EXPECT_TRUE(has_line(text, "signet_c_seconds_count 80000")) << text;
}

TEST(MetricsTest, InstancesAreIndependent) {
  // The per-thread cache must not carry a series from one instance into another.
  auto a = std::make_unique<Metrics>();
  a->increment("signet_i_total");
  a.reset();
  Metrics b;
  b.increment("signet_i_total");
  Metrics c;
  c.increment("signet_i_total", {}, 5);
  b.increment("signet_i_total");
  EXPECT_TRUE(has_line(b.render(), "signet_i_total 2"));
  EXPECT_TRUE(has_line(c.render(), "signet_i_total 5"));
}

}  // namespace
}  // namespace signet::daemon
