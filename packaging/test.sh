#!/usr/bin/env bash
# Builds Signet and runs every test: the ctest labels unit, gui and integration.
# Benchmarks and fuzz targets are built but not run (see tests/bench/README.md).
#
#   ./packaging/test.sh              RelWithDebInfo build in ./build
#   ./packaging/test.sh --sanitize   ASan+UBSan build in ./build-sanitize
#
# Exits non-zero on any build or test failure. With CI=true, warnings are errors.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

sanitize=OFF
build_dir="$root/build"
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON; build_dir="$root/build-sanitize" ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

"$root/packaging/bootstrap.sh"

jobs=$(nproc)
bench=ON
[ "$sanitize" = ON ] && bench=OFF   # benchmarks under ASan measure nothing useful
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSIGNET_SANITIZE="$sanitize" -DSIGNET_BUILD_BENCHMARKS="$bench"
cmake --build "$build_dir" -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" -L 'unit|gui|integration' --output-on-failure \
  -j "$jobs" --timeout 600
