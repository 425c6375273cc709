#include "signet/core/error.h"

#include <openssl/err.h>

namespace signet {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::NotFound: return "not-found";
    case ErrorKind::Malformed: return "malformed";
    case ErrorKind::PolicyDenied: return "policy-denied";
    case ErrorKind::Unauthorized: return "unauthorized";
    case ErrorKind::Crypto: return "crypto";
    case ErrorKind::Storage: return "storage";
    case ErrorKind::Conflict: return "conflict";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::Integrity: return "integrity";
    case ErrorKind::Internal: return "internal";
  }
  return "internal";
}

Error::Error(ErrorKind kind, std::string code, const std::string& message, long native_code)
    : std::runtime_error(message), kind_(kind), code_(std::move(code)), native_code_(native_code) {}

std::string drain_openssl_errors() {
  std::string out;
  const char* file = nullptr;
  const char* func = nullptr;
  const char* data = nullptr;
  int line = 0;
  int flags = 0;
  unsigned long e = 0;
  while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // Keep the readable reason; the packed code prefix ("error:1E08010C:") helps nobody.
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason != nullptr ? reason : buf;
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      out += " (";
      out += data;
      out += ")";
    }
  }
  return out;
}

void throw_openssl(ErrorKind kind, std::string code, std::string_view what) {
  const unsigned long first = ERR_peek_error();
  std::string message(what);
  if (const std::string reasons = drain_openssl_errors(); !reasons.empty()) {
    message += ": ";
    message += reasons;
  }
  throw Error(kind, std::move(code), message, static_cast<long>(first));
}

}  // namespace signet
