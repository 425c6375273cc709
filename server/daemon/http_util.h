// Small helpers shared by the router and the server (private to server/daemon).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace signet::daemon::detail {

// Decodes %XX escapes ('+' stays '+': this is a path, not a form). std::nullopt when an escape is
// truncated or not hexadecimal.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text);

// The path part of a request target (before '?').
[[nodiscard]] inline std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace signet::daemon::detail
