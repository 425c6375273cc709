#include "signet/keystore/integrity.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <thread>

#include "signet/core/error.h"
#include "signet/core/time_format.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/crypto/primitives.h"

namespace signet::keystore {

namespace {

struct CodeInfo {
  FindingCode code;
  std::string_view name;
  Severity severity;
  std::string_view fix;
};

// The fixes below are for an entry in this store (a local entry); an entry in the quarantine gets
// quarantine_fix() instead. A restore skips, and an import refuses, a key whose fingerprint an
// entry here already has, damaged or not: so the damaged entry is deleted first, and only once a
// good copy is known to exist, since deleting cannot be undone.

// The repair that most damaged local entries share.
constexpr std::string_view kRestoreFix =
    "Do not use this entry: the key cannot be recovered from it. First make sure you have a good "
    "copy: a backup of this store (`signet backup inspect FILE` shows each key's verdict and "
    "changes nothing) or the key's PKCS#12/PKCS#8 file. Then delete this entry with `signet keys "
    "delete` and restore the backup (`signet backup restore FILE`) or re-import the file (`signet "
    "keys import FILE`); while this entry is here, a copy with the same fingerprint is not added.";

// The repair of a local entry whose key may be sound but which carries a damaged attachment.
constexpr std::string_view kAttachmentFix =
    "The entry cannot be used or exported while it carries this. Delete it with `signet keys "
    "delete`, then re-import the key with its correct certificates (`signet keys import FILE`) or "
    "restore it from a backup (`signet backup restore FILE`); make sure you have one of them "
    "first.";

constexpr std::array kCodes = {
    CodeInfo{FindingCode::PrivateKeyMissing, "private-key-missing", Severity::Error,
             "A certificate request or certificate cannot be turned back into a key. First make "
             "sure you have the private key: its PKCS#12/PKCS#8 file, or a backup of this store "
             "made with `signet backup create` that holds it (`signet backup inspect FILE`). Then "
             "delete this entry with `signet keys delete` and re-import the key (`signet keys "
             "import FILE`) or restore the backup (`signet backup restore FILE`)."},
    CodeInfo{FindingCode::PublicKeyMissing, "public-key-missing", Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::FingerprintMissing, "fingerprint-missing", Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::AlgorithmUnknown, "algorithm-unknown", Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::PublicKeyMalformed, "public-key-malformed", Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::PublicKeyAlgorithmMismatch, "public-key-algorithm-mismatch",
             Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::FingerprintMismatch, "fingerprint-mismatch", Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::CiphertextMalformed, "ciphertext-malformed", Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::CiphertextAuthFailed, "ciphertext-auth-failed", Severity::Error,
             "The encrypted key was altered, truncated, moved from another entry or copied from "
             "another store: it cannot be recovered. First make sure you have a good copy: a "
             "backup of this store (`signet backup inspect FILE` shows each key's verdict and "
             "changes nothing) or the key's PKCS#12/PKCS#8 file. Then delete this entry with "
             "`signet keys delete` and restore the backup (`signet backup restore FILE`) or "
             "re-import the file (`signet keys import FILE`)."},
    CodeInfo{FindingCode::PrivateKeyMalformed, "private-key-malformed", Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::PrivateKeyAlgorithmMismatch, "private-key-algorithm-mismatch",
             Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::PublicKeyMismatch, "public-key-mismatch", Severity::Error, kRestoreFix},
    CodeInfo{FindingCode::PairwiseCheckFailed, "pairwise-check-failed", Severity::Error,
             kRestoreFix},
    CodeInfo{FindingCode::CertificateMalformed, "certificate-malformed", Severity::Error,
             kAttachmentFix},
    CodeInfo{FindingCode::CertificateKeyMismatch, "certificate-key-mismatch", Severity::Error,
             "The certificate belongs to a different key. Delete this entry with `signet keys "
             "delete`, then re-import the key with its own certificate (`signet keys import "
             "FILE`) or restore it from a backup (`signet backup restore FILE`); make sure you "
             "have one of them first."},
    CodeInfo{FindingCode::CaCertificateNotCa, "ca-certificate-not-ca", Severity::Error,
             "A CA needs a certificate with basicConstraints CA:TRUE and keyUsage keyCertSign. "
             "Delete this entry with `signet keys delete`, then re-import the key with a proper CA "
             "certificate (`signet keys import FILE`) or restore it from a backup (`signet backup "
             "restore FILE`); make sure you have one of them first."},
    CodeInfo{FindingCode::CertificateRoleUnknown, "certificate-role-unknown", Severity::Error,
             kAttachmentFix},
    CodeInfo{FindingCode::ChainCertificateUnrelated, "chain-certificate-unrelated",
             Severity::Error,
             "The issuer chain stored with this key is broken. Delete this entry with `signet keys "
             "delete`, then re-import the key with its complete, ordered chain (`signet keys import "
             "FILE`) or restore it from a backup (`signet backup restore FILE`); make sure you have "
             "one of them first."},
    CodeInfo{FindingCode::RequestMalformed, "request-malformed", Severity::Error, kAttachmentFix},
    CodeInfo{FindingCode::RequestKeyMismatch, "request-key-mismatch", Severity::Error,
             "The certificate request belongs to a different key. Delete this entry with `signet "
             "keys delete`, then re-import the key (`signet keys import FILE`) or restore it from a "
             "backup (`signet backup restore FILE`); make sure you have one of them first."},
    CodeInfo{FindingCode::CertificateExpired, "certificate-expired", Severity::Warning,
             "The key itself is sound and may be reused; issue a new certificate for it."},
    CodeInfo{FindingCode::CertificateNotYetValid, "certificate-not-yet-valid", Severity::Warning,
             "Check the system clock; the key itself is sound and may be reused."},
};

constexpr std::array<FindingCode, kCodes.size()> make_code_list() {
  std::array<FindingCode, kCodes.size()> out{};
  for (std::size_t i = 0; i < kCodes.size(); ++i) out[i] = kCodes[i].code;
  return out;
}
constexpr auto kCodeList = make_code_list();

const CodeInfo& info(FindingCode code) {
  return kCodes[static_cast<std::size_t>(code)];  // kCodes is in enum order (checked below)
}

constexpr bool codes_in_enum_order() {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<std::size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(codes_in_enum_order(), "kCodes must list FindingCode values in declaration order");

std::int64_t unix_seconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}


class Checker {
 public:
  Checker(const KeyContext& context, const KeyRecord& record, TimePoint now)
      : context_(context), record_(record), now_(now) {}

