// The ledger's contract, run against both backends: the store's SQLite file, and a real
// PostgreSQL 15 server started for the test (support/postgres_server.h), with two Ledger objects
// on one database standing for two signetd nodes. Then what only PostgreSQL has: the CA a database
// serves, its schema version, logins, a server that goes away and comes back.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/handles.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/db/sqlite.h"
#include "signet/issuance/ledger.h"
#include "signet/keystore/store.h"
#include "support/error_assert.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace signet::issuance {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::capture_error;
using test::PostgresServer;

std::int64_t unix_of(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count(); }

crypto::Certificate certificate_with_serial(const EVP_PKEY* key, const Serial& serial, TimePoint not_before,
                                            TimePoint not_after, const std::string& eku = "") {
  ossl::X509Ptr x{X509_new()};
  X509_set_version(x.get(), 2);
  ossl::BignumPtr bn{BN_bin2bn(serial.bytes.data(), static_cast<int>(serial.bytes.size()), nullptr)};
  ossl::Asn1IntegerPtr number{BN_to_ASN1_INTEGER(bn.get(), nullptr)};
  X509_set_serialNumber(x.get(), number.get());
  ossl::X509NamePtr name{X509_NAME_new()};
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("backend test"),
                             -1, -1, 0);
  X509_set_subject_name(x.get(), name.get());
  X509_set_issuer_name(x.get(), name.get());
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(unix_of(not_before)));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(unix_of(not_after)));
  X509_set_pubkey(x.get(), const_cast<EVP_PKEY*>(key));
  if (!eku.empty()) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_ext_key_usage, eku.c_str());
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_GT(X509_sign(x.get(), const_cast<EVP_PKEY*>(key), EVP_sha256()), 0);
  return crypto::Certificate::from_x509(x.get());
}

LedgerOwner owner_of(const std::string& seed, const std::string& node = "test node") {
  return test::test_ledger_owner(seed, node);
}

db::pg::Settings pg_settings(const std::string& url) { return test::test_database_settings(url); }

enum class Kind { Sqlite, Postgres };

class LedgerBackends : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::Sqlite) {
      (void)keystore::KeyStore::create(tmp_ / "store", Passphrase(as_bytes(std::string_view("correct horse battery"))),
                                       crypto::ScryptParams::insecure_for_tests());
    } else {
      url_ = test::new_test_database();
    }
  }

  // A ledger; each call is another "node" on the same database.
  std::unique_ptr<Ledger> node() {
    if (GetParam() == Kind::Sqlite) {
      return std::make_unique<Ledger>(keystore::KeyStore::database_path(tmp_ / "store"), clock_);
    }
    return std::make_unique<Ledger>(pg_settings(url_), owner_of("Backend Test CA"), clock_);
  }

  Intent intent(const Serial& serial, const std::string& client_id = "", const std::string& client = "web-1") const {
    Intent i;
    i.serial = serial;
    i.profile = "server-tls";
    i.client = client;
    i.client_id = client_id;
    i.subject = "CN=www.example.test";
    i.names = {"dns:www.example.test", "ip:192.0.2.1"};
    i.not_before = now_ - 1h;
    i.not_after = now_ + 24h * 90;
    return i;
  }

  crypto::Certificate issue(Ledger& ledger, const Serial& serial, const std::string& client_id = "",
                            const std::string& eku = "") {
    const Intent i = intent(serial, client_id);
    ledger.record_intent(i);
    crypto::Certificate c = certificate_with_serial(key_.get(), serial, i.not_before, i.not_after, eku);
    ledger.record_issued(c);
    return c;
  }

  test::TempDir tmp_;
  std::string url_;
  TimePoint now_ = TimePoint(std::chrono::seconds(unix_of(std::chrono::system_clock::now())));
  FixedClock clock_{now_};
  ossl::Pkey key_ = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
};

INSTANTIATE_TEST_SUITE_P(Backends, LedgerBackends, ::testing::Values(Kind::Sqlite, Kind::Postgres),
                         [](const ::testing::TestParamInfo<Kind>& p) { return p.param == Kind::Sqlite ? "Sqlite" : "Postgres"; });

