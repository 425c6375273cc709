#!/usr/bin/env bash
# Attack load: an anonymous client floods signetd's /ocsp with requests for random serials (each
# one a cache miss), and relying parties ask about a real certificate meanwhile.
#
# Usage: tests/bench/ocsp_flood.sh BUILD_DIR [--duration N] [--signatures-per-second N]
#   BUILD_DIR                    a build with server/cli/signet and server/daemon/signetd
#   --duration N                 seconds of flood (default 15)
#   --signatures-per-second N    signetd's [ocsp] signatures_per_second (default: its default)
#
# Sets up an ec-p256 CA in a temp dir, issues one certificate, starts signetd on 127.0.0.1
# (SIGNET_FLOOD_PORT, default 18580, and +1 for HTTPS), makes 1000 requests for random serials with
# `openssl ocsp`, and floods with wrk (-t2 -c16, tests/bench/ocsp.lua) while `openssl ocsp` asks
# about the real certificate once a second. Prints the requests answered, the responses signed a
# second (what the flood costs the CA key), signetd's CPU and RSS, and whether every relying
# party's answer was a verified "good". Exits non-zero when one was not.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 BUILD_DIR [--duration N] [--signatures-per-second N]" >&2; exit 2; }
[ $# -ge 1 ] || usage
build=$(cd "$1" && pwd) || usage
shift
duration=15
budget=
while [ $# -gt 0 ]; do
  case $1 in
    --duration) [ $# -ge 2 ] || usage; duration=$2; shift 2 ;;
    --signatures-per-second) [ $# -ge 2 ] || usage; budget=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -ge 1 ] || usage
[ -z "$budget" ] || [[ $budget =~ ^[0-9]+$ ]] || usage
die() { echo "ocsp_flood.sh: $*" >&2; exit 1; }
signet=$build/server/cli/signet
signetd=$build/server/daemon/signetd
[ -x "$signet" ] && [ -x "$signetd" ] || die "no $signet or $signetd: build the signet and signetd targets first"
for tool in wrk curl openssl; do command -v "$tool" >/dev/null || die "$tool is missing: run packaging/bootstrap.sh"; done

port=${SIGNET_FLOOD_PORT:-18580}
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-ocsp-flood.XXXXXX")
chmod 700 "$work"
spid=
cleanup() { [ -z "$spid" ] || kill "$spid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

d=$work/ca
(umask 077 && openssl rand -base64 32 >"$work/passphrase")
cat >"$work/answers.toml" <<EOT
mode = "new-key"
data_dir = "$d"
key_name = "flood-ca"
algorithm = "ec-p256"
passphrase_source = "file"
passphrase_file = "$work/passphrase"
[identity]
common_name = "OCSP Flood CA"
[daemon]
https_address = "127.0.0.1"
https_port = $((port + 1))
http_address = "127.0.0.1"
http_port = $port
tls_names = ["127.0.0.1"]
public_base_url = "http://127.0.0.1:$port"
EOT
export SIGNET_DATA_DIR=$d SIGNET_PASSPHRASE_FILE=$work/passphrase
"$signet" setup --answers "$work/answers.toml" >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "signet setup failed"; }
printf '\n[log]\nlevel = "warn"\n' >>"$d/signetd.toml"
[ -z "$budget" ] || printf '[ocsp]\nsignatures_per_second = %s\n' "$budget" >>"$d/signetd.toml"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
  -subj /CN=leaf.example.test -addext subjectAltName=DNS:leaf.example.test -out "$work/leaf.csr" 2>/dev/null
"$signet" issue --csr "$work/leaf.csr" --profile server-tls --out "$work/leaf.pem" >/dev/null
"$signetd" --config "$d/signetd.toml" 2>"$work/signetd.log" &
spid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/signetd.log" >&2; die "signetd did not start"; }

for i in $(seq 1000); do
  openssl ocsp -issuer "$d/ca.pem" -serial "0x$(openssl rand -hex 16)" -reqout "$work/r$i.der" -no_nonce 2>/dev/null
  echo "$work/r$i.der"
done >"$work/requests"

signed() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^signet_ocsp_signatures_total/ {s += $2} END {print s + 0}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
signed0=$(signed)
ticks0=$(cpu_ticks)
BENCH_OCSP_REQS=$work/requests timeout $((duration + 30)) wrk -t2 -c16 -d"${duration}s" -s "$here/ocsp.lua" \
  "http://127.0.0.1:$port" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
asked=0
good=0
sleep 1
while kill -0 "$wrk_pid" 2>/dev/null && [ "$asked" -lt "$duration" ]; do
  asked=$((asked + 1))
  if openssl ocsp -issuer "$d/ca.pem" -cert "$work/leaf.pem" -url "http://127.0.0.1:$port/ocsp" -CAfile "$d/ca.pem" \
      >"$work/rp.out" 2>&1 && grep -q 'Response verify OK' "$work/rp.out" && grep -q 'leaf.pem: good' "$work/rp.out"; then
    good=$((good + 1))
  fi
  sleep 1
done
wait "$wrk_pid" || true
ticks1=$(cpu_ticks)
signed1=$(signed)
requests=$(awk '/^RESULT/ {for (i = 2; i <= NF; i++) if ($i ~ /^requests=/) {sub("requests=", "", $i); print $i}}' "$work/wrk.out")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$spid/status")
hz=$(getconf CLK_TCK)
echo "| flood | requests/s | responses signed/s | signetd CPU (cores) | RSS (MiB) | relying party good |"
echo "|---|---|---|---|---|---|"
awk -v r="${requests:-0}" -v s=$((signed1 - signed0)) -v t=$((ticks1 - ticks0)) -v hz="$hz" -v d="$duration" \
  -v rss="$rss" -v good="$good" -v asked="$asked" \
  'BEGIN {printf "| random serials, %ds | %.0f | %.0f | %.2f | %.0f | %d of %d |\n", d, r / d, s / d, t / hz / d, rss / 1024, good, asked}'
[ "$asked" -gt 0 ] && [ "$good" -eq "$asked" ] || die "a relying party did not get a verified 'good' during the flood (last: $(cat "$work/rp.out"))"
