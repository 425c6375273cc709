#include "daemon.h"

#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http_server.h"
#include "logging.h"
#include "service.h"
#include "signet/core/error.h"
#include "signet/setup/check.h"
#include "systemd_notify.h"

namespace signet::daemon {
namespace {

constexpr std::chrono::seconds kShutdownGrace{10};

// Signals, handed from the io_context's threads to the main thread (Service::reload() and stop()
// run there).
class SignalQueue {
 public:
  void push(int signal) {
    {
      std::lock_guard lock(mutex_);
      signals_.push_back(signal);
    }
    cv_.notify_one();
  }
  int wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return !signals_.empty(); });
    const int s = signals_.front();
    signals_.pop_front();
    return s;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<int> signals_;
};

void watch_signals(boost::asio::signal_set& set, SignalQueue& queue) {
  set.async_wait([&set, &queue](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    queue.push(signal);
    watch_signals(set, queue);
  });
}

int fail(const std::string& message) {
  spdlog::default_logger_raw()->flush();
  std::fprintf(stderr, "signetd: %s\n", message.c_str());
  std::fflush(stderr);
  return 1;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string url_host(const std::string& address) {
  return address.find(':') != std::string::npos ? "[" + address + "]" : address;
}

// The running configuration after a reload: what needs a restart keeps its running value.
Config keep_restart_only(const Config& running, Config next) {
  next.data_dir = running.data_dir;
  next.ca_key = running.ca_key;
  next.passphrase_file = running.passphrase_file;
  next.https_address = running.https_address;
  next.https_port = running.https_port;
  next.http_address = running.http_address;
  next.http_port = running.http_port;
  next.base_url = running.base_url;    // written into every certificate by the signer
  next.delta_crl = running.delta_crl;  // decides the freshestCRL extension the signer writes
  next.threads = running.threads;
  next.max_body_bytes = running.max_body_bytes;
  next.header_timeout = running.header_timeout;
  next.request_timeout = running.request_timeout;
  next.idle_timeout = running.idle_timeout;
  next.max_connections = running.max_connections;
  next.max_connections_per_address = running.max_connections_per_address;
  next.acme_enabled = running.acme_enabled;  // its routes are registered at startup
  next.database_url = running.database_url;  // the ledger is opened at startup
  next.database_password_file = running.database_password_file;
  next.database_pool_size = running.database_pool_size;
  next.database_statement_timeout = running.database_statement_timeout;
  next.database_connect_timeout = running.database_connect_timeout;
  return next;
}

void reload(const std::filesystem::path& path, Config& running, HttpServer& server, Service& service) {
  sd_notify(reloading_state());
  spdlog::info("SIGHUP: reloading {}", path.string());
  Config next;
  try {
    next = load_config(path);
  } catch (const std::exception& e) {
    spdlog::error("reload failed, still running on the previous configuration: {}", e.what());
    sd_notify("READY=1\nSTATUS=reload failed; running on the previous configuration");
    return;
  }
  const ConfigChanges changes = compare_configs(running, next);
  std::string tls = "TLS certificate and key reloaded";
  try {
    server.reload_tls(next);
  } catch (const std::exception& e) {
    tls = "TLS certificate and key NOT reloaded (the old ones stay in use)";
    spdlog::error("reloading the TLS certificate and key failed: {}", e.what());
    next.tls_certificate = running.tls_certificate;
    next.tls_key = running.tls_key;
  }
  if (next.log_level != running.log_level) set_log_level(next.log_level);
  next = keep_restart_only(running, std::move(next));
  std::string service_note;
  try {
    service.reload(next);
  } catch (const std::exception& e) {
    service_note = std::string("the service kept its previous settings: ") + e.what();
    spdlog::error("applying the reloaded configuration failed: {}", e.what());
  }
  running = std::move(next);
  std::string summary = changes.applied.empty() ? "no setting changed" : "changed: " + join(changes.applied);
  if (!changes.restart.empty()) summary += "; need a restart (not applied): " + join(changes.restart);
  summary += "; " + tls;
  if (!service_note.empty()) summary += "; " + service_note;
  spdlog::info("reloaded {}: {}", path.string(), summary);
  sd_notify("READY=1\nSTATUS=serving (configuration reloaded)");
}

}  // namespace

