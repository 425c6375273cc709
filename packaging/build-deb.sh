#!/usr/bin/env bash
# Builds the Debian packages signet and signet-setup from this checkout, then checks them with
# lintian. Output: build/deb/signet_VERSION_ARCH.deb and build/deb/signet-setup_VERSION_ARCH.deb
# (with their -dbgsym packages, .buildinfo and .changes).
#
#   ./packaging/build-deb.sh            build and lint
#
# The packaging lives in packaging/debian (the repository's top level is fixed); a copy of the
# source tree under build/deb/ gets it as debian/, where dpkg-buildpackage expects it. The
# programs are built without the tests (packaging/test.sh runs those). Exits non-zero when the
# build fails or lintian reports an error or a warning that no override explains.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
  *) echo "build-deb.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

"$root/packaging/bootstrap.sh"

# The package version is the changelog's; it must be the version the programs print.
cmake_version=$(sed -n 's/^project(signet VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
if [ "${deb_version%%-*}" != "$cmake_version" ]; then
  echo "build-deb.sh: packaging/debian/changelog is at $deb_version but CMakeLists.txt at $cmake_version:" \
       "add a changelog entry (dch -v $cmake_version) or fix the project version" >&2
  exit 1
fi

out="$root/build/deb"
src="$out/signet-$cmake_version"
rm -rf "$out"
mkdir -p "$src"
# The source tree as it is in this checkout (uncommitted changes included), without build output.
tar -C "$root" --exclude='./build*' --exclude=./.git --exclude='./demo' -cf - . | tar -C "$src" -xf -
rm -rf "$src/debian"
cp -a "$root/packaging/debian" "$src/debian"

export DEB_BUILD_OPTIONS="nocheck parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}"
(cd "$src" && dpkg-buildpackage --build=binary --no-sign)

arch=$(dpkg --print-architecture)
changes="$out/signet_${deb_version}_${arch}.changes"
echo "build-deb.sh: lintian on $(basename "$changes")" >&2
# --fail-on error,warning: a warning fails the build unless an override in packaging/debian explains it.
lintian --fail-on error,warning --info --display-info "$changes"
ls -1 "$out"/*.deb
