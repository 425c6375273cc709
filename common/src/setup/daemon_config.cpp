#include "signet/setup/daemon_config.h"

#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

#include <toml++/toml.h>

#include "signet/core/error.h"
#include "signet/core/file.h"

namespace signet::daemon {
namespace {

namespace fs = std::filesystem;

struct Section {
  std::string_view name;
  std::initializer_list<std::string_view> keys;
};

// Every section and key signetd.toml may have (README, "Configuration").
const Section kSections[] = {
    {"store", {"data_dir", "ca_key", "passphrase_file"}},
    {"https", {"address", "port", "certificate", "key"}},
    {"http", {"address", "port"}},
    {"public", {"base_url"}},
    {"server", {"threads", "max_body_bytes", "header_timeout", "request_timeout", "idle_timeout", "max_connections",
                "max_connections_per_address"}},
    {"crl", {"validity", "refresh_before", "debounce", "delta", "delta_validity"}},
    {"ocsp", {"validity", "refresh_before", "cache_entries", "cache_mib", "signatures_per_second", "nonces",
              "nonce_signatures_per_second"}},
    {"acme", {"enabled", "profile", "http01_port", "tlsalpn01_port", "resolver", "eab_required", "allowed_networks",
              "terms_of_service", "website", "validation_timeout", "orders_per_account_per_hour",
              "pending_authorizations_per_account", "new_accounts_per_address_per_hour"}},
    {"database", {"url", "password_file", "pool_size", "statement_timeout", "connect_timeout"}},
    {"log", {"level"}},
    {"profiles", {}},  // checked by issuance::parse_profiles
};

std::string join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto i : items) out += (out.empty() ? "" : ", ") + std::string(i);
  return out;
}

std::string_view type_of(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date or time";
    default: return "nothing";
  }
}

