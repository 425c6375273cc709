#include "service.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "acme_routes.h"
#include "ca_context.h"
#include "revocation.h"
#include "signet/acme/store.h"
#include "signet/core/file.h"
#include "signet/issuance/ca.h"
#include "signet/keystore/store.h"

namespace signet::daemon {
namespace {

class CaService final : public Service {
 public:
  CaService(Metrics& metrics, boost::asio::io_context& io) : ca_(metrics, io) {}
  ~CaService() override { stop_collecting(); }
  CaService(const CaService&) = delete;
  CaService& operator=(const CaService&) = delete;

  void open(const Config& config, bool publish) {
    ca_.set_config(std::make_shared<const Config>(config));
    // Held while this daemon runs: `signet ledger migrate` refuses to move the ledger under it,
    // and this daemon does not start while a migration runs.
    try {
      data_dir_lock_ = file::FileLock::try_lock(config.data_dir / "signetd.lock", file::FileLock::Mode::Shared);
      if (!data_dir_lock_) {
        throw Error(ErrorKind::Conflict, "ledger-migrating",
                    "refusing to start: `signet ledger migrate` is moving the ledger of " + config.data_dir.string() +
                        " right now; start signetd when it has finished");
      }
    } catch (const Error& e) {
      if (e.code() != "lock-failed") throw;
      spdlog::warn("{}; `signet ledger migrate` cannot tell that this signetd is running", e.what());
    }
    const std::filesystem::path passphrase_file = passphrase_path(config);
    if (file::readable_by_others(passphrase_file)) {
      spdlog::warn("the store passphrase file {} is readable by group or others; run `chmod 600 {}`",
                   passphrase_file.string(), passphrase_file.string());
    }
    {
      keystore::KeyStore store =
          keystore::KeyStore::open(config.data_dir, file::read_passphrase(passphrase_file, "store passphrase"));
      if (const auto migrated = store.migration()) {
        spdlog::warn("migrated the key store {} from schema version {} to {}; the verified copy made before, {}, "
                     "is how to go back (see `signet store check`); remove it once satisfied with the upgrade",
                     keystore::KeyStore::database_path(config.data_dir).string(), migrated->from_version,
                     migrated->to_version, migrated->copy.string());
      }
      try {
        ca_.signer = issuance::open_ca(store, config.ca_key, issuance::PublicUrls{config.base_url, config.delta_crl});
      } catch (const Error& e) {
        throw Error(e.kind(), e.code(), std::string("refusing to start: ") + e.what());
      }
      if (config.acme_enabled) ca_.acme_eab_key = store.derive_secret(signet::acme::kEabSealPurpose);
    }
    if (const std::filesystem::path db_password = database_password_path(config);
        !config.database_url.empty() && !db_password.empty() && file::readable_by_others(db_password)) {
      spdlog::warn("the database password file {} is readable by group or others; run `chmod 600 {}`",
                   db_password.string(), db_password.string());
    }
    try {
      ca_.ledger = issuance::open_ledger(config, *ca_.signer, "signetd");
    } catch (const Error& e) {
      throw Error(e.kind(), e.code(), std::string("refusing to start: ") + e.what());
    }
    if (ca_.ledger->backend() == issuance::Ledger::Backend::Postgres) {
      spdlog::info("the ledger is the PostgreSQL database at {}", db::pg::describe(config.database_url));
    }
    ca_.issuer = std::make_unique<issuance::Issuer>(
        ca_.signer, *ca_.ledger, [this](std::function<void()> task) { boost::asio::post(ca_.io, std::move(task)); });
    // The revocation side sees the CA only through views that cannot issue.
    ca_.revocation_signer = std::make_shared<const issuance::RevocationSigner>(ca_.signer);
    ca_.ledger_reader = std::make_shared<const issuance::LedgerReader>(*ca_.ledger);
    ca_.crl_issuer = std::make_unique<issuance::CrlIssuer>(*ca_.ledger, *ca_.revocation_signer);
    const RevocationViews views{[this] { return ca_.config(); }, &ca_.metrics, ca_.revocation_signer,
                                ca_.ledger_reader};
    ca_.ocsp = std::make_unique<OcspResponder>(views);
    ca_.crl = std::make_unique<CrlPublisher>(views, *ca_.crl_issuer, ca_.ocsp.get(), ca_.io, ca_.blocking);
    if (publish) ca_.crl->start();
    if (config.acme_enabled) {
      acme_ = std::make_unique<AcmeService>(ca_);
      if (publish) acme_->start();
    }
    declare_metrics();
    collector_ = ca_.metrics.add_collector([ledger = ca_.ledger.get()](Metrics& m) {
      const db::GroupCommitter::Stats s = ledger->commit_stats();
      m.set_counter("signet_db_commits_total", {{"sync", "full"}}, static_cast<double>(s.synced_commits));
      m.set_counter("signet_db_commits_total", {{"sync", "normal"}}, static_cast<double>(s.commits - s.synced_commits));
      m.set_counter("signet_db_write_units_total", {}, static_cast<double>(s.units));
      m.set_counter("signet_db_failed_write_units_total", {}, static_cast<double>(s.failed_units));
    });
  }

  void register_routes(Router& router) override {
    register_api_routes(router, ca_);
    register_public_routes(router, *ca_.revocation_signer, *ca_.crl, *ca_.ocsp, ca_.metrics,
                           ca_.ledger->backend() == issuance::Ledger::Backend::Postgres ? &ca_.blocking : nullptr);
    if (acme_) acme_->register_routes(router);
  }

  void reload(const Config& config) override {
    ca_.set_config(std::make_shared<const Config>(config));
    ca_.ocsp->invalidate();
  }

  void stop() override {
    stop_collecting();
    if (acme_) acme_->stop();
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
    m.declare_counter("signet_db_commits_total",
                      "Transactions committed by the database writer, by sync: full (fsynced; each one makes "
                      "every earlier commit durable too) or normal (ordered, not yet fsynced: issuance intents).");
    m.declare_counter("signet_db_write_units_total",
                      "Writes (an intent, a certificate, a revocation, ...) batched into those transactions.");
    m.declare_counter("signet_db_failed_write_units_total", "Writes rolled back with an error.");
    if (acme_) {
      m.declare_counter("signet_acme_accounts_created_total", "ACME accounts created.");
      m.declare_counter("signet_acme_orders_created_total", "ACME orders created.");
      m.declare_counter("signet_acme_orders_finalized_total", "ACME orders that ended with a certificate.");
      m.declare_counter("signet_acme_validations_total", "ACME challenge validations, by type and result (valid or "
                                                         "the error type).");
      m.declare_histogram("signet_acme_validation_duration_seconds", "Time one ACME validation took, by type.");
    }
  }

  void stop_collecting() {
    if (collector_ != 0) ca_.metrics.remove_collector(collector_);
    collector_ = 0;
  }

  std::optional<file::FileLock> data_dir_lock_;
  CaContext ca_;
  std::unique_ptr<AcmeService> acme_;  // when [acme] enabled
  std::uint64_t collector_ = 0;  // the ledger's commit counts in /metrics
};

}  // namespace

std::unique_ptr<Service> Service::start(const Config& config, Metrics& metrics, boost::asio::io_context& io,
                                        bool publish) {
  auto service = std::make_unique<CaService>(metrics, io);
  service->open(config, publish);
  return service;
}

}  // namespace signet::daemon
