#include "signet/acme/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <set>

#include "signet/core/error.h"
#include "signet/crypto/primitives.h"
#include "signet/acme/nonces.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "support/error_assert.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace signet::acme {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::capture_error;

class SteppedClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return TimePoint(std::chrono::seconds(seconds.load())); }
  std::atomic<std::int64_t> seconds{1'800'000'000};
};

enum class Kind { Sqlite, Postgres };

// Every test on both ledger backends: the key store's SQLite file, and a PostgreSQL database.
class AcmeStoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::Sqlite) {
      (void)keystore::KeyStore::create(tmp_ / "store", Passphrase(as_bytes("acme store test")),
                                       crypto::ScryptParams::insecure_for_tests());
    } else {
      url_ = test::new_test_database();
    }
    reopen();
  }
  // Another process's view of the same database, as after a restart of signetd; or, on
  // PostgreSQL, another node.
  [[nodiscard]] std::unique_ptr<issuance::Ledger> node() const {
    if (GetParam() == Kind::Sqlite) {
      return std::make_unique<issuance::Ledger>(keystore::KeyStore::database_path(tmp_ / "store"), clock_);
    }
    return std::make_unique<issuance::Ledger>(test::test_database_settings(url_), test::test_ledger_owner("ACME CA"),
                                              clock_);
  }
  void reopen() {
    store_.reset();
    ledger_ = node();
    store_ = std::make_unique<AcmeStore>(*ledger_, clock_);
  }
  // Runs SQL on the database behind the store, as an operator with a SQL shell would; returns the
  // rows, one line each, columns separated by "|".
  std::string sql(const std::string& statement) {
    if (GetParam() == Kind::Postgres) {
      return test::PostgresServer::shared().psql(url_.substr(url_.rfind('/') + 1), statement);
    }
    db::Database db = db::Database::open(keystore::KeyStore::database_path(tmp_ / "store"), db::OpenMode::ReadWrite);
    if (!statement.starts_with("SELECT")) {
      db.exec("PRAGMA ignore_check_constraints = ON; " + statement);
      return "";
    }
    db::Statement s = db.prepare(statement);
    std::string out;
    while (s.step()) out += s.text(0) + "\n";
    return out;
  }

  Account account(const std::string& thumbprint) {
    Account a;
    a.id = random_id();
    a.jwk = json{{"kty", "EC"}, {"x", thumbprint}};
    a.thumbprint = thumbprint;
    a.contact = {"mailto:ops@example.com"};
    a.created_from = "127.0.0.1";
    return store_->create_account(a).first;
  }

  Order order(const std::string& account_id, std::vector<Identifier> ids) {
    return store_->create_order(NewOrder{account_id, std::move(ids), std::nullopt});
  }

  // Validates the first challenge of each of the order's authorizations with `valid`.
  void validate(const Order& o, bool valid) {
    for (const Authorization& a : store_->authorizations_of(o)) {
      ASSERT_TRUE(store_->start_challenge(a.challenges.front().id));
      store_->finish_challenge(a.challenges.front().id, valid,
                               valid ? json() : json{{"type", "urn:ietf:params:acme:error:connection"}}, "127.0.0.1");
    }
  }

  OrderStatus status(const Order& o) {
    const Order now = *store_->order(o.id);
    return effective_status(now, store_->authorizations_of(now), clock_.unix_seconds());
  }

  test::TempDir tmp_;
  std::string url_;
  SteppedClock clock_;
  std::unique_ptr<issuance::Ledger> ledger_;
  std::unique_ptr<AcmeStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, AcmeStoreTest, ::testing::Values(Kind::Sqlite, Kind::Postgres),
                         [](const ::testing::TestParamInfo<Kind>& p) { return p.param == Kind::Sqlite ? "Sqlite" : "Postgres"; });

