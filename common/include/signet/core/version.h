// What `--version` prints, the same for every program (signet, signetd, signet-setup): the
// project's version and the versions of the OpenSSL and SQLite libraries loaded at run time.
// The run-time versions matter because Debian updates those libraries under an installed
// binary (a security fix in libssl3 needs no rebuild of Signet), so the build-time version would
// mislead whoever reads a bug report.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace signet {

// The project version from CMake's project(VERSION ...), e.g. "0.1.0".
[[nodiscard]] std::string_view project_version();

// OpenSSL_version(OPENSSL_VERSION) of the libcrypto in use, e.g. "OpenSSL 3.0.11 19 Sep 2023".
[[nodiscard]] std::string openssl_runtime_version();

// sqlite3_libversion() of the libsqlite3 in use, e.g. "3.40.1".
[[nodiscard]] std::string sqlite_runtime_version();

// "PROGRAM VERSION (OPENSSL, SQLite SQLITE)", e.g.
// "signet 0.1.0 (OpenSSL 3.0.11 19 Sep 2023, SQLite 3.40.1)", without a line ending.
[[nodiscard]] std::string version_text(std::string_view program);

}  // namespace signet
