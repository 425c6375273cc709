#include "signet/setup/engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <toml++/toml.h>

#include "signet/backup/backup.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/core/time_format.h"
#include "signet/crypto/primitives.h"
#include "signet/db/sqlite.h"
#include "signet/keystore/store.h"
#include "signet/setup/check.h"
#include "signet/setup/daemon_config.h"
#include "signet/setup/inspect.h"

namespace signet::setup {

namespace fs = std::filesystem;
using keystore::KeyStore;

namespace {

constexpr std::string_view kInstalled = "installed";
constexpr std::string_view kPending = "pending-certificate";

std::string format_utc_date(TimePoint t) { return format_utc(t, "%Y-%m-%d"); }

void report(const Progress& progress, int percent, const std::string& step) {
  if (progress) progress(percent, step);
}

crypto::NameEntries name_entries(const CaIdentity& id) {
  crypto::NameEntries out;
  auto add = [&out](const char* attr, const std::string& v) {
    if (!v.empty()) out.emplace_back(attr, v);
  };
  add("C", id.country);
  add("ST", id.state);
  add("L", id.locality);
  add("O", id.organization);
  add("OU", id.organizational_unit);
  add("CN", id.common_name);
  return out;
}

// The subject a certificate made from this identity would carry, in the same form as
// Certificate::subject(), for comparing with an attached certificate.
std::string subject_of(const CaIdentity& id, const EVP_PKEY* key) {
  crypto::SelfSignedSpec spec;
  spec.subject = name_entries(id);
  spec.validity = std::chrono::hours(1);
  return crypto::make_self_signed(key, spec).subject();
}

crypto::Certificate make_ca_certificate(const EVP_PKEY* key, const SetupPlan& plan) {
  crypto::SelfSignedSpec spec;
  spec.common_name = plan.identity.common_name;
  spec.subject = name_entries(plan.identity);
  spec.not_before = std::chrono::system_clock::now() - std::chrono::minutes(5);  // clock skew
  spec.validity = std::chrono::hours(24) * plan.validity_days;
  spec.path_length = plan.path_length;
  spec.ca = true;
  spec.key_cert_sign = true;
  return crypto::make_self_signed(key, spec);
}

std::string problems_text(const std::vector<PlanProblem>& problems) {
  std::string out;
  for (const auto& p : problems) out += "\n  " + p.field + ": " + p.message;
  return out;
}


// The same test as validate()'s: an address inet_pton accepts. ("1.2.3" and "123" are DNS names
// to validate(); calling them IP addresses here made issuing the TLS certificate fail after the
// store had been written.)
bool is_ip(const std::string& s) {
  in_addr a4{};
  in6_addr a6{};
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

// Where signetd will read the passphrase from, as store.passphrase_file; empty: the systemd
// credential ($CREDENTIALS_DIRECTORY/passphrase), so no key at all.
fs::path passphrase_file_of(const SetupPlan& plan) {
  switch (plan.passphrase_source) {
    case PassphraseSource::OperatorFile: return plan.passphrase_file;
    case PassphraseSource::StoredFile: return plan.data_dir / "passphrase";
    case PassphraseSource::SystemdCredential: return {};
  }
  return {};
}

toml::table& section(toml::table& root, std::string_view name) {
  if (!root[name].is_table()) root.insert_or_assign(name, toml::table{});
  return *root[name].as_table();
}

// [acme] as the plan says: the keys setup knows are set over the base's section (whose other keys,
// such as rate limits, are kept); disabled, a base's section says enabled = false and a new
// configuration gets none.
void write_acme(toml::table& root, const AcmeSettings& a) {
  if (!a.enabled) {
    if (toml::table* existing = root["acme"].as_table()) existing->insert_or_assign("enabled", false);
    return;
  }
  toml::table& acme = section(root, "acme");
  acme.insert_or_assign("enabled", true);
  acme.insert_or_assign("profile", a.profile);
  acme.insert_or_assign("http01_port", static_cast<std::int64_t>(a.http01_port));
  acme.insert_or_assign("tlsalpn01_port", static_cast<std::int64_t>(a.tlsalpn01_port));
  // signetd refuses an empty string: "" (the system's resolver, no terms) is the key left out.
  if (a.resolver.empty()) {
    acme.erase("resolver");
  } else {
    acme.insert_or_assign("resolver", a.resolver);
  }
  acme.insert_or_assign("eab_required", a.eab_required);
  if (a.allowed_networks.empty()) {
    acme.erase("allowed_networks");
  } else {
    toml::array networks;
    for (const std::string& n : a.allowed_networks) networks.push_back(n);
    acme.insert_or_assign("allowed_networks", networks);
  }
  if (a.terms_of_service.empty()) {
    acme.erase("terms_of_service");
  } else {
    acme.insert_or_assign("terms_of_service", a.terms_of_service);
  }
}

// The configuration for this installation: `base` (the backup's signetd.toml, whose every other
// section and key is kept) or nothing, with this machine's paths, the CA key, the passphrase
// source and the daemon settings set over it.
std::string configuration_text(const SetupPlan& plan, const std::string& ca_key, const InstallationFiles& f,
                               const std::optional<toml::table>& base) {
  toml::table root = base.value_or(toml::table{});
  toml::table& store = section(root, "store");
  store.insert_or_assign("data_dir", plan.data_dir.string());
  store.insert_or_assign("ca_key", ca_key);
  if (const fs::path pf = passphrase_file_of(plan); pf.empty()) {
    store.erase("passphrase_file");
  } else {
    store.insert_or_assign("passphrase_file", pf.string());
  }
  toml::table& https = section(root, "https");
  https.insert_or_assign("address", plan.daemon.https_address);
  https.insert_or_assign("port", static_cast<std::int64_t>(plan.daemon.https_port));
  https.insert_or_assign("certificate", f.tls_certificate.string());
  https.insert_or_assign("key", f.tls_key.string());
  toml::table& http = section(root, "http");
  http.insert_or_assign("address", plan.daemon.http_address);
  http.insert_or_assign("port", static_cast<std::int64_t>(plan.daemon.http_port));
  section(root, "public").insert_or_assign("base_url", plan.daemon.public_base_url);
  write_acme(root, plan.daemon.acme);
  std::ostringstream out;
  out << "# signetd configuration, written by signet setup. Each key is documented in the README.\n";
  if (plan.passphrase_source == PassphraseSource::SystemdCredential) {
    out << "# No store.passphrase_file: signetd reads $CREDENTIALS_DIRECTORY/passphrase (systemd's\n"
        << "# LoadCredential=passphrase:/etc/signet/passphrase in signetd.service).\n";
  }
  out << root << "\n";
  const std::string text = out.str();
  // The same checks signetd makes: a configuration setup writes always loads.
  (void)daemon::parse_config(text, f.configuration);
  return text;
}

// A copy of `path` beside it (NAME.replaced-YYYYmmddTHHMMSSZ, 0600) before it is replaced by
// `replacement`; nothing when it is missing or already holds exactly that.
void keep_beside(const fs::path& path, const std::string& replacement, const std::string& stamp,
                 std::vector<std::string>& actions) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return;
  const Bytes old = file::read(path, 64u << 20);
  if (std::string_view(reinterpret_cast<const char*>(old.data()), old.size()) == replacement) return;
  const fs::path kept = path.string() + ".replaced-" + stamp;
  file::write_atomic(kept, old, 0600, true);
  actions.push_back("Kept the replaced " + path.filename().string() + " as " + kept.string());
}

std::string pem_of(const crypto::Certificate& c) { return crypto::to_pem(c); }

std::string private_key_pem(const EVP_PKEY* key) {
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw_openssl(ErrorKind::Crypto, "encode-failed", "encoding the TLS key failed");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

void write_if_changed(const fs::path& path, const std::string& contents, std::vector<std::string>& actions,
                      const std::string& what) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    try {
      const Bytes old = file::read(path);
      if (std::string(old.begin(), old.end()) == contents) return;
    } catch (const Error&) {
      // unreadable: replace it
    }
  }
  file::write_atomic(path, as_bytes(contents), 0600, true);
  actions.push_back("Wrote " + what + " " + path.string());
}

// What write_installation_files() needs beyond the plan.
struct WriteOptions {
  std::optional<toml::table> base_configuration;  // the backup's signetd.toml
  bool replacing = false;                         // an installed CA is being replaced
  std::string stamp;                              // for the kept copies of replaced files
};

// Writes ca.pem, the TLS key and certificate, and the configuration, as the plan says.
void write_installation_files(const SetupPlan& plan, const std::string& ca_key_name, const EVP_PKEY* ca_key,
                              const crypto::Certificate& ca_cert, const WriteOptions& options, SetupResult& result,
                              const Progress& progress) {
  const InstallationFiles& f = result.files;
  report(progress, 80, "Writing the CA certificate");
  if (options.replacing) keep_beside(f.ca_certificate, pem_of(ca_cert), options.stamp, result.actions);
  write_if_changed(f.ca_certificate, pem_of(ca_cert), result.actions, "the CA certificate to");

  // The daemon's TLS certificate: kept unless the plan replaces the configuration, it is missing,
  // or the CA certificate changed under it.
  report(progress, 85, "Issuing the daemon's TLS certificate");
  bool tls_current = false;
  std::error_code ec;
  if (!plan.replace_configuration && !options.replacing && fs::exists(f.tls_key, ec) &&
      fs::exists(f.tls_certificate, ec)) {
    try {
      const auto existing = read_certificates(f.tls_certificate);
      // Issued by this very CA certificate (a replaced one with the same name and key would still
      // verify, but the chain in the file would be stale), and not expired.
      tls_current = existing.size() >= 2 && existing[1].der() == ca_cert.der() &&
                    existing.front().issued_by(ca_cert) &&
                    existing.front().not_after() > std::chrono::system_clock::now();
    } catch (const Error&) {
      tls_current = false;
    }
  }
  if (!tls_current) {
    const ossl::Pkey tls_key = crypto::generate_key(crypto::KeyAlgorithm::EcP256);
    crypto::ServerCertificateSpec spec;
    spec.common_name = plan.daemon.tls_names.empty() ? "signetd" : plan.daemon.tls_names.front();
    for (const auto& n : plan.daemon.tls_names) (is_ip(n) ? spec.ip_addresses : spec.dns_names).push_back(n);
    spec.not_before = std::chrono::system_clock::now() - std::chrono::minutes(5);
    const crypto::Certificate tls_cert = crypto::issue_server_certificate(ca_key, ca_cert, tls_key.get(), spec);
    std::string key_pem = private_key_pem(tls_key.get());
    file::write_atomic(f.tls_key, as_bytes(key_pem), 0600, true);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    file::write_atomic(f.tls_certificate, as_bytes(pem_of(tls_cert) + pem_of(ca_cert)), 0600, true);
    result.actions.push_back("Issued the daemon's TLS certificate for " + spec.common_name + " to " +
                             f.tls_certificate.string() + " (key " + f.tls_key.string() + ")");
  }

  report(progress, 92, "Writing the daemon configuration");
  // A kept configuration must still name this CA key and the passphrase source of this plan.
  std::optional<toml::table> kept;
  if (!plan.replace_configuration && !options.replacing && fs::exists(f.configuration, ec)) {
    try {
      const Bytes text = file::read(f.configuration);
      kept = toml::parse(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
      if ((*kept)["store"]["ca_key"].value_or(std::string()) != ca_key_name) kept.reset();
    } catch (const std::exception&) {
      kept.reset();  // unreadable: it cannot be kept
    }
  }
  if (kept) {
    const fs::path want = passphrase_file_of(plan);
    const std::string have = (*kept)["store"]["passphrase_file"].value_or(std::string());
    if (have == want.string()) {
      result.actions.push_back("Kept the daemon configuration " + f.configuration.string());
      return;
    }
    toml::table& store = section(*kept, "store");
    if (want.empty()) {
      store.erase("passphrase_file");
    } else {
      store.insert_or_assign("passphrase_file", want.string());
    }
    std::ostringstream out;
    out << "# signetd configuration, written by signet setup. Each key is documented in the README.\n" << *kept << "\n";
    (void)daemon::parse_config(out.str(), f.configuration);
    file::write_atomic(f.configuration, as_bytes(out.str()), 0600, true);
    result.actions.push_back("Kept the daemon configuration " + f.configuration.string() +
                             ", with store.passphrase_file set to " + (want.empty() ? "none (systemd credential)" : want.string()));
    return;
  }
  const std::string text = configuration_text(plan, ca_key_name, f, options.base_configuration);
  keep_beside(f.configuration, text, options.stamp, result.actions);
  write_if_changed(f.configuration, text, result.actions,
                   options.base_configuration ? "the daemon configuration (from the backup's, with this machine's paths) to"
                                              : "the daemon configuration to");
}

// The key's CA certificate that setup should use, by the one rule (choose_ca_certificate).
std::optional<crypto::Certificate> pick_ca_certificate(const keystore::UnlockedKey& key,
                                                       const std::optional<keystore::Installation>& inst) {
  std::vector<std::string> roles;
  for (const auto& c : key.verdict.certificates) roles.push_back(c.role);
  return choose_ca_certificate(key.certificates, roles, inst ? inst->ca_certificate_sha256 : std::nullopt);
}

}  // namespace

std::vector<crypto::Certificate> read_certificates(const fs::path& path) {
  const Bytes contents = file::read(path, 1u << 20);
  std::vector<crypto::Certificate> out;
  const std::string_view text(reinterpret_cast<const char*>(contents.data()), contents.size());
  if (text.find("-----BEGIN") != std::string_view::npos) {
    ossl::Bio bio{BIO_new_mem_buf(contents.data(), static_cast<int>(contents.size()))};
    for (;;) {
      X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
      if (raw == nullptr) break;
      ossl::X509Ptr owned(raw);
      out.push_back(crypto::Certificate::from_x509(raw));
    }
    ERR_clear_error();
  } else if (auto c = crypto::Certificate::try_from_der(contents)) {
    out.push_back(*std::move(c));
  }
  if (out.empty()) {
    throw Error(ErrorKind::Malformed, "certificate-malformed",
                path.string() + " holds no certificate (expected the signed CA certificate, PEM or DER)");
  }
  return out;
}

InstallationFiles InstallationFiles::in(const fs::path& dir) {
  return {dir / "ca.pem", dir / "signetd.toml", dir / "tls-key.pem", dir / "tls-cert.pem", dir / "ca-request.pem"};
}

std::string acme_directory_url(const DaemonSettings& daemon) {
  std::string host;
  for (const std::string& n : daemon.tls_names) {
    if (host.empty() && !is_ip(n) && n.rfind("*.", 0) != 0) host = n;
  }
  for (const std::string& n : daemon.tls_names) {
    if (host.empty() && is_ip(n)) host = n;
  }
  if (host.empty()) host = daemon.https_address;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "https://" + host + ":" + std::to_string(daemon.https_port) + "/acme/directory";
}

AcmeSettings acme_settings_of(const daemon::Config& config) {
  AcmeSettings a;
  a.enabled = config.acme_enabled;
  a.profile = config.acme_profile;
  a.http01_port = config.acme_http01_port;
  a.tlsalpn01_port = config.acme_tlsalpn01_port;
  a.resolver = config.acme_resolver;
  a.eab_required = config.acme_eab_required;
  for (const Cidr& n : config.acme_allowed_networks) a.allowed_networks.push_back(n.to_string());
  a.terms_of_service = config.acme_terms_of_service;
  return a;
}

CaIdentity identity_of(const crypto::Certificate& certificate) {
  CaIdentity id;
  X509_NAME* name = X509_get_subject_name(certificate.x509());
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (len < 0) continue;
    const std::string value(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    switch (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))) {
      case NID_commonName: id.common_name = value; break;
      case NID_organizationName: id.organization = value; break;
      case NID_organizationalUnitName: id.organizational_unit = value; break;
      case NID_countryName: id.country = value; break;
      case NID_stateOrProvinceName: id.state = value; break;
      case NID_localityName: id.locality = value; break;
      default: break;
    }
  }
  return id;
}

