#!/usr/bin/env bash
# Installs the packages that packaging/build-deb.sh made, walks an operator's journey with the
# installed files, then removes and purges them. Needs root; changes this machine (packages, the
# signet user, /var/lib/signet, /etc/signet) and puts it back as it found it.
#
#   ./packaging/package-test.sh          after ./packaging/build-deb.sh
#
# Checked: apt installs both .debs with their dependencies; the signet system user, /var/lib/signet
# (0700, signet) and /etc/signet (0700, root) exist; the programs print their versions; the man
# pages and bash completion are where man and bash look; `systemd-analyze verify` accepts the unit,
# which is not started before a CA is set up; the installed `signet setup --answers` sets up a CA
# in /var/lib/signet; `signetd --check` passes as the signet user, and signetd serves HTTPS as that
# user; removing and purging the packages keeps /var/lib/signet and says where it is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deb_dir="$root/build/deb"
data=/var/lib/signet
etc=/etc/signet
marker=.signet-package-test   # in $data: this script made it, so it may remove it

fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
step() { echo "package-test: $*" >&2; }

[ "$(id -u)" -eq 0 ] || fail "run as root: it installs and removes packages"
shopt -s nullglob
debs=("$deb_dir"/signet_*.deb "$deb_dir"/signet-setup_*.deb)
shopt -u nullglob
[ ${#debs[@]} -eq 2 ] || fail "expected signet and signet-setup packages in $deb_dir: run ./packaging/build-deb.sh"

# Never touch an operator's CA: only a data directory this script made may be removed.
if dpkg-query -W -f='${db:Status-Status}' signet 2>/dev/null | grep -qx installed; then
  fail "the signet package is already installed on this machine; this test installs and purges it"
fi
for dir in "$data" "$etc"; do
  if [ -e "$dir" ] && [ ! -e "$data/$marker" ]; then
    fail "$dir exists and was not made by this test: it may hold a CA. Move it away to run the test"
  fi
done
rm -rf "$data" "$etc"
user_existed=false
getent passwd signet >/dev/null && user_existed=true

work=$(mktemp -d)
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then pkill -x -u signet signetd 2>/dev/null; wait "$daemon_pid" 2>/dev/null; fi
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq signet-setup signet >/dev/null 2>&1 || true
  rm -rf "$work" "$data" "$etc"
  if [ "$user_existed" = false ] && getent passwd signet >/dev/null; then userdel signet || true; fi
  if getent group signet >/dev/null && [ "$user_existed" = false ]; then groupdel signet 2>/dev/null || true; fi
}
trap cleanup EXIT

step "apt-get install ${debs[*]##*/}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "apt-get install"; }
touch "$data/$marker"

step "installed files"
getent passwd signet | grep -q ':/var/lib/signet:/usr/sbin/nologin$' || fail "no signet system user with home $data: $(getent passwd signet)"
[ "$(id -u signet)" -lt 1000 ] || fail "signet is not a system user (uid $(id -u signet))"
[ "$(stat -c '%a %U' "$data")" = "700 signet" ] || fail "$data is $(stat -c '%a %U' "$data"), not 700 signet"
[ "$(stat -c '%a %U' "$etc")" = "700 root" ] || fail "$etc is $(stat -c '%a %U' "$etc"), not 700 root"
for program in /usr/bin/signet /usr/sbin/signetd /usr/bin/signet-setup; do
  [ -x "$program" ] || fail "$program is missing"
done
signet --version | grep -q "^signet $(dpkg-query -W -f='${Version}' signet)" || fail "signet --version: $(signet --version)"
signet --version | grep -q "OpenSSL 3" || fail "signet --version names no OpenSSL: $(signet --version)"
signet --version | grep -q "SQLite 3" || fail "signet --version names no SQLite: $(signet --version)"
signetd --version | grep -q "^signetd " || fail "signetd --version: $(signetd --version)"
signet-setup --version | grep -q "^signet-setup " || fail "signet-setup --version: $(signet-setup --version)"
for page in signet.1 signetd.8 signetd.toml.5 signet-setup.1; do
  found=$(man -w "${page%.*}" 2>/dev/null | head -1)
  [ -n "$found" ] || fail "man ${page%.*}: no page"
done
man signet 2>/dev/null | grep -q "key" || fail "man signet renders no text"
# Completion, the way bash-completion loads it: source the file, complete `signet ` at the start.
completions=$(bash -c 'source /usr/share/bash-completion/completions/signet
  COMP_WORDS=(signet ""); COMP_CWORD=1; COMP_LINE="signet "; COMP_POINT=${#COMP_LINE}
  fn=$(complete -p signet | sed -n "s/.*-F \([^ ]*\) .*/\1/p"); "$fn" signet "" signet
  printf "%s\n" "${COMPREPLY[@]}"')
grep -qx "setup" <<<"$completions" || fail "bash completion of 'signet ' offers no 'setup': $completions"

unit=/lib/systemd/system/signetd.service
[ -f "$unit" ] || fail "$unit is missing"
systemd-analyze verify "$unit" 2>"$work/verify.log" || { cat "$work/verify.log" >&2; fail "systemd-analyze verify $unit"; }
grep -qx "ExecStart=/usr/sbin/signetd --config /var/lib/signet/signetd.toml" "$unit" || fail "$unit does not start /usr/sbin/signetd"
grep -qx "ConditionPathExists=/var/lib/signet/signetd.toml" "$unit" || fail "$unit would start before setup"
if [ -d /run/systemd/system ]; then
  ! systemctl is-active --quiet signetd || fail "signetd was started before a CA was set up"
fi

step "signet setup --answers (installed programs, data dir $data)"
umask 077
openssl rand -base64 32 >"$etc/passphrase"
https_port=$((20000 + RANDOM % 20000))
http_port=$((https_port + 1))
cat >"$work/answers.toml" <<EOT
mode = "new-key"
data_dir = "$data"
key_name = "package-ca"
algorithm = "ec-p256"
validity_days = 365

[identity]
common_name = "Signet Package Test CA"

[daemon]
https_address = "127.0.0.1"
https_port = $https_port
http_address = "127.0.0.1"
http_port = $http_port
tls_names = ["localhost", "127.0.0.1"]
public_base_url = "http://127.0.0.1:$http_port"
EOT
SIGNET_PASSPHRASE_FILE="$etc/passphrase" signet setup --answers "$work/answers.toml" >"$work/setup.log" 2>&1 ||
  { cat "$work/setup.log" >&2; fail "signet setup --answers"; }
grep -q "signetd.service is installed ($unit)" "$work/setup.log" ||
  { cat "$work/setup.log" >&2; fail "setup did not see the installed unit"; }
grep -q "chown -R signet:signet $data" "$work/setup.log" || fail "setup did not say to give $data to signet"
grep -q "The systemd credential $etc/passphrase holds the store passphrase" "$work/setup.log" ||
  { cat "$work/setup.log" >&2; fail "setup did not see that $etc/passphrase, which it was given, is in place"; }
chown -R signet:signet "$data"   # as setup says

step "signetd --check and a running signetd, as the signet user"
# What LoadCredential gives the service: a private directory holding the passphrase.
cred="$work/credentials"
install -d -m 0700 -o signet -g signet "$cred"
install -m 0400 -o signet -g signet "$etc/passphrase" "$cred/passphrase"
chmod 0711 "$work"
runuser -u signet -- env CREDENTIALS_DIRECTORY="$cred" signetd --config "$data/signetd.toml" --check \
  >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; fail "signetd --check as signet"; }
runuser -u signet -- env CREDENTIALS_DIRECTORY="$cred" signetd --config "$data/signetd.toml" \
  >"$work/signetd.log" 2>&1 &
daemon_pid=$!
up=false
for _ in $(seq 1 100); do
  if curl -fsS --cacert "$data/ca.pem" "https://127.0.0.1:$https_port/healthz" >/dev/null 2>&1; then up=true; break; fi
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
[ "$up" = true ] || { cat "$work/signetd.log" >&2; fail "signetd (as signet) did not answer /healthz over HTTPS"; }
# runuser keeps running as the parent; signetd itself must run as signet.
signetd_pid=$(pgrep -x -u signet signetd) || fail "no signetd process runs as signet"
kill "$signetd_pid"; wait "$daemon_pid" || true; daemon_pid=""

step "apt-get remove, then purge: $data stays"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq signet-setup signet >"$work/remove.log" 2>&1 ||
  { cat "$work/remove.log" >&2; fail "apt-get remove"; }
[ ! -e /usr/sbin/signetd ] || fail "signetd is still installed after remove"
[ -s "$data/signet.db" ] || fail "removing the package lost $data/signet.db"
# signet-setup has no configuration files, so removing it left nothing to purge.
DEBIAN_FRONTEND=noninteractive apt-get purge -y signet >"$work/purge.log" 2>&1 ||
  { cat "$work/purge.log" >&2; fail "apt-get purge"; }
[ -s "$data/signet.db" ] && [ -s "$data/ca.pem" ] || fail "purging the package lost $data"
[ -s "$etc/passphrase" ] || fail "purging the package lost $etc/passphrase"
grep -q "$data is kept" "$work/purge.log" || { cat "$work/purge.log" >&2; fail "purge did not say where the data is"; }
for package in signet signet-setup; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ -z "$status" ] || [ "$status" = not-installed ] || fail "$package is $status after purge"
done
step "passed"
