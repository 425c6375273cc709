// Capturing a signet::Error thrown by a statement, so that a test can assert its kind(), code()
// and message in plain EXPECT_* lines.
// Thread-safety: reentrant.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>

#include "signet/core/error.h"

namespace signet {

// Lets gtest print an ErrorKind by name ("storage") rather than as a number.
inline void PrintTo(ErrorKind kind, std::ostream* os) { *os << to_string(kind); }

namespace test {

// Runs `f` and returns the signet::Error it throws. When it throws nothing, records a test failure
// and returns an Error with code "no-error-thrown", which no assertion on a real code will accept.
// Any other exception propagates (gtest reports it as a failure with its message).
template <typename F>
[[nodiscard]] Error capture_error(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a signet::Error, but nothing was thrown";
  return Error(ErrorKind::Internal, "no-error-thrown", "no error was thrown");
}

}  // namespace test
}  // namespace signet
