#include "acme_validation_http.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "signet/crypto/handles.h"
#include "signet/crypto/primitives.h"

namespace signet::daemon::acme {

namespace {

constexpr std::size_t kMaxChunkLine = 1024;
constexpr std::string_view kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";

bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower_ascii(a) == lower_ascii(b);
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// A lower-case DNS name without its final dot: labels of 1 to 63 letters, digits and hyphens
// (an empty label, as in "a..b" or "a.", is no name: follow() strips one final dot, and a second
// one would make url_text() name another host than the one followed).
bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '-') return false;
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') || ++label > 63) return false;
  }
  return label != 0;
}

std::string describe_name(const GENERAL_NAME* name) {
  if (name->type == GEN_DNS) {
    const ASN1_STRING* s = name->d.dNSName;
    return "DNS:" + printable(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                               static_cast<std::size_t>(ASN1_STRING_length(s))));
  }
  if (name->type == GEN_IPADD) {
    const ASN1_STRING* s = name->d.iPAddress;
    IpAddress a;
    if (ASN1_STRING_length(s) == 4 || ASN1_STRING_length(s) == 16) {
      a.family = ASN1_STRING_length(s) == 4 ? 4 : 6;
      std::memcpy(a.bytes.data(), ASN1_STRING_get0_data(s), static_cast<std::size_t>(ASN1_STRING_length(s)));
      return "IP:" + a.to_string();
    }
    return "IP:(malformed)";
  }
  return "a name of another type";
}

bool names_identifier(const GENERAL_NAME* name, const Identifier& id, const std::optional<IpAddress>& ip) {
  if (ip) {
    if (name->type != GEN_IPADD) return false;
    const ASN1_STRING* s = name->d.iPAddress;
    const int length = ip->family == 4 ? 4 : 16;
    return ASN1_STRING_length(s) == length &&
           std::memcmp(ASN1_STRING_get0_data(s), ip->bytes.data(), static_cast<std::size_t>(length)) == 0;
  }
  if (name->type != GEN_DNS) return false;
  const ASN1_STRING* s = name->d.dNSName;
  return equal_ignoring_ascii_case(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                    static_cast<std::size_t>(ASN1_STRING_length(s))),
                                   id.value);
}

}  // namespace

ValidationOutcome validation_failure(std::string type, std::string detail, std::string address) {
  ValidationOutcome out;
  out.error_type = std::move(type);
  out.detail = std::move(detail);
  out.address = std::move(address);
  return out;
}

std::string printable(std::string_view text, std::size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '"':
      case '\\':
        out += '\\';
        out += static_cast<char>(c);
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
    }
  }
  return out;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Bytes key_authorization_digest(const std::string& key_authorization) {
  return crypto::sha256(as_bytes(key_authorization));
}

std::string time_limit(const ValidationSettings& settings) {
  return "before the validation's time limit of " + std::to_string(settings.timeout.count()) + " ms ran out";
}

std::string io_failure_text(const IoResult& r, const ValidationSettings& settings) {
  switch (r.kind) {
    case IoResult::Kind::Timeout: return "no answer " + time_limit(settings);
    case IoResult::Kind::Eof: return "the server closed the connection";
    default: return r.error;
  }
}

std::string authority(const Url& url) {
  std::string out = url.ip && url.ip->family == 6 ? "[" + url.host + "]" : url.host;
  if (url.port != (url.https ? 443 : 80)) out += ":" + std::to_string(url.port);
  return out;
}

std::string url_text(const Url& url) { return (url.https ? "https://" : "http://") + authority(url) + url.path; }

ResponseReader::ResponseReader(Stream& stream, const ValidationSettings& settings, ValidationClock::time_point deadline,
                               std::string where, std::string address)
    : stream_(stream),
      settings_(settings),
      deadline_(deadline),
      where_(std::move(where)),
      address_(std::move(address)) {}