  KeyVerdict run() {
    verdict_.id = record_.id;
    verdict_.name = record_.name;
    verdict_.algorithm = record_.algorithm;
    verdict_.fingerprint_hex = record_.fingerprint ? to_hex(*record_.fingerprint) : "";
    verdict_.source = record_.source;
    verdict_.created_at = record_.created_at;
    verdict_.comment = record_.comment;
    verdict_.request_count = record_.requests.size();

    check_metadata_and_public_key();
    check_private_key();
    check_certificates();
    check_requests();
    return std::move(verdict_);
  }

 private:
  void add(FindingCode code, std::string message) {
    verdict_.findings.push_back(
        Finding{code, info(code).severity, std::move(message), std::string(info(code).fix)});
  }

  // Rule 1 (complete) and the public half of rule 4 (stored key matches stored fingerprint).
  void check_metadata_and_public_key() {
    algorithm_ = crypto::parse_algorithm(record_.algorithm);
    if (!algorithm_) {
      add(FindingCode::AlgorithmUnknown,
          "The recorded algorithm \"" + record_.algorithm +
              "\" is not one Signet knows (" + crypto::algorithm_list() + ").");
    }
    const bool has_public = record_.public_key && !record_.public_key->empty();
    const bool has_fingerprint = record_.fingerprint && !record_.fingerprint->empty();
    if (!has_public) add(FindingCode::PublicKeyMissing, "The entry has no public key.");
    if (!has_fingerprint) add(FindingCode::FingerprintMissing, "The entry has no fingerprint.");
    if (!record_.encrypted_private_key || record_.encrypted_private_key->empty()) {
      std::string what = "The entry has no private key";
      if (!record_.requests.empty() || !record_.certificates.empty()) {
        what += ": it holds only a certificate request or certificate, which is not a key";
      }
      add(FindingCode::PrivateKeyMissing, what + ".");
    }
    if (has_public) {
      public_key_ = crypto::parse_public_key_der(*record_.public_key, algorithm_);
      if (!public_key_) {
        add(FindingCode::PublicKeyMalformed,
            "The stored public key is not a valid SubjectPublicKeyInfo structure.");
      } else if (algorithm_ && crypto::algorithm_of(public_key_.get()) != algorithm_) {
        add(FindingCode::PublicKeyAlgorithmMismatch,
            "The stored public key is " + crypto::describe_key(public_key_.get()) +
                ", but the entry says " + record_.algorithm + ".");
      }
      if (has_fingerprint) {
        const Bytes actual = crypto::sha256(*record_.public_key);
        if (!crypto::equal_constant_time(actual, *record_.fingerprint)) {
          add(FindingCode::FingerprintMismatch,
              "The stored fingerprint " + to_hex(*record_.fingerprint) +
                  " is not the SHA-256 of the stored public key (" + to_hex(actual) + ").");
        }
      }
    }
  }