namespace {

// The daemon settings of a restore-then-reinstall: the backup's (its configuration, which is what
// that server ran with, else its installation record), with the keys the plan set over them.
DaemonSettings resolve_daemon(const SetupPlan& plan, const BackupInstallation& from_backup,
                              const std::optional<daemon::Config>& backup_config) {
  DaemonSettings d;
  if (from_backup.answers) d = from_backup.answers->daemon;
  if (backup_config) {
    d.https_address = backup_config->https_address;
    d.https_port = backup_config->https_port;
    d.http_address = backup_config->http_address;
    d.http_port = backup_config->http_port;
    d.public_base_url = backup_config->base_url;
    d.acme = acme_settings_of(*backup_config);
  }
  auto set = [&plan](std::string_view key) {
    return std::find(plan.daemon_keys_set.begin(), plan.daemon_keys_set.end(), key) != plan.daemon_keys_set.end();
  };
  if (set("https_address")) d.https_address = plan.daemon.https_address;
  if (set("https_port")) d.https_port = plan.daemon.https_port;
  if (set("http_address")) d.http_address = plan.daemon.http_address;
  if (set("http_port")) d.http_port = plan.daemon.http_port;
  if (set("tls_names")) d.tls_names = plan.daemon.tls_names;
  if (set("public_base_url")) d.public_base_url = plan.daemon.public_base_url;
  if (set("acme")) d.acme = plan.daemon.acme;
  return d;
}

// A CA replaced in a store whose ledger holds what it issued would hand that ledger to the new
// CA: its CRLs would list serials it never issued, its OCSP would answer for them, CRL numbers
// would continue another CA's. One ledger serves one CA: refuse, naming the way out.
void refuse_foreign_ledger(const SetupPlan& plan, const InstalledCa& installed) {
  const fs::path path = KeyStore::database_path(plan.data_dir);
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  db::Database db = db::Database::open(path, db::OpenMode::ReadOnly);
  auto count = [&db](const char* table) -> std::int64_t {
    db::Statement t = db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
    t.bind(1, std::string(table));
    if (!t.step() || t.int64(0) == 0) return 0;
    db::Statement c = db.prepare(std::string("SELECT count(*) FROM ") + table);
    return c.step() ? c.int64(0) : 0;
  };
  const std::int64_t certificates = count("issued_certificates");
  const std::int64_t crls = count("crl_state");
  if (certificates == 0 && crls == 0) return;
  throw Error(ErrorKind::Conflict, "ledger-belongs-to-another-ca",
              "the store in " + plan.data_dir.string() + " holds the ledger of the installed CA " +
                  (installed.subject.empty() ? std::string("(ca.pem unreadable)") : installed.subject) + ": " +
                  std::to_string(certificates) + " issued certificate" + (certificates == 1 ? "" : "s") +
                  (crls != 0 ? " and its CRL numbers" : "") +
                  ". Another CA in this directory would sign CRLs and OCSP answers for certificates it never "
                  "issued, and the old CA's would lose theirs. Install the new CA in a new data directory (keep "
                  "this one serving the old CA until its certificates expire). Nothing was changed");
}

// Refuses to replace an installed CA unless the plan says so. `fingerprint_hex` is the CA key
// this setup will install ("" for a key not made yet).
bool check_replacement(const SetupPlan& plan, const std::optional<InstalledCa>& installed, const std::string& key_name,
                       const std::string& fingerprint_hex) {
  if (!installed) return false;
  const bool same = !fingerprint_hex.empty() &&
                    (installed->fingerprint_hex.empty() ? installed->key_name == key_name
                                                        : installed->fingerprint_hex == fingerprint_hex);
  if (same) return false;
  if (plan.replace_installation) {
    refuse_foreign_ledger(plan, *installed);
    return true;
  }
  std::string what = installed->subject.empty() ? std::string("a CA") : installed->subject;
  if (!installed->key_name.empty()) what += " (key \"" + installed->key_name + "\"";
  if (!installed->fingerprint_hex.empty()) {
    what += std::string(installed->key_name.empty() ? " (" : ", ") + "SHA256:" + installed->fingerprint_hex;
  }
  if (!installed->key_name.empty() || !installed->fingerprint_hex.empty()) what += ")";
  throw Error(ErrorKind::Conflict, "installation-exists",
              plan.data_dir.string() + " already holds an installed CA: " + what +
                  ". This setup would replace its ca.pem and signetd.toml (kept beside the new ones as "
                  "NAME.replaced-DATE) and its TLS key and certificate. To replace it, set "
                  "replace_installation = true in the answers (the wizard asks for a confirmation). To "
                  "reinstall that CA instead, use mode "
                  "existing-key-and-certificate" +
                  (installed->key_name.empty() ? std::string() : " with key_name = \"" + installed->key_name + "\"") +
                  ". Nothing was changed");
}

// The passphrase signetd will read must be the one this store opens with.
void check_operator_passphrase_file(const SetupPlan& plan, const Passphrase& store_passphrase) {
  if (plan.passphrase_source != PassphraseSource::OperatorFile) return;
  const SecretBytes in_file = file::read_passphrase(plan.passphrase_file, "store passphrase");
  if (in_file.size() != store_passphrase.size() ||
      CRYPTO_memcmp(in_file.view().data(), store_passphrase.view().data(), in_file.size()) != 0) {
    throw Error(ErrorKind::Unauthorized, "passphrase-file-mismatch",
                plan.passphrase_file.string() + " does not hold this key store's passphrase (the one setup was "
                "given), so signetd could not unlock the store with it. Put the store passphrase in it, or choose "
                "another passphrase source. Nothing was changed");
  }
}

// Writes <data_dir>/passphrase (0600) when the plan stores the passphrase for unattended start.
void store_passphrase_file(const SetupPlan& plan, const Passphrase& passphrase, SetupResult& result) {
  if (plan.passphrase_source != PassphraseSource::StoredFile) return;
  const fs::path path = plan.data_dir / "passphrase";
  std::error_code ec;
  if (fs::exists(path, ec)) {
    try {
      const SecretBytes old = file::read_passphrase(path, "store passphrase");
      if (old.size() == passphrase.size() &&
          CRYPTO_memcmp(old.view().data(), passphrase.view().data(), old.size()) == 0) {
        return;
      }
    } catch (const Error&) {
      // unreadable: write it again
    }
  }
  SecretBytes line(passphrase.size() + 1);
  std::copy(passphrase.view().begin(), passphrase.view().end(), line.data());
  line.data()[passphrase.size()] = '\n';
  file::write_atomic(path, line.view(), 0600, true);
  result.actions.push_back("Stored the key store passphrase in " + path.string() +
                           " (mode 0600) for unattended start: whoever can read it can unlock the CA key");
}

// The file signetd.service loads as its passphrase credential.
const fs::path kCredentialFile = "/etc/signet/passphrase";

// True when the credential file is already in place, mode 0600 at most, and holds `passphrase`
// (an operator who gave it to setup as --passphrase-file has nothing left to do).
bool credential_in_place(const Passphrase& passphrase) {
  try {
    if (file::readable_by_others(kCredentialFile)) return false;
    const SecretBytes stored = file::read_passphrase(kCredentialFile, "the systemd credential");
    return crypto::equal_constant_time(stored.view(), passphrase.view());
  } catch (const Error&) {
    return false;  // missing, unreadable or empty: still to do
  }
}

// The unit file of signetd.service where the package (or `cmake --install`) puts it, if any.
std::optional<fs::path> installed_signetd_unit() {
  for (const char* dir : {"/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
                          "/usr/local/lib/systemd/system"}) {
    const fs::path unit = fs::path(dir) / "signetd.service";
    std::error_code ec;
    if (fs::is_regular_file(unit, ec)) return unit;
  }
  return std::nullopt;
}

// signetd by an absolute path, so that the printed start command works as printed: beside the
// running program (installed: /usr/bin/signet and /usr/sbin/signetd; a build tree:
// server/cli/signet, server/daemon/signetd, setup/signet-setup), else on PATH, else the bare name.
std::string signetd_program() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = self.parent_path();
    for (const fs::path& candidate : {dir / "signetd", dir / "../sbin/signetd", dir / "../daemon/signetd",
                                      dir / "../server/daemon/signetd"}) {
      if (::access(candidate.c_str(), X_OK) == 0) return fs::weakly_canonical(candidate, ec).string();
    }
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const fs::path candidate = fs::path(rest.substr(0, colon)) / "signetd";
      if (candidate.is_absolute() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  return "signetd";
}

// The names in the daemon's TLS certificate (DNS names, then IP addresses); the plan's when it
// cannot be read.
std::vector<std::string> tls_names_of(const fs::path& tls_certificate, const SetupPlan& plan) {
  std::vector<std::string> dns;
  std::vector<std::string> ips;
  try {
    const std::vector<crypto::Certificate> chain = read_certificates(tls_certificate);
    auto* names = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(chain.front().x509(), NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type == GEN_DNS) {
        dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                         static_cast<std::size_t>(ASN1_STRING_length(n->d.dNSName)));
      } else if (n->type == GEN_IPADD) {
        const int len = ASN1_STRING_length(n->d.iPAddress);
        char text[INET6_ADDRSTRLEN] = {};
        if ((len == 4 || len == 16) &&
            inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(n->d.iPAddress), text, sizeof text) != nullptr) {
          ips.emplace_back(text);
        }
      }
    }
    GENERAL_NAMES_free(names);
  } catch (const Error&) {
    return plan.daemon.tls_names;
  }
  dns.insert(dns.end(), ips.begin(), ips.end());
  return dns.empty() ? plan.daemon.tls_names : dns;
}

