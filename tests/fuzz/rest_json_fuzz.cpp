// libFuzzer target: the JSON bodies of signetd's REST API (server/daemon/api_body.h): the
// issuance request (POST /api/v1/certificates) and the revocation (POST .../revoke), and the CSR
// an accepted issuance body carries, through issuance::parse_csr (PEM or DER).
//
// Checks: no crash or sanitizer report (deeply nested JSON included); only signet::Error is
// thrown; an accepted body has the fields the handler goes on to use.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api_body.h"
#include "fuzz_support.h"
#include "signet/core/error.h"
#include "signet/issuance/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = signet::fuzz::as_text(data, size);
  try {
    const signet::daemon::IssueBody body = signet::daemon::parse_issue_body(text);
    try {
      (void)signet::issuance::parse_csr(body.csr);
    } catch (const signet::Error&) {
    }
  } catch (const signet::Error& e) {
    FUZZ_CHECK(!e.code().empty(), "an error without a code");
  } catch (...) {
    signet::fuzz::unexpected_exception("parse_issue_body");
  }
  try {
    (void)signet::daemon::parse_revoke_body(text);
  } catch (const signet::Error&) {
  } catch (...) {
    signet::fuzz::unexpected_exception("parse_revoke_body");
  }
  return 0;
}