// External account binding keys are added on the SQLite ledger only (each node's key store seals
// them under its own data key).
class AcmeStoreSqliteTest : public AcmeStoreTest {};
INSTANTIATE_TEST_SUITE_P(Backends, AcmeStoreSqliteTest, ::testing::Values(Kind::Sqlite),
                         [](const ::testing::TestParamInfo<Kind>&) { return "Sqlite"; });

TEST_P(AcmeStoreTest, AnAccountIsFoundByItsKeyAndSurvivesARestart) {
  const Account a = account("thumb-a");
  Account again;
  again.id = random_id();
  again.thumbprint = "thumb-a";
  again.jwk = json::object();
  auto [existing, created] = store_->create_account(again);
  EXPECT_FALSE(created);
  EXPECT_EQ(existing.id, a.id);
  reopen();
  const auto found = store_->account_by_thumbprint("thumb-a");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, a.id);
  EXPECT_EQ(found->contact, a.contact);
  EXPECT_EQ(store_->accounts().size(), 1u);
}

TEST_P(AcmeStoreTest, AKeyChangeToAKeyInUseIsAConflict) {
  const Account a = account("thumb-a");
  const Account b = account("thumb-b");
  EXPECT_EQ(capture_error([&] { store_->change_key(a.id, json::object(), "thumb-b"); }).code(), "conflict");
  store_->change_key(a.id, json{{"kty", "OKP"}}, "thumb-c");
  EXPECT_EQ(store_->account_by_thumbprint("thumb-c")->id, a.id);
  EXPECT_FALSE(store_->account_by_thumbprint("thumb-a"));
}

TEST_P(AcmeStoreTest, AnOrderBecomesReadyWhenItsAuthorizationsAreValidAndIsFinalizedOnce) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}, {"dns", "*.b.example.com"}});
  const auto authzs = store_->authorizations_of(o);
  ASSERT_EQ(authzs.size(), 2u);
  EXPECT_EQ(authzs[0].challenges.size(), 3u);
  EXPECT_TRUE(authzs[1].wildcard);
  EXPECT_EQ(authzs[1].identifier.value, "b.example.com");
  ASSERT_EQ(authzs[1].challenges.size(), 1u);
  EXPECT_EQ(authzs[1].challenges[0].type, "dns-01");
  EXPECT_EQ(status(o), OrderStatus::Pending);
  EXPECT_FALSE(store_->begin_finalize(o.id)) << "a pending order was finalized";

  validate(o, true);
  EXPECT_EQ(status(o), OrderStatus::Ready);
  // A challenge is validated once: a second start finds it valid.
  EXPECT_FALSE(store_->start_challenge(authzs[0].challenges.front().id));
  EXPECT_TRUE(store_->begin_finalize(o.id));
  EXPECT_FALSE(store_->begin_finalize(o.id)) << "an order was finalized twice";
  store_->finalize_refused(o.id);
  EXPECT_EQ(status(o), OrderStatus::Ready);
  ASSERT_TRUE(store_->begin_finalize(o.id));
  store_->order_valid(o.id, "0A1B");
  reopen();
  EXPECT_EQ(store_->order(o.id)->status, OrderStatus::Valid);
  EXPECT_EQ(store_->order(o.id)->serial, "0A1B");
}

TEST_P(AcmeStoreTest, ValidAuthorizationsAreReusedByTheSameAccountOnly) {
  const Account a = account("thumb-a");
  const Account b = account("thumb-b");
  const Order first = order(a.id, {{"dns", "a.example.com"}});
  validate(first, true);
  const Order second = order(a.id, {{"dns", "a.example.com"}, {"dns", "c.example.com"}});
  EXPECT_EQ(second.authorization_ids.front(), first.authorization_ids.front());
  EXPECT_NE(second.authorization_ids.back(), first.authorization_ids.front());
  const Order other = order(b.id, {{"dns", "a.example.com"}});
  EXPECT_NE(other.authorization_ids.front(), first.authorization_ids.front());
  // Not one within a day of its expiry.
  clock_.seconds += kValidAuthzLifetime - kReuseMargin;
  const Order late = order(a.id, {{"dns", "a.example.com"}});
  EXPECT_NE(late.authorization_ids.front(), first.authorization_ids.front());
}

