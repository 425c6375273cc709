#!/usr/bin/env bash
# One ACME order end to end, as a client's user waits for it: the wall time of `lego run` (new
# account, new order, http-01, finalize, download) and of `certbot certonly --standalone`, against
# signetd and, in the same run on the same machine, against Pebble (Let's Encrypt's test server).
#
# Usage: tests/bench/acme_order.sh BUILD_DIR [--runs N] [--certbot-runs N] [--no-pebble]
#   BUILD_DIR          a build with server/cli/signet and server/daemon/signetd
#   --runs N           hyperfine runs of each lego order (default 10; against Pebble at most 5,
#                      each takes about 6 s there)
#   --certbot-runs N   hyperfine runs of each certbot order (default 5)
#   --no-pebble        signetd only
#
# Sets up an ec-p256 CA with [acme] enabled in a temp dir, starts pebble-challtestsrv as the mock
# DNS (every name resolves to 127.0.0.1), signetd and Pebble, all on 127.0.0.1 (ports from
# SIGNET_ACME_BENCH_PORT, default 18700, to +8), checks that each server issues a certificate
# that verifies, then measures with hyperfine. Every run is a fresh client state (--prepare
# removes lego's --path or certbot's directories), so each order also registers a new account.
# Prints the medians as a Markdown table. Exits non-zero when a server does not start, a check
# fails or any measured run fails.
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR [--runs N] [--certbot-runs N] [--no-pebble]" >&2; exit 2; }
[ $# -ge 1 ] || usage
build=$(cd "$1" && pwd) || usage
shift
runs=10
certbot_runs=5
pebble=1
while [ $# -gt 0 ]; do
  case $1 in
    --runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --certbot-runs) [ $# -ge 2 ] || usage; certbot_runs=$2; shift 2 ;;
    --no-pebble) pebble=0; shift ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[0-9]+$ ]] && [ "$runs" -ge 1 ] || usage
[[ $certbot_runs =~ ^[0-9]+$ ]] && [ "$certbot_runs" -ge 1 ] || usage
pebble_runs=$((runs < 5 ? runs : 5))
die() { echo "acme_order.sh: $*" >&2; exit 1; }
signet=$build/server/cli/signet
signetd=$build/server/daemon/signetd
[ -x "$signet" ] && [ -x "$signetd" ] || die "no $signet or $signetd: build the signet and signetd targets first"
tools="lego certbot pebble-challtestsrv hyperfine jq curl openssl"
[ "$pebble" = 0 ] || tools="$tools pebble"
for tool in $tools; do command -v "$tool" >/dev/null || die "$tool is missing: run packaging/bootstrap.sh"; done

base=${SIGNET_ACME_BENCH_PORT:-18700}
http_port=$base https_port=$((base + 1)) http01_port=$((base + 2)) tlsalpn01_port=$((base + 3))
dns_port=$((base + 4)) mgmt_port=$((base + 5)) pebble_port=$((base + 6)) pebble_mgmt_port=$((base + 7))
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-acme-bench.XXXXXX")
chmod 700 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# No proxy for any of this: everything is on loopback.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*'

# --- the CA
d=$work/ca
(umask 077 && openssl rand -base64 32 >"$work/passphrase")
cat >"$work/answers.toml" <<EOT
mode = "new-key"
data_dir = "$d"
key_name = "acme-bench-ca"
algorithm = "ec-p256"
passphrase_source = "file"
passphrase_file = "$work/passphrase"
[identity]
common_name = "ACME Bench CA"
[daemon]
https_address = "127.0.0.1"
https_port = $https_port
http_address = "127.0.0.1"
http_port = $http_port
tls_names = ["localhost", "127.0.0.1"]
public_base_url = "http://127.0.0.1:$http_port"
EOT
SIGNET_DATA_DIR=$d SIGNET_PASSPHRASE_FILE=$work/passphrase \
  "$signet" setup --answers "$work/answers.toml" >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "signet setup failed"; }
cat >>"$d/signetd.toml" <<EOT

[log]
level = "warn"

[acme]
enabled = true
http01_port = $http01_port
tlsalpn01_port = $tlsalpn01_port
resolver = "127.0.0.1:$dns_port"
profile = "acme-web"
new_accounts_per_address_per_hour = 100000
orders_per_account_per_hour = 100000

[profiles.acme-web]
extended_key_usage = ["serverAuth"]
key_usage = ["digitalSignature", "keyEncipherment"]
dns_suffixes = ["example.com"]
ip_networks = ["127.0.0.0/8"]
allow_wildcards = true
EOT

# --- the servers
wait_for() {  # wait_for NAME LOG URL [CACERT]: until URL answers anything over HTTP(S)
  local i
  for i in $(seq 300); do
    curl -s ${4:+--cacert "$4"} -o /dev/null "$3" && return 0
    sleep 0.1
  done
  cat "$2" >&2
  die "$1 did not start"
}
pebble-challtestsrv -dns01 "127.0.0.1:$dns_port" -management "127.0.0.1:$mgmt_port" -http01 "" -https01 "" \
  -tlsalpn01 "" -defaultIPv6 "" >"$work/challtestsrv.log" 2>&1 &
