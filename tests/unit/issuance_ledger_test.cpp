#include "signet/issuance/ledger.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "signet/backup/backup.h"
#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/db/migrations.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"

namespace signet::issuance {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::capture_error;

const crypto::ScryptParams kFastKdf = crypto::ScryptParams::insecure_for_tests();

Passphrase pass(std::string_view s) { return Passphrase(as_bytes(s)); }

std::int64_t unix_of(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count(); }

// A self-signed certificate with exactly `serial` (the crypto helpers choose their own serials),
// and the extended key usage `eku` ("clientAuth", "serverAuth", ...) unless it is empty.
crypto::Certificate certificate_with_serial(const EVP_PKEY* key, const Serial& serial, TimePoint not_before,
                                            TimePoint not_after, const std::string& cn = "ledger test",
                                            const std::string& eku = "") {
  ossl::X509Ptr x{X509_new()};
  EXPECT_TRUE(x);
  X509_set_version(x.get(), 2);
  ossl::BignumPtr bn{BN_bin2bn(serial.bytes.data(), static_cast<int>(serial.bytes.size()), nullptr)};
  ossl::Asn1IntegerPtr number{BN_to_ASN1_INTEGER(bn.get(), nullptr)};
  X509_set_serialNumber(x.get(), number.get());
  ossl::X509NamePtr name{X509_NAME_new()};
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  X509_set_subject_name(x.get(), name.get());
  X509_set_issuer_name(x.get(), name.get());
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(unix_of(not_before)));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(unix_of(not_after)));
  X509_set_pubkey(x.get(), const_cast<EVP_PKEY*>(key));
  if (!eku.empty()) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_ext_key_usage, eku.c_str());
    EXPECT_NE(ext, nullptr);
    EXPECT_EQ(X509_add_ext(x.get(), ext, -1), 1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_GT(X509_sign(x.get(), const_cast<EVP_PKEY*>(key), EVP_sha256()), 0);
  return crypto::Certificate::from_x509(x.get());
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)keystore::KeyStore::create(store_dir(), pass("correct horse battery"), kFastKdf);
  }

  [[nodiscard]] fs::path store_dir() const { return tmp_ / "store"; }
  [[nodiscard]] fs::path db_path() const { return keystore::KeyStore::database_path(store_dir()); }

  Intent intent(const Serial& serial, const std::string& client = "web-1",
                TimePoint not_after = TimePoint{}, const std::string& client_id = "") const {
    Intent i;
    i.serial = serial;
    i.profile = "server-tls";
    i.client = client;
    i.client_id = client_id;
    i.subject = "CN=www.example.test";
    i.names = {"dns:www.example.test", "ip:192.0.2.1"};
    i.not_before = now_ - 1h;
    i.not_after = not_after == TimePoint{} ? now_ + 24h * 90 : not_after;
    return i;
  }

  // Records an intent and its certificate; returns the certificate.
  crypto::Certificate issue(Ledger& ledger, const Serial& serial, const std::string& client = "web-1",
                            TimePoint not_after = TimePoint{}) {
    const Intent i = intent(serial, client, not_after);
    ledger.record_intent(i);
    crypto::Certificate cert = certificate_with_serial(key_.get(), serial, i.not_before, i.not_after);
    ledger.record_issued(cert);
    return cert;
  }

  // Records a certificate with the extended key usage `eku` for the API client `c`; returns its serial.
  Serial issue_to(Ledger& ledger, const ApiClient& c, const std::string& eku, TimePoint not_after = TimePoint{}) {
    const Serial serial = Serial::random();
    const Intent i = intent(serial, c.name, not_after, c.id);
    ledger.record_intent(i);
    ledger.record_issued(certificate_with_serial(key_.get(), serial, i.not_before, i.not_after, c.name, eku));
    return serial;
  }

  struct AuditRow {
    std::string actor, action, subject, detail;
  };
  std::vector<AuditRow> audit(const std::string& prefix) {
    db::Database db = db::Database::open(db_path(), db::OpenMode::ReadOnly);
    db::Statement s = db.prepare(
        "SELECT actor, action, subject, detail FROM audit_log WHERE action LIKE ? ORDER BY id");
    s.bind(1, prefix + "%");
    std::vector<AuditRow> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3)});
    return out;
  }

  test::TempDir tmp_;
  TimePoint now_ = TimePoint(std::chrono::seconds(unix_of(std::chrono::system_clock::now())));
  FixedClock clock_{now_};
  ossl::Pkey key_ = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
};

// ---- opening ------------------------------------------------------------------------------------

