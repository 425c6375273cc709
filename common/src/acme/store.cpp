#include "signet/acme/store.h"

#include <algorithm>

#include "signet/core/error.h"
#include "signet/crypto/primitives.h"
#include "signet/db/session.h"

namespace signet::acme {
namespace {

using Sync = db::GroupCommitter::Sync;
using db::Rows;
using db::Session;
using json = nlohmann::json;

[[noreturn]] void corrupt(const std::string& what) {
  throw Error(ErrorKind::Integrity, "acme-state-corrupt",
              "the ACME tables hold " + what + " (the store was edited or damaged; restore it from a backup)");
}

json parse_column(const std::string& text, const char* column) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    corrupt("a " + std::string(column) + " value that is not JSON");
  }
}

json optional_json(const Rows& s, int column, const char* name) {
  return s.is_null(column) ? json() : parse_column(s.text(column), name);
}

constexpr std::string_view kAccountColumns = "id, status, jwk, thumbprint, contact, eab_kid, created_at, created_from";

Account read_account(const Rows& s) {
  Account a;
  a.id = s.text(0);
  a.status = account_status(s.text(1));
  a.jwk = parse_column(s.text(2), "jwk");
  a.thumbprint = s.text(3);
  const json contact = parse_column(s.text(4), "contact");
  if (!contact.is_array()) corrupt("a contact list that is not an array");
  for (const json& c : contact) {
    if (!c.is_string()) corrupt("a contact that is not a string");
    a.contact.push_back(c.get<std::string>());
  }
  if (!s.is_null(5)) a.eab_kid = s.text(5);
  a.created_at = s.int64(6);
  a.created_from = s.text(7);
  return a;
}

std::optional<Account> load_account(Session& db, std::string_view where, const std::string& key) {
  const auto s = db.query("SELECT " + std::string(kAccountColumns) + " FROM acme_accounts WHERE " + std::string(where), {key});
  if (!s->step()) return std::nullopt;
  return read_account(*s);
}

json identifiers_json(const std::vector<Identifier>& ids) {
  json out = json::array();
  for (const Identifier& i : ids) out.push_back({{"type", i.type}, {"value", i.value}});
  return out;
}

constexpr std::string_view kOrderColumns =
    "id, account_id, status, identifiers, authorizations, not_after, expires, error, serial, created_at";

Order read_order(const Rows& s) {
  Order o;
  o.id = s.text(0);
  o.account_id = s.text(1);
  o.status = order_status(s.text(2));
  const json ids = parse_column(s.text(3), "identifiers");
  const json authzs = parse_column(s.text(4), "authorizations");
  try {
    for (const json& i : ids) o.identifiers.push_back({i.at("type").get<std::string>(), i.at("value").get<std::string>()});
    o.authorization_ids = authzs.get<std::vector<std::string>>();
  } catch (const json::exception&) {
    corrupt("an order whose identifiers or authorizations are not lists of the right shape");
  }
  if (!s.is_null(5)) o.not_after = s.int64(5);
  o.expires = s.int64(6);
  o.error = optional_json(s, 7, "error");
  if (!s.is_null(8)) o.serial = s.text(8);
  o.created_at = s.int64(9);
  return o;
}

constexpr std::string_view kAuthzColumns =
    "id, account_id, identifier_type, identifier_value, wildcard, status, expires, created_at";
constexpr std::string_view kChallengeColumns = "id, authorization_id, type, token, status, validated_at, error, address";

Challenge read_challenge(const Rows& s) {
  Challenge c;
  c.id = s.text(0);
  c.authorization_id = s.text(1);
  c.type = s.text(2);
  c.token = s.text(3);
  c.status = challenge_status(s.text(4));
  if (!s.is_null(5)) c.validated_at = s.int64(5);
  c.error = optional_json(s, 6, "error");
  if (!s.is_null(7)) c.address = s.text(7);
  return c;
}

