#!/usr/bin/env bash
# Several signetd nodes on one PostgreSQL ledger: issuance and OCSP with 1, 2 and 3 nodes against
# one node on its SQLite ledger, the cost of the PostgreSQL round trips per issuance, and how long
# a revocation on one node takes to reach another node's OCSP answers.
#
# Usage: tests/bench/nodes.sh BUILD_DIR [--duration N] [--quick]
#   BUILD_DIR        a build with server/cli/signet and server/daemon/signetd (Release, see
#                    README.md); nothing is built here
#   --duration N     seconds per wrk run (default 20); --quick is --duration 5
#
# Starts a PostgreSQL 15 server of its own (initdb and pg_ctl in a temp dir, as the postgres user
# when run as root; 127.0.0.1, scram-sha-256, fsync and synchronous_commit on, pg_stat_statements
# loaded), then:
#  - a CA on its SQLite ledger (`signet setup` in a temp dir, as load.sh makes it): issuance at 8
#    and at 1 keep-alive connection, OCSP POST at 8;
#  - node A, a CA whose signetd.toml gets a [database] section (the database of that server) and
#    its API client, then `signet backup create`, and nodes B and C made from that backup by
#    `signet setup` in mode restore-then-reinstall, each with its own data dir and ports (as
#    tests/integration/signetd_nodes_test.cpp makes them): issuance at 1 and 8 connections and
#    OCSP POST at 8 on A alone, then the same 8 connections spread over A and B (4 + 4) and over
#    A, B and C (3 + 3 + 2): one wrk per node (-t1) at the same time, the rates summed;
#  - around the c=1 issuance run on A: the statements (pg_stat_statements, BEGIN and COMMIT
#    included) and the commits (pg_stat_database.xact_commit) PostgreSQL saw per issuance;
#  - 5 times: a certificate issued on A and asked about on B (so that B has "good" cached), revoked
#    through A's API, then `openssl ocsp -no_nonce` against B every 50 ms (for 10 s at most) until
#    it says "revoked": the time from A's answer to the first "revoked" from B.
# Prints one Markdown table. Every wrk run is -t1 (per node) with wrk's --timeout 5s; wrk, the
# nodes and PostgreSQL share the machine's cores. Exits non-zero when a server does not start, a
# sanity check fails, a run had an error (a non-success status or a socket error) or a revocation
# did not reach B within 10 s. Stops every server and removes every temp dir on exit.
#
# Ports (all on 127.0.0.1, must be free): SIGNET_NODES_PORT_BASE (default 18600): PostgreSQL on
# base, the SQLite CA on base+10 (HTTPS) and base+11 (HTTP), nodes A, B, C on base+20/21, +22/23,
# +24/25. The stores and the database live under $TMPDIR (default /tmp).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 BUILD_DIR [--duration N] [--quick]" >&2; exit 2; }
[ $# -ge 1 ] || usage
build=$(cd "$1" && pwd) || usage
shift
duration=20
while [ $# -gt 0 ]; do
  case $1 in
    --duration) [ $# -ge 2 ] || usage; duration=$2; shift 2 ;;
    --quick) duration=5; shift ;;
    *) usage ;;
  esac
done
[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -ge 1 ] || usage

die() { echo "nodes.sh: $*" >&2; exit 1; }

signet=$build/server/cli/signet
signetd=$build/server/daemon/signetd
[ -x "$signet" ] && [ -x "$signetd" ] || die "no $signet or $signetd: build the signet and signetd targets first"
for tool in wrk curl jq openssl; do
  command -v "$tool" >/dev/null || die "$tool is missing: run packaging/bootstrap.sh"
done
pg_bin=
for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/16/bin /usr/lib/postgresql/17/bin; do
  if [ -x "$dir/pg_ctl" ]; then pg_bin=$dir; break; fi
done
[ -n "$pg_bin" ] || die "PostgreSQL is not installed (no /usr/lib/postgresql/15/bin/pg_ctl): run packaging/bootstrap.sh"
as_pg=()   # initdb and the server refuse to run as root: as the postgres user then
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root, and there is no postgres user to run the server as"
  command -v runuser >/dev/null || die "runuser is missing (util-linux)"
  as_pg=(runuser -u postgres --)
fi

