#include "signet/issuance/ledger.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "signet/core/error.h"
#include "signet/crypto/handles.h"
#include "signet/crypto/primitives.h"

namespace signet::issuance {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxIdleReaders = 8;
constexpr std::size_t kMaxListLimit = 1000;
constexpr std::size_t kClientIdBytes = 8;
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kSecretChars = 43;  // base64url of 32 bytes, no padding
constexpr std::string_view kTokenPrefix = "sgt_";
constexpr std::string_view kCertificateColumns =
    "serial, state, profile, client, subject, names, requested_at, not_before, not_after, der, "
    "revoked_at, revocation_reason, revoked_by, client_id";

std::int64_t unix_seconds(TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint from_unix(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

[[noreturn]] void throw_corrupt(const std::string& what) {
  throw Error(ErrorKind::Integrity, "ledger-corrupt",
              "the certificate ledger holds " + what +
                  " (the store was edited or damaged; restore it from a backup)");
}

std::string to_json_array(const std::vector<std::string>& items) { return nlohmann::json(items).dump(); }

std::vector<std::string> from_json_array(const std::string& text, const std::string& column) {
  try {
    return nlohmann::json::parse(text).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    throw_corrupt("a " + column + " value that is not a JSON array of strings: " + text);
  }
}

Serial serial_from_text(const std::string& hex) {
  std::optional<Serial> serial = Serial::parse_hex(hex);
  if (!serial) throw_corrupt("a serial that is not hex: \"" + hex + "\"");
  return std::move(*serial);
}

// The certificate's serial as a Serial (the positive INTEGER's magnitude).
Serial serial_of(const crypto::Certificate& certificate) {
  ossl::BignumPtr bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate.x509()), nullptr)};
  if (!bn) throw_openssl(ErrorKind::Crypto, "openssl-error", "reading a certificate's serial");
  if (BN_is_negative(bn.get()) != 0 || BN_is_zero(bn.get()) != 0) {
    throw Error(ErrorKind::Malformed, "invalid-serial",
                "the certificate's serial number is not positive, so it cannot be recorded");
  }
  Bytes bytes(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), bytes.data());
  return Serial{std::move(bytes)};
}

std::string_view state_text(CertificateState state) {
  return state == CertificateState::Issued ? "issued" : "intent";
}