std::optional<Authorization> load_authz(Session& db, const std::string& id) {
  const auto s = db.query("SELECT " + std::string(kAuthzColumns) + " FROM acme_authorizations WHERE id = ?", {id});
  if (!s->step()) return std::nullopt;
  Authorization a;
  a.id = s->text(0);
  a.account_id = s->text(1);
  a.identifier = {s->text(2), s->text(3)};
  a.wildcard = s->int64(4) != 0;
  a.status = authz_status(s->text(5));
  a.expires = s->int64(6);
  a.created_at = s->int64(7);
  const auto c = db.query("SELECT " + std::string(kChallengeColumns) +
                              " FROM acme_challenges WHERE authorization_id = ? ORDER BY " +
                              std::string(db.insertion_order()),
                          {id});
  while (c->step()) a.challenges.push_back(read_challenge(*c));
  return a;
}

// The account's valid authorization for the identifier with a day left, to reuse.
std::optional<std::string> reusable_authz(Session& db, const std::string& account_id, const Identifier& id,
                                          bool wildcard, std::int64_t now) {
  const auto s = db.query(
      "SELECT id FROM acme_authorizations WHERE account_id = ? AND identifier_type = ? AND identifier_value = ? "
      "AND wildcard = ? AND status = 'valid' AND expires > ? ORDER BY expires DESC LIMIT 1",
      {account_id, id.type, id.value, std::int64_t{wildcard ? 1 : 0}, now + kReuseMargin});
  if (!s->step()) return std::nullopt;
  return s->text(0);
}

std::string create_authz(Session& db, const std::string& account_id, const Identifier& order_id, std::int64_t now) {
  const bool wildcard = order_id.value.starts_with("*.");
  const std::string value = wildcard ? order_id.value.substr(2) : order_id.value;
  const std::string id = random_id();
  db.exec(
      "INSERT INTO acme_authorizations (id, account_id, identifier_type, identifier_value, wildcard, status, "
      "expires, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
      {id, account_id, order_id.type, value, std::int64_t{wildcard ? 1 : 0}, now + kPendingLifetime, now});
  for (const std::string& type : challenge_types(order_id)) {
    db.exec("INSERT INTO acme_challenges (id, authorization_id, type, token, status) VALUES (?, ?, ?, ?, 'pending')",
            {random_id(), id, type, random_token()});
  }
  return id;
}

void write_audit(Session& db, std::int64_t at, std::string_view actor, std::string_view action,
                 std::string_view subject, std::string_view detail) {
  db.exec("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
          {at, actor, action, subject, detail});
}

constexpr std::string_view kEabColumns = "kid, name, hmac_sealed, profile, created_at, removed_at, account_id";

ExternalAccountKey read_eab_key(const Rows& s) {
  ExternalAccountKey k;
  k.kid = s.text(0);
  k.name = s.text(1);
  k.hmac_sealed = s.blob(2);
  k.profile = s.text(3);
  k.created_at = s.int64(4);
  if (!s.is_null(5)) k.removed_at = s.int64(5);
  if (!s.is_null(6)) k.account_id = s.text(6);
  return k;
}


}  // namespace

AcmeStore::AcmeStore(issuance::Ledger& ledger, const Clock& clock) : ledger_(ledger), clock_(clock) {}

bool AcmeStore::shared() const { return ledger_.backend() == issuance::Ledger::Backend::Postgres; }

std::pair<Account, bool> AcmeStore::create_account(Account account) {
  std::optional<Account> existing;
  account.created_at = clock_.unix_seconds();
  try {
    ledger_.write(
        [&](Session& db) {
          existing = load_account(db, "thumbprint = ?", account.thumbprint);
          if (existing) return;
          const std::string contact = json(account.contact).dump();
          db.exec(
              "INSERT INTO acme_accounts (id, status, jwk, thumbprint, contact, eab_kid, created_at, created_from) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              {account.id, to_string(account.status), account.jwk.dump(), account.thumbprint, contact,
               account.eab_kid.empty() ? db::Value(nullptr) : db::Value(account.eab_kid), account.created_at,
               account.created_from});
          if (!account.eab_kid.empty() &&
              db.exec("UPDATE acme_eab_keys SET account_id = ? WHERE kid = ? AND account_id IS NULL AND "
                      "removed_at IS NULL",
                      {account.id, account.eab_kid}) != 1) {
            // Thrown inside the write: the account inserted above is rolled back with it.
            throw Error(ErrorKind::Unauthorized, "unauthorized",
                        "this external account binding key was used already for another account, or was removed; "
                        "a key binds one account only: ask the CA's operator for a new one");
          }
        },
        Sync::Durable);
  } catch (const Error& e) {
    // Another node created an account with this key between the read and the insert: it is the one.
    if (e.code() != "unique-violation") throw;
    existing = account_by_thumbprint(account.thumbprint);
    if (!existing) throw;
  }
  if (existing) return {std::move(*existing), false};
  return {std::move(account), true};
}

