// libFuzzer target: the setup answers file (`signet setup --answers FILE.toml`), through
// setup::parse_answers, and its writer setup::to_answers.
//
// Checks: no crash or sanitizer report; only signet::Error is thrown; and what is accepted
// round-trips: the answers written for the plan read back, and writing them again gives the same
// text (so the wizard's "save answers" and a replay agree).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "signet/core/error.h"
#include "signet/setup/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string written;
  try {
    const signet::setup::SetupPlan plan =
        signet::setup::parse_answers(signet::fuzz::as_text(data, size), "/etc/signet/answers.toml");
    written = signet::setup::to_answers(plan);
  } catch (const signet::Error&) {
    return 0;
  } catch (...) {
    signet::fuzz::unexpected_exception("parse_answers");
  }
  try {
    const std::string again = signet::setup::to_answers(signet::setup::parse_answers(written, "/etc/signet/answers.toml"));
    FUZZ_CHECK(again == written, "the written answers change when read and written again:\n" + written + "\n---\n" + again);
  } catch (const signet::Error& e) {
    signet::fuzz::fail(__FILE__, __LINE__, "written answers read back",
                       std::string("to_answers wrote what parse_answers refuses (") + e.code() + ": " + e.what() +
                           "):\n" + written);
  }
  return 0;
}
