// Small helpers shared by the libFuzzer targets in this folder (see CMakeLists.txt here).
//
// A target checks properties with FUZZ_CHECK: when one fails it prints what was expected and
// aborts, which libFuzzer reports as a crash and saves the input as a reproducer.
// Thread-safety: libFuzzer calls a target from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>

#include "signet/core/bytes.h"

namespace signet::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* condition, const std::string& why) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", file, line, condition, why.c_str());
  std::abort();
}

#define FUZZ_CHECK(condition, why)                                           \
  do {                                                                       \
    if (!(condition)) ::signet::fuzz::fail(__FILE__, __LINE__, #condition, (why)); \
  } while (false)

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A private directory for the files a target needs (made once per process, under $TMPDIR or
// /tmp, removed at exit).
const std::filesystem::path& scratch_dir();

// An exception other than signet::Error out of a parser of outside input is a defect: the caller
// would turn it into a 500 with no useful message, or not catch it at all.
[[noreturn]] void unexpected_exception(std::string_view what_parser);

}  // namespace signet::fuzz
