// Ledger: the certificate database and the API clients. Two backends give the same answers:
//  - SQLite (the default): the store's own file (tables issued_certificates, api_clients,
//    crl_state; migrations 004 and 005). Backups carry them like every other table.
//  - PostgreSQL ([database] url): one database shared by several signetd nodes, each with its own
//    key store. Its schema has numbered migrations of its own (common/sql/ledger_postgres), run
//    by the first node to start, under an advisory lock. The database records the CA it serves
//    (the SHA-256 of its key's SubjectPublicKeyInfo) and refuses any other. Serial numbers are
//    unique by its primary key, revocation revisions are drawn in commit order (a counter row
//    locked by the revoking transaction), CRL numbers come from a sequence, and every commit is
//    synchronous (synchronous_commit = on). The ACME store keeps its tables next to the ledger's, on
//    either backend (write() and read() below).
//
// An API client is its id, never its name: removing a client keeps its row (a tombstone), so the
// id is never drawn again, and a client added later under the same name is another client that
// sees nothing of the first one's. Every authorization compares ids.
//
// Writes go through a GroupCommitter (one writer thread, batched commits, synchronous=FULL); the
// *_async forms call back on the writer thread once the write is committed. Every write is durable
// (on disk) when its call returns or calls back, except an intent: it is committed (it survives a
// crash of the process) and becomes durable with the next durable commit, at the latest its own
// certificate's (GroupCommitter::Sync::Ordered). A power loss before that takes back only intents
// whose certificates were never stored, so never reached anyone. Reads use a small pool of
// read-only connections (WAL readers never block the writer).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/core/clock.h"
#include "signet/crypto/certificate.h"
#include "signet/issuance/names.h"
#include "signet/db/group_commit.h"
#include "signet/db/postgres.h"
#include "signet/db/session.h"
#include "signet/issuance/signer.h"

