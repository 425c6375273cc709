// AcmeStore: ACME accounts, orders, authorizations and challenges next to the certificate ledger,
// on the ledger's backend: in the key store's SQLite file (migration 006), where a certificate and
// the order that asked for it live and travel (backup, restore) together; or in the PostgreSQL
// database several signetd nodes share (its migration 003), where any node answers for any
// account, and the nodes share their replay nonces (shared_nonce_key, redeem_nonce).
//
// Durability: an account is on disk before its creation is answered (a client keeps its URL for
// years). Orders, authorizations and challenges are committed before the call returns (they
// survive a crash or restart of signetd) and reach the disk with the next durable commit, at the
// latest the certificate's: a power loss may take back an order no certificate came of, which the
// client then starts again.
//
// On PostgreSQL every write is committed synchronously. Checks that span two statements are made
// safe for several nodes by the database: two accounts for one key meet the key's unique
// constraint (the second creation returns the first account), and an order begins finalizing on
// one node only (a conditional update).
//
// Every call blocks on the database: signetd calls them off its serving threads.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "signet/acme/order.h"
#include "signet/core/bytes.h"
#include "signet/core/clock.h"
#include "signet/issuance/ledger.h"

namespace signet::acme {

// An external account binding key (RFC 8555 7.3.4), made by `signet acme eab add`. The HMAC key
// is only ever here sealed: crypto::aead_seal under the key store's derive_secret("acme eab"),
// with the kid as AAD. Sealing and unsealing are the callers' (signetd, the CLI), which hold the
// key store; this store keeps the sealed bytes.
struct ExternalAccountKey {
  std::string kid;                        // what the client sends as the binding's "kid"
  std::string name;                       // what the operator called it
  Bytes hmac_sealed;
  std::string profile;                    // the profile the bound account's orders use
  std::int64_t created_at = 0;            // set by add_eab_key
  std::optional<std::int64_t> removed_at;
  std::string account_id;                 // the account it bound; "" while unused
};

// The HKDF purpose (KeyStore::derive_secret) of the key that seals EAB HMAC keys.
inline constexpr std::string_view kEabSealPurpose = "acme eab";

struct NewOrder {
  std::string account_id;
  std::vector<Identifier> identifiers;  // checked, normalized, unique
  std::optional<std::int64_t> not_after;
};

class AcmeStore {
 public:
  explicit AcmeStore(issuance::Ledger& ledger, const Clock& clock = SystemClock::instance());

  // ---- accounts
  // Creates the account, unless one has this key already: then that one is returned, with false.
  // With account.eab_kid set, the EAB key is bound to the new account in the same write: a key
  // binds one account only, so a key that is unknown, removed or bound already gives
  // Error(Unauthorized, "unauthorized") and no account is created.
  std::pair<Account, bool> create_account(Account account);
  [[nodiscard]] std::optional<Account> account(const std::string& id);
  [[nodiscard]] std::optional<Account> account_by_thumbprint(const std::string& thumbprint);
  [[nodiscard]] std::vector<Account> accounts();
  void update_contact(const std::string& id, const std::vector<std::string>& contact);
  // Deactivates the account and its pending authorizations (RFC 8555 7.3.6). With an `actor`
  // (the operator's `signet acme accounts deactivate`), audited in audit_log in the same write.
  // Error(NotFound, "acme-account-not-found") when there is no such account,
  // Error(Conflict, "acme-account-deactivated") when it is deactivated already (nothing changes).
  void deactivate_account(const std::string& id, const std::string& actor = {});
  // Replaces the account's key. Error(Conflict, "conflict") naming the account that has `jwk`
  // already (RFC 8555 7.3.5).
  void change_key(const std::string& id, const nlohmann::json& jwk, const std::string& thumbprint);

