#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan+UBSan) and runs each for a bounded time,
# starting from its committed seed corpus (tests/fuzz/corpus/NAME, copied to a scratch corpus so
# that the repository is never written).
#
#   ./packaging/fuzz.sh [SECONDS_PER_TARGET]   default 60; build in ./build-fuzz
#   SIGNET_FUZZ_TARGETS="csr rest_json" ./packaging/fuzz.sh 30   only these targets
#
# Exits non-zero when any target finds a crash, a leak, a timeout or a sanitizer report, after
# printing the target's output and the reproducer to replay (`BUILD/tests/fuzz/NAME_fuzz FILE`).
# The corpora grown and the reproducers stay in BUILD/fuzz-run/ until the next run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

seconds=${1:-60}
case "$seconds" in
  -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
  ''|*[!0-9]*) echo "fuzz.sh: SECONDS_PER_TARGET must be a whole number, not '$seconds' (try --help)" >&2; exit 2 ;;
esac
build_dir=${SIGNET_FUZZ_BUILD_DIR:-$root/build-fuzz}

"$root/packaging/bootstrap.sh"

CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSIGNET_FUZZ=ON -DSIGNET_BUILD_BENCHMARKS=OFF >/dev/null
if [ -n "${SIGNET_FUZZ_TARGETS:-}" ]; then
  build_targets=()
  for name in $SIGNET_FUZZ_TARGETS; do build_targets+=("${name}_fuzz"); done
else
  build_targets=(signet_fuzz)
fi
cmake --build "$build_dir" -j "$(nproc)" --target "${build_targets[@]}"

run_dir="$build_dir/fuzz-run"
rm -rf "$run_dir"
mkdir -p "$run_dir"

# A sanitizer report ends the run with a non-zero status; libFuzzer saves the input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs one target; its exit status goes to $run_dir/NAME.status.
fuzz_one() {
  local name=$1 max_len=$2 status=0
  local binary="$build_dir/tests/fuzz/${name}_fuzz"
  local corpus="$run_dir/corpus/$name" artifacts="$run_dir/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  cp -R "$root/tests/fuzz/corpus/$name/." "$corpus/"
  # -timeout: one input taking longer than 25 s is a finding; timeout(1) bounds a hang outside
  # libFuzzer's own clock (the seeds are replayed before the clock starts).
  timeout -k 10 $((seconds + 300)) "$binary" -max_total_time="$seconds" -max_len="$max_len" -timeout=25 \
    -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" \
    >"$run_dir/$name.log" 2>&1 || status=$?
  echo "$status" >"$run_dir/$name.status"
}

# libFuzzer uses one core: as many targets run at once as there are cores.
names=()
running=0
while read -r name max_len; do
  if [ -n "${SIGNET_FUZZ_TARGETS:-}" ] && [[ " $SIGNET_FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  names+=("$name")
  echo "fuzz: $name for ${seconds}s (max_len $max_len)"
  fuzz_one "$name" "$max_len" &
  running=$((running + 1))
  if [ "$running" -ge "$(nproc)" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done <"$build_dir/tests/fuzz/targets.txt"
wait

failed=()
for name in "${names[@]}"; do
  status=$(cat "$run_dir/$name.status" 2>/dev/null || echo "no status")
  reproducers=$(find "$run_dir/artifacts/$name" -type f | sort)
  if [ "$status" != 0 ] || [ -n "$reproducers" ]; then
    failed+=("$name")
    echo "fuzz: $name FAILED (exit $status); its output ends:" >&2
    tail -n 80 "$run_dir/$name.log" >&2
    for r in $reproducers; do
      echo "fuzz: reproducer: $r (replay: $build_dir/tests/fuzz/${name}_fuzz $r)" >&2
    done
  else
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$run_dir/$name.log" | sed "s/^/fuzz: $name /" || true
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]} (logs in $run_dir)" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s without a finding"
