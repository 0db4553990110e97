/**
 * End-to-end harness: every test context gets a fresh data dir and fresh config dirs, and drives
 * the real `bin/rkt` in a child process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const RKT = path.join(REPO, 'bin', 'rkt');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class RktContext {
  readonly root: string;
  readonly dataDir: string;
  readonly localConfig: string;
  readonly systemConfig: string;

  constructor(prefix = 'rkt-e2e-') {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dataDir = path.join(this.root, 'data');
    this.localConfig = path.join(this.root, 'local');
    this.systemConfig = path.join(this.root, 'system');
    for (const d of [this.localConfig, this.systemConfig]) fs.mkdirSync(d, { recursive: true });
  }

  globalArgs(): string[] {
    return [`--dir=${this.dataDir}`, `--local-config=${this.localConfig}`, `--system-config=${this.systemConfig}`];
  }

  /** Runs `rkt <global flags> ...args`. */
  run(args: string[], opts: SpawnSyncOptions = {}): RunResult {
    const r = spawnSync(process.execPath, [RKT, ...this.globalArgs(), ...args], { encoding: 'utf8', timeout: 120_000, ...opts });
    return { code: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  /** Runs and expects exit 0, returning stdout. */
  ok(args: string[], opts: SpawnSyncOptions = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`rkt ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  /** Async variant, for concurrency and kill tests. */
  spawn(args: string[]) {
    return spawn(process.execPath, [RKT, ...this.globalArgs(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  path(...p: string[]): string {
    return path.join(this.root, ...p);
  }

  /** Every file under a dir (relative), for "nothing was left behind" assertions. */
  files(rel: string): string[] {
    const base = path.join(this.dataDir, rel);
    const out: string[] = [];
    const walk = (d: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(path.relative(base, p));
      }
    };
    walk(base);
    return out.sort();
  }

  cleanup(): void {
    // Never leave a mount behind: unmount anything under our root before removing it.
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(this.root));
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export function sha512(buf: Buffer | string): string {
  return require('node:crypto').createHash('sha512').update(buf).digest('hex') as string;
}

export function keyOf(tar: Buffer): string {
  return `sha512-${sha512(tar).slice(0, 64)}`;
}

export const isRoot = process.getuid?.() === 0;