pids+=($!)
"$signetd" --config "$d/signetd.toml" >"$work/signetd.log" 2>&1 &
signetd_pid=$!
pids+=($signetd_pid)
wait_for pebble-challtestsrv "$work/challtestsrv.log" "http://127.0.0.1:$mgmt_port/"
signetd_dir=https://127.0.0.1:$https_port/acme/directory
wait_for signetd "$work/signetd.log" "$signetd_dir" "$d/ca.pem"

if [ "$pebble" = 1 ]; then
  # Debian's pebble ships no test certificates: a throwaway CA and a localhost certificate for its
  # HTTPS listener. Pebble validates http-01 on the same port as signetd (one is measured at a time).
  p=$work/pebble
  mkdir "$p"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$p/ca.key" -out "$p/ca.pem" \
    -subj /CN=acme-bench-pebble-tls -days 2 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$p/tls.key" -out "$p/tls.csr" \
    -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$p/ext"
  openssl x509 -req -in "$p/tls.csr" -CA "$p/ca.pem" -CAkey "$p/ca.key" -CAcreateserial -days 2 \
    -extfile "$p/ext" -out "$p/tls.pem" 2>/dev/null
  cat >"$p/config.json" <<EOT
{"pebble": {"listenAddress": "127.0.0.1:$pebble_port", "managementListenAddress": "127.0.0.1:$pebble_mgmt_port",
  "certificate": "$p/tls.pem", "privateKey": "$p/tls.key", "httpPort": $http01_port, "tlsPort": $tlsalpn01_port,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOT
  # No artificial validation sleeps, real validation, no spurious badNonce, no authorization reuse.
  PEBBLE_VA_NOSLEEP=1 PEBBLE_VA_ALWAYS_VALID=0 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
    pebble -config "$p/config.json" -dnsserver "127.0.0.1:$dns_port" >"$work/pebble.log" 2>&1 &
  pids+=($!)
  pebble_dir=https://127.0.0.1:$pebble_port/dir
  wait_for pebble "$work/pebble.log" "$pebble_dir" "$p/ca.pem"
fi

# --- the commands measured (no shell: hyperfine -N)
lego_cmd() {  # lego_cmd DIRECTORY_URL TLS_CA
  echo "env LEGO_CA_CERTIFICATES=$2 lego --server $1 --email bench@example.com --accept-tos --path $work/lego" \
    "--domains order.example.com --http --http.port 127.0.0.1:$http01_port run"
}
certbot_cmd() {  # certbot_cmd DIRECTORY_URL TLS_CA
  echo "env REQUESTS_CA_BUNDLE=$2 certbot certonly --standalone --http-01-port $http01_port" \
    "--http-01-address 127.0.0.1 --server $1 -d certbot.example.com --agree-tos -m bench@example.com" \
    "--non-interactive --no-eff-email --config-dir $work/certbot/conf --work-dir $work/certbot/work" \
    "--logs-dir $work/certbot/logs"
}

# --- sanity: each server issues, and signetd's certificates verify
$(lego_cmd "$signetd_dir" "$d/ca.pem") >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; die "lego against signetd failed"; }
openssl verify -CAfile "$d/ca.pem" "$work/lego/certificates/order.example.com.crt" >/dev/null ||
  die "signetd's certificate for lego does not verify"
$(certbot_cmd "$signetd_dir" "$d/ca.pem") >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; die "certbot against signetd failed"; }
openssl verify -CAfile "$d/ca.pem" "$work/certbot/conf/live/certbot.example.com/cert.pem" >/dev/null ||
  die "signetd's certificate for certbot does not verify"
rm -rf "$work/lego" "$work/certbot"
if [ "$pebble" = 1 ]; then
  $(lego_cmd "$pebble_dir" "$p/ca.pem") >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; die "lego against Pebble failed"; }
  $(certbot_cmd "$pebble_dir" "$p/ca.pem") >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; die "certbot against Pebble failed"; }
  rm -rf "$work/lego" "$work/certbot"
fi

