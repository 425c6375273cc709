#include "signet/acme/store.h"

#include <algorithm>

#include "signet/core/error.h"
#include "signet/db/sqlite.h"

namespace signet::acme {
namespace {

using Sync = db::GroupCommitter::Sync;
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

json optional_json(const db::Statement& s, int column, const char* name) {
  return s.is_null(column) ? json() : parse_column(s.text(column), name);
}

constexpr std::string_view kAccountColumns = "id, status, jwk, thumbprint, contact, eab_kid, created_at, created_from";

Account read_account(const db::Statement& s) {
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

std::optional<Account> load_account(db::Database& db, std::string_view where, const std::string& key) {
  db::Statement s = db.cached("SELECT " + std::string(kAccountColumns) + " FROM acme_accounts WHERE " + std::string(where));
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return read_account(s);
}

json identifiers_json(const std::vector<Identifier>& ids) {
  json out = json::array();
  for (const Identifier& i : ids) out.push_back({{"type", i.type}, {"value", i.value}});
  return out;
}

constexpr std::string_view kOrderColumns =
    "id, account_id, status, identifiers, authorizations, not_after, expires, error, serial, created_at";

Order read_order(const db::Statement& s) {
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

Challenge read_challenge(const db::Statement& s) {
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

std::optional<Authorization> load_authz(db::Database& db, const std::string& id) {
  db::Statement s = db.cached("SELECT " + std::string(kAuthzColumns) + " FROM acme_authorizations WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  Authorization a;
  a.id = s.text(0);
  a.account_id = s.text(1);
  a.identifier = {s.text(2), s.text(3)};
  a.wildcard = s.int64(4) != 0;
  a.status = authz_status(s.text(5));
  a.expires = s.int64(6);
  a.created_at = s.int64(7);
  db::Statement c = db.cached("SELECT " + std::string(kChallengeColumns) +
                              " FROM acme_challenges WHERE authorization_id = ? ORDER BY rowid");
  c.bind(1, id);
  while (c.step()) a.challenges.push_back(read_challenge(c));
  return a;
}

// The account's valid authorization for the identifier with a day left, to reuse.
std::optional<std::string> reusable_authz(db::Database& db, const std::string& account_id, const Identifier& id,
                                          bool wildcard, std::int64_t now) {
  db::Statement s = db.cached(
      "SELECT id FROM acme_authorizations WHERE account_id = ? AND identifier_type = ? AND identifier_value = ? "
      "AND wildcard = ? AND status = 'valid' AND expires > ? ORDER BY expires DESC LIMIT 1");
  s.bind(1, account_id).bind(2, id.type).bind(3, id.value).bind(4, std::int64_t{wildcard ? 1 : 0}).bind(5, now + kReuseMargin);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::string create_authz(db::Database& db, const std::string& account_id, const Identifier& order_id,
                         std::int64_t now) {
  const bool wildcard = order_id.value.starts_with("*.");
  const std::string value = wildcard ? order_id.value.substr(2) : order_id.value;
  const std::string id = random_id();
  db.cached(
        "INSERT INTO acme_authorizations (id, account_id, identifier_type, identifier_value, wildcard, status, "
        "expires, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)")
      .bind(1, id)
      .bind(2, account_id)
      .bind(3, order_id.type)
      .bind(4, value)
      .bind(5, std::int64_t{wildcard ? 1 : 0})
      .bind(6, now + kPendingLifetime)
      .bind(7, now)
      .run();
  for (const std::string& type : challenge_types(order_id)) {
    db.cached("INSERT INTO acme_challenges (id, authorization_id, type, token, status) VALUES (?, ?, ?, ?, 'pending')")
        .bind(1, random_id())
        .bind(2, id)
        .bind(3, type)
        .bind(4, random_token())
        .run();
  }
  return id;
}

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

constexpr std::string_view kEabColumns = "kid, name, hmac_sealed, profile, created_at, removed_at, account_id";

ExternalAccountKey read_eab_key(const db::Statement& s) {
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

void set_order_status(db::Database& db, const std::string& id, std::string_view status) {
  db.cached("UPDATE acme_orders SET status = ? WHERE id = ?").bind(1, status).bind(2, id).run();
}

}  // namespace

AcmeStore::AcmeStore(issuance::Ledger& ledger, const Clock& clock) : ledger_(ledger), clock_(clock) {}

std::pair<Account, bool> AcmeStore::create_account(Account account) {
  std::optional<Account> existing;
  account.created_at = clock_.unix_seconds();
  ledger_.write(
      [&](db::Database& db) {
        existing = load_account(db, "thumbprint = ?", account.thumbprint);
        if (existing) return;
        db::Statement s = db.cached(
            "INSERT INTO acme_accounts (id, status, jwk, thumbprint, contact, eab_kid, created_at, created_from) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, account.id).bind(2, to_string(account.status)).bind(3, account.jwk.dump());
        s.bind(4, account.thumbprint).bind(5, json(account.contact).dump());
        if (account.eab_kid.empty()) {
          s.bind_null(6);
        } else {
          s.bind(6, account.eab_kid);
        }
        s.bind(7, account.created_at).bind(8, account.created_from).run();
        if (!account.eab_kid.empty()) {
          db.cached(
                "UPDATE acme_eab_keys SET account_id = ? WHERE kid = ? AND account_id IS NULL AND removed_at IS NULL")
              .bind(1, account.id)
              .bind(2, account.eab_kid)
              .run();
          if (db.changes() != 1) {
            // Thrown inside the write: the account inserted above is rolled back with it.
            throw Error(ErrorKind::Unauthorized, "unauthorized",
                        "this external account binding key was used already for another account, or was removed; "
                        "a key binds one account only: ask the CA's operator for a new one");
          }
        }
      },
      Sync::Durable);
  if (existing) return {std::move(*existing), false};
  return {std::move(account), true};
}

std::optional<Account> AcmeStore::account(const std::string& id) {
  std::optional<Account> out;
  ledger_.read([&](db::Database& db) { out = load_account(db, "id = ?", id); });
  return out;
}

std::optional<Account> AcmeStore::account_by_thumbprint(const std::string& thumbprint) {
  std::optional<Account> out;
  ledger_.read([&](db::Database& db) { out = load_account(db, "thumbprint = ?", thumbprint); });
  return out;
}

std::vector<Account> AcmeStore::accounts() {
  std::vector<Account> out;
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached("SELECT " + std::string(kAccountColumns) + " FROM acme_accounts ORDER BY created_at, id");
    while (s.step()) out.push_back(read_account(s));
  });
  return out;
}

void AcmeStore::update_contact(const std::string& id, const std::vector<std::string>& contact) {
  ledger_.write(
      [&](db::Database& db) {
        db.cached("UPDATE acme_accounts SET contact = ? WHERE id = ?").bind(1, json(contact).dump()).bind(2, id).run();
      },
      Sync::Durable);
}

void AcmeStore::deactivate_account(const std::string& id, const std::string& actor) {
  const std::int64_t now = clock_.unix_seconds();
  ledger_.write(
      [&](db::Database& db) {
        db.cached("UPDATE acme_accounts SET status = 'deactivated' WHERE id = ?").bind(1, id).run();
        if (db.changes() != 1) {
          throw Error(ErrorKind::NotFound, "acme-account-not-found", "there is no ACME account " + id + "; `signet acme accounts list` shows them");
        }
        if (!actor.empty()) write_audit(db, now, actor, "acme.account.deactivate", id, "");
        db.cached("UPDATE acme_authorizations SET status = 'deactivated' WHERE account_id = ? AND status = 'pending'")
            .bind(1, id)
            .run();
      },
      Sync::Durable);
}

void AcmeStore::change_key(const std::string& id, const json& jwk, const std::string& thumbprint) {
  ledger_.write(
      [&](db::Database& db) {
        if (auto other = load_account(db, "thumbprint = ?", thumbprint)) {
          throw Error(ErrorKind::Conflict, "conflict", "the new key is already the key of account " + other->id);
        }
        db.cached("UPDATE acme_accounts SET jwk = ?, thumbprint = ? WHERE id = ?")
            .bind(1, jwk.dump())
            .bind(2, thumbprint)
            .bind(3, id)
            .run();
      },
      Sync::Durable);
}

void AcmeStore::add_eab_key(ExternalAccountKey key, const std::string& actor) {
  key.created_at = clock_.unix_seconds();
  ledger_.write(
      [&](db::Database& db) {
        db::Statement exists = db.cached("SELECT 1 FROM acme_eab_keys WHERE kid = ?");
        exists.bind(1, key.kid);
        if (exists.step()) {
          throw Error(ErrorKind::Conflict, "eab-key-exists", "there is an external account binding key " + key.kid + " already");
        }
        db.cached("INSERT INTO acme_eab_keys (kid, name, hmac_sealed, profile, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(1, key.kid)
            .bind(2, key.name)
            .bind(3, ByteView(key.hmac_sealed))
            .bind(4, key.profile)
            .bind(5, key.created_at)
            .run();
        write_audit(db, key.created_at, actor, "acme.eab.add", key.kid, "name=" + key.name + " profile=" + key.profile);
      },
      Sync::Durable);
}

std::optional<ExternalAccountKey> AcmeStore::eab_key(const std::string& kid, bool include_removed) {
  std::optional<ExternalAccountKey> out;
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached("SELECT " + std::string(kEabColumns) + " FROM acme_eab_keys WHERE kid = ?");
    s.bind(1, kid);
    if (!s.step()) return;
    ExternalAccountKey k = read_eab_key(s);
    if (k.removed_at && !include_removed) return;
    out = std::move(k);
  });
  return out;
}

std::vector<ExternalAccountKey> AcmeStore::eab_keys() {
  std::vector<ExternalAccountKey> out;
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached("SELECT " + std::string(kEabColumns) + " FROM acme_eab_keys ORDER BY created_at, kid");
    while (s.step()) out.push_back(read_eab_key(s));
  });
  return out;
}

void AcmeStore::remove_eab_key(const std::string& kid, const std::string& actor) {
  const std::int64_t now = clock_.unix_seconds();
  ledger_.write(
      [&](db::Database& db) {
        db.cached("UPDATE acme_eab_keys SET removed_at = ? WHERE kid = ? AND removed_at IS NULL")
            .bind(1, now)
            .bind(2, kid)
            .run();
        if (db.changes() != 1) {
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
      [&](db::Database& db) {
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
        db::Statement s = db.cached(
            "INSERT INTO acme_orders (id, account_id, status, identifiers, authorizations, not_after, expires, "
            "created_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)");
        s.bind(1, order.id).bind(2, order.account_id).bind(3, identifiers_json(order.identifiers).dump());
        s.bind(4, json(order.authorization_ids).dump());
        if (order.not_after) {
          s.bind(5, *order.not_after);
        } else {
          s.bind_null(5);
        }
        s.bind(6, order.expires).bind(7, order.created_at).run();
      },
      Sync::Ordered);
  return order;
}

std::optional<Order> AcmeStore::order(const std::string& id) {
  std::optional<Order> out;
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached("SELECT " + std::string(kOrderColumns) + " FROM acme_orders WHERE id = ?");
    s.bind(1, id);
    if (s.step()) out = read_order(s);
  });
  return out;
}

std::vector<std::string> AcmeStore::order_ids(const std::string& account_id, std::size_t limit) {
  std::vector<std::string> out;
  const std::int64_t now = clock_.unix_seconds();
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached(
        "SELECT id FROM acme_orders WHERE account_id = ? AND expires > ? ORDER BY created_at DESC, id LIMIT ?");
    s.bind(1, account_id).bind(2, now).bind(3, static_cast<std::int64_t>(limit));
    while (s.step()) out.push_back(s.text(0));
  });
  return out;
}

std::vector<Authorization> AcmeStore::authorizations_of(const Order& order) {
  std::vector<Authorization> out;
  ledger_.read([&](db::Database& db) {
    for (const std::string& id : order.authorization_ids) {
      if (auto a = load_authz(db, id)) out.push_back(std::move(*a));
    }
  });
  return out;
}

std::optional<Authorization> AcmeStore::authorization(const std::string& id) {
  std::optional<Authorization> out;
  ledger_.read([&](db::Database& db) { out = load_authz(db, id); });
  return out;
}

std::optional<std::pair<Challenge, Authorization>> AcmeStore::challenge(const std::string& id) {
  std::optional<std::pair<Challenge, Authorization>> out;
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached("SELECT authorization_id FROM acme_challenges WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return;
    std::optional<Authorization> authz = load_authz(db, s.text(0));
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
      [&](db::Database& db) {
        db.cached(
              "UPDATE acme_challenges SET status = 'processing' WHERE id = ? AND status = 'pending' AND "
              "authorization_id IN (SELECT id FROM acme_authorizations WHERE status = 'pending' AND expires > ?)")
            .bind(1, id)
            .bind(2, now)
            .run();
        started = db.changes() == 1;
      },
      Sync::Ordered);
  return started;
}

void AcmeStore::finish_challenge(const std::string& id, bool valid, const json& error, const std::string& address) {
  const std::int64_t now = clock_.unix_seconds();
  ledger_.write(
      [&](db::Database& db) {
        db::Statement s = db.cached(
            "UPDATE acme_challenges SET status = ?, validated_at = ?, error = ?, address = ? WHERE id = ? AND "
            "status = 'processing'");
        s.bind(1, valid ? "valid" : "invalid");
        if (valid) {
          s.bind(2, now).bind_null(3);
        } else {
          s.bind_null(2).bind(3, error.dump());
        }
        s.bind(4, address).bind(5, id).run();
        if (db.changes() != 1) return;  // no longer processing (its authorization was deactivated)
        db.cached(
              "UPDATE acme_authorizations SET status = ?, expires = CASE WHEN ? THEN ? ELSE expires END "
              "WHERE id = (SELECT authorization_id FROM acme_challenges WHERE id = ?) AND status = 'pending'")
            .bind(1, valid ? "valid" : "invalid")
            .bind(2, std::int64_t{valid ? 1 : 0})
            .bind(3, now + kValidAuthzLifetime)
            .bind(4, id)
            .run();
      },
      Sync::Ordered);
}

std::vector<std::string> AcmeStore::processing_challenges() {
  std::vector<std::string> out;
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached("SELECT id FROM acme_challenges WHERE status = 'processing'");
    while (s.step()) out.push_back(s.text(0));
  });
  return out;
}

