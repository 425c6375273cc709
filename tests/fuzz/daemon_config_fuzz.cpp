// libFuzzer target: signetd.toml, through daemon::parse_config (the daemon at start, `signetd
// --check`, setup, and a restore that carries a backup's configuration all read it this way).
//
// Checks: no crash or sanitizer report; a text that is not a valid configuration throws
// signet::Error and nothing else (toml++'s own parse_error, a std::out_of_range from a number
// conversion or the like would escape its callers' handling).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "signet/core/error.h"
#include "signet/setup/daemon_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)signet::daemon::parse_config(signet::fuzz::as_text(data, size), "/etc/signet/signetd.toml");
  } catch (const signet::Error&) {
  } catch (...) {
    signet::fuzz::unexpected_exception("parse_config");
  }
  return 0;
}
