/**
 * appc 0.8.11 basic types (`spec/types.md`, `schema/types/*.go`): AC identifiers and names, semantic
 * versions, labels, annotations, environment variable names, hashes, resource quantities and UUIDs.
 *
 * Validators come in two shapes: `xxxError(value)` returns the reason a value is invalid (or undefined)
 * so manifest parsers can prefix it with the field path; `parseXxx(value)` throws an RktError and is
 * meant for command-line input.
 */
import { RktError } from '../errors';

// ---------------------------------------------------------------------------------------------------
// Go-compatible quoting, so messages read like rkt's (`%q`).

/** Go's `strconv.Quote` for the characters that matter in messages (`%q`). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** Go's `%v` of a []string: `[a b c]`. */
export function goList(items: readonly string[]): string {
  return '[' + items.join(' ') + ']';
}

// ---------------------------------------------------------------------------------------------------
// AC Identifier and AC Name

const INVALID_ACID_CHARS = /[^a-z0-9\-._~/]/u;
const INVALID_ACID_CHARS_G = /[^a-z0-9\-._~/]/gu;
const INVALID_ACID_EDGES = /(^[-._~/]+)|([-._~/]+$)/u;
const INVALID_ACID_EDGES_G = /(^[-._~/]+)|([-._~/]+$)/gu;

/** The spec's regular expression; the code (and we) accept a little more, see `acIdentifierError`. */
export const VALID_AC_IDENTIFIER_SPEC = /^[a-z0-9]+([-._~/][a-z0-9]+)*$/;

/**
 * Why `s` is not an AC Identifier, as appc's `ACIdentifier.assertValid` says it; undefined if valid.
 * The code check is: non-empty, only `[a-z0-9-._~/]`, no separator at either edge (consecutive
 * separators inside are accepted).
 */
export function acIdentifierError(s: string): string | undefined {
  if (s.length === 0) return 'ACIdentifier cannot be empty';
  if (INVALID_ACID_CHARS.test(s)) {
    return 'ACIdentifier must contain only lower case alphanumeric characters plus "-._~/"';
  }
  if (INVALID_ACID_EDGES.test(s)) {
    return 'ACIdentifier must start and end with only lower case alphanumeric characters';
  }
  return undefined;
}

export function isACIdentifier(s: unknown): s is string {
  return typeof s === 'string' && acIdentifierError(s) === undefined;
}

/** Throws RktError('EUSAGE') unless `s` is a valid AC Identifier; returns it. */
export function parseACIdentifier(s: string): string {
  const e = acIdentifierError(s);
  if (e !== undefined) throw new RktError('EUSAGE', `${goQuote(s)} is not a valid AC Identifier: ${e}`);
  return s;
}

/**
 * appc's `SanitizeACIdentifier`: lower-case, replace every invalid character with `_`, strip separators
 * at the edges. Throws if nothing valid is left ("must contain at least one valid character").
 */
export function sanitizeACIdentifier(s: string): string {
  const out = s.toLowerCase().replace(INVALID_ACID_CHARS_G, '_').replace(INVALID_ACID_EDGES_G, '');
  if (out === '') {
    throw new RktError('EUSAGE', `cannot sanitize ${goQuote(s)} as an AC Identifier: must contain at least one valid character`);
  }
  return out;
}

const INVALID_ACNAME_CHARS = /[^a-z0-9-]/u;
const INVALID_ACNAME_CHARS_G = /[^a-z0-9-]/gu;
const INVALID_ACNAME_EDGES = /(^-+)|(-+$)/u;
const INVALID_ACNAME_EDGES_G = /(^-+)|(-+$)/gu;

/** The spec's regular expression for AC Names. */
export const VALID_AC_NAME_SPEC = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Why `s` is not an AC Name (`ACName.assertValid`); undefined if valid. */
export function acNameError(s: string): string | undefined {
  if (s.length === 0) return 'ACName cannot be empty';
  if (INVALID_ACNAME_CHARS.test(s)) return 'ACName must contain only lower case alphanumeric characters plus "-"';
  if (INVALID_ACNAME_EDGES.test(s)) return 'ACName must start and end with only lower case alphanumeric characters';
  return undefined;
}

export function isACName(s: unknown): s is string {
  return typeof s === 'string' && acNameError(s) === undefined;
}

/** Throws RktError('EUSAGE') unless `s` is a valid AC Name; returns it. */
export function parseACName(s: string): string {
  const e = acNameError(s);
  if (e !== undefined) throw new RktError('EUSAGE', `${goQuote(s)} is not a valid AC Name: ${e}`);
  return s;
}