std::optional<ValidationOutcome> ResponseReader::read(Http01Response& response) {
  std::size_t header_end = std::string::npos;
  std::size_t separator = 0;
  // No blank line starts before `scanned` - 3 (one starting there may have been incomplete): a
  // server sending a byte at a time costs a linear search, not a quadratic one.
  std::size_t scanned = 0;
  for (;;) {
    const std::size_t from = scanned < 3 ? 0 : scanned - 3;
    const auto crlf = buffer_.find("\r\n\r\n", from);
    const auto lf = buffer_.find("\n\n", from);
    if (crlf != std::string::npos && (lf == std::string::npos || crlf < lf)) {
      header_end = crlf;
      separator = 4;
    } else if (lf != std::string::npos) {
      header_end = lf;
      separator = 2;
    }
    if (header_end != std::string::npos) break;
    scanned = buffer_.size();
    // No blank line that could still start within the limit ("\r\n\r\n" at kMaxHttp01Headers
    // ends 4 bytes later): the verdict must not depend on how the bytes were split into reads.
    if (buffer_.size() >= kMaxHttp01Headers + 4) {
      return incorrect("its response headers are longer than " + std::to_string(kMaxHttp01Headers) + " bytes");
    }
    if (auto e = more(buffer_.empty() ? "sent no response" : "closed the connection inside the headers")) return e;
  }
  if (header_end > kMaxHttp01Headers) {
    return incorrect("its response headers are longer than " + std::to_string(kMaxHttp01Headers) + " bytes");
  }
  const std::string head = buffer_.substr(0, header_end);
  buffer_.erase(0, header_end + separator);

  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos <= head.size();) {
    auto eol = head.find('\n', pos);
    if (eol == std::string::npos) eol = head.size();
    std::string_view line(head.data() + pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = eol + 1;
  }
  // "HTTP/1.x SSS" and an optional reason; the status is three digits (from_chars alone would
  // take "-01").
  const std::string_view status_line = lines.front();
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ' ||
      !std::all_of(status_line.begin() + 9, status_line.begin() + 12, digit) ||
      std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status).ptr !=
          status_line.data() + 12 ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return incorrect("it did not answer with an HTTP/1.x status line (\"" + printable(status_line) + "\")");
  }
  std::optional<std::string> content_length;
  std::string transfer_encoding;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = lower_ascii(trim(lines[i].substr(0, colon)));
    const std::string value(trim(lines[i].substr(colon + 1)));
    if (name == "location") {
      response.location = value;
    } else if (name == "transfer-encoding") {
      transfer_encoding = lower_ascii(value);
    } else if (name == "content-length") {
      if (content_length && *content_length != value) return incorrect("it sent conflicting Content-Length headers");
      content_length = value;
    }
  }
  // Only a 200's body matters; a redirect or an error status is judged by its status alone.
  if (response.status != 200) return std::nullopt;
  if (!transfer_encoding.empty()) {
    const auto last_coding = trim(std::string_view(transfer_encoding).substr(transfer_encoding.rfind(',') + 1));
    if (last_coding == "chunked") return read_chunked(response.body);
    return read_to_close(response.body);
  }
  if (content_length) {
    std::uint64_t length = 0;
    const auto [end, ec] =
        std::from_chars(content_length->data(), content_length->data() + content_length->size(), length);
    if (content_length->empty() || ec != std::errc() || end != content_length->data() + content_length->size()) {
      return incorrect("its Content-Length \"" + printable(*content_length) + "\" is not a number");
    }
    if (length > kMaxHttp01Body) return too_large();
    while (buffer_.size() < length) {
      if (auto e = more("closed the connection before the whole body arrived", length - buffer_.size())) return e;
    }
    response.body = buffer_.substr(0, static_cast<std::size_t>(length));
    return std::nullopt;
  }
  return read_to_close(response.body);
}

std::optional<ValidationOutcome> ResponseReader::incorrect(const std::string& why) const {
  return validation_failure("incorrectResponse",
                            "The response from " + where_ + " (" + address_ + ") is invalid: " + why, address_);
}

std::optional<ValidationOutcome> ResponseReader::too_large() const {
  return validation_failure("incorrectResponse",
                            "The response from " + where_ + " (" + address_ + ") has a body larger than " +
                                std::to_string(kMaxHttp01Body) + " bytes; a key authorization is far shorter",
                            address_);
}

// Appends more of the response to buffer_; an error outcome at the end of the stream (with
// `at_eof` as its detail), on a timeout or a failure.
std::optional<ValidationOutcome> ResponseReader::more(const std::string& at_eof, std::size_t max) {
  const IoResult r = stream_.read_some(buffer_, std::clamp<std::size_t>(max, 1, 4096), deadline_);
  if (r.ok()) return std::nullopt;
  if (r.kind == IoResult::Kind::Eof) {
    return validation_failure("connection", "Fetching " + where_ + " (" + address_ + "): the server " + at_eof,
                              address_);
  }
  return validation_failure("connection",
                            "Fetching " + where_ + " (" + address_ + "): " + io_failure_text(r, settings_), address_);
}

