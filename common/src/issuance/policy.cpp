#include "signet/issuance/policy.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

#include "signet/core/error.h"
#include "signet/crypto/handles.h"
#include "signet/issuance/names.h"

namespace signet::issuance {
namespace {

using namespace std::chrono_literals;

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* g) const noexcept { GENERAL_NAMES_free(g); }
};
struct ExtensionsFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};

[[noreturn]] void deny(std::string code, const std::string& message) {
  throw Error(ErrorKind::PolicyDenied, std::move(code), message);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// `text` as a message may show it: control characters (a NUL would end the message for a C
// reader), DEL and bytes outside ASCII as \xNN, backslashes doubled.
std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string asn1_string(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// A DNS name a CSR may carry: a host name, or a wildcard as its whole leftmost label. Whether the
// profile allows the wildcard, and whether the name is a public suffix, is decided later, with the
// profile (check_dns_name).
bool valid_dns_name(std::string_view s) { return valid_hostname(s) || is_wildcard_name(s); }

bool suffix_allows(const std::vector<std::string>& suffixes, std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  for (const std::string& s : suffixes) {
    if (s == "*" || name == s) return true;
    if (name.size() > s.size() && name.ends_with(s) && name[name.size() - s.size() - 1] == '.') return true;
  }
  return false;
}

// The rules for a DNS name that do not depend on its syntax: never a public suffix, nor a wildcard
// directly under one (both always refused: no one holds "com"); a wildcard only when the profile
// allows it; and inside the profile's suffixes.
void check_dns_name(const Profile& profile, const std::string& name) {
  const bool wildcard = name.starts_with("*.");
  const std::string base = wildcard ? name.substr(2) : name;
  if (is_public_suffix(base)) {
    if (wildcard) {
      deny("name-public-suffix", "the CSR names " + name + ", a wildcard for every name under the public suffix \"" +
                                     base + "\" (a top-level domain or a registry or hosting platform that gives out "
                                     "names under it); a wildcard may cover only a domain someone holds, such as *.example." +
                                     base);
    }
    deny("name-public-suffix", "the CSR names \"" + name + "\", which is a public suffix (a top-level domain or a "
                               "registry or hosting platform that gives out names under it), not a host; name the "
                               "host instead, such as www.example." + name);
  }
  if (wildcard && !profile.allow_wildcards) {
    deny("wildcard-not-allowed", "profile \"" + profile.name + "\" does not allow wildcard names such as " + name +
                                     "; name each host, or use a profile with allow_wildcards = true");
  }
  if (!suffix_allows(profile.dns_suffixes, name)) {
    deny("name-not-allowed", "profile \"" + profile.name + "\" does not allow the DNS name " + name);
  }
}

// The digest a CSR's signature algorithm hashes with: from the algorithm identifier, or for
// RSASSA-PSS from its parameters (where an absent hashAlgorithm means SHA-1, RFC 4055 3.1).
// NID_undef for algorithms that sign the message itself (Ed25519, Ed448) or that OpenSSL does not
// know (their signature does not verify anyway).
int signature_digest(const X509_ALGOR* algorithm) {
  const int sig_nid = OBJ_obj2nid(algorithm->algorithm);
  if (sig_nid == NID_rsassaPss) {
    using PssParams = std::unique_ptr<RSA_PSS_PARAMS, ossl::Deleter<RSA_PSS_PARAMS_free>>;
    const PssParams params{algorithm->parameter == nullptr
                               ? nullptr
                               : static_cast<RSA_PSS_PARAMS*>(ASN1_TYPE_unpack_sequence(
                                     ASN1_ITEM_rptr(RSA_PSS_PARAMS), algorithm->parameter))};
    ERR_clear_error();
    if (!params) return NID_undef;  // damaged parameters: the signature does not verify
    return params->hashAlgorithm == nullptr ? NID_sha1 : OBJ_obj2nid(params->hashAlgorithm->algorithm);
  }
  int digest = NID_undef;
  int key = NID_undef;
  if (OBJ_find_sigid_algs(sig_nid, &digest, &key) != 1) return NID_undef;
  return digest;
}

// Refuses a CSR signed with a digest under 224 bits (MD5, SHA-1, RIPEMD-160, ...): collisions of
// those can be made, so their signature does not show that the requester holds the key.
void refuse_weak_signature(const crypto::CertificateRequest& csr) {
  const X509_ALGOR* algorithm = nullptr;
  const ASN1_BIT_STRING* signature = nullptr;
  X509_REQ_get0_signature(csr.x509_req(), &signature, &algorithm);
  if (algorithm == nullptr) return;  // no signature: it does not verify
  const int digest = signature_digest(algorithm);
  if (digest == NID_undef) return;
  const EVP_MD* md = EVP_get_digestbynid(digest);
  if (md != nullptr && EVP_MD_get_size(md) >= 28) return;
  deny("csr-weak-signature", std::string("the CSR is signed with ") + OBJ_nid2ln(OBJ_obj2nid(algorithm->algorithm)) +
                                 ", whose digest " + OBJ_nid2sn(digest) +
                                 " is broken (collisions can be made), so its signature does not prove that the "
                                 "requester holds the key; sign the request again with SHA-256 or better "
                                 "(openssl req -new -sha256)");
}

// The RFC 2253 form of CN=`value`, printed exactly as crypto::Certificate::subject() prints a
// certificate's subject (so that the ledger's subject matches the certificate's, escapes included).
std::string cn_rfc2253(const std::string& value) {
  ossl::X509NamePtr name{X509_NAME_new()};
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!name || !bio ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                 -1, -1, 0) != 1 ||
      X509_NAME_print_ex(bio.get(), name.get(), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    throw_openssl(ErrorKind::Internal, "subject-invalid", "cannot print the subject CN=" + value);
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::optional<Bytes> parse_ip(const std::string& text) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return Bytes(buf, buf + 4);
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return Bytes(buf, buf + 16);
  return std::nullopt;
}

std::string ip_text(ByteView ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.size() == 4 ? AF_INET : AF_INET6, ip.data(), buf, sizeof buf);
  return buf;
}

// An IP address names a host unless it is unspecified (0.0.0.0/8, ::), the IPv4 broadcast
// address, or multicast (224.0.0.0/4, ff00::/8): none of those is one machine's.
void check_host_address(ByteView ip) {
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) names what its IPv4 address names.
  constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip.size() == 16 && std::equal(std::begin(kMapped), std::end(kMapped), ip.begin())) ip = ip.subspan(12);
  bool host = true;
  if (ip.size() == 4) {
    const bool broadcast = std::all_of(ip.begin(), ip.end(), [](std::uint8_t b) { return b == 0xff; });
    host = ip[0] != 0 && (ip[0] & 0xf0) != 0xe0 && !broadcast;
  } else {
    const bool unspecified = std::all_of(ip.begin(), ip.end(), [](std::uint8_t b) { return b == 0; });
    host = !unspecified && ip[0] != 0xff;
  }
  if (!host) {
    deny("name-invalid", "the CSR names the IP address " + ip_text(ip) +
                             ", which is not one host's (unspecified, broadcast or multicast)");
  }
}

