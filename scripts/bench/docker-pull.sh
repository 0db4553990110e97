#!/usr/bin/env bash
# Pull + convert of a 5-layer, ~200 MiB (uncompressed) image from a docker-registry on 127.0.0.1:
# `rkt fetch docker://…` (registry client, parallel layers, Rust squash into one ACI, store; as
# root also the tree render) against `skopeo copy docker://… oci:DIR` + `umoci unpack` of the same
# image, in the same run. MB/s are of uncompressed layer bytes; peak RSS from /usr/bin/time.
source "$(dirname "$0")/lib.sh"
MIB=${MIB:-200}
LAYERS=5
for t in docker-registry skopeo umoci /usr/bin/time; do command -v "$t" >/dev/null || { echo "bench: $t missing (scripts/setup.sh installs it)" >&2; exit 1; }; done
work=$(mktemp -d "$BENCH_DIR/rkt-bench-docker.XXXXXX")
reg_pid=
cleanup() { [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# An ephemeral loopback port, and a registry config of our own (never Debian's: it listens on all
# interfaces).
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: 127.0.0.1:$port, secret: bench}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

# The image: busybox, then layers of mixed files (half random, half text), each under its own dir.
umoci init --layout "$work/layout" && umoci new --image "$work/layout:bench"
mkdir -p "$work/l0/bin" && cp /bin/busybox "$work/l0/bin/"
umoci insert --image "$work/layout:bench" "$work/l0" /
per=$(( MIB / (LAYERS - 1) ))
for i in $(seq 1 $((LAYERS - 1))); do
  node dist/scripts/bench/make-tar.js "$work/l$i.tar" "$per" 800
  mkdir -p "$work/l$i/layer$i" && tar -xf "$work/l$i.tar" -C "$work/l$i/layer$i" rootfs && rm "$work/l$i.tar"
  umoci insert --image "$work/layout:bench" "$work/l$i" /
  rm -rf "$work/l$i"
done
umoci config --image "$work/layout:bench" --config.cmd /bin/busybox --os linux --architecture amd64
umoci gc --layout "$work/layout"
skopeo copy --quiet --dest-tls-verify=false "oci:$work/layout:bench" "docker://127.0.0.1:$port/bench/img:1"
bytes=$(node -e '
  const fs=require("fs"),zlib=require("zlib"),p=process.argv[1];
  const idx=JSON.parse(fs.readFileSync(p+"/index.json"));const b=d=>p+"/blobs/sha256/"+d.slice(7);
  const m=JSON.parse(fs.readFileSync(b(idx.manifests[0].digest)));
  let n=0;for(const l of m.layers)n+=zlib.gunzipSync(fs.readFileSync(b(l.digest))).length;console.log(n)' "$work/layout")
compressed=$(node -e 'const fs=require("fs"),p=process.argv[1];const idx=JSON.parse(fs.readFileSync(p+"/index.json"));
  const m=JSON.parse(fs.readFileSync(p+"/blobs/sha256/"+idx.manifests[0].digest.slice(7)));console.log(m.layers.reduce((a,l)=>a+l.size,0))' "$work/layout")
rm -rf "$work/layout" "$work/l0"

# time_rss CMD...: "seconds peak_rss_mib" of one run
time_rss() {
  local t0 rss; t0=$(now)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  rss=$(awk '{printf "%.0f", $1/1024}' "$work/rss")
  awk -v a="$t0" -v b="$(now)" -v r="$rss" 'BEGIN{printf "%.3f %s\n", b-a, r}'
}
peer_run() {
  rm -rf "$work/oci" "$work/bundle"
  bash -c "skopeo copy --quiet --src-tls-verify=false docker://127.0.0.1:$port/bench/img:1 oci:$work/oci:1 && umoci unpack --image $work/oci:1 $work/bundle"
}
ours_run() {
  rm -rf "$work/data"
  node bin/rkt --dir="$work/data" --insecure-options=image,http fetch docker://127.0.0.1:$port/bench/img:1
}
peer_times=(); ours_times=(); conv_times=(); copy_times=(); peer_rss=0; ours_rss=0; conv_rss=0
for _ in $(seq "$RUNS"); do
  rm -rf "$work/oci"
  copy_times+=("$(time_cmd skopeo copy --quiet --src-tls-verify=false "docker://127.0.0.1:$port/bench/img:1" "oci:$work/oci:1")")
  read -r s r < <(time_rss bash -c "$(declare -f peer_run); work=$work port=$port; peer_run"); peer_times+=("$s"); [ "$r" -gt "$peer_rss" ] && peer_rss=$r
  read -r s r < <(time_rss bash -c "$(declare -f ours_run); work=$work port=$port; ours_run"); ours_times+=("$s"); [ "$r" -gt "$ours_rss" ] && ours_rss=$r
  rm -rf "$work/data"
  read -r s r < <(node dist/scripts/bench/docker-pull-one.js "$work/data" "docker://127.0.0.1:$port/bench/img:1"); conv_times+=("$s"); r=${r%.*}; [ "$r" -gt "$conv_rss" ] && conv_rss=$r
done
peer=$(printf '%s\n' "${peer_times[@]}" | median)
ours=$(printf '%s\n' "${ours_times[@]}" | median)
conv=$(printf '%s\n' "${conv_times[@]}" | median)
copy=$(printf '%s\n' "${copy_times[@]}" | median)

echo "pull + convert of a $LAYERS-layer image, $(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}') MiB uncompressed ($(awk -v b="$compressed" 'BEGIN{printf "%.0f", b/1048576}') MiB gzip) from 127.0.0.1, median of $RUNS runs"
printf '  skopeo copy (pull only)          : %6.3f s  %5s MB/s\n' "$copy" "$(mbps "$bytes" "$copy")"
printf '  skopeo copy + umoci unpack       : %6.3f s  %5s MB/s  peak RSS %4s MiB\n' "$peer" "$(mbps "$bytes" "$peer")" "$peer_rss"
printf '  pull + convert + store (no tree) : %6.3f s  %5s MB/s  peak RSS %4s MiB  (%sx vs skopeo+umoci)\n' "$conv" "$(mbps "$bytes" "$conv")" "$conv_rss" "$(ratio "$peer" "$conv")"
printf '  rkt fetch docker:// CLI%s: %6.3f s  %5s MB/s  peak RSS %4s MiB  (%sx vs skopeo+umoci)\n' "$([ "$(id -u)" -eq 0 ] && echo ' (+render)' || echo '          ')" "$ours" "$(mbps "$bytes" "$ours")" "$ours_rss" "$(ratio "$peer" "$ours")"
echo "  (fsync of the store blob and syncfs of the tree are included on our side; skopeo/umoci sync nothing)"