ConfigChanges compare_configs(const Config& a, const Config& b) {
  ConfigChanges c;
  const auto check = [](std::vector<std::string>& out, const char* name, bool differs) {
    if (differs) out.emplace_back(name);
  };
  check(c.restart, "store.data_dir", a.data_dir != b.data_dir);
  check(c.restart, "store.ca_key", a.ca_key != b.ca_key);
  check(c.restart, "store.passphrase_file", a.passphrase_file != b.passphrase_file);
  check(c.restart, "https.address", a.https_address != b.https_address);
  check(c.restart, "https.port", a.https_port != b.https_port);
  check(c.applied, "https.certificate", a.tls_certificate != b.tls_certificate);
  check(c.applied, "https.key", a.tls_key != b.tls_key);
  check(c.restart, "http.address", a.http_address != b.http_address);
  check(c.restart, "http.port", a.http_port != b.http_port);
  check(c.restart, "public.base_url", a.base_url != b.base_url);
  check(c.restart, "server.threads", a.threads != b.threads);
  check(c.restart, "server.max_body_bytes", a.max_body_bytes != b.max_body_bytes);
  check(c.restart, "server.header_timeout", a.header_timeout != b.header_timeout);
  check(c.restart, "server.request_timeout", a.request_timeout != b.request_timeout);
  check(c.restart, "server.idle_timeout", a.idle_timeout != b.idle_timeout);
  check(c.restart, "server.max_connections", a.max_connections != b.max_connections);
  check(c.restart, "server.max_connections_per_address",
        a.max_connections_per_address != b.max_connections_per_address);
  check(c.applied, "crl.validity", a.crl_validity != b.crl_validity);
  check(c.applied, "crl.refresh_before", a.crl_refresh_before != b.crl_refresh_before);
  check(c.applied, "crl.debounce", a.crl_debounce != b.crl_debounce);
  check(c.restart, "crl.delta", a.delta_crl != b.delta_crl);
  check(c.applied, "crl.delta_validity", a.delta_crl_validity != b.delta_crl_validity);
  check(c.applied, "ocsp.validity", a.ocsp_validity != b.ocsp_validity);
  check(c.applied, "ocsp.refresh_before", a.ocsp_refresh_before != b.ocsp_refresh_before);
  check(c.applied, "ocsp.cache_entries", a.ocsp_cache_entries != b.ocsp_cache_entries);
  check(c.applied, "ocsp.nonces", a.ocsp_nonces != b.ocsp_nonces);
  check(c.applied, "ocsp.nonce_signatures_per_second",
        a.ocsp_nonce_signatures_per_second != b.ocsp_nonce_signatures_per_second);
  check(c.applied, "log.level", a.log_level != b.log_level);
  check(c.restart, "acme.enabled", a.acme_enabled != b.acme_enabled);
  check(c.restart, "database.url", a.database_url != b.database_url);
  check(c.restart, "database.password_file", a.database_password_file != b.database_password_file);
  check(c.restart, "database.pool_size", a.database_pool_size != b.database_pool_size);
  check(c.restart, "database.statement_timeout", a.database_statement_timeout != b.database_statement_timeout);
  check(c.restart, "database.connect_timeout", a.database_connect_timeout != b.database_connect_timeout);
  check(c.applied, "acme.profile", a.acme_profile != b.acme_profile);
  check(c.applied, "acme.http01_port", a.acme_http01_port != b.acme_http01_port);
  check(c.applied, "acme.tlsalpn01_port", a.acme_tlsalpn01_port != b.acme_tlsalpn01_port);
  check(c.applied, "acme.resolver", a.acme_resolver != b.acme_resolver);
  check(c.applied, "acme.eab_required", a.acme_eab_required != b.acme_eab_required);
  const auto networks = [](const Config& x) {
    std::vector<std::string> out;
    for (const Cidr& n : x.acme_allowed_networks) out.push_back(n.to_string());
    return out;
  };
  check(c.applied, "acme.allowed_networks", networks(a) != networks(b));
  check(c.applied, "acme.terms_of_service", a.acme_terms_of_service != b.acme_terms_of_service);
  check(c.applied, "acme.website", a.acme_website != b.acme_website);
  check(c.applied, "acme.validation_timeout", a.acme_validation_timeout != b.acme_validation_timeout);
  check(c.applied, "acme.orders_per_account_per_hour",
        a.acme_orders_per_account_per_hour != b.acme_orders_per_account_per_hour);
  check(c.applied, "acme.pending_authorizations_per_account",
        a.acme_pending_authorizations_per_account != b.acme_pending_authorizations_per_account);
  check(c.applied, "acme.new_accounts_per_address_per_hour",
        a.acme_new_accounts_per_address_per_hour != b.acme_new_accounts_per_address_per_hour);
  bool profiles_differ = a.profiles.size() != b.profiles.size();
  for (auto ia = a.profiles.begin(), ib = b.profiles.begin(); !profiles_differ && ia != a.profiles.end(); ++ia, ++ib) {
    const issuance::Profile& pa = ia->second;
    const issuance::Profile& pb = ib->second;
    profiles_differ = ia->first != ib->first || !(pa.key_usage == pb.key_usage) ||
                      pa.extended_key_usages != pb.extended_key_usages || pa.max_validity != pb.max_validity ||
                      pa.default_validity != pb.default_validity || pa.dns_suffixes != pb.dns_suffixes ||
                      pa.email_domains != pb.email_domains || pa.allow_wildcards != pb.allow_wildcards ||
                      pa.max_names != pb.max_names ||
                      pa.key_types != pb.key_types || pa.min_rsa_bits != pb.min_rsa_bits ||
                      pa.ip_networks.size() != pb.ip_networks.size();
    for (std::size_t i = 0; !profiles_differ && i < pa.ip_networks.size(); ++i) {
      profiles_differ = pa.ip_networks[i].address != pb.ip_networks[i].address ||
                        pa.ip_networks[i].prefix != pb.ip_networks[i].prefix;
    }
  }
  check(c.applied, "profiles", profiles_differ);
  return c;
}

