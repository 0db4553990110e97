/**
 * The last-used log (cas/db/lastused): `rkt run` appends a line `<key> <ms>` for each image it
 * uses rather than writing the database, which it then need not open at all (name-index.ts). The
 * next connection to open the database folds the log into aciinfo.lastused (the later of the two
 * times) and empties it (StoreDb.open). `lastused` orders `image gc` and shows in `image list`,
 * both of which open the database first, so they see every use. Appends take the file's flock
 * shared and the fold takes it exclusive, so no use is lost between its read and its truncate
 * (rkt_core::small_files::append_locked); a crash between the fold's commit and the truncate only
 * folds the same times again.
 */
import { native } from '../native';
import { isFullKey } from './keys';
import { under } from '../util/paths';

export const LAST_USED_FILE = 'lastused';
/** A log this long is folded by the process that appended to it (every use is ~150 bytes). */
export const FOLD_AT_BYTES = 64 * 1024;

/** Appends one line per key; returns the log's size after it. */
export function appendLastUsed(dbDir: string, keys: readonly string[], when: Date): number {
  const t = when.getTime();
  if (!Number.isFinite(t)) throw new Error('invalid date');
  return native.appendLocked(under(dbDir, LAST_USED_FILE), keys.map((k) => `${k} ${t}\n`).join(''), 0o640);
}

/** The latest time logged for each key; lines that are not `<store key> <ms>` are skipped. */
export function parseLastUsed(text: string): Map<string, number> {
  const uses = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const key = line.slice(0, sp);
    const t = Number(line.slice(sp + 1));
    if (!isFullKey(key) || !Number.isSafeInteger(t) || t < 0) continue;
    if (t > (uses.get(key) ?? -1)) uses.set(key, t);
  }
  return uses;
}