// Reads one file; every error names the file, the line and the key.
class Reader {
 public:
  explicit Reader(fs::path file) : file_(std::move(file)), base_(fs::absolute(file_).parent_path()) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& message) const {
    std::string at = file_.string();
    if (where.begin.line != 0) at += ":" + std::to_string(where.begin.line);
    throw Error(ErrorKind::Malformed, "config-invalid", at + ": " + message);
  }

  void check_known(const toml::table& root) const {
    for (const auto& [key, node] : root) {
      const Section* section = nullptr;
      for (const Section& s : kSections) {
        if (s.name == key.str()) section = &s;
      }
      if (section == nullptr) {
        std::string names;
        for (const Section& s : kSections) names += (names.empty() ? "" : ", ") + std::string(s.name);
        fail(key.source(), "unknown section [" + std::string(key.str()) + "]; the sections are " + names);
      }
      const toml::table* table = node.as_table();
      if (table == nullptr) {
        fail(node.source(), std::string(key.str()) + ": expected a table ([" + std::string(key.str()) + "]), got " +
                                std::string(type_of(node)));
      }
      if (section->name == "profiles") continue;
      for (const auto& [k, v] : *table) {
        bool known = false;
        for (auto allowed : section->keys) known = known || allowed == k.str();
        if (!known) {
          fail(k.source(), "unknown key \"" + std::string(section->name) + "." + std::string(k.str()) + "\"; [" +
                               std::string(section->name) + "] has " + join(section->keys));
        }
      }
    }
  }

  const toml::node* find(const toml::table& root, std::string_view section, std::string_view key) const {
    const toml::table* t = root[section].as_table();
    return t == nullptr ? nullptr : t->get(key);
  }

  std::optional<std::string> string(const toml::table& root, std::string_view section, std::string_view key) const {
    const toml::node* n = find(root, section, key);
    if (n == nullptr) return std::nullopt;
    const auto v = n->value_exact<std::string>();
    if (!v) fail(n->source(), name(section, key) + ": expected a string, got " + std::string(type_of(*n)));
    if (v->empty()) fail(n->source(), name(section, key) + ": must not be empty");
    return v;
  }

  std::string required_string(const toml::table& root, std::string_view section, std::string_view key) const {
    auto v = string(root, section, key);
    if (!v) {
      fail(toml::source_region{}, "missing " + name(section, key) + " (add `" + std::string(key) + " = ...` to [" +
                                      std::string(section) + "])");
    }
    return *v;
  }

  std::optional<fs::path> path(const toml::table& root, std::string_view section, std::string_view key) const {
    auto v = string(root, section, key);
    if (!v) return std::nullopt;
    return resolve(*v);
  }

  fs::path resolve(const fs::path& p) const { return p.is_absolute() ? p : (base_ / p).lexically_normal(); }

  template <class T>
  void integer(const toml::table& root, std::string_view section, std::string_view key, T& out, std::int64_t min,
               std::int64_t max) const {
    const toml::node* n = find(root, section, key);
    if (n == nullptr) return;
    const auto v = n->value_exact<std::int64_t>();
    if (!v) fail(n->source(), name(section, key) + ": expected an integer, got " + std::string(type_of(*n)));
    if (*v < min || *v > max) {
      fail(n->source(), name(section, key) + ": must be from " + std::to_string(min) + " to " + std::to_string(max));
    }
    out = static_cast<T>(*v);
  }

  void boolean(const toml::table& root, std::string_view section, std::string_view key, bool& out) const {
    const toml::node* n = find(root, section, key);
    if (n == nullptr) return;
    const auto v = n->value_exact<bool>();
    if (!v) fail(n->source(), name(section, key) + ": expected true or false, got " + std::string(type_of(*n)));
    out = *v;
  }

  // "90d", "12h", "30m", "45s" or an integer number of seconds.
  void duration(const toml::table& root, std::string_view section, std::string_view key, std::chrono::seconds& out,
                std::chrono::seconds min, std::chrono::seconds max) const {
    const toml::node* n = find(root, section, key);
    if (n == nullptr) return;
    const std::string expected = ": expected a duration such as \"90d\", \"12h\", \"30m\" or \"45s\"";
    std::chrono::seconds v{};
    if (auto i = n->value_exact<std::int64_t>()) {
      v = std::chrono::seconds(*i);
    } else if (auto s = n->value_exact<std::string>()) {
      try {
        // parse_duration() refuses zero, which some settings (crl.debounce) allow.
        const bool zero = s->size() >= 2 && s->find_first_not_of('0') == s->size() - 1 &&
                          std::string_view("dhms").find(s->back()) != std::string_view::npos;
        v = zero || *s == "0" ? std::chrono::seconds(0) : issuance::parse_duration(*s);
      } catch (const Error&) {
        fail(n->source(), name(section, key) + expected + ", got \"" + *s + "\"");
      }
    } else {
      fail(n->source(), name(section, key) + expected + ", got " + std::string(type_of(*n)));
    }
    if (v < min || v > max) {
      fail(n->source(), name(section, key) + ": must be from " + std::to_string(min.count()) + "s to " +
                            std::to_string(max.count()) + "s");
    }
    out = v;
  }

  const toml::source_region& where(const toml::table& root, std::string_view section, std::string_view key) const {
    static const toml::source_region none{};
    const toml::node* n = find(root, section, key);
    return n == nullptr ? none : n->source();
  }

  const fs::path& file() const { return file_; }

 private:
  static std::string name(std::string_view section, std::string_view key) {
    return std::string(section) + "." + std::string(key);
  }

  fs::path file_;
  fs::path base_;
};

}  // namespace

Config load_config(const fs::path& path) {
  if (const std::string why = file::absence_reason(path); !why.empty()) {
    throw Error(ErrorKind::NotFound, "config-missing",
                "configuration file " + path.string() + " " + why + "; `signet setup` writes one, or pass --config FILE");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    throw Error(ErrorKind::Storage, "config-unreadable", "cannot read configuration file " + path.string() +
                                                             " (check its permissions)");
  }
  return parse_config(text.str(), path);
}

