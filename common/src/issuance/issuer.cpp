#include "signet/issuance/issuer.h"

#include <future>

#include "signet/core/error.h"

namespace signet::issuance {

struct Pending {
  Approved approved;
  Issuer::Callback done;
  int attempts = 0;
};

Issuer::Issuer(std::shared_ptr<const CaSigner> signer, Ledger& ledger, Executor executor, const Clock& clock)
    : signer_(std::move(signer)), ledger_(ledger), executor_(std::move(executor)), clock_(clock) {
  if (!executor_) executor_ = [](std::function<void()> task) { task(); };
}

void Issuer::issue_async(const Profile& profile, const crypto::CertificateRequest& csr,
                         std::optional<std::chrono::seconds> validity, const std::string& client, Callback done) {
  auto pending = std::make_shared<Pending>();
  pending->approved = evaluate(profile, csr, validity, signer_->ca_certificate(), clock_.now(), client);
  pending->done = std::move(done);
  start(std::move(pending));
}

void Issuer::issue_async(const Profile& profile, const crypto::CertificateRequest& csr,
                         std::optional<std::chrono::seconds> validity, const ApiClient& client, Callback done) {
  auto pending = std::make_shared<Pending>();
  pending->approved = evaluate(profile, csr, validity, signer_->ca_certificate(), clock_.now(), client.name);
  pending->approved.intent.client_id = client.id;
  pending->done = std::move(done);
  start(std::move(pending));
}

void Issuer::start(std::shared_ptr<Pending> pending) {
  ledger_.record_intent_async(pending->approved.intent,
                              [this, pending](std::exception_ptr error) { on_intent_recorded(pending, error); });
}

void Issuer::on_intent_recorded(std::shared_ptr<Pending> pending, std::exception_ptr error) {
  if (error) {
    // A random 159-bit serial that collides is astronomically unlikely, but it is handled: draw
    // another and record that intent instead.
    bool collision = false;
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      collision = e.code() == "serial-taken";
    } catch (...) {
    }
    if (collision && ++pending->attempts < 3) {
      pending->approved.tmpl.serial = Serial::random();
      pending->approved.intent.serial = pending->approved.tmpl.serial;
      ledger_.record_intent_async(pending->approved.intent,
                                  [this, pending](std::exception_ptr e) { on_intent_recorded(pending, e); });
      return;
    }
    finish(std::move(pending), nullptr, error);
    return;
  }
  // The committer thread must never sign: hand the work to the executor.
  executor_([this, pending] {
    std::shared_ptr<const crypto::Certificate> cert;
    try {
      cert = std::make_shared<const crypto::Certificate>(signer_->sign_certificate(pending->approved.tmpl));
    } catch (...) {
      pending->done(std::nullopt, std::current_exception());
      return;
    }
    ledger_.record_issued_async(*cert, [this, pending, cert](std::exception_ptr e) { finish(pending, cert, e); });
  });
}

void Issuer::finish(std::shared_ptr<Pending> pending, std::shared_ptr<const crypto::Certificate> cert,
                    std::exception_ptr error) {
  // Called on the committer thread; the answer (PEM, JSON, the response) is built on the
  // executor so that the committer can start on the next batch.
  executor_([pending = std::move(pending), cert = std::move(cert), error] {
    if (error) {
      pending->done(std::nullopt, error);
    } else {
      pending->done(IssuanceResult{*cert, pending->approved.intent}, nullptr);
    }
  });
}

IssuanceResult Issuer::issue(const Profile& profile, const crypto::CertificateRequest& csr,
                             std::optional<std::chrono::seconds> validity, const std::string& client) {
  std::promise<IssuanceResult> promise;
  auto future = promise.get_future();
  issue_async(profile, csr, validity, client, [&promise](std::optional<IssuanceResult> r, std::exception_ptr e) {
    if (e) {
      promise.set_exception(e);
    } else {
      promise.set_value(*std::move(r));
    }
  });
  return future.get();
}

}  // namespace signet::issuance
