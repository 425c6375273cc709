#include "signet/setup/plan.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <sstream>
#include <toml++/toml.h>

#include "signet/core/cidr.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/issuance/profile.h"
#include "signet/keystore/store.h"

namespace signet::setup {

namespace fs = std::filesystem;

namespace {

constexpr std::array<std::pair<SetupMode, std::string_view>, 5> kModes = {{
    {SetupMode::NewKey, "new-key"},
    {SetupMode::ExistingKey, "existing-key"},
    {SetupMode::ExistingKeyAndCertificate, "existing-key-and-certificate"},
    {SetupMode::RestoreThenReinstall, "restore-then-reinstall"},
    {SetupMode::Subordinate, "subordinate"},
}};

constexpr std::size_t kMaxTlsNames = 100;
constexpr std::size_t kMaxUrlLength = 512;

bool is_ip(const std::string& s) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

bool is_dns_name(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || (c == '*' && i == 0 && s.size() > 2 && s[1] == '.');
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && s.front() != '-' && s.back() != '-';
}

// C0 controls, DEL, C1 controls (U+0080..U+009F) and the bidirectional overrides and isolates
// (U+202A..U+202E, U+2066..U+2069), in UTF-8: none belongs in a name shown to relying parties.
bool has_control_character(std::string_view value) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) return true;
    const auto next = [&](std::size_t k) { return i + k < value.size() ? static_cast<unsigned char>(value[i + k]) : 0; };
    if (c == 0xc2 && next(1) >= 0x80 && next(1) <= 0x9f) return true;
    if (c == 0xe2 && next(1) == 0x80 && next(2) >= 0xaa && next(2) <= 0xae) return true;
    if (c == 0xe2 && next(1) == 0x81 && next(2) >= 0xa6 && next(2) <= 0xa9) return true;
  }
  return false;
}

void check_text(std::vector<PlanProblem>& out, const std::string& field, const std::string& value,
                std::size_t max, const std::string& what) {
  if (value.size() > max) {
    out.push_back({field, "too-long",
                   what + " is " + std::to_string(value.size()) + " characters; at most " +
                       std::to_string(max) + " are allowed (RFC 5280 upper bounds)"});
  }
  if (has_control_character(value)) {
    out.push_back({field, "invalid",
                   what + " contains a control character (C0, DEL, C1 or a bidirectional override), which "
                          "would show differently from what it is; remove it"});
  }
}

void check_data_dir(std::vector<PlanProblem>& out, const fs::path& dir) {
  if (dir.empty() || dir.is_relative()) {
    out.push_back({"data_dir", "invalid", "the data directory must be an absolute path"});
    return;
  }
  std::error_code ec;
  fs::path probe = dir;
  while (!fs::exists(probe, ec) && probe.has_parent_path() && probe != probe.parent_path()) {
    probe = probe.parent_path();
  }
  if (!fs::is_directory(probe, ec)) {
    out.push_back({"data_dir", "invalid", probe.string() + " is not a directory"});
    return;
  }
  if (::access(probe.c_str(), W_OK | X_OK) != 0) {
    out.push_back({"data_dir", "not-writable",
                   "no permission to write in " + probe.string() +
                       ": run setup as the user that owns it, or choose another data directory"});
    return;
  }
  if (probe == dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
      out.push_back({"data_dir", "permissions",
                     dir.string() + " is accessible to group or others; run `chmod 700 " +
                         dir.string() + "` or choose another directory"});
    }
  }
}

// The listeners (address, port) of the configuration already installed in `data_dir`: while that
// CA's own signetd runs they are in use, and a reinstall that keeps them is no conflict.
std::vector<std::pair<std::string, std::int64_t>> installed_listeners(const fs::path& data_dir) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  std::error_code ec;
  const fs::path conf = data_dir / "signetd.toml";
  if (data_dir.empty() || !fs::is_regular_file(conf, ec)) return out;
  try {
    const toml::table t = toml::parse_file(conf.string());
    for (const char* section : {"https", "http"}) {
      const auto address = t[section]["address"].value<std::string>();
      const auto port = t[section]["port"].value_exact<std::int64_t>();
      if (address && port) out.emplace_back(*address, *port);
    }
  } catch (const toml::parse_error&) {
    // Not readable: nothing is taken as ours.
  }
  return out;
}

