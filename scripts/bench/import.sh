#!/usr/bin/env bash
# Import of a gzip ACI (512 MiB uncompressed, mixed files) in one pass through the addon, against
# `gzip -dc x.aci | sha512sum` on the same file in the same run. Also the whole `rkt fetch`.
source "$(dirname "$0")/lib.sh"
MIB=${MIB:-512}
work=$(mktemp -d "$BENCH_DIR/rkt-bench-import.XXXXXX")
trap 'rm -rf "$work"' EXIT

node dist/scripts/bench/make-tar.js "$work/img.tar" "$MIB" 2000
gzip -6 -c "$work/img.tar" > "$work/img.aci"
bytes=$(stat -c %s "$work/img.tar")
rm "$work/img.tar"
mkdir -p "$work/tmp"
cat "$work/img.aci" >/dev/null # page cache warm for both sides

peer=$(for _ in $(seq "$RUNS"); do time_cmd bash -c "gzip -dc '$work/img.aci' | sha512sum"; done | median)
ours=$(for _ in $(seq "$RUNS"); do node dist/scripts/bench/import-one.js "$work/img.aci" "$work/tmp" | cut -d' ' -f1; done | median)
fetch=$(for i in $(seq "$RUNS"); do time_cmd node bin/rkt --dir="$work/data$i" --insecure-options=image fetch "$work/img.aci"; rm -rf "$work/data$i"; done | median)

echo "import of a ${MIB} MiB (uncompressed) gzip ACI, median of $RUNS runs"
printf '  gzip -dc | sha512sum : %6.3f s  %5s MB/s\n' "$peer" "$(mbps "$bytes" "$peer")"
printf '  addon importAci      : %6.3f s  %5s MB/s  (%sx faster)\n' "$ours" "$(mbps "$bytes" "$ours")" "$(ratio "$peer" "$ours")"
printf '  rkt fetch (CLI, index%s): %6.3f s  %5s MB/s  (%sx)\n' "$([ "$(id -u)" -eq 0 ] && echo ', tree render')" "$fetch" "$(mbps "$bytes" "$fetch")" "$(ratio "$peer" "$fetch")"
