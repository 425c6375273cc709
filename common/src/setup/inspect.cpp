#include "signet/setup/inspect.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <toml++/toml.h>

#include "signet/backup/backup.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/crypto/primitives.h"
#include "signet/setup/engine.h"

namespace signet::setup {

namespace fs = std::filesystem;

std::optional<crypto::Certificate> choose_ca_certificate(const std::vector<crypto::Certificate>& certificates,
                                                         const std::vector<std::string>& roles,
                                                         const std::optional<Bytes>& installed_certificate_sha256) {
  std::optional<crypto::Certificate> best;
  for (std::size_t i = 0; i < certificates.size() && i < roles.size(); ++i) {
    if (roles[i] != keystore::kRoleCa) continue;
    const crypto::Certificate& c = certificates[i];
    if (installed_certificate_sha256 && *installed_certificate_sha256 == c.sha256_fingerprint()) return c;
    if (!best || c.not_after() > best->not_after()) best = c;
  }
  return best;
}

std::optional<crypto::Certificate> choose_ca_certificate(const keystore::KeyRecord& record,
                                                         const std::optional<Bytes>& installed_certificate_sha256) {
  std::vector<crypto::Certificate> certificates;
  std::vector<std::string> roles;
  for (const keystore::AttachedCertificate& a : record.certificates) {
    if (auto c = crypto::Certificate::try_from_der(a.der)) {
      certificates.push_back(*std::move(c));
      roles.push_back(a.role);
    }
  }
  return choose_ca_certificate(certificates, roles, installed_certificate_sha256);
}

std::optional<InstalledCa> installed_ca(const fs::path& data_dir) {
  const InstallationFiles files = InstallationFiles::in(data_dir);
  std::error_code ec;
  const bool has_cert = fs::is_regular_file(files.ca_certificate, ec);
  const bool has_config = fs::is_regular_file(files.configuration, ec);
  if (!has_cert && !has_config) return std::nullopt;
  InstalledCa out;
  out.data_dir = data_dir;
  if (has_cert) {
    out.ca_certificate = files.ca_certificate;
    try {
      const crypto::Certificate cert = read_certificates(files.ca_certificate).front();
      out.subject = cert.subject();
      out.not_after = cert.not_after();
      out.fingerprint_hex = to_hex(crypto::fingerprint_of_spki(crypto::public_key_der(cert.public_key())).bytes);
    } catch (const std::exception&) {
      // Unreadable or not a certificate: the fields stay empty; the file is still there.
    }
  }
  if (has_config) {
    out.configuration = files.configuration;
    try {
      const Bytes text = file::read(files.configuration, 1u << 20);
      const toml::table config =
          toml::parse(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
      out.key_name = config["store"]["ca_key"].value_or(std::string());
    } catch (const std::exception&) {
      // Unreadable: no key name.
    }
  }
  return out;
}

namespace {

OfferedKey offered_key(keystore::KeyVerdict verdict, const keystore::KeyRecord* record,
                       const std::optional<Bytes>& installed_sha256) {
  OfferedKey key;
  if (record != nullptr) {
    std::vector<std::string> roles;
    for (const keystore::AttachedCertificate& a : record->certificates) {
      if (auto c = crypto::Certificate::try_from_der(a.der)) {
        key.certificates.push_back(*std::move(c));
        roles.push_back(a.role);
      }
    }
    key.ca_certificate = choose_ca_certificate(key.certificates, roles, installed_sha256);
  }
  key.verdict = std::move(verdict);
  return key;
}

}  // namespace

StoreContents inspect_store(const fs::path& data_dir, const Passphrase& passphrase, const CountCallback& on_count) {
  keystore::KeyStore store = keystore::KeyStore::open(data_dir, passphrase, keystore::KeyStore::Access::ReadOnly);
  const std::vector<keystore::KeyRecord> records = store.records();
  if (on_count) on_count(records.size());
  const std::optional<keystore::Installation> inst = store.installation();
  const std::optional<Bytes> installed_sha256 = inst ? inst->ca_certificate_sha256 : std::nullopt;

  StoreContents out;
  keystore::IntegrityReport report = store.check_all();
  for (keystore::KeyVerdict& v : report.reusable) {
    const auto it = std::find_if(records.begin(), records.end(), [&](const auto& r) { return r.id == v.id; });
    out.offered.push_back(offered_key(std::move(v), it == records.end() ? nullptr : &*it, installed_sha256));
  }
  std::sort(out.offered.begin(), out.offered.end(),
            [](const OfferedKey& a, const OfferedKey& b) { return a.verdict.name < b.verdict.name; });
  out.excluded = std::move(report.excluded);
  out.quarantined = store.quarantine();
  if (inst) out.installed_key = store.name_of_fingerprint(inst->ca_fingerprint);
  return out;
}

BackupInstallation installation_of(const nlohmann::json& manifest) {
  BackupInstallation out;
  if (const auto it = manifest.find("ca_name"); it != manifest.end() && it->is_string()) {
    out.ca_key_name = it->get<std::string>();
  }
  const auto inst = manifest.find("installation");
  if (inst == manifest.end() || !inst->is_object()) return out;
  if (const auto a = inst->find("answers"); a != inst->end() && a->is_string()) {
    try {
      out.answers = parse_answers(a->get<std::string>(), "the backup's installation record");
    } catch (const Error&) {
      // Written by a Signet that knew other answers: the configuration below still travels.
    }
  }
  if (const auto c = inst->find("configuration"); c != inst->end() && c->is_string()) {
    out.configuration = c->get<std::string>();
  }
  return out;
}

BackupContents inspect_backup(const fs::path& file, const Passphrase& passphrase) {
  const file::PrivateTempDir scratch;
  const backup::OpenedBackup opened = backup::OpenedBackup::open(file, passphrase, scratch.path());
  BackupContents out;
  out.installation = installation_of(opened.manifest());
  out.created = opened.manifest().value("created", std::string());
  const std::vector<keystore::KeyRecord>& records = opened.records();
  const std::vector<keystore::KeyVerdict>& verdicts = opened.verdicts();
  for (std::size_t i = 0; i < verdicts.size() && i < records.size(); ++i) {
    if (verdicts[i].reusable()) {
      out.offered.push_back(offered_key(verdicts[i], &records[i], std::nullopt));
    } else {
      out.excluded.push_back(verdicts[i]);
    }
  }
  return out;
}

bool is_loopback_url(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  std::string host = url.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (const std::size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (const std::size_t colon = host.find(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"))) return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6) != 0;
  return false;
}

}  // namespace signet::setup
