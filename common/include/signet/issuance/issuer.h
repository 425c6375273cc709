// Issuer: the one issuance path, shared by signetd's REST API (and later ACME) and `signet issue`.
//
// Order, as production CAs issue: the caller has authenticated the client; the Issuer
// applies policy, reserves a random serial and records the intent (committed before signing; on
// disk with the certificate, see ledger.h), builds and signs the certificate, stores it durably,
// and only then hands it back. A certificate that reached a client
// is always in the database; an intent without a certificate never reached anyone.
//
// Thread-safety: issue_async() and issue() may be called from any thread. Durable writes are
// batched by the ledger's group committer; signing runs on the executor given at construction so
// that it never stalls the committer thread.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "signet/core/clock.h"
#include "signet/crypto/certificate.h"
#include "signet/issuance/ledger.h"
#include "signet/issuance/policy.h"
#include "signet/issuance/profile.h"
#include "signet/issuance/signer.h"

namespace signet::issuance {

struct IssuanceResult {
  crypto::Certificate certificate;
  Intent intent;  // what was recorded: profile, client, names, validity
};

struct Pending;

class Issuer {
 public:
  // Runs a task on some thread. The default runs it inline.
  using Executor = std::function<void(std::function<void()>)>;
  using Callback = std::function<void(std::optional<IssuanceResult>, std::exception_ptr)>;

  Issuer(std::shared_ptr<const CaSigner> signer, Ledger& ledger, Executor executor = {},
         const Clock& clock = SystemClock::instance());

  // Policy runs on the calling thread (and throws from here for a refused request); the callback
  // gets the stored certificate, or the storage or signing error, on the executor (never on the
  // store's committer thread, unless the executor is the inline default). It is called exactly once
  // when this returns without throwing.
  void issue_async(const Profile& profile, const crypto::CertificateRequest& csr,
                   std::optional<std::chrono::seconds> validity, const std::string& client, Callback done);
  // For an API client: the intent records its name and its id, whose the certificate is. A client
  // removed before the certificate is stored gets Error(Unauthorized, "client-removed").
  void issue_async(const Profile& profile, const crypto::CertificateRequest& csr,
                   std::optional<std::chrono::seconds> validity, const ApiClient& client, Callback done);
  // Blocking form.
  [[nodiscard]] IssuanceResult issue(const Profile& profile, const crypto::CertificateRequest& csr,
                                     std::optional<std::chrono::seconds> validity, const std::string& client);

  [[nodiscard]] const CaSigner& signer() const noexcept { return *signer_; }

 private:
  void start(std::shared_ptr<Pending> pending);
  void on_intent_recorded(std::shared_ptr<Pending> pending, std::exception_ptr error);
  void finish(std::shared_ptr<Pending> pending, std::shared_ptr<const crypto::Certificate> cert,
              std::exception_ptr error);
  std::shared_ptr<const CaSigner> signer_;
  Ledger& ledger_;
  Executor executor_;
  const Clock& clock_;
};

}  // namespace signet::issuance
