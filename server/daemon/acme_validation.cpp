#include "acme_validation.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acme_validation_http.h"
#include "acme_validation_resolver.h"
#include "acme_validation_transport.h"
#include "signet/acme/jws.h"

namespace signet::daemon::acme {

namespace {

constexpr int kMaxRedirects = 10;
constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";
constexpr std::string_view kAllowedNetworks = "this CA's [acme] allowed_networks";

using Deadline = ValidationClock::time_point;

ValidationOutcome success(std::string address) {
  ValidationOutcome out;
  out.valid = true;
  out.address = std::move(address);
  return out;
}

// RFC 8555 8.3: the client's file may end with whitespace (an editor's final newline).
std::string_view trim_trailing(std::string_view s) {
  const auto last = s.find_last_not_of(" \t\r\n");
  return last == std::string_view::npos ? std::string_view() : s.substr(0, last + 1);
}

// The identifier's address when it is an IP identifier. A malformed identifier is the caller's
// bug: orders are checked long before validation.
std::optional<IpAddress> check_identifier(const Identifier& id) {
  if (id.type == "ip") {
    auto address = IpAddress::parse(id.value);
    if (!address) throw std::invalid_argument("ACME validation: \"" + id.value + "\" is not an IP address");
    return address;
  }
  if (id.type == "dns") {
    if (id.value.empty() || id.value.find_first_of("*/: ") != std::string::npos) {
      throw std::invalid_argument("ACME validation: \"" + id.value + "\" is not a DNS name to validate");
    }
    return std::nullopt;
  }
  throw std::invalid_argument("ACME validation: unknown identifier type \"" + id.type + "\"");
}

// DNS names compare without regard to ASCII case (RFC 4343); asked for in lower case, as some
// servers (challtestsrv among them) match names exactly.
std::string dns_name(const Identifier& id) { return lower_ascii(id.value); }

Deadline start(const ValidationSettings& settings) {
  if (settings.timeout.count() <= 0) throw std::invalid_argument("ACME validation: the timeout must be positive");
  return ValidationClock::now() + settings.timeout;
}

// ---- addresses and connections ----

struct Targets {
  std::vector<IpAddress> addresses;        // allowed ones, in the order to try
  std::optional<ValidationOutcome> error;  // when there is nothing to try
};

Targets targets_for(const ValidationSettings& settings, const std::string& host,
                    const std::optional<IpAddress>& literal, Deadline deadline) {
  Targets out;
  std::vector<IpAddress> found;
  if (literal) {
    found.push_back(*literal);
  } else {
    LookupResult lookup = resolve_addresses(settings.resolver, host, deadline);
    if (!lookup.ok) {
      out.error = validation_failure("dns", lookup.detail);
      return out;
    }
    found = std::move(lookup.addresses);
  }
  std::vector<IpAddress> refused;
  for (const IpAddress& a : found) (allowed(settings.allowed_networks, a) ? out.addresses : refused).push_back(a);
  if (out.addresses.empty()) {
    std::string list;
    for (std::size_t i = 0; i < refused.size(); ++i) {
      if (i != 0) list += i + 1 == refused.size() ? " and " : ", ";
      list += refused[i].to_string();
    }
    const std::string which = refused.size() == 1 ? "which " : "none of which ";
    out.error = validation_failure(
        "connection",
        literal ? list + " is an address " + std::string(kAllowedNetworks) + " does not include"
                : host + " resolves to " + list + ", " + which + std::string(kAllowedNetworks) + " does not include",
        refused.front().to_string());
  }
  return out;
}

struct Connected {
  Fd fd;
  std::string address;
  std::optional<ValidationOutcome> error;
};

// Tries each address in turn until one accepts; `what` names the target for a detail.
Connected connect_any(const ValidationSettings& settings, const std::vector<IpAddress>& addresses, std::uint16_t port,
                      const std::string& what, Deadline deadline) {
  Connected out;
  std::string tried;
  bool timed_out = false;
  for (const IpAddress& a : addresses) {
    out.address = a.to_string();
    ConnectResult c = connect_tcp(a, port, deadline);
    if (c.fd) {
      out.fd = std::move(c.fd);
      return out;
    }
    if (!tried.empty()) tried += "; ";
    tried += out.address + ": " + c.error;
    timed_out = c.timed_out;
    if (timed_out) break;
  }
  out.error = validation_failure(
      "connection",
      "Connecting to " + what + " failed (" + tried + ")" + (timed_out ? ", " + time_limit(settings) : ""),
      out.address);
  return out;
}

// ---- http-01 ----

struct Fetched {
  std::optional<ValidationOutcome> error;
  Http01Response response;
  std::string address;
};

Fetched fetch(const ValidationSettings& settings, const Url& url, Deadline deadline) {
  Fetched out;
  const std::string where = url_text(url);
  Targets targets = targets_for(settings, url.host, url.ip, deadline);
  if (targets.error) {
    out.error = std::move(targets.error);
    return out;
  }
  Connected connected = connect_any(settings, targets.addresses, url.port, where, deadline);
  out.address = connected.address;
  if (connected.error) {
    out.error = std::move(connected.error);
    return out;
  }
  std::unique_ptr<Stream> stream;
  if (url.https) {
    // No SNI for an address (RFC 6066 section 3); nothing is verified (RFC 8555 section 10.2
    // leaves that to http-01's key authorization).
    auto tls = std::make_unique<TlsStream>(std::move(connected.fd), TlsOptions{url.ip ? "" : url.host, "http/1.1"});
    const IoResult handshake = tls->handshake(deadline);
    if (!handshake.ok()) {
      out.error = validation_failure(
          handshake.kind == IoResult::Kind::Timeout ? "connection" : "tls",
          "TLS handshake with " + where + " (" + out.address + ") failed: " + io_failure_text(handshake, settings),
          out.address);
      return out;
    }
    stream = std::move(tls);
  } else {
    stream = std::make_unique<PlainStream>(std::move(connected.fd));
  }
  const std::string request = "GET " + url.path + " HTTP/1.1\r\nHost: " + authority(url) +
                              "\r\nUser-Agent: signet-acme-validation\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  const IoResult sent = stream->write_all(request, deadline);
  if (!sent.ok()) {
    out.error = validation_failure(
        "connection",
        "Sending the request for " + where + " (" + out.address + ") failed: " + io_failure_text(sent, settings),
        out.address);
    return out;
  }
  ResponseReader reader(*stream, settings, deadline, where, out.address);
  out.error = reader.read(out.response);
  return out;
}

// ---- tls-alpn-01 ----

// RFC 8738 section 6: the SNI of an IP identifier is its reverse-mapping name.
std::string reverse_name(const IpAddress& address) {
  std::string out;
  if (address.family == 4) {
    for (int i = 3; i >= 0; --i) out += std::to_string(address.bytes[static_cast<std::size_t>(i)]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    const std::uint8_t b = address.bytes[static_cast<std::size_t>(i)];
    ((out += kHex[b & 15]) += '.') += kHex[b >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

}  // namespace

ValidationOutcome validate_http01(const ValidationSettings& settings, const Identifier& id, const std::string& token,
                                  const std::string& key_authorization) {
  const std::optional<IpAddress> ip = check_identifier(id);
  const bool token_ok = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
  });
  if (!token_ok) throw std::invalid_argument("ACME validation: the token is not base64url");
  const Deadline deadline = start(settings);
  Url url;
  url.host = ip ? ip->to_string() : dns_name(id);
  url.ip = ip;
  url.port = settings.http01_port;
  url.path = "/.well-known/acme-challenge/" + token;
  for (int redirects = 0;; ++redirects) {
    Fetched fetched = fetch(settings, url, deadline);
    if (fetched.error) return std::move(*fetched.error);
    const Http01Response& response = fetched.response;
    const std::string where = url_text(url) + " (" + fetched.address + ")";
    if (is_redirect(response.status)) {
      if (redirects == kMaxRedirects) {
        return validation_failure(
            "incorrectResponse",
            "Too many redirects: more than " + std::to_string(kMaxRedirects) + ", the last from " + where,
            fetched.address);
      }
      std::string why;
      std::optional<Url> next = follow(url, response.location, settings, why);
      if (!next) {
        return validation_failure(
            "incorrectResponse",
            "Refused the redirect from " + where + " to \"" + printable(response.location, 200) + "\": " + why,
            fetched.address);
      }
      url = std::move(*next);
      continue;
    }
    if (response.status != 200) {
      return validation_failure(
          "incorrectResponse",
          "Invalid response from " + where + ": HTTP " + std::to_string(response.status) + ", not 200",
          fetched.address);
    }
    const std::string_view body = trim_trailing(response.body);
    if (body != key_authorization) {
      return validation_failure("incorrectResponse",
                                "The key authorization file from " + where +
                                    " does not match this challenge: expected \"" + key_authorization +
                                    "\", received \"" + printable(body) + "\"",
                                fetched.address);
    }
    return success(fetched.address);
  }
}

ValidationOutcome validate_dns01(const ValidationSettings& settings, const Identifier& id,
                                 const std::string& key_authorization) {
  if (check_identifier(id)) throw std::invalid_argument("ACME validation: dns-01 is only for dns identifiers");
  const Deadline deadline = start(settings);
  const std::string name = "_acme-challenge." + dns_name(id);
  const std::string expected = signet::acme::base64url_encode(key_authorization_digest(key_authorization));
  const LookupResult lookup = resolve_txt(settings.resolver, name, deadline);
  if (!lookup.ok) {
    // Boulder's distinction: a name without TXT records is the applicant's unfinished setup
    // (unauthorized); NXDOMAIN, SERVFAIL or silence are DNS problems.
    if (lookup.no_data) {
      return validation_failure(
          "unauthorized", "No TXT record found at " + name + " (asked " + describe_resolver(settings.resolver) + ")");
    }
    return validation_failure("dns", lookup.detail);
  }
  if (std::find(lookup.txt.begin(), lookup.txt.end(), expected) != lookup.txt.end()) return success("");
  std::string more;
  if (lookup.txt.size() > 1) more = " (and " + std::to_string(lookup.txt.size() - 1) + " more)";
  return validation_failure("unauthorized", "Incorrect TXT record \"" + printable(lookup.txt.front()) + "\"" + more +
                                                " found at " + name + "; this challenge needs \"" + expected + "\"");
}

ValidationOutcome validate_tlsalpn01(const ValidationSettings& settings, const Identifier& id,
                                     const std::string& key_authorization) {
  const std::optional<IpAddress> ip = check_identifier(id);
  const Deadline deadline = start(settings);
  const std::string host = ip ? ip->to_string() : dns_name(id);
  const std::string where =
      (ip && ip->family == 6 ? "[" + host + "]" : host) + ":" + std::to_string(settings.tlsalpn01_port);
  Targets targets = targets_for(settings, host, ip, deadline);
  if (targets.error) return std::move(*targets.error);
  Connected connected = connect_any(settings, targets.addresses, settings.tlsalpn01_port, where, deadline);
  if (connected.error) return std::move(*connected.error);
  const std::string address = connected.address;
  TlsStream tls(std::move(connected.fd), TlsOptions{ip ? reverse_name(*ip) : host, std::string(kAcmeTlsAlpn)});
  const IoResult handshake = tls.handshake(deadline);
  if (!handshake.ok()) {
    return validation_failure(handshake.kind == IoResult::Kind::Timeout ? "connection" : "tls",
                              "TLS handshake with " + where + " (" + address +
                                  ") for tls-alpn-01 failed: " + io_failure_text(handshake, settings),
                              address);
  }
  const std::string alpn = tls.alpn_selected();
  if (alpn != kAcmeTlsAlpn) {
    return validation_failure(
        "tls",
        "The server at " + where + " (" + address + ") did not negotiate the ALPN protocol acme-tls/1 (" +
            (alpn.empty() ? std::string("it chose none") : "it chose \"" + printable(alpn) + "\"") + ")",
        address);
  }
  if (auto verdict = check_certificate(tls.peer_certificate(), id, ip, key_authorization, where, address)) {
    return std::move(*verdict);
  }
  return success(address);
}

}  // namespace signet::daemon::acme