void check_ip_allowed(const Profile& profile, ByteView ip) {
  if (std::none_of(profile.ip_networks.begin(), profile.ip_networks.end(),
                   [&](const IpNetwork& n) { return n.contains(ip); })) {
    deny("name-not-allowed", "profile \"" + profile.name + "\" does not allow the IP address " + ip_text(ip));
  }
}

// An email address Signet issues: valid, without '*' (legal in a local part, but read as a
// wildcard by too much software: one certificate must name one mailbox), and at a domain that is
// not a public suffix (no one's mailbox is at "com"). `what` starts the refusal ("the CSR names
// \"x\"").
void check_email_address(const std::string& mail, const std::string& what) {
  if (!valid_email_address(mail)) deny("name-invalid", what + ", which is not a valid email address");
  if (mail.find('*') != std::string::npos) {
    deny("name-invalid", what + ", an email address with '*', which mail software may read as a wildcard; a "
                                "certificate names one mailbox");
  }
  const std::string domain = lower(mail.substr(mail.find('@') + 1));
  if (is_public_suffix(domain)) {
    deny("name-public-suffix", what + ", an email address at the public suffix \"" + domain +
                                   "\" (a top-level domain or a registry's), where no one has a mailbox");
  }
}

struct Names {
  std::vector<std::string> dns, ip, email;
  std::vector<std::string> order;  // first seen first, as "dns:..."
  void add(std::vector<std::string>& list, const std::string& kind, std::string value) {
    if (std::find(list.begin(), list.end(), value) != list.end()) return;
    order.push_back(kind + ":" + value);
    list.push_back(std::move(value));
  }
};

