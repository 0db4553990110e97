/**
 * Pods on disk (rkt's pkg/pod): a pod is a directory whose parent names its state, moved between
 * states by rename(2) + fsync, with a flock on the directory meaning "someone is working on it"
 * (preparing, running, deleting). See §2.3 of the reference.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { under } from '../util/paths';
import { RktError } from '../errors';
import { native } from '../native';
import { FileLock, fsyncDir, renameFile } from '../store/locks';

export const POD_STATE_DIRS = ['embryo', 'prepare', 'prepared', 'run', 'exited-garbage', 'garbage'] as const;
export type PodStateDir = (typeof POD_STATE_DIRS)[number];

export type PodState =
  | 'embryo'
  | 'preparing'
  | 'aborted prepare'
  | 'prepared'
  | 'running'
  | 'exited'
  | 'exited deleting'
  | 'exited garbage'
  | 'deleting'
  | 'garbage'
  | 'gone';

/** States whose lock means something, and the state name when locked / unlocked. */
const LOCK_MEANING: Partial<Record<PodStateDir, [PodState, PodState]>> = {
  prepare: ['preparing', 'aborted prepare'],
  run: ['running', 'exited'],
  'exited-garbage': ['exited deleting', 'exited garbage'],
  garbage: ['deleting', 'garbage'],
};

export class PodDirs {
  constructor(readonly podsDir: string) {}

  // podsDir is a DataLayout's (absolute, normalized), and uuids are resolved names of pod dirs
  stateDir(s: PodStateDir): string {
    return under(this.podsDir, s);
  }

  podPath(s: PodStateDir, uuid: string): string {
    return under(this.podsDir, s, uuid);
  }

  ensure(): void {
    native.createDirs(POD_STATE_DIRS.map((s) => this.stateDir(s)), 0o750);
    // Each new pod in a block group of its own, not among the inodes gc freed from the last
    // ones: on ext4 without a journal those make every create slow (rkt_core::dirs::mark_top_dir).
    native.markTopDir(this.stateDir('embryo'));
  }

  /** Where the pod is now (rkt's getPod order); undefined when gone. */
  locate(uuid: string): PodStateDir | undefined {
    for (const s of POD_STATE_DIRS) if (fs.existsSync(this.podPath(s, uuid))) return s;
    return undefined;
  }

  /** rkt's refreshState: the directory plus, where it matters, whether its lock is held. */
  state(uuid: string): { dir: PodStateDir | undefined; state: PodState } {
    return this.stateIn(this.locate(uuid), uuid);
  }

  /** As state(), for a pod just seen in `dir` (it may have moved on since: then looked up again). */
  stateIn(dir: PodStateDir | undefined, uuid: string): { dir: PodStateDir | undefined; state: PodState } {
    if (!dir) return { dir, state: 'gone' };
    if (dir === 'embryo') return { dir, state: 'embryo' };
    if (dir === 'prepared') return { dir, state: 'prepared' };
    const meaning = LOCK_MEANING[dir] as [PodState, PodState];
    let lock: FileLock | undefined;
    try {
      lock = FileLock.tryDir(this.podPath(dir, uuid), false);
    } catch {
      return this.state(uuid); // moved while we looked (or never was there): look again
    }
    if (!lock) return { dir, state: meaning[0] };
    lock.release();
    return { dir, state: meaning[1] };
  }