int run_daemon(const DaemonOptions& options) {
  Config config;
  try {
    config = load_config(options.config);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  init_logging(config.log_level);
  struct LoggingGuard {
    ~LoggingGuard() { shutdown_logging(); }
  } logging_guard;

  const unsigned threads = thread_count(config.threads);
  boost::asio::io_context io(static_cast<int>(threads));
  Metrics metrics;
  Router router;
  std::unique_ptr<Service> service;
  std::unique_ptr<HttpServer> server;
  IoThreads pool(io, threads);

  if (options.check) {
    try {
      // The same checks `signet setup` ends with (they open the store read-only: --check writes
      // nothing), and the TLS context exactly as the server would build it.
      const setup::InstallationCheck check = setup::check_installation(options.config);
      check_tls_files(config);
      std::printf("signetd: %s is usable: %s\n", options.config.string().c_str(), check.description.c_str());
      return 0;
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }

  // From here on a signal is queued, not fatal: one that arrives while the store opens is handled
  // once the server runs.
  SignalQueue queue;
  boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  watch_signals(signals, queue);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    sd_notify("STATUS=opening the key store");
    service = Service::start(config, metrics, io);
    add_builtin_routes(router, metrics);
    service->register_routes(router);
    server = std::make_unique<HttpServer>(io, router, metrics, config);
    server->start();
  } catch (const std::exception& e) {
    if (service) service->stop();
    return fail(e.what());
  }

  const std::string https_url = "https://" + url_host(config.https_address) + ":" +
                                std::to_string(server->port(Listener::Https));
  const std::string http_url = "http://" + url_host(config.http_address) + ":" + std::to_string(server->port(Listener::Http));
  spdlog::info("signetd {}: {}", SIGNET_VERSION, service->describe());
  spdlog::info("listening on {} and {} ({} threads)", https_url, http_url, threads);
  sd_notify("READY=1\nSTATUS=serving on " + https_url + " and " + http_url);

  for (;;) {
    const int signal = queue.wait();
    if (signal == SIGHUP) {
      reload(options.config, config, *server, *service);
      continue;
    }
    spdlog::info("{}: stopping; in-flight requests have {} s to finish", signal == SIGTERM ? "SIGTERM" : "SIGINT",
                 kShutdownGrace.count());
    sd_notify("STOPPING=1\nSTATUS=stopping");
    break;
  }
  boost::system::error_code ignored;
  signals.cancel(ignored);
  server->stop(kShutdownGrace);
  try {
    service->stop();
  } catch (const std::exception& e) {
    spdlog::error("stopping the service failed: {}", e.what());
  }
  pool.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace signet::daemon
