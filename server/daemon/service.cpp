#include "service.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ca_context.h"
#include "revocation.h"
#include "signet/core/file.h"
#include "signet/issuance/ca.h"
#include "signet/keystore/store.h"

namespace signet::daemon {
namespace {

class CaService final : public Service {
 public:
  CaService(Metrics& metrics, boost::asio::io_context& io) : ca_(metrics, io) {}

  void open(const Config& config) {
    ca_.set_config(std::make_shared<const Config>(config));
    const std::filesystem::path passphrase_file = passphrase_path(config);
    if (file::readable_by_others(passphrase_file)) {
      spdlog::warn("the store passphrase file {} is readable by group or others; run `chmod 600 {}`",
                   passphrase_file.string(), passphrase_file.string());
    }
    {
      keystore::KeyStore store =
          keystore::KeyStore::open(config.data_dir, file::read_passphrase(passphrase_file, "store passphrase"));
      try {
        ca_.signer = issuance::open_ca(store, config.ca_key, issuance::PublicUrls{config.base_url});
      } catch (const Error& e) {
        throw Error(e.kind(), e.code(), std::string("refusing to start: ") + e.what());
      }
    }
    ca_.ledger = std::make_unique<issuance::Ledger>(keystore::KeyStore::database_path(config.data_dir));
    ca_.issuer = std::make_unique<issuance::Issuer>(
        ca_.signer, *ca_.ledger, [this](std::function<void()> task) { boost::asio::post(ca_.io, std::move(task)); });
    ca_.ocsp = std::make_unique<OcspResponder>(ca_);
    ca_.crl = std::make_unique<CrlPublisher>(ca_);
    ca_.crl->start();
    declare_metrics();
  }

  void register_routes(Router& router) override {
    register_api_routes(router, ca_);
    register_public_routes(router, ca_);
  }

  std::string reload(const Config& config) override {
    const auto old = ca_.config();
    std::string kept;
    const auto differs = [&](bool changed, const char* what) {
      if (changed) kept += (kept.empty() ? "" : ", ") + std::string(what);
    };
    differs(config.data_dir != old->data_dir || config.ca_key != old->ca_key || config.passphrase_file != old->passphrase_file,
            "[store]");
    differs(config.https_address != old->https_address || config.https_port != old->https_port, "[https] address/port");
    differs(config.http_address != old->http_address || config.http_port != old->http_port, "[http]");
    differs(config.base_url != old->base_url, "[public] base_url");
    differs(config.threads != old->threads, "[server] threads");
    // Settings that need a restart keep their running values; the rest takes effect now.
    auto next = std::make_shared<Config>(config);
    next->data_dir = old->data_dir;
    next->ca_key = old->ca_key;
    next->passphrase_file = old->passphrase_file;
    next->base_url = old->base_url;
    next->threads = old->threads;
    ca_.set_config(next);
    ca_.ocsp->invalidate();
    return kept.empty() ? "" : "these settings need a restart and keep their running values: " + kept;
  }

  void stop() override {
    if (ca_.crl) ca_.crl->stop();
    ca_.blocking.join();
  }

  std::string describe() const override {
    const crypto::Certificate& c = ca_.signer->ca_certificate();
    return "CA " + c.subject() + " (key \"" + ca_.config()->ca_key + "\", certificate serial " + c.serial_hex() +
           ", valid until " + http_date(c.not_after()) + "), " + std::to_string(ca_.config()->profiles.size()) +
           " profiles";
  }

 private:
  void declare_metrics() {
    Metrics& m = ca_.metrics;
    m.declare_counter("signet_certificates_issued_total", "Certificates issued and stored, by profile.");
    m.declare_counter("signet_issuance_refused_total", "Issuance requests refused by policy, by error code.");
    m.declare_counter("signet_issuance_failures_total", "Issuances that failed after policy (storage, signing).");
    m.declare_histogram("signet_issuance_duration_seconds", "Time from an approved request to the stored certificate.");
    m.declare_counter("signet_revocations_total", "Revocations through the API, by reason.");
    m.declare_counter("signet_auth_failures_total", "Rejected credentials, by method.");
    m.declare_counter("signet_ocsp_responses_total", "OCSP responses, by method, status and cache use.");
    m.declare_counter("signet_crl_generated_total", "CRLs signed, full or delta.");
  }

  CaContext ca_;
};

}  // namespace

std::unique_ptr<Service> Service::start(const Config& config, Metrics& metrics, boost::asio::io_context& io) {
  auto service = std::make_unique<CaService>(metrics, io);
  service->open(config);
  return service;
}

}  // namespace signet::daemon