port_base=${SIGNET_NODES_PORT_BASE:-18600}
pg_port=$port_base
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-nodes.XXXXXX")
chmod 700 "$work"
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/signet-nodes-pg.XXXXXX")   # the server's user must reach it
chmod 700 "$pgdir"
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$pgdir"
pg_started=false
declare -A node_pid=()
bg_pids=()   # wrk and the wait-event sampler of the run under way
cleanup() {
  local rc=$? pid
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${node_pid[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${node_pid[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $pg_started; then
    timeout 60 "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work" "$pgdir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=()   # one line per failed run or check; non-empty means exit 1
fail_later() { echo "nodes.sh: FAILED: $*" >&2; failures+=("$*"); }

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
now_ns() { date +%s%N; }

# --- PostgreSQL ---
pg_password=$(openssl rand -hex 24)
(umask 077 && echo "$pg_password" >"$pgdir/superuser-password" && echo "$pg_password" >"$work/db-password")
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$pgdir/superuser-password"
port_free "$pg_port"
timeout 120 "${as_pg[@]}" "$pg_bin/initdb" -D "$pgdir/data" -U postgres --pwfile "$pgdir/superuser-password" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log" >&2; die "initdb failed"; }
pg_started=true   # from here on, cleanup stops it (pg_ctl stop on a server that is not running is harmless)
timeout 90 "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pgdir -c max_connections=200 \
      -c fsync=on -c synchronous_commit=on -c shared_preload_libraries=pg_stat_statements" start >"$work/pg_ctl.log" 2>&1 ||
  { cat "$work/pg_ctl.log" "$pgdir/server.log" >&2; die "pg_ctl start failed"; }
# psql DATABASE SQL: as the superuser, over the server's Unix socket (trust).
psql_() { timeout 30 "$pg_bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$pgdir" -p "$pg_port" -U postgres -d "$1" -c "$2"; }
database=signet_nodes
psql_ postgres "CREATE ROLE signet LOGIN PASSWORD '$pg_password'" >/dev/null
psql_ postgres "CREATE DATABASE $database OWNER signet" >/dev/null
pgss=true
psql_ postgres "CREATE EXTENSION pg_stat_statements" >/dev/null 2>"$work/pgss.err" ||
  { pgss=false; echo "nodes.sh: no pg_stat_statements ($(cat "$work/pgss.err")): statements per issuance not counted" >&2; }
pg_url="postgresql://signet@127.0.0.1:$pg_port/$database"
echo "== PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port, database $database" >&2

# --- CPU accounting (ticks of utime + stime, from /proc) ---
hz=$(getconf CLK_TCK)
proc_ticks() { { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null || true; } | awk '{t = $12 + $13} END {print t + 0}'; }
# The nodes that are up, all threads.
nodes_ticks() {
  local pid t=0
  for pid in "${node_pid[@]}"; do t=$((t + $(proc_ticks "$pid"))); done
  echo "$t"
}
# The PostgreSQL server: the postmaster and every process it started, "pid ticks" per line.
pg_ticks() {
  local pm
  pm=$(head -1 "$pgdir/data/postmaster.pid")
  # One line per process: "pid (comm) state ppid ...", the comm may hold spaces.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v pm="$pm" '{pid = $1; sub(/^.*\) /, ""); if (pid == pm || $2 == pm) print pid, $12 + $13}'
}
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6}' /proc/stat; }  # total, idle

# --- the nodes ---
declare -A node_https=() node_http=() node_dir=()
node_https[sqlite]=$((port_base + 10)); node_http[sqlite]=$((port_base + 11))
node_https[a]=$((port_base + 20)); node_http[a]=$((port_base + 21))
node_https[b]=$((port_base + 22)); node_http[b]=$((port_base + 23))
node_https[c]=$((port_base + 24)); node_http[c]=$((port_base + 25))
for n in sqlite a b c; do node_dir[$n]=$work/node-$n; done

set_log_level() {  # FILE: [log] level = "warn" (no line per request)
  if grep -q '^\[log\]' "$1"; then
    sed -i '/^\[log\]/,/^\[/s/^level *=.*/level = "warn"/' "$1"
    grep -q '^level = "warn"' "$1" || sed -i 's/^\[log\]$/[log]\nlevel = "warn"/' "$1"
  else
    printf '\n[log]\nlevel = "warn"\n' >>"$1"
  fi
}

# new_ca NAME: `signet setup` of a new ec-p256 CA in node NAME's dir, as load.sh makes it.
new_ca() {
  local n=$1 d=${node_dir[$1]}
  mkdir -m 700 "$d"
  (umask 077 && openssl rand -base64 32 >"$d/passphrase")
  cat >"$d/answers.toml" <<EOT
mode = "new-key"
data_dir = "$d"
key_name = "bench-ca"
algorithm = "ec-p256"
validity_days = 365
[identity]
common_name = "Bench Nodes CA $n"
[daemon]
https_address = "127.0.0.1"
https_port = ${node_https[$n]}
http_address = "127.0.0.1"
http_port = ${node_http[$n]}
tls_names = ["localhost", "127.0.0.1"]
public_base_url = "http://127.0.0.1:${node_http[$n]}"
EOT
  SIGNET_DATA_DIR=$d SIGNET_PASSPHRASE_FILE=$d/passphrase timeout 300 "$signet" setup --answers "$d/answers.toml" \
    >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; die "signet setup (node $n) failed"; }
}

# add_client NAME: an API client "bench" (profile server-tls) in node NAME's ledger; its token in $work/token-NAME.
add_client() {
  local d=${node_dir[$1]}
  (umask 077 && SIGNET_DATA_DIR=$d SIGNET_PASSPHRASE_FILE=$d/passphrase timeout 120 "$signet" clients add bench \
    --profile server-tls --json | jq -r .token >"$work/token-$1")
  [ -s "$work/token-$1" ] && [ "$(cat "$work/token-$1")" != null ] || die "signet clients add (node $1) gave no token"
}

start_node() {
  local n=$1 d=${node_dir[$1]}
  port_free "${node_https[$n]}"; port_free "${node_http[$n]}"
  "$signetd" --config "$d/signetd.toml" 2>"$work/signetd-$n.log" &
  node_pid[$n]=$!
  wait_http "${node_pid[$n]}" "http://127.0.0.1:${node_http[$n]}/healthz" "$work/signetd-$n.log" -f
  wait_http "${node_pid[$n]}" "https://127.0.0.1:${node_https[$n]}/healthz" "$work/signetd-$n.log" -f --cacert "$d/ca.pem"
  echo "== node $n: pid ${node_pid[$n]}, https://127.0.0.1:${node_https[$n]} http://127.0.0.1:${node_http[$n]}" >&2
}

stop_node() {
  local pid=${node_pid[$1]}
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "node_pid[$1]"
}

# A pool of leaf CSRs (EC P-256 keys, one SAN each), as load.sh makes them.
mkdir -p "$work/csr"
for i in $(seq 1 8); do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/csr/$i.key" \
    -subj "/CN=nodes$i.bench.test" -addext "subjectAltName=DNS:nodes$i.bench.test" -out "$work/csr/$i.csr" 2>/dev/null
  jq -c -n --rawfile csr "$work/csr/$i.csr" '{csr: $csr, profile: "server-tls"}' >>"$work/bodies"
done

# issue_on NODE TOKEN_NODE BODY_LINE OUT: POST /api/v1/certificates to NODE; the JSON answer in OUT.
issue_on() {
  curl -sS -f --max-time 10 --cacert "${node_dir[$1]}/ca.pem" -H "Authorization: Bearer $(cat "$work/token-$2")" \
    -H 'Content-Type: application/json' --data-binary @<(sed -n "${3}p" "$work/bodies") \
    "https://127.0.0.1:${node_https[$1]}/api/v1/certificates" >"$4"
}

# ocsp_status NODE CA_PEM CERT_PEM: good, revoked, unknown, or what openssl said (one line).
ocsp_status() {
  local out
  out=$(timeout 10 openssl ocsp -issuer "$2" -cert "$3" -url "http://127.0.0.1:${node_http[$1]}/ocsp" -CAfile "$2" \
        -no_nonce -timeout 5 2>&1) || true
  case $out in
    *"Response verify OK"*": revoked"*|*": revoked"*"Response verify OK"*) echo revoked ;;
    *"Response verify OK"*": good"*|*": good"*"Response verify OK"*) echo good ;;
    *"Response verify OK"*": unknown"*|*": unknown"*"Response verify OK"*) echo unknown ;;
    *) tr '\n' ' ' <<<"$out"; echo ;;
  esac
}