bool AcmeStore::deactivate_authorization(const std::string& id) {
  bool changed = false;
  ledger_.write(
      [&](db::Database& db) {
        db.cached("UPDATE acme_authorizations SET status = 'deactivated' WHERE id = ? AND status IN ('pending', 'valid')")
            .bind(1, id)
            .run();
        changed = db.changes() == 1;
      },
      Sync::Ordered);
  return changed;
}

bool AcmeStore::begin_finalize(const std::string& order_id) {
  bool begun = false;
  const std::int64_t now = clock_.unix_seconds();
  ledger_.write(
      [&](db::Database& db) {
        db::Statement s = db.cached("SELECT " + std::string(kOrderColumns) + " FROM acme_orders WHERE id = ?");
        s.bind(1, order_id);
        if (!s.step()) return;
        const Order order = read_order(s);
        std::vector<Authorization> authzs;
        for (const std::string& id : order.authorization_ids) {
          if (auto a = load_authz(db, id)) authzs.push_back(std::move(*a));
        }
        if (effective_status(order, authzs, now) != OrderStatus::Ready) return;
        set_order_status(db, order_id, "processing");
        begun = true;
      },
      Sync::Ordered);
  return begun;
}

void AcmeStore::finalize_refused(const std::string& order_id) {
  ledger_.write(
      [&](db::Database& db) {
        db.cached("UPDATE acme_orders SET status = 'ready' WHERE id = ? AND status = 'processing'").bind(1, order_id).run();
      },
      Sync::Ordered);
}