// The ACME directory URL, client examples and what is left to do for ACME, from the configuration
// that was written (or kept).
void describe_acme(const SetupPlan& plan, SetupResult& result) {
  const fs::path& config_path = result.files.configuration;
  std::optional<daemon::Config> config;
  try {
    config = daemon::load_config(config_path);
  } catch (const Error&) {
    return;  // the check says why it does not load
  }
  if (!config->acme_enabled) {
    if (plan.daemon.acme.enabled) {
      result.next_steps.push_back(
          "ACME was asked for, but the kept configuration " + config_path.string() +
          " does not enable it: run setup again with replace_configuration = true, or add `[acme]` with "
          "`enabled = true` to it and restart signetd.");
    }
    return;
  }
  DaemonSettings served;
  served.https_address = config->https_address;
  served.https_port = config->https_port;
  served.tls_names = tls_names_of(result.files.tls_certificate, plan);
  const std::string url = acme_directory_url(served);
  result.acme_directory_url = url;
  const std::string ca = result.files.ca_certificate.string();
  const bool other_port = config->acme_http01_port != 80;
  const std::string port = std::to_string(config->acme_http01_port);
  result.acme_examples.push_back(
      "REQUESTS_CA_BUNDLE=" + ca + " certbot certonly --standalone --server " + url +
      (other_port ? " --http-01-port " + port : std::string()) +
      (config->acme_eab_required ? " --eab-kid KEY-ID --eab-hmac-key HMAC-KEY" : "") +
      " --agree-tos --email you@example.com -d www.example.com");
  result.acme_examples.push_back(
      "LEGO_CA_CERTIFICATES=" + ca + " lego --server " + url +
      (config->acme_eab_required ? " --eab --kid KEY-ID --hmac HMAC-KEY" : "") +
      " --accept-tos --email you@example.com --domains www.example.com --http" +
      (other_port ? " --http.port :" + port : std::string()) + " run");
  const std::string& address = config->https_address;
  if (address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0) {
    result.next_steps.push_back("signetd's HTTPS listener is on " + address +
                                ", so only ACME clients on this machine reach " + url +
                                ". For clients elsewhere, run setup again with daemon.https_address set to an "
                                "address they reach, its name in daemon.tls_names, and replace_configuration = true.");
  }
  if (config->acme_eab_required) {
    result.next_steps.push_back("New ACME accounts need an external account binding: make a key for each client with "
                                "`signet acme eab add` and give its key id and HMAC key to the client.");
  }
}