TEST_F(LedgerTest, AMissingStoreIsNotFound) {
  const Error e = capture_error([&] { Ledger ledger(tmp_ / "nowhere" / "signet.db"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "store-missing");
}

TEST_F(LedgerTest, AStoreWithoutTheLedgerTablesIsRefused) {
  const fs::path old = tmp_ / "old.db";
  {
    db::Database db = db::Database::open(old, db::OpenMode::ReadWriteCreate);
    std::vector<db::Migration> up_to_3;
    for (const db::Migration& m : keystore::schema_migrations()) {
      if (m.version <= 3) up_to_3.push_back(m);
    }
    ASSERT_EQ(db::migrate(db, up_to_3), 3);
  }
  const Error e = capture_error([&] { Ledger ledger(old); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.code(), "schema-too-old");
}

TEST_F(LedgerTest, AStoreWithoutClientIdsIsRefused) {
  const fs::path old = tmp_ / "v4.db";
  {
    db::Database db = db::Database::open(old, db::OpenMode::ReadWriteCreate);
    std::vector<db::Migration> up_to_4;
    for (const db::Migration& m : keystore::schema_migrations()) {
      if (m.version <= 4) up_to_4.push_back(m);
    }
    ASSERT_EQ(db::migrate(db, up_to_4), 4);
  }
  const Error e = capture_error([&] { Ledger ledger(old); });
  EXPECT_EQ(e.code(), "schema-too-old");
}

TEST_F(LedgerTest, TheSchemaRefusesInconsistentRows) {
  db::Database db = db::Database::open(db_path(), db::OpenMode::ReadWrite);
  auto insert = [&](const std::string& values) {
    return capture_error([&] {
      db.exec("INSERT INTO issued_certificates (serial, state, profile, client, subject, names, requested_at, "
              "not_before, not_after, der, revoked_at, revocation_reason, revoked_by, revision) VALUES " +
              values);
    });
  };
  // Issued without a certificate; an intent with one; a revoked intent; revoked without a revision.
  EXPECT_EQ(insert("('01', 'issued', 'p', 'c', '', '[]', 0, 0, 0, NULL, NULL, NULL, NULL, NULL)").kind(),
            ErrorKind::Conflict);
  EXPECT_EQ(insert("('02', 'intent', 'p', 'c', '', '[]', 0, 0, 0, x'30', NULL, NULL, NULL, NULL)").kind(),
            ErrorKind::Conflict);
  EXPECT_EQ(insert("('03', 'intent', 'p', 'c', '', '[]', 0, 0, 0, NULL, 5, 1, 'x', 1)").kind(),
            ErrorKind::Conflict);
  EXPECT_EQ(insert("('04', 'issued', 'p', 'c', '', '[]', 0, 0, 0, x'30', 5, 1, 'x', NULL)").kind(),
            ErrorKind::Conflict);
  EXPECT_EQ(insert("('05', 'revoked', 'p', 'c', '', '[]', 0, 0, 0, x'30', NULL, NULL, NULL, NULL)").kind(),
            ErrorKind::Conflict);
}

// ---- intents and certificates -------------------------------------------------------------------

TEST_F(LedgerTest, AnIntentBecomesAnIssuedCertificate) {
  Ledger ledger(db_path(), clock_);
  const Serial serial = Serial::random();
  const Intent i = intent(serial);
  ledger.record_intent(i);

  std::optional<CertificateRecord> r = ledger.find(serial);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->serial, serial);
  EXPECT_EQ(r->state, CertificateState::Intent);
  EXPECT_EQ(r->profile, "server-tls");
  EXPECT_EQ(r->client, "web-1");
  EXPECT_EQ(r->subject, "CN=www.example.test");
  EXPECT_EQ(r->names, i.names);
  EXPECT_EQ(r->requested_at, unix_of(now_));
  EXPECT_EQ(r->not_before, unix_of(i.not_before));
  EXPECT_EQ(r->not_after, unix_of(i.not_after));
  EXPECT_FALSE(r->certificate);
  EXPECT_FALSE(r->revoked_at);

  const crypto::Certificate cert = certificate_with_serial(key_.get(), serial, now_ - 2h, now_ + 24h * 30);
  ledger.record_issued(cert);
  r = ledger.find(serial);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, CertificateState::Issued);
  ASSERT_TRUE(r->certificate);
  EXPECT_EQ(r->certificate->der(), cert.der());
  // The certificate's own validity wins over the intent's.
  EXPECT_EQ(r->not_before, unix_of(now_ - 2h));
  EXPECT_EQ(r->not_after, unix_of(now_ + 24h * 30));

  // Recording the same certificate again (a retry) changes nothing; another one is a conflict.
  ledger.record_issued(cert);
  const crypto::Certificate other = certificate_with_serial(key_.get(), serial, now_, now_ + 24h, "other");
  const Error e = capture_error([&] { ledger.record_issued(other); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "already-issued");
}

TEST_F(LedgerTest, TheStoredSerialIsUppercaseHex) {
  Ledger ledger(db_path(), clock_);
  const Serial serial = *Serial::parse_hex("0a0b0c");
  ledger.record_intent(intent(serial));
  db::Database db = db::Database::open(db_path(), db::OpenMode::ReadOnly);
  db::Statement s = db.prepare("SELECT serial FROM issued_certificates");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.text(0), "0A0B0C");
}

TEST_F(LedgerTest, ADuplicateSerialIsSerialTaken) {
  Ledger ledger(db_path(), clock_);
  const Serial serial = Serial::random();
  ledger.record_intent(intent(serial, "first"));
  const Error e = capture_error([&] { ledger.record_intent(intent(serial, "second")); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "serial-taken");
  EXPECT_EQ(ledger.find(serial)->client, "first");
}

TEST_F(LedgerTest, ACertificateWithoutAnIntentIsNotFound) {
  Ledger ledger(db_path(), clock_);
  const Serial serial = Serial::random();
  const Error e = capture_error(
      [&] { ledger.record_issued(certificate_with_serial(key_.get(), serial, now_, now_ + 24h)); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.code(), "intent-missing");
  EXPECT_FALSE(ledger.find(serial));
}

TEST_F(LedgerTest, FindingAnUnknownSerialIsNullopt) {
  Ledger ledger(db_path(), clock_);
  EXPECT_FALSE(ledger.find(Serial::random()));
}

TEST_F(LedgerTest, AsyncWritesCallBackOnceDurable) {
  Ledger ledger(db_path(), clock_);
  const Serial serial = Serial::random();
  const crypto::Certificate cert = certificate_with_serial(key_.get(), serial, now_, now_ + 24h);
  std::promise<std::exception_ptr> issued;
  // The issued record is submitted from the intent's callback, as the issuance service does.
  ledger.record_intent_async(intent(serial), [&](std::exception_ptr e) {
    if (e) {
      issued.set_value(e);
      return;
    }
    ledger.record_issued_async(cert, [&](std::exception_ptr e2) { issued.set_value(e2); });
  });
  EXPECT_FALSE(issued.get_future().get());
  db::Database db = db::Database::open(db_path(), db::OpenMode::ReadOnly);
  db::Statement s = db.prepare("SELECT state FROM issued_certificates WHERE serial = ?");
  s.bind(1, serial.hex());
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.text(0), "issued");

  std::promise<std::exception_ptr> duplicate;
  ledger.record_intent_async(intent(serial), [&](std::exception_ptr e) { duplicate.set_value(e); });
  const std::exception_ptr e = duplicate.get_future().get();
  ASSERT_TRUE(e);
  EXPECT_EQ(capture_error([&] { std::rethrow_exception(e); }).code(), "serial-taken");
}

// ---- listing ------------------------------------------------------------------------------------

TEST_F(LedgerTest, ListPagesInSerialOrder) {
  Ledger ledger(db_path(), clock_);
  const std::string b_id = ledger.add_client("b", {"*"}, false, "alice").client.id;
  std::vector<std::string> all;
  std::vector<std::string> of_b;
  for (int i = 0; i < 25; ++i) {
    const Serial serial = Serial::random();
    const std::string client = i % 3 == 0 ? "b" : "a";
    ledger.record_intent(intent(serial, client, TimePoint{}, i % 3 == 0 ? b_id : ""));
    all.push_back(serial.hex());
    if (client == "b") of_b.push_back(serial.hex());
  }
  std::sort(all.begin(), all.end());
  std::sort(of_b.begin(), of_b.end());

  auto walk = [&](ListQuery q) {
    std::vector<std::string> seen;
    std::vector<std::size_t> sizes;
    for (int guard = 0; guard < 100; ++guard) {
      const ListPage page = ledger.list(q);
      sizes.push_back(page.items.size());
      for (const CertificateRecord& r : page.items) seen.push_back(r.serial.hex());
      if (!page.next) break;
      EXPECT_EQ(*page.next, seen.back());
      q.after = *page.next;
    }
    return std::make_pair(seen, sizes);
  };
  ListQuery q;
  q.limit = 10;
  const auto [seen, sizes] = walk(q);
  EXPECT_EQ(seen, all);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));

  q.client_id = b_id;
  q.limit = 3;
  EXPECT_EQ(walk(q).first, of_b);

  // A page that ends exactly at the last item has no next cursor.
  ListQuery exact;
  exact.limit = 25;
  EXPECT_FALSE(ledger.list(exact).next);
  EXPECT_EQ(ledger.list(exact).items.size(), 25u);

  ListQuery nobody;
  nobody.client_id = "00000000000000cc";
  EXPECT_TRUE(ledger.list(nobody).items.empty());
}