TEST_P(LedgerBackends, AnIntentBecomesAnIssuedCertificateSeenByEveryNode) {
  auto a = node();
  auto b = node();
  EXPECT_EQ(a->backend(), GetParam() == Kind::Sqlite ? Ledger::Backend::Sqlite : Ledger::Backend::Postgres);
  const Serial serial = Serial::random();
  a->record_intent(intent(serial));
  std::optional<CertificateRecord> seen = b->find(serial);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->state, CertificateState::Intent);
  EXPECT_FALSE(seen->certificate);
  EXPECT_EQ(seen->names, intent(serial).names);
  EXPECT_EQ(seen->requested_at, unix_of(now_));

  const crypto::Certificate cert = certificate_with_serial(key_.get(), serial, now_ - 1h, now_ + 24h);
  b->record_issued(cert);
  seen = a->find(serial);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->state, CertificateState::Issued);
  ASSERT_TRUE(seen->certificate);
  EXPECT_EQ(seen->certificate->der(), cert.der());
  EXPECT_EQ(seen->not_after, unix_of(now_ + 24h)) << "the certificate's own validity from now on";
  EXPECT_EQ(seen->serial.hex(), serial.hex());

  // The same write again is a retry; another certificate on that serial is refused.
  EXPECT_NO_THROW(a->record_issued(cert));
  EXPECT_EQ(capture_error([&] { a->record_issued(certificate_with_serial(key_.get(), serial, now_, now_ + 2h)); })
                .code(),
            "already-issued");
  EXPECT_FALSE(a->find(Serial::random()));
}

