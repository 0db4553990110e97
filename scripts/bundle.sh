#!/usr/bin/env bash
# Bundles the compiled CLI (dist/src) into dist/rkt.js (scripts/bundle.js says how), then runs it
# once so that a first V8 code cache (dist/rkt.js.<command>.cache, see bin/rkt) is written.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/bundle.js
rm -rf dist/rkt.js.*cache dist/rkt-net.js.*cache dist/parser-cache
# a first code cache (each command writes its own when it first succeeds): the first run compiles
# the parser cache, which leaves the code cache to the second (src/util/code-cache.ts)
node bin/rkt version >/dev/null
node bin/rkt version >/dev/null
