#!/usr/bin/env bash
# Quickstart: installs what is needed, builds Signet, sets up a demo CA in ./demo (or
# $SIGNET_DATA_DIR) with `signet setup --answers`, adds an API client, prints the curl and openssl
# commands that request, verify and revoke a certificate, and runs signetd in the foreground
# (Ctrl-C stops it). Running it again reuses the demo CA.
#
# Ports: SIGNET_HTTPS_PORT (default 8443) and SIGNET_HTTP_PORT (default 8080), on 127.0.0.1.
# SIGNET_QUICKSTART_NO_DAEMON=1 sets everything up and prints the commands without starting it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/packaging/bootstrap.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" --target signet signetd -j "$(nproc)"
signet="$root/build/server/cli/signet"
signetd="$root/build/server/daemon/signetd"

dir=${SIGNET_DATA_DIR:-$root/demo}
https_port=${SIGNET_HTTPS_PORT:-8443}
http_port=${SIGNET_HTTP_PORT:-8080}
[ -d "$dir" ] || mkdir -p -m 700 "$dir"
dir=$(cd "$dir" && pwd)
export SIGNET_DATA_DIR="$dir"
# signet setup names this file in signetd.toml (store.passphrase_file).
export SIGNET_PASSPHRASE_FILE="$dir/passphrase"
if [ ! -s "$SIGNET_PASSPHRASE_FILE" ]; then
  (umask 077 && openssl rand -base64 32 > "$SIGNET_PASSPHRASE_FILE")
  echo "Generated the demo store passphrase in $SIGNET_PASSPHRASE_FILE (mode 0600)."
fi

if [ ! -e "$dir/signetd.toml" ]; then
  (umask 077 && cat > "$dir/demo-answers.toml" <<EOT
mode = "new-key"
data_dir = "$dir"
key_name = "demo-ca"
algorithm = "ec-p256"
validity_days = 3650

[identity]
common_name = "Signet Demo CA"
organization = "Signet quickstart"

[daemon]
https_address = "127.0.0.1"
https_port = $https_port
http_address = "127.0.0.1"
http_port = $http_port
tls_names = ["localhost", "127.0.0.1"]
public_base_url = "http://127.0.0.1:$http_port"
EOT
  )
  "$signet" setup --answers "$dir/demo-answers.toml"
fi

token_file="$dir/demo-token"
if [ ! -s "$token_file" ]; then
  (umask 077 && "$signet" clients add demo --profile server-tls,client-tls --admin --json | jq -r .token > "$token_file")
  echo "Added the API client \"demo\"; its bearer token is in $token_file (mode 0600)."
fi

https_port=$(sed -n '/^\[https\]/,/^\[/s/^port *= *//p' "$dir/signetd.toml")
http_port=$(sed -n '/^\[http\]/,/^\[/s/^port *= *//p' "$dir/signetd.toml")
cat <<EOT

The demo CA is ready in $dir. In another terminal:

  cd $dir
  # 1. a key and a request for web.demo.test
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout web-key.pem \\
      -subj /CN=web.demo.test -addext subjectAltName=DNS:web.demo.test -out web.csr
  # 2. ask signetd for a certificate (HTTPS, bearer token)
  jq -n --rawfile csr web.csr '{csr: \$csr, profile: "server-tls", validity: "30d"}' |
    curl -sS --cacert ca.pem -H "Authorization: Bearer \$(cat demo-token)" -H 'Content-Type: application/json' \\
      --data-binary @- https://127.0.0.1:$https_port/api/v1/certificates > issued.json
  jq -r .certificate issued.json > web.pem; serial=\$(jq -r .serial issued.json)
  # 3. verify it against the CA, and ask OCSP
  openssl verify -x509_strict -CAfile ca.pem web.pem
  openssl ocsp -issuer ca.pem -cert web.pem -url http://127.0.0.1:$http_port/ocsp -CAfile ca.pem
  # 4. revoke it, then see the CRL and OCSP say so (the CRL is regenerated within seconds)
  curl -sS --cacert ca.pem -H "Authorization: Bearer \$(cat demo-token)" -H 'Content-Type: application/json' \\
      --data '{"reason": "superseded"}' https://127.0.0.1:$https_port/api/v1/certificates/\$serial/revoke
  sleep 3; curl -sS http://127.0.0.1:$http_port/crl -o ca.crl
  openssl verify -crl_check -CAfile ca.pem -CRLfile ca.crl web.pem
  openssl ocsp -issuer ca.pem -cert web.pem -url http://127.0.0.1:$http_port/ocsp -CAfile ca.pem
  # health and metrics
  curl -sS http://127.0.0.1:$http_port/healthz; curl -sS http://127.0.0.1:$http_port/metrics | head

Operators can do the same without HTTP: signet issue --csr web.csr --profile server-tls --out web.pem,
signet revoke SERIAL --reason keyCompromise (with SIGNET_DATA_DIR=$dir SIGNET_PASSPHRASE_FILE=$SIGNET_PASSPHRASE_FILE).
EOT

if [ "${SIGNET_QUICKSTART_NO_DAEMON:-0}" = 1 ]; then exit 0; fi
echo
echo "Starting signetd in the foreground (Ctrl-C stops it)..."
exec "$signetd" --config "$dir/signetd.toml"
