#!/usr/bin/env bash
# Runs every test: TypeScript compiled by tsc, then Node's own test runner on dist/test.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
# Every test file gives its top-level describe a timeout (test/conventions checks it); this
# is the backstop for anything outside one, so nothing can hang the run.
# Node 22 or newer: the machine's, or node@22's from node_modules (scripts/setup.sh).
export PATH="$PWD/node_modules/.bin:$PATH"
exec node --test --test-concurrency=2 --test-timeout=300000 "$@" "${files[@]}"