namespace {

// An http(s) URL for the directory's meta, as clients show it to people.
void url(const Reader& r, const toml::table& root, std::string_view key, std::string& out) {
  auto u = r.string(root, "acme", key);
  if (!u) return;
  if (!u->empty() && u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0) {
    r.fail(r.where(root, "acme", key), "acme." + std::string(key) + ": must be an http:// or https:// URL, or \"\"");
  }
  out = *u;
}

void read_acme(const Reader& r, const toml::table& root, Config& c) {
  r.boolean(root, "acme", "enabled", c.acme_enabled);
  if (auto p = r.string(root, "acme", "profile")) c.acme_profile = *p;
  r.integer(root, "acme", "http01_port", c.acme_http01_port, 1, 65535);
  r.integer(root, "acme", "tlsalpn01_port", c.acme_tlsalpn01_port, 1, 65535);
  if (auto v = r.string(root, "acme", "resolver")) c.acme_resolver = *v;
  r.boolean(root, "acme", "eab_required", c.acme_eab_required);
  if (const toml::node* n = r.find(root, "acme", "allowed_networks")) {
    const toml::array* list = n->as_array();
    if (list == nullptr) {
      r.fail(n->source(), "acme.allowed_networks: expected an array of networks such as [\"10.0.0.0/8\"], got " +
                              std::string(type_of(*n)));
    }
    for (const toml::node& item : *list) {
      const auto text = item.value<std::string>();
      if (!text) r.fail(item.source(), "acme.allowed_networks: every entry is a string such as \"10.0.0.0/8\"");
      try {
        c.acme_allowed_networks.push_back(Cidr::parse(*text));
      } catch (const Error& e) {
        r.fail(item.source(), std::string("acme.allowed_networks: ") + e.what());
      }
    }
  }
  url(r, root, "terms_of_service", c.acme_terms_of_service);
  url(r, root, "website", c.acme_website);
  r.duration(root, "acme", "validation_timeout", c.acme_validation_timeout, std::chrono::seconds(1),
             std::chrono::minutes(5));
  r.integer(root, "acme", "orders_per_account_per_hour", c.acme_orders_per_account_per_hour, 1, 100000000);
  r.integer(root, "acme", "pending_authorizations_per_account", c.acme_pending_authorizations_per_account, 1,
            100000000);
  r.integer(root, "acme", "new_accounts_per_address_per_hour", c.acme_new_accounts_per_address_per_hour, 1, 100000000);
}

}  // namespace

