// Name resolution for ACME validation (acme_validation.h): A/AAAA and TXT lookups through c-ares,
// against one configured DNS server ("host:port") or the system's resolv.conf, each bounded by a
// deadline. Each call builds its own c-ares channel and drives it on the calling thread with poll(),
// so nothing is shared between calls and no thread is left behind.
//
// Thread-safety: every function may be called from any thread concurrently.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "signet/core/cidr.h"

namespace signet::daemon::acme {

using ValidationClock = std::chrono::steady_clock;

struct LookupResult {
  bool ok = false;
  bool no_such_name = false;         // NXDOMAIN
  bool no_data = false;              // the name exists without records of the type asked for
  std::string detail;                // when !ok: what went wrong, naming the name and the resolver
  std::vector<IpAddress> addresses;  // resolve_addresses: IPv6 first, then IPv4, duplicates removed
  std::vector<std::string> txt;      // resolve_txt: one string per record (its strings joined)
};

// "127.0.0.1:8053" as written, or "the system resolver" for "".
[[nodiscard]] std::string describe_resolver(const std::string& resolver);

// A and AAAA records of `name` (DNS only, no hosts file, no search domains).
[[nodiscard]] LookupResult resolve_addresses(const std::string& resolver, const std::string& name,
                                             ValidationClock::time_point deadline);

// TXT records of `name` (no search domains).
[[nodiscard]] LookupResult resolve_txt(const std::string& resolver, const std::string& name,
                                       ValidationClock::time_point deadline);

}  // namespace signet::daemon::acme