# sanity NODE TOKEN_NODE PREFIX COUNT: issues COUNT leaves on NODE, checks they verify; writes the
# OCSP requests for them (PREFIX-i.der) and their list (PREFIX-reqs).
sanity() {
  local n=$1 t=$2 p=$3 count=$4 ca=${node_dir[$1]}/ca.pem i
  : >"$p-reqs"
  for i in $(seq 1 "$count"); do
    issue_on "$n" "$t" "$i" "$p-issued-$i.json" || die "node $n did not issue"
    jq -r .certificate "$p-issued-$i.json" >"$p-leaf-$i.pem"
    openssl verify -CAfile "$ca" "$p-leaf-$i.pem" >/dev/null || die "node $n's leaf does not verify"
    openssl ocsp -issuer "$ca" -cert "$p-leaf-$i.pem" -reqout "$p-ocsp-$i.der" -no_nonce >/dev/null
    echo "$p-ocsp-$i.der" >>"$p-reqs"
  done
  [ "$(ocsp_status "$n" "$ca" "$p-leaf-1.pem")" = good ] || die "node $n: OCSP sanity check failed: $(ocsp_status "$n" "$ca" "$p-leaf-1.pem")"
}

metric_sum() {  # NODE METRIC_PREFIX: the sum of the node's samples of that metric
  curl -s --max-time 5 "http://127.0.0.1:${node_http[$1]}/metrics" | awk -v m="$2" 'index($1, m) == 1 {s += $2} END {printf "%.0f\n", s}'
}

