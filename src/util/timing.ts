/**
 * Start-up phase marks for the benchmarks (scripts/bench/run.sh): with RKT_TIMING=1 each mark
 * records `timing: <label> <ms since the process started>`, and the lines are written to fd 2 in
 * one write when the process exits or execs stage1. Writing each mark as it came would run
 * fs.writeSync early, which a run without marks never calls: its first call costs 0.2 ms of Node's
 * own JS, which the marks would then hide from the phase they measure. Without RKT_TIMING a mark
 * is an empty call.
 */
import { writeSync } from 'node:fs';

const enabled = process.env.RKT_TIMING === '1';
let lines: string[] | undefined;

function flush(): void {
  if (!lines?.length) return;
  const text = lines.join('');
  lines = [];
  try {
    writeSync(2, text);
  } catch {
    /* stderr closed: nobody to tell */
  }
}

export function mark(label: string): void {
  if (!enabled) return;
  if (!lines) {
    lines = [];
    process.on('exit', flush);
    // pod/run.ts emits it just before the execve, which skips exit handlers
    process.on('rkt:before-exec', flush);
  }
  lines.push(`timing: ${label} ${performance.now().toFixed(2)}\n`);
}