std::optional<Account> AcmeStore::account(const std::string& id) {
  std::optional<Account> out;
  ledger_.read([&](Session& db) { out = load_account(db, "id = ?", id); });
  return out;
}

std::optional<Account> AcmeStore::account_by_thumbprint(const std::string& thumbprint) {
  std::optional<Account> out;
  ledger_.read([&](Session& db) { out = load_account(db, "thumbprint = ?", thumbprint); });
  return out;
}

std::vector<Account> AcmeStore::accounts() {
  std::vector<Account> out;
  ledger_.read([&](Session& db) {
    out.clear();
    const auto s = db.query("SELECT " + std::string(kAccountColumns) + " FROM acme_accounts ORDER BY created_at, id");
    while (s->step()) out.push_back(read_account(*s));
  });
  return out;
}

void AcmeStore::update_contact(const std::string& id, const std::vector<std::string>& contact) {
  const std::string list = json(contact).dump();
  ledger_.write([&](Session& db) { db.exec("UPDATE acme_accounts SET contact = ? WHERE id = ?", {list, id}); },
                Sync::Durable);
}

void AcmeStore::deactivate_account(const std::string& id, const std::string& actor) {
  const std::int64_t now = clock_.unix_seconds();
  ledger_.write(
      [&](Session& db) {
        if (db.exec("UPDATE acme_accounts SET status = 'deactivated' WHERE id = ? AND status <> 'deactivated'", {id}) !=
            1) {
          if (db.query("SELECT 1 FROM acme_accounts WHERE id = ?", {id})->step()) {
            throw Error(ErrorKind::Conflict, "acme-account-deactivated",
                        "ACME account " + id + " is deactivated already; nothing was changed");
          }
          throw Error(ErrorKind::NotFound, "acme-account-not-found",
                      "there is no ACME account " + id + "; `signet acme accounts list` shows them");
        }
        if (!actor.empty()) write_audit(db, now, actor, "acme.account.deactivate", id, "");
        db.exec("UPDATE acme_authorizations SET status = 'deactivated' WHERE account_id = ? AND status = 'pending'", {id});
      },
      Sync::Durable);
}

void AcmeStore::change_key(const std::string& id, const json& jwk, const std::string& thumbprint) {
  const std::string key = jwk.dump();
  try {
    ledger_.write(
        [&](Session& db) {
          if (auto other = load_account(db, "thumbprint = ?", thumbprint)) {
            throw Error(ErrorKind::Conflict, "conflict", "the new key is already the key of account " + other->id);
          }
          db.exec("UPDATE acme_accounts SET jwk = ?, thumbprint = ? WHERE id = ?", {key, thumbprint, id});
        },
        Sync::Durable);
  } catch (const Error& e) {
    // Another node gave the key to another account between the read and the update.
    if (e.code() != "unique-violation") throw;
    throw Error(ErrorKind::Conflict, "conflict", "the new key is already the key of another account");
  }
}

void AcmeStore::add_eab_key(ExternalAccountKey key, const std::string& actor) {
  if (shared()) {
    throw Error(ErrorKind::Unsupported, "eab-needs-sqlite",
                "external account binding keys are sealed under one node's key store, which the other nodes sharing "
                "this PostgreSQL ledger cannot open; new keys can be added only on a single node with the SQLite "
                "ledger");
  }
  key.created_at = clock_.unix_seconds();
  ledger_.write(
      [&](Session& db) {
        if (db.query("SELECT 1 FROM acme_eab_keys WHERE kid = ?", {key.kid})->step()) {
          throw Error(ErrorKind::Conflict, "eab-key-exists", "there is an external account binding key " + key.kid + " already");
        }
        db.exec("INSERT INTO acme_eab_keys (kid, name, hmac_sealed, profile, created_at) VALUES (?, ?, ?, ?, ?)",
                {key.kid, key.name, ByteView(key.hmac_sealed), key.profile, key.created_at});
        write_audit(db, key.created_at, actor, "acme.eab.add", key.kid, "name=" + key.name + " profile=" + key.profile);
      },
      Sync::Durable);
}