# sample_waits FILE: every 0.5 s (for the run's duration at most), one line per session of signetd
# that is not idle: "state/wait_event" (wait_event "CPU" when none: running).
sample_waits() {
  local deadline=$((SECONDS + duration + 5))
  while [ $SECONDS -lt $deadline ]; do
    psql_ postgres "SELECT replace(state, ' ', '-') || '/' || coalesce(wait_event, 'CPU') FROM pg_stat_activity
      WHERE datname = '$database' AND usename = 'signet' AND state <> 'idle'" >>"$1" 2>/dev/null || true
    sleep 0.5
  done
}

# run NAME KIND CONNS NODE...: one wrk (-t1) per NODE at the same time, CONNS connections spread
# over them (the first ones get the remainder). KIND: issue (HTTPS API, token of node a or sqlite)
# or ocsp (OCSP POST over HTTP, the requests in $work/ocsp-reqs-<first node>). Appends
# "NAME rps p50 p99 mean errors signetd_cores pg_cores wrk_cores machine conns_split rps_split issued"
# to $work/results.
run() {
  local name=$1 kind=$2 conns=$3; shift 3
  local nodes=("$@") count=$# i n c
  local token=a reqs=$work/ocsp-reqs-${nodes[0]}
  [ "${nodes[0]}" != sqlite ] || token=sqlite
  local split=() issued0=0 issued1=0
  for n in "${nodes[@]}"; do issued0=$((issued0 + $(metric_sum "$n" signet_certificates_issued_total))); done
  local s0 s1 p0 p1 m0 m1
  s0=$(nodes_ticks); p0=$(pg_ticks); m0=$(machine_ticks)
  local wpids=()
  for i in "${!nodes[@]}"; do
    n=${nodes[$i]}
    c=$((conns / count + (i < conns % count ? 1 : 0)))
    split+=("$c")
    local args=(BENCH_BODIES="$work/bodies" BENCH_TOKEN_FILE="$work/token-$token")
    local script=issue.lua url="https://127.0.0.1:${node_https[$n]}"
    if [ "$kind" = ocsp ]; then
      args=(BENCH_OCSP_METHOD=POST BENCH_OCSP_REQS="$reqs"); script=ocsp.lua; url="http://127.0.0.1:${node_http[$n]}"
    fi
    local timer=()
    [ ! -x /usr/bin/time ] || timer=(/usr/bin/time -f '%U %S' -o "$work/time-$name-$n")
    "${timer[@]}" env "${args[@]}" timeout $((duration + 60)) wrk -t1 -c"$c" -d"${duration}s" --timeout 5s \
      -s "$here/$script" "$url" >"$work/wrk-$name-$n.out" 2>"$work/wrk-$name-$n.err" &
    wpids+=($!)
  done
  bg_pids=("${wpids[@]}")
  # What the database's sessions of signetd are doing, sampled twice a second during an issuance run.
  local sampler=
  if [ "$kind" = issue ] && [ "${nodes[0]}" != sqlite ]; then
    : >"$work/waits-$name"
    sample_waits "$work/waits-$name" &
    sampler=$!
    bg_pids+=("$sampler")
  fi
  local rcs=()
  for i in "${!wpids[@]}"; do
    local rc=0
    wait "${wpids[$i]}" || rc=$?
    rcs+=("$rc")
  done
  m1=$(machine_ticks); p1=$(pg_ticks); s1=$(nodes_ticks)
  if [ -n "$sampler" ]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    echo "  $name: sessions of signetd in PostgreSQL (state and wait event, $(wc -l <"$work/waits-$name") samples):" \
      "$(sort "$work/waits-$name" | uniq -c | sort -nr | head -6 | awk '{printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1}')" >&2
  fi
  bg_pids=()
  for n in "${nodes[@]}"; do
    kill -0 "${node_pid[$n]}" 2>/dev/null || { tail -20 "$work/signetd-$n.log" >&2; die "node $n died during $name"; }
    issued1=$((issued1 + $(metric_sum "$n" signet_certificates_issued_total)))
  done
  local rps=0 p50=0 p99=0 errors=0 seconds=0 rps_split=() wrk_ticks=0 failed=false
  for i in "${!nodes[@]}"; do
    n=${nodes[$i]}
    local out=$work/wrk-$name-$n.out err=$work/wrk-$name-$n.err result
    result=$(grep '^RESULT ' "$out" || true)
    if [ "${rcs[$i]}" -ne 0 ] || [ -z "$result" ]; then
      cat "$out" "$err" >&2
      fail_later "$name: wrk against node $n exited with ${rcs[$i]}"
      failed=true
      continue
    fi
    if [ -s "$err" ]; then sed "s/^/  $name ($n): /" "$err" >&2; fi
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
    local r e
    r=$(field rps); e=$(field errors)
    rps=$(awk -v a="$rps" -v b="$r" 'BEGIN {print a + b}')
    p50=$(awk -v a="$p50" -v b="$(field p50)" 'BEGIN {print (b > a ? b : a)}')
    p99=$(awk -v a="$p99" -v b="$(field p99)" 'BEGIN {print (b > a ? b : a)}')
    errors=$((errors + e)); seconds=$(field seconds)
    rps_split+=("$(printf '%.0f' "$r")")
    [ "$e" = 0 ] || fail_later "$name: $e errors against node $n (see above)"
    if [ -s "$work/time-$name-$n" ]; then
      wrk_ticks=$(tail -1 "$work/time-$name-$n" | awk -v t="$wrk_ticks" -v hz="$hz" '{printf "%.0f", t + ($1 + $2) * hz}')
    fi
  done
  local cs
  cs=$(IFS=+; echo "${split[*]}")
  if $failed; then
    echo "$name 0 - - - wrk-failed - - - - $cs - 0" >>"$work/results"
    return 0
  fi
  local mean_all sd pd wd busy
  # The mean latency from Little's law: each connection always has one request outstanding, so
  # connections / rate. (wrk's own mean and percentiles include the samples its correction for
  # coordinated omission adds for every slow request, stats_correct: at c=1 a few disk stalls make
  # its mean several times 1 / rate.)
  mean_all=$(awk -v c="$conns" -v r="$rps" 'BEGIN {printf "%.3f", (r > 0 ? c / r * 1000 : 0)}')
  sd=$(awk -v a="$s0" -v b="$s1" -v hz="$hz" -v s="$seconds" 'BEGIN {printf "%.2f", (b - a) / hz / s}')
  pd=$(LC_ALL=C join -a 2 -e 0 -o 0,1.2,2.2 <(LC_ALL=C sort <<<"$p0") <(LC_ALL=C sort <<<"$p1") |
       awk -v hz="$hz" -v s="$seconds" '{d += $3 - $2} END {printf "%.2f", d / hz / s}')
  wd=$(awk -v t="$wrk_ticks" -v hz="$hz" -v s="$seconds" 'BEGIN {printf "%.2f", t / hz / s}')
  [ -x /usr/bin/time ] || wd=-
  busy=$(awk -v a="$m0" -v b="$m1" -v n="$(nproc)" 'BEGIN {split(a, x, " "); split(b, y, " ");
           t = y[1] - x[1]; printf "%.2f", (t > 0 ? n * (1 - (y[2] - x[2]) / t) : 0)}')
  local rs
  rs=$(IFS=+; echo "${rps_split[*]}")
  echo "$name $rps $p50 $p99 $mean_all $errors $sd $pd $wd $busy $cs $rs $((issued1 - issued0))" >>"$work/results"
  printf '  %-22s %9.0f/s (%s)  p50 %6s ms  p99 %7s ms  mean %7s ms  errors %s  cores: signetd %s, postgres %s, wrk %s, machine %s\n' \
    "$name" "$rps" "$rs" "$p50" "$p99" "$mean_all" "$errors" "$sd" "$pd" "$wd" "$busy" >&2
}

