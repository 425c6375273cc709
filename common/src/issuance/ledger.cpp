#include "signet/issuance/ledger.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "ledger_backend.h"
#include "signet/core/error.h"
#include "signet/crypto/handles.h"
#include "signet/crypto/primitives.h"

namespace signet::issuance {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxListLimit = 1000;
constexpr std::size_t kClientIdBytes = 8;
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kSecretChars = 43;  // base64url of 32 bytes, no padding
constexpr std::string_view kTokenPrefix = "sgt_";

}  // namespace

namespace detail {

void add_listed(ListPage& page, const std::function<CertificateRecord()>& read, const std::string& serial_column) {
  try {
    page.items.push_back(read());
  } catch (const Error& e) {
    if (e.code() != "ledger-corrupt") throw;
    page.damaged.push_back(serial_column.substr(0, 64));
  }
}

void throw_corrupt(const std::string& what) {
  throw Error(ErrorKind::Integrity, "ledger-corrupt",
              "the certificate ledger holds " + what +
                  " (it was edited or damaged: restore the key store, or the PostgreSQL database, from a backup)");
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

CertificateState state_from_text(const std::string& text) {
  if (text == "intent") return CertificateState::Intent;
  if (text == "issued") return CertificateState::Issued;
  throw_corrupt("an unknown certificate state \"" + text + "\"");
}

Error serial_taken(const std::string& serial_hex) {
  return Error(ErrorKind::Conflict, "serial-taken", "serial " + serial_hex + " is already in the certificate ledger");
}

Error client_removed_before_intent(const std::string& client) {
  return Error(ErrorKind::Unauthorized, "client-removed", "API client \"" + client + "\" was removed; nothing was issued");
}

Error intent_missing(const std::string& serial_hex) {
  return Error(ErrorKind::NotFound, "intent-missing",
               "no intent for serial " + serial_hex +
                   " in the certificate ledger: a certificate is recorded only after its intent");
}

Error already_issued(const std::string& serial_hex) {
  return Error(ErrorKind::Conflict, "already-issued",
               "serial " + serial_hex + " was recorded with another certificate already");
}

Error client_removed_while_signing(const std::string& client, const std::string& serial_hex) {
  return Error(ErrorKind::Unauthorized, "client-removed",
               "API client \"" + client + "\" was removed while its certificate " + serial_hex +
                   " was being signed; nothing was issued");
}

Error certificate_not_found(const std::string& serial_hex) {
  return Error(ErrorKind::NotFound, "certificate-not-found",
               "no issued certificate with serial " + (serial_hex.empty() ? std::string("(empty)") : serial_hex));
}

Error already_revoked(const std::string& serial_hex, const CertificateRecord& record) {
  return Error(ErrorKind::Conflict, "already-revoked",
               "the certificate with serial " + serial_hex + " was revoked already (" +
                   std::string(to_string(record.reason.value_or(RevocationReason::Unspecified))) + ", by " +
                   record.revoked_by + ")");
}

Error client_exists(const std::string& existing, const std::string& asked) {
  return Error(ErrorKind::Conflict, "client-exists",
               "an API client named \"" + existing + "\" exists already" +
                   (existing == asked ? std::string() : " (names are compared ignoring case)") +
                   ": remove it first to give it a new token, or choose another name");
}

Error client_not_found(const std::string& name) {
  return Error(ErrorKind::NotFound, "client-not-found",
               "there is no API client named \"" + name + "\"; `signet clients list` shows them");
}

std::string revoke_detail(RevocationReason reason, std::int64_t revision, const std::string& subject,
                          const std::string& why) {
  return std::string(to_string(reason)) + ", revision " + std::to_string(revision) + ", " + subject + why;
}

std::string client_add_detail(const ApiClient& c) {
  std::string detail = "id " + c.id + ", profiles";
  for (const std::string& p : c.profiles) detail += " " + p;
  if (c.admin) detail += ", admin";
  return detail;
}

std::string client_remove_detail(const ApiClient& client, const std::vector<Serial>& revoked) {
  std::string detail = "id " + client.id + ", revoked " + std::to_string(revoked.size()) + " client certificate" +
                       (revoked.size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < revoked.size(); ++i) detail += (i == 0 ? ": " : ", ") + revoked[i].hex();
  return detail;
}

std::string client_removed_why(const std::string& name, const std::string& id) {
  return ", client " + name + " (id " + id + ") removed";
}

std::unique_ptr<LedgerBackend> open_sqlite_ledger(const fs::path& db_path);
std::unique_ptr<LedgerBackend> open_postgres_ledger(const db::pg::Settings& settings, const LedgerOwner& owner,
                                                    std::int64_t now);

}  // namespace detail

namespace {

using namespace detail;

void check_reason(RevocationReason reason) {
  if (!revocation_reason_from_int(static_cast<int>(reason))) {
    throw Error(ErrorKind::Malformed, "invalid-reason",
                "revocation reason " + std::to_string(static_cast<int>(reason)) + " is not offered");
  }
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

Ledger::Ledger(const fs::path& db_path, const Clock& clock) : clock_(clock) {
  std::error_code ec;
  if (!fs::is_regular_file(db_path, ec)) {
    throw Error(ErrorKind::NotFound, "store-missing",
                "no key store at " + db_path.string() + ": create one with `signet store init`");
  }
  backend_ = open_sqlite_ledger(db_path);
}

Ledger::Ledger(const db::pg::Settings& settings, const LedgerOwner& owner, const Clock& clock)
    : clock_(clock), backend_(open_postgres_ledger(settings, owner, clock.unix_seconds())) {}

Ledger::~Ledger() = default;

namespace {

void check_intent(const Intent& intent) {
  if (intent.serial.bytes.empty()) {
    throw Error(ErrorKind::Malformed, "invalid-serial", "an intent needs a serial number");
  }
}

}  // namespace

void Ledger::record_intent_async(Intent intent, Done done) {
  try {
    check_intent(intent);
  } catch (const Error&) {
    done(std::current_exception());
    return;
  }
  backend_->record_intent_async(std::move(intent), clock_.unix_seconds(), std::move(done));
}

void Ledger::record_issued_async(crypto::Certificate certificate, Done done) {
  backend_->record_issued_async(std::move(certificate), std::move(done));
}

void Ledger::record_intent(Intent intent) {
  check_intent(intent);
  backend_->record_intent(std::move(intent), clock_.unix_seconds());
}

void Ledger::record_issued(const crypto::Certificate& certificate) { backend_->record_issued(certificate); }

std::optional<CertificateRecord> Ledger::find(const Serial& serial) {
  if (serial.bytes.empty()) return std::nullopt;
  return backend_->find(serial.hex());
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
  return backend_->list(query, after);
}

RevokeResult Ledger::revoke(const Serial& serial, RevocationReason reason, const std::string& actor) {
  check_reason(reason);
  const std::string hex = serial.bytes.empty() ? std::string() : serial.hex();
  return backend_->revoke(hex, reason, actor, clock_.unix_seconds());
}

std::vector<RevokedEntry> Ledger::revoked(std::chrono::seconds grace) {
  return backend_->revoked(clock_.unix_seconds() - grace.count());
}

std::vector<RevokedEntry> Ledger::revoked_since(std::int64_t since_revision) {
  return backend_->revoked_since(since_revision);
}

std::int64_t Ledger::revocation_revision() { return backend_->revocation_revision(); }

std::int64_t Ledger::next_crl_number() { return backend_->next_crl_number(clock_.unix_seconds()); }

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
  out.client.created_at = clock_.unix_seconds();
  SecretBytes raw(kSecretBytes);
  crypto::random_bytes(std::span(raw.data(), raw.size()));
  const std::string secret = base64url(raw.view());
  const Bytes secret_hash = crypto::sha256(as_bytes(secret));
  out.token = std::string(kTokenPrefix) + out.client.id + "_" + secret;

  backend_->add_client(out.client, secret_hash, actor);
  return out;
}

RemovedClient Ledger::remove_client(const std::string& name, const std::string& actor, RevocationReason reason) {
  check_reason(reason);
  return backend_->remove_client(name, actor, reason, clock_.unix_seconds());
}

std::vector<ApiClient> Ledger::clients() { return backend_->clients(); }

std::optional<ApiClient> Ledger::client(const std::string& name) { return backend_->client(name); }

std::optional<ApiClient> Ledger::client_by_id(const std::string& id) {
  if (id.empty()) return std::nullopt;
  return backend_->client_by_id(id);
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
  std::optional<std::pair<ApiClient, Bytes>> found = backend_->client_secret(std::string(id));
  if (!found) return std::nullopt;
  const Bytes& stored = found->second;
  if (stored.size() != presented.size() ||
      CRYPTO_memcmp(stored.data(), presented.data(), presented.size()) != 0) {
    return std::nullopt;
  }
  return std::move(found->first);
}

bool is_client_auth_certificate(const crypto::Certificate& certificate) {
  X509* x = certificate.x509();
  return (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) != 0;
}

Ledger::Stats Ledger::commit_stats() const { return backend_->stats(); }

Ledger::Backend Ledger::backend() const { return backend_->kind(); }

bool Ledger::shares_crls() const { return backend_->shares_crls(); }

bool Ledger::hold_crl_builder() { return backend_->hold_crl_builder(); }

bool Ledger::publish_crl(const std::string& kind, const SharedCrl& crl) { return backend_->publish_crl(kind, crl); }

std::optional<SharedCrl> Ledger::newest_crl(const std::string& kind) { return backend_->newest_crl(kind); }

void Ledger::write(const SessionWork& work, db::GroupCommitter::Sync sync) { backend_->write(work, sync); }

void Ledger::read(const SessionWork& work) { backend_->read(work); }

}  // namespace signet::issuance