// Reads one row selected with kCertificateColumns.
CertificateRecord read_record(const db::Statement& s) {
  CertificateRecord r;
  r.serial = serial_from_text(s.text(0));
  const std::string state = s.text(1);
  if (state == "intent") {
    r.state = CertificateState::Intent;
  } else if (state == "issued") {
    r.state = CertificateState::Issued;
  } else {
    throw_corrupt("an unknown certificate state \"" + state + "\"");
  }
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

void check_reason(RevocationReason reason) {
  if (!revocation_reason_from_int(static_cast<int>(reason))) {
    throw Error(ErrorKind::Malformed, "invalid-reason",
                "revocation reason " + std::to_string(static_cast<int>(reason)) + " is not offered");
  }
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
  write_audit(db, now, actor, "certificate.revoke", hex,
              std::string(to_string(reason)) + ", revision " + std::to_string(revision) + ", " + record.subject +
                  why);
  record.revoked_at = now;
  record.reason = reason;
  record.revoked_by = actor;
  return revision;
}

void validate_client_name(const std::string& name) {
  if (!valid_client_name(name)) {
    throw Error(ErrorKind::Malformed, "invalid-name",
                "\"" + name + "\" is not a valid client name: use 1 to 64 characters of A-Z, a-z, 0-9, "
                              "'.', '_' and '-'");
  }
}

std::string base64url(ByteView data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    std::uint32_t v = std::uint32_t{data[i]} << 16;
    if (rest == 2) v |= std::uint32_t{data[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

struct Ledger::Impl {
  Impl(const fs::path& db_path, const Clock& c) : path(db_path), clock(c), committer(db_path) {}

  // A read-only connection from the pool, returned to it when the lease ends.
  class Reader {
   public:
    explicit Reader(Impl& impl) : impl_(impl) {
      {
        std::lock_guard lock(impl_.pool_mutex);
        if (!impl_.idle.empty()) {
          db_.emplace(std::move(impl_.idle.back()));
          impl_.idle.pop_back();
        }
      }
      if (!db_) db_.emplace(db::Database::open(impl_.path, db::OpenMode::ReadOnly));
    }
    ~Reader() {
      std::lock_guard lock(impl_.pool_mutex);
      if (impl_.idle.size() < kMaxIdleReaders) impl_.idle.push_back(std::move(*db_));
    }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    db::Database& operator*() { return *db_; }
    db::Database* operator->() { return &*db_; }

   private:
    Impl& impl_;
    std::optional<db::Database> db_;
  };

  fs::path path;
  const Clock& clock;
  db::GroupCommitter committer;
  std::mutex pool_mutex;
  std::vector<db::Database> idle;
};

Ledger::Ledger(const fs::path& db_path, const Clock& clock) {
  std::error_code ec;
  if (!fs::is_regular_file(db_path, ec)) {
    throw Error(ErrorKind::NotFound, "store-missing",
                "no key store at " + db_path.string() + ": create one with `signet store init`");
  }
  impl_ = std::make_unique<Impl>(db_path, clock);
  Impl::Reader reader(*impl_);
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
}

Ledger::~Ledger() = default;


namespace {

db::GroupCommitter::Work intent_work(Intent intent, std::int64_t requested_at) {
  return [intent = std::move(intent), requested_at](db::Database& db) {
    if (intent.serial.bytes.empty()) {
      throw Error(ErrorKind::Malformed, "invalid-serial", "an intent needs a serial number");
    }
    const std::string serial = intent.serial.hex();
    {
      db::Statement s = db.cached("SELECT 1 FROM issued_certificates WHERE serial = ?");
      s.bind(1, serial);
      if (s.step()) {
        throw Error(ErrorKind::Conflict, "serial-taken",
                    "serial " + serial + " is already in the certificate ledger");
      }
    }
    if (!intent.client_id.empty()) {
      // Checked in the transaction that records the intent: a client removed after it was
      // authenticated gets nothing more.
      db::Statement s =
          db.cached("SELECT 1 FROM api_clients WHERE id = ? AND " + std::string(kLiveClient));
      s.bind(1, intent.client_id);
      if (!s.step()) {
        throw Error(ErrorKind::Unauthorized, "client-removed",
                    "API client \"" + intent.client + "\" was removed; nothing was issued");
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
        throw Error(ErrorKind::NotFound, "intent-missing",
                    "no intent for serial " + serial +
                        " in the certificate ledger: a certificate is recorded only after its intent");
      }
      if (s.text(0) == state_text(CertificateState::Issued)) {
        if (s.optional_blob(1) == certificate.der()) return;  // a retry of the same write
        throw Error(ErrorKind::Conflict, "already-issued",
                    "serial " + serial + " was recorded with another certificate already");
      }
      // Its client was removed while it was being signed: the removal could not revoke an intent,
      // so the certificate is not stored and never handed out; the intent stays, as one that
      // never reached anyone.
      if (s.int64(3) != 0) {
        throw Error(ErrorKind::Unauthorized, "client-removed",
                    "API client \"" + s.text(2) + "\" was removed while its certificate " + serial +
                        " was being signed; nothing was issued");
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

}  // namespace

void Ledger::record_intent_async(Intent intent, Done done) {
  impl_->committer.submit(intent_work(std::move(intent), impl_->clock.unix_seconds()), std::move(done),
                          db::GroupCommitter::Sync::Ordered);
}

void Ledger::record_issued_async(crypto::Certificate certificate, Done done) {
  impl_->committer.submit(issued_work(std::move(certificate)), std::move(done));
}

void Ledger::record_intent(Intent intent) {
  impl_->committer.run(intent_work(std::move(intent), impl_->clock.unix_seconds()),
                       db::GroupCommitter::Sync::Ordered);
}

void Ledger::record_issued(const crypto::Certificate& certificate) {
  impl_->committer.run(issued_work(certificate));
}

std::optional<CertificateRecord> Ledger::find(const Serial& serial) {
  if (serial.bytes.empty()) return std::nullopt;
  Impl::Reader reader(*impl_);
  return load_record(*reader, serial.hex());
}

ListPage Ledger::list(const ListQuery& query) {
  if (query.limit < 1 || query.limit > kMaxListLimit) {
    throw Error(ErrorKind::Malformed, "invalid-limit",
                "a listing returns 1 to " + std::to_string(kMaxListLimit) + " certificates per page, not " +
                    std::to_string(query.limit));
  }
  std::string after;
  if (!query.after.empty()) {
    // Normalised, so that "0a" and "A" continue after the same serial.
    const std::optional<Serial> cursor = Serial::parse_hex(query.after);
    if (!cursor) {
      throw Error(ErrorKind::Malformed, "invalid-cursor",
                  "\"" + query.after + "\" is not a paging cursor: pass the serial of the last item");
    }
    after = cursor->hex();
  }
  std::string sql = "SELECT " + std::string(kCertificateColumns) + " FROM issued_certificates WHERE serial > ?";
  if (query.client_id) sql += " AND client_id = ?";
  if (query.revoked_only) sql += " AND revoked_at IS NOT NULL";
  sql += " ORDER BY serial LIMIT ?";

  Impl::Reader reader(*impl_);
  db::Statement s = reader->cached(sql);
  int index = 1;
  s.bind(index++, after);
  if (query.client_id) s.bind(index++, *query.client_id);
  // One row more than asked for tells whether there is a next page.
  s.bind(index, static_cast<std::int64_t>(query.limit) + 1);
  ListPage page;
  while (s.step()) {
    if (page.items.size() == query.limit) {
      page.next = page.items.back().serial.hex();
      break;
    }
    page.items.push_back(read_record(s));
  }
  return page;
}

RevokeResult Ledger::revoke(const Serial& serial, RevocationReason reason, const std::string& actor) {
  check_reason(reason);
  const std::string hex = serial.bytes.empty() ? std::string() : serial.hex();
  const std::int64_t now = impl_->clock.unix_seconds();
  RevokeResult result;
  impl_->committer.run([&](db::Database& db) {
    std::optional<CertificateRecord> record = load_record(db, hex);
    if (!record || record->state != CertificateState::Issued) {
      throw Error(ErrorKind::NotFound, "certificate-not-found",
                  "no issued certificate with serial " + (hex.empty() ? std::string("(empty)") : hex));
    }
    if (record->revoked_at) {
      throw Error(ErrorKind::Conflict, "already-revoked",
                  "the certificate with serial " + hex + " was revoked already (" +
                      std::string(to_string(record->reason.value_or(RevocationReason::Unspecified))) +
                      ", by " + record->revoked_by + ")");
    }
    const std::int64_t revision = revoke_row(db, *record, reason, actor, now);
    result = RevokeResult{std::move(*record), revision};
  });
  return result;
}

std::vector<RevokedEntry> Ledger::revoked(std::chrono::seconds grace) {
  const std::int64_t oldest = impl_->clock.unix_seconds() - grace.count();
  Impl::Reader reader(*impl_);
  db::Statement s = reader->cached(
      "SELECT serial, revoked_at, revocation_reason FROM issued_certificates "
      "WHERE revoked_at IS NOT NULL AND not_after >= ? ORDER BY serial");
  s.bind(1, oldest);
  std::vector<RevokedEntry> out;
  while (s.step()) out.push_back(read_revoked(s));
  return out;
}

std::vector<RevokedEntry> Ledger::revoked_since(std::int64_t since_revision) {
  Impl::Reader reader(*impl_);
  db::Statement s = reader->cached(
      "SELECT serial, revoked_at, revocation_reason FROM issued_certificates "
      "WHERE revision > ? ORDER BY revision");
  s.bind(1, since_revision);
  std::vector<RevokedEntry> out;
  while (s.step()) out.push_back(read_revoked(s));
  return out;
}

std::int64_t Ledger::revocation_revision() {
  Impl::Reader reader(*impl_);
  db::Statement s = reader->cached(
      "SELECT coalesce(max(revision), 0) FROM issued_certificates WHERE revision IS NOT NULL");
  return s.step() ? s.int64(0) : 0;
}

std::int64_t Ledger::next_crl_number() {
  const std::int64_t now = impl_->clock.unix_seconds();
  std::int64_t number = 0;
  impl_->committer.run([&](db::Database& db) {
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

NewClient Ledger::add_client(const std::string& name, const std::vector<std::string>& profiles, bool admin,
                             const std::string& actor) {
  validate_client_name(name);
  if (profiles.empty() ||
      std::any_of(profiles.begin(), profiles.end(), [](const std::string& p) { return p.empty(); })) {
    throw Error(ErrorKind::Malformed, "invalid-profiles",
                "client \"" + name + "\" needs at least one profile it may use (\"*\" for all)");
  }
  NewClient out;
  out.client.name = name;
  out.client.id = to_hex(crypto::random_bytes(kClientIdBytes));
  for (const std::string& p : profiles) {  // each once, in the order given
    if (std::find(out.client.profiles.begin(), out.client.profiles.end(), p) == out.client.profiles.end()) {
      out.client.profiles.push_back(p);
    }
  }
  out.client.admin = admin;
  out.client.created_at = impl_->clock.unix_seconds();
  SecretBytes raw(kSecretBytes);
  crypto::random_bytes(std::span(raw.data(), raw.size()));
  const std::string secret = base64url(raw.view());
  const Bytes secret_hash = crypto::sha256(as_bytes(secret));
  out.token = std::string(kTokenPrefix) + out.client.id + "_" + secret;

  const ApiClient& c = out.client;
  impl_->committer.run([&](db::Database& db) {
    {
      // Names that differ only in case ("dave", "DAVE") would be one client to a person reading the
      // audit trail or a log.
      db::Statement s = db.cached("SELECT name FROM api_clients WHERE name = ? COLLATE NOCASE AND " +
                                  std::string(kLiveClient));
      s.bind(1, c.name);
      if (s.step()) {
        const std::string existing = s.text(0);
        throw Error(ErrorKind::Conflict, "client-exists",
                    "an API client named \"" + existing + "\" exists already" +
                        (existing == c.name ? std::string() : " (names are compared ignoring case)") +
                        ": remove it first to give it a new token, or choose another name");
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
    std::string detail = "id " + c.id + ", profiles";
    for (const std::string& p : c.profiles) detail += " " + p;
    if (c.admin) detail += ", admin";
    write_audit(db, c.created_at, actor, "client.add", c.name, detail);
  });
  return out;
}

RemovedClient Ledger::remove_client(const std::string& name, const std::string& actor,
                                    RevocationReason reason) {
  check_reason(reason);
  const std::int64_t now = impl_->clock.unix_seconds();
  RemovedClient out;
  impl_->committer.run([&](db::Database& db) {
    out = RemovedClient{};
    {
      // Names are unique ignoring case (clients add and restore see to it); an exact match first
      // for a store written before they were.
      db::Statement s = db.cached("SELECT " + std::string(kClientColumns) +
                                  " FROM api_clients WHERE name = ?1 COLLATE NOCASE AND " + std::string(kLiveClient) +
                                  " ORDER BY name = ?1 DESC LIMIT 1");
      s.bind(1, name);
      if (!s.step()) {
        throw Error(ErrorKind::NotFound, "client-not-found",
                    "there is no API client named \"" + name + "\"; `signet clients list` shows them");
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
    const std::string why = ", client " + name + " (id " + out.client.id + ") removed";
    for (CertificateRecord& r : credentials) {
      (void)revoke_row(db, r, reason, actor, now, why);
      out.revoked.push_back(r.serial);
    }
    std::string detail = "id " + out.client.id + ", revoked " + std::to_string(out.revoked.size()) +
                         " client certificate" + (out.revoked.size() == 1 ? "" : "s");
    for (std::size_t i = 0; i < out.revoked.size(); ++i) detail += (i == 0 ? ": " : ", ") + out.revoked[i].hex();
    write_audit(db, now, actor, "client.remove", name, detail);
  });
  return out;
}

std::vector<ApiClient> Ledger::clients() {
  Impl::Reader reader(*impl_);
  db::Statement s = reader->cached("SELECT " + std::string(kClientColumns) + " FROM api_clients WHERE " +
                                   std::string(kLiveClient) + " ORDER BY name");
  std::vector<ApiClient> out;
  while (s.step()) out.push_back(read_client(s));
  return out;
}

std::optional<ApiClient> Ledger::client(const std::string& name) {
  Impl::Reader reader(*impl_);
  // Ignoring case, an exact match first (see remove_client).
  db::Statement s = reader->cached("SELECT " + std::string(kClientColumns) +
                                   " FROM api_clients WHERE name = ?1 COLLATE NOCASE AND " + std::string(kLiveClient) +
                                   " ORDER BY name = ?1 DESC LIMIT 1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return read_client(s);
}

std::optional<ApiClient> Ledger::client_by_id(const std::string& id) {
  if (id.empty()) return std::nullopt;
  Impl::Reader reader(*impl_);
  db::Statement s = reader->cached("SELECT " + std::string(kClientColumns) + " FROM api_clients WHERE id = ? AND " +
                                   std::string(kLiveClient));
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_client(s);
}

std::optional<ApiClient> Ledger::authenticate(std::string_view token) {
  // sgt_ <16 lowercase hex> _ <43 base64url>
  constexpr std::size_t kIdAt = kTokenPrefix.size();
  constexpr std::size_t kSecretAt = kIdAt + 2 * kClientIdBytes + 1;
  if (token.size() != kSecretAt + kSecretChars || token.substr(0, kIdAt) != kTokenPrefix ||
      token[kSecretAt - 1] != '_') {
    return std::nullopt;
  }
  const std::string_view id = token.substr(kIdAt, 2 * kClientIdBytes);
  const std::string_view secret = token.substr(kSecretAt);
  if (!std::all_of(id.begin(), id.end(), is_lower_hex) ||
      !std::all_of(secret.begin(), secret.end(), is_base64url)) {
    return std::nullopt;
  }
  const Bytes presented = crypto::sha256(as_bytes(secret));
  Impl::Reader reader(*impl_);
  db::Statement s = reader->cached("SELECT " + std::string(kClientColumns) +
                                    ", secret_sha256 FROM api_clients WHERE id = ? AND " + std::string(kLiveClient));
  s.bind(1, id);
  if (!s.step() || s.is_null(5)) return std::nullopt;
  const Bytes stored = s.blob(5);
  if (stored.size() != presented.size() ||
      CRYPTO_memcmp(stored.data(), presented.data(), presented.size()) != 0) {
    return std::nullopt;
  }
  return read_client(s);
}

bool is_client_auth_certificate(const crypto::Certificate& certificate) {
  X509* x = certificate.x509();
  return (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) != 0;
}

db::GroupCommitter::Stats Ledger::commit_stats() const { return impl_->committer.stats(); }

void Ledger::write(const db::GroupCommitter::Work& work, db::GroupCommitter::Sync sync) {
  impl_->committer.run(work, sync);
}

void Ledger::read(const std::function<void(db::Database&)>& work) {
  Impl::Reader reader(*impl_);
  work(*reader);
}

}  // namespace signet::issuance
