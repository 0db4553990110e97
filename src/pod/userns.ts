/**
 * `--private-users` in stage0 (rkt's pkg/user UidRange): a random shift, a multiple of 65536 above
 * the host's own ids, recorded in the pod's `private-users-prepared` as `<shift>:<count>`; the app
 * trees are copies whose owners are moved into that range, so root in the pod owns its files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';

export const USERNS_COUNT = 65536;
export const PRIVATE_USERS_FILE = 'private-users-prepared';

export interface UidRange {
  shift: number;
  count: number;
}

export function checkUserNamespaces(): void {
  if (!fs.existsSync('/proc/self/uid_map')) throw new RktError('EUNSUPPORTED', '--private-users is not supported, kernel compiled without user namespace support');
}

/** rkt's choice: (random in [1, 0xfffe]) << 16, so the range never contains the host's ids 0..65535. */
export function newUidRange(): UidRange {
  // node:crypto only when asked: every `rkt run` loads this module, few use --private-users
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { randomInt } = require('node:crypto') as typeof import('node:crypto');
  return { shift: randomInt(1, 0xffff) * USERNS_COUNT, count: USERNS_COUNT };
}

export function writeUidRange(podPath: string, r: UidRange): void {
  fs.writeFileSync(path.join(podPath, PRIVATE_USERS_FILE), `${r.shift}:${r.count}`, { mode: 0o640 });
}

export function readUidRange(podPath: string): UidRange | undefined {
  const file = path.join(podPath, PRIVATE_USERS_FILE);
  // most pods have no such file: no exception made for that
  if (!fs.existsSync(file)) return undefined;
  let s: string;
  try {
    s = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m) throw new RktError('EMANIFEST', `invalid ${PRIVATE_USERS_FILE} in the pod: ${JSON.stringify(s)}`);
  return { shift: Number(m[1]), count: Number(m[2]) };
}

/** Moves every owner under `dir` (itself included) into the range; symlinks are not followed. */
export function shiftOwners(dir: string, r: UidRange): void {
  const shift = (p: string, st: fs.Stats) => {
    if (st.uid >= r.count || st.gid >= r.count) throw new RktError('EIO', `${p}: owner ${st.uid}:${st.gid} is outside the pod's user namespace range`);
    fs.lchownSync(p, st.uid + r.shift, st.gid + r.shift);
    // chown clears set-id bits: put them back as the image had them
    if (!st.isSymbolicLink() && st.mode & 0o6000) fs.chmodSync(p, st.mode & 0o7777);
  };
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      if (e.isDirectory()) walk(p);
      shift(p, st);
    }
  };
  const st = fs.lstatSync(dir);
  walk(dir);
  shift(dir, st);
}
