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

export interface GcOptions {
  gracePeriodMs: number;
  expirePreparedMs: number;
  markOnly: boolean;
  now?: number;
}

export interface GcEvents {
  marked: (uuid: string) => void;
  collected: (uuid: string) => void;
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

/** Unmounts and deletes a pod already in exited-garbage/ or garbage/, under its lock. */
export function deletePod(dirs: PodDirs, uuid: string, from: 'exited-garbage' | 'garbage'): boolean {
  const p = dirs.podPath(from, uuid);
  let lock: FileLock | undefined;
  try {
    lock = FileLock.tryDir(p, true);
  } catch {
    return false;
  }
  if (!lock) return false;
  try {
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

export function gcPods(dirs: PodDirs, opts: GcOptions, ev: GcEvents): void {
  const now = opts.now ?? Date.now();
  dirs.ensure();
  // 1. mark: exited pods, expired prepared pods, aborted prepares
  for (const { uuid, dir } of dirs.list(['run', 'prepared', 'prepare'])) {
    const { state } = dirs.state(uuid);
    try {
      if (dir === 'run' && state === 'exited') {
        if (moveLocked(dirs, uuid, 'run', 'exited-garbage')) ev.marked(uuid);
      } else if (dir === 'prepared' && ageMs(dirs.podPath('prepared', uuid), now) > opts.expirePreparedMs) {
        if (moveLocked(dirs, uuid, 'prepared', 'garbage')) ev.marked(uuid);
      } else if (dir === 'prepare' && state === 'aborted prepare') {
        if (moveLocked(dirs, uuid, 'prepare', 'garbage')) ev.marked(uuid);
      }
    } catch (e) {
      ev.error(uuid, e);
    }
  }
  if (opts.markOnly) return;
  // 2. sweep: garbage now, exited garbage after the grace period
  for (const { uuid, dir } of dirs.list(['exited-garbage', 'garbage'])) {
    try {
      if (dir === 'exited-garbage' && ageMs(dirs.podPath(dir, uuid), now) <= opts.gracePeriodMs) continue;
      if (deletePod(dirs, uuid, dir as 'exited-garbage' | 'garbage')) ev.collected(uuid);
    } catch (e) {
      ev.error(uuid, e);
    }
  }
  // 3. embryos nobody holds are leftovers of a crash before the first rename
  for (const { uuid } of dirs.list(['embryo'])) {
    const p = dirs.podPath('embryo', uuid);
    const lock = FileLock.tryDir(p, true);
    if (!lock) continue;
    try {
      fs.rmSync(p, { recursive: true, force: true });
    } finally {
      lock.release();
    }
  }
}

/** `rkt rm`: exited or prepared pods (and aborted prepares), at once, whatever the grace period. */
export function removePod(dirs: PodDirs, uuid: string): void {
  const { dir, state } = dirs.state(uuid);
  let from: 'exited-garbage' | 'garbage';
  if (dir === 'run' && state === 'exited') {
    if (!moveLocked(dirs, uuid, 'run', 'exited-garbage')) throw new RktError('EUSAGE', `pod "${uuid}" is currently running`);
    from = 'exited-garbage';
  } else if (dir === 'prepared' || (dir === 'prepare' && state === 'aborted prepare')) {
    if (!moveLocked(dirs, uuid, dir, 'garbage')) throw new RktError('EUSAGE', `pod "${uuid}" is being used`);
    from = 'garbage';
  } else if (dir === 'exited-garbage' || dir === 'garbage') {
    from = dir;
  } else {
    throw new RktError('EUSAGE', `pod "${uuid}" is currently ${state}: only exited and prepared pods can be removed`);
  }
  if (!deletePod(dirs, uuid, from)) throw new RktError('EUSAGE', `pod "${uuid}" is being deleted by another process`);
}