  // Rules 2 to 5.
  void check_private_key() {
    if (!record_.encrypted_private_key || record_.encrypted_private_key->empty() ||
        !record_.fingerprint || record_.fingerprint->empty()) {
      return;  // already reported as incomplete
    }
    const Bytes& sealed = *record_.encrypted_private_key;
    if (sealed.size() <= crypto::kAeadOverhead) {
      add(FindingCode::CiphertextMalformed,
          "The encrypted private key is " + std::to_string(sealed.size()) +
              " bytes long, too short to hold a key: it was truncated.");
      return;
    }
    const Bytes aad =
        entry_aad(context_.store_id, record_.id, record_.algorithm, *record_.fingerprint);
    const auto plain = crypto::aead_open(context_.data_key, sealed, aad);
    if (!plain) {
      add(FindingCode::CiphertextAuthFailed,
          "The encrypted private key does not authenticate under this store's data key with this "
          "entry's identity (store, key id, algorithm, fingerprint).");
      return;
    }
    ossl::Pkey key = crypto::parse_private_key_der(plain->view(), algorithm_);
    if (!key) {
      add(FindingCode::PrivateKeyMalformed,
          "The decrypted private key is not a valid PKCS#8 private key.");
      return;
    }
    if (algorithm_ && crypto::algorithm_of(key.get()) != algorithm_) {
      add(FindingCode::PrivateKeyAlgorithmMismatch,
          "The private key is " + crypto::describe_key(key.get()) + ", but the entry says " +
              record_.algorithm + ".");
    }
    if (!public_key_) return;
    if (!crypto::same_public_key(key.get(), public_key_.get())) {
      add(FindingCode::PublicKeyMismatch,
          "The public key derived from the private key differs from the stored public key.");
      return;
    }
    if (!crypto::pairwise_consistent(key.get(), public_key_.get())) {
      add(FindingCode::PairwiseCheckFailed,
          "A test signature made with the private key does not verify with the public key.");
    }
  }

  // Rule 6, and the expiry warnings.
  void check_certificates() {
    std::optional<crypto::Certificate> previous;  // the certificate a chain element must have issued
    for (std::size_t i = 0; i < record_.certificates.size(); ++i) {
      const AttachedCertificate& attached = record_.certificates[i];
      const std::string which = "Certificate " + std::to_string(i + 1) + " (" + attached.role + ")";
      auto cert = crypto::Certificate::try_from_der(attached.der);
      if (!cert) {
        verdict_.certificates.push_back(CertificateSummary{attached.role, "", "", "", 0, 0});
        add(FindingCode::CertificateMalformed, which + " is not a valid X.509 certificate.");
        previous.reset();
        continue;
      }
      verdict_.certificates.push_back(CertificateSummary{
          attached.role, cert->subject(), cert->issuer(), cert->serial_hex(),
          unix_seconds(cert->not_before()), unix_seconds(cert->not_after())});
      const std::string named = which + " \"" + cert->subject() + "\"";

      if (attached.role == kRoleCa || attached.role == kRoleLeaf) {
        if (public_key_ && !crypto::same_public_key(cert->public_key(), public_key_.get())) {
          add(FindingCode::CertificateKeyMismatch,
              named + " carries a different public key than this entry.");
        }
        if (attached.role == kRoleCa && (!cert->is_ca() || !cert->has_key_cert_sign())) {
          std::string missing = !cert->is_ca() ? "basicConstraints CA:TRUE" : "";
          if (!cert->has_key_cert_sign()) {
            missing += missing.empty() ? "keyUsage keyCertSign" : " and keyUsage keyCertSign";
          }
          add(FindingCode::CaCertificateNotCa,
              named + " is stored as this key's CA certificate but lacks " + missing + ".");
        }
        check_validity(*cert, named);
      } else if (attached.role == kRoleChain) {
        if (!previous || !previous->issued_by(*cert)) {
          add(FindingCode::ChainCertificateUnrelated,
              named + " did not issue the certificate before it in the chain.");
        }
      } else {
        add(FindingCode::CertificateRoleUnknown,
            which + " has an unknown role \"" + attached.role + "\".");
      }
      previous = std::move(cert);
    }
  }