void add_general_names(const GENERAL_NAMES* names, Names& out) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      const std::string name = lower(asn1_string(gn->d.dNSName));
      if (!valid_dns_name(name)) {
        deny("name-invalid", "the CSR names \"" + printable(name) + "\", which is not a valid DNS name (labels of "
                             "letters, digits and '-' joined by dots, \"xn--\" only for a valid IDNA A-label, a "
                             "top-level label that is not all digits; a wildcard only as the whole leftmost label, "
                             "as in *.example.test; an IP address goes in an IP SAN)");
      }
      out.add(out.dns, "dns", name);
    } else if (gn->type == GEN_IPADD) {
      const std::string raw = asn1_string(gn->d.iPAddress);
      if (raw.size() != 4 && raw.size() != 16) deny("name-invalid", "the CSR carries an IP address SAN that is neither IPv4 nor IPv6");
      const ByteView ip(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
      check_host_address(ip);
      out.add(out.ip, "ip", ip_text(ip));
    } else if (gn->type == GEN_EMAIL) {
      const std::string mail = asn1_string(gn->d.rfc822Name);
      const std::size_t at = mail.find('@');
      // Email SANs and a CN holding an email address (which becomes a SAN too) pass the same check:
      // the domain is a host name, never a wildcard (an address is one mailbox).
      check_email_address(mail, "the CSR names \"" + printable(mail) + "\"");
      out.add(out.email, "email", mail.substr(0, at + 1) + lower(mail.substr(at + 1)));
    } else {
      deny("name-not-allowed", "the CSR carries a subjectAltName of a type Signet does not issue (only DNS, IP and email names)");
    }
  }
}

Names names_of(const crypto::CertificateRequest& csr) {
  Names out;
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionsFree> exts(X509_REQ_get_extensions(csr.x509_req()));
  ERR_clear_error();
  if (exts) {
    for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
      X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
      if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
      std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> gens(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
      if (!gens) {
        ERR_clear_error();
        throw Error(ErrorKind::Malformed, "csr-malformed", "the CSR's subjectAltName extension does not parse");
      }
      add_general_names(gens.get(), out);
    }
  }
  // A CN that is a DNS name, an IP address or an email address counts as a name too.
  const X509_NAME* subject = X509_REQ_get_subject_name(csr.x509_req());
  for (int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); idx >= 0;
       idx = X509_NAME_get_index_by_NID(subject, NID_commonName, idx)) {
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
    if (len < 0) throw Error(ErrorKind::Malformed, "csr-malformed", "the CSR's common name is not a valid string");
    std::string cn(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    if (auto ip = parse_ip(cn)) {
      check_host_address(*ip);
      out.add(out.ip, "ip", ip_text(*ip));
    } else if (cn.find('@') != std::string::npos) {
      const std::size_t at = cn.find('@');
      if (!valid_email_address(cn)) {
        deny("name-invalid", "the CSR's common name \"" + printable(cn) + "\" is not a DNS name, IP address or email address");
      }
      check_email_address(cn, "the CSR's common name \"" + printable(cn) + "\"");
      out.add(out.email, "email", cn.substr(0, at + 1) + lower(cn.substr(at + 1)));
    } else {
      const std::string name = lower(cn);
      if (!valid_dns_name(name)) {
        deny("name-invalid", "the CSR's common name \"" + printable(cn) +
                                 "\" is not a DNS name, IP address or email address; put the names in subjectAltName");
      }
      out.add(out.dns, "dns", name);
    }
  }
  return out;
}