TEST_P(AcmeStoreTest, AFailedValidationMakesTheOrderInvalid) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  validate(o, false);
  EXPECT_EQ(status(o), OrderStatus::Invalid);
  const auto authz = store_->authorizations_of(o).front();
  EXPECT_EQ(authz.status, AuthzStatus::Invalid);
  EXPECT_EQ(authz.challenges.front().error["type"], "urn:ietf:params:acme:error:connection");
}

TEST_P(AcmeStoreTest, ChallengesLeftProcessingAreFoundAfterARestart) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  const std::string id = store_->authorizations_of(o).front().challenges.front().id;
  ASSERT_TRUE(store_->start_challenge(id));
  reopen();
  EXPECT_EQ(store_->processing_challenges(), std::vector<std::string>{id});
}

TEST_P(AcmeStoreTest, DeactivatingAnAccountDeactivatesItsPendingAuthorizations) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  EXPECT_EQ(store_->pending_authorizations(a.id), 1);
  store_->deactivate_account(a.id);
  EXPECT_EQ(store_->account(a.id)->status, AccountStatus::Deactivated);
  EXPECT_EQ(store_->pending_authorizations(a.id), 0);
  EXPECT_EQ(status(o), OrderStatus::Invalid);
}

TEST_P(AcmeStoreTest, LimitsCountAndExpiredOrdersArePruned) {
  const Account a = account("thumb-a");
  for (int i = 0; i < 3; ++i) (void)order(a.id, {{"dns", "n" + std::to_string(i) + ".example.com"}});
  EXPECT_EQ(store_->orders_since(a.id, clock_.unix_seconds() - 10), 3);
  EXPECT_EQ(store_->pending_authorizations(a.id), 3);
  EXPECT_EQ(store_->order_ids(a.id, 10).size(), 3u);
  clock_.seconds += kPendingLifetime + 24 * 3600 + 1;
  EXPECT_EQ(store_->pending_authorizations(a.id), 0);
  EXPECT_EQ(store_->prune(), 3);
  EXPECT_TRUE(store_->order_ids(a.id, 10).empty());
  EXPECT_TRUE(store_->processing_challenges().empty());
}

TEST_P(AcmeStoreTest, AHandEditedStatusIsReportedNotGuessed) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  if (GetParam() == Kind::Postgres) (void)sql("ALTER TABLE acme_orders DROP CONSTRAINT acme_orders_status_check");
  (void)sql("UPDATE acme_orders SET status = 'sort-of' WHERE id = '" + o.id + "'");
  EXPECT_EQ(capture_error([&] { (void)store_->order(o.id); }).code(), "acme-state-corrupt");
}

// ---- external account binding keys