  void check_validity(const crypto::Certificate& cert, const std::string& named) {
    if (cert.not_after() < now_) {
      add(FindingCode::CertificateExpired, named + " expired on " + format_utc(cert.not_after(), "%Y-%m-%d %H:%M UTC") + ".");
    } else if (cert.not_before() > now_) {
      add(FindingCode::CertificateNotYetValid,
          named + " is not valid before " + format_utc(cert.not_before(), "%Y-%m-%d %H:%M UTC") + ".");
    }
  }

  void check_requests() {
    for (std::size_t i = 0; i < record_.requests.size(); ++i) {
      const std::string which = "Certificate request " + std::to_string(i + 1);
      auto req = crypto::CertificateRequest::try_from_der(record_.requests[i].der);
      if (!req) {
        add(FindingCode::RequestMalformed, which + " is not a valid PKCS#10 request.");
        continue;
      }
      if (!req->signature_valid()) {
        add(FindingCode::RequestMalformed, which + " \"" + req->subject() +
                                               "\" has a signature that does not verify.");
        continue;
      }
      if (public_key_ && !crypto::same_public_key(req->public_key(), public_key_.get())) {
        add(FindingCode::RequestKeyMismatch,
            which + " \"" + req->subject() + "\" is for a different public key than this entry.");
      }
    }
  }