load=$(uptime)

# === 1. one node on its SQLite ledger ===
echo "== SQLite ledger, one node" >&2
new_ca sqlite
add_client sqlite
set_log_level "${node_dir[sqlite]}/signetd.toml"
start_node sqlite
sanity sqlite sqlite "$work/sqlite" 4
cp "$work/sqlite-reqs" "$work/ocsp-reqs-sqlite"
run sqlite-issue-c8 issue 8 sqlite
run sqlite-ocsp-c8 ocsp 8 sqlite
run sqlite-issue-c1 issue 1 sqlite
curl -s --max-time 5 "http://127.0.0.1:${node_http[sqlite]}/metrics" >"$work/metrics-sqlite" || true
echo "  SQLite ledger's writer over the whole run: $(awk '
  /^signet_certificates_issued_total/ {issued += $2}
  /^signet_db_commits_total\{sync="full"\}/ {full = $2}
  /^signet_db_commits_total\{sync="normal"\}/ {normal = $2}
  END {if (issued > 0) printf "%d fsynced and %d unsynced commits for %d issuances (%.2f fsyncs per issuance)",
                              full, normal, issued, full / issued}' "$work/metrics-sqlite")" >&2
stop_node sqlite

# === 2. nodes A, B, C on the PostgreSQL ledger ===
echo "== PostgreSQL ledger: node A, then B and C from A's backup" >&2
new_ca a
a=${node_dir[a]}
set_log_level "$a/signetd.toml"
cat >>"$a/signetd.toml" <<EOT