Config parse_config(std::string_view text, const fs::path& path) {
  const Reader r(path);
  toml::table root;
  try {
    root = toml::parse(text, path.string());
  } catch (const toml::parse_error& e) {
    r.fail(e.source(), std::string(e.description()));
  }
  r.check_known(root);

  Config c;
  c.source = path;
  using std::chrono::seconds;
  constexpr seconds kYear = std::chrono::hours(24 * 366);

  c.data_dir = r.resolve(r.required_string(root, "store", "data_dir"));
  c.ca_key = r.required_string(root, "store", "ca_key");
  if (auto p = r.path(root, "store", "passphrase_file")) c.passphrase_file = *p;

  if (auto a = r.string(root, "https", "address")) c.https_address = *a;
  r.integer(root, "https", "port", c.https_port, 0, 65535);
  c.tls_certificate = r.resolve(r.required_string(root, "https", "certificate"));
  c.tls_key = r.resolve(r.required_string(root, "https", "key"));

  if (auto a = r.string(root, "http", "address")) c.http_address = *a;
  r.integer(root, "http", "port", c.http_port, 0, 65535);

  c.base_url = "http://" + (c.http_address.find(':') != std::string::npos ? "[" + c.http_address + "]" : c.http_address) +
               ":" + std::to_string(c.http_port);
  if (auto u = r.string(root, "public", "base_url")) {
    if (u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0) {
      r.fail(r.where(root, "public", "base_url"),
             "public.base_url: must be an http:// or https:// URL, such as \"http://ca.example.com\"");
    }
    while (!u->empty() && u->back() == '/') u->pop_back();
    c.base_url = *u;
  }

  r.integer(root, "server", "threads", c.threads, 0, 256);
  r.integer(root, "server", "max_body_bytes", c.max_body_bytes, 1024, 64 * 1024 * 1024);
  r.duration(root, "server", "header_timeout", c.header_timeout, seconds(1), std::chrono::hours(1));
  r.duration(root, "server", "request_timeout", c.request_timeout, seconds(1), std::chrono::hours(1));
  r.duration(root, "server", "idle_timeout", c.idle_timeout, seconds(1), std::chrono::hours(24));
  r.integer(root, "server", "max_connections", c.max_connections, 1, 1000000);
  r.integer(root, "server", "max_connections_per_address", c.max_connections_per_address, 1, 1000000);

  r.duration(root, "crl", "validity", c.crl_validity, std::chrono::hours(1), kYear);
  r.duration(root, "crl", "refresh_before", c.crl_refresh_before, seconds(60), kYear);
  r.duration(root, "crl", "debounce", c.crl_debounce, seconds(0), std::chrono::hours(1));
  r.boolean(root, "crl", "delta", c.delta_crl);
  r.duration(root, "crl", "delta_validity", c.delta_crl_validity, std::chrono::minutes(10), kYear);
  if (c.crl_refresh_before >= c.crl_validity) {
    r.fail(r.where(root, "crl", "refresh_before"), "crl.refresh_before must be shorter than crl.validity");
  }

  r.duration(root, "ocsp", "validity", c.ocsp_validity, std::chrono::minutes(10), kYear);
  r.duration(root, "ocsp", "refresh_before", c.ocsp_refresh_before, seconds(60), kYear);
  r.integer(root, "ocsp", "cache_entries", c.ocsp_cache_entries, 0, 100000000);
  r.integer(root, "ocsp", "cache_mib", c.ocsp_cache_mib, 1, 1024 * 1024);
  r.integer(root, "ocsp", "signatures_per_second", c.ocsp_signatures_per_second, 1, 1000000);
  if (c.ocsp_refresh_before >= c.ocsp_validity) {
    r.fail(r.where(root, "ocsp", "refresh_before"), "ocsp.refresh_before must be shorter than ocsp.validity");
  }
  if (auto n = r.string(root, "ocsp", "nonces")) {
    if (*n != "honour" && *n != "ignore") {
      r.fail(r.where(root, "ocsp", "nonces"),
             "ocsp.nonces: \"" + *n + "\" is not one of honour (sign a fresh response that echoes the request's "
             "nonce), ignore (answer from the cache without the nonce)");
    }
    c.ocsp_nonces = *n == "honour" ? Config::Nonces::Honour : Config::Nonces::Ignore;
  }
  r.integer(root, "ocsp", "nonce_signatures_per_second", c.ocsp_nonce_signatures_per_second, 1, 1000000);

  read_acme(r, root, c);

  if (auto u = r.string(root, "database", "url")) {
    if (!u->empty()) {
      try {
        db::pg::check_url(*u);
      } catch (const Error& e) {
        r.fail(r.where(root, "database", "url"), std::string("database.url: ") + e.what());
      }
    }
    c.database_url = *u;
  }
  if (auto p = r.path(root, "database", "password_file")) c.database_password_file = *p;
  r.integer(root, "database", "pool_size", c.database_pool_size, 1, 256);
  {
    std::chrono::seconds timeout = std::chrono::duration_cast<std::chrono::seconds>(c.database_statement_timeout);
    r.duration(root, "database", "statement_timeout", timeout, std::chrono::seconds(1), std::chrono::minutes(10));
    c.database_statement_timeout = timeout;
  }
  r.duration(root, "database", "connect_timeout", c.database_connect_timeout, std::chrono::seconds(1),
             std::chrono::minutes(5));
  if (c.database_url.empty() && r.find(root, "database", "password_file") != nullptr) {
    r.fail(r.where(root, "database", "password_file"),
           "database.password_file is set but database.url is not: set the url of the PostgreSQL database too, or "
           "remove [database] to keep the ledger in the key store");
  }
  if (c.acme_enabled && c.acme_eab_required && !c.database_url.empty()) {
    r.fail(r.where(root, "acme", "eab_required"),
           "acme.eab_required: external account binding keys cannot be added to a PostgreSQL ledger "
           "(database.url), because each node's key store seals them under its own data key; set "
           "acme.eab_required = false on the nodes, or keep the CA on one node with its SQLite ledger");
  }

  if (auto l = r.string(root, "log", "level")) {
    if (*l != "debug" && *l != "info" && *l != "warn" && *l != "error") {
      r.fail(r.where(root, "log", "level"), "log.level: \"" + *l + "\" is not one of debug, info, warn, error");
    }
    c.log_level = *l;
  }

  try {
    c.profiles = issuance::parse_profiles(root["profiles"].as_table());
  } catch (const Error& e) {
    throw Error(e.kind(), e.code(), path.string() + ": " + e.what(), e.native_code());
  }
  if (c.acme_enabled && !c.profiles.contains(c.acme_profile)) {
    std::string known;
    for (const auto& [name, p] : c.profiles) known += (known.empty() ? "" : ", ") + name;
    r.fail(r.where(root, "acme", "profile"),
           "acme.profile: there is no profile \"" + c.acme_profile + "\"; this configuration has " + known);
  }
  return c;
}