namespace signet::issuance {

enum class CertificateState {
  Intent,     // serial reserved, about to be signed; never reached a client
  Issued,     // signed and stored; may have reached a client
};

struct Intent {
  Serial serial;
  std::string profile;
  std::string client;             // API client name, or "operator:<user>" for the CLI
  std::string client_id;          // the API client's id (ApiClient::id); "" for the operator
  std::string subject;            // RFC 2253, "" when empty
  std::vector<std::string> names; // "dns:a.example.test", "ip:192.0.2.1", "email:a@example.test"
  TimePoint not_before;
  TimePoint not_after;
};

struct CertificateRecord {
  Serial serial;
  CertificateState state = CertificateState::Intent;
  std::string profile;
  std::string client;             // the name it was issued under (for people)
  std::string client_id;          // whose it is: the API client's id; "" for none (the operator's)
  std::string subject;
  std::vector<std::string> names;
  std::int64_t requested_at = 0;  // unix seconds
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::optional<crypto::Certificate> certificate;  // set when Issued
  std::optional<std::int64_t> revoked_at;
  std::optional<RevocationReason> reason;
  std::string revoked_by;
};

struct ListQuery {
  std::optional<std::string> client_id;  // only the certificates of the client with this id
  bool revoked_only = false;
  std::string after;                   // paging cursor: the last serial hex of the previous page
  std::size_t limit = 100;             // 1..1000
};
struct ListPage {
  std::vector<CertificateRecord> items;  // ordered by serial hex
  std::optional<std::string> next;       // cursor for the next page, when there may be more
  // Rows of this page that cannot be read (edited by hand or damaged: a certificate that does not
  // parse, names that are not JSON): left out of `items`, named here by their serial column
  // (at most 64 characters of it), so that one bad row does not hide the others.
  std::vector<std::string> damaged;
};

struct RevokeResult {
  CertificateRecord record;  // after revocation
  std::int64_t revision = 0; // the revocation's sequence number (for delta CRLs and caches)
};

// An API client. The token is "sgt_<id>_<secret>": id (16 hex) finds the row, the secret is
// compared in constant time against the stored SHA-256 of it. The id is the client's identity: a
// client has one token for life (a new token is a new client), and an id is never reused.
struct ApiClient {
  std::string name;
  std::string id;                     // 16 lowercase hex, random
  std::vector<std::string> profiles;  // profiles it may use ("*" = all)
  bool admin = false;
  std::int64_t created_at = 0;
};
struct NewClient {
  ApiClient client;
  std::string token;  // shown once; only its hash is stored
};
struct RemovedClient {
  ApiClient client;
  std::vector<Serial> revoked;  // its client certificates that the removal revoked
};

// Whether `certificate` can authenticate an API client: it has the extended key usage clientAuth.
// signetd accepts such a certificate only while its client exists, and removing a client revokes
// its certificates that pass this test (and no others: its server certificates stay valid).
[[nodiscard]] bool is_client_auth_certificate(const crypto::Certificate& certificate);

// The CA a PostgreSQL ledger serves, and the node that opens it.
struct LedgerOwner {
  std::string ca_key_sha256;  // hex SHA-256 of the CA key's SubjectPublicKeyInfo
  std::string ca_subject;     // for messages
  std::string node;           // who opens it, for the schema's record ("signetd on HOST")
};

// A CRL as the node that built it published it in a shared (PostgreSQL) ledger.
struct SharedCrl {
  Bytes der;
  std::int64_t number = 0;
  std::int64_t this_update = 0;  // unix seconds
  std::int64_t next_update = 0;
  std::int64_t base_revision = 0;          // the revocation revision the full CRL covers
  std::optional<std::int64_t> base_number;  // a delta CRL's full CRL
};

// What `signet ledger migrate --from-sqlite` moved, counted on both sides before the commit.
struct LedgerImport {
  std::int64_t certificates = 0;  // issued and intents
  std::int64_t revoked = 0;
  std::int64_t clients = 0;       // removed ones (tombstones) included
  std::int64_t audit_rows = 0;    // the ledger's: certificate.* and client.*
  std::int64_t crl_number = 0;    // the last CRL number used; the next one is higher
  std::int64_t revision = 0;      // the last revocation revision
  std::int64_t acme_accounts = 0;  // with their orders, authorizations, challenges and EAB keys
  std::int64_t acme_orders = 0;
};

// Copies the ledger of the key store file `sqlite_path` (issued certificates and intents,
// revocations, API clients with their tombstones and token hashes, their audit rows, the CRL
// number and the revocation revision, the ACME accounts, orders, authorizations, challenges and
// external account binding keys) into the PostgreSQL ledger of `settings`, all in one
// transaction whose counts are compared with the source's before it commits: all or nothing.
// The database is migrated and checked to serve `owner`'s CA first, and must hold no certificate
// and no client (Error(Conflict, "database-not-empty")). An external account binding key that
// has bound no account yet is refused (Error(Conflict, "eab-keys-unused")): it is sealed under this
// store's data key, which the other nodes do not have. The SQLite file is only read.
[[nodiscard]] LedgerImport import_sqlite_ledger(const std::filesystem::path& sqlite_path,
                                                const db::pg::Settings& settings, const LedgerOwner& owner,
                                                const std::string& actor, const Clock& clock = SystemClock::instance());

// What a PostgreSQL ledger database holds, read without writing anything (`signetd --check`).
// Throws the connection's Storage errors, Error(Conflict, "database-of-another-ca") and
// Error(Unsupported, "database-schema-too-new") as opening a Ledger would.
struct LedgerDatabaseState {
  int schema_version = 0;  // 0: empty; the first signetd creates the schema
  int latest_version = 0;  // what this program migrates it to
  bool records_owner = false;  // false: no CA recorded yet (the first signetd records its own)
};
[[nodiscard]] LedgerDatabaseState inspect_ledger_database(const db::pg::Settings& settings, const LedgerOwner& owner);

namespace detail {
class LedgerBackend;
}

class Ledger {
 public:
  enum class Backend { Sqlite, Postgres };
  using Stats = db::GroupCommitter::Stats;

  // Opens the ledger of the store file `db_path` (the store must exist and be migrated).
  explicit Ledger(const std::filesystem::path& db_path, const Clock& clock = SystemClock::instance());
  // Opens the PostgreSQL ledger: connects, migrates the schema under an advisory lock (or refuses a
  // newer one: Error(Unsupported, "database-schema-too-new")), and checks that the database serves
  // `owner`'s CA, recording it in a database that serves none yet (Error(Conflict,
  // "database-of-another-ca") otherwise). Connection errors are Storage errors (signet/db/postgres.h).
  Ledger(const db::pg::Settings& settings, const LedgerOwner& owner, const Clock& clock = SystemClock::instance());
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  using Done = std::function<void(std::exception_ptr)>;