void check_port(std::vector<PlanProblem>& out, const std::string& field, const std::string& address,
                std::uint16_t port, const std::string& what,
                const std::vector<std::pair<std::string, std::int64_t>>& ours) {
  const bool installed = std::find(ours.begin(), ours.end(), std::make_pair(address, std::int64_t{port})) != ours.end();
  if (port == 0) {
    out.push_back({field, "invalid", what + " port must be between 1 and 65535"});
  } else if (!is_ip(address)) {
    out.push_back({field == "daemon.https_port" ? "daemon.https_address" : "daemon.http_address",
                   "invalid", "\"" + address + "\" is not an IP address to listen on"});
  } else if (!installed && port_in_use(address, port)) {
    out.push_back({field, "port-in-use",
                   what + " port " + std::to_string(port) + " on " + address +
                       " is already in use by another program; choose a free port or stop that "
                       "program"});
  }
}

// What signetd's validation resolver takes (server/daemon/acme_validation_resolver.cpp): "192.0.2.53",
// "192.0.2.53:8053", "2001:db8::53", "[2001:db8::53]:8053". A host name is refused there too (it
// would have to be resolved through some other resolver).
bool is_resolver(std::string_view text) {
  const auto port_ok = [](std::string_view digits) {
    int port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    return !digits.empty() && ec == std::errc() && end == digits.data() + digits.size() && port >= 1 && port <= 65535;
  };
  std::string_view host = text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !port_ok(rest.substr(1)))) return false;
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    if (!port_ok(text.substr(colon + 1))) return false;
  }
  return IpAddress::parse(host).has_value();
}

// [daemon.acme]: what signetd.toml's [acme] will say (signetd checks the same when it starts).
void check_acme(std::vector<PlanProblem>& out, const SetupPlan& plan) {
  const AcmeSettings& a = plan.daemon.acme;
  if (a.profile.empty()) {
    out.push_back({"daemon.acme.profile", "required",
                   "name the profile ACME orders are issued under, such as \"server-tls\""});
  } else if (a.enabled && (plan.mode != SetupMode::RestoreThenReinstall || !plan.configuration_from_backup)) {
    // A configuration setup writes from scratch has the built-in profiles only (a restore's comes
    // with the backup's own, which the engine checks once the backup is open).
    const auto profiles = issuance::default_profiles();
    if (!profiles.contains(a.profile)) {
      std::string known;
      for (const auto& [name, profile] : profiles) known += (known.empty() ? "" : ", ") + name;
      out.push_back({"daemon.acme.profile", "unknown-profile",
                     "there is no profile \"" + a.profile + "\" in the configuration setup writes (it has " + known +
                         "); use one of them, and define others in signetd.toml's [profiles] afterwards"});
    }
  }
  if (a.http01_port == 0) {
    out.push_back({"daemon.acme.http01_port", "invalid", "the http-01 validation port must be between 1 and 65535"});
  }
  if (a.tlsalpn01_port == 0) {
    out.push_back({"daemon.acme.tlsalpn01_port", "invalid",
                   "the tls-alpn-01 validation port must be between 1 and 65535"});
  }
  if (!a.resolver.empty() && !is_resolver(a.resolver)) {
    out.push_back({"daemon.acme.resolver", "invalid",
                   "\"" + a.resolver + "\" is not an IP address with an optional port, such as \"192.0.2.53\", "
                   "\"192.0.2.53:8053\" or \"[2001:db8::53]:8053\"; leave it empty to use the system's resolver"});
  }
  for (const std::string& n : a.allowed_networks) {
    try {
      (void)Cidr::parse(n);
    } catch (const Error& e) {
      out.push_back({"daemon.acme.allowed_networks", "invalid",
                     std::string(e.what()) + "; write networks such as \"10.0.0.0/8\" or \"2001:db8::/32\""});
    }
  }
  const std::string& tos = a.terms_of_service;
  if (!tos.empty() && (tos.size() > kMaxUrlLength || has_control_character(tos) ||
                       (tos.rfind("http://", 0) != 0 && tos.rfind("https://", 0) != 0) || tos.size() < 9 ||
                       tos.find_first_of(" \t\"<>") != std::string::npos)) {
    out.push_back({"daemon.acme.terms_of_service", tos.size() > kMaxUrlLength ? "too-long" : "invalid",
                   "the terms of service must be an http:// or https:// URL of at most " +
                       std::to_string(kMaxUrlLength) + " characters, such as \"https://ca.example.com/terms\", "
                       "or left out"});
  }
}

