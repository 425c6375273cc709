#!/usr/bin/env bash
# Load test: signetd and CFSSL side by side, with wrk and the Lua scripts in this folder.
#
# Usage: tests/bench/load.sh BUILD_DIR [--duration N] [--quick] [--log-level LEVEL]
#   BUILD_DIR        a build with server/cli/signet and server/daemon/signetd (Release, see
#                    README.md); nothing is built here
#   --duration N     seconds per wrk run (default 20); --quick is --duration 5
#   --log-level L    signetd's [log] level during the runs (default warn: no line per request;
#                    info logs every request to stderr, which goes to a file in the work dir)
#
# For an ec-p256 CA and then an rsa-2048 CA (each a fresh `signet setup` in a temp dir, and a
# `cfssl gencert -initca` CA of the same algorithm), it runs signetd and `cfssl serve`/`cfssl
# ocspserve` and measures: issuance at 1, 4 and 16 keep-alive connections (wrk -t1 at c=1, -t2
# otherwise), OCSP POST and GET at c=16, and signetd's RSS when idle, before and after the load.
# Prints one Markdown table. Everything listens on 127.0.0.1; wrk shares the machine's cores with
# the servers. Exits non-zero when a server does not start, a sanity check fails, or any run had
# an error (a non-success status or a socket error: the table shows which).
#
# The CAs' stores live under $TMPDIR (default /tmp, here on disk: signetd commits every issuance
# with fsync); TMPDIR=/dev/shm puts them on tmpfs, which takes the disk out of the figures.
#
# Ports (all on 127.0.0.1, must be free): SIGNET_LOAD_PORT_BASE (default 18000): ec-p256 uses
# base+443/base+80 (signetd HTTPS/HTTP) and base+888/base+889 (cfssl serve/ocspserve), rsa-2048
# the same plus one.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 BUILD_DIR [--duration N] [--quick] [--log-level debug|info|warn|error]" >&2; exit 2; }
[ $# -ge 1 ] || usage
build=$(cd "$1" && pwd) || usage
shift
duration=20
log_level=warn
while [ $# -gt 0 ]; do
  case $1 in
    --duration) [ $# -ge 2 ] || usage; duration=$2; shift 2 ;;
    --quick) duration=5; shift ;;
    --log-level) [ $# -ge 2 ] || usage; log_level=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -ge 1 ] || usage

die() { echo "load.sh: $*" >&2; exit 1; }

signet=$build/server/cli/signet
signetd=$build/server/daemon/signetd
[ -x "$signet" ] && [ -x "$signetd" ] || die "no $signet or $signetd: build the signet and signetd targets first"
for tool in wrk curl jq openssl; do
  command -v "$tool" >/dev/null || die "$tool is missing: run packaging/bootstrap.sh"
done
# CFSSL, the peer (Debian's golang-cfssl): installed only when missing, like bootstrap.sh does.
if [ "$(dpkg-query -W -f='${db:Status-Status}' golang-cfssl 2>/dev/null || true)" != "installed" ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install golang-cfssl"
    sudo=(sudo)
  fi
  echo "load.sh: installing golang-cfssl" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends golang-cfssl >/dev/null
fi
command -v cfssl >/dev/null && command -v cfssljson >/dev/null || die "cfssl/cfssljson not found after installing golang-cfssl"

port_base=${SIGNET_LOAD_PORT_BASE:-18000}
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-load.XXXXXX")
chmod 700 "$work"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=()   # one line per failed run or check; non-empty means exit 1
fail_later() { echo "load.sh: FAILED: $*" >&2; failures+=("$*"); }

# Waits up to 30 s until URL answers (any HTTP status), while PID is alive. Extra curl args after.
wait_http() {
  local pid=$1 url=$2 log=$3; shift 3
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "the server for $url exited during start-up"; }
    if curl -s -o /dev/null --max-time 2 "$@" "$url"; then return 0; fi
    sleep 0.2
  done
  tail -20 "$log" >&2
  die "no answer from $url within 30 s"
}

port_free() { ! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" || die "port $1 on 127.0.0.1 is in use"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# CPU ticks (utime+stime) of every thread of PID, "tid ticks" per line.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    [ -r "$t/stat" ] || continue
    # Fields after the ")" that closes the command name: utime is field 12 and stime 13 from there.
    sed 's/^.*) //' "$t/stat" 2>/dev/null | awk -v tid="${t##*/}" '{print tid, $12 + $13}'
  done
}
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6}' /proc/stat; }  # total, idle
hz=$(getconf CLK_TCK)

