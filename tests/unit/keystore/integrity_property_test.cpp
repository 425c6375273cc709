// Property tests of the integrity check: whatever damage is done to a store's rows, no damaged
// entry is ever offered for reuse, and no intact entry is ever excluded.
//
// IntegrityPropertyStoreDamagedAtRandom: one pristine store of 60 entries (mostly ec-p256, some
// ed25519 and ec-p384, one rsa-2048; some with certificates, some with requests) is built once.
// Each seed copies it, applies a random set of realistic corruptions with SQL on a separate
// connection, reopens the store and checks every entry.
//
// IntegrityPropertyEntryBitsFlippedAtRandom: the same property for check_keys() on hand-sealed
// records, with many more single-bit corruptions than a store could hold in reasonable time.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"
#include "signet/keystore/integrity.h"
#include "signet/keystore/store.h"
#include "support/store_edit.h"
#include "support/temp_dir.h"

namespace signet::keystore {
namespace {

namespace fs = std::filesystem;
using crypto::KeyAlgorithm;

constexpr int kEntries = 60;

Passphrase store_passphrase() { return Passphrase(as_bytes("property test passphrase")); }

crypto::KeyAlgorithm algorithm_for(int i) {
  if (i == 30) return KeyAlgorithm::Rsa2048;  // one: RSA key generation is slow
  if (i % 12 == 5) return KeyAlgorithm::Ed25519;
  if (i % 20 == 9) return KeyAlgorithm::EcP384;
  return KeyAlgorithm::EcP256;
}

// The pristine store, its twin (the same keys imported in the same order into another store, so
// the same key ids and fingerprints under a different store id and data key), and what the test
// needs to know about each entry to damage it.
struct PristineStore {
  test::TempDir dir;
  test::TempDir twin_dir;
  std::vector<std::string> names;
  std::map<std::string, std::string> algorithm;
  std::map<std::string, Bytes> certificate;  // entries with an own certificate: its DER
  std::map<std::string, std::string> certificate_role;
  std::map<std::string, Bytes> request;  // entries with a request: its DER
  std::map<std::string, Bytes> twin_ciphertext;
};

std::unique_ptr<PristineStore> build_pristine_store() {
  auto p = std::make_unique<PristineStore>();
  const auto not_before = std::chrono::system_clock::now() - std::chrono::hours(1);
  {
    KeyStore store = KeyStore::create(p->dir.path(), store_passphrase(),
                                      crypto::ScryptParams::insecure_for_tests());
    KeyStore twin = KeyStore::create(p->twin_dir.path(), store_passphrase(),
                                     crypto::ScryptParams::insecure_for_tests());
    for (int i = 0; i < kEntries; ++i) {
      const std::string name = "key-" + std::string(i < 10 ? "0" : "") + std::to_string(i);
      p->names.push_back(name);
      p->algorithm[name] = std::string(crypto::to_string(algorithm_for(i)));
      store.generate(name, algorithm_for(i));
      ossl::Pkey key = store.unlock_key(name).key;
      if (i % 3 == 0 || i % 5 == 1) {
        crypto::SelfSignedSpec spec;
        spec.common_name = name;
        spec.not_before = not_before;
        spec.validity = std::chrono::hours(24 * 30);
        spec.ca = i % 5 == 1;
        const crypto::Certificate cert = crypto::make_self_signed(key.get(), spec);
        store.attach_certificate(name, cert);
        p->certificate[name] = cert.der();
        p->certificate_role[name] = spec.ca ? std::string(kRoleCa) : std::string(kRoleLeaf);
      }
      if (i % 4 == 2) {
        const crypto::CertificateRequest req = crypto::make_request(key.get(), name + ".example");
        store.attach_request(name, req);
        p->request[name] = req.der();
      }
      KeyMaterial material;
      material.key = std::move(key);
      material.format = "pkcs8-der";
      twin.import(name, std::move(material));
    }
  }
  test::StoreEditor ours(p->dir.path());
  test::StoreEditor twin(p->twin_dir.path());
  for (const std::string& name : p->names) {
    EXPECT_EQ(ours.key_id(name), twin.key_id(name)) << name;
    EXPECT_EQ(ours.key_blob(name, "fingerprint"), twin.key_blob(name, "fingerprint")) << name;
    p->twin_ciphertext[name] = *twin.key_blob(name, "encrypted_private_key");
  }
  return p;
}

// Copies the (closed) store in `from` into `to`.
void copy_store(const fs::path& from, const fs::path& to) {
  for (const auto& entry : fs::directory_iterator(from)) {
    if (entry.path().filename().string().starts_with(kStoreFileName)) {
      fs::copy_file(entry.path(), to / entry.path().filename());
    }
  }
}

enum class Damage {
  FlipCiphertextByte,
  FlipPublicKeyByte,
  FlipFingerprintByte,
  TruncateCiphertext,
  ExtendCiphertext,
  SwapCiphertexts,
  SwapPublicKeysAndFingerprints,
  ChangeAlgorithm,
  NullColumn,
  CiphertextFromTwinStore,
  RenumberRow,
  ReplaceCertificateWithAnotherKeys,
  TruncateCertificate,
  RelabelCertificate,
  AttachAnotherKeysCertificate,
  AttachAnotherKeysRequest,
  TruncateRequest,
};
constexpr int kDamageKinds = static_cast<int>(Damage::TruncateRequest) + 1;

// Applies random damage to rows that have not been damaged yet, so that no two corruptions can
// cancel out, and copies material only from the pristine snapshot (a certificate taken from another
// entry is always that other key's).
class Damager {
 public:
  Damager(const PristineStore& pristine, test::StoreEditor& editor, std::mt19937& rng)
      : p_(pristine), ed_(editor), rng_(rng) {}

