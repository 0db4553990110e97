#!/usr/bin/env bash
# Bundles the compiled CLI (dist/src) into dist/rkt.js, which bin/rkt prefers while it is newer than
# dist/src. Native modules and the big libraries only some commands load stay outside.
set -euo pipefail
cd "$(dirname "$0")/.."
npx esbuild dist/src/cli/main.js --bundle --platform=node --format=cjs --target=node20 \
  --outfile=dist/rkt.js --external:sqlite3 --external:openpgp --external:undici --external:'*.node' \
  --log-level=warning
# a first run writes the V8 code cache (dist/rkt.js.cache)
rm -f dist/rkt.js.cache
node bin/rkt help >/dev/null
