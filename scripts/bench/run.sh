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
read -r node ours paired < <(node dist/scripts/bench/interleaved.js "$RUNS" "bash $work/gc.sh" "node -e 0" "$RKT run example.com/bench-busybox:1.0")
nspawn=$(median_ms "$RUNS" "" "systemd-nspawn -q --register=no --keep-unit -D $work/bb/rootfs /bin/true")
during=$(mounts_under "$work" | wc -l)

# podman, when apt can install it: the same rootfs imported as an image into a store of its own
# under $work, host network, no log driver, the exited container removed untimed before each run
# (as the pods are). Its default runtime is crun (median_ms_crun: hybrid cgroups here); runc too.
# The container asks for the ulimits podman would give it, above this machine's hard limits (crun
# and runc then fail with EPERM): lower ones are given instead.
podman=n/a podman_runc=n/a
if need_pkgs podman crun runc >/dev/null 2>&1; then
  PODMAN="podman --root $work/podman/root --runroot $work/podman/run --storage-driver=overlay --cgroup-manager=cgroupfs --events-backend=file"
  extra_cleanup() { $PODMAN rm -af >/dev/null 2>&1; $PODMAN rmi -af >/dev/null 2>&1; }
  tar -C "$work/bb/rootfs" -c . | $PODMAN import - localhost/bench-busybox:1.0 >/dev/null 2>&1
  podman_run="run --network=host --log-driver=none --pull=never --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/bench-busybox:1.0 /bin/true"
  printf '%s rm -af >/dev/null 2>&1\n' "$PODMAN" >"$work/podman-rm.sh"
  podman=$(median_ms_crun "$RUNS" "bash $work/podman-rm.sh" "$PODMAN --runtime crun $podman_run")
  podman_runc=$(median_ms "$RUNS" "bash $work/podman-rm.sh" "$PODMAN --runtime runc $podman_run")
fi

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
printf '  %-28s %8s ms\n' "node -e 0" "$node" "rkt run" "$ours" "systemd-nspawn" "$nspawn" "podman run (crun)" "$podman" "podman run (runc)" "$podman_runc"
printf '  %-28s %8sx\n' "rkt run / node -e 0" "$(ratio "$ours" "$node")" "rkt run / systemd-nspawn" "$(ratio "$ours" "$nspawn")"
[ "$podman" = n/a ] || printf '  %-28s %8sx\n' "rkt run / podman run (crun)" "$(ratio "$ours" "$podman")"
printf '  %-28s %8s ms  (target < 25 ms)\n' "our own work (rkt - node)" "$(sub "$ours" "$node")"
printf '  %-28s %8s ms  (median of the rounds: rkt run - node -e 0)\n' "  the same, round by round" "$paired"
printf '  %-28s %8s     (overlays of the last exited pod, until gc)\n' "host mounts under the dir" "$during"
echo "  start-up phases, ms since the process started (median of 9):"
echo "$phases" | fold -s -w 96 | sed 's/^/    /'
