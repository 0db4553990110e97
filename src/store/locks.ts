/**
 * flock-based locks (rkt's pkg/lock): whole-directory locks and per-key lock files. The lock lives
 * with the open fd, so a crashed holder releases it; key lock files may be deleted and recreated
 * by gc, hence the inode check after locking.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../native';

/**
 * Takes the flock: at once when it is free (the common case, no thread hop), else waiting on the
 * libuv pool so the JS thread stays free.
 */
async function lockFd(fd: number, exclusive: boolean): Promise<void> {
  if (native.tryFlock(fd, exclusive)) return;
  await native.flock(fd, exclusive);
}

/**
 * A free directory lock in one native call (the common case: the store's and a new pod's in `rkt
 * run`): its fd, null when it is held elsewhere, undefined when the open failed, which the
 * caller's own open then reports as it always has.
 */
function tryLockDir(dirPath: string, exclusive: boolean): number | null | undefined {
  try {
    return native.tryLockDir(dirPath, exclusive);
  } catch {
    return undefined;
  }
}

export class FileLock {
  private constructor(
    readonly path: string,
    private fd: number | undefined,
  ) {}

  get fdNumber(): number {
    if (this.fd === undefined) throw new Error(`lock ${this.path} already released`);
    return this.fd;
  }

  static async dir(dirPath: string, exclusive: boolean): Promise<FileLock> {
    const free = tryLockDir(dirPath, exclusive);
    if (typeof free === 'number') return new FileLock(dirPath, free);
    const fd = fs.openSync(dirPath, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      await lockFd(fd, exclusive);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new FileLock(dirPath, fd);
  }

  /** Non-blocking: undefined when the lock is held elsewhere. */
  static tryDir(dirPath: string, exclusive: boolean): FileLock | undefined {
    const free = tryLockDir(dirPath, exclusive);
    if (typeof free === 'number') return new FileLock(dirPath, free);
    if (free === null) return undefined;
    const fd = fs.openSync(dirPath, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    if (!native.tryFlock(fd, exclusive)) {
      fs.closeSync(fd);
      return undefined;
    }
    return new FileLock(dirPath, fd);
  }

  /** Per-key lock file `<dir>/<key>`, retried if the file was replaced while we waited. */
  static async key(dir: string, key: string, exclusive: boolean): Promise<FileLock> {
    const p = dir.endsWith('/') ? dir + key : `${dir}/${key}`; // a key is one path component
    // a free lock (the common case) in one native call; a held one is waited for below
    const free = native.tryLockKeyFile(p, exclusive);
    if (free !== null) return new FileLock(p, free);
    fs.mkdirSync(dir, { recursive: true });
    for (let attempt = 0; attempt < 10; attempt++) {
      const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o660);
      try {
        await lockFd(fd, exclusive);
        const a = fs.fstatSync(fd);
        let b: fs.Stats | undefined;
        try {
          b = fs.statSync(p);
        } catch {
          b = undefined;
        }
        if (b && a.ino === b.ino && a.dev === b.dev) return new FileLock(p, fd);
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
      fs.closeSync(fd);
    }
    throw new Error(`cannot lock ${p}: lock file keeps changing`);
  }

  release(): void {
    if (this.fd === undefined) return;
    native.releaseLock(this.fd); // closing drops the flock
    this.fd = undefined;
  }
}

export async function withKeyLock<T>(dir: string, key: string, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
  const l = await FileLock.key(dir, key, exclusive);
  try {
    return await fn();
  } finally {
    l.release();
  }
}

/** rename(2) then fsync of the destination's parent, so the move survives a crash. */
export function renameDurable(from: string, to: string): void {
  fs.renameSync(from, to);
  fsyncDir(path.dirname(to));
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Write a small file atomically: temp in the same dir, fsync, rename, fsync dir. */
export function writeFileDurable(file: string, data: string | Buffer, mode = 0o640): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    if (typeof data === 'string') fs.writeSync(fd, data);
    else fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    renameDurable(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * rename(2) through the addon: the first call of Node's renameSync runs Node's own JS cold. A
 * failure is reported by renameSync, as Node reports it (a rename that failed did nothing).
 */
export function renameFile(from: string, to: string): void {
  try {
    native.rename(from, to);
  } catch {
    fs.renameSync(from, to);
  }
}

/** Write a small file atomically for concurrent readers (temp + rename), without waiting for the disk. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o640): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    native.writeFile(tmp, data, mode);
    renameFile(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