TEST_F(LedgerTest, ListOnlyRevoked) {
  Ledger ledger(db_path(), clock_);
  std::vector<std::string> revoked;
  for (int i = 0; i < 6; ++i) {
    const Serial serial = Serial::random();
    (void)issue(ledger, serial);
    if (i % 2 == 0) {
      (void)ledger.revoke(serial, RevocationReason::Superseded, "admin");
      revoked.push_back(serial.hex());
    }
  }
  std::sort(revoked.begin(), revoked.end());
  ListQuery q;
  q.revoked_only = true;
  std::vector<std::string> seen;
  for (const CertificateRecord& r : ledger.list(q).items) {
    seen.push_back(r.serial.hex());
    EXPECT_TRUE(r.revoked_at);
    EXPECT_EQ(r.reason, RevocationReason::Superseded);
  }
  EXPECT_EQ(seen, revoked);
}

TEST_F(LedgerTest, ListRefusesABadLimitOrCursor) {
  Ledger ledger(db_path(), clock_);
  for (const std::size_t limit : {std::size_t{0}, std::size_t{1001}}) {
    ListQuery q;
    q.limit = limit;
    const Error e = capture_error([&] { (void)ledger.list(q); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "invalid-limit");
  }
  ListQuery q;
  q.limit = 1000;
  EXPECT_NO_THROW((void)ledger.list(q));
  q.after = "not hex";
  const Error e = capture_error([&] { (void)ledger.list(q); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
}

// ---- revocation ---------------------------------------------------------------------------------

TEST_F(LedgerTest, RevokeOnceThenConflict) {
  Ledger ledger(db_path(), clock_);
  const Serial serial = Serial::random();
  (void)issue(ledger, serial);
  const RevokeResult result = ledger.revoke(serial, RevocationReason::KeyCompromise, "alice");
  EXPECT_EQ(result.revision, 1);
  EXPECT_EQ(result.record.serial, serial);
  EXPECT_EQ(result.record.revoked_at, unix_of(now_));
  EXPECT_EQ(result.record.reason, RevocationReason::KeyCompromise);
  EXPECT_EQ(result.record.revoked_by, "alice");

  const std::optional<CertificateRecord> r = ledger.find(serial);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->revoked_at, unix_of(now_));
  EXPECT_EQ(r->reason, RevocationReason::KeyCompromise);
  EXPECT_EQ(r->revoked_by, "alice");

  const Error again = capture_error([&] { (void)ledger.revoke(serial, RevocationReason::Superseded, "bob"); });
  EXPECT_EQ(again.kind(), ErrorKind::Conflict);
  EXPECT_EQ(again.code(), "already-revoked");
  EXPECT_EQ(ledger.find(serial)->reason, RevocationReason::KeyCompromise) << "nothing changes";
  EXPECT_EQ(ledger.revocation_revision(), 1);

  const std::vector<AuditRow> rows = audit("certificate.");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].actor, "alice");
  EXPECT_EQ(rows[0].action, "certificate.revoke");
  EXPECT_EQ(rows[0].subject, serial.hex());
  EXPECT_NE(rows[0].detail.find("keyCompromise"), std::string::npos) << rows[0].detail;
}

