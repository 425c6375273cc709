#include "signet/setup/engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <sstream>
#include <toml++/toml.h>

#include "signet/backup/backup.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/core/time_format.h"
#include "signet/crypto/primitives.h"
#include "signet/keystore/store.h"

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

std::string configuration_toml(const SetupPlan& plan, const std::string& ca_key, const InstallationFiles& f) {
  toml::table store{{"data_dir", plan.data_dir.string()}, {"ca_key", ca_key},
                    {"passphrase_file", (plan.data_dir / "passphrase").string()}};
  toml::table https{{"address", plan.daemon.https_address},
                    {"port", static_cast<std::int64_t>(plan.daemon.https_port)},
                    {"certificate", f.tls_certificate.string()},
                    {"key", f.tls_key.string()}};
  toml::table http{{"address", plan.daemon.http_address}, {"port", static_cast<std::int64_t>(plan.daemon.http_port)}};
  toml::table pub{{"base_url", plan.daemon.public_base_url}};
  toml::table root{{"store", store}, {"https", https}, {"http", http}, {"public", pub}};
  std::ostringstream out;
  out << "# signetd configuration, written by signet setup. Each key is documented in the README.\n"
      << "# store.passphrase_file may be replaced by systemd's LoadCredential (see packaging/).\n"
      << root << "\n";
  return out.str();
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

// The certificates in a PEM or DER file.
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

// Writes ca.pem, the TLS key and certificate, and the configuration, as the plan says.
void write_installation_files(const SetupPlan& plan, const std::string& ca_key_name, const EVP_PKEY* ca_key,
                              const crypto::Certificate& ca_cert, SetupResult& result, const Progress& progress) {
  const InstallationFiles& f = result.files;
  report(progress, 80, "Writing the CA certificate");
  write_if_changed(f.ca_certificate, pem_of(ca_cert), result.actions, "the CA certificate to");

  // The daemon's TLS certificate: kept unless the plan replaces the configuration, it is missing,
  // or the CA certificate changed under it.
  report(progress, 85, "Issuing the daemon's TLS certificate");
  bool tls_current = false;
  std::error_code ec;
  if (!plan.replace_configuration && fs::exists(f.tls_key, ec) && fs::exists(f.tls_certificate, ec)) {
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
  // A kept configuration must still name this CA key: a reinstall with another key rewrites it.
  bool names_other_key = false;
  if (!plan.replace_configuration && fs::exists(f.configuration, ec)) {
    try {
      const Bytes text = file::read(f.configuration);
      const toml::table config = toml::parse(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
      names_other_key = config["store"]["ca_key"].value_or(std::string()) != ca_key_name;
    } catch (const std::exception&) {
      names_other_key = true;  // unreadable: it cannot be kept
    }
  }
  if (plan.replace_configuration || names_other_key || !fs::exists(f.configuration, ec)) {
    file::write_atomic(f.configuration, as_bytes(configuration_toml(plan, ca_key_name, f)), 0600, true);
    result.actions.push_back(std::string(names_other_key ? "Rewrote (it named another CA key or was unreadable) "
                                                         : "Wrote ") +
                             "the daemon configuration " + f.configuration.string());
  } else {
    result.actions.push_back("Kept the daemon configuration " + f.configuration.string());
  }
}

// The key's certificate with role "ca" that setup should use: the one the installation names if
// it is still attached, else the one valid longest. std::nullopt when there is none.
std::optional<crypto::Certificate> pick_ca_certificate(const keystore::UnlockedKey& key,
                                                       const std::optional<keystore::Installation>& inst) {
  std::optional<crypto::Certificate> best;
  for (std::size_t i = 0; i < key.certificates.size() && i < key.verdict.certificates.size(); ++i) {
    if (key.verdict.certificates[i].role != keystore::kRoleCa) continue;
    const crypto::Certificate& c = key.certificates[i];
    if (inst && inst->ca_certificate_sha256 && *inst->ca_certificate_sha256 == c.sha256_fingerprint()) return c;
    if (!best || c.not_after() > best->not_after()) best = c;
  }
  return best;
}

}  // namespace

InstallationFiles InstallationFiles::in(const fs::path& dir) {
  return {dir / "ca.pem", dir / "signetd.toml", dir / "tls-key.pem", dir / "tls-cert.pem", dir / "ca-request.pem"};
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

SetupResult apply(const SetupPlan& plan, const SetupSecrets& secrets, const Progress& progress) {
  report(progress, 0, "Checking the plan");
  if (const auto problems = validate(plan); !problems.empty()) {
    throw Error(ErrorKind::Malformed, "plan-invalid", "the setup plan has problems:" + problems_text(problems));
  }
  if (plan.mode == SetupMode::RestoreThenReinstall && !secrets.backup_passphrase) {
    throw Error(ErrorKind::Unauthorized, "passphrase-required", "restoring a backup needs the backup passphrase");
  }
  SetupResult result;
  result.files = InstallationFiles::in(plan.data_dir);
  const bool store_exists = fs::exists(KeyStore::database_path(plan.data_dir));

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
  }
  report(progress, 15, store_exists ? "Unlocking the key store" : "Creating the key store");
  KeyStore store = store_exists ? KeyStore::open(plan.data_dir, secrets.store_passphrase)
                                : KeyStore::create(plan.data_dir, secrets.store_passphrase);
  if (!store_exists) result.actions.push_back("Created the key store " + KeyStore::database_path(plan.data_dir).string());
  const std::optional<keystore::Installation> inst = store.installation();

  std::string key_name = plan.key_name;
  if (opened) {
    report(progress, 25, "Restoring the backup");
    const keystore::RestoreReport r = store.restore(*opened, false);
    result.actions.push_back("Restored " + plan.backup_file.string() + ": " + std::to_string(r.added.size()) +
                             " key(s) added, " + std::to_string(r.skipped.size()) + " already present, " +
                             std::to_string(r.quarantined.size()) + " quarantined");
    key_name = store.name_of_fingerprint(*backup_key_fingerprint).value_or(plan.key_name);
  }

  const bool generate = (plan.mode == SetupMode::NewKey ||
                         (plan.mode == SetupMode::Subordinate && !plan.subordinate_existing_key));
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
  write_installation_files(plan, key_name, ca.key.get(), *ca_cert, result, progress);
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
  write_installation_files(plan, *name, ca.key.get(), cert, result, progress);
  report(progress, 100, "Done");
  return result;
}

SetupPlan current_answers(const fs::path& data_dir, const Passphrase& passphrase) {
  KeyStore store = KeyStore::open(data_dir, passphrase);
  const auto inst = store.installation();
  if (!inst) {
    throw Error(ErrorKind::NotFound, "not-installed",
                "the store in " + data_dir.string() + " has not been set up yet (run `signet setup`)");
  }
  return parse_answers(inst->answers, "the installation record");
}

}  // namespace signet::setup