std::vector<std::string> config_sections() {
  std::vector<std::string> out;
  for (const Section& s : kSections) out.emplace_back(s.name);
  return out;
}

std::vector<std::string> config_keys() {
  std::vector<std::string> out;
  for (const Section& s : kSections) {
    for (std::string_view key : s.keys) out.push_back(std::string(s.name) + "." + std::string(key));
  }
  return out;
}

fs::path database_password_path(const Config& config) {
  if (!config.database_password_file.empty()) return config.database_password_file;
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir != nullptr && *dir != '\0') {
    std::error_code ec;
    if (fs::exists(fs::path(dir) / "database-password", ec)) return fs::path(dir) / "database-password";
  }
  return {};
}

db::pg::Settings database_settings(const Config& config) {
  db::pg::Settings s;
  s.url = config.database_url;
  s.pool_size = config.database_pool_size;
  s.statement_timeout = config.database_statement_timeout;
  s.connect_timeout = config.database_connect_timeout;
  const fs::path file = database_password_path(config);
  if (file.empty()) return s;
  if (const std::string why = file::absence_reason(file); !why.empty()) {
    throw Error(ErrorKind::NotFound, "database-password-missing",
                "the database password file " + file.string() + " (database.password_file in " +
                    config.source.string() + ") " + why);
  }
  s.password = file::read_passphrase(file, "database password");
  return s;
}

fs::path passphrase_path(const Config& config) {
  std::error_code ec;
  // The operator's store.passphrase_file wins: it is the one choice written in the configuration.
  // (The shipped unit loads a credential whatever the configuration says, so the credential
  // winning would silently override the file the operator chose.) A configured file that is
  // missing is an error, not a reason to fall back on the credential.
  if (!config.passphrase_file.empty()) {
    const std::string why = file::absence_reason(config.passphrase_file);
    if (why.empty()) return config.passphrase_file;
    throw Error(ErrorKind::NotFound, "passphrase-file-missing",
                "the passphrase file " + config.passphrase_file.string() + " (store.passphrase_file in " +
                    config.source.string() + ") " + why);
  }
  // Else systemd's LoadCredential=passphrase:FILE.
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir != nullptr && *dir != '\0') {
    const fs::path p = fs::path(dir) / "passphrase";
    if (fs::exists(p, ec)) return p;
  }
  throw Error(ErrorKind::NotFound, "passphrase-file-missing",
              "no passphrase file: set store.passphrase_file in " + config.source.string() +
                  ", or run under systemd with LoadCredential=passphrase:/path/to/file");
}

}  // namespace signet::daemon
