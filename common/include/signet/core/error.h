// signet::Error: the one error type that crosses layers.
//
// Every failure in common/ is reported as a signet::Error. Its kind() says what sort of failure it
// is (the HTTP layer maps it to a status, the CLI to an exit code); code() is a stable,
// machine-readable identifier such as "private-key-missing" or "wrong-passphrase" that scripts and
// tests may match on; what() is the operator-facing message, which says what is wrong and what to
// do. native_code() carries the OpenSSL or SQLite code when there is one.
//
// Thread-safety: immutable value, safe to share.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace signet {

enum class ErrorKind {
  NotFound,      // the thing asked for does not exist
  Malformed,     // input could not be parsed or is structurally wrong
  PolicyDenied,  // well-formed, but refused by policy (weak key, name not allowed, ...)
  Unauthorized,  // wrong passphrase, bad token
  Crypto,        // a cryptographic operation failed
  Storage,       // the disk or the database failed (full, read-only, corrupt)
  Conflict,      // the request clashes with existing state (name taken, store exists)
  Unsupported,   // a valid input that this build does not handle (newer schema, algorithm)
  Integrity,     // stored data failed an integrity check
  Internal,      // a bug
};

[[nodiscard]] std::string_view to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string code, const std::string& message, long native_code = 0);

  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& code() const noexcept { return code_; }
  [[nodiscard]] long native_code() const noexcept { return native_code_; }

 private:
  ErrorKind kind_;
  std::string code_;
  long native_code_;
};

// Throws an Error of the given kind whose message is `what` followed by the reasons drained from
// the calling thread's OpenSSL error queue (the queue is left empty).
[[noreturn]] void throw_openssl(ErrorKind kind, std::string code, std::string_view what);

// Drains the calling thread's OpenSSL error queue into a human-readable string ("" when empty).
[[nodiscard]] std::string drain_openssl_errors();

}  // namespace signet