  list(states: readonly PodStateDir[] = POD_STATE_DIRS): { uuid: string; dir: PodStateDir }[] {
    const out: { uuid: string; dir: PodStateDir }[] = [];
    for (const s of states) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(this.stateDir(s));
      } catch {
        /* no such state dir yet */
      }
      for (const n of names) if (UUID_RE.test(n)) out.push({ uuid: n, dir: s });
    }
    return out;
  }

  /**
   * rkt's uuid matching: case-insensitive prefix among pods in prepare, prepared, run and
   * exited-garbage; 32 hex digits without dashes are accepted too.
   */
  resolveUuid(arg: string): string {
    if (arg === '') throw new RktError('EUSAGE', 'UUID cannot be empty');
    let prefix = arg.toLowerCase();
    if (/^[0-9a-f]{32}$/.test(prefix)) prefix = dashed(prefix);
    const matches = this.list(['prepare', 'prepared', 'run', 'exited-garbage']).filter((p) => p.uuid.startsWith(prefix));
    const uniq = [...new Set(matches.map((m) => m.uuid))];
    if (uniq.length === 0) throw new RktError('ENOTFOUND', `no matches found for "${arg}"`);
    if (uniq.length > 1) throw new RktError('EAMBIGUOUS', `ambiguous uuid, ${uniq.length} matches`);
    return uniq[0];
  }
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A pod this process is creating: made in embryo/, locked, renamed to prepare/ (still locked).
 * The lock travels with the directory across renames, so the pod stays "preparing" to others.
 */
export class NewPod {
  private constructor(
    readonly dirs: PodDirs,
    readonly uuid: string,
    private dir: PodStateDir,
    readonly lock: FileLock,
    private readonly durable = true,
  ) {}

  /**
   * `durable`: each move between state dirs is fsynced (a pod prepared for later must be found
   * after a crash). A pod run at once skips that: a crash kills it anyway, and gc collects it from
   * whichever state dir it is left in.
   */
  static async create(dirs: PodDirs, durable = true): Promise<NewPod> {
    const pod = await NewPod.embryo(dirs, durable);
    pod.startPrepare();
    return pod;
  }

  /**
   * The pod made in embryo/ and locked, but not yet a pod: no command lists an embryo, and gc
   * takes one only when nobody holds it. startPrepare() makes it one; discard() undoes it.
   */
  static async embryo(dirs: PodDirs, durable = true): Promise<NewPod> {
    dirs.ensure();
    const uuid = native.randomUuid();
    const embryo = dirs.podPath('embryo', uuid);
    native.makeDir(embryo, 0o750);
    const lock = await FileLock.dir(embryo, true);
    return new NewPod(dirs, uuid, 'embryo', lock, durable);
  }

  /** embryo → prepare, still locked. */
  startPrepare(): void {
    if (this.dir !== 'embryo') throw new RktError('EINTERNAL', `pod ${this.uuid} is not an embryo`);
    this.move('prepare');
  }

  /** An embryo given up (its images were not found): removed, as if it had never been made. */
  discard(): void {
    if (this.dir !== 'embryo') throw new RktError('EINTERNAL', `pod ${this.uuid} is not an embryo`);
    fs.rmSync(this.path, { recursive: true, force: true });
    this.lock.release();
  }

  get path(): string {
    return this.dirs.podPath(this.dir, this.uuid);
  }

  /** prepare → prepared: the lock is dropped, anyone may now run it. */
  markPrepared(): void {
    this.move('prepared');
    this.lock.release();
  }

  /** prepare → run, keeping the lock for stage1 (rkt run). */
  markRunning(): void {
    this.move('run');
  }

  /** On failure: an aborted prepare is left unlocked in prepare/, for gc. */
  abort(): void {
    this.lock.release();
  }

  private move(to: PodStateDir): void {
    const from = this.path;
    renameFile(from, this.dirs.podPath(to, this.uuid));
    if (this.durable) fsyncDir(this.dirs.stateDir(to));
    this.dir = to;
  }
}

/** A prepared pod claimed by run-prepared: locked, then moved to run/. */
export async function claimPrepared(dirs: PodDirs, uuid: string): Promise<{ path: string; lock: FileLock }> {
  const src = dirs.podPath('prepared', uuid);
  const lock = FileLock.tryDir(src, true);
  if (!lock) throw new RktError('EUSAGE', `pod "${uuid}" is being prepared or run by another process`);
  const dst = dirs.podPath('run', uuid);
  try {
    fs.renameSync(src, dst);
  } catch (e) {
    lock.release();
    throw new RktError('EUSAGE', `pod "${uuid}" is not prepared: ${(e as Error).message}`);
  }
  fsyncDir(dirs.stateDir('run'));
  return { path: dst, lock };
}