  // Tries one corruption of the given kind; false when no untouched entry fits it.
  bool apply(Damage kind) {
    switch (kind) {
      case Damage::FlipCiphertextByte:
        return flip("encrypted_private_key");
      case Damage::FlipPublicKeyByte:
        return flip("public_key");
      case Damage::FlipFingerprintByte:
        return flip("fingerprint");
      case Damage::TruncateCiphertext: {
        const auto name = pick();
        if (!name) return false;
        Bytes ct = *ed_.key_blob(*name, "encrypted_private_key");
        const std::size_t size = uniform(0, ct.size() - 1);
        ct.resize(size);
        ed_.set_key_blob(*name, "encrypted_private_key", ct);
        return note(*name, "ciphertext truncated to " + std::to_string(size) + " bytes");
      }
      case Damage::ExtendCiphertext: {
        const auto name = pick();
        if (!name) return false;
        Bytes ct = *ed_.key_blob(*name, "encrypted_private_key");
        const std::size_t extra = uniform(1, 16);
        for (std::size_t i = 0; i < extra; ++i)
          ct.push_back(static_cast<std::uint8_t>(uniform(0, 255)));
        ed_.set_key_blob(*name, "encrypted_private_key", ct);
        return note(*name, "ciphertext extended by " + std::to_string(extra) + " bytes");
      }
      case Damage::SwapCiphertexts:
        return swap({"encrypted_private_key"});
      case Damage::SwapPublicKeysAndFingerprints:
        return swap({"public_key", "fingerprint"});
      case Damage::ChangeAlgorithm: {
        const auto name = pick();
        if (!name) return false;
        std::vector<std::string> others;
        for (const KeyAlgorithm a : crypto::all_algorithms()) {
          if (crypto::to_string(a) != p_.algorithm.at(*name))
            others.emplace_back(crypto::to_string(a));
        }
        const std::string& to = others[uniform(0, others.size() - 1)];
        ed_.set_key_text(*name, "algorithm", to);
        return note(*name, "algorithm changed to " + to);
      }
      case Damage::NullColumn: {
        const auto name = pick();
        if (!name) return false;
        static constexpr std::array<std::string_view, 3> kColumns = {"public_key", "fingerprint",
                                                                     "encrypted_private_key"};
        const std::string_view column = kColumns[uniform(0, kColumns.size() - 1)];
        ed_.set_key_blob(*name, column, std::nullopt);
        return note(*name, std::string(column) + " set to NULL");
      }
      case Damage::CiphertextFromTwinStore: {
        const auto name = pick();
        if (!name) return false;
        ed_.set_key_blob(*name, "encrypted_private_key", p_.twin_ciphertext.at(*name));
        return note(*name, "ciphertext copied from the same key in another store");
      }
      case Damage::RenumberRow: {
        const auto name = pick();
        if (!name) return false;
        const std::int64_t from = ed_.key_id(*name);
        const std::int64_t to = 100000 + static_cast<std::int64_t>(damaged_.size());
        for (const char* sql : {"UPDATE keys SET id = ? WHERE id = ?",
                                "UPDATE key_certificates SET key_id = ? WHERE key_id = ?",
                                "UPDATE key_requests SET key_id = ? WHERE key_id = ?"}) {
          ed_.db().prepare(sql).bind(1, to).bind(2, from).run();
        }
        return note(*name,
                    "renumbered from id " + std::to_string(from) + " to " + std::to_string(to));
      }
      case Damage::ReplaceCertificateWithAnotherKeys: {
        const auto name = pick(has_certificate());
        if (!name) return false;
        const std::string source = other_than(*name, p_.certificate);
        ed_.set_certificate_der(ed_.certificates(*name).at(0).id, p_.certificate.at(source));
        return note(*name, "certificate replaced with " + source + "'s");
      }
      case Damage::TruncateCertificate: {
        const auto name = pick(has_certificate());
        if (!name) return false;
        const Bytes& der = p_.certificate.at(*name);
        const std::size_t size = uniform(0, der.size() - 1);
        ed_.set_certificate_der(
            ed_.certificates(*name).at(0).id,
            Bytes(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(size)));
        return note(*name, "certificate truncated to " + std::to_string(size) + " bytes");
      }
      case Damage::RelabelCertificate: {
        const auto name = pick(has_certificate());
        if (!name) return false;
        // 'ca' to 'leaf' is no defect (a CA certificate may serve as the key's own), so only
        // labels that cannot fit: 'ca' on a non-CA certificate, 'chain' with nothing below it,
        // and labels that mean nothing.
        std::vector<std::string> labels = {"chain", "root", "intermediate", "", "CA"};
        if (p_.certificate_role.at(*name) == kRoleLeaf) labels.emplace_back(kRoleCa);
        const std::string& role = labels[uniform(0, labels.size() - 1)];
        ed_.set_certificate_role(ed_.certificates(*name).at(0).id, role);
        return note(*name, "certificate relabelled \"" + role + "\"");
      }
      case Damage::AttachAnotherKeysCertificate: {
        const auto name = pick();
        if (!name) return false;
        const std::string source = other_than(*name, p_.certificate);
        const std::int64_t position = uniform(0, 1) == 0 ? -5 : 5;
        ed_.insert_certificate(*name, p_.certificate_role.at(source), position,
                               p_.certificate.at(source));
        return note(*name,
                    "given " + source + "'s certificate at position " + std::to_string(position));
      }
      case Damage::AttachAnotherKeysRequest: {
        const auto name = pick();
        if (!name) return false;
        const std::string source = other_than(*name, p_.request);
        ed_.insert_request(*name, p_.request.at(source));
        return note(*name, "given " + source + "'s request");
      }
      case Damage::TruncateRequest: {
        const auto name = pick([this](const std::string& n) { return p_.request.contains(n); });
        if (!name) return false;
        const Bytes& der = p_.request.at(*name);
        const std::size_t size = uniform(0, der.size() - 1);
        ed_.set_requests_der(*name,
                             Bytes(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(size)));
        return note(*name, "request truncated to " + std::to_string(size) + " bytes");
      }
    }
    return false;
  }

