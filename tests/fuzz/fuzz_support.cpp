// Helpers shared by the fuzz targets (see fuzz_support.h).
#include "fuzz_support.h"

#include <unistd.h>

#include <system_error>
#include <typeinfo>
#include <vector>

namespace signet::fuzz {
namespace {

struct Scratch {
  std::filesystem::path path;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/signet-fuzz-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path = buf.data();
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::filesystem::path& scratch_dir() {
  static const Scratch scratch;
  return scratch.path;
}

void unexpected_exception(std::string_view what_parser) {
  std::string what = "unknown";
  try {
    throw;
  } catch (const std::exception& e) {
    what = std::string(typeid(e).name()) + ": " + e.what();
  } catch (...) {
  }
  fail(__FILE__, __LINE__, "only signet::Error escapes",
       std::string(what_parser) + " threw something other than signet::Error: " + what);
}

}  // namespace signet::fuzz
