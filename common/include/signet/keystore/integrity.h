// The integrity check: what "valid" means for a key entry (README, section What "valid" means).
//
// A key entry may be offered for reuse only if, in this run: (1) it is complete; (2) its
// ciphertext authenticates under the store's data key with the entry's identity (store id, key id,
// algorithm, fingerprint) as AAD; (3) the plaintext parses as a private key of the recorded
// algorithm and size; (4) the public key derived from it equals the stored public key and
// fingerprint; (5) a sign-and-verify round trip succeeds; (6) every attached certificate carries
// that public key, and a CA certificate has cA TRUE and keyCertSign.
//
// check_key() never throws for a damaged entry: every defect becomes a Finding with a stable code,
// and the entry is reusable only when no finding has Severity::Error. check_keys() runs the checks
// on all cores and returns every entry, reusable or excluded: nothing is silently dropped.
//
// Thread-safety: all functions are reentrant; check_keys() starts its own worker threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/core/clock.h"
#include "signet/crypto/handles.h"

namespace signet::keystore {

// ---- what is stored -------------------------------------------------------------------------

// Certificate roles in the key_certificates table.
inline constexpr std::string_view kRoleCa = "ca";        // the key's own CA certificate
inline constexpr std::string_view kRoleLeaf = "leaf";    // the key's own non-CA certificate
inline constexpr std::string_view kRoleChain = "chain";  // an issuer above the key's certificate

struct AttachedCertificate {
  std::int64_t id = 0;
  std::string role;
  std::int64_t position = 0;
  Bytes der;
  std::int64_t added_at = 0;
};

struct AttachedRequest {
  std::int64_t id = 0;
  Bytes der;
  std::int64_t added_at = 0;
};

// A key entry exactly as it is stored. Any column may be missing or wrong: that is what the
// check is for.
struct KeyRecord {
  KeyId id;
  std::string name;
  std::string algorithm;
  std::optional<Bytes> public_key;             // SPKI DER
  std::optional<Bytes> fingerprint;            // SHA-256 of public_key
  std::optional<Bytes> encrypted_private_key;  // nonce || ciphertext || tag
  std::string source;
  std::int64_t created_at = 0;
  std::string comment;
  std::vector<AttachedCertificate> certificates;  // by position
  std::vector<AttachedRequest> requests;
};

// ---- what the check says ------------------------------------------------------------------

enum class Severity { Warning, Error };

enum class FindingCode {
  PrivateKeyMissing,
  PublicKeyMissing,
  FingerprintMissing,
  AlgorithmUnknown,
  PublicKeyMalformed,
  PublicKeyAlgorithmMismatch,
  FingerprintMismatch,
  CiphertextMalformed,
  CiphertextAuthFailed,
  PrivateKeyMalformed,
  PrivateKeyAlgorithmMismatch,
  PublicKeyMismatch,
  PairwiseCheckFailed,
  CertificateMalformed,
  CertificateKeyMismatch,
  CaCertificateNotCa,
  CertificateRoleUnknown,
  ChainCertificateUnrelated,
  RequestMalformed,
  RequestKeyMismatch,
  CertificateExpired,      // warning
  CertificateNotYetValid,  // warning
};

// The stable code ("private-key-missing", ...), used in JSON output and by scripts.
[[nodiscard]] std::string_view code_string(FindingCode code) noexcept;
[[nodiscard]] Severity severity_of(FindingCode code) noexcept;
// Every code, in declaration order (for documentation and tests).
[[nodiscard]] std::span<const FindingCode> all_finding_codes() noexcept;

struct Finding {
  FindingCode code;
  Severity severity;
  std::string message;  // what is wrong, in an operator's words, with the specifics
  std::string fix;      // what to do about it

  [[nodiscard]] std::string_view code_name() const noexcept { return code_string(code); }
};

// The fix of a finding on an entry in the quarantine: a damaged copy that came from a backup the
// operator has just restored, so "restore a backup" is no repair; an older backup or the key's
// PKCS#12/PEM file is, followed by `signet keys quarantine remove ID`. `quarantine_id` is the
// entry's id in the quarantine, std::nullopt before it has one (a dry run). Finding::fix, as
// check_key() sets it, is the fix for a local entry. The one place that words a quarantine fix:
// KeyStore::quarantine() and KeyStore::restore() apply it, so every listing shows the same text.
[[nodiscard]] std::string quarantine_fix(FindingCode code, std::optional<std::int64_t> quarantine_id);
// Sets the fix of every finding to quarantine_fix(its code, quarantine_id).
void apply_quarantine_fixes(std::vector<Finding>& findings, std::optional<std::int64_t> quarantine_id);
// The fix of an error finding on an entry inside a backup (before any restore): that copy is
// damaged, so restoring this backup quarantines it; an older backup or the key's own file is the
// repair. OpenedBackup sets it on every error finding of the entries it will not offer.
[[nodiscard]] std::string backup_copy_fix(FindingCode code);

// What the listing shows about an attached certificate.
struct CertificateSummary {
  std::string role;
  std::string subject;  // empty when the certificate does not parse
  std::string issuer;
  std::string serial_hex;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
};

struct KeyVerdict {
  KeyId id;
  std::string name;
  std::string algorithm;
  std::string fingerprint_hex;  // of the stored fingerprint column; "" when missing
  std::string source;
  std::int64_t created_at = 0;
  std::string comment;
  std::vector<CertificateSummary> certificates;
  std::size_t request_count = 0;
  std::vector<Finding> findings;

  // True when no finding is an error: the key may be offered for reuse.
  [[nodiscard]] bool reusable() const noexcept;
  [[nodiscard]] bool has_finding(FindingCode code) const noexcept;
};

struct IntegrityReport {
  std::vector<KeyVerdict> reusable;  // passed every rule just now (may carry warnings)
  std::vector<KeyVerdict> excluded;  // failed at least one rule, with the reasons

  [[nodiscard]] std::size_t checked() const noexcept { return reusable.size() + excluded.size(); }
};

// ---- the check ----------------------------------------------------------------------------

// The store-wide inputs of the check.
struct KeyContext {
  ByteView store_id;
  ByteView data_key;  // 32 bytes
};

// The additional authenticated data that binds an entry's ciphertext to its identity.
[[nodiscard]] Bytes entry_aad(ByteView store_id, KeyId id, std::string_view algorithm,
                              ByteView fingerprint);

// Runs all six rules on one entry.
[[nodiscard]] KeyVerdict check_key(const KeyContext& context, const KeyRecord& record,
                                   TimePoint now);

// Runs check_key on every record using `threads` workers (0: one per core), and splits the
// verdicts into reusable and excluded, each in the order of `records`.
[[nodiscard]] IntegrityReport check_keys(const KeyContext& context,
                                         std::span<const KeyRecord> records, TimePoint now,
                                         unsigned threads = 0);

// Decrypts and parses an entry's private key. Callers use it only for entries that check_key has
// just passed; it returns null when the ciphertext does not authenticate or parse.
[[nodiscard]] ossl::Pkey decrypt_private_key(const KeyContext& context, const KeyRecord& record);

}  // namespace signet::keystore