  [[nodiscard]] const std::map<std::string, std::string>& damaged() const { return damaged_; }

 private:
  using Filter = std::function<bool(const std::string&)>;

  std::size_t uniform(std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng_);
  }

  Filter has_certificate() const {
    return [this](const std::string& n) { return p_.certificate.contains(n); };
  }

  // A random entry not damaged yet (and passing `filter`).
  std::optional<std::string> pick(const Filter& filter = nullptr) {
    std::vector<std::string> candidates;
    for (const std::string& n : p_.names) {
      if (!damaged_.contains(n) && (!filter || filter(n))) candidates.push_back(n);
    }
    if (candidates.empty()) return std::nullopt;
    return candidates[uniform(0, candidates.size() - 1)];
  }

  // A random entry of `pool` other than `name` (damaged or not: the material comes from the
  // pristine snapshot).
  std::string other_than(const std::string& name, const std::map<std::string, Bytes>& pool) {
    std::vector<std::string> candidates;
    for (const auto& [n, unused] : pool) {
      if (n != name) candidates.push_back(n);
    }
    return candidates[uniform(0, candidates.size() - 1)];
  }

  bool flip(std::string_view column) {
    const auto name = pick();
    if (!name) return false;
    const Bytes before = *ed_.key_blob(*name, column);
    const std::size_t at = uniform(0, before.size() - 1);
    const auto mask = static_cast<std::uint8_t>(uniform(1, 255));
    ed_.flip_key_byte(*name, column, at, mask);
    EXPECT_NE(*ed_.key_blob(*name, column), before);
    return note(
        *name, std::string(column) + " byte " + std::to_string(at) + " ^= " + std::to_string(mask));
  }

