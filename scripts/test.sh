#!/usr/bin/env bash
# Sets everything up and runs every test tier: Rust (cargo test), TypeScript unit tests, addon
# tests and end-to-end tests against the real CLI. End-to-end tests need root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test: the end-to-end tests run real stores, mounts and pods: run as root (sudo npm test)" >&2
  exit 1
fi

bash scripts/setup.sh

echo "== cargo test" >&2
cargo test -q -p rkt_core -p rkt_inspect -p rkt_stage1 2>&1 | grep -v '^$' | tail -n 40

run_node_tests() {
  local tier=$1
  shopt -s nullglob
  local files=(dist/__test__/"$tier"/*.test.js)
  shopt -u nullglob
  if [ "${#files[@]}" -eq 0 ]; then
    echo "test: no $tier tests found" >&2
    return 1
  fi
  echo "== node --test ($tier: ${#files[@]} files)" >&2
  node --test --test-reporter=spec "${files[@]}"
}

run_node_tests unit
run_node_tests native
run_node_tests e2e
echo "== all tests passed" >&2
