#include "signet/issuance/names.h"

#include <idn2.h>
#include <libpsl.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "signet/core/error.h"
#include "signet/crypto/handles.h"

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

constexpr std::size_t kMaxSerialBytes = 20;

bool is_ldh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// The system's public suffix list, loaded on first use.
//
// psl_latest(nullptr), not psl_builtin(): Debian compiles libpsl's built-in list from the
// publicsuffix package of the day libpsl was built, so it ages with libpsl, while the publicsuffix
// package's own file (/usr/share/publicsuffix/public_suffix_list.dafsa) is updated by itself, in
// stable updates too. psl_latest() takes the newer of the two, and the built-in list when the file
// is missing. Suffixes are added every month (new TLDs, new hosting platforms), which is why this
// is not a list of our own. Loaded once per process: an updated package takes effect on restart.
const psl_ctx_t* public_suffix_list() {
  static const std::unique_ptr<psl_ctx_t, ossl::Deleter<psl_free>> list{psl_latest(nullptr)};
  if (!list) {
    throw Error(ErrorKind::Internal, "public-suffix-list-missing",
                "no public suffix list could be loaded (neither libpsl's built-in one nor " +
                    std::string(psl_dist_filename()) + "); install the publicsuffix and libpsl5 packages");
  }
  return list.get();
}

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
    if (hex_digit_value(c) < 0) return std::nullopt;
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
    s.bytes.push_back(static_cast<std::uint8_t>(hex_digit_value(digits[i]) * 16 + hex_digit_value(digits[i + 1])));
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

namespace {

// An A-label (RFC 5890 2.3.2.1): "xn--" and the Punycode of a U-label IDNA2008 permits. libidn2
// decodes it and encodes the result again (non-transitional, as IDNA2008 is); the label is valid
// when that gives it back unchanged.
bool valid_a_label(std::string_view label) {
  std::string lower(label);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  char* unicode = nullptr;
  if (idn2_to_unicode_8z8z(lower.c_str(), &unicode, 0) != IDN2_OK) {
    idn2_free(unicode);
    return false;
  }
  char* again = nullptr;
  const bool ok = idn2_to_ascii_8z(unicode, &again, IDN2_NONTRANSITIONAL) == IDN2_OK && again != nullptr &&
                  lower == again;
  idn2_free(unicode);
  idn2_free(again);
  return ok;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  if (!std::all_of(label.begin(), label.end(), is_ldh)) return false;
  // "??--" is reserved for IDNA (RFC 5891 4.2.3.1): only "xn--", and then a valid A-label.
  if (label.size() >= 4 && label[2] == '-' && label[3] == '-') {
    const bool xn = (label[0] == 'x' || label[0] == 'X') && (label[1] == 'n' || label[1] == 'N');
    return xn && valid_a_label(label);
  }
  return true;
}

}  // namespace

bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::string_view last;
  for (std::size_t start = 0;;) {
    const std::size_t dot = name.find('.', start);
    last = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!valid_label(last)) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // No top-level domain is all digits (RFC 1123 2.1): such a name ("127.0.0.1") is an IP address
  // written where a host name belongs.
  return !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_client_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

bool is_wildcard_name(std::string_view name) {
  return name.starts_with("*.") && valid_hostname(name.substr(2));
}

bool is_public_suffix(std::string_view name) {
  if (!valid_hostname(name)) return false;
  // libpsl compares bytes: it wants the name in lower case.
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  // PSL_TYPE_NO_STAR_RULE: without it every unlisted single label ("localhost", "myhost") would be
  // a suffix by the list's default rule, and no internal host name could be issued.
  return psl_is_public_suffix2(public_suffix_list(), lower.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) == 1;
}

bool valid_email_address(std::string_view address) {
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0 || address.find('@', at + 1) != std::string_view::npos) return false;
  // An rfc822Name is an IA5String; Signet issues printable ASCII without spaces only.
  if (std::any_of(address.begin(), address.end(), [](unsigned char c) { return c <= ' ' || c >= 0x7f; })) {
    return false;
  }
  return valid_hostname(address.substr(at + 1));
}

}  // namespace signet::issuance