# --- the measurements
cpu_ticks() { awk '{print $14 + $15}' "/proc/$signetd_pid/stat"; }
hz=$(getconf CLK_TCK)
measure() {  # measure NAME RUNS JSON COMMAND
  echo "== $1 ($2 runs)" >&2
  hyperfine -N --style basic --runs "$2" --prepare "rm -rf $work/lego $work/certbot" \
    --export-json "$3" -n "$1" "$4" >&2
}
# Where certbot's time goes, from the debug log of its last run (timestamps to the millisecond):
# the ACME exchange from its first request to the certificate, and in it the waits certbot 2.1
# makes whatever the server does: 1 s before it polls the authorization, its standalone server's
# shutdown, 1 s after finalize before it polls the order.
certbot_phases() {  # certbot_phases LOG -> "exchange poll_wait stop_wait finalize_wait" in seconds
  awk '
    function t(line) { split(substr(line, 12, 12), a, /[:,]/); return a[1] * 3600 + a[2] * 60 + a[3] + a[4] / 1000 }
    !/^[0-9][0-9][0-9][0-9]-/ { next }
    /Sending GET request to/ && !first { first = t($0) }
    /Waiting for verification/ { waiting = t($0); after_wait = 0 }
    /Sending POST request/ && waiting && !after_wait { after_wait = t($0) }
    /Stopping server at/ { stop = t($0) }
    /Will poll for certificate issuance/ { polled = t($0) }
    /finalize.* HTTP\/1\.1" / { finalized = t($0); after_finalize = 0 }
    /Sending POST request/ && finalized && !after_finalize && t($0) > finalized { after_finalize = t($0) }
    / HTTP\/1\.1" / { last = t($0) }
    END { printf "%.3f %.3f %.3f %.3f\n", last - first, after_wait - waiting, polled - stop, after_finalize - finalized }
  ' "$1"
}
t0=$(cpu_ticks)
measure "lego → signetd" "$runs" "$work/lego-signetd.json" "$(lego_cmd "$signetd_dir" "$d/ca.pem")"
t1=$(cpu_ticks)
measure "certbot → signetd" "$certbot_runs" "$work/certbot-signetd.json" "$(certbot_cmd "$signetd_dir" "$d/ca.pem")"
t2=$(cpu_ticks)
phases_signetd=$(certbot_phases "$work/certbot/logs/letsencrypt.log")
phases_pebble=
# certbot's fixed cost before it sends anything: the interpreter and its imports.
hyperfine -N --style basic --runs 5 --export-json "$work/certbot-version.json" -n "certbot --version" \
  "certbot --version" >&2
if [ "$pebble" = 1 ]; then
  measure "lego → Pebble" "$pebble_runs" "$work/lego-pebble.json" "$(lego_cmd "$pebble_dir" "$p/ca.pem")"
  measure "certbot → Pebble" "$certbot_runs" "$work/certbot-pebble.json" "$(certbot_cmd "$pebble_dir" "$p/ca.pem")"
  phases_pebble=$(certbot_phases "$work/certbot/logs/letsencrypt.log")
fi

median() { jq -r '.results[0] | "\(.median) \(.min) \(.max)"' "$1"; }
row() {  # row CLIENT JSON_SIGNETD JSON_PEBBLE TARGET CPU_TICKS RUNS
  local s pb
  read -r sm smin smax <<<"$(median "$2")"
  s=$(awk -v m="$sm" -v a="$smin" -v b="$smax" 'BEGIN {printf "%.3f s (%.3f to %.3f)", m, a, b}')
  pb="-"
  if [ -f "$3" ]; then
    read -r pm pmin pmax <<<"$(median "$3")"
    pb=$(awk -v m="$pm" -v a="$pmin" -v b="$pmax" 'BEGIN {printf "%.3f s (%.3f to %.3f)", m, a, b}')
  fi
  local met
  met=$(awk -v m="$sm" -v t="$4" 'BEGIN {print (m <= t) ? "met" : "**missed**"}')
  local cpu
  cpu=$(awk -v t="$5" -v hz="$hz" -v n="$6" 'BEGIN {printf "%.1f ms", 1000 * t / hz / n}')
  echo "| $1 | $s | $pb | ≤ $4 s: $met | $cpu |"
}
echo
echo "| client | signetd median (min to max) | Pebble median (min to max) | target (signetd) | signetd CPU per order |"
echo "|---|---|---|---|---|"
row lego "$work/lego-signetd.json" "$work/lego-pebble.json" 1.0 $((t1 - t0)) "$runs"
row certbot "$work/certbot-signetd.json" "$work/certbot-pebble.json" 3.0 $((t2 - t1)) "$certbot_runs"
read -r vm _ _ <<<"$(median "$work/certbot-version.json")"
echo
echo "certbot's last run, from its log: the ACME exchange (first request to certificate) and its fixed waits"
echo
echo "| server | exchange | wait before polling the authorization | standalone server shutdown | wait after finalize | the rest (server and client work) |"
echo "|---|---|---|---|---|---|"
phase_row() {
  [ -n "$2" ] || return 0
  read -r ex w1 st w2 <<<"$2"
  awk -v n="$1" -v ex="$ex" -v w1="$w1" -v st="$st" -v w2="$w2" \
    'BEGIN {printf "| %s | %.3f s | %.3f s | %.3f s | %.3f s | %.3f s |\n", n, ex, w1, st, w2, ex - w1 - st - w2}'
}
phase_row signetd "$phases_signetd"
phase_row Pebble "$phases_pebble"
awk -v m="$vm" 'BEGIN {printf "\n`certbot --version` (interpreter and imports): %.3f s median\n", m}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