/** appc's `SanitizeACName`: lower-case, invalid characters → `-`, strip `-` at the edges. */
export function sanitizeACName(s: string): string {
  const out = s.toLowerCase().replace(INVALID_ACNAME_CHARS_G, '-').replace(INVALID_ACNAME_EDGES_G, '');
  if (out === '') {
    throw new RktError('EUSAGE', `cannot sanitize ${goQuote(s)} as an AC Name: must contain at least one valid character`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// SemVer (coreos/go-semver as used by appc's `types.NewSemVer`)

export interface SemVer {
  major: bigint;
  minor: bigint;
  patch: bigint;
  preRelease: string;
  metadata: string;
}

const SEMVER_IDENTIFIER = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Why `s` is not an acceptable AC Version; undefined if it is. Follows go-semver: metadata after the
 * first `+`, pre-release after the first `-`, then exactly three dot-separated integers (leading
 * zeros accepted); appc then refuses `0.0.0` ("SemVer cannot be zero").
 */
export function semVerError(s: string): string | undefined {
  const v = splitSemVer(s);
  if (typeof v === 'string') return v;
  if (v.major === 0n && v.minor === 0n && v.patch === 0n && v.preRelease === '' && v.metadata === '') {
    return 'SemVer cannot be zero';
  }
  return undefined;
}

function splitSemVer(s: string): SemVer | string {
  let rest = s;
  let metadata = '';
  let preRelease = '';
  let i = rest.indexOf('+');
  if (i >= 0) {
    metadata = rest.slice(i + 1);
    rest = rest.slice(0, i);
  }
  i = rest.indexOf('-');
  if (i >= 0) {
    preRelease = rest.slice(i + 1);
    rest = rest.slice(0, i);
  }
  const parts = rest.split('.');
  if (parts.length < 3) return 'SemVer is bad';
  // go-semver uses SplitN(…, 3): anything after the second dot belongs to the patch number
  const triple = [parts[0], parts[1], parts.slice(2).join('.')];
  if (preRelease !== '' && !SEMVER_IDENTIFIER.test(preRelease)) return 'SemVer is bad';
  if (metadata !== '' && !SEMVER_IDENTIFIER.test(metadata)) return 'SemVer is bad';
  const nums: bigint[] = [];
  for (const p of triple) {
    if (!/^[0-9]+$/.test(p)) return 'SemVer is bad';
    const n = BigInt(p);
    if (n > INT64_MAX) return 'SemVer is bad';
    nums.push(n);
  }
  return { major: nums[0], minor: nums[1], patch: nums[2], preRelease, metadata };
}

/** Parses an AC Version; throws RktError('EUSAGE') if invalid or zero. */
export function parseSemVer(s: string): SemVer {
  const e = semVerError(s);
  if (e !== undefined) throw new RktError('EUSAGE', `${goQuote(s)} is not a valid semantic version: ${e}`);
  return splitSemVer(s) as SemVer;
}

// ---------------------------------------------------------------------------------------------------
// AC Kind

export type ACKind = 'ImageManifest' | 'PodManifest';

// ---------------------------------------------------------------------------------------------------
// Labels (`labels.go`)

export interface Label {
  name: string;
  value: string;
}

/** appc's `ValidOSArch`: which `arch` label values each `os` label value allows. */
export const VALID_OS_ARCH: Readonly<Record<string, readonly string[]>> = Object.freeze({
  linux: ['amd64', 'i386', 'aarch64', 'aarch64_be', 'armv6l', 'armv7l', 'armv7b', 'ppc64', 'ppc64le', 's390x'],
  freebsd: ['amd64', 'i386', 'arm'],
  darwin: ['x86_64', 'i386'],
});

/**
 * `IsValidOSArch`: if `os` is present it must be a known OS, and `arch` (if present) must be valid for
 * it. Returns the reason or undefined. `validOSArch` defaults to appc's table; stage0 passes its own.
 */
export function osArchError(
  labels: ReadonlyMap<string, string>,
  validOSArch: Readonly<Record<string, readonly string[]>> = VALID_OS_ARCH,
): string | undefined {
  const os = labels.get('os');
  if (os === undefined) return undefined;
  const archs = Object.prototype.hasOwnProperty.call(validOSArch, os) ? validOSArch[os] : undefined;
  if (archs === undefined) {
    return `bad os ${goQuote(os)} (must be one of: ${goList(Object.keys(validOSArch).sort())})`;
  }
  const arch = labels.get('arch');
  if (arch !== undefined && !archs.includes(arch)) {
    return `bad arch ${goQuote(arch)} for ${os} (must be one of: ${goList(archs)})`;
  }
  return undefined;
}

/**
 * The label-set rules (`Labels.assertValid`) except the per-name AC Identifier check: the name `name`
 * is forbidden, names are unique, os/arch are valid. Returns the reason or undefined.
 */
export function labelsError(labels: readonly Label[]): string | undefined {
  const seen = new Map<string, string>();
  for (const l of labels) {
    if (l.name === 'name') return 'invalid label name: "name"';
    if (seen.has(l.name)) return `duplicate label name ${goQuote(l.name)}`;
    seen.set(l.name, l.value);
  }
  return osArchError(seen);
}

/** Labels as a map (name → value). */
export function labelsToMap(labels: readonly Label[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of labels ?? []) m.set(l.name, l.value);
  return m;
}

/** `LabelsFromMap`, deterministic: sorted by name (rkt serializes labels built from a map sorted). */
export function labelsFromMap(m: ReadonlyMap<string, string>): Label[] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => ({ name, value }));
}

// ---------------------------------------------------------------------------------------------------
// Annotations (`annotations.go`)

export interface Annotation {
  name: string;
  value: string;
}

/**
 * Annotation-set rules: unique names; the well-known `created` must be an RFC 3339 date and
 * `homepage` / `documentation` http(s) URLs. Returns the reason or undefined.
 */
export function annotationsError(annotations: readonly Annotation[]): string | undefined {
  const seen = new Map<string, string>();
  for (const a of annotations) {
    if (seen.has(a.name)) return `duplicate annotations of name ${goQuote(a.name)}`;
    seen.set(a.name, a.value);
  }
  const created = seen.get('created');
  if (created !== undefined && !isRFC3339(created)) return `bad Date: ${goQuote(created)} is not an RFC 3339 timestamp`;
  for (const k of ['homepage', 'documentation']) {
    const u = seen.get(k);
    if (u !== undefined) {
      const e = httpURLError(u);
      if (e !== undefined) return `${k}: ${e}`;
    }
  }
  return undefined;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** Go's `time.Parse(time.RFC3339, s)` acceptance (with the `T` separator, range-checked fields). */
export function isRFC3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59) return false;
  const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d < 1 || d > dim) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
}

