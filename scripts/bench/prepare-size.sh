#!/usr/bin/env bash
# `rkt prepare` as the image grows (10 MiB, 100 MiB, 1 GiB of incompressible file data): with
# overlay it only mounts the rendered tree, so it must stay flat (--no-overlay copies, for contrast).
# Then one running pod: RSS of the stage1 processes, no Node process left, host mounts.
set -euo pipefail
RUNS=${RUNS:-5} # before lib.sh, whose default is 3
source "$(dirname "$0")/pod-lib.sh"
SIZES=${SIZES:-10 100 1024}
need_pkgs hyperfine
new_work prepare-size
pods=$work/data/pods

# Untimed before each prepare: collect the previous prepared pods and their overlay mounts.
printf '%s gc --grace-period=0s --expire-prepared=0s >/dev/null 2>&1\n' "$RKT" >"$work/gc.sh"

echo "rkt prepare, median of $RUNS runs (image fetched and rendered before)"
printf '  %-10s %12s %20s\n' "file data" "prepare" "--no-overlay (1 run)"
for mib in $SIZES; do
  d=$work/img-$mib
  mkdir -p "$d"/rootfs/{bin,etc,tmp,data}
  cp "$INSPECT" "$d/rootfs/inspect"
  ln -s /inspect "$d/rootfs/bin/inspect"
  # Four files of random data: nothing to gain from compression or sparse files on either side.
  for i in 1 2 3 4; do head -c $((mib * 1048576 / 4)) /dev/urandom >"$d/rootfs/data/blob$i"; done
  write_manifest "$d" "example.com/bench-size-$mib" /inspect
  tar -C "$d" -cf "$d/image.aci" manifest rootfs
  rm -rf "$d/rootfs"
  rkt --insecure-options=image fetch "$d/image.aci" >/dev/null 2>&1
  rm -f "$d/image.aci"
  img=example.com/bench-size-$mib:1.0
  rkt prepare "$img" >/dev/null 2>&1 # renders the tree if fetch did not, imports stage1 once

  t=$(median_ms "$RUNS" "bash $work/gc.sh" "$RKT prepare $img")
  copy=$(median_ms 1 "bash $work/gc.sh" "$RKT prepare --no-overlay $img")
  printf '  %6s MiB %9s ms %17s ms\n' "$mib" "$t" "$copy"
done
bash "$work/gc.sh"

# One running pod, from the smallest image: the app sleeps 3 s.
mib=${SIZES%% *}
$RKT run --uuid-file-save="$work/uuid" "example.com/bench-size-$mib:1.0" --exec=/inspect -- --sleep=3000 >/dev/null 2>&1 &
bg=$!
for ((i = 0; i < 250; i++)); do # up to 5 s for stage1 to write the pod's pid file
  [ -s "$work/uuid" ] && [ -s "$pods/run/$(cat "$work/uuid")/pid" ] && break
  sleep 0.02
done
uuid=$(cat "$work/uuid")
pod=$pods/run/$uuid
sleep 0.5 # the app is started by then (stage1 takes ~10 ms)

# stage1's processes: every process whose executable is the pod's stage1 init (same dev:inode,
# which also matches inside the pod's own mount namespace).
init_id=$(stat -L -c %d:%i "$pod/stage1/rootfs/init")
stage1_pids=()
for p in /proc/[0-9]*; do
  [ "$(stat -L -c %d:%i "$p/exe" 2>/dev/null)" = "$init_id" ] && stage1_pids+=("${p#/proc/}")
done
# A Node process for this pod would have the data dir in its command line.
node_left=0
for p in $(pgrep -x node || true); do tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "$work" && node_left=$((node_left + 1)); done
bg_exe=$(stat -L -c %d:%i "/proc/$bg/exe" 2>/dev/null || echo gone)
# The pod's host mounts: those below its dir, and any line of the host's mountinfo naming its
# UUID (a pod mount elsewhere would be a leak). Not a diff of the whole table: other rkt runs on
# the machine mount and unmount meanwhile.
pod_mounts() { echo "$(mounts_under "$pod" | wc -l) below the pod dir, $(grep -c "$uuid" /proc/self/mountinfo || true) naming the UUID"; }
running=$(pod_mounts)

echo "one running pod ($uuid), host view"
if [ "${#stage1_pids[@]}" -gt 0 ]; then
  ps -o pid=,rss= -p "$(IFS=,; echo "${stage1_pids[*]}")" | awk -v bg="$bg" -v pid1="$(cat "$pod/pid")" '{
    role = $1 == bg ? "(was rkt run)" : $1 == pid1 ? "(pod PID 1)" : ""
    printf "  stage1 pid %-7s %-14s RSS %5.2f MiB  (target < 4 MiB)\n", $1, role, $2 / 1024 }'
else
  echo "  WARNING: no process runs the pod's stage1 init"
fi
printf '  %-44s %s\n' "pid of the background rkt run is stage1 init" "$([ "$bg_exe" = "$init_id" ] && echo yes || echo "NO ($bg_exe)")" \
  "node processes left for the pod" "$node_left"
code=0
wait "$bg" || code=$?
printf '  %-44s %s\n' "host mounts of the pod, running" "$running" \
  "host mounts of the pod, after exit" "$(pod_mounts)" \
  "host mounts below the data dir, after exit" "$(mounts_under "$work" | wc -l)" \
  "rkt run exit code" "$code"