  // ---- external account binding keys
  // Stores a new key (created_at is set here), audited as acme.eab.add by `actor` (the name and
  // profile, never the key). Error(Conflict, "eab-key-exists") when the kid is taken;
  // Error(Unsupported, "eab-needs-sqlite") on a PostgreSQL ledger, where the other nodes could not
  // unseal it (each node's key store has its own data key).
  void add_eab_key(ExternalAccountKey key, const std::string& actor);
  // The key with this kid, unless removed (include_removed: removed ones too); std::nullopt else.
  [[nodiscard]] std::optional<ExternalAccountKey> eab_key(const std::string& kid, bool include_removed = false);
  // Every key, removed ones too, oldest first.
  [[nodiscard]] std::vector<ExternalAccountKey> eab_keys();
  // Marks the key removed (no new account binds with it; the account it bound, if any, stays),
  // audited as acme.eab.remove. Error(NotFound, "eab-key-not-found") for an unknown or removed kid.
  void remove_eab_key(const std::string& kid, const std::string& actor);

  // ---- orders
  // Creates the order and, for each identifier, reuses the account's valid authorization that has a
  // day left, or creates a pending one with its challenges.
  Order create_order(const NewOrder& request);
  [[nodiscard]] std::optional<Order> order(const std::string& id);
  // The account's orders that have not expired, newest first, at most `limit`.
  [[nodiscard]] std::vector<std::string> order_ids(const std::string& account_id, std::size_t limit);
  // The order's authorizations with their challenges, in the order's order.
  [[nodiscard]] std::vector<Authorization> authorizations_of(const Order& order);
  [[nodiscard]] std::optional<Authorization> authorization(const std::string& id);
  // The challenge and its authorization.
  [[nodiscard]] std::optional<std::pair<Challenge, Authorization>> challenge(const std::string& id);

  // Moves the challenge from pending to processing, if its authorization is still pending and
  // current; false when it was not pending (answered as it is, never validated twice at once).
  bool start_challenge(const std::string& id);
  // Records a validation: the challenge valid or invalid (with the problem), and its authorization
  // with it (valid for kValidAuthzLifetime from now).
  void finish_challenge(const std::string& id, bool valid, const nlohmann::json& error, const std::string& address);
  // The challenges left processing by a signetd that stopped, to validate again.
  [[nodiscard]] std::vector<std::string> processing_challenges();
  // Deactivates an authorization (RFC 8555 7.5.2); false when it was neither pending nor valid.
  bool deactivate_authorization(const std::string& id);

  // Moves a ready order to processing; false when it is not ready (now).
  bool begin_finalize(const std::string& order_id);
  // After finalization: back to ready (the CSR was refused), valid with its certificate, or invalid.
  void finalize_refused(const std::string& order_id);
  void order_valid(const std::string& order_id, const std::string& serial);
  void order_invalid(const std::string& order_id, const nlohmann::json& error);
  // Stores a status the clock or the authorizations changed (pending -> ready or invalid).
  void settle_order(const std::string& order_id, OrderStatus status);

  // ---- limits and housekeeping
  [[nodiscard]] std::int64_t pending_authorizations(const std::string& account_id);
  [[nodiscard]] std::int64_t orders_since(const std::string& account_id, std::int64_t since);
  // Deletes orders, authorizations and challenges that expired more than `keep` seconds ago
  // (a valid order's certificate stays in the ledger). Returns how many orders went.
  // On PostgreSQL, the expired redeemed nonces go too.
  std::int64_t prune(std::int64_t keep = 24 * 3600);

  // ---- nonces shared by several nodes (PostgreSQL ledger only)
  // True on PostgreSQL: nonces are authenticated with shared_nonce_key() and redeemed in the
  // database, so that one node takes a nonce another issued, and only once across all of them.
  [[nodiscard]] bool shared() const;
  // The key the nodes' nonces are authenticated with: drawn by the first node to ask, read by the
  // others. Error(Unsupported) on SQLite.
  [[nodiscard]] SecretBytes shared_nonce_key();
  // Records `nonce` as used until `expires`; false when it was used already (on any node).
  [[nodiscard]] bool redeem_nonce(ByteView nonce, std::int64_t expires);

 private:
  issuance::Ledger& ledger_;
  const Clock& clock_;
};

}  // namespace signet::acme
