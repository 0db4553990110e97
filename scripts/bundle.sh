#!/usr/bin/env bash
# Bundles the compiled CLI (dist/src) into dist/rkt.js (scripts/bundle.js says how), then runs it
# once so that the V8 code cache (dist/rkt.js.cache) is written.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/bundle.js
rm -rf dist/rkt.js.cache dist/parser-cache
node bin/rkt help >/dev/null # the first code cache (each command adds its own functions when it first runs)
