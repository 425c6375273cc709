#!/usr/bin/env bash
# ACME load: complete orders a second against signetd, many accounts, http-01 answered by a local
# responder (tests/bench/acme_load.cpp, built as signet_acme_load with SIGNET_BUILD_BENCHMARKS=ON).
#
# Usage: tests/bench/acme_load.sh BUILD_DIR [--seconds N] [--workers N]
#   BUILD_DIR       a build with signet, signetd and tests/bench/signet_acme_load
#   --seconds N     how long orders are made (default 15)
#   --workers N     clients at once, each with its own account and connection (default 32)
#
# Sets up an ec-p256 CA with ACME in a temp dir, pebble-challtestsrv as the DNS it resolves names
# with (every name is 127.0.0.1), starts signetd on 127.0.0.1 (SIGNET_ACME_LOAD_PORT, default
# 18680, +1 for HTTP, +2 for the responder, +3/+4 for the DNS) with log level warn, and prints the
# orders completed a second, signetd's CPU per order and its RSS.
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR [--seconds N] [--workers N]" >&2; exit 2; }
[ $# -ge 1 ] || usage
build=$(cd "$1" && pwd) || usage
shift
seconds=15
workers=32
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
    --workers) [ $# -ge 2 ] || usage; workers=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] && [ "$seconds" -le 600 ] || usage
[[ $workers =~ ^[0-9]+$ ]] && [ "$workers" -ge 1 ] && [ "$workers" -le 512 ] || usage
die() { echo "acme_load.sh: $*" >&2; exit 1; }
signet=$build/server/cli/signet
signetd=$build/server/daemon/signetd
load=$build/tests/bench/signet_acme_load
for f in "$signet" "$signetd" "$load"; do [ -x "$f" ] || die "no $f: build with -DSIGNET_BUILD_BENCHMARKS=ON"; done
command -v pebble-challtestsrv >/dev/null || die "pebble-challtestsrv is missing: run packaging/bootstrap.sh"

port=${SIGNET_ACME_LOAD_PORT:-18680}
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-acme-load.XXXXXX")
chmod 700 "$work"
spid=
dpid=
cleanup() {
  for p in $spid $dpid; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

d=$work/ca
(umask 077 && openssl rand -base64 32 >"$work/passphrase")
cat >"$work/answers.toml" <<EOT
mode = "new-key"
data_dir = "$d"
key_name = "acme-load-ca"
algorithm = "ec-p256"
passphrase_source = "file"
passphrase_file = "$work/passphrase"
[identity]
common_name = "ACME Load CA"
[daemon]
https_address = "127.0.0.1"
https_port = $port
http_address = "127.0.0.1"
http_port = $((port + 1))
tls_names = ["127.0.0.1"]
public_base_url = "http://127.0.0.1:$((port + 1))"
EOT
export SIGNET_DATA_DIR=$d SIGNET_PASSPHRASE_FILE=$work/passphrase
"$signet" setup --answers "$work/answers.toml" >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "signet setup failed"; }
cat >>"$d/signetd.toml" <<EOT

[log]
level = "warn"

[acme]
enabled = true
profile = "acme-load"
http01_port = $((port + 2))
resolver = "127.0.0.1:$((port + 3))"
orders_per_account_per_hour = 100000000
pending_authorizations_per_account = 100000000
new_accounts_per_address_per_hour = 100000

[profiles.acme-load]
extended_key_usage = ["serverAuth"]
key_usage = ["digitalSignature"]
dns_suffixes = ["example.com"]
default_validity = "7d"
key_types = ["ec-p256"]
EOT
pebble-challtestsrv -dns01 "127.0.0.1:$((port + 3))" -management "127.0.0.1:$((port + 4))" -http01 "" -https01 "" \
  -tlsalpn01 "" -defaultIPv6 "" >"$work/challtestsrv.log" 2>&1 &
dpid=$!
"$signetd" --config "$d/signetd.toml" 2>"$work/signetd.log" &
spid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((port + 1))/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$((port + 1))/healthz" >/dev/null || { cat "$work/signetd.log" >&2; die "signetd did not start"; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
ticks0=$(cpu_ticks)
timeout $((seconds + 60)) "$load" "https://127.0.0.1:$port" "$d/ca.pem" $((port + 2)) --workers "$workers" \
  --seconds "$seconds" | tee "$work/load.out"
ticks1=$(cpu_ticks)
orders=$(awk '/complete orders/ {print $(NF-4)}' "$work/load.out")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$spid/status")
hz=$(getconf CLK_TCK)
echo "| workers | seconds | complete orders/s | signetd CPU per order (ms) | signetd RSS (MiB) |"
echo "|---|---|---|---|---|"
awk -v o="${orders:-0}" -v t=$((ticks1 - ticks0)) -v hz="$hz" -v s="$seconds" -v w="$workers" -v rss="$rss" \
  'BEGIN {printf "| %d | %d | %.0f | %.2f | %.0f |\n", w, s, o / s, (o > 0 ? t / hz * 1000 / o : 0), rss / 1024}'
