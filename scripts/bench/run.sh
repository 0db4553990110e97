#!/usr/bin/env bash
# End to end `rkt run` of /bin/true in a cached busybox image, against `node -e 0` (the floor of
# any Node CLI) and systemd-nspawn on the same rootfs. "Our own work" is rkt run minus node -e 0.
set -euo pipefail
RUNS=${RUNS:-30} # before lib.sh, whose default is 3
source "$(dirname "$0")/pod-lib.sh"
need_pkgs hyperfine busybox-static systemd-container
new_work run

busybox_image "$work/bb" example.com/bench-busybox /bin/true
rkt --insecure-options=image fetch "$work/bb/image.aci" >/dev/null 2>&1
rkt run example.com/bench-busybox:1.0 >/dev/null # the image is cached; stage1 is imported once here

# Untimed before each run: collect the previous pod, so that 30 runs do not pile up 60 overlay
# mounts in the host namespace (each one makes the next unshare(CLONE_NEWNS) dearer).
printf '%s gc --grace-period=0s >/dev/null 2>&1\n' "$RKT" >"$work/gc.sh"

# node -e 0 and rkt run in turns (interleaved.ts): "our own work" is a difference of medians, which
# timing one command after the other would move by several ms as this shared VM's speed drifts.
# systemd-nspawn comes after, on its own: its runs slow the command that follows them.
read -r node ours < <(node dist/scripts/bench/interleaved.js "$RUNS" "bash $work/gc.sh" "node -e 0" "$RKT run example.com/bench-busybox:1.0")
nspawn=$(median_ms "$RUNS" "" "systemd-nspawn -q --register=no --keep-unit -D $work/bb/rootfs /bin/true")
during=$(mounts_under "$work" | wc -l)

# Where a run's time goes: RKT_TIMING=1 marks (src/util/timing.ts), medians of 9 runs, in ms since
# the process started; stage1 and the app come after "exec".
phases=$(for _ in $(seq 9); do
  bash "$work/gc.sh"
  RKT_TIMING=1 $RKT run example.com/bench-busybox:1.0 2>&1 >/dev/null | grep '^timing: '
done | node -e '
  const m = new Map();
  for (const l of require("fs").readFileSync(0, "utf8").trim().split("\n")) {
    const [, k, v] = l.split(" ");
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(+v);
  }
  let prev = 0;
  const out = [];
  for (const [k, a] of m) {
    a.sort((x, y) => x - y);
    const med = a[a.length >> 1];
    out.push(`${k} ${med.toFixed(1)} (+${(med - prev).toFixed(1)})`);
    prev = med;
  }
  console.log(out.join(", "));')

echo "rkt run of /bin/true (busybox image, cached), median of $RUNS runs (node -e 0 and rkt run in turns)"
printf '  %-28s %8s ms\n' "node -e 0" "$node" "rkt run" "$ours" "systemd-nspawn" "$nspawn"
printf '  %-28s %8sx\n' "rkt run / node -e 0" "$(ratio "$ours" "$node")" "rkt run / systemd-nspawn" "$(ratio "$ours" "$nspawn")"
printf '  %-28s %8s ms  (target < 25 ms)\n' "our own work (rkt - node)" "$(sub "$ours" "$node")"
printf '  %-28s %8s     (overlays of the last exited pod, until gc)\n' "host mounts under the dir" "$during"
echo "  start-up phases, ms since the process started (median of 9):"
echo "$phases" | fold -s -w 96 | sed 's/^/    /'