[database]
url = "$pg_url"
password_file = "$work/db-password"
pool_size = 8
EOT
add_client a
(umask 077 && openssl rand -base64 32 >"$work/backup-passphrase")
SIGNET_DATA_DIR=$a SIGNET_PASSPHRASE_FILE=$a/passphrase timeout 300 "$signet" backup create --out "$work/a.backup" \
  --backup-passphrase-file "$work/backup-passphrase" >"$work/backup.log" 2>&1 ||
  { cat "$work/backup.log" >&2; die "signet backup create (node a) failed"; }
for n in b c; do
  d=${node_dir[$n]}
  mkdir -m 700 "$d"
  (umask 077 && openssl rand -base64 32 >"$d/passphrase")
  cat >"$d/answers.toml" <<EOT
mode = "restore-then-reinstall"
data_dir = "$d"
key_name = "bench-ca"
backup_file = "$work/a.backup"
[daemon]
https_address = "127.0.0.1"
https_port = ${node_https[$n]}
http_address = "127.0.0.1"
http_port = ${node_http[$n]}
EOT
  SIGNET_DATA_DIR=$d SIGNET_PASSPHRASE_FILE=$d/passphrase timeout 300 "$signet" setup --answers "$d/answers.toml" \
    --backup-passphrase-file "$work/backup-passphrase" >"$d/setup.log" 2>&1 ||
    { cat "$d/setup.log" >&2; die "signet setup restore-then-reinstall (node $n) failed"; }
  grep -qF "$pg_url" "$d/signetd.toml" || { cat "$d/signetd.toml" >&2; die "node $n's signetd.toml lacks A's [database]"; }
  set_log_level "$d/signetd.toml"
  cmp -s "$d/ca.pem" "$a/ca.pem" || die "node $n serves another CA certificate than node a"
done

start_node a
psql_ "$database" "SELECT ca_subject FROM signet_ledger" | grep -q "Bench Nodes CA a" ||
  die "node a did not record its CA in the database: $(psql_ "$database" "SELECT ca_subject FROM signet_ledger" 2>&1)"
sanity a a "$work/a" 4
cp "$work/a-reqs" "$work/ocsp-reqs-a"

# The c=1 run, with what PostgreSQL saw: statements (pg_stat_statements) and commits
# (xact_commit) of the database. A backend reports its transaction counts at most once a second
# and, when idle, within 10 s: so 11 s of quiet before each reading. The nodes' pollers (a
# revocation_state read every 2 s each) are taken out with their pg_stat_statements count.
dbstat() { psql_ postgres "SELECT xact_commit FROM pg_stat_database WHERE datname = '$database'"; }
pgss_count() {  # WHERE clause -> sum of calls by signetd's role in the database
  psql_ postgres "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$database')
      AND userid = (SELECT oid FROM pg_roles WHERE rolname = 'signet') AND ($1)"
}
wal_lsn() { psql_ postgres "SELECT pg_current_wal_lsn()"; }
sleep 11
x0=$(dbstat)
! $pgss || psql_ postgres "SELECT pg_stat_statements_reset()" >/dev/null
w0=$(wal_lsn)
run pg1-issue-c1 issue 1 a
w1=$(wal_lsn)
sleep 11
x1=$(dbstat)
pg_issued=$(awk '$1 == "pg1-issue-c1" {print $NF}' "$work/results")
poll_calls=0; stmt_calls=-
if $pgss; then
  poll_calls=$(pgss_count "query LIKE '%FROM revocation_state%'")
  stmt_calls=$(pgss_count "query NOT LIKE '%FROM revocation_state%'")
  echo "  statements PostgreSQL ran for node a's issuances in pg1-issue-c1 ($pg_issued issuances), calls each:" >&2
  psql_ postgres "SELECT calls, regexp_replace(left(query, 110), '\s+', ' ', 'g') FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$database')
      AND userid = (SELECT oid FROM pg_roles WHERE rolname = 'signet') ORDER BY calls DESC LIMIT 14" |
    awk -F'|' '{printf "    %8d  %s\n", $1, $2}' >&2
fi
wal_bytes=$(psql_ postgres "SELECT pg_wal_lsn_diff('$w1', '$w0')")
echo "pg-cost $pg_issued $stmt_calls $((x1 - x0 - poll_calls)) $poll_calls $wal_bytes" >>"$work/results"

run pg1-issue-c8 issue 8 a
run pg1-ocsp-c8 ocsp 8 a