// toml++ accessors that name the key on a type mismatch.
template <typename T>
T get(const toml::table& t, std::string_view key, const T& fallback, const std::string& source,
      const std::string& prefix = "") {
  const toml::node* node = t.get(key);
  if (node == nullptr) return fallback;
  // value_exact: no conversion between floats and integers (toml++ would cast 4E20 to an integer
  // out of range, which is undefined behaviour), so `port = 4E20` is a wrong type.
  if (auto v = node->value_exact<T>()) return *v;
  throw Error(ErrorKind::Malformed, "answers-invalid",
              source + ": " + prefix + std::string(key) + " (line " +
                  std::to_string(node->source().begin.line) + ") has the wrong type");
}

void refuse_unknown(const toml::table& t, std::initializer_list<std::string_view> known,
                    const std::string& source, const std::string& prefix) {
  for (const auto& [k, v] : t) {
    if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
      throw Error(ErrorKind::Malformed, "answers-invalid",
                  source + ": unknown key " + prefix + std::string(k.str()) + " (line " +
                      std::to_string(v.source().begin.line) +
                      "); see the README, \"Answers file\", for the keys");
    }
  }
}

constexpr std::array<std::pair<PassphraseSource, std::string_view>, 3> kSources = {{
    {PassphraseSource::SystemdCredential, "systemd-credential"},
    {PassphraseSource::OperatorFile, "file"},
    {PassphraseSource::StoredFile, "store-file"},
}};

}  // namespace