TEST_P(LedgerBackends, ASerialIsTakenOnceAcrossNodes) {
  auto a = node();
  auto b = node();
  const Serial serial = Serial::random();
  a->record_intent(intent(serial));
  const Error e = capture_error([&] { b->record_intent(intent(serial)); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "serial-taken");
  const Error missing = capture_error(
      [&] { b->record_issued(certificate_with_serial(key_.get(), Serial::random(), now_, now_ + 1h)); });
  EXPECT_EQ(missing.code(), "intent-missing");
  EXPECT_EQ(capture_error([&] { a->record_intent(intent(Serial{})); }).code(), "invalid-serial");
}

TEST_P(LedgerBackends, ManyWritersOnTwoNodesLoseNothing) {
  auto a = node();
  auto b = node();
  constexpr int kThreads = 6;
  constexpr int kEach = 25;
  std::vector<std::future<std::vector<std::string>>> futures;
  for (int t = 0; t < kThreads; ++t) {
    Ledger& ledger = t % 2 == 0 ? *a : *b;
    futures.push_back(std::async(std::launch::async, [&, t] {
      std::vector<std::string> serials;
      for (int i = 0; i < kEach; ++i) {
        const Serial s = Serial::random();
        issue(ledger, s);
        serials.push_back(s.hex());
      }
      (void)t;
      return serials;
    }));
  }
  std::set<std::string> expected;
  for (auto& f : futures) {
    for (std::string& s : f.get()) expected.insert(std::move(s));
  }
  ASSERT_EQ(expected.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::string> listed;
  ListQuery q;
  q.limit = 40;
  for (;;) {
    const ListPage page = b->list(q);
    for (const CertificateRecord& r : page.items) {
      EXPECT_TRUE(listed.insert(r.serial.hex()).second) << "listed twice: " << r.serial.hex();
      EXPECT_EQ(r.state, CertificateState::Issued);
    }
    if (!page.next) break;
    q.after = *page.next;
  }
  EXPECT_EQ(listed, expected);
}

TEST_P(LedgerBackends, AsyncWritesCallBackAfterTheCommit) {
  auto a = node();
  auto b = node();
  const Serial serial = Serial::random();
  std::promise<std::exception_ptr> intent_done;
  a->record_intent_async(intent(serial), [&](std::exception_ptr e) { intent_done.set_value(e); });
  ASSERT_EQ(intent_done.get_future().get(), nullptr);
  ASSERT_TRUE(b->find(serial)) << "committed when the callback runs";
  std::promise<std::exception_ptr> again;
  a->record_intent_async(intent(serial), [&](std::exception_ptr e) { again.set_value(e); });
  const std::exception_ptr error = again.get_future().get();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(capture_error([&] { std::rethrow_exception(error); }).code(), "serial-taken");
  std::promise<std::exception_ptr> issued;
  a->record_issued_async(certificate_with_serial(key_.get(), serial, now_, now_ + 1h),
                         [&](std::exception_ptr e) { issued.set_value(e); });
  ASSERT_EQ(issued.get_future().get(), nullptr);
  EXPECT_EQ(b->find(serial)->state, CertificateState::Issued);
}

TEST_P(LedgerBackends, ListingPagesFiltersAndChecksItsArguments) {
  auto a = node();
  std::vector<std::string> serials;
  for (int i = 1; i <= 7; ++i) {
    const Serial s = *Serial::parse_hex(std::string(i % 2 == 0 ? "0A" : "") + std::to_string(i) + "F");
    issue(*a, s);
    serials.push_back(s.hex());
  }
  std::sort(serials.begin(), serials.end());
  ListQuery q;
  q.limit = 3;
  std::vector<std::string> seen;
  for (;;) {
    const ListPage page = a->list(q);
    for (const CertificateRecord& r : page.items) seen.push_back(r.serial.hex());
    if (!page.next) break;
    q.after = *page.next;
  }
  EXPECT_EQ(seen, serials) << "byte order of uppercase hex, on both backends";
  (void)a->revoke(*Serial::parse_hex(serials[2]), RevocationReason::KeyCompromise, "alice");
  ListQuery revoked;
  revoked.revoked_only = true;
  const ListPage only = a->list(revoked);
  ASSERT_EQ(only.items.size(), 1u);
  EXPECT_EQ(only.items[0].serial.hex(), serials[2]);
  ListQuery bad;
  bad.limit = 0;
  EXPECT_EQ(capture_error([&] { (void)a->list(bad); }).code(), "invalid-limit");
  bad.limit = 10;
  bad.after = "not hex";
  EXPECT_EQ(capture_error([&] { (void)a->list(bad); }).code(), "invalid-cursor");
}

TEST_P(LedgerBackends, ARowEditedByHandIsNamedInTheListingAndHidesNoOther) {
  const std::unique_ptr<Ledger> ledger = node();
  std::vector<std::string> serials;
  for (int i = 0; i < 5; ++i) {
    const Serial serial = Serial::random();
    (void)issue(*ledger, serial);
    serials.push_back(serial.hex());
  }
  std::sort(serials.begin(), serials.end());
  const std::string damage = "UPDATE issued_certificates SET names = 'not json' WHERE serial = '" + serials[1] + "'";
  if (GetParam() == Kind::Sqlite) {
    db::Database db = db::Database::open(keystore::KeyStore::database_path(tmp_ / "store"), db::OpenMode::ReadWrite);
    db.exec(damage);
  } else {
    (void)PostgresServer::shared().psql(url_.substr(url_.rfind('/') + 1), damage);
  }
  EXPECT_EQ(capture_error([&] { (void)ledger->find(*Serial::parse_hex(serials[1])); }).code(), "ledger-corrupt");

  // Pages of two: every readable row once, the damaged one named, and the paging goes on past it.
  std::vector<std::string> listed;
  std::vector<std::string> damaged;
  ListQuery q;
  q.limit = 2;
  for (int pages = 0; pages < 10; ++pages) {
    const ListPage page = ledger->list(q);
    for (const CertificateRecord& r : page.items) listed.push_back(r.serial.hex());
    damaged.insert(damaged.end(), page.damaged.begin(), page.damaged.end());
    if (!page.next) break;
    q.after = *page.next;
  }
  std::vector<std::string> readable = serials;
  readable.erase(readable.begin() + 1);
  EXPECT_EQ(listed, readable);
  EXPECT_EQ(damaged, std::vector<std::string>{serials[1]});
}

TEST_P(LedgerBackends, RevocationsHaveOneOrderAcrossNodes) {
  auto a = node();
  auto b = node();
  EXPECT_EQ(b->revocation_revision(), 0);
  std::vector<Serial> serials;
  for (int i = 0; i < 12; ++i) {
    serials.push_back(Serial::random());
    issue(i % 2 == 0 ? *a : *b, serials.back());
  }
  // Both nodes revoke at once; every revision is drawn once, with no gap.
  std::vector<std::future<std::vector<std::int64_t>>> futures;
  for (int n = 0; n < 2; ++n) {
    futures.push_back(std::async(std::launch::async, [&, n] {
      std::vector<std::int64_t> revisions;
      for (std::size_t i = static_cast<std::size_t>(n); i < serials.size(); i += 2) {
        revisions.push_back((n == 0 ? *a : *b).revoke(serials[i], RevocationReason::Superseded, "node").revision);
      }
      return revisions;
    }));
  }
  std::set<std::int64_t> revisions;
  for (auto& f : futures) {
    for (const std::int64_t r : f.get()) EXPECT_TRUE(revisions.insert(r).second) << "revision " << r << " twice";
  }
  EXPECT_EQ(revisions, (std::set<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(a->revocation_revision(), 12);
  EXPECT_EQ(b->revoked_since(10).size(), 2u);
  EXPECT_EQ(a->revoked().size(), 12u);

  const Error twice = capture_error([&] { (void)b->revoke(serials[0], RevocationReason::KeyCompromise, "bob"); });
  EXPECT_EQ(twice.kind(), ErrorKind::Conflict);
  EXPECT_EQ(twice.code(), "already-revoked");
  EXPECT_EQ(capture_error([&] { (void)a->revoke(Serial::random(), RevocationReason::Unspecified, "x"); }).code(),
            "certificate-not-found");
  const Serial intent_only = Serial::random();
  a->record_intent(intent(intent_only));
  EXPECT_EQ(capture_error([&] { (void)b->revoke(intent_only, RevocationReason::Unspecified, "x"); }).code(),
            "certificate-not-found");
  const std::optional<CertificateRecord> r = b->find(serials[3]);
  ASSERT_TRUE(r && r->revoked_at);
  EXPECT_EQ(*r->revoked_at, unix_of(now_));
  EXPECT_EQ(r->reason, RevocationReason::Superseded);
  EXPECT_EQ(r->revoked_by, "node");
}

TEST_P(LedgerBackends, CrlNumbersOnlyIncreaseAcrossNodes) {
  auto a = node();
  auto b = node();
  std::int64_t last = 0;
  for (int i = 0; i < 10; ++i) {
    const std::int64_t n = (i % 2 == 0 ? *a : *b).next_crl_number();
    EXPECT_GT(n, last);
    last = n;
  }
  a.reset();
  EXPECT_GT(node()->next_crl_number(), last) << "and after a node restarts";
}

TEST_P(LedgerBackends, ClientsAreSharedAndARemovalRevokesTheirClientCertificates) {
  auto a = node();
  auto b = node();
  const NewClient web = a->add_client("web-1", {"server-tls", "client-tls", "server-tls"}, false, "alice");
  EXPECT_EQ(web.client.profiles, (std::vector<std::string>{"server-tls", "client-tls"}));
  ASSERT_TRUE(b->authenticate(web.token));
  EXPECT_EQ(b->authenticate(web.token)->id, web.client.id);
  std::string wrong = web.token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(b->authenticate(wrong));

  const Error taken = capture_error([&] { (void)b->add_client("WEB-1", {"*"}, false, "bob"); });
  EXPECT_EQ(taken.code(), "client-exists");
  EXPECT_NE(std::string(taken.what()).find("ignoring case"), std::string::npos) << taken.what();
  EXPECT_EQ(capture_error([&] { (void)b->add_client("bad name", {"*"}, false, "bob"); }).code(), "invalid-name");
  const NewClient ops = b->add_client("ops", {"*"}, true, "bob");
  ASSERT_EQ(a->clients().size(), 2u);
  EXPECT_EQ(a->clients()[0].name, "ops");
  EXPECT_EQ(a->client("OPS")->id, ops.client.id);
  EXPECT_EQ(a->client_by_id(web.client.id)->name, "web-1");

  const Serial credential = Serial::random();
  issue(*a, credential, web.client.id, "clientAuth");
  const Serial server = Serial::random();
  issue(*a, server, web.client.id, "serverAuth");
  const RemovedClient removed = b->remove_client("web-1", "carol");
  ASSERT_EQ(removed.revoked.size(), 1u);
  EXPECT_EQ(removed.revoked[0].hex(), credential.hex());
  EXPECT_TRUE(a->find(credential)->revoked_at);
  EXPECT_FALSE(a->find(server)->revoked_at) << "its server certificates stay valid";
  EXPECT_FALSE(a->authenticate(web.token));
  EXPECT_FALSE(a->client("web-1"));
  EXPECT_EQ(capture_error([&] { (void)a->remove_client("web-1", "carol"); }).code(), "client-not-found");
  // Nothing more for the removed client, on any node.
  const Error refused = capture_error([&] { a->record_intent(intent(Serial::random(), web.client.id)); });
  EXPECT_EQ(refused.code(), "client-removed");
  // The name is free again, for another client.
  const NewClient again = a->add_client("web-1", {"*"}, false, "alice");
  EXPECT_NE(again.client.id, web.client.id);
}

TEST_P(LedgerBackends, AClientRemovedWhileItsCertificateIsSignedGetsNothingStored) {
  auto a = node();
  auto b = node();
  const NewClient web = a->add_client("web-2", {"*"}, false, "alice");
  const Serial serial = Serial::random();
  a->record_intent(intent(serial, web.client.id, "web-2"));
  (void)b->remove_client("web-2", "carol");
  const Error e = capture_error(
      [&] { a->record_issued(certificate_with_serial(key_.get(), serial, now_, now_ + 1h, "clientAuth")); });
  EXPECT_EQ(e.kind(), ErrorKind::Unauthorized);
  EXPECT_EQ(e.code(), "client-removed");
  EXPECT_EQ(b->find(serial)->state, CertificateState::Intent);
}

// ---- PostgreSQL only ----------------------------------------------------------------------------

class PostgresLedger : public ::testing::Test {
 protected:
  PostgresServer& server_ = PostgresServer::shared();
  std::string url_ = test::new_test_database();
  FixedClock clock_{TimePoint(std::chrono::seconds(1'800'000'000))};
};

TEST_F(PostgresLedger, TheDatabaseRecordsTheCaItServesAndRefusesAnother) {
  { Ledger first(pg_settings(url_), owner_of("CA One", "signetd on a"), clock_); }
  const std::string database = url_.substr(url_.rfind('/') + 1);
  EXPECT_EQ(server_.psql(database, "SELECT ca_subject || ' ' || created_by FROM signet_ledger"),
            "CN=CA One signetd on a\n");
  EXPECT_NO_THROW(Ledger same(pg_settings(url_), owner_of("CA One", "signetd on b"), clock_));
  const Error e = capture_error([&] { Ledger other(pg_settings(url_), owner_of("CA Two"), clock_); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "database-of-another-ca");
  EXPECT_NE(std::string(e.what()).find("CN=CA One"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("CN=CA Two"), std::string::npos) << e.what();
}

TEST_F(PostgresLedger, ANewerSchemaIsRefusedAndNothingIsChanged) {
  { Ledger first(pg_settings(url_), owner_of("CA One"), clock_); }
  const std::string database = url_.substr(url_.rfind('/') + 1);
  (void)server_.psql(database, "UPDATE signet_schema SET version = 99");
  const Error e = capture_error([&] { Ledger later(pg_settings(url_), owner_of("CA One"), clock_); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.code(), "database-schema-too-new");
  EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  EXPECT_EQ(server_.psql(database, "SELECT version FROM signet_schema"), "99\n");
}

TEST_F(PostgresLedger, NodesStartingAtOnceMigrateOnce) {
  std::vector<std::future<void>> starts;
  for (int i = 0; i < 4; ++i) {
    starts.push_back(std::async(std::launch::async, [&] { Ledger l(pg_settings(url_), owner_of("CA One"), clock_); }));
  }
  for (auto& s : starts) EXPECT_NO_THROW(s.get());
  const std::string database = url_.substr(url_.rfind('/') + 1);
  EXPECT_EQ(server_.psql(database, "SELECT version FROM signet_schema"), "3\n");
}

TEST_F(PostgresLedger, BadUrlsAndLoginsAreNamed) {
  db::pg::Settings s = pg_settings(url_);
  s.password = SecretBytes(as_bytes(std::string_view("wrong")));
  Error e = capture_error([&] { Ledger l(s, owner_of("CA One"), clock_); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "database-login-failed");
  EXPECT_EQ(std::string(e.what()).find("wrong"), std::string::npos) << "the password is never repeated";

  s = pg_settings("postgresql://signet:secret@127.0.0.1:1/x");
  e = capture_error([&] { Ledger l(s, owner_of("CA One"), clock_); });
  EXPECT_EQ(e.code(), "database-url-invalid");
  EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();

  for (const std::string url : {"mysql://signet@127.0.0.1/x", "host=127.0.0.1 dbname=x", "postgresql://signet@127.0.0.1:99999999/x",
                                "postgresql://127.0.0.1:5432"}) {
    e = capture_error([&] { db::pg::check_url(url); });
    EXPECT_EQ(e.code(), "database-url-invalid") << url;
  }

  // Nobody listens there.
  s = pg_settings("postgresql://signet@127.0.0.1:1/signet");
  s.connect_timeout = std::chrono::seconds(2);
  e = capture_error([&] { Ledger l(s, owner_of("CA One"), clock_); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "database-unavailable");
  EXPECT_NE(std::string(e.what()).find("127.0.0.1:1/signet"), std::string::npos) << e.what();
}

TEST_F(PostgresLedger, OneNodeAtATimeBuildsCrlsAndTheRoleMovesOnWhenItGoes) {
  auto a = std::make_unique<Ledger>(pg_settings(url_), owner_of("CA One", "node a"), clock_);
  Ledger b(pg_settings(url_), owner_of("CA One", "node b"), clock_);
  EXPECT_TRUE(a->shares_crls());
  EXPECT_TRUE(a->hold_crl_builder());
  EXPECT_TRUE(a->hold_crl_builder()) << "asked again, still held";
  EXPECT_FALSE(b.hold_crl_builder());
  EXPECT_FALSE(b.newest_crl("full"));

  SharedCrl crl;
  crl.der = {0x30, 0x03, 0x02, 0x01, 0x05};
  crl.number = 5;
  crl.this_update = 100;
  crl.next_update = 200;
  crl.base_revision = 3;
  a->publish_crl("full", crl);
  SharedCrl older = crl;
  older.number = 4;
  older.der = {0x30, 0x00};
  b.publish_crl("full", older);  // a lower number never replaces a higher one
  std::optional<SharedCrl> seen = b.newest_crl("full");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->number, 5);
  EXPECT_EQ(seen->der, crl.der);
  EXPECT_EQ(seen->base_revision, 3);
  EXPECT_FALSE(seen->base_number);

  a.reset();  // the builder stops: its session, and with it the role, ends
  // The server ends the session (and releases its lock) a moment after the client closed it: the
  // nodes ask again on their poll, as here.
  bool taken = false;
  for (int i = 0; i < 50 && !taken; ++i) {
    taken = b.hold_crl_builder();
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(taken) << "the role did not move on within 5 s";
}

TEST_F(PostgresLedger, ATableDroppedByHandIsDamageNotAnOutage) {
  Ledger ledger(pg_settings(url_), owner_of("CA One"), clock_);
  const std::string database = url_.substr(url_.rfind('/') + 1);
  (void)server_.psql(database, "DROP TABLE api_clients CASCADE");
  const Error e = capture_error([&] { (void)ledger.clients(); });
  EXPECT_EQ(e.kind(), ErrorKind::Integrity) << e.what();
  EXPECT_EQ(e.code(), "database-schema-damaged");
  EXPECT_NE(std::string(e.what()).find("api_clients"), std::string::npos) << e.what();
}

TEST(LedgerSqlite, EachProcessBuildsItsOwnCrls) {
  test::TempDir tmp;
  (void)keystore::KeyStore::create(tmp / "store", Passphrase(as_bytes(std::string_view("correct horse battery"))),
                                   crypto::ScryptParams::insecure_for_tests());
  Ledger ledger(keystore::KeyStore::database_path(tmp / "store"));
  EXPECT_FALSE(ledger.shares_crls());
  EXPECT_TRUE(ledger.hold_crl_builder());
  EXPECT_FALSE(ledger.newest_crl("full"));
}

TEST(PostgresLedgerRestart, AServerThatGoesAwayGivesStorageErrorsThenServesAgain) {
  PostgresServer server;  // its own, to stop
  const std::string url = server.create_database("restart");
  FixedClock clock{TimePoint(std::chrono::seconds(1'800'000'000))};
  db::pg::Settings s;
  s.url = url;
  s.password = SecretBytes(as_bytes(server.password()));
  s.connect_timeout = std::chrono::seconds(2);
  Ledger ledger(s, owner_of("CA One"), clock);
  const NewClient c = ledger.add_client("web", {"*"}, false, "alice");
  server.stop();
  const Error e = capture_error([&] { (void)ledger.client("web"); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "database-unavailable");
  const Error w = capture_error([&] { (void)ledger.add_client("other", {"*"}, false, "alice"); });
  EXPECT_EQ(w.kind(), ErrorKind::Storage);
  server.start();
  // Within a second of a failed attempt the pool fails at once (no caller waits on a server that is
  // away); then it connects again.
  std::optional<ApiClient> back;
  for (int i = 0; i < 50 && !back; ++i) {
    try {
      back = ledger.client("web");
    } catch (const Error& again) {
      EXPECT_EQ(again.code(), "database-unavailable");
      std::this_thread::sleep_for(100ms);
    }
  }
  ASSERT_TRUE(back) << "the pool connects again";
  EXPECT_EQ(ledger.authenticate(c.token)->id, c.client.id);
  EXPECT_EQ(ledger.clients().size(), 1u) << "the write that failed left nothing";
}

}  // namespace
}  // namespace signet::issuance
