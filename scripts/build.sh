#!/usr/bin/env bash
# Builds the napi addon (release), the static test binary baked into test images, and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "build: native addon" >&2
npx napi build --platform --release --manifest-path crates/rkt_napi/Cargo.toml --output-dir native --no-js --dts index.d.ts >/dev/null
echo "build: rkt_inspect (static)" >&2
RUSTFLAGS="-C target-feature=+crt-static" cargo build -q -p rkt_inspect --release --target x86_64-unknown-linux-gnu
echo "build: typescript" >&2
npx tsc -p tsconfig.json
