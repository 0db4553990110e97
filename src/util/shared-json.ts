/**
 * JSON for a list of plain-data items that share sub-objects, decoded lazily: a value referenced
 * more than once is written once, and comes back as one object referenced from every place it was,
 * as v8.serialize would keep it; `undefined` values are kept too (JSON would drop or null them).
 * Each item is parsed, and each shared value resolved, only when it is first read.
 *
 * It exists for the parser cache (src/cli/parser-cache.ts): clipanion's state machine for `rkt run`
 * is some 250 nodes sharing many objects, of which a parse visits a handful. Loading Node's `v8`
 * module to deserialize it, or parsing all of it, would cost a few ms of every run's start-up.
 *
 * The document is a header line, `{"shared": [value...], "ends": [offset...]}`, then the JSON texts
 * of the items one after the other, item i ending `ends[i]` characters after the header's newline
 * (JSON text has no raw newline). The shared values are inline (they are small, and parsing them
 * with the header is cheaper than one parse each); an item's text is sliced out and parsed when the
 * item is read, so the items a reader never visits cost nothing, not even unescaping. In both, a
 * marker stands for what JSON cannot say: `{"$": 0}` for undefined, `{"$": n}` for shared[n - 1],
 * `{"$o": {...}}` for a data object that itself has a key "$", "$o" or "$m" (so a marker is never
 * mistaken for data, or data for a marker), and `{"$m": [...]}` or `{"$m": {...}}` for an array or
 * object with a marker somewhere inside: the reader walks only those, and takes every other value
 * as JSON.parse made it (walking and re-setting every property of run's parser was most of its
 * decoding). The list must be written whole: a torn document (a header that
 * does not parse, or items shorter than the header says) is refused at once; a bad text inside a
 * whole document fails when its item is read.
 */

export class SharedJsonError extends Error {}

type Container = object;

/** Sets an own property, even one named `__proto__` (which plain assignment would take as the prototype). */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

function isPlainContainer(v: object): boolean {
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Throws SharedJsonError for what JSON cannot carry: cycles, non-finite numbers, class instances, functions. */
export function encodeSharedList(items: ReadonlyArray<unknown>): string {
  const refs = new Map<Container, number>();
  const onPath = new Set<Container>();
  const count = (v: unknown): void => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new SharedJsonError(`cannot encode the number ${v}`);
      return;
    }
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v !== 'object') throw new SharedJsonError(`cannot encode a ${typeof v}`);
    if (!isPlainContainer(v)) throw new SharedJsonError(`cannot encode an instance of ${v.constructor?.name ?? 'a class'}`);
    const n = refs.get(v);
    if (n !== undefined) {
      if (onPath.has(v)) throw new SharedJsonError('cannot encode a cycle');
      refs.set(v, n + 1);
      return;
    }
    refs.set(v, 1);
    onPath.add(v);
    for (const x of Array.isArray(v) ? v : Object.values(v)) count(x);
    onPath.delete(v);
  };
  for (const x of items) count(x);

  const sharedIndex = new Map<Container, number>();
  const shared: unknown[] = [];
  // the encoded containers that hold a marker (a reference, undefined, an escape) at any depth
  const marked = new WeakSet<object>();
  const isMarked = (x: unknown): boolean => x !== null && typeof x === 'object' && marked.has(x);
  const mark = <T extends object>(x: T): T => {
    marked.add(x);
    return x;
  };
  const item = (v: unknown): unknown => {
    if (v === undefined) return mark({ $: 0 });
    if (v === null || typeof v !== 'object') return v;
    if ((refs.get(v) ?? 0) > 1) {
      let i = sharedIndex.get(v);
      if (i === undefined) {
        i = shared.push(container(v)); // 1-based: 0 is undefined
        sharedIndex.set(v, i);
      }
      return mark({ $: i });
    }
    return container(v);
  };
  const container = (v: Container): unknown => {
    if (Array.isArray(v)) {
      const out = v.map(item);
      return out.some(isMarked) ? mark({ $m: out }) : out;
    }
    const out: Record<string, unknown> = {};
    let inner = false;
    for (const [k, x] of Object.entries(v)) {
      const e = item(x);
      inner ||= isMarked(e);
      setOwn(out, k, e);
    }
    if ('$' in out || '$o' in out || '$m' in out) return mark({ $o: out });
    return inner ? mark({ $m: out }) : out;
  };
  const texts = items.map((x) => JSON.stringify(item(x)));
  const ends: number[] = [];
  let at = 0;
  for (const t of texts) ends.push((at += t.length));
  return `${JSON.stringify({ shared, ends })}\n${texts.join('')}`;
}

