/** OCI content digests (`sha256:<hex>`, `sha512:<hex>`): parsing and hashing as bytes stream by. */
import { createHash, type Hash } from 'node:crypto';
import { RktError } from '../errors';

const FORMS: Record<string, number> = { sha256: 64, sha512: 128 };

export interface Digest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

export function parseDigest(d: unknown, what: string): Digest {
  if (typeof d === 'string') {
    const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(d);
    if (m && m[2].length === FORMS[m[1]]) return { algorithm: m[1] as Digest['algorithm'], hex: m[2] };
  }
  throw new RktError('EIMAGE_FORMAT', `${what}: invalid or unsupported digest ${JSON.stringify(d)}`);
}

export function hasherFor(d: Digest): Hash {
  return createHash(d.algorithm);
}

export function digestOf(buf: Buffer, algorithm: Digest['algorithm'] = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(buf).digest('hex')}`;
}

/** One-line error for bytes that do not hash to what their descriptor says. */
export function mismatch(what: string, want: string, got: string): RktError {
  return new RktError('EHASH_MISMATCH', `${what}: content does not match its digest (want ${want}, got ${got})`);
}
