#!/usr/bin/env bash
# `rkt list` and `rkt status` with 100, 1,000 and 5,000 pods on disk (half exited, half prepared),
# and `rkt gc` of 1,000 exited pods in pods/s. The pods are clones of one pod that really ran and
# one really prepared (scripts/bench/pod-gen.js: the files rkt reads, no mounts, no lock), so the
# figures are rkt's own directory and file work, as after a reboot with many pods on disk.
set -euo pipefail
RUNS=${RUNS:-10}
source "$(dirname "$0")/pod-lib.sh"
need_pkgs hyperfine
new_work pods

img="$work/inspect.aci"
node -e '
  const f = require("./dist/scripts/fixtures/aci");
  const fs = require("fs");
  f.writeAci(process.argv[1], f.aciEntries(f.manifestFor("example.com/bench-inspect", { version: "0.1.0" }), f.exampleRootfs(fs.readFileSync(process.argv[2]))));' "$img" "$INSPECT"
rkt --insecure-options=image run --uuid-file-save="$work/exited" "$img" --exec=/inspect >/dev/null
prepared=$(rkt --insecure-options=image prepare --quiet "$img" --exec=/inspect)
exited=$(cat "$work/exited")
# Keep the two templates as they are; the clones get their own UUIDs.
total=1
echo "rkt list / rkt status with N pods on disk (half exited, half prepared), median of $RUNS runs"
# Wall time, and CPU (user+system, mean) which a loaded machine inflates less.
cpu_ms() { node -e 'const r = require(process.argv[1]).results[0]; console.log(((r.user + r.system) * 1000).toFixed(0))' "$work/hyperfine.json"; }
printf '  %6s %12s %10s %12s %10s\n' "N" "list (ms)" "list cpu" "status (ms)" "status cpu"
for n in 100 1000 5000; do
  add=$((n - total))
  node scripts/bench/pod-gen.js "$work/data" "$exited" "$prepared" $((add / 2)) $((add - add / 2)) 2>/dev/null
  total=$n
  count=$(rkt list --no-legend | awk -F'\t' '$1 != ""' | wc -l)
  [ "$count" -ge "$n" ] || { echo "bench: expected $n pods in rkt list, saw $count" >&2; exit 1; }
  l=$(median_ms "$RUNS" "" "$RKT list")
  lc=$(cpu_ms)
  s=$(median_ms "$RUNS" "" "$RKT status $exited")
  sc=$(cpu_ms)
  printf '  %6s %12s %10s %12s %10s\n' "$n" "$l" "$lc" "$s" "$sc"
  eval "list_$n=$l status_$n=$s"
done
node_floor=$(median_ms "$RUNS" "" "node -e 0")
printf '  %-34s %8s ms (cpu %s ms)\n' "node -e 0 (floor of any Node CLI)" "$node_floor" "$(cpu_ms)"
printf '  %-34s %8sx (linear would be 10x)\n' "list 1,000 / 100" "$(ratio "$list_1000" "$list_100")" "status 1,000 / 100" "$(ratio "$status_1000" "$status_100")"
printf '  %-34s %8sx (linear would be 5x)\n' "list 5,000 / 1,000" "$(ratio "$list_5000" "$list_1000")" "status 5,000 / 1,000" "$(ratio "$status_5000" "$status_1000")"
version=$(median_ms "$RUNS" "" "$RKT version")
printf '  %-34s %8s ms (cpu %s ms; the CLI start-up every command pays)\n' "rkt version" "$version" "$(cpu_ms)"
for w in list status; do
  v=$(eval echo "\$${w}_1000")
  printf '  %-34s %s\n' "$w at 1,000 pods < 300 ms" "$(awk -v v="$v" 'BEGIN{print (v < 300) ? "yes" : "NO (" v " ms)"}')"
done

# gc: a fresh data dir with 1,000 exited pods (the template and 999 clones).
rkt gc --grace-period=0s --expire-prepared=0s >/dev/null 2>&1
rkt --insecure-options=image run --uuid-file-save="$work/exited2" "$img" --exec=/inspect >/dev/null
exited=$(cat "$work/exited2")
prepared=$(rkt --insecure-options=image prepare --quiet "$img" --exec=/inspect)
node scripts/bench/pod-gen.js "$work/data" "$exited" "$prepared" 999 0 2>/dev/null
rkt rm "$prepared" >/dev/null # only a template: leave nothing but the exited pods
count_pods() { find "$@" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l; }
before=$(count_pods "$work/data/pods/run")
t0=$(now)
rkt gc --grace-period=0s >/dev/null 2>"$work/gc.err"
t1=$(now)
after=$(count_pods "$work/data/pods/run" "$work/data/pods/exited-garbage")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
left=$(mounts_under "$work/data/pods" | wc -l)
echo "rkt gc --grace-period=0s of $before exited pods (each gets the stage1 gc entrypoint, as in rkt)"
printf '  %-34s %8s s\n' "wall time" "$secs"
printf '  %-34s %8s pods/s\n' "rate" "$(awk -v n="$before" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')"
printf '  %-34s %8s\n' "exited pods left" "$after" "mounts left under pods/" "$left"
[ "$after" -eq 0 ] && [ "$left" -eq 0 ] || { echo "bench: gc left pods or mounts" >&2; cat "$work/gc.err" >&2; exit 1; }
