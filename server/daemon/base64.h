// Base64 decoding for the OCSP GET route (RFC 6960 appendix A: the DER request, base64 encoded,
// then URL encoded, as the last path segments). Apart from public_routes.cpp so that the fuzz
// target tests/fuzz/ocsp_request_fuzz.cpp decodes exactly what the route decodes.
// Thread-safety: a pure function.
#pragma once

#include <optional>
#include <string_view>

#include "signet/core/bytes.h"

namespace signet::daemon {

// Standard base64 (RFC 4648 section 4), padding optional, no whitespace, at most 8192 characters.
// std::nullopt when the text is empty, too long or not base64.
[[nodiscard]] std::optional<Bytes> base64_decode(std::string_view text);

}  // namespace signet::daemon