TEST_F(LedgerTest, RevokingAnUnknownSerialOrAnIntentIsNotFound) {
  Ledger ledger(db_path(), clock_);
  const Serial pending = Serial::random();
  ledger.record_intent(intent(pending));
  for (const Serial& s : {Serial::random(), pending}) {
    const Error e = capture_error([&] { (void)ledger.revoke(s, RevocationReason::Unspecified, "alice"); });
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_EQ(e.code(), "certificate-not-found");
  }
  EXPECT_TRUE(audit("certificate.").empty());
  EXPECT_EQ(ledger.revocation_revision(), 0);
}

TEST_F(LedgerTest, RevokedListsWhatTheCrlNeeds) {
  Ledger ledger(db_path(), clock_);
  const Serial valid = Serial::random();
  const Serial expired_recently = Serial::random();
  const Serial expired_long_ago = Serial::random();
  const Serial not_revoked = Serial::random();
  (void)issue(ledger, valid, "web-1", now_ + 24h * 90);
  (void)issue(ledger, expired_recently, "web-1", now_ - 24h);
  (void)issue(ledger, expired_long_ago, "web-1", now_ - 24h * 40);
  (void)issue(ledger, not_revoked);
  EXPECT_EQ(ledger.revoke(valid, RevocationReason::KeyCompromise, "a").revision, 1);
  EXPECT_EQ(ledger.revoke(expired_recently, RevocationReason::Superseded, "a").revision, 2);
  EXPECT_EQ(ledger.revoke(expired_long_ago, RevocationReason::Unspecified, "a").revision, 3);
  EXPECT_EQ(ledger.revocation_revision(), 3);

  auto serials = [](const std::vector<RevokedEntry>& entries) {
    std::vector<std::string> out;
    for (const RevokedEntry& e : entries) out.push_back(e.serial.hex());
    return out;
  };
  std::vector<std::string> within_grace = {valid.hex(), expired_recently.hex()};
  std::sort(within_grace.begin(), within_grace.end());
  const std::vector<RevokedEntry> crl = ledger.revoked();
  EXPECT_EQ(serials(crl), within_grace);
  for (const RevokedEntry& e : crl) {
    EXPECT_EQ(e.revoked_at, now_);
    EXPECT_EQ(e.reason, e.serial == valid ? RevocationReason::KeyCompromise : RevocationReason::Superseded);
  }
  EXPECT_EQ(serials(ledger.revoked(0s)), std::vector<std::string>{valid.hex()});
  EXPECT_EQ(ledger.revoked(24h * 365).size(), 3u);

  EXPECT_EQ(serials(ledger.revoked_since(0)),
            (std::vector<std::string>{valid.hex(), expired_recently.hex(), expired_long_ago.hex()}));
  EXPECT_EQ(serials(ledger.revoked_since(2)), std::vector<std::string>{expired_long_ago.hex()});
  EXPECT_TRUE(ledger.revoked_since(3).empty());
}

TEST_F(LedgerTest, CrlNumbersIncreaseAndSurviveReopening) {
  {
    Ledger ledger(db_path(), clock_);
    EXPECT_EQ(ledger.next_crl_number(), 1);
    EXPECT_EQ(ledger.next_crl_number(), 2);
    EXPECT_EQ(ledger.next_crl_number(), 3);
  }
  Ledger ledger(db_path(), clock_);
  EXPECT_EQ(ledger.next_crl_number(), 4);
}

// ---- API clients --------------------------------------------------------------------------------

