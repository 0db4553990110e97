#!/usr/bin/env bash
# Render of an image with 20,000 small files and a few large ones, against GNU `tar -xf` of the
# same uncompressed tar into the same filesystem, in the same run.
source "$(dirname "$0")/lib.sh"
SMALL=${SMALL:-20000}
MIB=${MIB:-200}
work=$(mktemp -d "$BENCH_DIR/rkt-bench-render.XXXXXX")
trap 'rm -rf "$work"' EXIT

node dist/scripts/bench/make-tar.js "$work/img.tar" "$MIB" "$SMALL"
cat "$work/img.tar" >/dev/null

peer_runs=(); ours_runs=()
for i in $(seq "$RUNS"); do
  mkdir "$work/tar$i"; sync
  peer_runs+=("$(time_cmd tar -xf "$work/img.tar" -C "$work/tar$i")")
  rm -rf "$work/tar$i"; sync
  ours_runs+=("$(node dist/scripts/bench/render-one.js "$work/img.tar" "$work/ours$i" | cut -d' ' -f1)")
  rm -rf "$work/ours$i"; sync
done
peer=$(printf '%s\n' "${peer_runs[@]}" | median)
ours=$(printf '%s\n' "${ours_runs[@]}" | median)
files=$((SMALL + MIB / 16 + 2))
echo "render of $SMALL small files + ${MIB} MiB total on $(df --output=fstype "$work" | tail -1), median of $RUNS runs"
printf '  GNU tar -xf       : %6.3f s  %6.0f entries/s\n' "$peer" "$(awk -v n=$files -v s="$peer" 'BEGIN{print n/s}')"
printf '  addon renderTree  : %6.3f s  %6.0f entries/s  (%sx GNU tar speed; includes SHA-512 check of the blob)\n' "$ours" "$(awk -v n=$files -v s="$ours" 'BEGIN{print n/s}')" "$(ratio "$peer" "$ours")"