start_node b
sanity b a "$work/b" 1
[ "$(ocsp_status b "$a/ca.pem" "$work/a-leaf-1.pem")" = good ] || die "node b does not answer good for node a's certificate"
run pg2-issue-c8 issue 8 a b
run pg2-ocsp-c8 ocsp 8 a b

start_node c
sanity c a "$work/c" 1
[ "$(ocsp_status c "$a/ca.pem" "$work/a-leaf-1.pem")" = good ] || die "node c does not answer good for node a's certificate"
[ "$(ocsp_status a "$a/ca.pem" "$work/b-leaf-1.pem")" = good ] || die "node a does not answer good for node b's certificate"
run pg3-issue-c8 issue 8 a b c
run pg3-ocsp-c8 ocsp 8 a b c

# === 3. a revocation on A, seen in B's OCSP ===
echo "== revocation on node a, polled on node b's OCSP every 50 ms (10 s at most)" >&2
: >"$work/propagation"
for k in 1 2 3 4 5; do
  issue_on a a $(( (k - 1) % 8 + 1 )) "$work/rev-$k.json" || die "node a did not issue (revocation $k)"
  jq -r .certificate "$work/rev-$k.json" >"$work/rev-$k.pem"
  serial=$(jq -r .serial "$work/rev-$k.json")
  [ "$(ocsp_status b "$a/ca.pem" "$work/rev-$k.pem")" = good ] || die "node b: not good before the revocation ($serial)"
  [ "$(ocsp_status a "$a/ca.pem" "$work/rev-$k.pem")" = good ] || die "node a: not good before the revocation ($serial)"
  status=$(curl -sS -o "$work/revoke-$k.json" -w '%{http_code}' --max-time 10 --cacert "$a/ca.pem" \
    -H "Authorization: Bearer $(cat "$work/token-a")" -H 'Content-Type: application/json' \
    --data-binary '{"reason":"keyCompromise"}' "https://127.0.0.1:${node_https[a]}/api/v1/certificates/$serial/revoke")
  t0=$(now_ns)
  [ "$status" = 200 ] || die "revoking $serial on node a answered HTTP $status: $(cat "$work/revoke-$k.json")"
  seen=; polls=0; last=
  while :; do
    t=$(now_ns)
    [ $((t - t0)) -le 10000000000 ] || break
    polls=$((polls + 1))
    last=$(ocsp_status b "$a/ca.pem" "$work/rev-$k.pem")
    if [ "$last" = revoked ]; then seen=$(( ($(now_ns) - t0) / 1000000 )); break; fi
    case $last in good) ;; *) fail_later "revocation $k: node b answered: $last"; break ;; esac
    next=$((t0 + polls * 50000000)); t=$(now_ns)
    [ "$next" -le "$t" ] || sleep "$(printf '0.%09d' $((next - t)))"
  done
  [ "$(ocsp_status a "$a/ca.pem" "$work/rev-$k.pem")" = revoked ] || fail_later "revocation $k: node a does not say revoked"
  if [ -n "$seen" ]; then
    echo "  revocation $k (serial $serial): revoked on node b after $seen ms ($polls polls)" >&2
    echo "$seen" >>"$work/propagation"
  else
    fail_later "revocation $k (serial $serial): node b still said '$last' after 10 s ($polls polls)"
  fi
  sleep 0.$((RANDOM % 10))   # another phase of node b's poller each time
done

for n in a b c; do
  if grep -qE '\] \[(warning|error|critical)\]' "$work/signetd-$n.log"; then
    echo "  node $n log warnings/errors:" >&2
    grep -E '\] \[(warning|error|critical)\]' "$work/signetd-$n.log" | sort | uniq -c | sort -nr | head -5 >&2
  fi
done
if grep -qE '(ERROR|FATAL|PANIC):' "$pgdir/server.log"; then
  echo "  PostgreSQL server log errors:" >&2
  grep -E '(ERROR|FATAL|PANIC):' "$pgdir/server.log" | sed 's/^[^]]*\] //' | sort | uniq -c | sort -nr | head -5 >&2
fi

