#include "signet/keystore/findings_json.h"

namespace signet::keystore {

nlohmann::json findings_to_json(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const Finding& f : findings) {
    out.push_back({{"code", f.code_name()},
                   {"severity", f.severity == Severity::Error ? "error" : "warning"},
                   {"message", f.message},
                   {"fix", f.fix}});
  }
  return out;
}

std::vector<Finding> findings_from_json(const nlohmann::json& json) {
  std::vector<Finding> out;
  for (const auto& f : json) {
    const std::string code = f.value("code", "");
    FindingCode fc = FindingCode::CiphertextAuthFailed;
    for (const FindingCode c : all_finding_codes()) {
      if (code_string(c) == code) fc = c;
    }
    out.push_back(Finding{fc, f.value("severity", "error") == "warning" ? Severity::Warning : Severity::Error,
                          f.value("message", ""), f.value("fix", "")});
  }
  return out;
}

}  // namespace signet::keystore