TEST_P(AcmeStoreSqliteTest, EabKeysAreStoredSealedListedAndRemoved) {
  const Bytes sealed = {1, 2, 3, 4};
  ExternalAccountKey k;
  k.kid = "kid-1";
  k.name = "team a";
  k.hmac_sealed = sealed;
  k.profile = "server-tls";
  store_->add_eab_key(k, "cli:tester");
  reopen();
  const auto found = store_->eab_key("kid-1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "team a");
  EXPECT_EQ(found->hmac_sealed, sealed);
  EXPECT_EQ(found->profile, "server-tls");
  EXPECT_EQ(found->created_at, clock_.unix_seconds());
  EXPECT_FALSE(found->removed_at.has_value());
  EXPECT_TRUE(found->account_id.empty());
  EXPECT_FALSE(store_->eab_key("kid-2").has_value());

  const Error taken = capture_error([&] { store_->add_eab_key(k, "cli:tester"); });
  EXPECT_EQ(taken.kind(), ErrorKind::Conflict);
  EXPECT_EQ(taken.code(), "eab-key-exists");

  k.kid = "kid-2";
  k.name = "team b";
  clock_.seconds += 10;
  store_->add_eab_key(k, "cli:tester");
  const auto all = store_->eab_keys();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kid, "kid-1");
  EXPECT_EQ(all[1].kid, "kid-2");

  store_->remove_eab_key("kid-1", "cli:tester");
  EXPECT_FALSE(store_->eab_key("kid-1").has_value());
  ASSERT_TRUE(store_->eab_key("kid-1", true).has_value());
  EXPECT_EQ(*store_->eab_key("kid-1", true)->removed_at, clock_.unix_seconds());
  EXPECT_EQ(store_->eab_keys().size(), 2u);
  const Error again = capture_error([&] { store_->remove_eab_key("kid-1", "cli:tester"); });
  EXPECT_EQ(again.kind(), ErrorKind::NotFound);
  EXPECT_EQ(again.code(), "eab-key-not-found");
  EXPECT_EQ(capture_error([&] { store_->remove_eab_key("nope", "cli:tester"); }).code(), "eab-key-not-found");

  // Audited, without the key.
  db::Database db = db::Database::open(keystore::KeyStore::database_path(tmp_ / "store"), db::OpenMode::ReadOnly);
  db::Statement audit = db.prepare("SELECT actor, action, subject, detail FROM audit_log WHERE action LIKE 'acme.%' ORDER BY id");
  std::vector<std::string> rows;
  while (audit.step()) rows.push_back(audit.text(0) + " " + audit.text(1) + " " + audit.text(2) + " " + audit.text(3));
  EXPECT_EQ(rows, (std::vector<std::string>{"cli:tester acme.eab.add kid-1 name=team a profile=server-tls",
                                            "cli:tester acme.eab.add kid-2 name=team b profile=server-tls",
                                            "cli:tester acme.eab.remove kid-1 "}));
}

TEST_P(AcmeStoreSqliteTest, AnEabKeyBindsOneAccountOnly) {
  ExternalAccountKey k;
  k.kid = "kid-1";
  k.name = "one";
  k.hmac_sealed = {9};
  k.profile = "server-tls";
  store_->add_eab_key(k, "cli:tester");

  Account a;
  a.id = random_id();
  a.jwk = json{{"kty", "EC"}, {"x", "a"}};
  a.thumbprint = "thumb-a";
  a.created_from = "127.0.0.1";
  a.eab_kid = "kid-1";
  const auto [stored, created] = store_->create_account(a);
  EXPECT_TRUE(created);
  EXPECT_EQ(stored.eab_kid, "kid-1");
  EXPECT_EQ(store_->account(a.id)->eab_kid, "kid-1");
  EXPECT_EQ(store_->eab_key("kid-1")->account_id, a.id);

  // The same key again for another account key: refused, and that account is not created.
  Account b = a;
  b.id = random_id();
  b.thumbprint = "thumb-b";
  const Error used = capture_error([&] { (void)store_->create_account(b); });
  EXPECT_EQ(used.kind(), ErrorKind::Unauthorized);
  EXPECT_EQ(used.code(), "unauthorized");
  EXPECT_FALSE(store_->account(b.id).has_value());
  EXPECT_FALSE(store_->account_by_thumbprint("thumb-b").has_value());
  EXPECT_EQ(store_->eab_key("kid-1")->account_id, a.id);

  // The first account's key again: that account, the binding untouched.
  const auto [existing, created_again] = store_->create_account(a);
  EXPECT_FALSE(created_again);
  EXPECT_EQ(existing.id, a.id);

  // An unknown or removed key binds nothing either.
  b.eab_kid = "kid-unknown";
  EXPECT_EQ(capture_error([&] { (void)store_->create_account(b); }).code(), "unauthorized");
  k.kid = "kid-2";
  store_->add_eab_key(k, "cli:tester");
  store_->remove_eab_key("kid-2", "cli:tester");
  b.eab_kid = "kid-2";
  EXPECT_EQ(capture_error([&] { (void)store_->create_account(b); }).code(), "unauthorized");
  EXPECT_FALSE(store_->account(b.id).has_value());
  EXPECT_EQ(store_->accounts().size(), 1u);
}