// The key's type as a profile names it, refusing weak or unknown keys.
std::string key_type_of(const EVP_PKEY* key, const Profile& profile) {
  const int id = EVP_PKEY_get_base_id(key);
  std::string type;
  if (id == EVP_PKEY_RSA) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < 2048 || bits < profile.min_rsa_bits) {
      deny("key-too-weak", "the CSR's RSA key has " + std::to_string(bits) + " bits; profile \"" + profile.name +
                               "\" needs at least " + std::to_string(std::max(2048, profile.min_rsa_bits)));
    }
    if (bits > 8192) deny("key-type-not-allowed", "RSA keys over 8192 bits are not issued");
    // A small public exponent (3, say) makes mistakes in padding exploitable; NIST SP 800-89 and
    // the CA/Browser Forum want an odd one of at least 65537, which every key generator uses.
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      ERR_clear_error();
      deny("key-type-not-allowed", "the CSR's RSA public exponent cannot be read");
    }
    const bool e_ok = BN_is_odd(e) && BN_num_bits(e) >= 17;
    BN_free(e);
    if (!e_ok) {
      deny("key-too-weak", "the CSR's RSA key has a public exponent under 65537 (or an even one); generate the key "
                           "again with the default exponent 65537 (openssl genpkey -algorithm RSA)");
    }
    type = "rsa";
  } else if (id == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) {
      ERR_clear_error();
      deny("key-type-not-allowed", "the CSR's EC key uses explicit or unknown curve parameters; use P-256 or P-384");
    }
    const std::string g(group, len);
    if (g == "prime256v1" || g == "P-256") type = "ec-p256";
    else if (g == "secp384r1" || g == "P-384") type = "ec-p384";
    else deny("key-type-not-allowed", "the CSR's EC key is on curve " + g + "; only P-256 and P-384 are issued");
  } else if (id == EVP_PKEY_ED25519) {
    type = "ed25519";
  } else {
    deny("key-type-not-allowed", std::string("the CSR's key type (") + OBJ_nid2sn(id) +
                                     ") is not issued; use RSA (2048 bits or more), EC P-256 or P-384, or Ed25519");
  }
  if (std::find(profile.key_types.begin(), profile.key_types.end(), type) == profile.key_types.end()) {
    std::string allowed;
    for (const auto& k : profile.key_types) allowed += (allowed.empty() ? "" : ", ") + k;
    deny("key-type-not-allowed", "profile \"" + profile.name + "\" does not allow " + type + " keys; it allows " + allowed);
  }
  return type;
}

std::string days(std::chrono::seconds s) {
  if (s.count() % 86400 == 0) return std::to_string(s.count() / 86400) + "d";
  if (s.count() % 3600 == 0) return std::to_string(s.count() / 3600) + "h";
  return std::to_string(s.count()) + "s";
}

}  // namespace

crypto::CertificateRequest parse_csr(std::string_view text) {
  const auto bad = [](const std::string& why) {
    return Error(ErrorKind::Malformed, "csr-malformed",
                 "the CSR " + why + "; send a PKCS#10 request in PEM (\"-----BEGIN CERTIFICATE REQUEST-----\")");
  };
  if (text.empty()) throw bad("is empty");
  if (text.size() > 64 * 1024) throw bad("is larger than 64 KiB");
  if (text.find("-----BEGIN") != std::string_view::npos) {
    if (text.find("-----BEGIN CERTIFICATE REQUEST-----") == std::string_view::npos &&
        text.find("-----BEGIN NEW CERTIFICATE REQUEST-----") == std::string_view::npos) {
      throw bad("is PEM of another kind");
    }
    // The first CERTIFICATE REQUEST block (others, a key say, are skipped), then the DER parse,
    // which decodes the key with a cached decoder.
    ossl::Bio bio{BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))};
    std::optional<crypto::CertificateRequest> req;
    for (;;) {
      char* name = nullptr;
      char* header = nullptr;
      unsigned char* data = nullptr;
      long length = 0;
      if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) break;
      const std::string_view label = name;
      const bool request = label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST";
      if (request) req = crypto::CertificateRequest::try_from_der(ByteView(data, static_cast<std::size_t>(length)));
      OPENSSL_free(name);
      OPENSSL_free(header);
      OPENSSL_free(data);
      if (request) break;
    }
    ERR_clear_error();
    if (!req) throw bad("does not parse (truncated or damaged PEM)");
    return *std::move(req);
  }
  auto req = crypto::CertificateRequest::try_from_der(
      ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  if (!req) throw bad("does not parse (neither PEM nor DER PKCS#10)");
  return *std::move(req);
}

