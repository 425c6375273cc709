#!/usr/bin/env bash
# Installs the Debian 12 packages that Signet's build and tests need.
# Idempotent and non-interactive: runs `apt-get update` only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config   # toolchain (GCC 12, CMake 3.25)
  libssl-dev openssl                             # OpenSSL 3: the library, and the CLI the tests use
  libsqlite3-dev sqlite3                         # key store; sqlite3 edits stores in tests
  libgtest-dev libgmock-dev libbenchmark-dev     # tests and benchmarks
  libcli11-dev nlohmann-json3-dev                # CLI parsing, JSON output
  libtomlplusplus-dev                            # answers files and the daemon configuration (TOML)
  libboost-dev libboost-system-dev               # signetd's HTTP server (Boost.Beast and Asio 1.74)
  libspdlog-dev                                  # signetd's log (stderr)
  curl wrk                                       # HTTP tests against signetd; load testing
  jq                                             # quickstart: JSON on the command line
  util-linux                                     # mount: tmpfs for full-disk and read-only tests
  qt6-base-dev                                   # signet-setup: Qt 6 Widgets, Concurrent, Test
  libgl-dev libglx-dev libvulkan-dev             # needed by Qt6Gui's CMake configuration
  qt6-qpa-plugins                                # the offscreen platform for the GUI tests
  fonts-dejavu-core                              # readable text in offscreen GUI screenshots
  valgrind                                       # the GUI test under memcheck (errors inside Qt)
  libpsl-dev publicsuffix                        # no wildcard directly under a public suffix (libpsl, Debian's list)
  libidn2-dev                                    # IDNA2008: an "xn--" label must be a valid A-label
  libc-ares-dev                                  # ACME validation: DNS through the configured resolver
  libpq-dev                                      # the PostgreSQL ledger (several signetd nodes, one database)
  postgresql-15                                  # tests start their own server (initdb, pg_ctl) on loopback
  certbot lego                                   # real ACME clients, run against signetd by the tests
  pebble                                         # pebble-challtestsrv (mock DNS for dns-01 tests); Pebble, the peer
  hyperfine                                      # ACME benchmark: wall time of a client's full order
  debhelper dpkg-dev lintian desktop-file-utils  # packaging/build-deb.sh: the .debs, and lintian on them
  clang libfuzzer-14-dev libclang-rt-14-dev      # libFuzzer targets under tests/fuzz (ASan+UBSan)
)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "bootstrap: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