std::optional<ExternalAccountKey> AcmeStore::eab_key(const std::string& kid, bool include_removed) {
  std::optional<ExternalAccountKey> out;
  ledger_.read([&](Session& db) {
    const auto s = db.query("SELECT " + std::string(kEabColumns) + " FROM acme_eab_keys WHERE kid = ?", {kid});
    if (!s->step()) return;
    ExternalAccountKey k = read_eab_key(*s);
    if (k.removed_at && !include_removed) return;
    out = std::move(k);
  });
  return out;
}

std::vector<ExternalAccountKey> AcmeStore::eab_keys() {
  std::vector<ExternalAccountKey> out;
  ledger_.read([&](Session& db) {
    out.clear();
    const auto s = db.query("SELECT " + std::string(kEabColumns) + " FROM acme_eab_keys ORDER BY created_at, kid");
    while (s->step()) out.push_back(read_eab_key(*s));
  });
  return out;
}

void AcmeStore::remove_eab_key(const std::string& kid, const std::string& actor) {
  const std::int64_t now = clock_.unix_seconds();
  ledger_.write(
      [&](Session& db) {
        if (db.exec("UPDATE acme_eab_keys SET removed_at = ? WHERE kid = ? AND removed_at IS NULL", {now, kid}) != 1) {
          throw Error(ErrorKind::NotFound, "eab-key-not-found",
                      "there is no external account binding key " + kid + " (or it was removed already); "
                      "`signet acme eab list` shows them");
        }
        write_audit(db, now, actor, "acme.eab.remove", kid, "");
      },
      Sync::Durable);
}

Order AcmeStore::create_order(const NewOrder& request) {
  Order order;
  order.id = random_id();
  order.account_id = request.account_id;
  order.identifiers = request.identifiers;
  order.not_after = request.not_after;
  order.created_at = clock_.unix_seconds();
  ledger_.write(
      [&](Session& db) {
        order.authorization_ids.clear();
        std::int64_t expires = order.created_at + kPendingLifetime;
        for (const Identifier& id : order.identifiers) {
          const bool wildcard = id.value.starts_with("*.");
          const Identifier base{id.type, wildcard ? id.value.substr(2) : id.value};
          if (auto reused = reusable_authz(db, order.account_id, base, wildcard, order.created_at)) {
            order.authorization_ids.push_back(*reused);
            if (auto a = load_authz(db, *reused)) expires = std::min(expires, a->expires);
          } else {
            order.authorization_ids.push_back(create_authz(db, order.account_id, id, order.created_at));
          }
        }
        order.expires = expires;
        db.exec(
            "INSERT INTO acme_orders (id, account_id, status, identifiers, authorizations, not_after, expires, "
            "created_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)",
            {order.id, order.account_id, identifiers_json(order.identifiers).dump(),
             json(order.authorization_ids).dump(), order.not_after ? db::Value(*order.not_after) : db::Value(nullptr),
             order.expires, order.created_at});
      },
      Sync::Ordered);
  return order;
}

std::optional<Order> AcmeStore::order(const std::string& id) {
  std::optional<Order> out;
  ledger_.read([&](Session& db) {
    const auto s = db.query("SELECT " + std::string(kOrderColumns) + " FROM acme_orders WHERE id = ?", {id});
    if (s->step()) out = read_order(*s);
  });
  return out;
}

std::vector<std::string> AcmeStore::order_ids(const std::string& account_id, std::size_t limit) {
  std::vector<std::string> out;
  const std::int64_t now = clock_.unix_seconds();
  ledger_.read([&](Session& db) {
    out.clear();
    const auto s = db.query(
        "SELECT id FROM acme_orders WHERE account_id = ? AND expires > ? ORDER BY created_at DESC, id LIMIT ?",
        {account_id, now, static_cast<std::int64_t>(limit)});
    while (s->step()) out.push_back(s->text(0));
  });
  return out;
}