TEST_P(AcmeStoreTest, AnOperatorDeactivatesAnAccountAuditedAndUnknownIdsAreNotFound) {
  const Account a = account("thumb-a");
  store_->deactivate_account(a.id, "cli:tester");
  EXPECT_EQ(store_->account(a.id)->status, AccountStatus::Deactivated);
  const Error unknown = capture_error([&] { store_->deactivate_account("no-such-account", "cli:tester"); });
  EXPECT_EQ(unknown.kind(), ErrorKind::NotFound);
  EXPECT_EQ(unknown.code(), "acme-account-not-found");
  const Error again = capture_error([&] { store_->deactivate_account(a.id, "cli:tester"); });
  EXPECT_EQ(again.code(), "acme-account-deactivated") << "a second deactivation changes nothing and is not audited";
  EXPECT_EQ(sql("SELECT count(*) FROM audit_log WHERE action = 'acme.account.deactivate' AND subject = '" + a.id + "'"),
            "1\n");
}

// ---- several nodes (on SQLite: two ledgers on one file, as signetd and the CLI)

TEST_P(AcmeStoreTest, TwoNodesCreatingOneKeysAccountAtOnceGetOneAccount) {
  const std::unique_ptr<issuance::Ledger> other_ledger = node();
  AcmeStore other(*other_ledger, clock_);
  std::vector<std::future<std::pair<Account, bool>>> creations;
  for (int i = 0; i < 8; ++i) {
    creations.push_back(std::async(std::launch::async, [&, i] {
      Account a;
      a.id = random_id();
      a.jwk = json{{"kty", "EC"}};
      a.thumbprint = "thumb-raced";
      a.created_from = "127.0.0.1";
      return (i % 2 == 0 ? *store_ : other).create_account(a);
    }));
  }
  std::set<std::string> ids;
  int created = 0;
  for (auto& c : creations) {
    const auto [account, is_new] = c.get();
    ids.insert(account.id);
    created += is_new ? 1 : 0;
  }
  EXPECT_EQ(ids.size(), 1u) << "one key, one account, whichever node answered";
  EXPECT_EQ(created, 1);
  EXPECT_EQ(other.accounts().size(), 1u);
}

TEST_P(AcmeStoreTest, AnOrderMadeOnOneNodeIsFinalizedOnceWhenTwoNodesTry) {
  const std::unique_ptr<issuance::Ledger> other_ledger = node();
  AcmeStore other(*other_ledger, clock_);
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  ASSERT_TRUE(other.order(o.id).has_value()) << "the other node does not see the order";
  // The challenge is validated by the other node.
  const auto authzs = other.authorizations_of(o);
  ASSERT_EQ(authzs.size(), 1u);
  ASSERT_TRUE(other.start_challenge(authzs[0].challenges.front().id));
  EXPECT_FALSE(store_->start_challenge(authzs[0].challenges.front().id)) << "validated on two nodes at once";
  other.finish_challenge(authzs[0].challenges.front().id, true, json(), "127.0.0.1");
  EXPECT_EQ(status(o), OrderStatus::Ready);
  for (int round = 0; round < 5; ++round) {
    auto first = std::async(std::launch::async, [&] { return store_->begin_finalize(o.id); });
    auto second = std::async(std::launch::async, [&] { return other.begin_finalize(o.id); });
    const int begun = (first.get() ? 1 : 0) + (second.get() ? 1 : 0);
    ASSERT_EQ(begun, 1) << "round " << round << ": an order must begin finalizing on one node";
    store_->finalize_refused(o.id);
  }
}

