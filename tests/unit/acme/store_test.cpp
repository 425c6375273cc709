#include "signet/acme/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "signet/core/error.h"
#include "signet/crypto/primitives.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "support/error_assert.h"
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

class AcmeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)keystore::KeyStore::create(tmp_ / "store", Passphrase(as_bytes("acme store test")),
                                     crypto::ScryptParams::insecure_for_tests());
    reopen();
  }
  // Another process's view of the same file, as after a restart of signetd.
  void reopen() {
    store_.reset();
    ledger_ = std::make_unique<issuance::Ledger>(keystore::KeyStore::database_path(tmp_ / "store"), clock_);
    store_ = std::make_unique<AcmeStore>(*ledger_, clock_);
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
  SteppedClock clock_;
  std::unique_ptr<issuance::Ledger> ledger_;
  std::unique_ptr<AcmeStore> store_;
};

TEST_F(AcmeStoreTest, AnAccountIsFoundByItsKeyAndSurvivesARestart) {
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

TEST_F(AcmeStoreTest, AKeyChangeToAKeyInUseIsAConflict) {
  const Account a = account("thumb-a");
  const Account b = account("thumb-b");
  EXPECT_EQ(capture_error([&] { store_->change_key(a.id, json::object(), "thumb-b"); }).code(), "conflict");
  store_->change_key(a.id, json{{"kty", "OKP"}}, "thumb-c");
  EXPECT_EQ(store_->account_by_thumbprint("thumb-c")->id, a.id);
  EXPECT_FALSE(store_->account_by_thumbprint("thumb-a"));
}

TEST_F(AcmeStoreTest, AnOrderBecomesReadyWhenItsAuthorizationsAreValidAndIsFinalizedOnce) {
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

TEST_F(AcmeStoreTest, ValidAuthorizationsAreReusedByTheSameAccountOnly) {
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

TEST_F(AcmeStoreTest, AFailedValidationMakesTheOrderInvalid) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  validate(o, false);
  EXPECT_EQ(status(o), OrderStatus::Invalid);
  const auto authz = store_->authorizations_of(o).front();
  EXPECT_EQ(authz.status, AuthzStatus::Invalid);
  EXPECT_EQ(authz.challenges.front().error["type"], "urn:ietf:params:acme:error:connection");
}

TEST_F(AcmeStoreTest, ChallengesLeftProcessingAreFoundAfterARestart) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  const std::string id = store_->authorizations_of(o).front().challenges.front().id;
  ASSERT_TRUE(store_->start_challenge(id));
  reopen();
  EXPECT_EQ(store_->processing_challenges(), std::vector<std::string>{id});
}

TEST_F(AcmeStoreTest, DeactivatingAnAccountDeactivatesItsPendingAuthorizations) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  EXPECT_EQ(store_->pending_authorizations(a.id), 1);
  store_->deactivate_account(a.id);
  EXPECT_EQ(store_->account(a.id)->status, AccountStatus::Deactivated);
  EXPECT_EQ(store_->pending_authorizations(a.id), 0);
  EXPECT_EQ(status(o), OrderStatus::Invalid);
}

TEST_F(AcmeStoreTest, LimitsCountAndExpiredOrdersArePruned) {
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

TEST_F(AcmeStoreTest, AHandEditedStatusIsReportedNotGuessed) {
  const Account a = account("thumb-a");
  const Order o = order(a.id, {{"dns", "a.example.com"}});
  {
    db::Database db = db::Database::open(keystore::KeyStore::database_path(tmp_ / "store"), db::OpenMode::ReadWrite);
    db.exec("PRAGMA ignore_check_constraints = ON; UPDATE acme_orders SET status = 'sort-of' WHERE id = '" + o.id + "'");
  }
  EXPECT_EQ(capture_error([&] { (void)store_->order(o.id); }).code(), "acme-state-corrupt");
}

// ---- external account binding keys

TEST_F(AcmeStoreTest, EabKeysAreStoredSealedListedAndRemoved) {
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

TEST_F(AcmeStoreTest, AnEabKeyBindsOneAccountOnly) {
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

TEST_F(AcmeStoreTest, AnOperatorDeactivatesAnAccountAuditedAndUnknownIdsAreNotFound) {
  const Account a = account("thumb-a");
  store_->deactivate_account(a.id, "cli:tester");
  EXPECT_EQ(store_->account(a.id)->status, AccountStatus::Deactivated);
  const Error unknown = capture_error([&] { store_->deactivate_account("no-such-account", "cli:tester"); });
  EXPECT_EQ(unknown.kind(), ErrorKind::NotFound);
  EXPECT_EQ(unknown.code(), "acme-account-not-found");
  db::Database db = db::Database::open(keystore::KeyStore::database_path(tmp_ / "store"), db::OpenMode::ReadOnly);
  db::Statement audit = db.prepare("SELECT count(*) FROM audit_log WHERE action = 'acme.account.deactivate' AND subject = ?");
  audit.bind(1, a.id);
  ASSERT_TRUE(audit.step());
  EXPECT_EQ(audit.int64(0), 1);
}

}  // namespace
}  // namespace signet::acme