namespace {

// A name table's name for `value` (the first entry's when absent), and the value for `name`.
template <class E, std::size_t N>
std::string_view name_in(const std::array<std::pair<E, std::string_view>, N>& table, E value) noexcept {
  for (const auto& [v, n] : table) {
    if (v == value) return n;
  }
  return table.front().second;
}

template <class E, std::size_t N>
std::optional<E> value_in(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name) noexcept {
  for (const auto& [v, n] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(PassphraseSource source) noexcept { return name_in(kSources, source); }
std::optional<PassphraseSource> parse_passphrase_source(std::string_view name) noexcept {
  return value_in(kSources, name);
}
std::string_view to_string(SetupMode mode) noexcept { return name_in(kModes, mode); }
std::optional<SetupMode> parse_mode(std::string_view name) noexcept { return value_in(kModes, name); }

bool port_in_use(const std::string& address, std::uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (auto* a4 = reinterpret_cast<sockaddr_in*>(&ss); inet_pton(AF_INET, address.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
             inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) == 1) {
    family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return false;
  }
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // SO_REUSEADDR, as signetd's acceptor sets it: a listener on the port makes the bind fail, as it
  // would make the daemon's; connections of a stopped server in TIME_WAIT do not (they did here,
  // and a restore onto the ports of a server just stopped was refused for a minute).
  const int on = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const bool in_use = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno == EADDRINUSE;
  ::close(fd);
  return in_use;
}

std::vector<PlanProblem> validate(const SetupPlan& plan) {
  std::vector<PlanProblem> out;
  check_data_dir(out, plan.data_dir);

  const bool new_key = plan.mode == SetupMode::NewKey ||
                       (plan.mode == SetupMode::Subordinate && !plan.subordinate_existing_key);
  try {
    keystore::KeyStore::validate_name(plan.key_name);
  } catch (const Error& e) {
    out.push_back({"key_name", "invalid", e.what()});
  }
  (void)new_key;

  if (plan.mode == SetupMode::RestoreThenReinstall) {
    std::error_code ec;
    if (plan.backup_file.empty()) {
      out.push_back({"backup_file", "required", "choose the backup file to restore"});
    } else if (!fs::is_regular_file(plan.backup_file, ec)) {
      out.push_back({"backup_file", "not-found", plan.backup_file.string() + " does not exist"});
    }
  }

  // The identity: a reused certificate brings its own, so it is only required otherwise.
  const bool needs_identity = plan.mode == SetupMode::NewKey || plan.mode == SetupMode::ExistingKey ||
                              plan.mode == SetupMode::Subordinate || plan.replace_ca_certificate;
  const CaIdentity& id = plan.identity;
  if (needs_identity && id.common_name.find_first_not_of(" \t") == std::string::npos) {
    out.push_back({"identity.common_name", "required",
                   "the CA needs a name (common name), for example \"Example Corp Root CA\""});
  }
  check_text(out, "identity.common_name", id.common_name, 64, "the common name");
  check_text(out, "identity.organization", id.organization, 64, "the organization");
  check_text(out, "identity.organizational_unit", id.organizational_unit, 64, "the organizational unit");
  check_text(out, "identity.state", id.state, 128, "the state or province");
  check_text(out, "identity.locality", id.locality, 128, "the locality");
  if (!id.country.empty() &&
      (id.country.size() != 2 || !std::isupper(static_cast<unsigned char>(id.country[0])) ||
       !std::isupper(static_cast<unsigned char>(id.country[1])))) {
    out.push_back({"identity.country", "invalid",
                   "the country must be a two-letter ISO 3166 code in capitals, such as \"DE\""});
  }
  if (plan.validity_days < 1 || plan.validity_days > 36525) {
    out.push_back({"validity_days", "invalid", "the CA certificate's validity must be 1 to 36525 days"});
  }
  if (plan.path_length && (*plan.path_length < 0 || *plan.path_length > 16)) {
    out.push_back({"path_length", "invalid", "the path length must be between 0 and 16, or unset"});
  }

  if (plan.passphrase_source == PassphraseSource::OperatorFile) {
    std::error_code ec;
    if (plan.passphrase_file.empty() || plan.passphrase_file.is_relative()) {
      out.push_back({"passphrase_file", "invalid",
                     "name the passphrase file signetd will read by its absolute path, such as "
                     "\"/etc/signet/passphrase\""});
    } else if (!fs::is_regular_file(plan.passphrase_file, ec)) {
      out.push_back({"passphrase_file", "not-found",
                     plan.passphrase_file.string() + " does not exist (or is not a regular file): create it "
                     "(mode 0600) with the store passphrase, or choose another way for signetd to get the "
                     "passphrase"});
    } else if (file::readable_by_others(plan.passphrase_file)) {
      out.push_back({"passphrase_file", "permissions",
                     plan.passphrase_file.string() + " can be read by group or others, and the passphrase in "
                     "it unlocks the CA key: give signetd a file of its own with `chmod 600` (never a "
                     "system file)"});
    }
  }

  // A subordinate plan is checked too: install_certificate() later writes the configuration and
  // the TLS certificate from these very settings, recorded with the pending request.
  {
    const DaemonSettings& d = plan.daemon;
    // In restore-then-reinstall a key the plan does not set comes from the backup: the engine
    // checks it once the backup is open.
    auto given = [&plan](std::string_view key) {
      return plan.mode != SetupMode::RestoreThenReinstall ||
             std::find(plan.daemon_keys_set.begin(), plan.daemon_keys_set.end(), key) != plan.daemon_keys_set.end();
    };
    const auto ours = installed_listeners(plan.data_dir);
    if (given("https_address") && given("https_port")) {
      check_port(out, "daemon.https_port", d.https_address, d.https_port, "the HTTPS", ours);
    }
    if (given("http_address") && given("http_port")) {
      check_port(out, "daemon.http_port", d.http_address, d.http_port, "the HTTP", ours);
    }
    if (given("https_port") && given("http_port") && d.https_port == d.http_port && d.https_port != 0 &&
        d.https_address == d.http_address) {
      out.push_back({"daemon.http_port", "conflict", "the HTTP and HTTPS listeners need different ports"});
    }
    if (!given("tls_names")) {
      // from the backup
    } else if (d.tls_names.size() > kMaxTlsNames) {
      out.push_back({"daemon.tls_names", "too-many",
                     std::to_string(d.tls_names.size()) + " names for the daemon's TLS certificate; at most " +
                         std::to_string(kMaxTlsNames) + " fit in a certificate that TLS clients accept"});
    } else if (d.tls_names.empty()) {
      out.push_back({"daemon.tls_names", "required",
                     "name at least one host name or IP address for the daemon's TLS certificate"});
    }
    for (const std::string& n : d.tls_names) {
      if (!is_ip(n) && !is_dns_name(n)) {
        out.push_back({"daemon.tls_names", "invalid", "\"" + n + "\" is neither a DNS name nor an IP address"});
      }
    }
    const std::string& url = d.public_base_url;
    const bool scheme = !given("public_base_url") || url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
    if (given("public_base_url") && (url.size() > kMaxUrlLength || has_control_character(url))) {
      out.push_back({"daemon.public_base_url", url.size() > kMaxUrlLength ? "too-long" : "invalid",
                     url.size() > kMaxUrlLength
                         ? "the public base URL is " + std::to_string(url.size()) + " characters; at most " +
                               std::to_string(kMaxUrlLength) + " (every certificate carries it three times)"
                         : std::string("the public base URL contains a control character; remove it")});
    } else if (!scheme || url.size() < 9 || url.find_first_of(" \t\"<>") != std::string::npos) {
      out.push_back({"daemon.public_base_url", "invalid",
                     "the public base URL must be an http:// or https:// URL, such as "
                     "\"http://ca.example.com\" (CRL and OCSP links are built from it)"});
    }
    if (given("acme")) check_acme(out, plan);
  }
  return out;
}

std::string to_answers(const SetupPlan& p) {
  toml::table identity{{"common_name", p.identity.common_name},
                       {"organization", p.identity.organization},
                       {"organizational_unit", p.identity.organizational_unit},
                       {"country", p.identity.country},
                       {"state", p.identity.state},
                       {"locality", p.identity.locality}};
  toml::array names;
  for (const auto& n : p.daemon.tls_names) names.push_back(n);
  const AcmeSettings& a = p.daemon.acme;
  toml::array networks;
  for (const auto& n : a.allowed_networks) networks.push_back(n);
  toml::table acme{{"enabled", a.enabled},
                   {"profile", a.profile},
                   {"http01_port", static_cast<std::int64_t>(a.http01_port)},
                   {"tlsalpn01_port", static_cast<std::int64_t>(a.tlsalpn01_port)},
                   {"resolver", a.resolver},
                   {"eab_required", a.eab_required},
                   {"allowed_networks", networks},
                   {"terms_of_service", a.terms_of_service}};
  toml::table daemon{{"https_address", p.daemon.https_address},
                     {"https_port", static_cast<std::int64_t>(p.daemon.https_port)},
                     {"http_address", p.daemon.http_address},
                     {"http_port", static_cast<std::int64_t>(p.daemon.http_port)},
                     {"tls_names", names},
                     {"public_base_url", p.daemon.public_base_url},
                     {"acme", acme}};
  toml::table root{{"mode", std::string(to_string(p.mode))},
                   {"data_dir", p.data_dir.string()},
                   {"key_name", p.key_name},
                   {"algorithm", std::string(crypto::to_string(p.algorithm))},
                   {"validity_days", p.validity_days},
                   {"backup_file", p.backup_file.string()},
                   {"subordinate_existing_key", p.subordinate_existing_key},
                   {"merge_clients", p.merge_clients},
                   {"replace_configuration", p.replace_configuration},
                   {"replace_ca_certificate", p.replace_ca_certificate},
                   {"replace_installation", p.replace_installation},
                   {"configuration_from_backup", p.configuration_from_backup},
                   {"passphrase_source", std::string(to_string(p.passphrase_source))},
                   {"identity", identity}};
  if (p.path_length) root.insert("path_length", static_cast<std::int64_t>(*p.path_length));
  if (p.passphrase_source == PassphraseSource::OperatorFile) root.insert("passphrase_file", p.passphrase_file.string());
  // Only the keys that were set: in restore-then-reinstall the others come from the backup.
  toml::table given;
  for (const auto& [k, v] : daemon) {
    if (std::find(p.daemon_keys_set.begin(), p.daemon_keys_set.end(), k.str()) != p.daemon_keys_set.end()) {
      given.insert(k.str(), v);
    }
  }
  root.insert("daemon", given);
  std::ostringstream out;
  out << "# Signet setup answers (signet setup --answers FILE). Passphrases are never stored here.\n"
      << root << "\n";
  return out.str();
}

SetupPlan parse_answers(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::Malformed, "answers-invalid",
                source + ": line " + std::to_string(e.source().begin.line) + ": " +
                    std::string(e.description()));
  }
  refuse_unknown(root,
                 {"mode", "data_dir", "key_name", "algorithm", "validity_days", "path_length",
                  "backup_file", "subordinate_existing_key", "merge_clients", "replace_configuration",
                  "replace_ca_certificate", "replace_installation", "configuration_from_backup",
                  "passphrase_source", "passphrase_file", "identity", "daemon"},
                 source, "");
  SetupPlan p;
  const std::string mode = get<std::string>(root, "mode", std::string(to_string(p.mode)), source);
  const auto parsed_mode = parse_mode(mode);
  if (!parsed_mode) {
    throw Error(ErrorKind::Malformed, "answers-invalid",
                source + ": mode \"" + mode +
                    "\" is not one of new-key, existing-key, existing-key-and-certificate, "
                    "restore-then-reinstall, subordinate");
  }
  p.mode = *parsed_mode;
  // Absent: the caller decides (the CLI uses --data-dir); validate() refuses an empty one.
  p.data_dir = get<std::string>(root, "data_dir", "", source);
  p.key_name = get<std::string>(root, "key_name", p.key_name, source);
  const std::string alg = get<std::string>(root, "algorithm", std::string(crypto::to_string(p.algorithm)), source);
  const auto parsed_alg = crypto::parse_algorithm(alg);
  if (!parsed_alg) {
    throw Error(ErrorKind::Malformed, "answers-invalid",
                source + ": algorithm \"" + alg + "\" is not one of " + crypto::algorithm_list());
  }
  p.algorithm = *parsed_alg;
  p.validity_days = get<std::int64_t>(root, "validity_days", p.validity_days, source);
  if (root.contains("path_length")) {
    p.path_length = static_cast<int>(get<std::int64_t>(root, "path_length", 0, source));
  }
  p.backup_file = get<std::string>(root, "backup_file", "", source);
  p.subordinate_existing_key = get<bool>(root, "subordinate_existing_key", false, source);
  p.merge_clients = get<bool>(root, "merge_clients", false, source);
  p.replace_configuration = get<bool>(root, "replace_configuration", false, source);
  p.replace_ca_certificate = get<bool>(root, "replace_ca_certificate", false, source);
  p.replace_installation = get<bool>(root, "replace_installation", false, source);
  p.configuration_from_backup = get<bool>(root, "configuration_from_backup", true, source);
  const std::string pass_source =
      get<std::string>(root, "passphrase_source", std::string(to_string(p.passphrase_source)), source);
  const auto parsed_source = parse_passphrase_source(pass_source);
  if (!parsed_source) {
    throw Error(ErrorKind::Malformed, "answers-invalid",
                source + ": passphrase_source \"" + pass_source +
                    "\" is not one of systemd-credential, file, store-file");
  }
  p.passphrase_source = *parsed_source;
  p.passphrase_file = get<std::string>(root, "passphrase_file", "", source);
  if (!p.passphrase_file.empty() && !root.contains("passphrase_source")) {
    p.passphrase_source = PassphraseSource::OperatorFile;  // naming a file says how
  }
  if (!p.passphrase_file.empty() && p.passphrase_source != PassphraseSource::OperatorFile) {
    throw Error(ErrorKind::Malformed, "answers-invalid",
                source + ": passphrase_file is set, but passphrase_source is \"" + pass_source +
                    "\"; use passphrase_source = \"file\" with it, or remove it");
  }
  p.daemon_keys_set.clear();
  if (const toml::table* id = root["identity"].as_table()) {
    refuse_unknown(*id, {"common_name", "organization", "organizational_unit", "country", "state", "locality"},
                   source, "identity.");
    p.identity.common_name = get<std::string>(*id, "common_name", "", source, "identity.");
    p.identity.organization = get<std::string>(*id, "organization", "", source, "identity.");
    p.identity.organizational_unit = get<std::string>(*id, "organizational_unit", "", source, "identity.");
    p.identity.country = get<std::string>(*id, "country", "", source, "identity.");
    p.identity.state = get<std::string>(*id, "state", "", source, "identity.");
    p.identity.locality = get<std::string>(*id, "locality", "", source, "identity.");
  }
  if (const toml::table* d = root["daemon"].as_table()) {
    refuse_unknown(*d,
                   {"https_address", "https_port", "http_address", "http_port", "tls_names", "public_base_url", "acme"},
                   source, "daemon.");
    for (std::string_view key : kDaemonKeys) {
      if (d->contains(key)) p.daemon_keys_set.emplace_back(key);
    }
    auto port_in = [&](const toml::table& t, const std::string& prefix, std::string_view key, std::uint16_t fallback) {
      const std::int64_t v = get<std::int64_t>(t, key, fallback, source, prefix);
      if (v < 1 || v > 65535) {
        throw Error(ErrorKind::Malformed, "answers-invalid",
                    source + ": " + prefix + std::string(key) + " must be a port between 1 and 65535");
      }
      return static_cast<std::uint16_t>(v);
    };
    auto port = [&](std::string_view key, std::uint16_t fallback) { return port_in(*d, "daemon.", key, fallback); };
    p.daemon.https_address = get<std::string>(*d, "https_address", p.daemon.https_address, source, "daemon.");
    p.daemon.https_port = port("https_port", p.daemon.https_port);
    p.daemon.http_address = get<std::string>(*d, "http_address", p.daemon.http_address, source, "daemon.");
    p.daemon.http_port = port("http_port", p.daemon.http_port);
    p.daemon.public_base_url = get<std::string>(*d, "public_base_url", p.daemon.public_base_url, source, "daemon.");
    if (const toml::node* n = d->get("tls_names")) {
      const toml::array* arr = n->as_array();
      if (arr == nullptr) {
        throw Error(ErrorKind::Malformed, "answers-invalid", source + ": daemon.tls_names must be a list of strings");
      }
      p.daemon.tls_names.clear();
      for (const auto& e : *arr) {
        const auto s = e.value<std::string>();
        if (!s) {
          throw Error(ErrorKind::Malformed, "answers-invalid", source + ": daemon.tls_names must be a list of strings");
        }
        p.daemon.tls_names.push_back(*s);
      }
    }
    if (const toml::node* n = d->get("acme")) {
      // The table as a whole: in restore-then-reinstall it replaces the backup's ACME settings,
      // and a key left out takes its default.
      const toml::table* a = n->as_table();
      if (a == nullptr) {
        throw Error(ErrorKind::Malformed, "answers-invalid",
                    source + ": daemon.acme (line " + std::to_string(n->source().begin.line) +
                        ") must be a table: write its keys under a [daemon.acme] line");
      }
      const std::string prefix = "daemon.acme.";
      refuse_unknown(*a,
                     {"enabled", "profile", "http01_port", "tlsalpn01_port", "resolver", "eab_required",
                      "allowed_networks", "terms_of_service"},
                     source, prefix);
      AcmeSettings& acme = p.daemon.acme;
      acme.enabled = get<bool>(*a, "enabled", acme.enabled, source, prefix);
      acme.profile = get<std::string>(*a, "profile", acme.profile, source, prefix);
      acme.http01_port = port_in(*a, prefix, "http01_port", acme.http01_port);
      acme.tlsalpn01_port = port_in(*a, prefix, "tlsalpn01_port", acme.tlsalpn01_port);
      acme.resolver = get<std::string>(*a, "resolver", acme.resolver, source, prefix);
      acme.eab_required = get<bool>(*a, "eab_required", acme.eab_required, source, prefix);
      acme.terms_of_service = get<std::string>(*a, "terms_of_service", acme.terms_of_service, source, prefix);
      if (const toml::node* list = a->get("allowed_networks")) {
        const toml::array* arr = list->as_array();
        const auto bad = [&] {
          return Error(ErrorKind::Malformed, "answers-invalid",
                       source + ": daemon.acme.allowed_networks (line " + std::to_string(list->source().begin.line) +
                           ") must be a list of networks such as [\"10.0.0.0/8\", \"2001:db8::/32\"]");
        };
        if (arr == nullptr) throw bad();
        for (const auto& e : *arr) {
          const auto s = e.value<std::string>();
          if (!s) throw bad();
          acme.allowed_networks.push_back(*s);
        }
      }
    }
  }
  return p;
}

}  // namespace signet::setup
