/**
 * The name index: a file beside the image database (cas/db/names) with the columns that a lookup
 * by name reads of every image (name, key, import time, latest). With it, `rkt run NAME` of a
 * stored image finds stage1 and its apps without loading sqlite3 or opening the database, which
 * was about 2 ms of a run's 12 ms of own work on the benchmark VM. The database stays the truth,
 * and the file is trusted because every writer keeps to this protocol (StoreDb.transaction):
 *
 * - A write transaction takes the index lock (cas/db/names.lock) exclusive before its BEGIN and
 *   removes the file durably: unlink, then fsync of the directory, so that a commit which survives
 *   a crash can never find the old file back after it. Once it has committed (or rolled back) it
 *   writes a new file from the database (temp file, fsync, rename), then lets the lock go.
 * - A connection that opens and finds no file (or one that does not parse) writes one, with the
 *   lock taken shared and without waiting: an exclusive holder is a write in flight, whose end
 *   writes the file anyway.
 * - A reader takes the file as it finds it, without the lock: the file it opens was complete when
 *   renamed in, and no write has committed since (each one removes it first). No file, or one
 *   that does not parse, sends the reader to the database.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../native';
import { FileLock, fsyncDir } from './locks';
import { under } from '../util/paths';

export const NAME_INDEX_FILE = 'names';
export const NAME_INDEX_LOCK = 'names.lock';
const VERSION = 1;
let tmpCount = 0;

/** What a name lookup needs of an aciinfo row. */
export interface NameEntry {
  blobKey: string;
  name: string;
  importTime: Date;
  latest: boolean;
}

/** The rows as the index holds them: [name, key, import time (ms), latest (0/1)]. */
type Row = [string, string, number, number];

function isRow(r: unknown): r is Row {
  return (
    Array.isArray(r) && r.length === 4 && typeof r[0] === 'string' && typeof r[1] === 'string' && Number.isFinite(r[2]) && (r[3] === 0 || r[3] === 1)
  );
}

export function encodeNameIndex(entries: readonly NameEntry[]): string {
  const rows: Row[] = entries.map((e) => [e.name, e.blobKey, e.importTime.getTime(), e.latest ? 1 : 0]);
  return JSON.stringify({ v: VERSION, images: rows }) + '\n';
}

/** The entries of an index file's text, or undefined when it is not one this version wrote. */
export function decodeNameIndex(text: string): NameEntry[] | undefined {
  let doc: { v?: unknown; images?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || doc.v !== VERSION || !Array.isArray(doc.images) || !doc.images.every(isRow)) return undefined;
  return (doc.images as Row[]).map(([name, blobKey, t, latest]) => ({ name, blobKey, importTime: new Date(t), latest: latest === 1 }));
}

/** The index as read from `dbDir`, for lookups by name. */
export class NameIndex {
  private constructor(private readonly entries: readonly NameEntry[]) {}

  /** The index file of `dbDir`, or undefined when there is none (or it is not valid). */
  static read(dbDir: string): NameIndex | undefined {
    let text: string;
    try {
      text = native.readFile(under(dbDir, NAME_INDEX_FILE)).toString('utf8');
    } catch {
      return undefined;
    }
    const entries = decodeNameIndex(text);
    return entries && new NameIndex(entries);
  }

  static present(dbDir: string): boolean {
    return native.exists(under(dbDir, NAME_INDEX_FILE));
  }

  /** The images named `name`, oldest import first (as the database's lookup orders them). */
  byName(name: string): NameEntry[] {
    return this.entries.filter((e) => e.name === name);
  }
}

/**
 * The start of a write: the lock taken exclusive (waiting for it on libuv's pool), then the file
 * removed for good. The caller must call endWrite, whatever its transaction did.
 */
export async function beginIndexedWrite(dbDir: string): Promise<FileLock> {
  const lock = await FileLock.key(dbDir, NAME_INDEX_LOCK, true);
  try {
    removeIndexFile(dbDir);
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}

/** The end of a write: a new file from what `rows` reads now; the lock is let go either way. */
export async function endIndexedWrite(dbDir: string, lock: FileLock, rows: () => Promise<NameEntry[]>): Promise<void> {
  try {
    writeIndexFile(dbDir, await rows());
  } catch {
    /* no file: readers go to the database, and the next connection to open writes one */
  } finally {
    lock.release();
  }
}

/**
 * A file for a store that has no valid one (new, or a write that crashed or could not write one): only
 * when no write is in flight, and never waiting for one. False when it was not written.
 */
export async function writeMissingIndex(dbDir: string, rows: () => Promise<NameEntry[]>): Promise<boolean> {
  if (NameIndex.read(dbDir)) return false;
  let fd: number | null;
  try {
    fd = native.tryLockKeyFile(path.join(dbDir, NAME_INDEX_LOCK), false);
  } catch {
    return false;
  }
  if (fd === null) return false;
  try {
    writeIndexFile(dbDir, await rows());
    return true;
  } catch {
    return false;
  } finally {
    native.releaseLock(fd);
  }
}

function removeIndexFile(dbDir: string): void {
  try {
    fs.unlinkSync(path.join(dbDir, NAME_INDEX_FILE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  fsyncDir(dbDir);
}

function writeIndexFile(dbDir: string, entries: readonly NameEntry[]): void {
  const file = path.join(dbDir, NAME_INDEX_FILE);
  const tmp = `${file}.tmp-${process.pid}-${++tmpCount}`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o640);
    try {
      fs.writeSync(fd, encodeNameIndex(entries));
      // renamed in only once its bytes are on disk: after a crash the name is the whole file or nothing
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
