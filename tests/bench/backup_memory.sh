#!/usr/bin/env bash
# Peak memory (maximum resident set size) and wall time of the real `signet backup create` and
# `signet backup restore` on the cached 1,000-key + 100,000-row store that backup_bench builds.
# Usage: tests/bench/backup_memory.sh BUILD_DIR   (run signet_backup_bench once first)
set -euo pipefail
build=${1:?usage: backup_memory.sh BUILD_DIR}
signet="$build/server/cli/signet"
cache=${SIGNET_BENCH_CACHE:-/tmp/signet-bench-cache}
src="$cache/backup-keys-1000-rows"
[ -f "$src/signet.db" ] || { echo "run $build/tests/bench/signet_backup_bench first" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'signet-benchmark-passphrase\n' > "$work/pass"
chmod 600 "$work/pass"
measure() {  # label, command...
  local label=$1; shift
  /usr/bin/time -f "%M %e" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r kib secs < "$work/time"
  printf '%-34s peak RSS %6d MiB   wall %6.2f s\n' "$label" $((kib / 1024)) "$secs"
}
echo "store: $(du -sh "$src/signet.db" | cut -f1) ($src)"
measure "backup create (1k keys, 100k rows)" "$signet" --data-dir "$src" --passphrase-file "$work/pass" \
  backup create --out "$work/b.bak" --backup-passphrase-file "$work/pass" --insecure-fast-kdf
echo "backup file: $(du -sh "$work/b.bak" | cut -f1)"
# The target is created first with the test KDF: scrypt at the default cost needs 128 MiB by
# itself, which would hide what the restore uses.
"$signet" --data-dir "$work/target" --passphrase-file "$work/pass" store init --insecure-fast-kdf >/dev/null 2>&1
measure "backup restore into an empty store" "$signet" --data-dir "$work/target" --passphrase-file "$work/pass" \
  backup restore "$work/b.bak" --backup-passphrase-file "$work/pass"
measure "backup restore again (no change)" "$signet" --data-dir "$work/target" --passphrase-file "$work/pass" \
  backup restore "$work/b.bak" --backup-passphrase-file "$work/pass"
