#include "acme_validation_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>

namespace signet::daemon::acme {

namespace {

constexpr int kClassIn = 1;
constexpr int kTypeTxt = 16;
// c-ares doubles the per-try timeout on each round (1 + 2 + 4 = 7 units for three tries), so a
// seventh of the time left lets all three fit before the deadline.
constexpr int kTries = 3;
constexpr int kTimeoutUnits = 7;
constexpr std::chrono::milliseconds kMinTryTimeout{200};

int library_status() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  return status;
}

struct Server {
  IpAddress address;
  int port = 53;
};

std::optional<int> parse_port(std::string_view text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

// "192.0.2.53", "192.0.2.53:8053", "2001:db8::53", "[2001:db8::53]:8053". c-ares takes addresses
// only, so a host name here is refused rather than resolved through some other resolver.
std::optional<Server> parse_server(std::string_view text) {
  Server out;
  std::string_view host = text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      const auto port = parse_port(rest.substr(1));
      if (!port) return std::nullopt;
      out.port = *port;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    const auto port = parse_port(text.substr(colon + 1));
    if (!port) return std::nullopt;
    out.port = *port;
  }
  const auto address = IpAddress::parse(host);
  if (!address) return std::nullopt;
  out.address = *address;
  return out;
}

class Channel {
 public:
  Channel() = default;
  ~Channel() {
    if (channel_ != nullptr) ares_destroy(channel_);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ares_channel* out() { return &channel_; }
  [[nodiscard]] ares_channel get() const { return channel_; }

 private:
  ares_channel channel_ = nullptr;
};

std::chrono::milliseconds left(ValidationClock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ValidationClock::now()));
}

