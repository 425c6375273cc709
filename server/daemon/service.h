// Service: the CA behind the HTTP layer. It unlocks the store, checks the CA key, opens the
// ledger, builds the signer, and registers the API (HTTPS) and public (HTTP) routes.
//
// Thread-safety: register_routes() once before serving; handlers run on the server's threads;
// reload() and stop() are called from the main thread.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "config.h"
#include "http.h"
#include "metrics.h"

namespace signet::daemon {

class Service {
 public:
  // Reads the passphrase file, opens and unlocks the store, runs the full integrity check on the
  // CA key and refuses (throws signet::Error naming the findings and the fix) when it fails, picks
  // the CA certificate, opens the ledger. Nothing is served yet.
  // With `publish` false (`signetd --check`) nothing is written: no CRL is signed or numbered and
  // no timer starts, so a check never changes the store.
  [[nodiscard]] static std::unique_ptr<Service> start(const Config& config, Metrics& metrics,
                                                      boost::asio::io_context& io, bool publish = true);
  virtual ~Service() = default;

  virtual void register_routes(Router& router) = 0;
  // Applies a reloaded configuration: profiles, CRL and OCSP timings. The caller has already put
  // the running values back into what needs a restart (see restart_only_settings()).
  virtual void reload(const Config& config) = 0;
  // Finishes pending work (a debounced CRL), before the io_context stops.
  virtual void stop() = 0;
  // One line for the startup log: CA subject, key, serial count.
  [[nodiscard]] virtual std::string describe() const = 0;
};

}  // namespace signet::daemon
