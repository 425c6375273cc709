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

}  // namespace
}  // namespace signet::acme
