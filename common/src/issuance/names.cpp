#include "signet/issuance/names.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "signet/core/error.h"

namespace signet::issuance {

namespace {

struct ReasonName {
  RevocationReason reason;
  std::string_view rfc;     // as RFC 5280 and openssl -crl_reason spell it
  std::string_view dashed;  // the command-line friendly spelling
};

constexpr std::array<ReasonName, 8> kReasons{{
    {RevocationReason::Unspecified, "unspecified", "unspecified"},
    {RevocationReason::KeyCompromise, "keyCompromise", "key-compromise"},
    {RevocationReason::CaCompromise, "cACompromise", "ca-compromise"},
    {RevocationReason::AffiliationChanged, "affiliationChanged", "affiliation-changed"},
    {RevocationReason::Superseded, "superseded", "superseded"},
    {RevocationReason::CessationOfOperation, "cessationOfOperation", "cessation-of-operation"},
    {RevocationReason::PrivilegeWithdrawn, "privilegeWithdrawn", "privilege-withdrawn"},
    {RevocationReason::AaCompromise, "aACompromise", "aa-compromise"},
}};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](char x, char y) { return lower(x) == lower(y); });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::size_t kMaxSerialBytes = 20;

}  // namespace

std::string_view to_string(RevocationReason reason) noexcept {
  for (const auto& r : kReasons) {
    if (r.reason == reason) return r.rfc;
  }
  return "unspecified";
}

std::optional<RevocationReason> parse_revocation_reason(std::string_view name) {
  // "key_compromise" is read as "key-compromise": both come from people typing.
  std::string dashed(name);
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  for (const auto& r : kReasons) {
    if (equal_ignoring_case(name, r.rfc) || equal_ignoring_case(dashed, r.dashed)) return r.reason;
  }
  return std::nullopt;
}

const std::vector<RevocationReason>& all_revocation_reasons() {
  static const std::vector<RevocationReason> all = [] {
    std::vector<RevocationReason> v;
    for (const auto& r : kReasons) v.push_back(r.reason);
    return v;
  }();
  return all;
}

std::optional<RevocationReason> revocation_reason_from_int(std::int64_t value) {
  for (const auto& r : kReasons) {
    if (static_cast<std::int64_t>(r.reason) == value) return r.reason;
  }
  return std::nullopt;
}

Serial Serial::random() {
  Serial s;
  while (s.bytes.empty()) {  // all 159 bits zero: astronomically unlikely, but zero is no serial
    Bytes b(kMaxSerialBytes);
    if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
      throw_openssl(ErrorKind::Crypto, "random-failed", "the random number generator failed");
    }
    b[0] &= 0x7f;
    const auto first = std::find_if(b.begin(), b.end(), [](std::uint8_t x) { return x != 0; });
    s.bytes.assign(first, b.end());
  }
  return s;
}

std::optional<Serial> Serial::parse_hex(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  std::string digits;
  digits.reserve(hex.size());
  for (const char c : hex) {
    if (c == ':') continue;
    if (hex_value(c) < 0) return std::nullopt;
    digits.push_back(c);
  }
  const auto first = digits.find_first_not_of('0');
  if (first == std::string::npos) return std::nullopt;  // empty or zero
  digits.erase(0, first);
  if (digits.size() % 2 != 0) digits.insert(digits.begin(), '0');
  if (digits.size() / 2 > kMaxSerialBytes) return std::nullopt;
  Serial s;
  s.bytes.reserve(digits.size() / 2);
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    s.bytes.push_back(static_cast<std::uint8_t>(hex_value(digits[i]) * 16 + hex_value(digits[i + 1])));
  }
  return s;
}

std::string Serial::hex() const {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  const auto first = std::find_if(bytes.begin(), bytes.end(), [](std::uint8_t x) { return x != 0; });
  std::string out;
  out.reserve(2 * static_cast<std::size_t>(bytes.end() - first));
  for (auto it = first; it != bytes.end(); ++it) {
    out.push_back(kDigits[*it >> 4]);
    out.push_back(kDigits[*it & 0x0f]);
  }
  return out;
}

}  // namespace signet::issuance