TEST_F(LedgerTest, AClientAuthenticatesWithItsTokenOnly) {
  Ledger ledger(db_path(), clock_);
  const NewClient added = ledger.add_client("web-1", {"server-tls"}, false, "alice");
  EXPECT_EQ(added.client.name, "web-1");
  EXPECT_EQ(added.client.profiles, std::vector<std::string>{"server-tls"});
  EXPECT_FALSE(added.client.admin);
  EXPECT_EQ(added.client.created_at, unix_of(now_));
  ASSERT_EQ(added.client.id.size(), 16u);
  EXPECT_TRUE(std::all_of(added.client.id.begin(), added.client.id.end(),
                          [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
  const std::string& token = added.token;
  ASSERT_EQ(token.size(), 4u + 16 + 1 + 43) << token;
  EXPECT_EQ(token.substr(0, 4), "sgt_");
  EXPECT_EQ(token.substr(4, 16), added.client.id);
  EXPECT_EQ(token[20], '_');
  const std::string secret = token.substr(21);

  const std::optional<ApiClient> who = ledger.authenticate(token);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->name, "web-1");
  EXPECT_EQ(who->id, added.client.id);
  EXPECT_EQ(who->profiles, added.client.profiles);

  // Only the secret's hash is stored.
  {
    db::Database db = db::Database::open(db_path(), db::OpenMode::ReadOnly);
    db::Statement s = db.prepare("SELECT secret_sha256 FROM api_clients WHERE name = 'web-1'");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.blob(0), crypto::sha256(as_bytes(secret)));
  }

  std::string wrong = token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ledger.authenticate(wrong));
  std::string unknown_id = token;
  unknown_id[4] = unknown_id[4] == '0' ? '1' : '0';
  EXPECT_FALSE(ledger.authenticate(unknown_id));
  for (const std::string& malformed :
       {std::string(), std::string("sgt_"), "Bearer " + token, token + "x", token.substr(0, token.size() - 1),
        "sgx_" + token.substr(4), token.substr(0, 20) + "-" + token.substr(21),
        "sgt_" + added.client.id.substr(0, 15) + "G_" + secret,  // not hex
        "sgt_" + std::string(16, 'A') + "_" + secret,             // uppercase id
        token.substr(0, 21) + "+" + secret.substr(1),             // not base64url
        token.substr(0, 21) + std::string(43, '\0')}) {
    EXPECT_FALSE(ledger.authenticate(malformed)) << malformed;
  }

  const NewClient admin = ledger.add_client("ops.admin_2", {"*"}, true, "alice");
  EXPECT_NE(admin.client.id, added.client.id);
  EXPECT_NE(admin.token, added.token);
  ASSERT_TRUE(ledger.authenticate(admin.token));
  EXPECT_TRUE(ledger.authenticate(admin.token)->admin);
  EXPECT_EQ(ledger.authenticate(token)->name, "web-1") << "each token finds its own client";
}

TEST_F(LedgerTest, AClientsProfilesAreKeptOnceEach) {
  Ledger ledger(db_path(), clock_);
  EXPECT_EQ(ledger.add_client("twice", {"server-tls", "client-tls", "server-tls"}, false, "alice").client.profiles,
            (std::vector<std::string>{"server-tls", "client-tls"}));
  EXPECT_EQ(ledger.client("twice")->profiles, (std::vector<std::string>{"server-tls", "client-tls"}));
}

TEST_F(LedgerTest, ClientsAreListedRemovedAndAudited) {
  Ledger ledger(db_path(), clock_);
  const NewClient b = ledger.add_client("b-client", {"server-tls", "client-tls"}, false, "alice");
  (void)ledger.add_client("a-client", {"*"}, true, "alice");
  const std::vector<ApiClient> all = ledger.clients();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a-client");
  EXPECT_TRUE(all[0].admin);
  EXPECT_EQ(all[1].name, "b-client");
  EXPECT_EQ(all[1].profiles, (std::vector<std::string>{"server-tls", "client-tls"}));
  ASSERT_TRUE(ledger.client("b-client"));
  EXPECT_EQ(ledger.client("b-client")->id, b.client.id);
  EXPECT_FALSE(ledger.client("c-client"));

  const Error exists = capture_error([&] { (void)ledger.add_client("b-client", {"*"}, false, "alice"); });
  EXPECT_EQ(exists.kind(), ErrorKind::Conflict);
  EXPECT_EQ(exists.code(), "client-exists");
  EXPECT_EQ(ledger.authenticate(b.token)->name, "b-client") << "the existing token still works";
  // A name that differs only in case is the same name to a person reading the log.
  const Error upper = capture_error([&] { (void)ledger.add_client("B-Client", {"*"}, false, "alice"); });
  EXPECT_EQ(upper.code(), "client-exists");
  EXPECT_NE(std::string(upper.what()).find("\"b-client\" exists already (names are compared ignoring case)"),
            std::string::npos)
      << upper.what();
  ASSERT_TRUE(ledger.client("B-CLIENT"));
  EXPECT_EQ(ledger.client("B-CLIENT")->id, b.client.id);

  ledger.remove_client("b-client", "bob");
  EXPECT_FALSE(ledger.client("b-client"));
  EXPECT_FALSE(ledger.authenticate(b.token));
  const Error gone = capture_error([&] { ledger.remove_client("b-client", "bob"); });
  EXPECT_EQ(gone.kind(), ErrorKind::NotFound);
  EXPECT_EQ(gone.code(), "client-not-found");

  const std::vector<AuditRow> rows = audit("client.");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].action, "client.add");
  EXPECT_EQ(rows[0].subject, "b-client");
  EXPECT_EQ(rows[0].actor, "alice");
  EXPECT_EQ(rows[1].subject, "a-client");
  EXPECT_EQ(rows[2].action, "client.remove");
  EXPECT_EQ(rows[2].subject, "b-client");
  EXPECT_EQ(rows[2].actor, "bob");
  for (const AuditRow& r : rows) {
    EXPECT_EQ(r.detail.find(b.token.substr(21)), std::string::npos) << "a secret in the audit log";
  }
}

TEST_F(LedgerTest, ClientNamesAndProfilesAreChecked) {
  Ledger ledger(db_path(), clock_);
  for (const std::string& name : {std::string(), std::string(65, 'a'), std::string("a b"), std::string("a/b"),
                                  std::string("caf\xc3\xa9"), std::string("x;drop")}) {
    const Error e = capture_error([&] { (void)ledger.add_client(name, {"*"}, false, "alice"); });
    EXPECT_EQ(e.kind(), ErrorKind::Malformed) << name;
    EXPECT_EQ(e.code(), "invalid-name") << name;
  }
  EXPECT_NO_THROW((void)ledger.add_client(std::string(64, 'a'), {"*"}, false, "alice"));
  const Error none = capture_error([&] { (void)ledger.add_client("web", {}, false, "alice"); });
  EXPECT_EQ(none.kind(), ErrorKind::Malformed);
  EXPECT_EQ(ledger.clients().size(), 1u);
}

