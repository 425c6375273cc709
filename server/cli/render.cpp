#include "render.h"

#include "signet/core/time_format.h"
#include "signet/keystore/findings_json.h"

#include <algorithm>
#include <ctime>
#include <iomanip>

namespace signet::cli {

using keystore::Finding;
using keystore::KeyVerdict;
using keystore::Severity;

std::string iso_time(std::int64_t unix_seconds) { return rfc3339(unix_seconds); }

namespace {

std::string date_only(std::int64_t unix_seconds) { return iso_time(unix_seconds).substr(0, 10); }

bool has_warnings(const KeyVerdict& v) {
  return std::any_of(v.findings.begin(), v.findings.end(),
                     [](const Finding& f) { return f.severity == Severity::Warning; });
}

std::string certificate_column(const KeyVerdict& v) {
  for (const auto& c : v.certificates) {
    if (c.role == keystore::kRoleChain) continue;
    if (c.subject.empty()) return "(unreadable certificate)";
    return c.subject + " (until " + date_only(c.not_after) + ")";
  }
  return v.request_count > 0 ? "(request only)" : "-";
}

}  // namespace

std::string status_of(const KeyVerdict& verdict) {
  if (!verdict.reusable()) return "invalid";
  return has_warnings(verdict) ? "valid-with-warnings" : "valid";
}

nlohmann::json to_json(const KeyVerdict& v) {
  nlohmann::json certs = nlohmann::json::array();
  for (const auto& c : v.certificates) {
    certs.push_back({{"role", c.role},
                     {"subject", c.subject},
                     {"issuer", c.issuer},
                     {"serial", c.serial_hex},
                     {"not_before", c.subject.empty() ? "" : iso_time(c.not_before)},
                     {"not_after", c.subject.empty() ? "" : iso_time(c.not_after)}});
  }
  const nlohmann::json findings = keystore::findings_to_json(v.findings);
  return {{"name", v.name},
          {"id", v.id.value},
          {"algorithm", v.algorithm},
          {"fingerprint_sha256", v.fingerprint_hex},
          {"source", v.source},
          {"created", iso_time(v.created_at)},
          {"comment", v.comment},
          {"status", status_of(v)},
          {"reusable", v.reusable()},
          {"certificates", certs},
          {"requests", v.request_count},
          {"findings", findings}};
}

void print_key_table(std::ostream& out, const std::vector<const KeyVerdict*>& keys, bool with_status) {
  std::size_t name_w = 4;
  std::size_t alg_w = 9;
  for (const KeyVerdict* v : keys) {
    name_w = std::max(name_w, v->name.size());
    alg_w = std::max(alg_w, v->algorithm.size());
  }
  auto row = [&](const std::string& name, const std::string& alg, const std::string& fp,
                 const std::string& created, const std::string& status, const std::string& cert) {
    out << std::left << std::setw(static_cast<int>(name_w + 2)) << name
        << std::setw(static_cast<int>(alg_w + 2)) << alg << std::setw(18) << fp
        << std::setw(12) << created;
    if (with_status) out << std::setw(21) << status;
    out << cert << "\n";
  };
  row("NAME", "ALGORITHM", "FINGERPRINT", "CREATED", "STATUS", "CERTIFICATE");
  for (const KeyVerdict* v : keys) {
    const std::string fp = v->fingerprint_hex.empty() ? "(none)" : v->fingerprint_hex.substr(0, 16);
    row(v->name, v->algorithm, fp, date_only(v->created_at), status_of(*v), certificate_column(*v));
    if (with_status) print_findings(out, *v, "    ");
  }
}

namespace {

void print_finding_list(std::ostream& out, const std::vector<Finding>& findings, const std::string& indent) {
  for (const Finding& f : findings) {
    out << indent << (f.severity == Severity::Error ? "error" : "warning") << " [" << f.code_name()
        << "] " << f.message << "\n"
        << indent << "  fix: " << f.fix << "\n";
  }
}

}  // namespace

void print_findings(std::ostream& out, const KeyVerdict& v, const std::string& indent) {
  print_finding_list(out, v.findings, indent);
}

nlohmann::json to_json(const keystore::QuarantineEntry& q) {
  return {{"id", q.id},
          {"name", q.name},
          {"algorithm", q.algorithm},
          {"fingerprint_sha256", q.fingerprint_hex},
          {"origin_store_id", q.origin_store_id_hex},
          {"origin_key_id", q.origin_key_id},
          {"quarantined", iso_time(q.quarantined_at)},
          {"status", "quarantined"},
          {"reusable", false},
          {"findings", keystore::findings_to_json(q.findings)}};
}

void print_quarantine(std::ostream& out, const std::vector<keystore::QuarantineEntry>& entries,
                      const std::string& indent) {
  for (const keystore::QuarantineEntry& q : entries) {
    out << indent << "id " << q.id << ": " << q.name << " (" << q.algorithm << ", "
        << (q.fingerprint_hex.empty() ? "no fingerprint" : "SHA256:" + q.fingerprint_hex) << ")\n"
        << indent << "    quarantined " << iso_time(q.quarantined_at) << " by a restore from store "
        << q.origin_store_id_hex << "; never offered\n";
    if (q.findings.empty()) out << indent << "    (its findings are unreadable)\n";
    print_finding_list(out, q.findings, indent + "    ");
  }
}

void print_key_details(std::ostream& out, const KeyVerdict& v) {
  out << "Name:         " << v.name << "\n"
      << "Status:       " << status_of(v) << "\n"
      << "Algorithm:    " << v.algorithm << "\n"
      << "Fingerprint:  " << (v.fingerprint_hex.empty() ? "(none)" : "SHA256:" + v.fingerprint_hex) << "\n"
      << "Source:       " << v.source << "\n"
      << "Created:      " << iso_time(v.created_at) << "\n";
  if (!v.comment.empty()) out << "Comment:      " << v.comment << "\n";
  out << "Requests:     " << v.request_count << "\n";
  if (v.certificates.empty()) out << "Certificates: none\n";
  for (std::size_t i = 0; i < v.certificates.size(); ++i) {
    const auto& c = v.certificates[i];
    out << "Certificate " << i + 1 << " (" << c.role << "):\n";
    if (c.subject.empty()) {
      out << "  (does not parse)\n";
      continue;
    }
    out << "  Subject:    " << c.subject << "\n"
        << "  Issuer:     " << c.issuer << "\n"
        << "  Serial:     " << c.serial_hex << "\n"
        << "  Valid:      " << iso_time(c.not_before) << " to " << iso_time(c.not_after) << "\n";
  }
  if (!v.findings.empty()) {
    out << "Findings:\n";
    print_findings(out, v, "  ");
  }
}

}  // namespace signet::cli
