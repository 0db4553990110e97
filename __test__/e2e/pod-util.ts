/**
 * Helpers shared by the pod management e2e tests: background pods, what a pod leaves behind on the
 * host (mounts, processes, cgroups), key=value output.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { RktContext } from './harness';

export function kv(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of out.split('\n')) {
    const eq = l.indexOf('=');
    if (eq > 0) m.set(l.slice(0, eq), l.slice(eq + 1));
  }
  return m;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Mount points under `dir` in the host's mount namespace. */
export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')));
}

/** A process's children, zombies included (they stay in the list until reaped). */
export function childrenOf(pid: number): number[] {
  return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

/** Host processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) out.push(Number(p));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Every `rkt-<uuid>` cgroup directory on the host (v1 hierarchies and the unified one). */
export function podCgroups(): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (/^rkt-[0-9a-f-]{36}$/.test(e.name)) out.push(p);
      else if (depth < 3) walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return out;
}

export function podDirs(ctx: RktContext): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of ['embryo', 'prepare', 'prepared', 'run', 'exited-garbage', 'garbage']) {
    try {
      out[s] = fs.readdirSync(path.join(ctx.dataDir, 'pods', s)).sort();
    } catch {
      out[s] = [];
    }
  }
  return out;
}

/** A pod run in the background; `uuid` once stage1 reports it ready. */
export interface BackgroundPod {
  uuid: string;
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number>;
}

export async function startPod(ctx: RktContext, runArgs: string[], global: string[] = []): Promise<BackgroundPod> {
  const uuidFile = ctx.path(`uuid-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const proc = ctx.spawn(['--insecure-options=image', ...global, 'run', `--uuid-file-save=${uuidFile}`, ...runArgs]);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? 128 + (sig ? 9 : 0))));
  let done = false;
  void exited.then(() => (done = true));
  await waitFor(() => done || (fs.existsSync(uuidFile) && fs.readFileSync(uuidFile, 'utf8').length === 36), 60_000, 'the pod uuid');
  if (done) throw new Error(`pod exited early: ${err}`);
  const uuid = fs.readFileSync(uuidFile, 'utf8');
  const ready = () => {
    try {
      return fs.readlinkSync(path.join(ctx.dataDir, 'pods', 'run', uuid, 'stage1', 'rootfs', 'rkt', 'supervisor-status')) === 'ready';
    } catch {
      return false;
    }
  };
  await waitFor(() => done || ready(), 60_000, 'the pod to be ready');
  if (done) throw new Error(`pod exited early: ${err}`);
  return { uuid, proc, stdout: () => out, stderr: () => err, exited };
}

/**
 * After a test: the test's pods removed with `rkt rm` (exited ones keep their overlay mounts until
 * then, as in rkt), and nothing of them is left on the host.
 */
export function assertNothingLeft(ctx: RktContext, uuids: string[], marker = ctx.root): void {
  const present = [...new Set(uuids)].filter((u) => Object.values(podDirs(ctx)).some((l) => l.includes(u)));
  if (present.length) {
    const r = ctx.run(['rm', ...present]);
    assert.equal(r.code, 0, `rkt rm: ${r.stderr}`);
  }
  assert.deepEqual(mountsUnder(ctx.dataDir), [], 'no mount left under the data dir');
  const cgs = podCgroups().filter((c) => uuids.some((u) => c.endsWith(`rkt-${u}`)));
  assert.deepEqual(cgs, [], 'no cgroup of these pods left');
  assert.deepEqual(processesWith(ctx.root), [], 'no stage1 process of this test context left');
  assert.deepEqual(processesWith(marker), [], 'no app process of this test context left');
}