void AcmeStore::order_valid(const std::string& order_id, const std::string& serial) {
  ledger_.write(
      [&](db::Database& db) {
        db.cached("UPDATE acme_orders SET status = 'valid', serial = ? WHERE id = ?").bind(1, serial).bind(2, order_id).run();
      },
      Sync::Durable);
}

void AcmeStore::order_invalid(const std::string& order_id, const json& error) {
  ledger_.write(
      [&](db::Database& db) {
        db.cached("UPDATE acme_orders SET status = 'invalid', error = ? WHERE id = ?")
            .bind(1, error.dump())
            .bind(2, order_id)
            .run();
      },
      Sync::Ordered);
}

void AcmeStore::settle_order(const std::string& order_id, OrderStatus status) {
  ledger_.write(
      [&](db::Database& db) {
        db.cached("UPDATE acme_orders SET status = ? WHERE id = ? AND status IN ('pending', 'ready')")
            .bind(1, to_string(status))
            .bind(2, order_id)
            .run();
      },
      Sync::Ordered);
}

std::int64_t AcmeStore::pending_authorizations(const std::string& account_id) {
  std::int64_t n = 0;
  const std::int64_t now = clock_.unix_seconds();
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached(
        "SELECT count(*) FROM acme_authorizations WHERE account_id = ? AND status = 'pending' AND expires > ?");
    s.bind(1, account_id).bind(2, now);
    if (s.step()) n = s.int64(0);
  });
  return n;
}

std::int64_t AcmeStore::orders_since(const std::string& account_id, std::int64_t since) {
  std::int64_t n = 0;
  ledger_.read([&](db::Database& db) {
    db::Statement s = db.cached("SELECT count(*) FROM acme_orders WHERE account_id = ? AND created_at >= ?");
    s.bind(1, account_id).bind(2, since);
    if (s.step()) n = s.int64(0);
  });
  return n;
}

std::int64_t AcmeStore::prune(std::int64_t keep) {
  std::int64_t pruned = 0;
  const std::int64_t before = clock_.unix_seconds() - keep;
  ledger_.write(
      [&](db::Database& db) {
        db.cached("DELETE FROM acme_orders WHERE expires < ?").bind(1, before).run();
        pruned = db.changes();
        db.cached(
              "DELETE FROM acme_challenges WHERE authorization_id IN "
              "(SELECT id FROM acme_authorizations WHERE expires < ?)")
            .bind(1, before)
            .run();
        db.cached("DELETE FROM acme_authorizations WHERE expires < ?").bind(1, before).run();
      },
      Sync::Ordered);
  return pruned;
}

}  // namespace signet::acme