std::optional<ValidationOutcome> ResponseReader::read_to_close(std::string& body) {
  for (;;) {
    if (buffer_.size() > kMaxHttp01Body) return too_large();
    const IoResult r =
        stream_.read_some(buffer_, kMaxHttp01Body + 1 - std::min(buffer_.size(), kMaxHttp01Body), deadline_);
    if (r.kind == IoResult::Kind::Eof) break;
    if (!r.ok()) {
      return validation_failure(
          "connection", "Fetching " + where_ + " (" + address_ + "): " + io_failure_text(r, settings_), address_);
    }
  }
  body = std::move(buffer_);
  return std::nullopt;
}

std::optional<ValidationOutcome> ResponseReader::read_chunked(std::string& body) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol;
    while ((eol = buffer_.find('\n', pos)) == std::string::npos) {
      if (buffer_.size() - pos > kMaxChunkLine) return incorrect("its chunked encoding is malformed");
      if (auto e = more("closed the connection inside the chunked body")) return e;
    }
    // The same limit on a line that arrived whole as on one still arriving.
    if (eol - pos > kMaxChunkLine) return incorrect("its chunked encoding is malformed");
    std::string_view line(buffer_.data() + pos, eol - pos);
    line = trim(line.substr(0, line.find(';')));
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (line.empty() || line.size() > 8 || ec != std::errc() || end != line.data() + line.size()) {
      return incorrect("its chunked encoding is malformed");
    }
    pos = eol + 1;
    if (size == 0) return std::nullopt;  // trailers, if any, say nothing we need
    if (body.size() + size > kMaxHttp01Body) return too_large();
    while (buffer_.size() - pos < size + 1) {
      if (auto e = more("closed the connection inside the chunked body")) return e;
    }
    body.append(buffer_, pos, size);
    pos += size;
    while ((eol = buffer_.find('\n', pos)) == std::string::npos) {
      if (buffer_.size() - pos > 2) return incorrect("its chunked encoding is malformed");
      if (auto e = more("closed the connection inside the chunked body")) return e;
    }
    if (eol - pos > 1 || (eol - pos == 1 && buffer_[pos] != '\r'))
      return incorrect("its chunked encoding is malformed");
    pos = eol + 1;
  }
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The URL a Location header leads to from `current`, or why it is not followed.
std::optional<Url> follow(const Url& current, std::string_view location, const ValidationSettings& settings,
                          std::string& why) {
  location = trim(location);
  if (location.empty()) {
    why = "the Location header is missing or empty";
    return std::nullopt;
  }
  if (const auto hash = location.find('#'); hash != std::string_view::npos) location = location.substr(0, hash);
  // Only a fragment ("#top"): the same document (RFC 3986 section 5.2.2), which a loop of
  // redirects to itself ends at kMaxRedirects.
  if (location.empty()) return current;
  Url next = current;
  std::string_view rest = location;
  bool new_authority = false;
  const auto colon = location.find(':');
  const auto first_slash = location.find_first_of("/?");
  if (colon != std::string_view::npos && colon > 0 && colon < first_slash &&
      std::isalpha(static_cast<unsigned char>(location.front())) != 0) {
    const std::string scheme = lower_ascii(location.substr(0, colon));
    if (scheme != "http" && scheme != "https") {
      why = "only http and https redirects are followed";
      return std::nullopt;
    }
    next.https = scheme == "https";
    rest = location.substr(colon + 1);
    if (rest.substr(0, 2) != "//") {
      why = "the target has no host";
      return std::nullopt;
    }
    new_authority = true;
  } else if (location.substr(0, 2) == "//") {
    new_authority = true;
  }
  if (new_authority) {
    rest.remove_prefix(2);
    const auto end = rest.find_first_of("/?");
    const std::string_view auth = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (auth.find('@') != std::string_view::npos) {
      why = "the target has user information";
      return std::nullopt;
    }
    std::string_view host = auth;
    std::string_view port_text;
    if (!auth.empty() && auth.front() == '[') {
      const auto close = auth.find(']');
      if (close == std::string_view::npos) {
        why = "the target's host is malformed";
        return std::nullopt;
      }
      host = auth.substr(1, close - 1);
      const auto after = auth.substr(close + 1);
      if (!after.empty() && after.front() != ':') {
        why = "the target's host is malformed";
        return std::nullopt;
      }
      if (!after.empty()) port_text = after.substr(1);
      next.ip = IpAddress::parse(host);
      if (!next.ip || next.ip->family != 6) {
        why = "the target's host is malformed";
        return std::nullopt;
      }
      next.host = next.ip->to_string();
    } else {
      if (const auto c = auth.rfind(':'); c != std::string_view::npos) {
        host = auth.substr(0, c);
        port_text = auth.substr(c + 1);
      }
      std::string name = lower_ascii(host);
      if (!name.empty() && name.back() == '.') name.pop_back();
      next.ip = IpAddress::parse(name);
      if (next.ip && next.ip->family != 4) next.ip.reset();
      if (!next.ip && !valid_host_name(name)) {
        why = "the target's host is not a valid name";
        return std::nullopt;
      }
      next.host = next.ip ? next.ip->to_string() : name;
    }
    next.port = next.https ? 443 : 80;
    if (!port_text.empty()) {
      int port = 0;
      const auto [end_port, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (ec != std::errc() || end_port != port_text.data() + port_text.size() || port < 1 || port > 65535) {
        why = "the target's port is malformed";
        return std::nullopt;
      }
      next.port = static_cast<std::uint16_t>(port);
    }
    // RFC 8555 section 10.2: only the ports the validation itself uses (80 and 443 unless the
    // operator moved them), so that a redirect cannot aim the CA at some other service.
    const std::uint16_t expected = next.https ? settings.tlsalpn01_port : settings.http01_port;
    if (next.port != expected) {
      why = "only http on port " + std::to_string(settings.http01_port) + " and https on port " +
            std::to_string(settings.tlsalpn01_port) + " are followed";
      return std::nullopt;
    }
    next.path = rest.empty() ? std::string("/") : rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
  } else if (location.front() == '/') {
    next.path = std::string(location);
  } else if (location.front() == '?') {
    next.path = current.path.substr(0, current.path.find('?')) + std::string(location);
  } else {
    const std::string base = current.path.substr(0, current.path.find('?'));
    next.path = base.substr(0, base.rfind('/') + 1) + std::string(location);
  }
  if (std::any_of(next.path.begin(), next.path.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    why = "the target has spaces or control characters";
    return std::nullopt;
  }
  return next;
}

// The certificate's verdict for tls-alpn-01: nullopt when it proves control.
std::optional<ValidationOutcome> check_certificate(X509* cert, const Identifier& id, const std::optional<IpAddress>& ip,
                                                   const std::string& key_authorization, const std::string& where,
                                                   const std::string& address) {
  const std::string prefix = "The tls-alpn-01 certificate from " + where + " (" + address + ") ";
  if (cert == nullptr) return validation_failure("tls", prefix + "is missing: the server sent none", address);
  int critical = 0;
  const ossl::GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  const int count = names ? sk_GENERAL_NAME_num(names.get()) : 0;
  if (count != 1) {
    return validation_failure(
        "tls",
        prefix + "has " + std::to_string(count) + " subjectAltName entries; it must have exactly one, for " + id.value,
        address);
  }
  const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), 0);
  if (!names_identifier(name, id, ip)) {
    return validation_failure("tls", prefix + "is for " + describe_name(name) + ", not for " + id.value, address);
  }
  const ossl::Asn1Object oid(OBJ_txt2obj(std::string(kAcmeIdentifierOid).c_str(), 1));
  if (!oid) throw std::runtime_error("OpenSSL cannot parse the acmeIdentifier OID");
  const int index = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (index < 0)
    return validation_failure("tls", prefix + "has no acmeIdentifier extension (1.3.6.1.5.5.7.1.31)", address);
  if (X509_get_ext_by_OBJ(cert, oid.get(), index) >= 0) {
    return validation_failure("tls", prefix + "has more than one acmeIdentifier extension", address);
  }
  X509_EXTENSION* extension = X509_get_ext(cert, index);
  if (X509_EXTENSION_get_critical(extension) != 1) {
    return validation_failure(
        "tls", prefix + "has an acmeIdentifier extension that is not critical (RFC 8737 section 3)", address);
  }
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(extension);
  const unsigned char* der = ASN1_STRING_get0_data(value);
  const Bytes expected = key_authorization_digest(key_authorization);
  // extnValue holds the DER of an OCTET STRING of the 32-byte SHA-256 digest: 04 20 and the digest.
  if (ASN1_STRING_length(value) != 34 || der[0] != 0x04 || der[1] != 0x20) {
    return validation_failure(
        "tls", prefix + "has an acmeIdentifier extension that is not an OCTET STRING of a SHA-256 digest", address);
  }
  if (std::memcmp(der + 2, expected.data(), expected.size()) != 0) {
    return validation_failure("incorrectResponse",
                              prefix + "has the acmeIdentifier " + to_hex(ByteView(der + 2, 32)) +
                                  ", but this challenge needs " + to_hex(expected),
                              address);
  }
  return std::nullopt;
}

}  // namespace signet::daemon::acme