std::vector<Authorization> AcmeStore::authorizations_of(const Order& order) {
  std::vector<Authorization> out;
  ledger_.read([&](Session& db) {
    out.clear();
    for (const std::string& id : order.authorization_ids) {
      if (auto a = load_authz(db, id)) out.push_back(std::move(*a));
    }
  });
  return out;
}

std::optional<Authorization> AcmeStore::authorization(const std::string& id) {
  std::optional<Authorization> out;
  ledger_.read([&](Session& db) { out = load_authz(db, id); });
  return out;
}

std::optional<std::pair<Challenge, Authorization>> AcmeStore::challenge(const std::string& id) {
  std::optional<std::pair<Challenge, Authorization>> out;
  ledger_.read([&](Session& db) {
    out.reset();
    const auto s = db.query("SELECT authorization_id FROM acme_challenges WHERE id = ?", {id});
    if (!s->step()) return;
    std::optional<Authorization> authz = load_authz(db, s->text(0));
    if (!authz) return;
    for (const Challenge& c : authz->challenges) {
      if (c.id == id) out.emplace(c, std::move(*authz));
    }
  });
  return out;
}

bool AcmeStore::start_challenge(const std::string& id) {
  bool started = false;
  const std::int64_t now = clock_.unix_seconds();
  ledger_.write(
      [&](Session& db) {
        started = db.exec("UPDATE acme_challenges SET status = 'processing' WHERE id = ? AND status = 'pending' AND "
                          "authorization_id IN (SELECT id FROM acme_authorizations WHERE status = 'pending' AND "
                          "expires > ?)",
                          {id, now}) == 1;
      },
      Sync::Ordered);
  return started;
}

void AcmeStore::finish_challenge(const std::string& id, bool valid, const json& error, const std::string& address) {
  const std::int64_t now = clock_.unix_seconds();
  const std::string problem = valid ? std::string() : error.dump();
  ledger_.write(
      [&](Session& db) {
        const std::int64_t changed = db.exec(
            "UPDATE acme_challenges SET status = ?, validated_at = ?, error = ?, address = ? WHERE id = ? AND "
            "status = 'processing'",
            {valid ? "valid" : "invalid", valid ? db::Value(now) : db::Value(nullptr),
             valid ? db::Value(nullptr) : db::Value(problem), address, id});
        if (changed != 1) return;  // no longer processing (its authorization was deactivated)
        db.exec("UPDATE acme_authorizations SET status = ?, expires = COALESCE(?, expires) "
                "WHERE id = (SELECT authorization_id FROM acme_challenges WHERE id = ?) AND status = 'pending'",
                {valid ? "valid" : "invalid", valid ? db::Value(now + kValidAuthzLifetime) : db::Value(nullptr), id});
      },
      Sync::Ordered);
}

std::vector<std::string> AcmeStore::processing_challenges() {
  std::vector<std::string> out;
  ledger_.read([&](Session& db) {
    out.clear();
    const auto s = db.query("SELECT id FROM acme_challenges WHERE status = 'processing'");
    while (s->step()) out.push_back(s->text(0));
  });
  return out;
}

bool AcmeStore::deactivate_authorization(const std::string& id) {
  bool changed = false;
  ledger_.write(
      [&](Session& db) {
        changed = db.exec("UPDATE acme_authorizations SET status = 'deactivated' WHERE id = ? AND status IN "
                          "('pending', 'valid')",
                          {id}) == 1;
      },
      Sync::Ordered);
  return changed;
}

bool AcmeStore::begin_finalize(const std::string& order_id) {
  bool begun = false;
  const std::int64_t now = clock_.unix_seconds();
  ledger_.write(
      [&](Session& db) {
        begun = false;
        const auto s = db.query("SELECT " + std::string(kOrderColumns) + " FROM acme_orders WHERE id = ?", {order_id});
        if (!s->step()) return;
        const Order order = read_order(*s);
        std::vector<Authorization> authzs;
        for (const std::string& id : order.authorization_ids) {
          if (auto a = load_authz(db, id)) authzs.push_back(std::move(*a));
        }
        if (effective_status(order, authzs, now) != OrderStatus::Ready) return;
        // Conditional, so that of two nodes finalizing the same order at once, one begins.
        begun = db.exec("UPDATE acme_orders SET status = 'processing' WHERE id = ? AND status IN ('pending', 'ready')",
                        {order_id}) == 1;
      },
      Sync::Ordered);
  return begun;
}

