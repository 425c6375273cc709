#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "ledger_backend.h"
#include "signet/core/error.h"

namespace signet::issuance::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxIdleReaders = 8;
constexpr std::string_view kCertificateColumns =
    "serial, state, profile, client, subject, names, requested_at, not_before, not_after, der, "
    "revoked_at, revocation_reason, revoked_by, client_id";

std::int64_t unix_seconds(TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint from_unix(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

// Reads one row selected with kCertificateColumns.
CertificateRecord read_record(const db::Statement& s) {
  CertificateRecord r;
  r.serial = serial_from_text(s.text(0));
  r.state = state_from_text(s.text(1));
  r.profile = s.text(2);
  r.client = s.text(3);
  r.subject = s.text(4);
  r.names = from_json_array(s.text(5), "names");
  r.requested_at = s.int64(6);
  r.not_before = s.int64(7);
  r.not_after = s.int64(8);
  if (const std::optional<Bytes> der = s.optional_blob(9)) {
    r.certificate = crypto::Certificate::try_from_der(*der);
    if (!r.certificate) throw_corrupt("a certificate that does not parse, serial " + s.text(0));
  }
  if (!s.is_null(10)) {
    r.revoked_at = s.int64(10);
    // A number outside RFC 5280's list (a hand edit): still revoked, for an unspecified reason.
    r.reason = revocation_reason_from_int(s.int64(11)).value_or(RevocationReason::Unspecified);
    r.revoked_by = s.text(12);
  }
  if (!s.is_null(13)) r.client_id = s.text(13);
  return r;
}

std::optional<CertificateRecord> load_record(db::Database& db, const std::string& serial_hex) {
  db::Statement s = db.cached("SELECT " + std::string(kCertificateColumns) +
                               " FROM issued_certificates WHERE serial = ?");
  s.bind(1, serial_hex);
  if (!s.step()) return std::nullopt;
  return read_record(s);
}

RevokedEntry read_revoked(const db::Statement& s) {
  RevokedEntry e;
  e.serial = serial_from_text(s.text(0));
  e.revoked_at = from_unix(s.int64(1));
  e.reason = revocation_reason_from_int(s.int64(2)).value_or(RevocationReason::Unspecified);
  return e;
}

ApiClient read_client(const db::Statement& s) {
  ApiClient c;
  c.name = s.text(0);
  c.id = s.text(1);
  c.profiles = from_json_array(s.text(2), "profiles");
  c.admin = s.int64(3) != 0;
  c.created_at = s.int64(4);
  return c;
}
constexpr std::string_view kClientColumns = "name, id, profiles, admin, created_at";
// The clients that may act: a removed client's row stays, as a tombstone that keeps its id taken.
constexpr std::string_view kLiveClient = "removed_at IS NULL";

void write_audit(db::Database& db, std::int64_t at, std::string_view actor, std::string_view action,
                 std::string_view subject, std::string_view detail) {
  db.cached("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)")
      .bind(1, at)
      .bind(2, actor)
      .bind(3, action)
      .bind(4, subject)
      .bind(5, detail)
      .run();
}

// Revokes the issued, not yet revoked certificate `record` in the write transaction of `db`, with
// the next revocation revision, and audits it; returns the revision. `why` ends the audit detail.
std::int64_t revoke_row(db::Database& db, CertificateRecord& record, RevocationReason reason,
                        const std::string& actor, std::int64_t now, const std::string& why = "") {
  const std::string hex = record.serial.hex();
  std::int64_t revision = 1;
  {
    db::Statement s = db.cached(
        "SELECT coalesce(max(revision), 0) + 1 FROM issued_certificates WHERE revision IS NOT NULL");
    if (s.step()) revision = s.int64(0);
  }
  db.cached(
        "UPDATE issued_certificates SET revoked_at = ?, revocation_reason = ?, revoked_by = ?, "
        "revision = ? WHERE serial = ?")
      .bind(1, now)
      .bind(2, static_cast<std::int64_t>(reason))
      .bind(3, actor)
      .bind(4, revision)
      .bind(5, hex)
      .run();
  write_audit(db, now, actor, "certificate.revoke", hex, revoke_detail(reason, revision, record.subject, why));
  record.revoked_at = now;
  record.reason = reason;
  record.revoked_by = actor;
  return revision;
}

db::GroupCommitter::Work intent_work(Intent intent, std::int64_t requested_at) {
  return [intent = std::move(intent), requested_at](db::Database& db) {
    const std::string serial = intent.serial.hex();
    {
      db::Statement s = db.cached("SELECT 1 FROM issued_certificates WHERE serial = ?");
      s.bind(1, serial);
      if (s.step()) {
        throw serial_taken(serial);
      }
    }
    if (!intent.client_id.empty()) {
      // Checked in the transaction that records the intent: a client removed after it was
      // authenticated gets nothing more.
      db::Statement s =
          db.cached("SELECT 1 FROM api_clients WHERE id = ? AND " + std::string(kLiveClient));
      s.bind(1, intent.client_id);
      if (!s.step()) {
        throw client_removed_before_intent(intent.client);
      }
    }
    db::Statement insert = db.cached(
        "INSERT INTO issued_certificates (serial, state, profile, client, client_id, subject, names, "
        "requested_at, not_before, not_after) VALUES (?, 'intent', ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, serial).bind(2, intent.profile).bind(3, intent.client);
    if (intent.client_id.empty()) {
      insert.bind_null(4);
    } else {
      insert.bind(4, intent.client_id);
    }
    insert.bind(5, intent.subject)
        .bind(6, to_json_array(intent.names))
        .bind(7, requested_at)
        .bind(8, unix_seconds(intent.not_before))
        .bind(9, unix_seconds(intent.not_after))
        .run();
  };
}

db::GroupCommitter::Work issued_work(crypto::Certificate certificate) {
  return [certificate = std::move(certificate)](db::Database& db) {
    const std::string serial = serial_of(certificate).hex();
    {
      db::Statement s = db.cached(
          "SELECT i.state, i.der, i.client, i.client_id IS NOT NULL AND c.id IS NULL "
          "FROM issued_certificates i LEFT JOIN api_clients c ON c.id = i.client_id AND c." +
          std::string(kLiveClient) + " WHERE i.serial = ?");
      s.bind(1, serial);
      if (!s.step()) {
        throw intent_missing(serial);
      }
      if (s.text(0) == state_text(CertificateState::Issued)) {
        if (s.optional_blob(1) == certificate.der()) return;  // a retry of the same write
        throw already_issued(serial);
      }
      // Its client was removed while it was being signed: the removal could not revoke an intent,
      // so the certificate is not stored and never handed out; the intent stays, as one that
      // never reached anyone.
      if (s.int64(3) != 0) {
        throw client_removed_while_signing(s.text(2), serial);
      }
    }
    // From now on CRLs and listings go by the certificate's own validity.
    db.cached(
          "UPDATE issued_certificates SET state = 'issued', der = ?, not_before = ?, not_after = ? "
          "WHERE serial = ?")
        .bind(1, ByteView(certificate.der()))
        .bind(2, unix_seconds(certificate.not_before()))
        .bind(3, unix_seconds(certificate.not_after()))
        .bind(4, serial)
        .run();
  };
}

// The store's own SQLite file: writes through a GroupCommitter, reads on a pool of read-only
// connections (WAL readers never block the writer).
class SqliteLedger final : public LedgerBackend {
 public:
  explicit SqliteLedger(const fs::path& db_path) : path_(db_path), committer_(db_path) {
    Reader reader(*this);
    // The three tables, with the columns of migration 005 (client ids).
    db::Statement s = reader->cached(
        "SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
        "name IN ('issued_certificates', 'api_clients', 'crl_state')) + "
        "(SELECT count(*) FROM pragma_table_info('api_clients') WHERE name = 'removed_at') + "
        "(SELECT count(*) FROM pragma_table_info('issued_certificates') WHERE name = 'client_id')");
    if (!s.step() || s.int64(0) != 5) {
      throw Error(ErrorKind::Unsupported, "schema-too-old",
                  db_path.string() + " has no certificate ledger yet (schema version " +
                      std::to_string(reader->user_version()) +
                      "): open the store once with this version of Signet to migrate it");
    }
    // A ledger moved to PostgreSQL is no longer kept here: using it would issue and revoke behind
    // the shared ledger's back (and CRL numbers would go back).
    db::Statement moved = reader->cached("SELECT detail, at FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1");
    moved.bind(1, kLedgerMovedAction);
    if (moved.step()) {
      throw Error(ErrorKind::Conflict, "ledger-moved",
                  "the ledger of " + db_path.string() + " was moved to the PostgreSQL database " + moved.text(0) +
                      " by `signet ledger migrate`; this copy is no longer kept up to date. Set [database] url in "
                      "signetd.toml (signet reads DATA_DIR/signetd.toml, or --config) to that database");
    }
  }

  void record_intent_async(Intent intent, std::int64_t requested_at, Ledger::Done done) override {
    committer_.submit(intent_work(std::move(intent), requested_at), std::move(done), db::GroupCommitter::Sync::Ordered);
  }
  void record_issued_async(crypto::Certificate certificate, Ledger::Done done) override {
    committer_.submit(issued_work(std::move(certificate)), std::move(done));
  }
  void record_intent(Intent intent, std::int64_t requested_at) override {
    committer_.run(intent_work(std::move(intent), requested_at), db::GroupCommitter::Sync::Ordered);
  }
  void record_issued(const crypto::Certificate& certificate) override { committer_.run(issued_work(certificate)); }

    std::optional<CertificateRecord> find(const std::string& serial_hex) override {
      Reader reader(*this);
      return load_record(*reader, serial_hex);
    }

    ListPage list(const ListQuery& query, const std::string& after) override {
    std::string sql = "SELECT " + std::string(kCertificateColumns) + " FROM issued_certificates WHERE serial > ?";
    if (query.client_id) sql += " AND client_id = ?";
    if (query.revoked_only) sql += " AND revoked_at IS NOT NULL";
    sql += " ORDER BY serial LIMIT ?";

    Reader reader(*this);
    db::Statement s = reader->cached(sql);
    int index = 1;
    s.bind(index++, after);
    if (query.client_id) s.bind(index++, *query.client_id);
    // One row more than asked for tells whether there is a next page.
    s.bind(index, static_cast<std::int64_t>(query.limit) + 1);
    ListPage page;
    std::size_t fetched = 0;
    while (s.step()) {
      ++fetched;
      if (page.items.size() == query.limit) {
        page.next = page.items.back().serial.hex();
        break;
      }
      add_listed(page, [&] { return read_record(s); }, s.text(0));
    }
    // Damaged rows took places in the one row more: there may be more after them.
    if (!page.next && fetched > query.limit && !page.items.empty()) page.next = page.items.back().serial.hex();
    return page;
  }

    RevokeResult revoke(const std::string& hex, RevocationReason reason, const std::string& actor,
                        std::int64_t now) override {
    RevokeResult result;
    committer_.run([&](db::Database& db) {
      std::optional<CertificateRecord> record = load_record(db, hex);
      if (!record || record->state != CertificateState::Issued) {
        throw certificate_not_found(hex);
      }
      if (record->revoked_at) {
        throw already_revoked(hex, *record);
      }
      const std::int64_t revision = revoke_row(db, *record, reason, actor, now);
      result = RevokeResult{std::move(*record), revision};
    });
    return result;
  }

  std::vector<RevokedEntry> revoked(std::int64_t oldest) override {
    Reader reader(*this);
    db::Statement s = reader->cached(
        "SELECT serial, revoked_at, revocation_reason FROM issued_certificates "
        "WHERE revoked_at IS NOT NULL AND not_after >= ? ORDER BY serial");
    s.bind(1, oldest);
    std::vector<RevokedEntry> out;
    while (s.step()) out.push_back(read_revoked(s));
    return out;
  }

  std::vector<RevokedEntry> revoked_since(std::int64_t since_revision) override {
    Reader reader(*this);
    db::Statement s = reader->cached(
        "SELECT serial, revoked_at, revocation_reason FROM issued_certificates "
        "WHERE revision > ? ORDER BY revision");
    s.bind(1, since_revision);
    std::vector<RevokedEntry> out;
    while (s.step()) out.push_back(read_revoked(s));
    return out;
  }

  std::int64_t revocation_revision() override {
    Reader reader(*this);
    db::Statement s = reader->cached(
        "SELECT coalesce(max(revision), 0) FROM issued_certificates WHERE revision IS NOT NULL");
    return s.step() ? s.int64(0) : 0;
  }

  std::int64_t next_crl_number(std::int64_t now) override {
    std::int64_t number = 0;
    committer_.run([&](db::Database& db) {
      db.cached(
            "INSERT INTO crl_state (singleton, crl_number, updated_at) VALUES (1, 1, ?) "
            "ON CONFLICT (singleton) DO UPDATE SET crl_number = crl_number + 1, updated_at = excluded.updated_at")
          .bind(1, now)
          .run();
      db::Statement s = db.cached("SELECT crl_number FROM crl_state WHERE singleton = 1");
      if (!s.step()) throw Error(ErrorKind::Internal, "internal", "crl_state has no row after writing it");
      number = s.int64(0);
    });
    return number;
  }

    void add_client(const ApiClient& c, const Bytes& secret_hash, const std::string& actor) override {
    committer_.run([&](db::Database& db) {
      {
        // Names that differ only in case ("dave", "DAVE") would be one client to a person reading the
        // audit trail or a log.
        db::Statement s = db.cached("SELECT name FROM api_clients WHERE name = ? COLLATE NOCASE AND " +
                                    std::string(kLiveClient));
        s.bind(1, c.name);
        if (s.step()) {
          const std::string existing = s.text(0);
          throw client_exists(existing, c.name);
        }
      }
      db.cached(
            "INSERT INTO api_clients (name, id, secret_sha256, profiles, admin, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)")
          .bind(1, c.name)
          .bind(2, c.id)
          .bind(3, ByteView(secret_hash))
          .bind(4, to_json_array(c.profiles))
          .bind(5, std::int64_t{c.admin ? 1 : 0})
          .bind(6, c.created_at)
          .run();
      write_audit(db, c.created_at, actor, "client.add", c.name, client_add_detail(c));
    });
  }

    RemovedClient remove_client(const std::string& name, const std::string& actor, RevocationReason reason,
                                std::int64_t now) override {
    RemovedClient out;
    committer_.run([&](db::Database& db) {
      out = RemovedClient{};
      {
        // Names are unique ignoring case (clients add and restore see to it); an exact match first
        // for a store written before they were.
        db::Statement s = db.cached("SELECT " + std::string(kClientColumns) +
                                    " FROM api_clients WHERE name = ?1 COLLATE NOCASE AND " + std::string(kLiveClient) +
                                    " ORDER BY name = ?1 DESC LIMIT 1");
        s.bind(1, name);
        if (!s.step()) {
          throw client_not_found(name);
        }
        out.client = read_client(s);
      }
      // The tombstone keeps the id taken for good; the token hash goes, so no token can match it.
      db.cached("UPDATE api_clients SET removed_at = ?, removed_by = ?, secret_sha256 = NULL WHERE id = ?")
          .bind(1, now)
          .bind(2, actor)
          .bind(3, out.client.id)
          .run();
      // Its client certificates end with it: they authenticated this client and nothing else.
      std::vector<CertificateRecord> credentials;
      {
        db::Statement s = db.cached("SELECT " + std::string(kCertificateColumns) +
                                    " FROM issued_certificates WHERE client_id = ? AND state = 'issued' AND "
                                    "revoked_at IS NULL AND not_after >= ? ORDER BY serial");
        s.bind(1, out.client.id).bind(2, now);
        while (s.step()) {
          CertificateRecord r = read_record(s);
          if (r.certificate && is_client_auth_certificate(*r.certificate)) credentials.push_back(std::move(r));
        }
      }
      const std::string why = client_removed_why(name, out.client.id);
      for (CertificateRecord& r : credentials) {
        (void)revoke_row(db, r, reason, actor, now, why);
        out.revoked.push_back(r.serial);
      }
      write_audit(db, now, actor, "client.remove", name, client_remove_detail(out.client, out.revoked));
    });
    return out;
  }

  std::vector<ApiClient> clients() override {
    Reader reader(*this);
    db::Statement s = reader->cached("SELECT " + std::string(kClientColumns) + " FROM api_clients WHERE " +
                                     std::string(kLiveClient) + " ORDER BY name");
    std::vector<ApiClient> out;
    while (s.step()) out.push_back(read_client(s));
    return out;
  }

  std::optional<ApiClient> client(const std::string& name) override {
    Reader reader(*this);
    // Ignoring case, an exact match first (see remove_client).
    db::Statement s = reader->cached("SELECT " + std::string(kClientColumns) +
                                     " FROM api_clients WHERE name = ?1 COLLATE NOCASE AND " + std::string(kLiveClient) +
                                     " ORDER BY name = ?1 DESC LIMIT 1");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return read_client(s);
  }

  std::optional<ApiClient> client_by_id(const std::string& id) override {
    Reader reader(*this);
    db::Statement s = reader->cached("SELECT " + std::string(kClientColumns) + " FROM api_clients WHERE id = ? AND " +
                                     std::string(kLiveClient));
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_client(s);
  }

  std::optional<std::pair<ApiClient, Bytes>> client_secret(const std::string& id) override {
    Reader reader(*this);
    db::Statement s = reader->cached("SELECT " + std::string(kClientColumns) +
                                      ", secret_sha256 FROM api_clients WHERE id = ? AND " + std::string(kLiveClient));
    s.bind(1, id);
    if (!s.step() || s.is_null(5)) return std::nullopt;
    return std::pair{read_client(s), s.blob(5)};
  }

  [[nodiscard]] Ledger::Stats stats() const override { return committer_.stats(); }
  [[nodiscard]] Ledger::Backend kind() const override { return Ledger::Backend::Sqlite; }

  void write(const Ledger::SessionWork& work, db::GroupCommitter::Sync sync) override {
    committer_.run([&](db::Database& db) { work(*db::sqlite_session(db)); }, sync);
  }
  void read(const Ledger::SessionWork& work) override {
    Reader reader(*this);
    work(*db::sqlite_session(*reader));
  }

 private:
  // A read-only connection from the pool, returned to it when the lease ends.
  class Reader {
   public:
    explicit Reader(SqliteLedger& impl) : impl_(impl) {
      {
        std::lock_guard lock(impl_.pool_mutex_);
        if (!impl_.idle_.empty()) {
          db_.emplace(std::move(impl_.idle_.back()));
          impl_.idle_.pop_back();
        }
      }
      if (!db_) db_.emplace(db::Database::open(impl_.path_, db::OpenMode::ReadOnly));
    }
    ~Reader() {
      std::lock_guard lock(impl_.pool_mutex_);
      if (impl_.idle_.size() < kMaxIdleReaders) impl_.idle_.push_back(std::move(*db_));
    }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    db::Database& operator*() { return *db_; }
    db::Database* operator->() { return &*db_; }

   private:
    SqliteLedger& impl_;
    std::optional<db::Database> db_;
  };


  fs::path path_;
  db::GroupCommitter committer_;
  std::mutex pool_mutex_;
  std::vector<db::Database> idle_;
};

}  // namespace

std::unique_ptr<LedgerBackend> open_sqlite_ledger(const fs::path& db_path) {
  return std::make_unique<SqliteLedger>(db_path);
}

}  // namespace signet::issuance::detail