# run_wrk NAME PID CONNS URL SCRIPT [ENV=VALUE ...]: one wrk run against the server PID; appends
# "NAME rps p50 p99 max errors server_cores machine_busy%" to $work/results, and the per-thread
# CPU of the server to $work/threads-NAME.
run_wrk() {
  local name=$1 pid=$2 conns=$3 url=$4 script=$5; shift 5
  local threads=2
  [ "$conns" -ge 2 ] || threads=1
  local before after m0 m1
  before=$(thread_ticks "$pid")
  m0=$(machine_ticks)
  local rc=0
  local timer=()
  [ ! -x /usr/bin/time ] || timer=(/usr/bin/time -f '%U %S' -o "$work/time-$name")
  "${timer[@]}" env "$@" timeout $((duration + 60)) wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 5s \
    -s "$here/$script" "$url" >"$work/wrk-$name.out" 2>"$work/wrk-$name.err" || rc=$?
  m1=$(machine_ticks)
  after=$(thread_ticks "$pid")
  kill -0 "$pid" 2>/dev/null || { tail -20 "$work"/*.log >&2; die "the server died during $name"; }
  local result
  result=$(grep '^RESULT ' "$work/wrk-$name.out" || true)
  if [ "$rc" -ne 0 ] || [ -z "$result" ]; then
    cat "$work/wrk-$name.out" "$work/wrk-$name.err" >&2
    fail_later "$name: wrk exited with $rc"
    echo "$name 0 - - - wrk-failed - - -" >>"$work/results"
    return 0
  fi
  if [ -s "$work/wrk-$name.err" ]; then sed "s/^/  $name: /" "$work/wrk-$name.err" >&2; fi
  local rps p50 p99 max errors seconds
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
  rps=$(field rps); p50=$(field p50); p99=$(field p99); max=$(field max); errors=$(field errors)
  seconds=$(field seconds)
  [ "$errors" = 0 ] || fail_later "$name: $errors errors (see above)"
  # Server CPU during the run, in cores (CPU seconds / wall seconds), and machine busy share.
  LC_ALL=C join <(LC_ALL=C sort <<<"$before") <(LC_ALL=C sort <<<"$after") | awk -v hz="$hz" -v s="$seconds" \
    '{d = ($3 - $2) / hz; if (d > 0) printf "%s %.2f\n", $1, d / s}' | sort -k2 -nr >"$work/threads-$name"
  # Cores used during the run: the server (all its threads), wrk, and the whole machine (busy
  # share of all cores: what is left after the server and wrk is other load, e.g. a compiler).
  local cores wrk_cores busy
  cores=$(awk '{c += $2} END {printf "%.2f", c}' "$work/threads-$name")
  wrk_cores=-
  if [ -s "$work/time-$name" ]; then
    wrk_cores=$(tail -1 "$work/time-$name" | awk -v s="$seconds" '{printf "%.2f", ($1 + $2) / s}')
  fi
  busy=$(awk -v a="$m0" -v b="$m1" -v n="$(nproc)" 'BEGIN {split(a, x, " "); split(b, y, " ");
           t = y[1] - x[1]; printf "%.2f", (t > 0 ? n * (1 - (y[2] - x[2]) / t) : 0)}')
  echo "$name $rps $p50 $p99 $max $errors $cores $wrk_cores $busy" >>"$work/results"
  printf '  %-28s %10s/s  p50 %6s ms  p99 %7s ms  max %7s ms  errors %s  cores: server %s, wrk %s, machine %s\n' \
    "$name" "$rps" "$p50" "$p99" "$max" "$errors" "$cores" "$wrk_cores" "$busy" >&2
}

# A pool of leaf CSRs (EC P-256 keys, one SAN each), the same for signetd and CFSSL.
csr_pool=8
mkdir -p "$work/csr"
for i in $(seq 1 $csr_pool); do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/csr/$i.key" \
    -subj "/CN=load$i.bench.test" -addext "subjectAltName=DNS:load$i.bench.test" -out "$work/csr/$i.csr" 2>/dev/null
  jq -c -n --rawfile csr "$work/csr/$i.csr" '{csr: $csr, profile: "server-tls"}' >>"$work/signet-bodies"
  jq -c -n --rawfile csr "$work/csr/$i.csr" '{certificate_request: $csr}' >>"$work/cfssl-bodies"
done

# measure ALG OFFSET: one CA of algorithm ALG (signet name), ports base+OFFSET+...
measure() {
  local alg=$1 off=$2
  local https_port=$((port_base + 443 + off)) http_port=$((port_base + 80 + off))
  local cfssl_port=$((port_base + 888 + 2 * off)) ocsp_port=$((port_base + 889 + 2 * off))
  local d=$work/signet-$alg c=$work/cfssl-$alg
  mkdir -m 700 "$d" "$c"
  echo "== $alg: signetd https://127.0.0.1:$https_port http://127.0.0.1:$http_port," \
    "cfssl http://127.0.0.1:$cfssl_port, ocspserve http://127.0.0.1:$ocsp_port" >&2

  # --- signetd: CA, API client, daemon ---
  (umask 077 && openssl rand -base64 32 >"$d/passphrase")
  cat >"$d/answers.toml" <<EOT
mode = "new-key"
data_dir = "$d"
key_name = "bench-ca"
algorithm = "$alg"
validity_days = 365
[identity]
common_name = "Bench CA $alg"
[daemon]
https_address = "127.0.0.1"
https_port = $https_port
http_address = "127.0.0.1"
http_port = $http_port
tls_names = ["localhost", "127.0.0.1"]
public_base_url = "http://127.0.0.1:$http_port"
EOT
  export SIGNET_DATA_DIR=$d SIGNET_PASSPHRASE_FILE=$d/passphrase
  "$signet" setup --answers "$d/answers.toml" >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; die "signet setup ($alg) failed"; }
  (umask 077 && "$signet" clients add bench --profile server-tls --json | jq -r .token >"$d/token")
  [ -s "$d/token" ] && [ "$(cat "$d/token")" != null ] || die "signet clients add ($alg) gave no token"
  unset SIGNET_DATA_DIR SIGNET_PASSPHRASE_FILE
  if grep -q '^\[log\]' "$d/signetd.toml"; then
    sed -i "/^\[log\]/,/^\[/s/^level *=.*/level = \"$log_level\"/" "$d/signetd.toml"
  else
    printf '\n[log]\nlevel = "%s"\n' "$log_level" >>"$d/signetd.toml"
  fi
  "$signetd" --config "$d/signetd.toml" 2>"$work/signetd-$alg.log" &
  local spid=$!
  pids+=("$spid")
  wait_http "$spid" "http://127.0.0.1:$http_port/healthz" "$work/signetd-$alg.log" -f
  wait_http "$spid" "https://127.0.0.1:$https_port/healthz" "$work/signetd-$alg.log" -f --cacert "$d/ca.pem"

  # --- CFSSL: CA, cfssl serve ---
  local keyspec='{"algo":"ecdsa","size":256}'
  [ "$alg" = ec-p256 ] || keyspec='{"algo":"rsa","size":2048}'
  echo "{\"CN\":\"Bench CA $alg\",\"key\":$keyspec}" >"$c/ca-csr.json"
  (cd "$c" && cfssl gencert -initca ca-csr.json 2>"$c/gencert.log" | cfssljson -bare ca) ||
    { cat "$c/gencert.log" >&2; die "cfssl gencert -initca ($alg) failed"; }
  echo '{"signing":{"default":{"expiry":"2160h","usages":["digital signature","key encipherment","server auth"]}}}' >"$c/config.json"
  port_free "$cfssl_port"; port_free "$ocsp_port"
  cfssl serve -address 127.0.0.1 -port "$cfssl_port" -ca "$c/ca.pem" -ca-key "$c/ca-key.pem" \
    -config "$c/config.json" -loglevel 3 2>"$work/cfssl-serve-$alg.log" &
  local cpid=$!
  pids+=("$cpid")
  wait_http "$cpid" "http://127.0.0.1:$cfssl_port/api/v1/cfssl/health" "$work/cfssl-serve-$alg.log"

  # --- sanity: issue 4 leaves on each, and the OCSP requests for them ---
  local i
  : >"$d/ocsp-reqs"; : >"$c/ocsp-reqs"; : >"$c/responses"
  for i in 1 2 3 4; do
    curl -sS -f --max-time 10 --cacert "$d/ca.pem" -H "Authorization: Bearer $(cat "$d/token")" \
      -H 'Content-Type: application/json' --data-binary @<(sed -n "${i}p" "$work/signet-bodies") \
      "https://127.0.0.1:$https_port/api/v1/certificates" >"$d/issued-$i.json" || die "signetd ($alg) did not issue"
    jq -r .certificate "$d/issued-$i.json" >"$d/leaf-$i.pem"
    openssl verify -CAfile "$d/ca.pem" "$d/leaf-$i.pem" >/dev/null || die "signetd's leaf ($alg) does not verify"
    openssl ocsp -issuer "$d/ca.pem" -cert "$d/leaf-$i.pem" -reqout "$d/ocsp-$i.der" -no_nonce >/dev/null
    echo "$d/ocsp-$i.der" >>"$d/ocsp-reqs"

    curl -sS -f --max-time 10 --data-binary @<(sed -n "${i}p" "$work/cfssl-bodies") \
      "http://127.0.0.1:$cfssl_port/api/v1/cfssl/sign" >"$c/issued-$i.json" || die "cfssl serve ($alg) did not sign"
    [ "$(jq -r .success "$c/issued-$i.json")" = true ] || die "cfssl serve ($alg): $(cat "$c/issued-$i.json")"
    jq -r .result.certificate "$c/issued-$i.json" >"$c/leaf-$i.pem"
    openssl verify -CAfile "$c/ca.pem" "$c/leaf-$i.pem" >/dev/null || die "cfssl's leaf ($alg) does not verify"
    cfssl ocspsign -ca "$c/ca.pem" -responder "$c/ca.pem" -responder-key "$c/ca-key.pem" \
      -cert "$c/leaf-$i.pem" -status good 2>/dev/null | jq -r .ocspResponse >>"$c/responses"
    openssl ocsp -issuer "$c/ca.pem" -cert "$c/leaf-$i.pem" -reqout "$c/ocsp-$i.der" -no_nonce >/dev/null
    echo "$c/ocsp-$i.der" >>"$c/ocsp-reqs"
  done
  cfssl ocspserve -address 127.0.0.1 -port "$ocsp_port" -responses "$c/responses" \
    -loglevel 3 2>"$work/cfssl-ocspserve-$alg.log" &
  local opid=$!
  pids+=("$opid")
  wait_http "$opid" "http://127.0.0.1:$ocsp_port/" "$work/cfssl-ocspserve-$alg.log"
  # Both OCSP responders must say "good" and verify; signetd over POST and over GET.
  openssl ocsp -issuer "$d/ca.pem" -cert "$d/leaf-1.pem" -url "http://127.0.0.1:$http_port/ocsp" \
    -CAfile "$d/ca.pem" -no_nonce >"$d/ocsp-check" 2>&1 && grep -q ': good' "$d/ocsp-check" ||
    { cat "$d/ocsp-check" >&2; die "signetd ($alg) OCSP POST sanity check failed"; }
  openssl ocsp -issuer "$c/ca.pem" -cert "$c/leaf-1.pem" -url "http://127.0.0.1:$ocsp_port/" \
    -CAfile "$c/ca.pem" -no_nonce >"$c/ocsp-check" 2>&1 && grep -q ': good' "$c/ocsp-check" ||
    { cat "$c/ocsp-check" >&2; die "cfssl ocspserve ($alg) OCSP sanity check failed"; }
  local b64 get_status
  for i in 1 2 3 4; do
    b64=$(base64 -w0 "$d/ocsp-$i.der" | sed 's,+,%2B,g; s,/,%2F,g; s,=,%3D,g')
    get_status=$(curl -s -o "$d/get-$i.der" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$http_port/ocsp/$b64")
    if [ "$get_status" != 200 ] || ! openssl ocsp -respin "$d/get-$i.der" -issuer "$d/ca.pem" -cert "$d/leaf-$i.pem" \
         -CAfile "$d/ca.pem" 2>&1 | grep -q ': good'; then
      fail_later "$alg: signetd OCSP GET for leaf $i answered HTTP $get_status, not a good OCSP response (base64: $(base64 -w0 "$d/ocsp-$i.der"))"
    fi
  done
  b64=$(base64 -w0 "$c/ocsp-1.der" | sed 's,+,%2B,g; s,/,%2F,g; s,=,%3D,g')
  echo "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$ocsp_port/$b64")" >"$work/cfssl-get-$alg"

  sleep 2
  echo "rss-before-$alg $(rss_kib "$spid") $(rss_kib "$cpid")" >>"$work/results"

  # --- the runs ---
  local conns
  for conns in 1 4 16; do
    run_wrk "$alg-issue-c$conns-signetd" "$spid" "$conns" "https://127.0.0.1:$https_port" issue.lua \
      BENCH_BODIES="$work/signet-bodies" BENCH_TOKEN_FILE="$d/token"
    run_wrk "$alg-issue-c$conns-cfssl" "$cpid" "$conns" "http://127.0.0.1:$cfssl_port" cfssl_sign.lua \
      BENCH_BODIES="$work/cfssl-bodies"
  done
  run_wrk "$alg-ocsp-post-signetd" "$spid" 16 "http://127.0.0.1:$http_port" ocsp.lua \
    BENCH_OCSP_METHOD=POST BENCH_OCSP_REQS="$d/ocsp-reqs"
  run_wrk "$alg-ocsp-post-cfssl" "$opid" 16 "http://127.0.0.1:$ocsp_port" ocsp.lua \
    BENCH_OCSP_METHOD=POST BENCH_OCSP_REQS="$c/ocsp-reqs" BENCH_PATH=/
  run_wrk "$alg-ocsp-get-signetd" "$spid" 16 "http://127.0.0.1:$http_port" ocsp.lua \
    BENCH_OCSP_METHOD=GET BENCH_OCSP_REQS="$d/ocsp-reqs"

  sleep 2
  echo "rss-after-$alg $(rss_kib "$spid") $(rss_kib "$cpid") $(hwm_kib "$spid") $(hwm_kib "$cpid")" >>"$work/results"
  curl -s --max-time 5 "http://127.0.0.1:$http_port/metrics" >"$work/metrics-$alg" || true
  echo "  signetd $alg: $(grep -E '^signet_certificates_issued_total' "$work/metrics-$alg" | tr '\n' ' ')" >&2
  # The database writer over the whole run (setup checks included): fsynced commits per issuance.
  echo "  signetd $alg database writer: $(awk '
    /^signet_certificates_issued_total/ {issued += $2}
    /^signet_db_commits_total\{sync="full"\}/ {full = $2}
    /^signet_db_commits_total\{sync="normal"\}/ {normal = $2}
    /^signet_db_write_units_total / {units = $2}
    END {if (issued > 0 && full + normal > 0)
           printf "%d fsynced and %d unsynced commits for %d issuances: %.2f fsyncs per issuance, %.1f writes per commit",
                  full, normal, issued, full / issued, units / (full + normal)}' "$work/metrics-$alg")" >&2
  # Threads are unnamed; tid - pid gives their creation order (the two busiest are the I/O
  # threads, the third the store's group committer: SQLite and fsync).
  echo "  signetd $alg per-thread CPU (cores) in the c=16 issuance run: $(head -6 "$work/threads-$alg-issue-c16-signetd" |
    awk -v pid="$spid" '{printf "tid pid+%d: %s; ", $1 - pid, $2}')" >&2
  if grep -qE '\] \[(warning|error|critical)\]' "$work/signetd-$alg.log"; then
    echo "  signetd $alg log warnings/errors:" >&2
    grep -E '\] \[(warning|error|critical)\]' "$work/signetd-$alg.log" | sort | uniq -c | sort -nr | head -5 >&2
  fi

  local pid
  for pid in "$spid" "$cpid" "$opid"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
}

