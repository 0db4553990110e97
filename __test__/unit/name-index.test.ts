import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StoreDb, AciInfo, dbPath } from '../../src/store/db';
import { NameIndex, NAME_INDEX_FILE, NAME_INDEX_LOCK, decodeNameIndex, encodeNameIndex } from '../../src/store/name-index';
import { LAST_USED_FILE, appendLastUsed, parseLastUsed } from '../../src/store/last-used';
import { native } from '../../src/native';

let root: string;
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'rkt-name-index-test-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
const freshCas = (): string => path.join(root, `cas${n++}`);
const key = (c: string): string => 'sha512-' + c.repeat(64).slice(0, 64);
const dbDir = (cas: string): string => path.dirname(dbPath(cas));
const indexFile = (cas: string): string => path.join(dbDir(cas), NAME_INDEX_FILE);

function aci(k: string, over: Partial<AciInfo> = {}): AciInfo {
  return {
    blobKey: k,
    name: 'example.com/app',
    importTime: new Date(1_700_000_000_000),
    lastUsed: new Date(1_700_000_000_000),
    latest: false,
    size: 1,
    treeStoreSize: 0,
    blobDigest: '',
    ...over,
  };
}

/** The index as a reader finds it: key lists by name, or undefined when there is no valid file. */
function indexed(cas: string, name: string): string[] | undefined {
  return NameIndex.read(dbDir(cas))?.byName(name).map((e) => e.blobKey);
}

describe('name index file', () => {
  test('round-trips entries and rejects what this version did not write', () => {
    const entries = [
      { name: 'example.com/a', blobKey: key('a'), importTime: new Date(5), latest: true },
      { name: 'example.com/b', blobKey: key('b'), importTime: new Date(7), latest: false },
    ];
    assert.deepEqual(decodeNameIndex(encodeNameIndex(entries)), entries);
    for (const bad of ['', '{', 'null', '[]', '{"v":2,"images":[]}', '{"v":1}', '{"v":1,"images":[["n","k",1]]}', '{"v":1,"images":[["n","k","1",0]]}', '{"v":1,"images":[["n","k",1,2]]}']) {
      assert.equal(decodeNameIndex(bad), undefined, bad);
    }
  });
});

describe('StoreDb keeps the name index', () => {
  test('a new store gets an empty index; each write leaves one that matches the database', async () => {
    const cas = freshCas();
    const db = await StoreDb.open(cas);
    assert.deepEqual(indexed(cas, 'example.com/app'), []);
    await db.upsertAciInfo(aci(key('a'), { importTime: new Date(2_000) }));
    await db.upsertAciInfo(aci(key('b'), { importTime: new Date(1_000) }));
    await db.upsertAciInfo(aci(key('c'), { name: 'example.com/other' }));
    assert.deepEqual(indexed(cas, 'example.com/app'), [key('b'), key('a')], 'oldest import first, as the database orders them');
    assert.deepEqual(indexed(cas, 'example.com/other'), [key('c')]);
    assert.equal(await db.removeAciInfo(key('a')), true);
    assert.deepEqual(indexed(cas, 'example.com/app'), [key('b')]);
    assert.deepEqual(
      NameIndex.read(dbDir(cas))?.byName('example.com/app'),
      (await db.getAciInfosByName('example.com/app')).map(({ blobKey, name, importTime, latest }) => ({ blobKey, name, importTime, latest })),
    );
    await db.close();
  });

  test('there is no index while a write is in flight, and a rolled-back write leaves the old rows', async () => {
    const cas = freshCas();
    const db = await StoreDb.open(cas);
    await db.upsertAciInfo(aci(key('a')));
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.upsertAciInfo(aci(key('b')));
        assert.equal(existsSync(indexFile(cas)), false, 'removed before the transaction began');
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.deepEqual(indexed(cas, 'example.com/app'), [key('a')]);
    await db.close();
  });

  test('an open rewrites a missing or broken index, but not while a write holds its lock', async () => {
    const cas = freshCas();
    const db = await StoreDb.open(cas);
    await db.upsertAciInfo(aci(key('a')));
    await db.close();
    rmSync(indexFile(cas)); // as a write killed between its removal and its rewrite leaves it
    const writer = native.tryLockKeyFile(path.join(dbDir(cas), NAME_INDEX_LOCK), true);
    assert.notEqual(writer, null);
    await (await StoreDb.open(cas)).close();
    assert.equal(existsSync(indexFile(cas)), false, 'a write in flight writes it when it ends');
    native.releaseLock(writer!);
    await (await StoreDb.open(cas)).close();
    assert.deepEqual(indexed(cas, 'example.com/app'), [key('a')]);
    writeFileSync(indexFile(cas), '{"v":1,"images":[["example.com/app",');
    assert.equal(indexed(cas, 'example.com/app'), undefined, 'a torn file is no index');
    rmSync(indexFile(cas));
    await (await StoreDb.open(cas)).close();
    assert.deepEqual(indexed(cas, 'example.com/app'), [key('a')]);
  });
});

describe('last-used log', () => {
  test('parses the latest time per key and skips lines that are not uses', () => {
    const uses = parseLastUsed(`${key('a')} 10\n${key('a')} 30\n${key('a')} 20\n${key('b')} 5\nsha512-short 9\n${key('c')} -1\n${key('c')} x\n\n${key('d')}`);
    assert.deepEqual([...uses], [
      [key('a'), 30],
      [key('b'), 5],
    ]);
  });

  test('an open folds the log into lastused (never moving it back) and empties it', async () => {
    const cas = freshCas();
    const db = await StoreDb.open(cas);
    await db.upsertAciInfo(aci(key('a'), { lastUsed: new Date(1_000) }));
    await db.upsertAciInfo(aci(key('b'), { lastUsed: new Date(9_000) }));
    await db.close();
    const dir = dbDir(cas);
    appendLastUsed(dir, [key('a'), key('b')], new Date(5_000));
    appendLastUsed(dir, [key('a')], new Date(7_000));
    appendFileSync(path.join(dir, LAST_USED_FILE), `${key('e')} 8000\nnot a line\n`); // an image gone since, and junk
    const again = await StoreDb.open(cas);
    assert.equal((await again.getAciInfo(key('a')))?.lastUsed.getTime(), 7_000);
    assert.equal((await again.getAciInfo(key('b')))?.lastUsed.getTime(), 9_000, 'an older use does not move it back');
    assert.equal(readFileSync(path.join(dir, LAST_USED_FILE), 'utf8'), '');
    assert.deepEqual(indexed(cas, 'example.com/app'), [key('a'), key('b')], 'the fold left the name index alone');
    await again.close();
  });

  test('a long log is folded by the process that appends to it', async () => {
    const cas = freshCas();
    const db = await StoreDb.open(cas);
    await db.upsertAciInfo(aci(key('a'), { lastUsed: new Date(1_000) }));
    const dir = dbDir(cas);
    appendLastUsed(dir, [key('a')], new Date(2_000));
    await db.foldLastUsed();
    assert.equal((await db.getAciInfo(key('a')))?.lastUsed.getTime(), 1_000, 'a short log waits for the next open');
    appendLastUsed(dir, new Array(1000).fill(key('a')), new Date(3_000));
    await db.foldLastUsed();
    assert.equal((await db.getAciInfo(key('a')))?.lastUsed.getTime(), 3_000);
    assert.equal(readFileSync(path.join(dir, LAST_USED_FILE), 'utf8'), '');
    await db.close();
  });
});
