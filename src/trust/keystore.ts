/**
 * rkt's keystore (pkg/keystore, reference §5.1–5.2): armored public keys stored as
 * `trustedkeys/root.d/<fpr>` and `trustedkeys/prefix.d/<prefix>/<fpr>` under the system config dir
 * (vendor keys, read-only) and the local config dir (where `rkt trust` writes). Local files override
 * system ones of the same fingerprint; an empty local file masks (untrusts) a vendor key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PublicKey } from 'openpgp';
import { RktError } from '../errors';
import { native } from '../native';
import { readPublicKeys } from './keys';

export interface KeystoreDirs {
  /** --system-config */
  system: string;
  /** --local-config */
  local: string;
}

export interface TrustedKey {
  key: PublicKey;
  /** the file it came from */
  file: string;
}

/** Fingerprint (lowercase hex) → key, after the override and masking rules. */
export type Keyring = Map<string, TrustedKey>;

export class Keystore {
  readonly systemRoot: string;
  readonly systemPrefix: string;
  readonly localRoot: string;
  readonly localPrefix: string;

  constructor(readonly dirs: KeystoreDirs) {
    this.systemRoot = path.join(dirs.system, 'trustedkeys', 'root.d');
    this.systemPrefix = path.join(dirs.system, 'trustedkeys', 'prefix.d');
    this.localRoot = path.join(dirs.local, 'trustedkeys', 'root.d');
    this.localPrefix = path.join(dirs.local, 'trustedkeys', 'prefix.d');
  }

  /**
   * The keys that may sign an image named `name`: root keys, then keys of every prefix directory
   * on the way to the name, system before local (rkt's loadKeyring).
   */
  async loadKeyring(name: string): Promise<Keyring> {
    const ring: Keyring = new Map();
    await loadKeysFromDir(this.systemRoot, ring);
    await loadKeysFromDir(this.localRoot, ring);
    for (const root of [this.systemPrefix, this.localPrefix]) {
      for (const dir of prefixDirs(root, name)) await loadKeysFromDir(dir, ring);
    }
    return ring;
  }

  /**
   * Every key the keystore holds for any prefix, masking ignored and broken files skipped: only to
   * recognise a signer before the image's name is known (fetch by URL). Whether that signer is
   * trusted for the image is decided later by loadKeyring(name), which alone applies the rules.
   */
  async loadAllKeys(): Promise<Keyring> {
    const ring: Keyring = new Map();
    const walk = async (dir: string): Promise<void> => {
      for (const e of safeReaddirents(dir)) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          await walk(p);
          continue;
        }
        try {
          const data = fs.readFileSync(p);
          if (data.length === 0) continue;
          const [key] = await readPublicKeys(data);
          if (key.getFingerprint() === e.name) ring.set(e.name, { key, file: p });
        } catch {
          /* loadKeyring reports broken key files */
        }
      }
    };
    for (const d of [this.systemRoot, this.localRoot, this.systemPrefix, this.localPrefix]) await walk(d);
    return ring;
  }

  /**
   * Whether some non-empty key file exists for the name or one of its parents (root keys do not
   * count): rkt discovers keys during a fetch only when this is false.
   */
  hasPrefixKeys(name: string): boolean {
    for (const root of [this.systemPrefix, this.localPrefix]) {
      for (const dir of prefixDirs(root, name)) {
        for (const f of safeReaddir(dir)) {
          const st = safeStat(path.join(dir, f));
          if (st?.isFile() && st.size > 0) return true;
        }
      }
    }
    return false;
  }

  /** Where `rkt trust` stores a key: root.d for the empty prefix, else prefix.d/<prefix>. */
  pathFor(prefix: string, fingerprint: string): string {
    if (prefix !== '') checkPrefix(prefix);
    if (!/^[0-9a-f]{40}$/.test(fingerprint)) throw new RktError('ETRUST', `not a key fingerprint: ${JSON.stringify(fingerprint)}`);
    return prefix === '' ? path.join(this.localRoot, fingerprint) : path.join(this.localPrefix, ...prefix.split('/'), fingerprint);
  }

  /**
   * Stores the key bytes exactly as fetched (0644, dirs 0755), atomically: a crash leaves either
   * the old file or the new one.
   */
  storeTrustedKey(prefix: string, fingerprint: string, armored: Buffer): string {
    const dest = this.pathFor(prefix, fingerprint);
    try {
      native.createDirs([path.dirname(dest)], 0o755);
      const tmp = `${dest}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, armored, { mode: 0o644 });
      fs.chmodSync(tmp, 0o644);
      fs.renameSync(tmp, dest);
    } catch (e) {
      throw new RktError('ETRUST', `cannot store the key at ${dest}: ${(e as Error).message}`);
    }
    return dest;
  }

  /** True when that exact key (same bytes) is already stored for the prefix. */
  hasKey(prefix: string, fingerprint: string, armored: Buffer): boolean {
    try {
      return fs.readFileSync(this.pathFor(prefix, fingerprint)).equals(armored);
    } catch {
      return false;
    }
  }
}

const AC_IDENTIFIER = /^[a-z0-9]+([-._~/]+[a-z0-9]+)*$/;

/**
 * A trust prefix is an AC identifier (as rkt requires) whose path components are real names: the
 * identifier grammar alone lets `a/../b` through, which must never climb out of prefix.d.
 */
export function checkPrefix(prefix: string): void {
  if (!AC_IDENTIFIER.test(prefix) || prefix.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new RktError('EUSAGE', `invalid prefix ${JSON.stringify(prefix)}: not a valid AC Identifier`);
  }
}

/**
 * The directories under a prefix.d root that apply to `name`, shallowest first. rkt descends only
 * into directories whose path is a string prefix of `prefix.d/<name>` (so `coreos.com/etc` also
 * applies to `coreos.com/etcd`: a quirk kept for compatibility).
 */
export function prefixDirs(root: string, name: string): string[] {
  const target = path.join(root, name);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of safeReaddirents(dir)) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (!target.startsWith(p)) continue;
      out.push(p);
      walk(p);
    }
  };
  walk(root);
  return out;
}

async function loadKeysFromDir(dir: string, ring: Keyring): Promise<void> {
  for (const e of safeReaddirents(dir)) {
    if (e.isDirectory()) continue;
    const file = path.join(dir, e.name);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch (err) {
      throw new RktError('ETRUST', `keystore: error loading keyring: cannot read ${file}: ${(err as Error).message}`);
    }
    if (data.length === 0) {
      // an empty file untrusts the key of that fingerprint loaded from an earlier directory
      ring.delete(e.name);
      continue;
    }
    let keys: PublicKey[];
    try {
      keys = await readPublicKeys(data);
    } catch (err) {
      throw new RktError('ETRUST', `keystore: error loading keyring: ${file}: ${(err as Error).message}`);
    }
    const fpr = keys[0].getFingerprint();
    if (fpr !== e.name) throw new RktError('ETRUST', `keystore: error loading keyring: fingerprint mismatch: "${file}":"${fpr}"`);
    ring.set(fpr, { key: keys[0], file });
  }
}

function safeReaddirents(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

function safeReaddir(dir: string): string[] {
  return safeReaddirents(dir).map((e) => e.name);
}

function safeStat(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}
