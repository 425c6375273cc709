// The storage behind issuance::Ledger (signet/issuance/ledger.h). Ledger checks its arguments
// (names, reasons, limits, cursors, tokens), draws ids and secrets and reads the clock; a backend
// stores and finds, each write in one transaction, and enforces what only the database can see at
// once: unique serials, one live client per name, a removed client getting nothing more.
//
// Two backends: SqliteLedger (the store's own file; one writer thread that batches commits) and
// PostgresLedger (a shared database for several signetd nodes). Both give the same answers and
// the same Error codes for the same calls; tests/unit/issuance_ledger_backends_test.cpp runs one
// contract against both.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "signet/core/error.h"
#include "signet/issuance/ledger.h"

namespace signet::issuance::detail {

class LedgerBackend {
 public:
  virtual ~LedgerBackend() = default;

  virtual void record_intent_async(Intent intent, std::int64_t requested_at, Ledger::Done done) = 0;
  virtual void record_issued_async(crypto::Certificate certificate, Ledger::Done done) = 0;
  virtual void record_intent(Intent intent, std::int64_t requested_at) = 0;
  virtual void record_issued(const crypto::Certificate& certificate) = 0;

  virtual std::optional<CertificateRecord> find(const std::string& serial_hex) = 0;
  // `after`: the normalised cursor ("" for the first page); query.limit is checked already.
  virtual ListPage list(const ListQuery& query, const std::string& after) = 0;
  virtual RevokeResult revoke(const std::string& serial_hex, RevocationReason reason, const std::string& actor,
                              std::int64_t now) = 0;
  virtual std::vector<RevokedEntry> revoked(std::int64_t oldest_not_after) = 0;
  virtual std::vector<RevokedEntry> revoked_since(std::int64_t since_revision) = 0;
  virtual std::int64_t revocation_revision() = 0;
  virtual std::int64_t next_crl_number(std::int64_t now) = 0;

  virtual void add_client(const ApiClient& client, const Bytes& secret_sha256, const std::string& actor) = 0;
  virtual RemovedClient remove_client(const std::string& name, const std::string& actor, RevocationReason reason,
                                      std::int64_t now) = 0;
  virtual std::vector<ApiClient> clients() = 0;
  virtual std::optional<ApiClient> client(const std::string& name) = 0;
  virtual std::optional<ApiClient> client_by_id(const std::string& id) = 0;
  // The live client with this id and the SHA-256 of its token's secret.
  virtual std::optional<std::pair<ApiClient, Bytes>> client_secret(const std::string& id) = 0;

  [[nodiscard]] virtual Ledger::Stats stats() const = 0;
  [[nodiscard]] virtual Ledger::Backend kind() const = 0;

  // Shared CRLs (see Ledger); the SQLite backend shares none and is always its own builder.
  [[nodiscard]] virtual bool shares_crls() const { return false; }
  virtual bool hold_crl_builder() { return true; }
  virtual bool publish_crl(const std::string& /*kind*/, const SharedCrl& /*crl*/) { return false; }
  virtual std::optional<SharedCrl> newest_crl(const std::string& /*kind*/) { return std::nullopt; }

  // The ACME store's transactions and reads (Ledger::write, Ledger::read).
  virtual void write(const Ledger::SessionWork& work, db::GroupCommitter::Sync sync) = 0;
  virtual void read(const Ledger::SessionWork& work) = 0;
};

// ---- What both backends share.

// The audit_log action that marks a store whose ledger `signet ledger migrate` moved to
// PostgreSQL; the SQLite backend refuses such a store (Error(Conflict, "ledger-moved")).
inline constexpr std::string_view kLedgerMovedAction = "ledger.moved";

[[noreturn]] void throw_corrupt(const std::string& what);
// Adds the row `read` gives to `page`, or, when it cannot be read (Error "ledger-corrupt"), its
// serial column to page.damaged.
void add_listed(ListPage& page, const std::function<CertificateRecord()>& read, const std::string& serial_column);
std::string to_json_array(const std::vector<std::string>& items);
std::vector<std::string> from_json_array(const std::string& text, const std::string& column);
Serial serial_from_text(const std::string& hex);
// The certificate's serial (the positive INTEGER's magnitude); Error(Malformed, "invalid-serial").
Serial serial_of(const crypto::Certificate& certificate);
std::string_view state_text(CertificateState state);
CertificateState state_from_text(const std::string& text);

// Error texts and audit details, the same from both backends.
Error serial_taken(const std::string& serial_hex);
Error client_removed_before_intent(const std::string& client);
Error intent_missing(const std::string& serial_hex);
Error already_issued(const std::string& serial_hex);
Error client_removed_while_signing(const std::string& client, const std::string& serial_hex);
Error certificate_not_found(const std::string& serial_hex);
Error already_revoked(const std::string& serial_hex, const CertificateRecord& record);
Error client_exists(const std::string& existing, const std::string& asked);
Error client_not_found(const std::string& name);
std::string revoke_detail(RevocationReason reason, std::int64_t revision, const std::string& subject,
                          const std::string& why);
std::string client_add_detail(const ApiClient& client);
std::string client_remove_detail(const ApiClient& client, const std::vector<Serial>& revoked);
std::string client_removed_why(const std::string& name, const std::string& id);

}  // namespace signet::issuance::detail
