/**
 * Image keys (reference §3.2) and lookup by name and labels (§3.4).
 *
 * A key is `sha512-` + the first 64 hex digits of the SHA-512 of the uncompressed tar (71 chars).
 */
import { RktError } from '../errors';
import { goQuote } from '../schema/types';
import type { AciInfo, StoreDb } from './db';

export const HASH_PREFIX = 'sha512-';
/** `sha512-` + 64 hex */
export const KEY_LENGTH = HASH_PREFIX.length + 64;
/** `sha512-` + 2 hex: the shortest prefix `ResolveKey` accepts */
export const MIN_KEY_PREFIX_LENGTH = HASH_PREFIX.length + 2;

/**
 * rkt's `ResolveKey`: resolves a key prefix (`sha512-0c45e8c0ab2`) to the one full key it matches.
 * Must start with `sha512-` (`wrong key prefix`), be at least 9 characters (`image ID too short`);
 * longer input is truncated to 71 characters. No match → ENOTFOUND `no image IDs found`; several →
 * EAMBIGUOUS `ambiguous image ID: "<prefix>"`.
 */
export async function resolveKeyPrefix(db: Pick<StoreDb, 'findKeysByPrefix'>, prefix: string): Promise<string> {
  if (!prefix.startsWith(HASH_PREFIX)) throw new RktError('EUSAGE', 'wrong key prefix');
  if (prefix.length < MIN_KEY_PREFIX_LENGTH) throw new RktError('EUSAGE', 'image ID too short');
  const key = prefix.length > KEY_LENGTH ? prefix.slice(0, KEY_LENGTH) : prefix;
  const keys = await db.findKeysByPrefix(key);
  if (keys.length === 0) throw new RktError('ENOTFOUND', 'no image IDs found');
  if (keys.length > 1) throw new RktError('EAMBIGUOUS', `ambiguous image ID: ${goQuote(key)}`);
  return keys[0];
}

/** Whether `s` is a full store key (`sha512-` + 64 lower-case hex). */
export function isFullKey(s: string): boolean {
  return /^sha512-[0-9a-f]{64}$/.test(s);
}

/**
 * A key for display: `fetch` prints 39 characters (`types.ShortHash`, `sha512-` + 32 hex), `image
 * list` and `list --full` print 19 (`sha512-` + 12 hex), `--full` prints all 71.
 */
export function shortKey(key: string, kind: 'fetch' | 'list' | 'full'): string {
  const n = kind === 'fetch' ? HASH_PREFIX.length + 32 : kind === 'list' ? HASH_PREFIX.length + 12 : KEY_LENGTH;
  return key.length > n ? key.slice(0, n) : key;
}

/** What choosing among images of one name reads of each (an aciinfo row, or a name index entry). */
export type NameLookupInfo = Pick<AciInfo, 'blobKey' | 'name' | 'importTime' | 'latest'>;

export interface NameLookupCandidate<I extends NameLookupInfo = AciInfo> {
  info: I;
  /** the candidate manifest's labels */
  labels: ReadonlyMap<string, string>;
}

/**
 * rkt's `GetACI(name, labels)` choice among the images with that name (in store order): keep those
 * whose manifest has every requested label with an equal value; if no `version` label was requested
 * prefer `latest` images; otherwise, and as the tie-break, the most recent import wins (strictly
 * later; the first seen wins a tie). No match → ENOTFOUND
 * `cannot find aci satisfying name: "<name>" and labels: <labels> in the local store`.
 *
 * `name` is only used for that message; it defaults to the candidates' name.
 */
export function selectByNameAndLabels<I extends NameLookupInfo>(
  candidates: readonly NameLookupCandidate<I>[],
  requested: ReadonlyMap<string, string>,
  name: string = candidates[0]?.info.name ?? '',
): I {
  const versionRequested = requested.has('version');
  let cur: I | undefined;
  next: for (const c of candidates) {
    for (const [k, v] of requested) {
      if (c.labels.get(k) !== v) continue next;
    }
    if (cur === undefined) {
      cur = c.info;
      continue;
    }
    if (!versionRequested) {
      if (!cur.latest && c.info.latest) {
        cur = c.info;
        continue;
      }
      if (cur.latest && !c.info.latest) continue;
    }
    if (c.info.importTime.getTime() > cur.importTime.getTime()) cur = c.info;
  }
  if (cur === undefined) {
    throw new RktError(
      'ENOTFOUND',
      `cannot find aci satisfying name: ${goQuote(name)} and labels: ${formatLabels(requested)} in the local store`,
    );
  }
  return cur;
}

const LABEL_PRIORITY: ReadonlyMap<string, number> = new Map([
  ['version', 0],
  ['os', 1],
  ['arch', 2],
]);

/**
 * rkt's `labelsToString`: `version`, `os`, `arch` first, then the others (by name here; rkt's order for
 * those depends on Go map iteration), each as `"name":"value"`, joined by `, ` inside brackets.
 */
export function formatLabels(labels: ReadonlyMap<string, string>): string {
  const prio = (n: string): number => LABEL_PRIORITY.get(n) ?? 4;
  const entries = [...labels.entries()].sort(([a], [b]) => prio(a) - prio(b) || (a < b ? -1 : a > b ? 1 : 0));
  return '[' + entries.map(([n, v]) => `${goQuote(n)}:${goQuote(v)}`).join(', ') + ']';
}