TEST_F(LedgerTest, AClientAddedAgainUnderARemovedNameIsAnotherClient) {
  Ledger ledger(db_path(), clock_);
  const NewClient old = ledger.add_client("carol", {"*"}, false, "alice");
  const Serial old_cert = issue_to(ledger, old.client, "clientAuth");
  (void)ledger.remove_client("carol", "alice");
  const NewClient again = ledger.add_client("carol", {"*"}, false, "alice");

  EXPECT_NE(again.client.id, old.client.id);
  ASSERT_TRUE(ledger.client("carol"));
  EXPECT_EQ(ledger.client("carol")->id, again.client.id) << "the name finds the live client";
  EXPECT_FALSE(ledger.client_by_id(old.client.id)) << "the removed identity stays removed";
  ASSERT_TRUE(ledger.client_by_id(again.client.id));
  EXPECT_FALSE(ledger.authenticate(old.token)) << "the old token does not come back with the name";
  ASSERT_TRUE(ledger.authenticate(again.token));
  EXPECT_EQ(ledger.authenticate(again.token)->id, again.client.id);

  // The old carol's certificate is still hers: the new carol lists nothing.
  const std::optional<CertificateRecord> r = ledger.find(old_cert);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->client, "carol");
  EXPECT_EQ(r->client_id, old.client.id);
  ListQuery mine;
  mine.client_id = again.client.id;
  EXPECT_TRUE(ledger.list(mine).items.empty());
  ListQuery hers;
  hers.client_id = old.client.id;
  ASSERT_EQ(hers.client_id, r->client_id);
  EXPECT_EQ(ledger.list(hers).items.size(), 1u);

  // The removed client stays as a tombstone, without its token hash, so its id is never drawn again.
  ASSERT_EQ(ledger.clients().size(), 1u);
  db::Database db = db::Database::open(db_path(), db::OpenMode::ReadOnly);
  db::Statement s = db.prepare(
      "SELECT removed_at, removed_by, secret_sha256 IS NULL FROM api_clients WHERE id = ?");
  s.bind(1, old.client.id);
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.int64(0), unix_of(now_));
  EXPECT_EQ(s.text(1), "alice");
  EXPECT_EQ(s.int64(2), 1);
}

TEST_F(LedgerTest, RemovingAClientRevokesItsValidClientCertificatesAndAuditsEach) {
  Ledger ledger(db_path(), clock_);
  const ApiClient carol = ledger.add_client("carol", {"*"}, false, "alice").client;
  const ApiClient dave = ledger.add_client("dave", {"*"}, false, "alice").client;
  const Serial client_a = issue_to(ledger, carol, "clientAuth");
  const Serial client_b = issue_to(ledger, carol, "serverAuth,clientAuth");
  const Serial server = issue_to(ledger, carol, "serverAuth");     // not a credential: stays valid
  const Serial no_eku = issue_to(ledger, carol, "");                 // signetd refuses it: stays valid
  const Serial expired = issue_to(ledger, carol, "clientAuth", now_ - 1h);
  const Serial revoked = issue_to(ledger, carol, "clientAuth");
  (void)ledger.revoke(revoked, RevocationReason::KeyCompromise, "alice");
  const Serial pending = Serial::random();  // an intent is not a certificate yet
  ledger.record_intent(intent(pending, carol.name, TimePoint{}, carol.id));
  const Serial daves = issue_to(ledger, dave, "clientAuth");
  ASSERT_EQ(ledger.revocation_revision(), 1);

  const RemovedClient removed = ledger.remove_client("carol", "bob");
  EXPECT_EQ(removed.client.id, carol.id);
  std::vector<Serial> expected = {client_a, client_b};
  std::sort(expected.begin(), expected.end(), [](const Serial& x, const Serial& y) { return x.hex() < y.hex(); });
  EXPECT_EQ(removed.revoked, expected);

  for (const Serial& s : expected) {
    const std::optional<CertificateRecord> r = ledger.find(s);
    ASSERT_TRUE(r && r->revoked_at);
    EXPECT_EQ(r->reason, RevocationReason::CessationOfOperation);
    EXPECT_EQ(r->revoked_by, "bob");
  }
  for (const Serial& s : {server, no_eku, expired, pending, daves}) EXPECT_FALSE(ledger.find(s)->revoked_at) << s.hex();
  EXPECT_EQ(ledger.find(revoked)->reason, RevocationReason::KeyCompromise) << "an earlier revocation stays as it was";
  // The CRL and the daemon's poller see them as any revocation.
  EXPECT_EQ(ledger.revocation_revision(), 3);
  EXPECT_EQ(ledger.revoked_since(1).size(), 2u);

  // One audit row per revocation, then the removal's, naming them.
  const std::vector<AuditRow> revocations = audit("certificate.revoke");
  ASSERT_EQ(revocations.size(), 3u);
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(revocations[i].actor, "bob");
    EXPECT_EQ(revocations[i].subject, expected[i - 1].hex());
    EXPECT_NE(revocations[i].detail.find("cessationOfOperation"), std::string::npos) << revocations[i].detail;
    EXPECT_NE(revocations[i].detail.find("client carol (id " + carol.id + ") removed"), std::string::npos)
        << revocations[i].detail;
  }
  const std::vector<AuditRow> removal = audit("client.remove");
  ASSERT_EQ(removal.size(), 1u);
  EXPECT_EQ(removal[0].actor, "bob");
  EXPECT_EQ(removal[0].subject, "carol");
  EXPECT_EQ(removal[0].detail, "id " + carol.id + ", revoked 2 client certificates: " + expected[0].hex() + ", " +
                                   expected[1].hex());

  // Another reason may be chosen (a leaked key); a client without certificates revokes nothing.
  const ApiClient erin = ledger.add_client("erin", {"*"}, false, "alice").client;
  const Serial erins = issue_to(ledger, erin, "clientAuth");
  EXPECT_EQ(ledger.remove_client("erin", "bob", RevocationReason::KeyCompromise).revoked, std::vector<Serial>{erins});
  EXPECT_EQ(ledger.find(erins)->reason, RevocationReason::KeyCompromise);
  (void)ledger.add_client("frank", {"*"}, false, "alice");
  EXPECT_TRUE(ledger.remove_client("frank", "bob").revoked.empty());
}