function httpURLError(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `bad URL: ${goQuote(s)}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'bad URL scheme, must be http/https';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Environment variables (`environment.go`)

/** `^[A-Za-z_][A-Za-z_0-9.-]*$` */
export const ENV_NAME = /^[A-Za-z_][A-Za-z_0-9.-]*$/;

export function isEnvName(s: unknown): s is string {
  return typeof s === 'string' && ENV_NAME.test(s);
}

// ---------------------------------------------------------------------------------------------------
// Hashes / image IDs (`hash.go`)

export interface Hash {
  typ: 'sha512';
  val: string;
}

/**
 * Why `s` is not an image ID; undefined if valid. appc's `NewHash`: exactly one `-`, type `sha512`,
 * non-empty value; we also require the value to be hexadecimal.
 */
export function hashError(s: string): string | undefined {
  const parts = s.split('-');
  if (parts.length !== 2) return 'badly formatted hash string';
  const [typ, val] = parts;
  if (typ === '') return 'unexpected empty hash type';
  if (typ !== 'sha512') return `unrecognized hash type: ${typ}`;
  if (val === '') return 'unexpected empty hash value';
  if (!/^[0-9a-fA-F]+$/.test(val)) return 'hash value must be hexadecimal';
  return undefined;
}

export function isHash(s: unknown): s is string {
  return typeof s === 'string' && hashError(s) === undefined;
}

/** Parses `sha512-<hex>`; throws RktError('EUSAGE') if invalid. */
export function parseHash(s: string): Hash {
  const e = hashError(s);
  if (e !== undefined) throw new RktError('EUSAGE', `${goQuote(s)} is not a valid image ID: ${e}`);
  const i = s.indexOf('-');
  return { typ: 'sha512', val: s.slice(i + 1) };
}

// ---------------------------------------------------------------------------------------------------
// Resource quantities (the Kubernetes `resource.Quantity` appc vendors)

/** An exact quantity: `num / den` base units (bytes, cores, …). */
export interface Quantity {
  readonly text: string;
  readonly num: bigint;
  readonly den: bigint;
}

const QUANTITY_SPLIT = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const QUANTITY_NUMBER = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/;

const BINARY_SUFFIX: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
/** Decimal SI suffixes as powers of ten. `K` is accepted as well as Kubernetes' `k`. */
const DECIMAL_SUFFIX: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  K: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/** Why `s` is not a quantity; undefined if valid. Accepts what `resource.ParseQuantity` accepts. */
export function quantityError(s: string | number): string | undefined {
  const q = tryQuantity(s);
  return typeof q === 'string' ? q : undefined;
}

function tryQuantity(input: string | number): Quantity | string {
  const text = typeof input === 'number' ? numberText(input) : input.trim();
  if (text === undefined) return 'quantities must be finite numbers';
  const m = QUANTITY_SPLIT.exec(text);
  if (!m) return `quantities must match the regular expression '${QUANTITY_SPLIT.source}'`;
  const nm = QUANTITY_NUMBER.exec(m[1]);
  if (!nm || (nm[2] === '' && (nm[3] ?? '') === '')) return 'unable to parse quantity\'s numeric part';
  const sign = nm[1] === '-' ? -1n : 1n;
  const frac = nm[3] ?? '';
  let num = sign * BigInt((nm[2] || '0') + frac);
  let den = 10n ** BigInt(frac.length);
  const suffix = m[2];
  if (Object.prototype.hasOwnProperty.call(BINARY_SUFFIX, suffix)) {
    num *= BINARY_SUFFIX[suffix];
  } else {
    let exp: number;
    if (Object.prototype.hasOwnProperty.call(DECIMAL_SUFFIX, suffix)) exp = DECIMAL_SUFFIX[suffix];
    else if (/^[eE][-+]?[0-9]+$/.test(suffix)) exp = Number(suffix.slice(1));
    else return 'unable to parse quantity\'s suffix';
    if (Math.abs(exp) > 60) return 'quantity is out of range';
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  return { text, num, den };
}

function numberText(n: number): string | undefined {
  if (!Number.isFinite(n)) return undefined;
  // JSON numbers like 1e3 or 0.5 are quantities too; String() yields a form the grammar accepts
  return String(n).replace('e+', 'e');
}

/** Parses a quantity (`250m`, `1G`, `128Mi`, `1.5`, `1e3`); throws RktError('EUSAGE') if invalid. */
export function parseQuantityExact(s: string | number): Quantity {
  const q = tryQuantity(s);
  if (typeof q === 'string') throw new RktError('EUSAGE', `${goQuote(String(s))} is not a valid quantity: ${q}`);
  return q;
}

/** A quantity as a number of base units (may be fractional: `250m` → 0.25). */
export function parseQuantity(s: string | number): number {
  return quantityToNumber(parseQuantityExact(s));
}

/** A quantity in thousandths of a base unit, rounded up like `Quantity.MilliValue` (CPU: millicores). */
export function parseQuantityMilli(s: string | number): number {
  return quantityMilliValue(parseQuantityExact(s));
}

export function quantityToNumber(q: Quantity): number {
  // exact when the value fits; division of two bigints through Number keeps ~15 significant digits
  if (q.num % q.den === 0n) return Number(q.num / q.den);
  return Number(q.num) / Number(q.den);
}

/** Whole base units, rounded up (`Quantity.Value`). */
export function quantityValue(q: Quantity): number {
  return Number(ceilDiv(q.num, q.den));
}

/** Thousandths of a base unit, rounded up (`Quantity.MilliValue`). */
export function quantityMilliValue(q: Quantity): number {
  return Number(ceilDiv(q.num * 1000n, q.den));
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

// ---------------------------------------------------------------------------------------------------
// UUIDs (`uuid.go`)

/**
 * appc's `NewUUID`: remove every `-`, require 32 hex digits. Returns the canonical lower-case dashed
 * form (`8-4-4-4-12`); throws RktError('EUSAGE') otherwise.
 */
export function parseUUID(s: string): string {
  const e = uuidError(s);
  if (e !== undefined) throw new RktError('EUSAGE', `${goQuote(s)} is not a valid UUID: ${e}`);
  const h = s.replace(/-/g, '').toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function uuidError(s: string): string | undefined {
  const h = s.replace(/-/g, '');
  if (h.length !== 32) return 'bad UUID length != 32';
  if (!/^[0-9a-fA-F]{32}$/.test(h)) return 'invalid hexadecimal digit';
  return undefined;
}

export function isUUID(s: unknown): s is string {
  return typeof s === 'string' && uuidError(s) === undefined;
}

// ---------------------------------------------------------------------------------------------------
// Paths

/** Go's `path.IsAbs` / `filepath.IsAbs` on Linux. */
export function isAbsPath(p: string): boolean {
  return p.startsWith('/');
}
