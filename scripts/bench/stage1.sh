#!/usr/bin/env bash
# stage1 alone (no Node): a prepared pod's stage1/rootfs/init run the way `rkt run-prepared` execs
# it, against `crun run` and `runc run` of an OCI bundle on the same busybox rootfs, all /bin/true.
set -euo pipefail
RUNS=${RUNS:-30} # before lib.sh, whose default is 3
source "$(dirname "$0")/pod-lib.sh"
need_pkgs hyperfine busybox-static runc crun
new_work stage1
pods=$work/data/pods
cid=rkt-bench-$$
extra_cleanup() { crun delete -f "$cid" >/dev/null 2>&1; runc delete -f "$cid" >/dev/null 2>&1; }

busybox_image "$work/bb" example.com/bench-busybox /bin/true
rkt --insecure-options=image fetch "$work/bb/image.aci" >/dev/null 2>&1
rkt run example.com/bench-busybox:1.0 >/dev/null # imports stage1 and checks the pod runs at all

# Untimed before each stage1 run, what `rkt run-prepared` does before its execve: a prepared pod
# moved to run/ (status looks for running pods there). The gc first keeps the host's mount count
# steady (prepare leaves 2 overlay mounts per pod until it is collected).
cat >"$work/prep.sh" <<EOF
set -euo pipefail
$RKT gc --grace-period=0s >/dev/null 2>&1
uuid=\$($RKT prepare example.com/bench-busybox:1.0 2>/dev/null)
mv "$pods/prepared/\$uuid" "$pods/run/\$uuid"
echo "\$uuid" >"$work/uuid"
EOF
# Timed: cwd = pod dir, the pod dir open and flock'ed as RKT_LOCK_FD (the run entrypoint of the
# stage1 manifest is /init), then exec. bash and flock(1) cost is measured alone as "wrapper".
cat >"$work/stage1.sh" <<EOF
read -r uuid <"$work/uuid"
cd "$pods/run/\$uuid"
exec 9<.
flock 9
RKT_LOCK_FD=9 exec \${STAGE1:-./stage1/rootfs/init} --net=host "\$uuid"
EOF
bash "$work/prep.sh" && bash "$work/stage1.sh" # fails loudly here if the direct exec is wrong

# The OCI bundle: same rootfs, /bin/true, no terminal. No network namespace, to match the pod's
# --net=host (runc spec adds one: ~0.4 ms more for the peers).
mkdir -p "$work/bundle"
(cd "$work/bundle" && runc spec)
node -e '
  const fs = require("fs"), f = process.argv[1] + "/config.json", s = JSON.parse(fs.readFileSync(f));
  s.process.args = ["/bin/true"]; s.process.terminal = false; s.root.path = process.argv[2];
  s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== "network");
  fs.writeFileSync(f, JSON.stringify(s));' "$work/bundle" "$work/bb/rootfs"

stage1=$(median_ms "$RUNS" "bash $work/prep.sh" "bash $work/stage1.sh")
wrapper=$(STAGE1=/bin/true median_ms "$RUNS" "" "bash $work/stage1.sh")
runc=$(median_ms "$RUNS" "" "runc run --bundle $work/bundle $cid")
crun=$(median_ms_crun "$RUNS" "" "crun run --bundle $work/bundle $cid")
net=$(sub "$stage1" "$wrapper")

echo "stage1 alone vs OCI runtimes, /bin/true on the same busybox rootfs, median of $RUNS runs"
printf '  %-34s %8s ms\n' "stage1 (bash + flock + exec init)" "$stage1" "wrapper alone (exec /bin/true)" "$wrapper" \
  "stage1 net of the wrapper" "$net" "crun run" "$crun" "runc run" "$runc"
printf '  %-34s %8sx  net %sx  (target <= 1.5)\n' "stage1 / crun" "$(ratio "$stage1" "$crun")" "$(ratio "$net" "$crun")"
printf '  %-34s %8sx  net %sx  (target < 1)\n' "stage1 / runc" "$(ratio "$stage1" "$runc")" "$(ratio "$net" "$runc")"
