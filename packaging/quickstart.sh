#!/usr/bin/env bash
# Quickstart: installs what is needed, builds Signet, and sets up a demo CA key store in ./demo
# (or $SIGNET_DATA_DIR) with a generated passphrase file, a demo key, and the key listing.
# Running it again reuses the demo store. (The daemon, signetd, joins this script when it lands.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/packaging/bootstrap.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" --target signet -j "$(nproc)"
signet="$root/build/server/cli/signet"

export SIGNET_DATA_DIR=${SIGNET_DATA_DIR:-$root/demo}
# A new directory is made private; an existing one is left as it is (signet refuses, with the fix,
# one that group or others can read).
[ -d "$SIGNET_DATA_DIR" ] || mkdir -p -m 700 "$SIGNET_DATA_DIR"
export SIGNET_PASSPHRASE_FILE="$SIGNET_DATA_DIR/demo-passphrase"
if [ ! -s "$SIGNET_PASSPHRASE_FILE" ]; then
  (umask 077 && openssl rand -base64 32 > "$SIGNET_PASSPHRASE_FILE")
  echo "Generated the demo passphrase in $SIGNET_PASSPHRASE_FILE (mode 0600)."
fi

if [ ! -e "$SIGNET_DATA_DIR/signet.db" ]; then
  "$signet" store init
fi
if ! "$signet" keys show demo-ca >/dev/null 2>&1; then
  "$signet" keys generate --name demo-ca --algorithm ec-p256 --comment "quickstart demo key"
fi

echo
echo "Keys offered for reuse in $SIGNET_DATA_DIR:"
"$signet" keys list
cat <<EOT

Try it (the environment below points signet at the demo store):
  export SIGNET_DATA_DIR=$SIGNET_DATA_DIR SIGNET_PASSPHRASE_FILE=$SIGNET_PASSPHRASE_FILE
  $signet keys generate --name web --algorithm ed25519
  $signet keys list --all --json
  $signet keys verify
  $signet store check
EOT
