import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedJsonError, decodeSharedList, encodeSharedList } from '../../src/util/shared-json';

const roundTrip = (items: unknown[]): unknown[] => decodeSharedList(encodeSharedList(items));

test('plain data comes back equal, undefined values included', () => {
  const v = { a: 1, b: 'x', c: [true, false, null, undefined, -2.5], d: { e: {}, f: [] }, g: undefined, '\u0000': 'end', '\u0001': 'start' };
  const back = roundTrip([v, undefined, 's', 3]);
  assert.deepEqual(back, [v, undefined, 's', 3]);
  const first = back[0] as typeof v;
  assert.ok('g' in first, 'a key holding undefined is kept');
  assert.equal(first.c.length, 5);
  assert.ok(Array.isArray(back));
  assert.equal(back.length, 4);
  assert.deepEqual(roundTrip([]), []);
});

test('a shared object comes back as one object, referenced from every item and place', () => {
  const usage = { candidateUsage: 'rkt run <IMAGE>', requiredOptions: [] as string[] };
  const inner = [usage, usage];
  const nodes = [{ r: usage }, { r: usage, list: inner }, { list: inner }];
  const text = encodeSharedList(nodes);
  assert.equal(text.split('candidateUsage').length - 1, 1, 'written once');
  const back = decodeSharedList(text) as typeof nodes;
  assert.deepEqual(back, nodes);
  assert.equal(back[0].r, back[1].r);
  assert.equal(back[1].list, back[2].list);
  assert.equal(back[1].list![0], back[0].r);
});

test('an item is decoded when first read, once', () => {
  const text = encodeSharedList([{ a: 1 }, { b: 2 }, { c: [3] }]);
  const parse = JSON.parse;
  let parses = 0;
  JSON.parse = ((t: string) => {
    parses++;
    return parse(t);
  }) as typeof JSON.parse;
  let back: Record<string, unknown>[];
  try {
    back = decodeSharedList(text) as Record<string, unknown>[];
    assert.equal(parses, 1, 'only the header is parsed before an item is read');
    assert.equal(back.length, 3);
    const one = back[1];
    assert.deepEqual(one, { b: 2 });
    assert.equal(back[1], one, 'the same object on every read');
    assert.equal(Object.getOwnPropertyDescriptor(back, 1)?.value, one, 'kept as a plain value');
    assert.equal(parses, 2, 'one parse for item 1, however often it is read');
  } finally {
    JSON.parse = parse;
  }
  assert.ok(Array.isArray(back) && 2 in back && !(3 in back));
  assert.deepEqual([...back], [{ a: 1 }, { b: 2 }, { c: [3] }], 'iteration reads every item');
  back[0] = { c: 3 };
  assert.deepEqual(back[0], { c: 3 }, 'elements stay writable');
  assert.equal(JSON.stringify(back), '[{"c":3},{"b":2},{"c":[3]}]');
});

test('data objects with the marker keys are not taken for markers', () => {
  const v = { $: 1, x: { $o: { $: 0 } }, y: [{ $: 0 }, { $o: 2 }], z: { $: 'a', other: true }, m: { $m: [1, { $m: {} }] } };
  assert.deepEqual(roundTrip([v]), [v]);
});

test('references and undefined deep inside arrays and objects are resolved; the rest is left as parsed', () => {
  const s = { shared: true, list: [1, 2] };
  const v = { a: [[{ b: [s, undefined, 'x'] }], { c: s }], plain: { d: [1, { e: 'f' }] }, u: [undefined] };
  const text = encodeSharedList([v, [s], { only: 'plain', n: [1, 2, 3] }]);
  assert.equal(text.split('"shared"').length - 1, 2, 'the shared object written once (and the header key)');
  assert.ok(!text.includes('"plain":{"$m"'), 'a container without markers is written as plain JSON');
  const back = decodeSharedList(text) as [typeof v, unknown[], unknown];
  assert.deepEqual(back[0], v);
  assert.equal((back[0].a[0] as { b: unknown[] }[])[0].b[0], (back[0].a[1] as { c: unknown }).c, 'one shared object');
  assert.equal(back[1][0], (back[0].a[1] as { c: unknown }).c, 'across items too');
  assert.ok(0 in back[0].u && back[0].u[0] === undefined && back[0].u.length === 1, "an undefined element stays one");
  assert.deepEqual(back[2], { only: 'plain', n: [1, 2, 3] });
  // a hand-written document: a marked container is walked, an unmarked one is data as it stands
  const doc = (shared: unknown[], items: string[]): string => {
    let at = 0;
    return `${JSON.stringify({ shared, ends: items.map((t) => (at += t.length)) })}\n${items.join('')}`;
  };
  const hand = decodeSharedList(doc(['s'], ['{"$m":[{"$":1},{"$":0}]}', '[{"$":1}]', '{"$m":3}']));
  assert.deepEqual(hand[0], ['s', undefined]);
  assert.deepEqual(hand[1], [{ $: 1 }], 'no $m: the writer put no marker there, so it is data');
  assert.throws(() => hand[2], SharedJsonError, 'a bad marked container');
});

test('a key named __proto__ stays an own key and sets no prototype', () => {
  const v = JSON.parse('{"__proto__": {"polluted": true}, "k": 1}') as Record<string, unknown>;
  const back = roundTrip([v])[0] as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(Object.keys(back), ['__proto__', 'k']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('what JSON cannot carry is refused, not silently changed', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  for (const bad of [cyclic, { n: NaN }, { n: Infinity }, { m: new Map() }, { f: () => 1 }, { d: new Date(0) }, [1n]]) {
    assert.throws(() => encodeSharedList([bad]), SharedJsonError);
  }
});

test('a document it did not write is refused at once; a bad item when it is read', () => {
  // the format: a header line, then the items' texts back to back (see shared-json.ts)
  const doc = (shared: unknown[], items: string[]): string => {
    let at = 0;
    return `${JSON.stringify({ shared, ends: items.map((t) => (at += t.length)) })}\n${items.join('')}`;
  };
  const refused = ['{}', '[]', 'null', '{}\n', '[]\n', 'null\n', '{"shared": {}, "ends": []}\n', '{"shared": [], "ends": ["1"]}\n1', '{"shared": [], "ends": [2, 1]}\n11', '{"ends": []}\n'];
  for (const text of refused) assert.throws(() => decodeSharedList(text), SharedJsonError, JSON.stringify(text));
  assert.throws(() => decodeSharedList('{"shared": [], "en\n'), SyntaxError, 'a torn header');
  const whole = doc([], ['{"a":1}', '[2]']);
  assert.deepEqual(decodeSharedList(whole), [{ a: 1 }, [2]]);
  assert.throws(() => decodeSharedList(whole.slice(0, -1)), /torn/, 'items cut short');
  assert.throws(() => decodeSharedList(`${whole}3`), /torn/, 'more than the header says');
  const bad = decodeSharedList(doc([{ $: 1 }], ['{"$": 2}', '{"$": 1}', '{"$o": 3}', '{"x"']));
  assert.throws(() => bad[0], SharedJsonError, 'a reference past the table');
  assert.throws(() => bad[1], SharedJsonError, 'a reference cycle');
  assert.throws(() => bad[2], SharedJsonError, 'a bad escaped object');
  assert.throws(() => bad[3], SyntaxError);
});