TEST_F(LedgerTest, ARemovedClientGetsNoCertificateStored) {
  Ledger ledger(db_path(), clock_);
  const ApiClient carol = ledger.add_client("carol", {"*"}, false, "alice").client;
  // Removed while its certificate was being signed: the intent stays, the certificate is refused.
  const Serial signing = Serial::random();
  const Intent i = intent(signing, carol.name, TimePoint{}, carol.id);
  ledger.record_intent(i);
  (void)ledger.remove_client("carol", "alice");
  const Error late = capture_error([&] {
    ledger.record_issued(certificate_with_serial(key_.get(), signing, i.not_before, i.not_after, "c", "clientAuth"));
  });
  EXPECT_EQ(late.kind(), ErrorKind::Unauthorized);
  EXPECT_EQ(late.code(), "client-removed");
  EXPECT_EQ(ledger.find(signing)->state, CertificateState::Intent);
  // And no new intent either.
  const Error after = capture_error([&] { ledger.record_intent(intent(Serial::random(), carol.name, TimePoint{}, carol.id)); });
  EXPECT_EQ(after.code(), "client-removed");
}

// A store at schema 4 (clients were their names), with a client "carol" added at `added`.
TEST_F(LedgerTest, MigrationGivesExistingCertificatesTheirClientsId) {
  const fs::path old = tmp_ / "v4.db";
  const std::int64_t added = unix_of(now_);
  {
    db::Database db = db::Database::open(old, db::OpenMode::ReadWriteCreate);
    std::vector<db::Migration> up_to_4;
    for (const db::Migration& m : keystore::schema_migrations()) {
      if (m.version <= 4) up_to_4.push_back(m);
    }
    ASSERT_EQ(db::migrate(db, up_to_4), 4);
    db.exec("INSERT INTO api_clients (name, id, secret_sha256, profiles, admin, created_at) VALUES "
            "('carol', '00000000000000c2', zeroblob(32), '[\"*\"]', 0, " + std::to_string(added) + ")");
    const auto cert = [&](const std::string& serial, const std::string& client, std::int64_t requested_at) {
      db.exec("INSERT INTO issued_certificates (serial, state, profile, client, subject, names, requested_at, "
              "not_before, not_after) VALUES ('" + serial + "', 'intent', 'p', '" + client + "', '', '[]', " +
              std::to_string(requested_at) + ", 0, 0)");
    };
    cert("01", "carol", added);        // the current carol's
    cert("02", "carol", added + 60);   // hers too
    cert("03", "carol", added - 60);   // an earlier carol's, requested before this one was added
    cert("04", "dave", added);         // a client removed before the migration
    cert("05", "operator:root", added);
  }
  db::Database db = db::Database::open(old, db::OpenMode::ReadWrite);
  ASSERT_EQ(db::migrate(db, keystore::schema_migrations()), db::latest_version(keystore::schema_migrations()));
  db::Statement s = db.prepare("SELECT serial, coalesce(client_id, '') FROM issued_certificates ORDER BY serial");
  std::map<std::string, std::string> owner;
  while (s.step()) owner[s.text(0)] = s.text(1);
  EXPECT_EQ(owner, (std::map<std::string, std::string>{{"01", "00000000000000c2"},
                                                       {"02", "00000000000000c2"},
                                                       {"03", ""},
                                                       {"04", ""},
                                                       {"05", ""}}));
  // The client survived the table's rebuild with its token hash, and is live.
  db::Statement c = db.prepare("SELECT name, removed_at IS NULL, length(secret_sha256) FROM api_clients");
  ASSERT_TRUE(c.step());
  EXPECT_EQ(c.text(0), "carol");
  EXPECT_EQ(c.int64(1), 1);
  EXPECT_EQ(c.int64(2), 32);
  EXPECT_FALSE(c.step());
}