// The start command, what is left to do, and the checks of `signetd --check` on what was written.
void finish(const SetupPlan& plan, const Passphrase& passphrase, bool restored, SetupResult& result) {
  const fs::path config = result.files.configuration;
  result.next_steps.clear();
  if (plan.passphrase_source == PassphraseSource::SystemdCredential) {
    result.start_command = "systemctl enable --now signetd";
    if (credential_in_place(passphrase)) {
      result.next_steps.push_back("The systemd credential " + kCredentialFile.string() +
                                  " holds the store passphrase (not readable by group or others): signetd.service "
                                  "reads it with LoadCredential=passphrase:/etc/signet/passphrase.");
    } else {
      result.next_steps.push_back(
          "Give signetd the store passphrase as a systemd credential: write it to /etc/signet/passphrase (owner "
          "root, mode 0600), e.g. `install -d -m 0700 /etc/signet && install -m 0600 /dev/null "
          "/etc/signet/passphrase`, then put the passphrase in it; signetd.service reads it with "
          "LoadCredential=passphrase:/etc/signet/passphrase.");
    }
    const fs::path program = signetd_program();
    const bool packaged_paths = program == "/usr/sbin/signetd" && config == "/var/lib/signet/signetd.toml";
    if (const std::optional<fs::path> unit = installed_signetd_unit(); unit && packaged_paths) {
      result.next_steps.push_back("signetd.service is installed (" + unit->string() + ") and runs `" + program.string() +
                                  " --config " + config.string() + "`: nothing to edit.");
    } else {
      result.next_steps.push_back(
          std::string(unit ? "signetd.service is installed (" + unit->string() + ")"
                           : "Install signetd.service: the signet package does, or `cmake --install` from a "
                             "build (packaging/systemd/signetd.service.in; its header lists the steps)") +
          ". It runs `/usr/sbin/signetd --config /var/lib/signet/signetd.toml`; where signetd or the configuration "
          "live elsewhere (here: " + program.string() + " and " + config.string() +
          "), run `systemctl edit signetd` and set `ExecStart=` then `ExecStart=" + program.string() + " --config " +
          config.string() + "`, `ReadWritePaths=" + plan.data_dir.string() + "` and `ConditionPathExists=` then `ConditionPathExists=" +
          config.string() + "`.");
    }
    result.next_steps.push_back("The data directory must belong to the service's user: `chown -R signet:signet " +
                                plan.data_dir.string() + "`.");
    result.next_steps.push_back("Without systemd, set store.passphrase_file in " + config.string() +
                                " to a file (mode 0600) holding the passphrase and run `" + signetd_program() +
                                " --config " + config.string() + "`.");
  } else {
    result.start_command = signetd_program() + " --config " + config.string();
  }
  if (is_loopback_url(plan.daemon.public_base_url)) {
    result.next_steps.push_back("The public base URL is " + plan.daemon.public_base_url +
                                ", a loopback address: every certificate will carry CRL and OCSP links that only "
                                "this machine can reach. For a CA that others use, run setup again with "
                                "daemon.public_base_url set to a name they reach and replace_configuration = true.");
  } else if (restored) {
    result.next_steps.push_back("Clients reach this CA at " + plan.daemon.public_base_url +
                                " (the old server's address, from the backup): point that name at this machine.");
  }
  // A public URL whose explicit port is not the HTTP listener's: fine behind a proxy, a dead link
  // otherwise (a restore that moved http_port kept the old URL).
  if (const std::string& url = plan.daemon.public_base_url; url.rfind("http://", 0) == 0) {
    const std::string authority = url.substr(7, url.find('/', 7) == std::string::npos ? std::string::npos : url.find('/', 7) - 7);
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']', colon) == std::string::npos &&
        authority.substr(colon + 1) != std::to_string(plan.daemon.http_port)) {
      result.next_steps.push_back("The public base URL " + url + " names port " + authority.substr(colon + 1) +
                                  ", but signetd's HTTP listener (CRLs, OCSP) is on port " +
                                  std::to_string(plan.daemon.http_port) +
                                  ": unless a proxy forwards it, the links in certificates will not reach this server.");
    }
  }
  describe_acme(plan, result);
  try {
    const InstallationCheck check = check_installation(
        config, plan.passphrase_source == PassphraseSource::SystemdCredential ? &passphrase : nullptr);
    result.check_passed = true;
    result.check_message =
        plan.passphrase_source == PassphraseSource::SystemdCredential
            ? (credential_in_place(passphrase)
                   ? "signetd --check passes with the passphrase of the systemd credential " +
                         kCredentialFile.string() + ": " + check.description
                   : "signetd --check passes with the passphrase setup was given (signetd itself will read it "
                     "from the systemd credential, which is not in place yet): " + check.description)
            : "signetd --check passes: " + check.description;
  } catch (const Error& e) {
    result.check_passed = false;
    result.check_message = std::string("signetd would refuse to start: ") + e.what();
  }
}

}  // namespace

