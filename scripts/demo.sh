#!/usr/bin/env bash
# Sets everything up, then runs the main job on the built-in example image, with no network:
# build the example ACI, import it into a fresh store, list, inspect, render and export it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2

work=$(mktemp -d /tmp/rkt-demo.XXXXXX)
rkt() { node bin/rkt --dir="$work/data" --local-config="$work/etc" --system-config="$work/lib" "$@"; }
step() { printf '\n$ rkt %s\n' "$*"; rkt "$@"; }

node dist/scripts/fixtures/make-example-aci.js "$work/inspect.aci" >/dev/null
echo "example image: $work/inspect.aci"
step --insecure-options=image fetch "$work/inspect.aci"
step image list
step image cat-manifest example.com/inspect:0.1.0
step image render example.com/inspect:0.1.0 "$work/rendered"
step image verify example.com/inspect:0.1.0
step image export example.com/inspect:0.1.0 "$work/exported.aci"
id=$(rkt image list --full --no-legend --fields=id)
echo "image ID:           $id"
echo "sha512 of export:   sha512-$(sha512sum "$work/exported.aci" | cut -c1-64)"
if [ "$(id -u)" -eq 0 ]; then
  printf '\n$ chroot %s /inspect --print-msg=...\n' "$work/rendered/rootfs"
  chroot "$work/rendered/rootfs" /inspect "--print-msg=Hello from the rendered example image"
fi
rm -rf "$work"
