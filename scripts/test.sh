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
# TAP on stdout as before; the spec reporter's summary beside it, whose "failing tests" part is
# printed again at the end, so a log's last lines name what failed (a long run's first ones scroll away).
summary="$(mktemp "${TMPDIR:-/tmp}/framesupplier-test-summary-XXXXXX")"
trap 'rm -f "$summary"' EXIT
status=0
node --test --test-concurrency=2 --test-timeout=300000 \
  --test-reporter=tap --test-reporter-destination=stdout --test-reporter=spec --test-reporter-destination="$summary" \
  "$@" "${files[@]}" || status=$?
if [ "$status" -ne 0 ]; then
  echo "# ---- what failed (the spec reporter's summary; the TAP above has every test) ----"
  sed -n '/failing tests:/,$p' "$summary" | head -n 400 | sed 's/^/# /'
fi
exit "$status"
