/**
 * Removing pods (rkt/gc.go, rkt/rm.go): exited pods are first marked (moved to exited-garbage),
 * then deleted once the grace period since marking has passed; prepared pods past
 * --expire-prepared and aborted prepares go to garbage/. Deletion unmounts everything below the
 * pod first and holds the pod's lock, so a running or busy pod is never touched.
 */
import * as fs from 'node:fs';
import { RktError } from '../errors';
import { FileLock, fsyncDir } from '../store/locks';
import { PodDirs, type PodStateDir } from './pods';
import { unmountUnder } from './prepare';
import { entrypointPath, runEntrypoint } from './entrypoint';

/** What deleting a pod needs besides its directory: the tree store (for a stage1 no longer mounted). */
export interface DeleteOptions {
  treeDir?: string;
  warn?: (message: string) => void;
}

export interface GcOptions {
  gracePeriodMs: number;
  expirePreparedMs: number;
  markOnly: boolean;
  now?: number;
}

export interface GcEvents {
  /** stderr lines of the marking steps, in rkt's words */
  marked: (message: string) => void;
  collected: (uuid: string) => void;
  kept: (uuid: string) => void;
  error: (uuid: string, e: unknown) => void;
}

function moveLocked(dirs: PodDirs, uuid: string, from: PodStateDir, to: PodStateDir): boolean {
  const src = dirs.podPath(from, uuid);
  let lock: FileLock | undefined;
  try {
    lock = FileLock.tryDir(src, true);
  } catch {
    return false; // moved by someone else meanwhile
  }
  if (!lock) return false; // running or busy
  try {
    fs.renameSync(src, dirs.podPath(to, uuid));
    fsyncDir(dirs.stateDir(to));
    return true;
  } finally {
    lock.release();
  }
}

/**
 * Unmounts and deletes a pod already in exited-garbage/ or garbage/, under its lock. A pod that ran
 * first gets its stage1 gc entrypoint (releasing what stage1 made outside the pod dir: cgroups), as
 * rkt's deletePod; a failure there is reported and the pod is still removed.
 */
export function deletePod(dirs: PodDirs, uuid: string, from: 'exited-garbage' | 'garbage', o: DeleteOptions = {}): boolean {
  const p = dirs.podPath(from, uuid);
  let lock: FileLock | undefined;
  try {
    lock = FileLock.tryDir(p, true);
  } catch {
    return false;
  }
  if (!lock) return false;
  try {
    if (from === 'exited-garbage') {
      const bin = entrypointPath(p, 'gc', o.treeDir);
      if (bin) {
        const code = runEntrypoint(p, bin, [uuid]);
        if (code !== 0) o.warn?.(`problem performing stage1 GC on "${uuid}": exit code ${code}`);
      }
    }
    unmountUnder(p);
    fs.rmSync(p, { recursive: true, force: true });
    return true;
  } finally {
    lock.release();
  }
}

function ageMs(p: string, now: number): number {
  try {
    return now - fs.statSync(p).ctimeMs; // ctime changes with the rename that marked it
  } catch {
    return 0;
  }
}

/** rkt's gc steps in order (rkt/gc.go): mark exited, aborted and expired pods, then sweep. */
export function gcPods(dirs: PodDirs, opts: GcOptions & DeleteOptions, ev: GcEvents): void {
  dirs.ensure();
  const guard = (uuid: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      ev.error(uuid, e);
    }
  };
  for (const { uuid } of dirs.list(['run'])) {
    guard(uuid, () => {
      if (dirs.state(uuid).state === 'exited' && moveLocked(dirs, uuid, 'run', 'exited-garbage')) ev.marked(`moving pod "${uuid}" to garbage`);
    });
  }
  for (const { uuid } of dirs.list(['prepare'])) {
    guard(uuid, () => {
      if (dirs.state(uuid).state === 'aborted prepare' && moveLocked(dirs, uuid, 'prepare', 'garbage')) ev.marked(`moving failed prepare "${uuid}" to garbage`);
    });
  }
  if (opts.markOnly) return;
  for (const { uuid } of dirs.list(['prepared'])) {
    guard(uuid, () => {
      // ctime: when the pod became prepared (the rename)
      if (ageMs(dirs.podPath('prepared', uuid), opts.now ?? Date.now()) >= opts.expirePreparedMs && moveLocked(dirs, uuid, 'prepared', 'garbage')) {
        ev.marked(`moving expired prepared pod "${uuid}" to garbage`);
      }
    });
  }
  for (const { uuid } of dirs.list(['exited-garbage'])) {
    guard(uuid, () => {
      // ctime: when the pod was marked, so the grace period counts from the marking
      if (opts.gracePeriodMs > 0 && ageMs(dirs.podPath('exited-garbage', uuid), opts.now ?? Date.now()) < opts.gracePeriodMs) ev.kept(uuid);
      else if (deletePod(dirs, uuid, 'exited-garbage', opts)) ev.collected(uuid);
    });
  }
  for (const { uuid } of dirs.list(['garbage'])) {
    guard(uuid, () => {
      if (deletePod(dirs, uuid, 'garbage', opts)) ev.collected(uuid);
    });
  }
  // embryos nobody holds are leftovers of a crash before the first rename
  for (const { uuid } of dirs.list(['embryo'])) {
    guard(uuid, () => {
      const p = dirs.podPath('embryo', uuid);
      const lock = FileLock.tryDir(p, true);
      if (!lock) return;
      try {
        fs.rmSync(p, { recursive: true, force: true });
      } finally {
        lock.release();
      }
    });
  }
}

/** `rkt rm`: exited or prepared pods (and aborted prepares), at once, whatever the grace period. */
export function removePod(dirs: PodDirs, uuid: string, o: DeleteOptions = {}): void {
  const { dir, state } = dirs.state(uuid);
  let from: 'exited-garbage' | 'garbage';
  if (dir === 'run' && state === 'exited') {
    if (!moveLocked(dirs, uuid, 'run', 'exited-garbage')) throw new RktError('EUSAGE', `pod "${uuid}" is currently running`);
    from = 'exited-garbage';
  } else if (dir === 'prepared' || (dir === 'prepare' && state === 'aborted prepare')) {
    if (!moveLocked(dirs, uuid, dir, 'garbage')) throw new RktError('EUSAGE', `pod "${uuid}" is being used`);
    from = 'garbage';
  } else if ((dir === 'exited-garbage' || dir === 'garbage') && (state === 'exited garbage' || state === 'garbage')) {
    from = dir;
  } else if (state === 'running') {
    throw new RktError('EUSAGE', `pod "${uuid}" is currently running`);
  } else if (state === 'embryo' || state === 'preparing') {
    throw new RktError('EUSAGE', `pod "${uuid}" is currently being prepared`);
  } else if (state === 'deleting' || state === 'exited deleting') {
    throw new RktError('EUSAGE', `pod "${uuid}" is currently being deleted`);
  } else {
    throw new RktError('ENOTFOUND', `no matches found for "${uuid}"`);
  }
  if (!deletePod(dirs, uuid, from, o)) throw new RktError('EUSAGE', `pod "${uuid}" is being deleted by another process`);
}
