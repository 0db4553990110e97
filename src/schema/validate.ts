/**
 * Internal helpers for walking untrusted JSON with errors that name the offending field, e.g.
 * `invalid manifest: app.ports[0].port must be in 1-65535 range`.
 *
 * Field lookup follows Go's encoding/json, which the appc code uses: an exact key match wins, otherwise
 * a case-insensitive one (so the spec's `supplementaryGids` reaches the code's `supplementaryGIDs`);
 * `null` is the same as an absent key; unknown keys are ignored.
 */
import { RktError, RktErrorCode } from '../errors';
import { acIdentifierError, acNameError, goQuote } from './types';

export type JsonObject = { [k: string]: unknown };

export class Checker {
  constructor(
    /** e.g. `invalid manifest` */
    readonly prefix: string,
    readonly code: RktErrorCode = 'EMANIFEST',
  ) {}

  /** `<prefix>: <path>: <msg>` (or `<prefix>: <msg>` at the root). */
  fail(path: string, msg: string): never {
    throw new RktError(this.code, `${this.prefix}: ${path === '' ? '' : path + ': '}${msg}`);
  }

  /** `<prefix>: <path> <predicate>`, e.g. `app.user is required`. */
  failField(path: string, predicate: string): never {
    throw new RktError(this.code, `${this.prefix}: ${path} ${predicate}`);
  }

  /** Parses JSON text; a syntax error becomes `<prefix>: <reason>`. */
  parseJson(input: string | Buffer): unknown {
    const text = typeof input === 'string' ? input : input.toString('utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new RktError(this.code, `${this.prefix}: ${(e as Error).message}`, { cause: e });
    }
  }

  object(path: string, v: unknown): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `must be an object, got ${jsonType(v)}`);
    return v as JsonObject;
  }

  array(path: string, v: unknown): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `must be an array, got ${jsonType(v)}`);
    return v;
  }

  string(path: string, v: unknown): string {
    if (typeof v !== 'string') this.fail(path, `must be a string, got ${jsonType(v)}`);
    return v;
  }

  bool(path: string, v: unknown): boolean {
    if (typeof v !== 'boolean') this.fail(path, `must be a boolean, got ${jsonType(v)}`);
    return v;
  }

  /** An integer within the given bounds (bounds violations are reported by the caller if it prefers). */
  int(path: string, v: unknown, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, `must be an integer, got ${jsonType(v)}`);
    if (v < min || v > max) this.fail(path, `must be an integer between ${min} and ${max}, got ${v}`);
    return v;
  }

  stringArray(path: string, v: unknown): string[] {
    return this.array(path, v).map((x, i) => this.string(`${path}[${i}]`, x));
  }

  /** A `{string: string}` object (Go `map[string]string`). */
  stringMap(path: string, v: unknown): Record<string, string> {
    const o = this.object(path, v);
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(o)) out[k] = this.string(`${path}.${k}`, x);
    return out;
  }

  acIdentifier(path: string, v: unknown): string {
    const s = this.string(path, v);
    if (acIdentifierError(s) !== undefined) this.fail(path, `${goQuote(s)} is not a valid AC Identifier`);
    return s;
  }

  acName(path: string, v: unknown): string {
    const s = this.string(path, v);
    if (acNameError(s) !== undefined) this.fail(path, `${goQuote(s)} is not a valid AC Name`);
    return s;
  }
}

/**
 * Go encoding/json field lookup: a key matches the field exactly or case-insensitively; when several
 * keys match, the last in document order wins (Go decodes each into the same field). null = absent.
 */
export function field(o: JsonObject, name: string): unknown {
  const lower = name.toLowerCase();
  let found: unknown = undefined;
  for (const k of Object.keys(o)) {
    if (k === name || k.toLowerCase() === lower) found = o[k];
  }
  return found === null ? undefined : found;
}

export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}
