# Helpers for the pod benchmarks (run.sh, stage1.sh, prepare-size.sh): a throwaway rkt data dir
# and config dirs, a busybox ACI, medians from hyperfine (or a bounded loop), and a cleanup that
# checks /proc/self/mountinfo so no pod mount outlives the benchmark.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "$0: run as root (pods need namespaces and mounts)" >&2; exit 1; }
# Node as a user starts it: an inherited NODE_EXTRA_CA_CERTS makes every Node start read and parse
# those certificates (~30 ms here), and NODE_OPTIONS could change anything. Either would inflate
# `node -e 0` and `rkt run` alike, and the ratio between them would look better than it is.
unset NODE_EXTRA_CA_CERTS NODE_OPTIONS
INSPECT=target/x86_64-unknown-linux-gnu/release/rkt_inspect
[ -f native/stage1-native.aci ] && [ -f "$INSPECT" ] && [ -d dist ] || bash scripts/build.sh >&2

# need_pkgs PKG...: apt-get install the Debian packages that are not installed yet.
need_pkgs() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "bench: apt-get install ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# The CLI under test. Point RKT_BIN at a copy of the build (bin/ dist/ native/ package.json and a
# node_modules link) to measure while someone else rebuilds dist/ under bin/rkt.
RKT_BIN=${RKT_BIN:-$PWD/bin/rkt}

# new_work NAME: $work, a fresh temp dir holding the data dir and both config dirs; $RKT, the CLI
# with those global flags (a plain string, so hyperfine can run it without a shell).
new_work() {
  work=$(mktemp -d "$BENCH_DIR/rkt-bench-$1.XXXXXX")
  mkdir -p "$work/local" "$work/system"
  RKT="node $RKT_BIN --dir=$work/data --local-config=$work/local --system-config=$work/system"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
rkt() { $RKT "$@"; }

# Mount points at or below a dir, deepest first (mountinfo field 5 is the mount point).
mounts_under() { awk -v d="$1" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r; }

bench_cleanup() {
  local rc=$? m left
  set +e
  declare -F extra_cleanup >/dev/null && extra_cleanup
  if [ -d "$work/data" ]; then
    rkt gc --grace-period=0s --expire-prepared=0s >/dev/null 2>&1
  fi
  left=$(mounts_under "$work" | wc -l)
  if [ "$left" -gt 0 ]; then
    echo "bench: WARNING: $left mount(s) still under $work after rkt gc; unmounting them" >&2
    for m in $(mounts_under "$work"); do umount "$m" 2>/dev/null || umount -l "$m"; done
  fi
  rm -rf "$work"
  exit "$rc"
}

# busybox_image DIR NAME EXEC...: DIR/rootfs (busybox-static, /bin/true, and /usr because
# systemd-nspawn refuses a root without one), DIR/manifest, and DIR/image.aci (plain tar).
busybox_image() {
  local dir=$1 name=$2; shift 2
  mkdir -p "$dir"/rootfs/{bin,usr,etc,tmp,proc,sys,dev}
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  ln -sf busybox "$dir/rootfs/bin/true"
  ln -sf busybox "$dir/rootfs/bin/sh"
  write_manifest "$dir" "$name" "$@"
  tar -C "$dir" -cf "$dir/image.aci" manifest rootfs
}

# write_manifest DIR NAME EXEC...: an image manifest (version 1.0, linux/amd64, root user).
write_manifest() {
  node -e '
    const [dir, name, ...exec] = process.argv.slice(1);
    const labels = [["version", "1.0"], ["os", "linux"], ["arch", "amd64"]].map(([n, v]) => ({ name: n, value: v }));
    const m = { acKind: "ImageManifest", acVersion: "0.8.11", name, labels, app: { exec, user: "0", group: "0" } };
    require("fs").writeFileSync(dir + "/manifest", JSON.stringify(m));' "$@"
}

# median_ms RUNS PREPARE CMD: median wall time of CMD in ms over RUNS runs (plus one warm-up).
# PREPARE (or "") runs untimed before every run. CMD is split into words, never given to a shell.
median_ms() {
  local runs=$1 prep=$2 cmd=$3 i t0 t1
  if command -v hyperfine >/dev/null; then
    local args=(-N --style none --warmup 1 --runs "$runs" --export-json "$work/hyperfine.json")
    [ -n "$prep" ] && args+=(--prepare "$prep")
    # Its warnings (outliers on this shared VM) go to a file, shown only if a run fails.
    hyperfine "${args[@]}" "$cmd" >/dev/null 2>"$work/hyperfine.err" || { echo "bench: failed: $cmd" >&2; cat "$work/hyperfine.err" >&2; return 1; }
    node -e 'console.log((require(process.argv[1]).results[0].median * 1000).toFixed(2))' "$work/hyperfine.json"
  else
    for ((i = 0; i <= runs; i++)); do
      [ -n "$prep" ] && bash -c "$prep" >/dev/null
      t0=$(date +%s%N)
      (eval "exec $cmd") >/dev/null 2>&1
      t1=$(date +%s%N)
      [ "$i" -gt 0 ] && echo $(((t1 - t0) / 1000))  # run 0 is the warm-up
    done | median | awk '{printf "%.2f\n", $1 / 1000}'
  fi
}

# median_ms_crun RUNS PREPARE CMD: median_ms for a command that runs crun. On hybrid cgroups (as
# here) crun 1.8 refuses to run while the cgroup2 mount has a controller ("cgroups in hybrid mode
# not supported"): the command runs in a private mount namespace, made once outside the timing,
# without that mount; crun then uses the v1 controllers, as runc does.
median_ms_crun() {
  if mountpoint -q /sys/fs/cgroup/unified; then
    export -f median_ms median
    export work
    unshare -m --propagation private bash -c 'umount /sys/fs/cgroup/unified && median_ms "$@"' _ "$@"
  else
    median_ms "$@"
  fi
}

# Arithmetic on the figures (awk, since bash has integers only).
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a-b}'; }