  // Records an intent (state Intent). Error(Conflict, "serial-taken") when the serial exists.
  void record_intent_async(Intent intent, Done done);
  // Stores the signed certificate on its intent row (state Issued). Error(NotFound,
  // "intent-missing") when there is no intent for its serial.
  void record_issued_async(crypto::Certificate certificate, Done done);
  void record_intent(Intent intent);
  void record_issued(const crypto::Certificate& certificate);

  [[nodiscard]] std::optional<CertificateRecord> find(const Serial& serial);
  [[nodiscard]] ListPage list(const ListQuery& query);
  // Error(NotFound, "certificate-not-found") for an unknown serial or an intent, Error(Conflict,
  // "already-revoked") when it is revoked already (nothing changes). Audited in audit_log.
  RevokeResult revoke(const Serial& serial, RevocationReason reason, const std::string& actor);

  // All revoked certificates whose notAfter is not more than `grace` in the past (expired ones
  // leave the CRL after that, as RFC 5280 allows), ordered by serial.
  [[nodiscard]] std::vector<RevokedEntry> revoked(std::chrono::seconds grace = std::chrono::hours(24 * 30));
  // Revocations with revision > `since_revision`.
  [[nodiscard]] std::vector<RevokedEntry> revoked_since(std::int64_t since_revision);
  // The largest revision so far (0 when none).
  [[nodiscard]] std::int64_t revocation_revision();
  // Increments and returns the CRL number (durable before it returns).
  std::int64_t next_crl_number();

  // API clients. add: Error(Conflict, "client-exists"), Error(Malformed, "invalid-name").
  NewClient add_client(const std::string& name, const std::vector<std::string>& profiles, bool admin,
                       const std::string& actor);
  // Removes the client named `name` for good, in one transaction: its token stops working, its row
  // stays as a tombstone (the id is never reused), and every client certificate issued to it that
  // is neither expired nor revoked is revoked with `reason`. Audited: one row per revocation, one
  // for the removal. Error(NotFound, "client-not-found") when no client has that name;
  // Error(Malformed, "invalid-reason") for a reason that is not offered.
  RemovedClient remove_client(const std::string& name, const std::string& actor,
                              RevocationReason reason = RevocationReason::CessationOfOperation);
  // The clients not removed, by name.
  [[nodiscard]] std::vector<ApiClient> clients();
  // The client (not removed) with this name, or with this id; std::nullopt when there is none.
  [[nodiscard]] std::optional<ApiClient> client(const std::string& name);
  [[nodiscard]] std::optional<ApiClient> client_by_id(const std::string& id);
  // The client whose token this is; std::nullopt for an unknown id, a removed client, a wrong
  // secret or a malformed token (the secret comparison is constant-time).
  [[nodiscard]] std::optional<ApiClient> authenticate(std::string_view token);

  [[nodiscard]] Stats commit_stats() const;
  [[nodiscard]] Backend backend() const;

  // CRLs shared by several nodes (PostgreSQL only; on SQLite each process builds its own, and
  // shares_crls() is false). One node at a time is the builder: hold_crl_builder() is true while
  // this process holds the role (a session advisory lock on a connection of its own, so the role
  // passes to another node when this one stops, dies or loses the database); it may be called
  // again to take the role over. The builder publishes what it signs; every node serves the
  // newest published ("full" or "delta"). publish_crl replaces the published one when its number is
  // higher or it was signed later (so a row edited by hand cannot block publishing).
  [[nodiscard]] bool shares_crls() const;
  [[nodiscard]] bool hold_crl_builder();
  // False when the ledger kept a newer one.
  bool publish_crl(const std::string& kind, const SharedCrl& crl);
  [[nodiscard]] std::optional<SharedCrl> newest_crl(const std::string& kind);

  // For the ACME store (signet/acme/store.h), whose tables are next to the ledger's, in the same
  // SQLite file or PostgreSQL database. write() runs `work` in one transaction and blocks until it
  // is committed: on SQLite through this ledger's committer, batched with issuance (on disk when
  // Durable); on PostgreSQL in a pooled transaction, retried whole on a serialization failure or
  // deadlock (so `work` must only write through the session), every commit synchronous. read()
  // runs `work` on a pooled connection, outside a write.
  using SessionWork = std::function<void(db::Session&)>;
  void write(const SessionWork& work, db::GroupCommitter::Sync sync);
  void read(const SessionWork& work);

 private:
  const Clock& clock_;
  std::unique_ptr<detail::LedgerBackend> backend_;
};

}  // namespace signet::issuance