Approved evaluate(const Profile& profile, const crypto::CertificateRequest& csr,
                  std::optional<std::chrono::seconds> validity, const crypto::Certificate& ca, TimePoint now,
                  const std::string& client) {
  EVP_PKEY* key = csr.public_key();
  if (key == nullptr) throw Error(ErrorKind::Malformed, "csr-malformed", "the CSR's public key does not parse");
  key_type_of(key, profile);
  refuse_weak_signature(csr);
  if (!csr.signature_valid()) {
    deny("csr-signature-invalid", "the CSR's signature does not verify with its own key; the request was altered or built wrongly");
  }

  Names names = names_of(csr);
  if (names.order.empty()) deny("no-names", "the CSR names nothing; put DNS names, IP addresses or email addresses in subjectAltName");
  if (names.order.size() > profile.max_names) {
    deny("name-not-allowed", "the CSR has " + std::to_string(names.order.size()) + " names; profile \"" + profile.name +
                                 "\" allows at most " + std::to_string(profile.max_names));
  }
  for (const std::string& d : names.dns) check_dns_name(profile, d);
  for (const std::string& ip : names.ip) check_ip_allowed(profile, *parse_ip(ip));
  for (const std::string& m : names.email) {
    const std::string domain = m.substr(m.find('@') + 1);
    if (std::none_of(profile.email_domains.begin(), profile.email_domains.end(),
                     [&](const std::string& d) { return d == "*" || d == domain; })) {
      deny("name-not-allowed", "profile \"" + profile.name + "\" does not allow the email address " + m);
    }
  }

  const std::chrono::seconds life = validity.value_or(profile.default_validity);
  if (life <= 0s) throw Error(ErrorKind::PolicyDenied, "validity-invalid", "the requested validity must be positive");
  if (life < kMinValidity) {
    deny("validity-too-short", "the requested validity " + days(life) +
                                   " is shorter than 10 minutes, the shortest Signet issues: notBefore is set a "
                                   "minute back for clients whose clocks run behind, so such a certificate would "
                                   "run out before it is used; ask for 10m or more");
  }
  if (life > profile.max_validity) {
    deny("validity-too-long", "the requested validity " + days(life) + " is longer than profile \"" + profile.name +
                                  "\" allows (" + days(profile.max_validity) + ")");
  }
  // Backdated a minute for clients whose clocks run slightly behind. The validity is counted from
  // notBefore, both ends included (RFC 5280 4.1.2.5), so that a certificate is never valid for
  // longer than was asked or allowed: `life` seconds in all.
  const TimePoint not_before = std::chrono::time_point_cast<std::chrono::seconds>(now) - 60s;
  const TimePoint not_after = not_before + life - 1s;
  if (not_after > ca.not_after()) {
    deny("validity-beyond-ca", "a certificate valid for " + days(life) +
                                   " would outlive the CA certificate; ask for a shorter validity or renew the CA");
  }
  if (ca.not_before() > now) deny("ca-not-yet-valid", "the CA certificate is not valid yet; check the clock");

  Approved out;
  out.tmpl.serial = Serial::random();
  const std::string first = names.order.front().substr(names.order.front().find(':') + 1);
  if (first.size() <= 64) out.tmpl.subject = {{"CN", first}};
  out.tmpl.dns_names = names.dns;
  out.tmpl.ip_addresses = names.ip;
  out.tmpl.emails = names.email;
  out.tmpl.not_before = not_before;
  out.tmpl.not_after = not_after;
  out.tmpl.key_usage = profile.key_usage;
  out.tmpl.extended_key_usages = profile.extended_key_usages;
  EVP_PKEY_up_ref(key);
  out.tmpl.public_key = ossl::Pkey(key);

  out.intent.serial = out.tmpl.serial;
  out.intent.profile = profile.name;
  out.intent.client = client;
  out.intent.subject = out.tmpl.subject.empty() ? "" : cn_rfc2253(first);
  out.intent.names = names.order;
  out.intent.not_before = not_before;
  out.intent.not_after = not_after;
  return out;
}

std::vector<std::string> requested_names(const crypto::CertificateRequest& csr) { return names_of(csr).order; }

std::string check_name(const Profile& profile, std::string_view type, std::string_view value) {
  const std::string shown = printable(value);
  if (type == "dns") {
    const std::string name = lower(std::string(value));
    if (!valid_dns_name(name)) {
      deny("name-invalid", "\"" + shown + "\" is not a valid DNS name (labels of letters, digits and '-' joined by "
                           "dots, no trailing dot; a wildcard only as the whole leftmost label)");
    }
    check_dns_name(profile, name);
    return name;
  }
  if (type == "ip") {
    const std::optional<Bytes> ip = parse_ip(std::string(value));
    if (!ip) deny("name-invalid", "\"" + shown + "\" is not an IPv4 or IPv6 address");
    check_host_address(*ip);
    check_ip_allowed(profile, *ip);
    return ip_text(*ip);
  }
  throw Error(ErrorKind::Unsupported, "name-type-unsupported", "Signet does not issue names of type \"" + printable(type) + "\"");
}

}  // namespace signet::issuance
