// The PostgreSQL ledger backend (see signet/issuance/ledger.h and ledger_backend.h).
//
// Each write is one READ COMMITTED transaction. Where the SQLite backend relies on its single
// writer, this one takes row locks:
//  - an intent or a certificate of an API client locks that client's row (FOR SHARE), and removing
//    a client locks it FOR UPDATE first, so a removal and an issuance to that client happen one
//    after the other, never interleaved: a removed client gets nothing more, and a certificate
//    stored before the removal is revoked by it;
//  - a revocation draws its revision from the revocation_state row (locked until it commits), so
//    revisions commit in the order they are drawn;
//  - a serial is unique by the primary key: two nodes that draw the same one get serial-taken on
//    the second insert, and the issuer draws again.
// The *_async forms run on a few worker threads (one per pooled connection) and call back there.
#include <libpq-fe.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "ledger_backend.h"
#include "signet/core/error.h"
#include "signet/db/migrations.h"
#include "signet/db/sqlite.h"

namespace signet::issuance {
const std::vector<db::Migration>& postgres_ledger_migrations();
}

namespace signet::issuance::detail {

namespace {

using db::pg::Connection;
using db::pg::Param;
using db::pg::Result;

// pg_advisory_lock keys: migrations ("signet" in ASCII), and the CRL builder's role (plus one).
constexpr std::string_view kMigrationLock = "125762122295668";
constexpr std::string_view kCrlBuilderLock = "125762122295669";
constexpr std::string_view kCertificateColumns =
    "serial, state, profile, client, subject, names, requested_at, not_before, not_after, der, "
    "revoked_at, revocation_reason, revoked_by, client_id";
constexpr std::string_view kClientColumns = "name, id, profiles, admin, created_at";

std::int64_t unix_seconds(TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

Param number(std::int64_t v) { return std::to_string(v); }

CertificateRecord read_record(const Result& r, int row) {
  CertificateRecord out;
  out.serial = serial_from_text(r.text(row, 0));
  out.state = state_from_text(r.text(row, 1));
  out.profile = r.text(row, 2);
  out.client = r.text(row, 3);
  out.subject = r.text(row, 4);
  out.names = from_json_array(r.text(row, 5), "names");
  out.requested_at = r.int64(row, 6);
  out.not_before = r.int64(row, 7);
  out.not_after = r.int64(row, 8);
  if (!r.is_null(row, 9)) {
    out.certificate = crypto::Certificate::try_from_der(r.bytes(row, 9));
    if (!out.certificate) throw_corrupt("a certificate that does not parse, serial " + r.text(row, 0));
  }
  if (!r.is_null(row, 10)) {
    out.revoked_at = r.int64(row, 10);
    out.reason = revocation_reason_from_int(r.int64(row, 11)).value_or(RevocationReason::Unspecified);
    out.revoked_by = r.text(row, 12);
  }
  if (!r.is_null(row, 13)) out.client_id = r.text(row, 13);
  return out;
}

std::vector<RevokedEntry> read_revoked(const Result& r) {
  std::vector<RevokedEntry> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    RevokedEntry e;
    e.serial = serial_from_text(r.text(i, 0));
    e.revoked_at = TimePoint(std::chrono::seconds(r.int64(i, 1)));
    e.reason = revocation_reason_from_int(r.int64(i, 2)).value_or(RevocationReason::Unspecified);
    out.push_back(std::move(e));
  }
  return out;
}

ApiClient read_client(const Result& r, int row) {
  ApiClient c;
  c.name = r.text(row, 0);
  c.id = r.text(row, 1);
  c.profiles = from_json_array(r.text(row, 2), "profiles");
  c.admin = r.boolean(row, 3);
  c.created_at = r.int64(row, 4);
  return c;
}

void write_audit(Connection& c, std::int64_t at, const std::string& actor, std::string_view action,
                 const std::string& subject, const std::string& detail) {
  c.exec("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
         {number(at), actor, std::string(action), subject, detail});
}

std::optional<CertificateRecord> load_record(Connection& c, const std::string& serial_hex, bool lock) {
  Result r = c.exec("SELECT " + std::string(kCertificateColumns) + " FROM issued_certificates WHERE serial = $1" +
                        (lock ? " FOR UPDATE" : ""),
                    {serial_hex});
  if (r.rows() == 0) return std::nullopt;
  return read_record(r, 0);
}

// Revokes `record` (issued, not revoked) with the next revision, and audits it.
std::int64_t revoke_row(Connection& c, CertificateRecord& record, RevocationReason reason, const std::string& actor,
                        std::int64_t now, const std::string& why = "") {
  const std::string hex = record.serial.hex();
  const Result next =
      c.exec("UPDATE revocation_state SET revision = revision + 1 WHERE singleton = 1 RETURNING revision");
  if (next.rows() != 1) throw_corrupt("no revocation_state row");
  const std::int64_t revision = next.int64(0, 0);
  c.exec("UPDATE issued_certificates SET revoked_at = $1, revocation_reason = $2, revoked_by = $3, revision = $4 "
         "WHERE serial = $5",
         {number(now), number(static_cast<std::int64_t>(reason)), actor, number(revision), hex});
  write_audit(c, now, actor, "certificate.revoke", hex, revoke_detail(reason, revision, record.subject, why));
  record.revoked_at = now;
  record.reason = reason;
  record.revoked_by = actor;
  return revision;
}

// Is the client with this id live? Locks its row against a concurrent removal until commit.
bool lock_live_client(Connection& c, const std::string& id) {
  return c.exec("SELECT 1 FROM api_clients WHERE id = $1 AND removed_at IS NULL FOR SHARE", {id}).rows() == 1;
}

// A few threads that run queued jobs in order of submission (for the *_async writes).
class Workers {
 public:
  explicit Workers(unsigned count) {
    for (unsigned i = 0; i < count; ++i) threads_.emplace_back([this] { run(); });
  }
  ~Workers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  void submit(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and everything queued is done
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

int latest_schema() {
  const std::vector<db::Migration>& migrations = postgres_ledger_migrations();
  return migrations.empty() ? 0 : migrations.back().version;
}

void check_not_newer(const std::string& where, std::int64_t version) {
  if (version > latest_schema()) {
    throw Error(ErrorKind::Unsupported, "database-schema-too-new",
                "the database at " + where + " has ledger schema version " + std::to_string(version) +
                    ", newer than this Signet knows (" + std::to_string(latest_schema()) +
                    "): a newer signetd migrated it; run that version on this node too");
  }
}

void check_same_ca(const std::string& where, const std::string& recorded_key, const std::string& recorded_subject,
                   const LedgerOwner& owner) {
  if (recorded_key == owner.ca_key_sha256) return;
  throw Error(ErrorKind::Conflict, "database-of-another-ca",
              "the database at " + where + " is the ledger of another CA (" + recorded_subject + ", key SHA-256 " +
                  recorded_key + "), not of this node's CA (" + owner.ca_subject + ", key SHA-256 " +
                  owner.ca_key_sha256 +
                  "): point [database] url at this CA's database, or give this node that CA's key "
                  "(signet backup restore)");
}

class PostgresLedger final : public LedgerBackend {
 public:
  PostgresLedger(const db::pg::Settings& settings, const LedgerOwner& owner, std::int64_t now)
      : pool_(settings), workers_(std::max(1U, settings.pool_size)), node_(owner.node) {
    pool_.with_connection([&](Connection& c) { prepare(c, owner, now); });
  }

  void record_intent_async(Intent intent, std::int64_t requested_at, Ledger::Done done) override {
    workers_.submit([this, intent = std::move(intent), requested_at, done = std::move(done)]() mutable {
      std::exception_ptr error;
      try {
        record_intent(std::move(intent), requested_at);
      } catch (...) {
        error = std::current_exception();
      }
      done(error);
    });
  }

  void record_issued_async(crypto::Certificate certificate, Ledger::Done done) override {
    workers_.submit([this, certificate = std::move(certificate), done = std::move(done)] {
      std::exception_ptr error;
      try {
        record_issued(certificate);
      } catch (...) {
        error = std::current_exception();
      }
      done(error);
    });
  }

  void record_intent(Intent intent, std::int64_t requested_at) override {
    const std::string serial = intent.serial.hex();
    pool_.transaction([&](Connection& c) {
      if (!intent.client_id.empty() && !lock_live_client(c, intent.client_id)) {
        throw client_removed_before_intent(intent.client);
      }
      const Result inserted = c.exec(
          "INSERT INTO issued_certificates (serial, state, profile, client, client_id, subject, names, "
          "requested_at, not_before, not_after) VALUES ($1, 'intent', $2, $3, $4, $5, $6, $7, $8, $9) "
          "ON CONFLICT (serial) DO NOTHING",
          {serial, intent.profile, intent.client, intent.client_id.empty() ? Param{} : Param{intent.client_id},
           intent.subject, to_json_array(intent.names), number(requested_at),
           number(unix_seconds(intent.not_before)), number(unix_seconds(intent.not_after))});
      if (inserted.affected() == 0) throw serial_taken(serial);
    });
  }

  void record_issued(const crypto::Certificate& certificate) override {
    const std::string serial = serial_of(certificate).hex();
    const Param der = db::pg::bytea(certificate.der());
    pool_.transaction([&](Connection& c) {
      // The client's row is locked before the certificate's, in the order remove_client takes them.
      const Result owner = c.exec("SELECT client, client_id FROM issued_certificates WHERE serial = $1", {serial});
      if (owner.rows() == 0) throw intent_missing(serial);
      const bool client_live = owner.is_null(0, 1) || lock_live_client(c, owner.text(0, 1));
      const Result r =
          c.exec("SELECT state, der FROM issued_certificates WHERE serial = $1 FOR UPDATE", {serial});
      if (r.rows() == 0) throw intent_missing(serial);
      if (r.text(0, 0) == state_text(CertificateState::Issued)) {
        if (!r.is_null(0, 1) && r.bytes(0, 1) == certificate.der()) return;  // a retry of the same write
        throw already_issued(serial);
      }
      // Its client was removed while it was being signed: nothing is stored, the intent stays.
      if (!client_live) throw client_removed_while_signing(owner.text(0, 0), serial);
      c.exec("UPDATE issued_certificates SET state = 'issued', der = $1, not_before = $2, not_after = $3 "
             "WHERE serial = $4",
             {der, number(unix_seconds(certificate.not_before())), number(unix_seconds(certificate.not_after())),
              serial});
    });
  }

  std::optional<CertificateRecord> find(const std::string& serial_hex) override {
    std::optional<CertificateRecord> out;
    pool_.with_connection([&](Connection& c) { out = load_record(c, serial_hex, false); });
    return out;
  }

  ListPage list(const ListQuery& query, const std::string& after) override {
    std::string sql = "SELECT " + std::string(kCertificateColumns) + " FROM issued_certificates WHERE serial > $1";
    std::vector<Param> params{after};
    if (query.client_id) {
      params.emplace_back(*query.client_id);
      sql += " AND client_id = $" + std::to_string(params.size());
    }
    if (query.revoked_only) sql += " AND revoked_at IS NOT NULL";
    // One row more than asked for tells whether there is a next page.
    params.push_back(number(static_cast<std::int64_t>(query.limit) + 1));
    sql += " ORDER BY serial LIMIT $" + std::to_string(params.size());
    ListPage page;
    pool_.with_connection([&](Connection& c) {
      const Result r = c.exec(sql, params);
      for (int i = 0; i < r.rows(); ++i) {
        if (page.items.size() == query.limit) {
          page.next = page.items.back().serial.hex();
          break;
        }
        add_listed(page, [&] { return read_record(r, i); }, r.text(i, 0));
      }
      // Damaged rows took places in the one row more: there may be more after them.
      if (!page.next && static_cast<std::size_t>(r.rows()) > query.limit && !page.items.empty()) {
        page.next = page.items.back().serial.hex();
      }
    });
    return page;
  }

  RevokeResult revoke(const std::string& hex, RevocationReason reason, const std::string& actor,
                      std::int64_t now) override {
    RevokeResult result;
    pool_.transaction([&](Connection& c) {
      std::optional<CertificateRecord> record = hex.empty() ? std::nullopt : load_record(c, hex, true);
      if (!record || record->state != CertificateState::Issued) throw certificate_not_found(hex);
      if (record->revoked_at) throw already_revoked(hex, *record);
      const std::int64_t revision = revoke_row(c, *record, reason, actor, now);
      result = RevokeResult{std::move(*record), revision};
    });
    return result;
  }

  std::vector<RevokedEntry> revoked(std::int64_t oldest) override {
    std::vector<RevokedEntry> out;
    pool_.with_connection([&](Connection& c) {
      out = read_revoked(c.exec("SELECT serial, revoked_at, revocation_reason FROM issued_certificates "
                                "WHERE revoked_at IS NOT NULL AND not_after >= $1 ORDER BY serial",
                                {number(oldest)}));
    });
    return out;
  }

  std::vector<RevokedEntry> revoked_since(std::int64_t since_revision) override {
    std::vector<RevokedEntry> out;
    pool_.with_connection([&](Connection& c) {
      out = read_revoked(c.exec("SELECT serial, revoked_at, revocation_reason FROM issued_certificates "
                                "WHERE revision > $1 ORDER BY revision",
                                {number(since_revision)}));
    });
    return out;
  }

  std::int64_t revocation_revision() override {
    std::int64_t out = 0;
    pool_.with_connection([&](Connection& c) {
      const Result r = c.exec("SELECT revision FROM revocation_state WHERE singleton = 1");
      if (r.rows() != 1) throw_corrupt("no revocation_state row");
      out = r.int64(0, 0);
    });
    return out;
  }

  std::int64_t next_crl_number(std::int64_t /*now*/) override {
    std::int64_t out = 0;
    pool_.with_connection([&](Connection& c) { out = c.exec("SELECT nextval('crl_number')").int64(0, 0); });
    return out;
  }

  void add_client(const ApiClient& client, const Bytes& secret_hash, const std::string& actor) override {
    pool_.transaction([&](Connection& c) {
      const Result existing =
          c.exec("SELECT name FROM api_clients WHERE lower(name) = lower($1) AND removed_at IS NULL", {client.name});
      if (existing.rows() > 0) throw client_exists(existing.text(0, 0), client.name);
      try {
        c.exec("INSERT INTO api_clients (name, id, secret_sha256, profiles, admin, created_at) "
               "VALUES ($1, $2, $3, $4, $5, $6)",
               {client.name, client.id, db::pg::bytea(secret_hash), to_json_array(client.profiles),
                client.admin ? "true" : "false", number(client.created_at)});
      } catch (const Error& e) {
        // Another node added the same name at the same moment.
        if (e.code() == "unique-violation") throw client_exists(client.name, client.name);
        throw;
      }
      write_audit(c, client.created_at, actor, "client.add", client.name, client_add_detail(client));
    });
  }

  RemovedClient remove_client(const std::string& name, const std::string& actor, RevocationReason reason,
                              std::int64_t now) override {
    RemovedClient out;
    pool_.transaction([&](Connection& c) {
      out = RemovedClient{};
      const Result found = c.exec("SELECT " + std::string(kClientColumns) +
                                      " FROM api_clients WHERE lower(name) = lower($1) AND removed_at IS NULL "
                                      "ORDER BY name = $1 DESC LIMIT 1 FOR UPDATE",
                                  {name});
      if (found.rows() == 0) throw client_not_found(name);
      out.client = read_client(found, 0);
      c.exec("UPDATE api_clients SET removed_at = $1, removed_by = $2, secret_sha256 = NULL WHERE id = $3",
             {number(now), actor, out.client.id});
      const Result certificates = c.exec("SELECT " + std::string(kCertificateColumns) +
                                             " FROM issued_certificates WHERE client_id = $1 AND state = 'issued' AND "
                                             "revoked_at IS NULL AND not_after >= $2 ORDER BY serial FOR UPDATE",
                                         {out.client.id, number(now)});
      const std::string why = client_removed_why(name, out.client.id);
      for (int i = 0; i < certificates.rows(); ++i) {
        CertificateRecord r = read_record(certificates, i);
        if (!r.certificate || !is_client_auth_certificate(*r.certificate)) continue;
        (void)revoke_row(c, r, reason, actor, now, why);
        out.revoked.push_back(r.serial);
      }
      write_audit(c, now, actor, "client.remove", name, client_remove_detail(out.client, out.revoked));
    });
    return out;
  }

  std::vector<ApiClient> clients() override {
    std::vector<ApiClient> out;
    pool_.with_connection([&](Connection& c) {
      const Result r = c.exec("SELECT " + std::string(kClientColumns) +
                              " FROM api_clients WHERE removed_at IS NULL ORDER BY name COLLATE \"C\"");
      for (int i = 0; i < r.rows(); ++i) out.push_back(read_client(r, i));
    });
    return out;
  }

  std::optional<ApiClient> client(const std::string& name) override {
    std::optional<ApiClient> out;
    pool_.with_connection([&](Connection& c) {
      const Result r = c.exec("SELECT " + std::string(kClientColumns) +
                                  " FROM api_clients WHERE lower(name) = lower($1) AND removed_at IS NULL "
                                  "ORDER BY name = $1 DESC LIMIT 1",
                              {name});
      if (r.rows() == 1) out = read_client(r, 0);
    });
    return out;
  }

  std::optional<ApiClient> client_by_id(const std::string& id) override {
    std::optional<ApiClient> out;
    pool_.with_connection([&](Connection& c) {
      const Result r = c.exec(
          "SELECT " + std::string(kClientColumns) + " FROM api_clients WHERE id = $1 AND removed_at IS NULL", {id});
      if (r.rows() == 1) out = read_client(r, 0);
    });
    return out;
  }

  std::optional<std::pair<ApiClient, Bytes>> client_secret(const std::string& id) override {
    std::optional<std::pair<ApiClient, Bytes>> out;
    pool_.with_connection([&](Connection& c) {
      const Result r = c.exec("SELECT " + std::string(kClientColumns) +
                                  ", secret_sha256 FROM api_clients WHERE id = $1 AND removed_at IS NULL",
                              {id});
      if (r.rows() == 1 && !r.is_null(0, 5)) out = std::pair{read_client(r, 0), r.bytes(0, 5)};
    });
    return out;
  }

  [[nodiscard]] Ledger::Stats stats() const override {
    const db::pg::Pool::Stats s = pool_.stats();
    Ledger::Stats out;
    out.commits = s.commits;
    out.synced_commits = s.commits;  // synchronous_commit = on: every commit is durable
    out.units = s.commits + s.rollbacks;
    out.failed_units = s.rollbacks;
    return out;
  }
  [[nodiscard]] Ledger::Backend kind() const override { return Ledger::Backend::Postgres; }

  LedgerImport import_from(db::Database& source, const std::string& actor, std::int64_t now);

  [[nodiscard]] bool shares_crls() const override { return true; }

  bool hold_crl_builder() override {
    std::lock_guard lock(builder_mutex_);
    try {
      if (!builder_ || !builder_->healthy()) {
        builder_.reset();
        holds_builder_ = false;  // a session that ended took the lock with it
        builder_.emplace(Connection::open(pool_.settings()));
      }
      if (holds_builder_) {
        (void)builder_->exec("SELECT 1");  // still connected means still holding it
        return true;
      }
      holds_builder_ = builder_->exec("SELECT pg_try_advisory_lock($1)", {std::string(kCrlBuilderLock)}).boolean(0, 0);
      return holds_builder_;
    } catch (const Error&) {
      builder_.reset();
      holds_builder_ = false;  // asked again on the next call
      return false;
    }
  }

  bool publish_crl(const std::string& kind, const SharedCrl& crl) override {
    bool written = false;
    pool_.with_connection([&](Connection& c) {
      written = c.exec("INSERT INTO published_crls (kind, number, der, this_update, next_update, base_revision, base_number, "
             "published_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind) DO UPDATE SET "
             "number = excluded.number, der = excluded.der, this_update = excluded.this_update, "
             "next_update = excluded.next_update, base_revision = excluded.base_revision, "
             "base_number = excluded.base_number, published_by = excluded.published_by "
             "WHERE published_crls.number < excluded.number OR published_crls.this_update < excluded.this_update",
             {kind, number(crl.number), db::pg::bytea(crl.der), number(crl.this_update), number(crl.next_update),
              number(crl.base_revision), crl.base_number ? number(*crl.base_number) : Param{}, node_})
                    .affected() == 1;
    });
    return written;
  }

  std::optional<SharedCrl> newest_crl(const std::string& kind) override {
    std::optional<SharedCrl> out;
    pool_.with_connection([&](Connection& c) {
      const Result r = c.exec("SELECT number, der, this_update, next_update, base_revision, base_number "
                              "FROM published_crls WHERE kind = $1",
                              {kind});
      if (r.rows() == 0) return;
      SharedCrl crl;
      crl.number = r.int64(0, 0);
      crl.der = r.bytes(0, 1);
      crl.this_update = r.int64(0, 2);
      crl.next_update = r.int64(0, 3);
      crl.base_revision = r.int64(0, 4);
      if (!r.is_null(0, 5)) crl.base_number = r.int64(0, 5);
      out = std::move(crl);
    });
    return out;
  }

  void write(const Ledger::SessionWork& work, db::GroupCommitter::Sync) override {
    pool_.transaction([&](Connection& c) { work(*db::postgres_session(c)); });
  }
  void read(const Ledger::SessionWork& work) override {
    pool_.with_connection([&](Connection& c) { work(*db::postgres_session(c)); });
  }

 private:

  // Migrates the schema under the advisory lock and checks (or records) the CA it serves.
  void prepare(Connection& c, const LedgerOwner& owner, std::int64_t now) {
    c.exec("SELECT pg_advisory_lock($1)", {std::string(kMigrationLock)});
    try {
      migrate(c, owner, now);
      check_owner(c, owner, now);
    } catch (...) {
      if (c.healthy()) {
        try {
          c.exec("ROLLBACK");
        } catch (const Error&) {
        }
        try {
          c.exec("SELECT pg_advisory_unlock($1)", {std::string(kMigrationLock)});
        } catch (const Error&) {
        }
      }
      throw;
    }
    c.exec("SELECT pg_advisory_unlock($1)", {std::string(kMigrationLock)});
  }

  void migrate(Connection& c, const LedgerOwner& owner, std::int64_t now) {
    c.exec("CREATE TABLE IF NOT EXISTS signet_schema (singleton integer PRIMARY KEY CHECK (singleton = 1), "
           "version integer NOT NULL, updated_at bigint NOT NULL, updated_by text NOT NULL)");
    const Result r = c.exec("SELECT version FROM signet_schema WHERE singleton = 1");
    const std::int64_t version = r.rows() == 1 ? r.int64(0, 0) : 0;
    const std::vector<db::Migration>& migrations = postgres_ledger_migrations();
    check_not_newer(pool_.description(), version);
    for (const db::Migration& m : migrations) {
      if (m.version <= version) continue;
      c.exec("BEGIN");
      c.exec_script(m.sql);
      c.exec("INSERT INTO signet_schema (singleton, version, updated_at, updated_by) VALUES (1, $1, $2, $3) "
             "ON CONFLICT (singleton) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, "
             "updated_by = excluded.updated_by",
             {number(m.version), number(now), owner.node});
      c.exec("COMMIT");
    }
  }

  void check_owner(Connection& c, const LedgerOwner& owner, std::int64_t now) {
    const Result r = c.exec("SELECT ca_key_sha256, ca_subject FROM signet_ledger WHERE singleton = 1");
    if (r.rows() == 0) {
      c.exec("INSERT INTO signet_ledger (singleton, ca_key_sha256, ca_subject, created_at, created_by) "
             "VALUES (1, $1, $2, $3, $4)",
             {owner.ca_key_sha256, owner.ca_subject, number(now), owner.node});
      return;
    }
    check_same_ca(pool_.description(), r.text(0, 0), r.text(0, 1), owner);
  }

  db::pg::Pool pool_;
  Workers workers_;
  std::string node_;
  std::mutex builder_mutex_;
  std::optional<Connection> builder_;  // a session of its own for the CRL builder's advisory lock
  bool holds_builder_ = false;
};

std::int64_t count(db::Database& db, const std::string& sql) {
  db::Statement s = db.prepare(sql);
  return s.step() ? s.int64(0) : 0;
}

std::int64_t count(Connection& c, const std::string& sql) { return c.exec(sql).int64(0, 0); }

Param optional_text(const db::Statement& s, int column) {
  return s.is_null(column) ? Param{} : Param{s.text(column)};
}

Param optional_number(const db::Statement& s, int column) {
  return s.is_null(column) ? Param{} : Param{std::to_string(s.int64(column))};
}

// The ACME tables, with their columns' kinds ('t' text, 'i' integer, 'b' bytes; any may be NULL),
// copied as they are, in the order their rows were inserted.
struct AcmeTable {
  std::string_view name;
  std::string_view columns;
  std::string_view kinds;
};
constexpr AcmeTable kAcmeTables[] = {
    {"acme_accounts", "id, thumbprint, jwk, status, contact, eab_kid, created_at, created_from", "ttttttit"},
    {"acme_orders", "id, account_id, status, identifiers, authorizations, not_after, expires, error, serial, created_at",
     "tttttiitti"},
    {"acme_authorizations", "id, account_id, identifier_type, identifier_value, wildcard, status, expires, created_at",
     "ttttitii"},
    {"acme_challenges", "id, authorization_id, type, token, status, validated_at, error, address", "tttttitt"},
    {"acme_eab_keys", "kid, name, hmac_sealed, profile, created_at, removed_at, account_id", "ttbtiit"},
};

void copy_table(db::Database& source, Connection& c, const AcmeTable& table) {
  std::string placeholders;
  for (std::size_t i = 1; i <= table.kinds.size(); ++i) placeholders += (i > 1 ? ", $" : "$") + std::to_string(i);
  const std::string insert =
      "INSERT INTO " + std::string(table.name) + " (" + std::string(table.columns) + ") VALUES (" + placeholders + ")";
  db::Statement s =
      source.prepare("SELECT " + std::string(table.columns) + " FROM " + std::string(table.name) + " ORDER BY rowid");
  std::vector<Param> params(table.kinds.size());
  while (s.step()) {
    for (std::size_t i = 0; i < table.kinds.size(); ++i) {
      const int column = static_cast<int>(i);
      if (s.is_null(column)) {
        params[i].reset();
      } else if (table.kinds[i] == 'i') {
        params[i] = std::to_string(s.int64(column));
      } else if (table.kinds[i] == 'b') {
        params[i] = db::pg::bytea(s.blob(column));
      } else {
        params[i] = s.text(column);
      }
    }
    c.exec(insert, params);
  }
}

// External account binding keys not used yet are sealed under this store's data key, which the
// other nodes do not have: they would stop working. Used and removed ones move (the accounts they
// bound keep their profile).
void refuse_unbound_eab_keys(db::Database& source) {
  db::Statement s = source.prepare(
      "SELECT kid, name FROM acme_eab_keys WHERE account_id IS NULL AND removed_at IS NULL ORDER BY created_at, kid");
  std::string keys;
  int n = 0;
  while (s.step()) {
    if (n++ < 5) keys += (keys.empty() ? "" : ", ") + s.text(0) + " (" + s.text(1) + ")";
  }
  if (n == 0) return;
  throw Error(ErrorKind::Conflict, "eab-keys-unused",
              std::to_string(n) + " external account binding key(s) have bound no account yet: " + keys +
                  (n > 5 ? ", ..." : "") +
                  ". They are sealed under this node's key store and would not work on the other nodes; let their "
                  "ACME clients create their accounts first, or remove them (`signet acme eab remove KID`). Nothing "
                  "was moved");
}

LedgerImport PostgresLedger::import_from(db::Database& source, const std::string& actor, std::int64_t now) {
  constexpr std::string_view kLedgerAudit =
      "(action LIKE 'certificate.%' OR action LIKE 'client.%' OR action LIKE 'acme.%')";
  refuse_unbound_eab_keys(source);
  LedgerImport expected;
  expected.certificates = count(source, "SELECT count(*) FROM issued_certificates");
  expected.revoked = count(source, "SELECT count(*) FROM issued_certificates WHERE revoked_at IS NOT NULL");
  expected.clients = count(source, "SELECT count(*) FROM api_clients");
  expected.audit_rows = count(source, "SELECT count(*) FROM audit_log WHERE " + std::string(kLedgerAudit));
  expected.crl_number = count(source, "SELECT coalesce(max(crl_number), 0) FROM crl_state");
  expected.revision = count(source, "SELECT coalesce(max(revision), 0) FROM issued_certificates");
  std::vector<std::int64_t> acme_expected;
  for (const AcmeTable& t : kAcmeTables) acme_expected.push_back(count(source, "SELECT count(*) FROM " + std::string(t.name)));
  expected.acme_accounts = acme_expected[0];
  expected.acme_orders = acme_expected[1];

  LedgerImport got;
  pool_.transaction([&](Connection& c) {
    // Nobody writes while this runs: the other nodes wait, and a node that starts waits too.
    c.exec("LOCK TABLE issued_certificates, api_clients, revocation_state, acme_accounts, acme_eab_keys IN EXCLUSIVE "
           "MODE");
    const std::int64_t certificates = count(c, "SELECT count(*) FROM issued_certificates");
    const std::int64_t clients = count(c, "SELECT count(*) FROM api_clients");
    const std::int64_t accounts = count(c, "SELECT count(*) FROM acme_accounts");
    if (certificates != 0 || clients != 0 || accounts != 0) {
      throw Error(ErrorKind::Conflict, "database-not-empty",
                  "the database at " + pool_.description() + " holds " + std::to_string(certificates) +
                      " certificates, " + std::to_string(clients) + " API clients and " + std::to_string(accounts) +
                      " ACME accounts already; a ledger is moved only into an empty one (nothing was changed)");
    }
    {
      db::Statement s = source.prepare(
          "SELECT serial, state, profile, client, client_id, subject, names, requested_at, not_before, not_after, der, "
          "revoked_at, revocation_reason, revoked_by, revision FROM issued_certificates ORDER BY serial");
      while (s.step()) {
        const std::optional<Bytes> der = s.optional_blob(10);
        c.exec("INSERT INTO issued_certificates (serial, state, profile, client, client_id, subject, names, "
               "requested_at, not_before, not_after, der, revoked_at, revocation_reason, revoked_by, revision) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
               {s.text(0), s.text(1), s.text(2), s.text(3), optional_text(s, 4), s.text(5), s.text(6),
                std::to_string(s.int64(7)), std::to_string(s.int64(8)), std::to_string(s.int64(9)),
                der ? db::pg::bytea(*der) : Param{}, optional_number(s, 11), optional_number(s, 12),
                optional_text(s, 13), optional_number(s, 14)});
      }
    }
    {
      db::Statement s = source.prepare(
          "SELECT id, name, secret_sha256, profiles, admin, created_at, removed_at, removed_by FROM api_clients "
          "ORDER BY created_at, id");
      while (s.step()) {
        const std::optional<Bytes> secret = s.optional_blob(2);
        c.exec("INSERT INTO api_clients (id, name, secret_sha256, profiles, admin, created_at, removed_at, removed_by) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
               {s.text(0), s.text(1), secret ? db::pg::bytea(*secret) : Param{}, s.text(3),
                s.int64(4) != 0 ? "true" : "false", std::to_string(s.int64(5)), optional_number(s, 6),
                optional_text(s, 7)});
      }
    }
    {
      db::Statement s = source.prepare("SELECT at, actor, action, subject, detail FROM audit_log WHERE " +
                                       std::string(kLedgerAudit) + " ORDER BY id");
      while (s.step()) write_audit(c, s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4));
    }
    for (const AcmeTable& t : kAcmeTables) copy_table(source, c, t);
    c.exec("UPDATE revocation_state SET revision = $1 WHERE singleton = 1", {number(expected.revision)});
    // The next CRL number continues the store's: setval(n, true) makes nextval return n + 1.
    if (expected.crl_number > 0) c.exec("SELECT setval('crl_number', $1, true)", {number(expected.crl_number)});

    got.certificates = count(c, "SELECT count(*) FROM issued_certificates");
    got.revoked = count(c, "SELECT count(*) FROM issued_certificates WHERE revoked_at IS NOT NULL");
    got.clients = count(c, "SELECT count(*) FROM api_clients");
    got.audit_rows = count(c, "SELECT count(*) FROM audit_log WHERE " + std::string(kLedgerAudit));
    got.crl_number = expected.crl_number;
    if (expected.crl_number > 0) {
      got.crl_number = c.exec("SELECT last_value FROM crl_number").int64(0, 0);
    }
    got.revision = count(c, "SELECT revision FROM revocation_state WHERE singleton = 1");
    std::vector<std::int64_t> acme_got;
    for (const AcmeTable& t : kAcmeTables) acme_got.push_back(count(c, "SELECT count(*) FROM " + std::string(t.name)));
    got.acme_accounts = acme_got[0];
    got.acme_orders = acme_got[1];
    const auto differs = [](const LedgerImport& a, const LedgerImport& b) {
      return a.certificates != b.certificates || a.revoked != b.revoked || a.clients != b.clients ||
             a.audit_rows != b.audit_rows || a.crl_number != b.crl_number || a.revision != b.revision;
    };
    if (differs(expected, got) || acme_expected != acme_got) {
      throw Error(ErrorKind::Integrity, "ledger-migration-mismatch",
                  "the database would hold " + std::to_string(got.certificates) + " certificates, " +
                      std::to_string(got.clients) + " clients and " + std::to_string(got.audit_rows) +
                      " audit rows, the store has " + std::to_string(expected.certificates) + ", " +
                      std::to_string(expected.clients) + " and " + std::to_string(expected.audit_rows) +
                      " (ACME accounts " + std::to_string(got.acme_accounts) + " for " +
                      std::to_string(expected.acme_accounts) + ", orders " + std::to_string(got.acme_orders) +
                      " for " + std::to_string(expected.acme_orders) + "); nothing was committed");
    }
    write_audit(c, now, actor, "ledger.migrate", "from-sqlite",
                std::to_string(got.certificates) + " certificates (" + std::to_string(got.revoked) + " revoked), " +
                    std::to_string(got.clients) + " clients, " + std::to_string(got.audit_rows) +
                    " audit rows, CRL number " + std::to_string(got.crl_number) + ", revision " +
                    std::to_string(got.revision) + ", " + std::to_string(got.acme_accounts) + " ACME accounts, " +
                    std::to_string(got.acme_orders) + " ACME orders");
  });
  return got;
}

}  // namespace

std::unique_ptr<LedgerBackend> open_postgres_ledger(const db::pg::Settings& settings, const LedgerOwner& owner,
                                                    std::int64_t now) {
  if (owner.ca_key_sha256.size() != 64) {
    throw Error(ErrorKind::Internal, "internal", "a PostgreSQL ledger needs the CA key's SHA-256");
  }
  return std::make_unique<PostgresLedger>(settings, owner, now);
}

}  // namespace signet::issuance::detail

namespace signet::issuance {

LedgerDatabaseState inspect_ledger_database(const db::pg::Settings& settings, const LedgerOwner& owner) {
  using detail::Result;
  db::pg::Connection c = db::pg::Connection::open(settings);
  const std::string where = db::pg::describe(settings.url);
  LedgerDatabaseState out;
  out.latest_version = detail::latest_schema();
  if (c.exec("SELECT to_regclass('signet_schema') IS NOT NULL").boolean(0, 0)) {
    const Result v = c.exec("SELECT version FROM signet_schema WHERE singleton = 1");
    if (v.rows() == 1) out.schema_version = static_cast<int>(v.int64(0, 0));
  }
  detail::check_not_newer(where, out.schema_version);
  if (c.exec("SELECT to_regclass('signet_ledger') IS NOT NULL").boolean(0, 0)) {
    const Result r = c.exec("SELECT ca_key_sha256, ca_subject FROM signet_ledger WHERE singleton = 1");
    if (r.rows() == 1) {
      detail::check_same_ca(where, r.text(0, 0), r.text(0, 1), owner);
      out.records_owner = true;
    }
  }
  return out;
}

LedgerImport import_sqlite_ledger(const std::filesystem::path& sqlite_path, const db::pg::Settings& settings,
                                  const LedgerOwner& owner, const std::string& actor, const Clock& clock) {
  db::Database source = db::Database::open(sqlite_path, db::OpenMode::ReadWrite);
  // One write transaction on the store: a consistent snapshot that nothing changes meanwhile, and
  // the mark that the ledger moved, committed right after the database's commit.
  source.exec("BEGIN IMMEDIATE");
  try {
    detail::PostgresLedger target(settings, owner, clock.unix_seconds());
    LedgerImport out = target.import_from(source, actor, clock.unix_seconds());
    source.cached("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)")
        .bind(1, clock.unix_seconds())
        .bind(2, actor)
        .bind(3, std::string_view(detail::kLedgerMovedAction))
        .bind(4, std::string_view("postgresql"))
        .bind(5, db::pg::describe(settings.url))
        .run();
    try {
      source.exec("COMMIT");
    } catch (const Error& e) {
      throw Error(e.kind(), e.code(),
                  std::string("the ledger is in the database now, but marking the key store's copy as moved failed (") +
                      e.what() + "); keep [database] url set, and do not run signetd without it");
    }
    return out;
  } catch (...) {
    try {
      source.exec("ROLLBACK");
    } catch (const Error&) {
    }
    throw;
  }
}

}  // namespace signet::issuance