# --- the table ---
get() { awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$work/results"; }
fmt() {  # 12345.6 -> 12,346
  awk -v v="$1" 'BEGIN {if (v == "" || v == "-") {print "-"; exit}
    s = sprintf("%.0f", v); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s}'
}
cpu_ms() { awk -v c="$1" -v r="$2" 'BEGIN {if (r > 0 && c != "-") printf "%.3f", c / r * 1000; else print "-"}'; }
row() {  # LEDGER NODES RUN NAME
  local n=$4 e rate split
  e=$(get "$n" 6)
  if [ -z "$e" ] || [ "$e" = wrk-failed ]; then
    echo "| $1 | $2 | $3 | $(get "$n" 11) | **wrk failed** | - | - | - | - | | |"; return
  fi
  rate=$(fmt "$(get "$n" 2)")
  split=$(get "$n" 12)
  [[ $split != *+* ]] || rate="$rate ($(tr '+' '\n' <<<"$split" | while read -r v; do fmt "$v"; done | paste -sd+ - | sed 's/+/ + /g'))"
  [ "$e" = 0 ] || e="**$e**"
  local conns
  conns=$(get "$n" 11); [[ $conns != *+* ]] || conns="8 (${conns//+/ + })"
  echo "| $1 | $2 | $3 | $conns | $rate | $(get "$n" 3) | $(get "$n" 4) | $(get "$n" 5) | $e |" \
    "$(cpu_ms "$(get "$n" 7)" "$(get "$n" 2)") / $(cpu_ms "$(get "$n" 8)" "$(get "$n" 2)") |" \
    "$(get "$n" 7) / $(get "$n" 8) / $(get "$n" 9) / $(get "$n" 10) |"
}
echo
echo "$("$signetd" --version 2>/dev/null | head -1 || true) ($build); PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}')" \
  "(fsync, synchronous_commit on; pool_size 8 per node); wrk -t1 per node, ${duration} s per run;" \
  "$(nproc) cores shared by wrk, the nodes and PostgreSQL; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load at start:$(sed 's/.*load average/ load average/' <<<"$load"); at end:$(uptime | sed 's/.*load average/ load average/')"
echo
echo "| ledger | nodes | run | conns | req/s | p50 ms | p99 ms | mean ms | errors | CPU ms per answer: signetd / postgres | cores: signetd / postgres / wrk / machine |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|"
row SQLite 1 issue sqlite-issue-c8
row SQLite 1 issue sqlite-issue-c1
row SQLite 1 "OCSP POST" sqlite-ocsp-c8
row PostgreSQL 1 issue pg1-issue-c8
row PostgreSQL 1 issue pg1-issue-c1
row PostgreSQL 1 "OCSP POST" pg1-ocsp-c8
row PostgreSQL 2 issue pg2-issue-c8
row PostgreSQL 2 "OCSP POST" pg2-ocsp-c8
row PostgreSQL 3 issue pg3-issue-c8
row PostgreSQL 3 "OCSP POST" pg3-ocsp-c8
# The cost of the round trips: mean latency at c=1, PostgreSQL minus SQLite; what PostgreSQL saw.
ms_sqlite=$(get sqlite-issue-c1 5); ms_pg=$(get pg1-issue-c1 5)
read -r _ issued stmts commits polls wal_bytes < <(grep '^pg-cost ' "$work/results")
per() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "-" && b > 0) printf "%.2f", a / b; else print "-"}'; }
diff_ms=$(awk -v a="$ms_pg" -v b="$ms_sqlite" 'BEGIN {if (a > 0 && b > 0) printf "%+.3f", a - b; else print "-"}')
echo "| PostgreSQL − SQLite | 1 | **cost per issuance** (the two c=1 runs): $(per "$stmts" "$issued") statements and" \
  "$(per "$commits" "$issued") commits in PostgreSQL per issuance, $(fmt "$(per "$wal_bytes" "$issued")") bytes of WAL ($(fmt "$issued") issuances) | 1 | | | |" \
  "**$diff_ms** ($ms_pg − $ms_sqlite) | | | |"
revs=$(wc -l <"$work/propagation")
if [ "$revs" -gt 0 ]; then
  stats=$(sort -n "$work/propagation" | awk '{v[NR] = $1} END {printf "min %d, median %d, max %d ms", v[1], v[int((NR + 1) / 2)], v[NR]}')
else
  stats="never seen"
fi
echo "| PostgreSQL | 3 | **revocation on A → \"revoked\" in B's OCSP** ($revs of 5 seen; openssl ocsp -no_nonce every 50 ms):" \
  "$stats | - | | | | | $((5 - revs)) | | |"
echo
echo "Rates are successful answers per second (for 2 and 3 nodes, the sum of one wrk per node, each node's in"
echo "brackets); p50/p99 are the highest of the nodes' wrk (wrk's, which include its coordinated-omission"
echo "correction); mean is connections ÷ rate (Little's law: every connection always has a request out)."
echo "Cores: CPU used during the run by the signetd nodes (all of them), by the PostgreSQL server (all its"
echo "processes), by wrk, and the busy share of the whole machine; CPU ms per answer is the nodes' and the"
echo "server's CPU divided by the answers. The revocation time runs from A's 200 answer to the first"
echo "\"revoked\" from B (B had \"good\" cached). Stores and database under ${TMPDIR:-/tmp}."

if [ ${#failures[@]} -gt 0 ]; then
  echo
  echo "FAILED (${#failures[@]}):"
  printf -- '- %s\n' "${failures[@]}"
  exit 1
fi