TEST_F(LedgerTest, TheSchemaKeepsOneLiveClientPerNameAndNoTokenForARemovedOne) {
  db::Database db = db::Database::open(db_path(), db::OpenMode::ReadWrite);
  const auto insert = [&](const std::string& values) {
    return capture_error([&] {
      db.exec("INSERT INTO api_clients (id, name, secret_sha256, profiles, admin, created_at, removed_at, "
              "removed_by) VALUES " + values);
    });
  };
  db.exec("INSERT INTO api_clients (id, name, secret_sha256, profiles, admin, created_at) VALUES "
          "('000000000000000a', 'carol', zeroblob(32), '[]', 0, 1)");
  EXPECT_EQ(insert("('000000000000000b', 'carol', zeroblob(32), '[]', 0, 1, NULL, NULL)").kind(), ErrorKind::Conflict);
  EXPECT_EQ(insert("('000000000000000c', 'carol', zeroblob(32), '[]', 0, 1, 2, 'x')").kind(), ErrorKind::Conflict)
      << "a removed client keeps no token hash";
  EXPECT_EQ(insert("('000000000000000d', 'carol', NULL, '[]', 0, 1, 2, NULL)").kind(), ErrorKind::Conflict);
  EXPECT_EQ(insert("('000000000000000a', 'dave', NULL, '[]', 0, 1, 2, 'x')").kind(), ErrorKind::Conflict)
      << "an id is taken for good";
  EXPECT_NO_THROW(db.exec("INSERT INTO api_clients (id, name, secret_sha256, profiles, admin, created_at, removed_at, "
                          "removed_by) VALUES ('000000000000000e', 'carol', NULL, '[]', 0, 1, 2, 'x')"));
}

// ---- concurrency --------------------------------------------------------------------------------

TEST_F(LedgerTest, ManyThreadsRecordAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  Ledger ledger(db_path(), clock_);
  std::mutex mutex;
  std::vector<Serial> serials;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          const Serial serial = Serial::random();
          (void)issue(ledger, serial);
          if (!ledger.find(serial) || ledger.find(serial)->state != CertificateState::Issued) ++failures;
          std::lock_guard lock(mutex);
          serials.push_back(serial);
        } catch (...) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(serials.size(), std::size_t{kThreads * kPerThread});
  ListQuery q;
  q.limit = 1000;
  EXPECT_EQ(ledger.list(q).items.size(), serials.size());
  const db::GroupCommitter::Stats stats = ledger.commit_stats();
  EXPECT_EQ(stats.units, std::uint64_t{2 * kThreads * kPerThread});
  EXPECT_EQ(stats.failed_units, 0u);
  EXPECT_LE(stats.commits, stats.units);
}

// ---- backups ------------------------------------------------------------------------------------

TEST_F(LedgerTest, BackupAndRestoreCarryTheLedger) {
  const Serial serial = Serial::random();
  const Serial pending = Serial::random();
  crypto::Certificate cert = [&] {
    Ledger ledger(db_path(), clock_);
    crypto::Certificate c = issue(ledger, serial);
    ledger.record_intent(intent(pending, "web-2"));
    (void)ledger.revoke(serial, RevocationReason::KeyCompromise, "alice");
    EXPECT_EQ(ledger.next_crl_number(), 1);
    EXPECT_EQ(ledger.next_crl_number(), 2);
    return c;
  }();
  const std::string token = [&] {
    Ledger ledger(db_path(), clock_);
    return ledger.add_client("web-1", {"server-tls"}, true, "alice").token;
  }();

  const fs::path file = tmp_ / "ledger.sbk";
  {
    keystore::KeyStore store = keystore::KeyStore::open(store_dir(), pass("correct horse battery"));
    (void)store.create_backup(file, pass("backup passphrase!"), kFastKdf, "test");
  }
  const fs::path target = tmp_ / "target";
  keystore::KeyStore restored = keystore::KeyStore::create(target, pass("another passphrase"), kFastKdf);
  {
    backup::OpenedBackup b = backup::OpenedBackup::open(file, pass("backup passphrase!"), target);
    const keystore::RestoreReport report = restored.restore(b, false);
    const std::map<std::string, std::int64_t> tables(report.tables.begin(), report.tables.end());
    EXPECT_EQ(tables.at("issued_certificates"), 2);
    EXPECT_EQ(tables.at("api_clients"), 1);
    EXPECT_EQ(tables.at("crl_state"), 1);
  }

  Ledger ledger(keystore::KeyStore::database_path(target), clock_);
  const std::optional<CertificateRecord> r = ledger.find(serial);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, CertificateState::Issued);
  ASSERT_TRUE(r->certificate);
  EXPECT_EQ(r->certificate->der(), cert.der());
  EXPECT_EQ(r->reason, RevocationReason::KeyCompromise);
  EXPECT_EQ(r->revoked_by, "alice");
  ASSERT_TRUE(ledger.find(pending));
  EXPECT_EQ(ledger.find(pending)->state, CertificateState::Intent);
  EXPECT_EQ(ledger.revocation_revision(), 1);
  EXPECT_EQ(ledger.revoked().size(), 1u);
  ASSERT_TRUE(ledger.authenticate(token));
  EXPECT_EQ(ledger.authenticate(token)->name, "web-1");
  EXPECT_TRUE(ledger.authenticate(token)->admin);
  EXPECT_EQ(ledger.next_crl_number(), 3) << "CRL numbers never go back after a restore";

  // Restoring the same backup again adds nothing.
  {
    backup::OpenedBackup b = backup::OpenedBackup::open(file, pass("backup passphrase!"), target);
    const keystore::RestoreReport again = restored.restore(b, false);
    for (const auto& [table, rows] : again.tables) EXPECT_EQ(rows, 0) << table;
  }
  ListQuery q;
  EXPECT_EQ(ledger.list(q).items.size(), 2u);
}

}  // namespace
}  // namespace signet::issuance