/**
 * The list, each element parsed on first read (then kept as a plain value). Throws SharedJsonError
 * (or JSON.parse's SyntaxError) at once for a document that is not a whole list; an element that
 * does not decode throws when it is read.
 */
export function decodeSharedList(text: string): unknown[] {
  const nl = text.indexOf('\n');
  if (nl < 0) throw new SharedJsonError('not a shared-json list');
  const doc = JSON.parse(text.slice(0, nl)) as { shared?: unknown; ends?: unknown };
  const isEnds = (a: unknown): a is number[] => Array.isArray(a) && a.every((n, i) => Number.isInteger(n) && n >= (i === 0 ? 0 : a[i - 1]));
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.shared) || !isEnds(doc.ends)) throw new SharedJsonError('not a shared-json list');
  const base = nl + 1;
  const ends = doc.ends;
  if ((ends.length === 0 ? 0 : ends[ends.length - 1]) !== text.length - base) throw new SharedJsonError('a torn shared-json list');
  const raw: unknown[] = doc.shared;
  const shared: unknown[] = new Array(raw.length);
  const state: number[] = new Array(raw.length).fill(0); // 0 unresolved, 1 resolving, 2 done
  // Resolves the markers of an encoded value; an array or object that is not a marker holds none
  // (the writer wrapped it in "$m" otherwise) and is the decoded value as it is.
  const value = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    if ('$m' in o) {
      const inner = o.$m;
      if (Array.isArray(inner)) {
        for (let i = 0; i < inner.length; i++) inner[i] = value(inner[i]);
        return inner;
      }
      if (inner === null || typeof inner !== 'object') throw new SharedJsonError('bad marked container');
      const body = inner as Record<string, unknown>;
      for (const k of Object.keys(body)) {
        const x = body[k];
        if (x !== null && typeof x === 'object' && !Array.isArray(x)) setOwn(body, k, value(x));
      }
      return body;
    }
    if ('$' in o) {
      const n = o.$;
      if (n === 0) return undefined;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > raw.length) throw new SharedJsonError(`bad reference ${String(n)}`);
      const i = n - 1;
      if (state[i] === 2) return shared[i];
      if (state[i] === 1) throw new SharedJsonError('a reference cycle');
      state[i] = 1;
      shared[i] = value(raw[i]);
      state[i] = 2;
      return shared[i];
    }
    if (!('$o' in o)) return o;
    const body = o.$o as Record<string, unknown>;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SharedJsonError('bad escaped object');
    for (const k of Object.keys(body)) setOwn(body, k, value(body[k]));
    return body;
  };
  // One Proxy over the array, not a getter per element: a getter pair per element cost two
  // closures, a descriptor and the array's fast elements (~47 KB for run's parser) on every start.
  const items: unknown[] = new Array(ends.length).fill(undefined);
  const parsed = new Uint8Array(ends.length);
  const index = (key: string | symbol): number => {
    if (typeof key !== 'string' || key.length === 0 || key.length > 10) return -1;
    const c = key.charCodeAt(0);
    if (c < 48 || c > 57) return -1;
    const i = Number(key);
    return Number.isInteger(i) && i < ends.length && String(i) === key ? i : -1;
  };
  const read = (i: number): unknown => {
    if (parsed[i] === 0) {
      items[i] = value(JSON.parse(text.slice(base + (i === 0 ? 0 : ends[i - 1]), base + ends[i])));
      parsed[i] = 1;
    }
    return items[i];
  };
  return new Proxy(items, {
    get(target, key, receiver) {
      const i = index(key);
      return i < 0 ? Reflect.get(target, key, receiver) : read(i);
    },
    set(target, key, v, receiver) {
      const i = index(key);
      if (i >= 0) parsed[i] = 1;
      return Reflect.set(target, key, v, receiver);
    },
    getOwnPropertyDescriptor(target, key) {
      const i = index(key);
      if (i >= 0) read(i);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}