load=$(uptime)
measure ec-p256 0
measure rsa-2048 1

# --- the table ---
get() { awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$work/results"; }
fmt() {  # 12345.6 -> 12,346
  awk -v v="$1" 'BEGIN {if (v == "" || v == "-") {print "-"; exit}
    s = sprintf("%.0f", v); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.2f×", a / b; else print "-"}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {if (v >= t) print "met"; else print "**missed**"}'; }
cell() {  # NAME -> "rate (p99 ms)" or the error count
  local n=$1 e
  e=$(get "$n" 6)
  [ -n "$e" ] || { echo "-"; return; }
  if [ "$e" != 0 ]; then echo "$(fmt "$(get "$n" 2)") (**$e errors**)"; return; fi
  echo "$(fmt "$(get "$n" 2)") ($(get "$n" 4) ms)"
}
echo
echo "signetd $("$signetd" --version 2>/dev/null | head -1 || true) ($build), cfssl $(cfssl version 2>/dev/null | head -1); wrk ${duration} s per run;" \
  "signetd log level $log_level; $(nproc) cores shared by wrk and the servers; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load at start:$(sed 's/.*load average/ load average/' <<<"$load"); at end:$(uptime | sed 's/.*load average/ load average/')"
echo
echo "| CA | run | conns | signetd /s (p99) | cfssl /s (p99) | signetd ÷ cfssl | target | cores: signetd / wrk / machine |"
echo "|---|---|---:|---:|---:|---:|---|---|"
for alg in ec-p256 rsa-2048; do
  target=9000
  [ "$alg" = ec-p256 ] || target=1800
  for conns in 1 4 16; do
    s=$alg-issue-c$conns-signetd; f=$alg-issue-c$conns-cfssl
    echo "| $alg | issue | $conns | $(cell "$s") | $(cell "$f") | $(ratio "$(get "$s" 2)" "$(get "$f" 2)") |" \
      "≥ $(fmt $target)/s: $(verdict "$(get "$s" 2)" $target) | $(get "$s" 7) / $(get "$s" 8) / $(get "$s" 9) |"
  done
  s=$alg-ocsp-post-signetd; f=$alg-ocsp-post-cfssl
  echo "| $alg | OCSP POST | 16 | $(cell "$s") | $(cell "$f") | $(ratio "$(get "$s" 2)" "$(get "$f" 2)") |" \
    "≥ 50,000/s: $(verdict "$(get "$s" 2)" 50000) | $(get "$s" 7) / $(get "$s" 8) / $(get "$s" 9) |"
  s=$alg-ocsp-get-signetd
  echo "| $alg | OCSP GET | 16 | $(cell "$s") | HTTP $(cat "$work/cfssl-get-$alg") (no GET) | - |" \
    "≥ 50,000/s: $(verdict "$(get "$s" 2)" 50000) | $(get "$s" 7) / $(get "$s" 8) / $(get "$s" 9) |"
  rb=$(get "rss-before-$alg" 2); ra=$(get "rss-after-$alg" 2)
  echo "| $alg | RSS idle, before load / after | - | $(mib "$rb") / $(mib "$ra") (peak $(mib "$(get "rss-after-$alg" 4)")) |" \
    "$(mib "$(get "rss-before-$alg" 3)") / $(mib "$(get "rss-after-$alg" 3)") (cfssl serve) | $(ratio "$ra" "$(get "rss-after-$alg" 3)") |" \
    "≤ 25 MB: $(verdict $((25 * 1000 * 1000 / 1024)) "$(( rb > ra ? rb : ra ))") | |"
done
echo
echo "signetd's API is HTTPS (TLS 1.3 over keep-alive connections, one handshake per connection) and"
echo "checks a bearer token; cfssl serve and ocspserve are plain HTTP without authentication."
echo "signetd signs OCSP responses on demand and caches them; cfssl ocspserve serves pre-signed ones."
echo "RSS: VmRSS 2 s after the sanity checks and 2 s after the last run; peak is VmHWM (signetd's"
echo "includes unlocking the key store at start: scrypt). Stores under ${TMPDIR:-/tmp}."

if [ ${#failures[@]} -gt 0 ]; then
  echo
  echo "FAILED (${#failures[@]}):"
  printf -- '- %s\n' "${failures[@]}"
  exit 1
fi
