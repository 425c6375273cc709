// ACME challenge validation (RFC 8555 section 8, RFC 8737, RFC 8738): http-01, dns-01 and
// tls-alpn-01, as a validation authority does it. Each call is blocking and bounded by
// Settings::timeout as a whole (resolution, connection, TLS, reading); signetd runs them on a
// thread pool of their own, never on the threads that serve connections.
//
// Names are resolved through Settings::resolver ("host:port" of a DNS server, "" = the system's
// resolv.conf) with c-ares: A and AAAA for http-01 and tls-alpn-01 (an IP identifier is used as
// is), TXT of _acme-challenge.<name> for dns-01. Every address is checked against
// Settings::allowed_networks before a connection is made to it; a refused address is never
// contacted.
//
// The outcome names the ACME error type (without "urn:ietf:params:acme:error:") and a detail a
// client's operator can act on: "dns" (no such name, no address, resolver failure, timeout),
// "connection" (refused, timed out, address not allowed), "incorrectResponse" (wrong content,
// wrong status, body too large, redirect refused), "tls" (handshake failed, wrong ALPN, no or bad
// acmeIdentifier, certificate not for the name), "unauthorized" (dns-01: no TXT record matches).
//
// Thread-safety: every function may be called from any thread concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "signet/core/cidr.h"

namespace signet::daemon::acme {

struct ValidationSettings {
  std::uint16_t http01_port = 80;
  std::uint16_t tlsalpn01_port = 443;
  std::string resolver;                 // "host:port", "host" (port 53) or "" (system)
  std::vector<Cidr> allowed_networks;   // empty: any
  std::chrono::milliseconds timeout{10000};
};

struct Identifier {
  std::string type;   // "dns" or "ip"
  std::string value;  // "www.example.test" (never a wildcard here: the caller strips "*.") or "192.0.2.1"
};

struct ValidationOutcome {
  bool valid = false;
  std::string error_type;   // "" when valid
  std::string detail;       // "" when valid
  std::string address;      // the address that answered or failed ("" for dns-01), for the record
};

// GET http://<identifier>:<http01_port>/.well-known/acme-challenge/<token> (RFC 8555 8.3): the
// body, with trailing whitespace removed, must equal `key_authorization`. Host header is the
// identifier (an IPv6 in brackets). Every resolved address is tried in order (IPv6 first, as
// RFC 8555 allows) until one answers. Redirects: at most 10, only to http on port 80 or https on
// 443 (RFC 8555 section 10.2), each target resolved and checked against allowed_networks again;
// the body read is at most 8 KiB. Status must be 200.
[[nodiscard]] ValidationOutcome validate_http01(const ValidationSettings& settings, const Identifier& id,
                                                const std::string& token, const std::string& key_authorization);

// TXT records of _acme-challenge.<name> (RFC 8555 8.4): one must equal
// base64url(SHA-256(key_authorization)). Only for dns identifiers.
[[nodiscard]] ValidationOutcome validate_dns01(const ValidationSettings& settings, const Identifier& id,
                                               const std::string& key_authorization);

// TLS to <identifier>:<tlsalpn01_port> (RFC 8737): SNI = the name (for an IP, the reverse name
// "d.c.b.a.in-addr.arpa" / nibbles.ip6.arpa, RFC 8738 section 6), ALPN "acme-tls/1" only, and the
// negotiated protocol must be it. The self-signed certificate must have exactly one
// subjectAltName equal to the identifier and the critical id-pe-acmeIdentifier extension
// (1.3.6.1.5.5.7.1.31) whose value is the DER OCTET STRING of SHA-256(key_authorization). TLS 1.2
// or later; the certificate chain is not verified (it is self-signed by design).
[[nodiscard]] ValidationOutcome validate_tlsalpn01(const ValidationSettings& settings, const Identifier& id,
                                                   const std::string& key_authorization);

}  // namespace signet::daemon::acme
