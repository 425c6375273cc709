#include "signet/core/version.h"

#include <openssl/crypto.h>
#include <sqlite3.h>

#ifndef SIGNET_PROJECT_VERSION
#error "SIGNET_PROJECT_VERSION must be defined for this file (common/CMakeLists.txt)"
#endif

namespace signet {

std::string_view project_version() { return SIGNET_PROJECT_VERSION; }

std::string openssl_runtime_version() { return OpenSSL_version(OPENSSL_VERSION); }

std::string sqlite_runtime_version() { return sqlite3_libversion(); }

std::string version_text(std::string_view program) {
  return std::string(program) + " " + std::string(project_version()) + " (" + openssl_runtime_version() +
         ", SQLite " + sqlite_runtime_version() + ")";
}

}  // namespace signet
