#include "signet/acme/order.h"

#include <gtest/gtest.h>

#include "signet/core/error.h"
#include "support/error_assert.h"

namespace signet::acme {
namespace {

using test::capture_error;
using json = nlohmann::json;

constexpr std::int64_t kNow = 1'800'000'000;

Authorization authz(AuthzStatus status, std::int64_t expires = kNow + 3600) {
  Authorization a;
  a.status = status;
  a.expires = expires;
  return a;
}

Order order_of(std::size_t authzs, OrderStatus status = OrderStatus::Pending, std::int64_t expires = kNow + 3600) {
  Order o;
  o.status = status;
  o.expires = expires;
  for (std::size_t i = 0; i < authzs; ++i) o.authorization_ids.push_back("a" + std::to_string(i));
  return o;
}

TEST(AcmeOrderStatus, FollowsItsAuthorizationsAsRfc8555Says) {
  const Order o = order_of(2);
  EXPECT_EQ(effective_status(o, {authz(AuthzStatus::Pending), authz(AuthzStatus::Valid)}, kNow), OrderStatus::Pending);
  EXPECT_EQ(effective_status(o, {authz(AuthzStatus::Valid), authz(AuthzStatus::Valid)}, kNow), OrderStatus::Ready);
  for (AuthzStatus bad : {AuthzStatus::Invalid, AuthzStatus::Deactivated, AuthzStatus::Revoked}) {
    EXPECT_EQ(effective_status(o, {authz(AuthzStatus::Valid), authz(bad)}, kNow), OrderStatus::Invalid)
        << to_string(bad);
  }
  // An authorization past its expiry is expired, and its order invalid.
  EXPECT_EQ(effective_status(authz(AuthzStatus::Valid, kNow), kNow), AuthzStatus::Expired);
  EXPECT_EQ(effective_status(o, {authz(AuthzStatus::Valid), authz(AuthzStatus::Valid, kNow - 1)}, kNow),
            OrderStatus::Invalid);
  // A missing authorization (pruned, or a hand-edited row) never makes an order ready.
  EXPECT_EQ(effective_status(o, {authz(AuthzStatus::Valid)}, kNow), OrderStatus::Pending);
}

TEST(AcmeOrderStatus, AnExpiredOrderIsInvalidButFinishedOnesStayAsTheyAre) {
  const std::vector<Authorization> valid = {authz(AuthzStatus::Valid)};
  EXPECT_EQ(effective_status(order_of(1, OrderStatus::Ready, kNow), valid, kNow), OrderStatus::Invalid);
  EXPECT_EQ(effective_status(order_of(1, OrderStatus::Valid, kNow - 100), valid, kNow), OrderStatus::Valid);
  EXPECT_EQ(effective_status(order_of(1, OrderStatus::Processing), {authz(AuthzStatus::Invalid)}, kNow),
            OrderStatus::Processing);
}

TEST(AcmeStatusNames, RoundTripAndRefuseUnknownOnes) {
  for (OrderStatus s : {OrderStatus::Pending, OrderStatus::Ready, OrderStatus::Processing, OrderStatus::Valid,
                        OrderStatus::Invalid}) {
    EXPECT_EQ(order_status(to_string(s)), s);
  }
  EXPECT_EQ(capture_error([] { (void)authz_status("sort-of-valid"); }).code(), "acme-state-corrupt");
}

TEST(AcmeIdentifiers, AreNormalizedAndCheckedAgainstTheProfile) {
  issuance::Profile p;
  p.name = "acme";
  p.dns_suffixes = {"example.com"};
  p.ip_networks = {issuance::IpNetwork::parse("192.0.2.0/24")};
  EXPECT_EQ(check_identifier(json{{"type", "dns"}, {"value", "WWW.Example.COM"}}, p),
            (Identifier{"dns", "www.example.com"}));
  EXPECT_EQ(check_identifier(json{{"type", "ip"}, {"value", "192.0.2.7"}}, p), (Identifier{"ip", "192.0.2.7"}));
  EXPECT_EQ(capture_error([&] { (void)check_identifier(json{{"type", "dns"}, {"value", "www.example.org"}}, p); }).code(),
            "rejectedIdentifier");
  EXPECT_EQ(capture_error([&] { (void)check_identifier(json{{"type", "dns"}, {"value", "*.example.com"}}, p); }).code(),
            "rejectedIdentifier");
  EXPECT_EQ(capture_error([&] { (void)check_identifier(json{{"type", "email"}, {"value", "a@example.com"}}, p); }).code(),
            "unsupportedIdentifier");
  EXPECT_EQ(capture_error([&] { (void)check_identifier(json{{"type", "dns"}}, p); }).code(), "malformed");
  EXPECT_EQ(capture_error([&] { (void)check_identifier(json{{"type", "ip"}, {"value", "10.1.1.1"}}, p); }).code(),
            "rejectedIdentifier");
  p.allow_wildcards = true;
  EXPECT_EQ(check_identifier(json{{"type", "dns"}, {"value", "*.example.com"}}, p).value, "*.example.com");
}

TEST(AcmeIdentifiers, ChallengesOfferedFitTheIdentifier) {
  EXPECT_EQ(challenge_types({"dns", "www.example.com"}), (std::vector<std::string>{"http-01", "dns-01", "tls-alpn-01"}));
  EXPECT_EQ(challenge_types({"dns", "*.example.com"}), (std::vector<std::string>{"dns-01"}));
  EXPECT_EQ(challenge_types({"ip", "192.0.2.1"}), (std::vector<std::string>{"http-01", "tls-alpn-01"}));
}

TEST(AcmeIdentifiers, ACsrsNamesBecomeSortedUniqueIdentifiers) {
  EXPECT_EQ(identifiers_of_names({"dns:b.example.com", "ip:192.0.2.1", "dns:a.example.com"}),
            (std::vector<Identifier>{{"dns", "a.example.com"}, {"dns", "b.example.com"}, {"ip", "192.0.2.1"}}));
  EXPECT_EQ(capture_error([] { (void)identifiers_of_names({"dns:a.example.com", "email:a@example.com"}); }).code(),
            "badCSR");
}

TEST(AcmeIds, AreLongRandomAndUrlSafe) {
  const std::string a = random_id(), b = random_id();
  EXPECT_EQ(a.size(), 22u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos);
  for (int i = 0; i < 2000; ++i) {
    // 2000 draws would see about 31 ids beginning with '-', which the CLI would read as an option.
    ASSERT_NE(random_id().front(), '-');
  }
  EXPECT_EQ(random_token().size(), 43u);
  EXPECT_EQ(key_authorization("tok", "thumb"), "tok.thumb");
}

}  // namespace
}  // namespace signet::acme
