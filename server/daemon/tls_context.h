// The HTTPS listener's TLS context: TLS 1.2+ with ECDHE and AEAD ciphers only, no compression or
// renegotiation, the configured certificate chain and key, and a client certificate requested but
// not required (the API decides what one proves).
// Thread-safety: load_tls_context is reentrant; a context is shared read-only by connections.
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "config.h"

namespace signet::daemon {

// Throws Error(NotFound, "tls-file-missing") or Error(Crypto, "tls-invalid"), naming the file.
[[nodiscard]] std::shared_ptr<boost::asio::ssl::context> load_tls_context(const Config& config);

}  // namespace signet::daemon