  bool swap(std::initializer_list<std::string_view> columns) {
    const auto a = pick();
    if (!a) return false;
    damaged_[*a] = "(being swapped)";
    const auto b = pick();
    if (!b) {
      damaged_.erase(*a);
      return false;
    }
    for (const std::string_view column : columns) {
      EXPECT_NE(ed_.key_blob(*a, column), ed_.key_blob(*b, column));  // a real change
      ed_.swap_key_blobs(*a, *b, column);
    }
    std::string what;
    for (const std::string_view column : columns)
      what += std::string(what.empty() ? "" : "+") + std::string(column);
    note(*a, what + " swapped with " + *b);
    return note(*b, what + " swapped with " + *a);
  }

  bool note(const std::string& name, const std::string& what) {
    damaged_[name] = what;
    return true;
  }

  const PristineStore& p_;
  test::StoreEditor& ed_;
  std::mt19937& rng_;
  std::map<std::string, std::string> damaged_;  // name -> what was done to it
};

class IntegrityPropertyStoreDamagedAtRandom : public ::testing::TestWithParam<std::uint32_t> {
 protected:
  static void SetUpTestSuite() { pristine_ = build_pristine_store(); }
  static void TearDownTestSuite() { pristine_.reset(); }
  static inline std::unique_ptr<PristineStore> pristine_;
};

TEST_P(IntegrityPropertyStoreDamagedAtRandom, NoDamagedEntryIsReusableAndNoIntactOneIsExcluded) {
  const std::uint32_t seed = GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed));
  ASSERT_TRUE(pristine_);
  const PristineStore& p = *pristine_;
  std::mt19937 rng(seed);

  test::TempDir dir;
  copy_store(p.dir.path(), dir.path());

  std::map<std::string, std::string> damaged;
  {
    test::StoreEditor editor(dir.path());
    Damager damager(p, editor, rng);
    const std::size_t wanted = std::uniform_int_distribution<std::size_t>(5, 35)(rng);
    for (int attempt = 0; damager.damaged().size() < wanted && attempt < 1000; ++attempt) {
      const auto kind =
          static_cast<Damage>(std::uniform_int_distribution<int>(0, kDamageKinds - 1)(rng));
      damager.apply(kind);
    }
    ASSERT_GE(damager.damaged().size(), wanted);
    damaged = damager.damaged();
  }

  KeyStore store = KeyStore::open(dir.path(), store_passphrase());
  const IntegrityReport report = store.check_all();
  EXPECT_EQ(report.checked(), static_cast<std::size_t>(kEntries));

  std::map<std::string, const KeyVerdict*> reusable;
  std::map<std::string, const KeyVerdict*> excluded;
  for (const KeyVerdict& v : report.reusable) reusable[v.name] = &v;
  for (const KeyVerdict& v : report.excluded) excluded[v.name] = &v;

  for (const std::string& name : p.names) {
    if (const auto it = damaged.find(name); it != damaged.end()) {
      EXPECT_FALSE(reusable.contains(name)) << name << " is offered after: " << it->second;
      EXPECT_TRUE(excluded.contains(name)) << name << " is not reported after: " << it->second;
      // Nor can it be used by name.
      try {
        (void)store.unlock_key(name);
        ADD_FAILURE() << name << " unlocked after: " << it->second;
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), "key-invalid") << name << ": " << e.what();
      }
    } else {
      EXPECT_TRUE(reusable.contains(name)) << name << " was not damaged but is not offered";
      if (reusable.contains(name)) {
        EXPECT_TRUE(reusable[name]->findings.empty())
            << name << " has findings but was not damaged";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, IntegrityPropertyStoreDamagedAtRandom,
                         ::testing::Values(1u, 2u, 3u, 42u, 1234u, 20240611u, 3141592653u,
                                           4000000007u));

// ---- the same property on hand-sealed records ------------------------------------------------

TEST(IntegrityPropertyEntryBitsFlippedAtRandom, NoFlippedEntryIsReusableAndNoIntactOneIsExcluded) {
  const Bytes store_id = crypto::random_bytes(16);
  const Bytes data_key = crypto::random_bytes(crypto::kAeadKeySize);
  const KeyContext context{store_id, data_key};

  // A small pool of keys, sealed as the store would seal them.
  std::vector<KeyRecord> intact;
  for (int i = 0; i < 12; ++i) {
    const KeyAlgorithm algorithm = i % 4 == 3   ? KeyAlgorithm::Ed25519
                                   : i % 6 == 1 ? KeyAlgorithm::EcP384
                                                : KeyAlgorithm::EcP256;
    const ossl::Pkey key = crypto::generate_key(algorithm);
    KeyRecord r;
    r.id = KeyId{i + 1};
    r.algorithm = std::string(crypto::to_string(algorithm));
    r.public_key = crypto::public_key_der(key.get());
    r.fingerprint = crypto::sha256(*r.public_key);
    const SecretBytes plain = crypto::private_key_der(key.get());
    r.encrypted_private_key = crypto::aead_seal(
        data_key, plain.view(), entry_aad(store_id, r.id, r.algorithm, *r.fingerprint));
    intact.push_back(std::move(r));
  }

  for (const std::uint32_t seed : {7u, 99u, 2024u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto uniform = [&rng](std::size_t lo, std::size_t hi) {
      return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
    };
    std::vector<KeyRecord> records;
    std::vector<std::string> damage;  // "" for intact records
    for (int n = 0; n < 400; ++n) {
      KeyRecord r = intact[uniform(0, intact.size() - 1)];
      r.name = "record-" + std::to_string(n);
      std::string what;
      if (uniform(0, 2) != 0) {
        // Flip one bit of one field of the entry's identity or key material.
        const std::size_t field = uniform(0, 4);
        const auto bit = static_cast<std::uint8_t>(1u << uniform(0, 7));
        const auto flip = [&](Bytes& bytes, const char* label) {
          const std::size_t at = uniform(0, bytes.size() - 1);
          bytes[at] ^= bit;
          what = std::string(label) + " byte " + std::to_string(at) + " ^= " + std::to_string(bit);
        };
        switch (field) {
          case 0:
            flip(*r.encrypted_private_key, "ciphertext");
            break;
          case 1:
            flip(*r.public_key, "public key");
            break;
          case 2:
            flip(*r.fingerprint, "fingerprint");
            break;
          case 3: {
            const std::size_t at = uniform(0, r.algorithm.size() - 1);
            r.algorithm[at] = static_cast<char>(r.algorithm[at] ^ static_cast<char>(bit));
            what = "algorithm \"" + r.algorithm + "\"";
            break;
          }
          default: {
            const std::int64_t delta = static_cast<std::int64_t>(uniform(1, 1000));
            r.id = KeyId{r.id.value + delta};
            what = "id moved by " + std::to_string(delta);
            break;
          }
        }
      }
      records.push_back(std::move(r));
      damage.push_back(what);
    }

    const IntegrityReport report =
        check_keys(context, records, std::chrono::system_clock::now(), 4);
    ASSERT_EQ(report.checked(), records.size());
    std::set<std::string> offered;
    for (const KeyVerdict& v : report.reusable) offered.insert(v.name);
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (damage[i].empty()) {
        EXPECT_TRUE(offered.contains(records[i].name)) << records[i].name << " is intact";
      } else {
        EXPECT_FALSE(offered.contains(records[i].name))
            << records[i].name << " is offered after: " << damage[i];
      }
    }
  }
}

}  // namespace
}  // namespace signet::keystore
