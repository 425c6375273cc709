// What the daemon's handlers share: the configuration (reloadable), the signer, the ledger, the
// issuer, the metrics, and where blocking work runs. The API's handlers get all of it; the
// revocation side (OCSP, CRLs, the public routes) gets only the read-only views below.
//
// Thread-safety: config() and set_config() lock; the rest is set up before serving and is
// thread-safe itself.
#pragma once

#include <memory>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config.h"
#include "http.h"
#include "metrics.h"
#include "signet/core/bytes.h"
#include "signet/core/error.h"
#include "signet/issuance/issuer.h"
#include "signet/issuance/ledger.h"
#include "signet/issuance/signer.h"
#include "signet/issuance/views.h"

namespace signet::daemon {

class CrlPublisher;
class OcspResponder;

struct CaContext {
  CaContext(Metrics& m, boost::asio::io_context& i) : metrics(m), io(i) {}

  [[nodiscard]] std::shared_ptr<const Config> config() const {
    std::lock_guard lock(config_mutex);
    return config_;
  }
  void set_config(std::shared_ptr<const Config> c) {
    std::lock_guard lock(config_mutex);
    config_ = std::move(c);
  }

  Metrics& metrics;
  boost::asio::io_context& io;
  // Work that waits on the disk or the database (revocation, listing, CRL generation; on a
  // PostgreSQL ledger every API call and the OCSP answers not in the cache) runs here, never on the
  // threads that serve connections. Four threads: most of their time is waiting, not computing.
  boost::asio::thread_pool blocking{4};
  std::shared_ptr<const issuance::CaSigner> signer;
  std::unique_ptr<issuance::Ledger> ledger;
  std::unique_ptr<issuance::Issuer> issuer;
  // Views of the signer and the ledger that cannot issue: all the revocation side is given.
  std::shared_ptr<const issuance::RevocationSigner> revocation_signer;
  std::shared_ptr<const issuance::LedgerReader> ledger_reader;
  std::unique_ptr<issuance::CrlIssuer> crl_issuer;
  std::unique_ptr<CrlPublisher> crl;
  std::unique_ptr<OcspResponder> ocsp;
  // Seals and unseals the HMAC keys of ACME external account bindings: derived from the store's
  // data key (KeyStore::derive_secret(acme::kEabSealPurpose)) while the store is open at start.
  // Empty when ACME is off.
  SecretBytes acme_eab_key;

 private:
  mutable std::mutex config_mutex;
  std::shared_ptr<const Config> config_;
};

// "Sun, 22 Nov 2026 05:00:00 GMT"
[[nodiscard]] std::string http_date(std::chrono::system_clock::time_point t);

void register_api_routes(Router& router, CaContext& ca);

}  // namespace signet::daemon