  const KeyContext& context_;
  const KeyRecord& record_;
  TimePoint now_;
  KeyVerdict verdict_;
  std::optional<crypto::KeyAlgorithm> algorithm_;
  ossl::Pkey public_key_;
};

}  // namespace

std::string_view code_string(FindingCode code) noexcept { return info(code).name; }

std::string quarantine_fix(FindingCode code, std::optional<std::int64_t> quarantine_id) {
  const std::string remove =
      quarantine_id ? "`signet keys quarantine remove " + std::to_string(*quarantine_id) + "`"
                    : "`signet keys quarantine remove ID` (`signet keys quarantine list` shows the ID)";
  if (severity_of(code) == Severity::Warning) {
    return "On its own this would not keep the key from being used; the entry is quarantined for "
           "its errors: follow their fix, then remove it with " + remove + ".";
  }
  std::string what;
  switch (code) {
    case FindingCode::PrivateKeyMissing:
      what = "The backup you restored holds no private key for this entry (a certificate request "
             "or certificate cannot be turned back into one).";
      break;
    case FindingCode::CertificateMalformed:
    case FindingCode::CertificateKeyMismatch:
    case FindingCode::CaCertificateNotCa:
    case FindingCode::CertificateRoleUnknown:
    case FindingCode::ChainCertificateUnrelated:
    case FindingCode::RequestMalformed:
    case FindingCode::RequestKeyMismatch:
      what = "The copy of this entry in the backup you restored carries a damaged or wrong "
             "certificate or request, so its key was not added to this store.";
      break;
    default:
      what = "This is a damaged copy of the key, from the backup you restored; it was not added to "
             "this store.";
      break;
  }
  return what +
         " Restoring that backup again quarantines the same entry again. Use an older backup "
         "that holds an intact copy of the key (`signet backup inspect FILE` shows each key's "
         "verdict and changes nothing, then `signet backup restore FILE`), or, if you have the "
         "key's PKCS#12 or PEM file, import it with its certificates (`signet keys import FILE`). "
         "Then remove this entry with " + remove + ".";
}

std::string backup_copy_fix(FindingCode code) {
  const std::string what = code == FindingCode::PrivateKeyMissing
                               ? "This backup holds no private key for this entry (a certificate request or "
                                 "certificate cannot be turned back into one)."
                               : "This backup holds a damaged copy of this entry.";
  return what +
         " Restoring the backup quarantines it (it is never offered) and restores the other entries. For "
         "this key, use an older backup with an intact copy (`signet backup inspect FILE` shows its verdict), "
         "or import the key's PKCS#12 or PEM file with `signet keys import FILE`.";
}

void apply_quarantine_fixes(std::vector<Finding>& findings, std::optional<std::int64_t> quarantine_id) {
  for (Finding& f : findings) f.fix = quarantine_fix(f.code, quarantine_id);
}
Severity severity_of(FindingCode code) noexcept { return info(code).severity; }
std::span<const FindingCode> all_finding_codes() noexcept { return kCodeList; }

bool KeyVerdict::reusable() const noexcept {
  return std::none_of(findings.begin(), findings.end(),
                      [](const Finding& f) { return f.severity == Severity::Error; });
}

bool KeyVerdict::has_finding(FindingCode code) const noexcept {
  return std::any_of(findings.begin(), findings.end(),
                     [code](const Finding& f) { return f.code == code; });
}

Bytes entry_aad(ByteView store_id, KeyId id, std::string_view algorithm, ByteView fingerprint) {
  // "signet/key/v1" | len(store_id) store_id | key id (8, big endian) | len(alg) alg |
  // len(fp) fp. Lengths are 2-byte big endian so that no two identities share an encoding.
  const std::string_view label = "signet/key/v1";
  Bytes aad;
  aad.reserve(label.size() + 2 + store_id.size() + 8 + 2 + algorithm.size() + 2 + fingerprint.size());
  for (const char c : label) aad.push_back(static_cast<std::uint8_t>(c));
  auto put_field = [&aad](ByteView field) {
    const std::size_t n = std::min<std::size_t>(field.size(), 0xffff);
    aad.push_back(static_cast<std::uint8_t>(n >> 8));
    aad.push_back(static_cast<std::uint8_t>(n & 0xff));
    for (std::size_t i = 0; i < n; ++i) aad.push_back(field[i]);
  };
  put_field(store_id);
  const auto v = static_cast<std::uint64_t>(id.value);
  for (int shift = 56; shift >= 0; shift -= 8) aad.push_back(static_cast<std::uint8_t>(v >> shift));
  put_field(as_bytes(algorithm));
  put_field(fingerprint);
  return aad;
}

KeyVerdict check_key(const KeyContext& context, const KeyRecord& record, TimePoint now) {
  return Checker(context, record, now).run();
}

IntegrityReport check_keys(const KeyContext& context, std::span<const KeyRecord> records,
                           TimePoint now, unsigned threads) {
  std::vector<KeyVerdict> verdicts(records.size());
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(records.size(), 1)));

  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  auto work = [&] {
    try {
      for (std::size_t i = next.fetch_add(1); i < records.size() && !failed; i = next.fetch_add(1)) {
        verdicts[i] = check_key(context, records[i], now);
      }
    } catch (...) {
      // Only resource failures (the RNG, memory) get here; a damaged entry is a finding.
      if (!failed.exchange(true)) failure = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
  }
  if (failure) std::rethrow_exception(failure);

  IntegrityReport report;
  for (KeyVerdict& v : verdicts) {
    (v.reusable() ? report.reusable : report.excluded).push_back(std::move(v));
  }
  return report;
}

ossl::Pkey decrypt_private_key(const KeyContext& context, const KeyRecord& record) {
  if (!record.encrypted_private_key || !record.fingerprint) return nullptr;
  const Bytes aad = entry_aad(context.store_id, record.id, record.algorithm, *record.fingerprint);
  const auto plain = crypto::aead_open(context.data_key, *record.encrypted_private_key, aad);
  return plain ? crypto::parse_private_key_der(plain->view(),
                                                 crypto::parse_algorithm(record.algorithm))
               : nullptr;
}

}  // namespace signet::keystore
