#!/usr/bin/env bash
# Runs every test: TypeScript compiled by tsc, then Node's own test runner on dist/test.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=2 "$@" "${files[@]}"
