#!/usr/bin/env bash
# Builds the napi addon (release), the static stage1 and test binaries, the TypeScript, and packs
# the stage1 binary into the default stage1 ACI shipped in native/.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "build: native addon" >&2
npx napi build --platform --release --manifest-path crates/rkt_napi/Cargo.toml --output-dir native --no-js --dts index.d.ts >/dev/null
echo "build: rkt_stage1 and rkt_inspect (static)" >&2
RUSTFLAGS="-C target-feature=+crt-static" cargo build -q -p rkt_stage1 -p rkt_inspect --release --target x86_64-unknown-linux-gnu
echo "build: typescript" >&2
npx tsc -p tsconfig.json
echo "build: CLI bundle" >&2
bash scripts/bundle.sh
echo "build: stage1 ACI" >&2
node dist/scripts/build-stage1-aci.js target/x86_64-unknown-linux-gnu/release/rkt_stage1 native/stage1-native.aci
