// ACME (RFC 8555, RFC 8737, RFC 8738) on the HTTPS listener under /acme/: the HTTP side of it
// (routes, JWS checks, problem documents, nonces in headers). The resources and their rules are in
// common/ (signet/acme/), validation in acme_validation.h, issuance through the same Issuer as the
// REST API.
//
// Work that waits on the database runs on a pool of its own, validations on another: neither ever
// blocks the threads that serve connections.
//
// Thread-safety: register_routes() once before serving; the rest is called from the main thread.
#pragma once

#include <functional>
#include <memory>

#include "ca_context.h"

namespace signet::daemon {

class AcmeService {
 public:
  explicit AcmeService(CaContext& ca);
  ~AcmeService();
  AcmeService(const AcmeService&) = delete;
  AcmeService& operator=(const AcmeService&) = delete;

  void register_routes(Router& router);
  // Validates again the challenges a stopped signetd left processing, and starts pruning expired
  // orders (hourly).
  void start();
  // Waits for running validations and requests, before the io_context stops.
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<std::function<void()>> prune_;  // schedules itself hourly
};

}  // namespace signet::daemon
