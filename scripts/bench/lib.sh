# Shared helpers for the benchmarks: timing, medians, ratios.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[ -f dist/src/native.js ] && [ -f native/rkt.linux-x64-gnu.node ] || bash scripts/setup.sh >&2
RUNS=${RUNS:-3}
BENCH_DIR=${BENCH_DIR:-/var/tmp}

now() { date +%s.%N; }
# median of numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# time_cmd CMD...: seconds of one run
time_cmd() { local t0; t0=$(now); "$@" >/dev/null; awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f\n", b-a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
mbps() { awk -v bytes="$1" -v s="$2" 'BEGIN{printf "%.0f", bytes/1048576/s}'; }
