#!/usr/bin/env bash
# Sets everything up, then runs the main job on the built-in example image, with no network:
# build the example ACI, import it into a fresh store, list, inspect, render and export it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2

work=$(mktemp -d /tmp/rkt-demo.XXXXXX)
# whatever happens, leave no pod mount behind
trap 'grep -o " $work[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null; rm -rf "$work"' EXIT
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
  # the main job: the example image as a pod, in its own namespaces, exit code passed through
  step run example.com/inspect:0.1.0 --exec=/inspect -- --print-msg="Hello from a pod" --print-hostname --print-pid
  set +e
  step run --hostname=demo example.com/inspect:0.1.0 --exec=/inspect -- --print-hostname --exit-code=3
  echo "exit code: $?"
  set -e
  uuid=$(rkt prepare --quiet example.com/inspect:0.1.0 --exec=/inspect -- --print-msg="run after prepare")
  step run-prepared "$uuid"
  step list
  step status "$uuid"
  step gc --grace-period=0s
else
  echo "(running pods needs root: sudo npm run demo)"
fi
trap - EXIT
rm -rf "$work"