TEST_P(AcmeStoreTest, NoncesAreSharedByTheNodesOfAPostgresLedgerAndUsedOnce) {
  if (GetParam() == Kind::Sqlite) {
    EXPECT_FALSE(store_->shared());
    EXPECT_EQ(capture_error([&] { (void)store_->shared_nonce_key(); }).kind(), ErrorKind::Unsupported);
    return;
  }
  const std::unique_ptr<issuance::Ledger> other_ledger = node();
  AcmeStore other(*other_ledger, clock_);
  ASSERT_TRUE(store_->shared());
  const SecretBytes key = store_->shared_nonce_key();
  const SecretBytes other_key = other.shared_nonce_key();
  EXPECT_TRUE(crypto::equal_constant_time(key.view(), other_key.view())) << "the nodes must authenticate nonces with one key";
  const auto redeem_on = [](AcmeStore& s) {
    return [&s](ByteView nonce, std::int64_t expires) { return s.redeem_nonce(nonce, expires); };
  };
  NonceStore a(store_->shared_nonce_key(), redeem_on(*store_), std::chrono::hours(1), clock_);
  NonceStore b(other.shared_nonce_key(), redeem_on(other), std::chrono::hours(1), clock_);
  const std::string n = a.issue();
  EXPECT_TRUE(b.authentic(n));
  EXPECT_EQ(sql("SELECT count(*) FROM acme_nonces"), "0\n") << "checking a nonce must not use it up";
  EXPECT_TRUE(b.consume(n)) << "a nonce from one node is good on another";
  EXPECT_TRUE(a.authentic(n)) << "authentic, though used";
  EXPECT_FALSE(a.consume(n)) << "a nonce was used twice, once on each node";
  EXPECT_FALSE(b.consume(n)) << "a nonce was used twice on one node";
  NonceStore own;  // a node that does not share: its key is its own
  EXPECT_FALSE(b.consume(own.issue()));
  EXPECT_FALSE(b.consume("not-a-nonce"));

  // Many nodes taking the same nonces at once: each is taken once.
  std::vector<std::string> nonces;
  for (int i = 0; i < 50; ++i) nonces.push_back(a.issue());
  std::atomic<int> taken{0};
  auto take_all = [&](NonceStore& s) {
    for (const std::string& x : nonces) taken += s.consume(x) ? 1 : 0;
  };
  auto on_a = std::async(std::launch::async, [&] { take_all(a); });
  auto on_b = std::async(std::launch::async, [&] { take_all(b); });
  on_a.get();
  on_b.get();
  EXPECT_EQ(taken.load(), 50);

  EXPECT_EQ(sql("SELECT count(*) FROM acme_nonces"), "51\n");
  clock_.seconds += 3 * 3600;  // the nonces have expired: pruning takes their rows
  (void)store_->prune();
  EXPECT_EQ(sql("SELECT count(*) FROM acme_nonces"), "0\n");
  EXPECT_FALSE(b.consume(n)) << "an expired nonce was taken after its row was pruned";
}

TEST_P(AcmeStoreTest, EabKeysCannotBeAddedToAPostgresLedger) {
  ExternalAccountKey k;
  k.kid = "kid-1";
  k.name = "team a";
  k.hmac_sealed = Bytes(40, 1);
  k.profile = "server-tls";
  if (GetParam() == Kind::Sqlite) {
    store_->add_eab_key(k, "cli:tester");
    EXPECT_TRUE(store_->eab_key("kid-1").has_value());
    return;
  }
  const Error e = capture_error([&] { store_->add_eab_key(k, "cli:tester"); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.code(), "eab-needs-sqlite");
  EXPECT_NE(std::string(e.what()).find("key store"), std::string::npos) << e.what();
  EXPECT_TRUE(store_->eab_keys().empty());
}

}  // namespace
}  // namespace signet::acme
