#!/usr/bin/env bash
# Peak RSS of an import as the image grows: it must stay flat (streaming, bounded buffers).
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d "$BENCH_DIR/rkt-bench-mem.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp"
echo "peak RSS of the importing process (node + addon)"
baseline=$(node -e 'process.stdout.write((process.resourceUsage().maxRSS/1024).toFixed(1))')
printf '  node -e 0 baseline : %6s MiB\n' "$baseline"
for mib in 128 1024; do
  node dist/scripts/bench/make-tar.js "$work/img.tar" "$mib" 500
  gzip -1 -c "$work/img.tar" > "$work/img.aci"; rm "$work/img.tar"
  read -r secs rss < <(node dist/scripts/bench/import-one.js "$work/img.aci" "$work/tmp")
  printf '  %5s MiB image     : %6s MiB peak RSS  (%s s)\n' "$mib" "$rss" "$secs"
  rm "$work/img.aci"
done
