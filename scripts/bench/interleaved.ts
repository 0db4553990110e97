/**
 * Medians of several commands timed in turns: one run of each, RUNS rounds (after one warm-up
 * round), so that the speed of a shared VM, which drifts over seconds, weighs on every command
 * alike. Timed back to back (as hyperfine does), the difference of two medians can move by 10 ms
 * between one minute and the next; "our own work" in run.sh is such a difference.
 *
 * usage: node interleaved.js RUNS PREPARE CMD... — PREPARE ("" for none) is a shell command run
 * untimed before each command; each CMD is split on spaces and run without a shell, its output
 * discarded. Prints one median in ms per CMD, on one line, in order; with two commands, then the
 * median of the rounds' differences (second minus first), which the drift within a run moves less
 * than the difference of the two medians. A command that fails stops it.
 */
import { spawnSync } from 'node:child_process';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main(): void {
  const [runsArg, prepare, ...cmds] = process.argv.slice(2);
  const runs = Number(runsArg);
  if (!Number.isInteger(runs) || runs < 1 || cmds.length === 0) throw new Error('usage: interleaved.js RUNS PREPARE CMD...');
  const times = cmds.map(() => [] as number[]);
  for (let round = 0; round <= runs; round++) {
    cmds.forEach((cmd, i) => {
      if (prepare) spawnSync('bash', ['-c', prepare], { stdio: 'ignore' });
      const [file, ...args] = cmd.split(' ').filter(Boolean);
      const t0 = process.hrtime.bigint();
      const r = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`failed (${r.status ?? r.signal}): ${cmd}\n${String(r.stderr)}`);
      if (round > 0) times[i].push(ms); // round 0 warms the page cache and code caches
    });
  }
  const out = times.map((t) => median(t).toFixed(2));
  if (times.length === 2) out.push(median(times[1].map((t, i) => t - times[0][i])).toFixed(2));
  console.log(out.join(' '));
}

main();
