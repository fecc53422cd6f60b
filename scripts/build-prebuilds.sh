#!/usr/bin/env bash
# Builds the prebuilt native addons the npm package ships (prebuilds/<platform>-<arch>/), from
# native/*.c in a scratch copy so native/build is left alone. Run it on Debian 12 (bookworm):
# the decoder links the FFmpeg libraries of the machine it is built on (libavformat.so.59 there),
# and the package's install step keeps it only where those load. N-API (version 8) is
# ABI-stable, so one build serves Node 22 and later. Needs build-essential, python3,
# pkg-config and libav*-dev (scripts/setup.sh test installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  printf 'build-prebuilds: the shipped decoder is built for Debian 12 (bookworm); this is %s\n' "${PRETTY_NAME:-unknown}" >&2
  exit 1
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp native/binding.gyp native/*.c native/*.h "$scratch/"
gyp=$(npm prefix -g 2>/dev/null)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
[ -f "$gyp" ] || gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
nodedir=()
[ -f /usr/include/node/node_api.h ] && nodedir=(--nodedir=/usr)
node "$gyp" rebuild -C "$scratch" "${nodedir[@]}" >&2
target="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
mkdir -p "$target"
for addon in framesupplier_shm framesupplier_decoder; do
  strip --strip-unneeded -o "$target/$addon.node" "$scratch/build/Release/$addon.node"
done
ls -l "$target" >&2