// A channel for one lookup; "" when ready, else why not.
std::string open_channel(Channel& channel, const std::string& resolver, ValidationClock::time_point deadline) {
  const int lib = library_status();
  if (lib != ARES_SUCCESS) return std::string("c-ares could not be initialised: ") + ares_strerror(lib);
  std::optional<Server> server;
  if (!resolver.empty()) {
    server = parse_server(resolver);
    if (!server) return "the resolver \"" + resolver + "\" is not an IP address with an optional :port";
  }
  ares_options options{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS | ARES_OPT_FLAGS;
  options.timeout = static_cast<int>(std::max(kMinTryTimeout, left(deadline) / kTimeoutUnits).count());
  options.tries = kTries;
  // DNS only: the hosts file of the CA's machine says nothing about the applicant's names.
  char lookups[] = "b";
  options.lookups = lookups;
  // No search domains: "www.example.test" must never become "www.example.test.corp.internal".
  options.domains = nullptr;
  options.ndomains = 0;
  options.flags = ARES_FLAG_NOSEARCH;
  const int status = ares_init_options(channel.out(), &options, mask);
  if (status != ARES_SUCCESS) return std::string("c-ares could not be initialised: ") + ares_strerror(status);
  if (server) {
    ares_addr_port_node node{};
    node.next = nullptr;
    node.family = server->address.family == 4 ? AF_INET : AF_INET6;
    if (node.family == AF_INET) {
      std::memcpy(&node.addr.addr4, server->address.bytes.data(), 4);
    } else {
      std::memcpy(&node.addr.addr6, server->address.bytes.data(), 16);
    }
    node.udp_port = server->port;
    node.tcp_port = server->port;
    const int set = ares_set_servers_ports(channel.get(), &node);
    if (set != ARES_SUCCESS) return "c-ares refused the resolver \"" + resolver + "\": " + ares_strerror(set);
  }
  return {};
}

// Runs the channel until `done` or the deadline; false on the deadline (the caller then destroys
// the channel, which ends the query).
bool drive(ares_channel channel, const bool& done, ValidationClock::time_point deadline) {
  while (!done) {
    const auto remaining = left(deadline);
    if (remaining.count() <= 0) return false;
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events != 0) fds[count++] = pollfd{sockets[i], events, 0};
    }
    timeval max_wait{};
    max_wait.tv_sec = static_cast<time_t>(remaining.count() / 1000);
    max_wait.tv_usec = static_cast<suseconds_t>((remaining.count() % 1000) * 1000);
    timeval wait_buffer{};
    const timeval* wait = ares_timeout(channel, &max_wait, &wait_buffer);
    const int wait_ms = static_cast<int>(wait->tv_sec * 1000 + (wait->tv_usec + 999) / 1000);
    const int ready = ::poll(fds, count, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (ready == 0) {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // c-ares' own retry timers
      continue;
    }
    for (nfds_t i = 0; i < count; ++i) {
      const bool readable = (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
      const bool writable = (fds[i].revents & POLLOUT) != 0;
      if (!readable && !writable) continue;
      ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD, writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
  }
  return true;
}

std::string status_text(int status) {
  switch (status) {
    case ARES_ENOTFOUND:
      return "NXDOMAIN";
    case ARES_ENODATA:
      return "no data";
    case ARES_ESERVFAIL:
      return "SERVFAIL";
    case ARES_EREFUSED:
      return "REFUSED";
    case ARES_ETIMEOUT:
      return "no answer before the timeout";
    case ARES_ECONNREFUSED:
      return "connection refused";
    default:
      return ares_strerror(status);
  }
}

void set_failure(LookupResult& result, int status) {
  result.ok = false;
  result.no_such_name = status == ARES_ENOTFOUND;
  result.no_data = status == ARES_ENODATA;
}

struct AddressQuery {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<IpAddress> addresses;
};

void on_addresses(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
  auto* query = static_cast<AddressQuery*>(arg);
  query->done = true;
  query->status = status;
  if (info == nullptr) return;
  for (const ares_addrinfo_node* node = info->nodes; node != nullptr; node = node->ai_next) {
    IpAddress a;
    if (node->ai_family == AF_INET && node->ai_addr != nullptr) {
      a.family = 4;
      const auto* in = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
      std::memcpy(a.bytes.data(), &in->sin_addr, 4);
    } else if (node->ai_family == AF_INET6 && node->ai_addr != nullptr) {
      a.family = 6;
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
      std::memcpy(a.bytes.data(), &in6->sin6_addr, 16);
    } else {
      continue;
    }
    query->addresses.push_back(a);
  }
  ares_freeaddrinfo(info);
}

struct TxtQuery {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<std::string> records;
};

void on_txt(void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
  auto* query = static_cast<TxtQuery*>(arg);
  query->done = true;
  query->status = status;
  if (status != ARES_SUCCESS) return;
  ares_txt_ext* txt = nullptr;
  const int parsed = ares_parse_txt_reply_ext(answer, length, &txt);
  if (parsed != ARES_SUCCESS) {
    query->status = parsed;
    return;
  }
  // A record longer than 255 bytes arrives as several character-strings; RFC 8555's value is
  // their concatenation.
  for (const ares_txt_ext* t = txt; t != nullptr; t = t->next) {
    if (t->record_start != 0 || query->records.empty()) query->records.emplace_back();
    query->records.back().append(reinterpret_cast<const char*>(t->txt), t->length);
  }
  ares_free_data(txt);
  if (query->records.empty()) query->status = ARES_ENODATA;
}

}  // namespace

std::string describe_resolver(const std::string& resolver) {
  return resolver.empty() ? std::string("the system resolver") : "resolver " + resolver;
}

LookupResult resolve_addresses(const std::string& resolver, const std::string& name,
                               ValidationClock::time_point deadline) {
  LookupResult result;
  const std::string where = describe_resolver(resolver);
  AddressQuery query;  // outlives the channel, whose destruction may still call back
  Channel channel;
  if (const std::string failed = open_channel(channel, resolver, deadline); !failed.empty()) {
    result.detail = "DNS lookup of " + name + " failed: " + failed;
    return result;
  }
  ares_addrinfo_hints hints{};
  hints.ai_flags = ARES_AI_NOSORT;  // ordered below: IPv6 first
  hints.ai_family = AF_UNSPEC;
  ares_getaddrinfo(channel.get(), name.c_str(), nullptr, &hints, on_addresses, &query);
  if (!drive(channel.get(), query.done, deadline)) {
    result.detail = "DNS lookup of " + name + " got no answer from " + where + " before the timeout";
    return result;
  }
  if (query.status == ARES_SUCCESS && query.addresses.empty()) query.status = ARES_ENODATA;
  if (query.status != ARES_SUCCESS) {
    set_failure(result, query.status);
    if (result.no_such_name || result.no_data) {
      result.detail =
          "DNS lookup of " + name + " found no A or AAAA record (" + status_text(query.status) + ") at " + where;
    } else {
      result.detail = "DNS lookup of " + name + " (A/AAAA) failed at " + where + ": " + status_text(query.status);
    }
    return result;
  }
  for (const int family : {6, 4}) {
    for (const IpAddress& a : query.addresses) {
      if (a.family != family) continue;
      const bool seen = std::any_of(result.addresses.begin(), result.addresses.end(),
                                    [&](const IpAddress& b) { return b.family == a.family && b.bytes == a.bytes; });
      if (!seen) result.addresses.push_back(a);
    }
  }
  result.ok = true;
  return result;
}

LookupResult resolve_txt(const std::string& resolver, const std::string& name, ValidationClock::time_point deadline) {
  LookupResult result;
  const std::string where = describe_resolver(resolver);
  TxtQuery query;
  Channel channel;
  if (const std::string failed = open_channel(channel, resolver, deadline); !failed.empty()) {
    result.detail = "DNS lookup of TXT records for " + name + " failed: " + failed;
    return result;
  }
  ares_query(channel.get(), name.c_str(), kClassIn, kTypeTxt, on_txt, &query);
  if (!drive(channel.get(), query.done, deadline)) {
    result.detail = "DNS lookup of TXT records for " + name + " got no answer from " + where + " before the timeout";
    return result;
  }
  if (query.status != ARES_SUCCESS) {
    set_failure(result, query.status);
    if (result.no_such_name || result.no_data) {
      result.detail = "DNS lookup of " + name + " found no TXT record (" + status_text(query.status) + ") at " + where;
    } else {
      result.detail =
          "DNS lookup of TXT records for " + name + " failed at " + where + ": " + status_text(query.status);
    }
    return result;
  }
  result.txt = std::move(query.records);
  result.ok = true;
  return result;
}

}  // namespace signet::daemon::acme