void AcmeStore::finalize_refused(const std::string& order_id) {
  ledger_.write(
      [&](Session& db) {
        db.exec("UPDATE acme_orders SET status = 'ready' WHERE id = ? AND status = 'processing'", {order_id});
      },
      Sync::Ordered);
}

void AcmeStore::order_valid(const std::string& order_id, const std::string& serial) {
  ledger_.write(
      [&](Session& db) { db.exec("UPDATE acme_orders SET status = 'valid', serial = ? WHERE id = ?", {serial, order_id}); },
      Sync::Durable);
}

void AcmeStore::order_invalid(const std::string& order_id, const json& error) {
  const std::string problem = error.dump();
  ledger_.write(
      [&](Session& db) {
        db.exec("UPDATE acme_orders SET status = 'invalid', error = ? WHERE id = ?", {problem, order_id});
      },
      Sync::Ordered);
}

void AcmeStore::settle_order(const std::string& order_id, OrderStatus status) {
  ledger_.write(
      [&](Session& db) {
        db.exec("UPDATE acme_orders SET status = ? WHERE id = ? AND status IN ('pending', 'ready')",
                {to_string(status), order_id});
      },
      Sync::Ordered);
}

std::int64_t AcmeStore::pending_authorizations(const std::string& account_id) {
  std::int64_t n = 0;
  const std::int64_t now = clock_.unix_seconds();
  ledger_.read([&](Session& db) {
    const auto s = db.query(
        "SELECT count(*) FROM acme_authorizations WHERE account_id = ? AND status = 'pending' AND expires > ?",
        {account_id, now});
    if (s->step()) n = s->int64(0);
  });
  return n;
}

std::int64_t AcmeStore::orders_since(const std::string& account_id, std::int64_t since) {
  std::int64_t n = 0;
  ledger_.read([&](Session& db) {
    const auto s = db.query("SELECT count(*) FROM acme_orders WHERE account_id = ? AND created_at >= ?", {account_id, since});
    if (s->step()) n = s->int64(0);
  });
  return n;
}

std::int64_t AcmeStore::prune(std::int64_t keep) {
  std::int64_t pruned = 0;
  const std::int64_t now = clock_.unix_seconds();
  const std::int64_t before = now - keep;
  const bool nonces = shared();
  ledger_.write(
      [&](Session& db) {
        pruned = db.exec("DELETE FROM acme_orders WHERE expires < ?", {before});
        db.exec("DELETE FROM acme_challenges WHERE authorization_id IN "
                "(SELECT id FROM acme_authorizations WHERE expires < ?)",
                {before});
        db.exec("DELETE FROM acme_authorizations WHERE expires < ?", {before});
        if (nonces) db.exec("DELETE FROM acme_nonces WHERE expires < ?", {now});
      },
      Sync::Ordered);
  return pruned;
}

SecretBytes AcmeStore::shared_nonce_key() {
  if (!shared()) {
    throw Error(ErrorKind::Unsupported, "nonces-not-shared", "a single node's ACME nonces are its own (NonceStore)");
  }
  const SecretBytes drawn(crypto::random_bytes(32));
  std::optional<SecretBytes> out;
  ledger_.write(
      [&](Session& db) {
        // The first node to ask draws it; every later one (and every restart) reads that one.
        db.exec("INSERT INTO acme_nonce_key (id, key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING", {drawn.view()});
        const auto s = db.query("SELECT key FROM acme_nonce_key WHERE id = 1");
        if (!s->step()) corrupt("no nonce key after drawing one");
        const Bytes key = s->blob(0);
        if (key.size() != 32) corrupt("a nonce key that is not 32 bytes");
        out.emplace(key);
      },
      Sync::Durable);
  return std::move(*out);
}

bool AcmeStore::redeem_nonce(ByteView nonce, std::int64_t expires) {
  bool fresh = false;
  ledger_.write(
      [&](Session& db) {
        fresh = db.exec("INSERT INTO acme_nonces (nonce, expires) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING",
                        {nonce, expires}) == 1;
      },
      Sync::Ordered);
  return fresh;
}

}  // namespace signet::acme
