#!/usr/bin/env bash
# Render of an image with 20,000 small files and a few large ones, against GNU `tar -xf` of the
# same uncompressed tar into the same filesystem, in the same run. As root, each run gets a fresh
# ext4 (loop-mounted) so neither side pays for the other's deleted inodes; tmpfs is measured too.
source "$(dirname "$0")/lib.sh"
SMALL=${SMALL:-20000}
MIB=${MIB:-200}
work=$(mktemp -d "$BENCH_DIR/rkt-bench-render.XXXXXX")
mnt="$work/mnt"
mkdir -p "$mnt"
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT

node dist/scripts/bench/make-tar.js "$work/img.tar" "$MIB" "$SMALL"
cat "$work/img.tar" >/dev/null
files=$(tar -tf "$work/img.tar" | wc -l)

fresh_fs() { # $1 = ext4|tmpfs
  mountpoint -q "$mnt" && umount "$mnt"
  if [ "$1" = tmpfs ]; then
    mount -t tmpfs -o size=2g tmpfs "$mnt"
  else
    rm -f "$work/fs.img"; truncate -s 2G "$work/fs.img"
    mkfs.ext4 -q -F "$work/fs.img" && mount -o loop "$work/fs.img" "$mnt"
  fi
}

measure() { # $1 = fs kind
  local peer_runs=() sha_runs=() dig_runs=() ver_runs=()
  for _ in $(seq "$RUNS"); do
    fresh_fs "$1"; mkdir "$mnt/tar"; sync
    peer_runs+=("$(time_cmd tar -xf "$work/img.tar" -C "$mnt/tar")")
    fresh_fs "$1"; sync
    sha_runs+=("$(node dist/scripts/bench/render-one.js "$work/img.tar" "$mnt/ours" sha512 | cut -d' ' -f1)")
    fresh_fs "$1"; sync
    dig_runs+=("$(node dist/scripts/bench/render-one.js "$work/img.tar" "$mnt/ours" digest "$work" | cut -d' ' -f1)")
    fresh_fs "$1"; sync
    ver_runs+=("$(node dist/scripts/bench/render-one.js "$work/img.tar" "$mnt/ours" verified | cut -d' ' -f1)")
  done
  local peer sha dig ver
  peer=$(printf '%s\n' "${peer_runs[@]}" | median)
  sha=$(printf '%s\n' "${sha_runs[@]}" | median)
  dig=$(printf '%s\n' "${dig_runs[@]}" | median)
  ver=$(printf '%s\n' "${ver_runs[@]}" | median)
  local rate='BEGIN{print n/s}'
  echo "render of $files entries ($SMALL small files, ${MIB} MiB) on a fresh $1, median of $RUNS runs (all renders include the tree hash)"
  printf '  GNU tar -xf                   : %6.3f s  %6.0f entries/s\n' "$peer" "$(awk -v n="$files" -v s="$peer" "$rate")"
  printf '  renderTree, blob digest check : %6.3f s  %6.0f entries/s  (%sx GNU tar; BLAKE3 recorded at import: any later render)\n' "$dig" "$(awk -v n="$files" -v s="$dig" "$rate")" "$(ratio "$peer" "$dig")"
  printf '  renderTree, SHA-512 check     : %6.3f s  %6.0f entries/s  (%sx; a row without a digest: once, as the digest is then recorded)\n' "$sha" "$(awk -v n="$files" -v s="$sha" "$rate")" "$(ratio "$peer" "$sha")"
  printf '  renderTree, blob verified     : %6.3f s  %6.0f entries/s  (%sx; hashed by this process: the render after an import)\n' "$ver" "$(awk -v n="$files" -v s="$ver" "$rate")" "$(ratio "$peer" "$ver")"
}

if [ "$(id -u)" -eq 0 ]; then
  measure ext4
  measure tmpfs
else
  echo "render.sh: run as root to measure on fresh filesystems" >&2
  exit 1
fi
