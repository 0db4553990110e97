/**
 * Start-up phase marks for the benchmarks (scripts/bench/run.sh): with RKT_TIMING=1 each mark
 * writes `timing: <label> <ms since the process started>` to fd 2 (directly, so that marking
 * never creates process.stderr). Without it a mark is an empty call.
 */
import { writeSync } from 'node:fs';

const enabled = process.env.RKT_TIMING === '1';

export function mark(label: string): void {
  if (!enabled) return;
  writeSync(2, `timing: ${label} ${performance.now().toFixed(2)}\n`);
}
