#!/usr/bin/env bash
# Installs what framesupplier needs and builds it. Idempotent and quiet when
# nothing changed; safe to run before every command (npm start/test/bench do).
# Runs on a fresh Debian machine as root; needs Node.js 20+ and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

say "building (tsc)"
npx --no-install tsc -p tsconfig.json >&2