SetupResult apply(const SetupPlan& plan_in, const SetupSecrets& secrets, const Progress& progress) {
  report(progress, 0, "Checking the plan");
  if (const auto problems = validate(plan_in); !problems.empty()) {
    throw Error(ErrorKind::Malformed, "plan-invalid", "the setup plan has problems:" + problems_text(problems));
  }
  if (plan_in.mode == SetupMode::RestoreThenReinstall && !secrets.backup_passphrase) {
    throw Error(ErrorKind::Unauthorized, "passphrase-required", "restoring a backup needs the backup passphrase");
  }
  SetupPlan plan = plan_in;  // with the daemon settings resolved (restore: from the backup)
  SetupResult result;
  result.files = InstallationFiles::in(plan.data_dir);
  const bool store_exists = fs::exists(KeyStore::database_path(plan.data_dir));
  const std::optional<InstalledCa> installed = installed_ca(plan.data_dir);
  WriteOptions write;
  write.stamp = format_utc(std::chrono::system_clock::now(), "%Y%m%dT%H%M%SZ");

  // Everything that can fail without writing comes first: the backup is decrypted, authenticated
  // and checked, and the store unlocked, before anything is changed.
  std::optional<file::PrivateTempDir> scratch;  // outlives `opened`, whose scratch file is in it
  std::optional<backup::OpenedBackup> opened;
  std::optional<Bytes> backup_key_fingerprint;
  if (plan.mode == SetupMode::RestoreThenReinstall) {
    report(progress, 5, "Opening and checking the backup");
    // The scratch copy goes beside the store when the data directory exists (a large backup does
    // not belong in /tmp); otherwise into a private temporary directory, so that a wrong
    // passphrase or a damaged backup does not leave even an empty data directory behind.
    std::error_code ec;
    if (!fs::is_directory(plan.data_dir, ec)) scratch.emplace();
    opened.emplace(backup::OpenedBackup::open(plan.backup_file, *secrets.backup_passphrase,
                                              scratch ? scratch->path() : plan.data_dir));
    for (std::size_t i = 0; i < opened->records().size(); ++i) {
      if (opened->records()[i].name != plan.key_name) continue;
      if (!opened->verdicts()[i].reusable()) {
        throw Error(ErrorKind::Integrity, "key-invalid",
                    "the key \"" + plan.key_name + "\" in " + plan.backup_file.string() +
                        " failed its integrity check and cannot be the CA key (see `signet backup "
                        "inspect`). Nothing was changed");
      }
      backup_key_fingerprint = opened->records()[i].fingerprint;
    }
    if (!backup_key_fingerprint) {
      throw Error(ErrorKind::NotFound, "key-not-found",
                  "the backup " + plan.backup_file.string() + " holds no key named \"" + plan.key_name +
                      "\" (see `signet backup inspect`). Nothing was changed");
    }
    // The installation the backup carries: its configuration, read with signetd's own checks.
    const BackupInstallation from_backup = installation_of(opened->manifest());
    std::optional<daemon::Config> backup_config;
    if (plan.configuration_from_backup && from_backup.configuration) {
      try {
        backup_config = daemon::parse_config(*from_backup.configuration,
                                             fs::path(plan.backup_file.string() + ", its signetd.toml"));
        write.base_configuration = toml::parse(*from_backup.configuration);
      } catch (const std::exception& e) {
        throw Error(ErrorKind::Malformed, "backup-configuration-invalid",
                    "the configuration inside " + plan.backup_file.string() + " cannot be used (" + e.what() +
                        "); set configuration_from_backup = false to start from the defaults. Nothing was changed");
      }
    }
    plan.daemon = resolve_daemon(plan, from_backup, backup_config);
    plan.daemon_keys_set.assign(std::begin(kDaemonKeys), std::end(kDaemonKeys));
    if (const auto problems = validate(plan); !problems.empty()) {
      throw Error(ErrorKind::Malformed, "plan-invalid",
                  "with the settings from the backup, the setup plan has problems:" + problems_text(problems) +
                      "\n(set these [daemon] keys in the answers to change them). Nothing was changed");
    }
    // The configuration this restore will write, checked as signetd checks it, before any write
    // (an ACME profile the backup's configuration does not define, ...).
    try {
      (void)configuration_text(plan, plan.key_name, result.files, write.base_configuration);
    } catch (const Error& e) {
      throw Error(ErrorKind::Malformed, "plan-invalid",
                  std::string("with the settings from the backup, signetd would refuse the configuration: ") +
                      e.what() + "\n(set the [daemon] keys, or [daemon.acme], in the answers to change them). "
                      "Nothing was changed");
    }
    write.replacing = check_replacement(plan, installed, plan.key_name, to_hex(*backup_key_fingerprint));
  }
  check_operator_passphrase_file(plan, secrets.store_passphrase);
  const bool generate = (plan.mode == SetupMode::NewKey ||
                         (plan.mode == SetupMode::Subordinate && !plan.subordinate_existing_key));
  const bool reuses_store_key = plan.mode == SetupMode::ExistingKey || plan.mode == SetupMode::ExistingKeyAndCertificate ||
                                (plan.mode == SetupMode::Subordinate && plan.subordinate_existing_key);
  if (!store_exists && reuses_store_key) {
    throw Error(ErrorKind::NotFound, "store-missing",
                "there is no key store in " + plan.data_dir.string() + " to take the key \"" + plan.key_name +
                    "\" from. Point data_dir at the directory that holds signet.db, restore a backup with mode "
                    "restore-then-reinstall, or install a new CA with mode new-key. Nothing was changed");
  }
  // A new store gets a new key (or a restored one): an installation here is replaced.
  if (!store_exists && !opened) write.replacing = check_replacement(plan, installed, plan.key_name, "");

  report(progress, 15, store_exists ? "Unlocking the key store" : "Creating the key store");
  KeyStore store = store_exists ? KeyStore::open(plan.data_dir, secrets.store_passphrase)
                                : KeyStore::create(plan.data_dir, secrets.store_passphrase);
  if (!store_exists) result.actions.push_back("Created the key store " + KeyStore::database_path(plan.data_dir).string());
  const std::optional<keystore::Installation> inst = store.installation();

  std::string key_name = plan.key_name;
  bool reuse_generated = false;
  if (generate && store.record(key_name)) {
    // Applying the same new-install plan again: the key it made is the installed CA key.
    const auto rec = store.record(key_name);
    reuse_generated = inst && rec->fingerprint && *rec->fingerprint == inst->ca_fingerprint;
    if (!reuse_generated) {
      throw Error(ErrorKind::Conflict, "name-taken",
                  "a key named \"" + key_name + "\" is already in the store; to reinstall with it choose "
                  "\"existing key\" (mode existing-key), or choose another name. Nothing was changed");
    }
  }
  if (store_exists && !opened) {
    std::string fingerprint_hex;
    if (!generate || reuse_generated) {
      if (const auto rec = store.record(key_name); rec && rec->fingerprint) fingerprint_hex = to_hex(*rec->fingerprint);
    }
    write.replacing = check_replacement(plan, installed, key_name, fingerprint_hex);
  }

  if (opened) {
    report(progress, 25, "Restoring the backup");
    keystore::RestoreReport r;
    try {
      r = store.restore(*opened, keystore::RestoreOptions{.merge_clients = plan.merge_clients});
    } catch (const Error& e) {
      if (e.code() != "restore-merges-clients") throw;
      // The store's message names the CLI's option; here the choice is the answers' key.
      std::string message = e.what();
      const std::string cli = "If they belong here, restore again with --merge-clients";
      if (const auto at = message.find(cli); at != std::string::npos) {
        message.replace(at, cli.size(),
                        "If they belong here, set merge_clients = true in the answers (signet setup --answers) and "
                        "run setup again, or restore with `signet backup restore --merge-clients` first and then "
                        "reinstall with the existing key");
      }
      throw Error(e.kind(), e.code(), message);
    }
    auto count = [](std::size_t n, const char* one, const char* many) {
      return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    result.actions.push_back("Restored " + plan.backup_file.string() + ": " + count(r.added.size(), "key", "keys") +
                             " added, " + std::to_string(r.skipped.size()) + " already present, " +
                             std::to_string(r.quarantined.size()) + " quarantined");
    key_name = store.name_of_fingerprint(*backup_key_fingerprint).value_or(plan.key_name);
  }
  store_passphrase_file(plan, secrets.store_passphrase, result);

  report(progress, 40, "Preparing the CA key");
  keystore::UnlockedKey ca;
  std::optional<crypto::Certificate> ca_cert;
  if (generate && !reuse_generated) {
    ossl::Pkey key = crypto::generate_key(plan.algorithm);
    keystore::KeyMaterial material;
    if (plan.mode != SetupMode::Subordinate) {
      ca_cert = make_ca_certificate(key.get(), plan);
      material.certificates.push_back(*ca_cert);
    }
    material.key = std::move(key);
    const keystore::KeyVerdict v =
        store.import(key_name, std::move(material), keystore::kSourceGenerated, "CA key made by signet setup");
    result.actions.push_back("Generated the CA key \"" + key_name + "\" (" + v.algorithm + ", SHA256:" +
                             v.fingerprint_hex + ")");
    if (ca_cert) result.actions.push_back("Created the self-signed CA certificate " + ca_cert->subject());
  }
  // Checked again now, whatever was checked before.
  ca = store.unlock_key(key_name);
  result.ca_key_name = key_name;
  result.ca_fingerprint_hex = ca.verdict.fingerprint_hex;
  const Bytes fingerprint = crypto::fingerprint_of_spki(crypto::public_key_der(ca.key.get())).bytes;
  plan.key_name = key_name;

  // Re-applying a subordinate plan after its certificate was installed: the installation stands
  // (it must not step back to "pending" and hand out a request again).
  if (plan.mode == SetupMode::Subordinate && inst && inst->state == kInstalled && inst->ca_fingerprint == fingerprint &&
      inst->ca_certificate_sha256) {
    if (auto existing = pick_ca_certificate(ca, inst);
        existing && existing->sha256_fingerprint() == *inst->ca_certificate_sha256) {
      ca_cert = std::move(existing);
      result.actions.push_back("Kept the installed CA certificate " + ca_cert->subject());
    }
  }

  if (plan.mode == SetupMode::Subordinate && !ca_cert) {
    report(progress, 60, "Writing the certificate request");
    const crypto::CertificateRequest req = crypto::make_request(ca.key.get(), name_entries(plan.identity));
    bool attached = false;
    for (const auto& rec = store.record(key_name); const auto& r : rec->requests) {
      if (auto existing = crypto::CertificateRequest::try_from_der(r.der); existing && existing->subject() == req.subject()) {
        attached = true;
        write_if_changed(result.files.request, crypto::to_pem(*existing), result.actions, "the certificate request to");
      }
    }
    if (!attached) {
      store.attach_request(key_name, req);
      write_if_changed(result.files.request, crypto::to_pem(req), result.actions, "the certificate request to");
    }
    store.set_installation({std::string(kPending), fingerprint, std::nullopt, to_answers(plan), 0});
    result.pending_certificate = true;
    result.actions.push_back("Have the parent CA sign " + result.files.request.string() +
                             ", then run `signet setup --install-certificate FILE`");
    report(progress, 100, "Done");
    return result;
  }

  if (!ca_cert) {
    const std::optional<crypto::Certificate> existing = pick_ca_certificate(ca, inst);
    const bool reuse_existing_certificate =
        plan.mode == SetupMode::ExistingKeyAndCertificate || plan.mode == SetupMode::RestoreThenReinstall ||
        reuse_generated;
    if (!plan.replace_ca_certificate && reuse_existing_certificate) {
      if (!existing) {
        throw Error(ErrorKind::NotFound, "no-ca-certificate",
                    "the key \"" + key_name + "\" has no CA certificate to reuse; choose \"existing key\" "
                    "(mode existing-key) to make a new one for it");
      }
      if (existing->not_after() < std::chrono::system_clock::now()) {
        throw Error(ErrorKind::PolicyDenied, "ca-certificate-expired",
                    "the CA certificate of \"" + key_name + "\" expired on " + format_utc_date(existing->not_after()) +
                        "; choose \"existing key\" (mode existing-key) to issue a new CA certificate for "
                        "the same key");
      }
      ca_cert = existing;
      result.actions.push_back("Reused the CA certificate " + existing->subject() + " (valid until " +
                               format_utc_date(existing->not_after()) + ")");
    } else if (!plan.replace_ca_certificate && existing &&
               existing->subject() == subject_of(plan.identity, ca.key.get()) &&
               existing->not_after() > std::chrono::system_clock::now()) {
      // Re-applying an existing-key plan: the certificate it made last time is still right.
      ca_cert = existing;
      result.actions.push_back("Kept the CA certificate " + existing->subject());
    } else {
      ca_cert = make_ca_certificate(ca.key.get(), plan);
      store.attach_certificate(key_name, *ca_cert);
      result.actions.push_back("Created the self-signed CA certificate " + ca_cert->subject() + " for \"" +
                               key_name + "\"");
    }
  }
  result.ca_certificate = ca_cert;

  report(progress, 70, "Recording the installation");
  store.set_installation({std::string(kInstalled), fingerprint, ca_cert->sha256_fingerprint(), to_answers(plan), 0});
  write_installation_files(plan, key_name, ca.key.get(), *ca_cert, write, result, progress);
  report(progress, 96, "Checking the installation as signetd --check does");
  finish(plan, secrets.store_passphrase, opened.has_value(), result);
  report(progress, 100, "Done");
  return result;
}

SetupResult install_certificate(const fs::path& data_dir, const Passphrase& passphrase,
                                const fs::path& certificate_file, const Progress& progress) {
  report(progress, 0, "Reading the certificate");
  const std::vector<crypto::Certificate> certs = read_certificates(certificate_file);
  KeyStore store = KeyStore::open(data_dir, passphrase);
  const auto inst = store.installation();
  if (!inst || inst->state != kPending) {
    throw Error(ErrorKind::Conflict, "not-pending",
                "no subordinate CA is waiting for a certificate in " + data_dir.string() +
                    " (run `signet setup` in subordinate mode first)");
  }
  const std::optional<std::string> name = store.name_of_fingerprint(inst->ca_fingerprint);
  if (!name) {
    throw Error(ErrorKind::NotFound, "key-not-found",
                "the pending CA key (SHA256:" + to_hex(inst->ca_fingerprint) +
                    ") is no longer in the store; a request alone is never enough: restore the key "
                    "from a backup");
  }
  const crypto::Certificate& cert = certs.front();
  const Bytes cert_key = crypto::fingerprint_of_spki(crypto::public_key_der(cert.public_key())).bytes;
  if (cert_key != inst->ca_fingerprint) {
    throw Error(ErrorKind::Malformed, "certificate-key-mismatch",
                certificate_file.string() + " (" + cert.subject() + ") is for another key than the pending "
                "request's (\"" + *name + "\"); nothing was changed");
  }
  if (!cert.is_ca() || !cert.has_key_cert_sign()) {
    throw Error(ErrorKind::Malformed, "ca-certificate-not-ca",
                certificate_file.string() + " is not a CA certificate (it needs basicConstraints CA:TRUE "
                "and keyUsage keyCertSign); ask the parent CA to sign the request with a CA profile");
  }
  const keystore::UnlockedKey ca = store.unlock_key(*name);  // the key itself, checked again now
  SetupResult result;
  result.files = InstallationFiles::in(data_dir);
  result.ca_key_name = *name;
  result.ca_fingerprint_hex = ca.verdict.fingerprint_hex;
  bool attached = false;
  for (const auto& c : ca.certificates) attached = attached || c.der() == cert.der();
  if (!attached) {
    store.attach_certificate(*name, cert);
    result.actions.push_back("Attached the CA certificate " + cert.subject() + " issued by " + cert.issuer());
  }
  result.ca_certificate = cert;
  SetupPlan plan = parse_answers(inst->answers, "the installation record");
  plan.data_dir = data_dir;
  store.set_installation({std::string(kInstalled), inst->ca_fingerprint, cert.sha256_fingerprint(), inst->answers, 0});
  write_installation_files(plan, *name, ca.key.get(), cert, WriteOptions{}, result, progress);
  finish(plan, passphrase, false, result);
  report(progress, 100, "Done");
  return result;
}

SetupPlan current_answers(const fs::path& data_dir, const Passphrase& passphrase) {
  KeyStore store = KeyStore::open(data_dir, passphrase, KeyStore::Access::ReadOnly);  // looking writes nothing
  const auto inst = store.installation();
  if (!inst) {
    throw Error(ErrorKind::NotFound, "not-installed",
                "the store in " + data_dir.string() + " has not been set up yet (run `signet setup`)");
  }
  return parse_answers(inst->answers, "the installation record");
}

}  // namespace signet::setup
