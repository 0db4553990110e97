import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fork, spawnSync } from 'node:child_process';
import * as sqlite3 from 'sqlite3';
import { RktError } from '../../src/errors';
import { StoreDb, AciInfo, RemoteRow, dbPath, escapeLike } from '../../src/store/db';
import { MIGRATIONS, DB_VERSION } from '../../src/store/db-migrations';

let root: string;
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'rkt-db-test-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function freshCas(): string {
  return path.join(root, `cas${n++}`);
}

function key(c: string): string {
  return 'sha512-' + c.repeat(64).slice(0, 64);
}

function aci(k: string, over: Partial<AciInfo> = {}): AciInfo {
  return {
    blobKey: k,
    name: 'example.com/app',
    importTime: new Date(1_700_000_000_123),
    lastUsed: new Date(1_700_000_000_456),
    latest: false,
    size: 1024,
    treeStoreSize: 0,
    blobDigest: 'b3'.repeat(32),
    ...over,
  };
}

function remote(url: string, blobKey: string, over: Partial<RemoteRow> = {}): RemoteRow {
  return {
    aciUrl: url,
    sigUrl: url + '.asc',
    etag: '"abc"',
    blobKey,
    cacheMaxAge: 3600,
    downloadTime: new Date(1_700_000_001_000),
    ...over,
  };
}

/** Raw access to the file, bypassing StoreDb. */
function raw<T>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => {
      if (err) return reject(err);
      db.all(sql, params, (err2: Error | null, rows: T[]) => {
        db.close(() => (err2 ? reject(err2) : resolve(rows)));
      });
    });
  });
}

describe('StoreDb basics', () => {
  test('open creates <cas>/db/rkt.sqlite in WAL mode with schema version 2', async () => {
    const cas = freshCas();
    const db = await StoreDb.open(cas);
    assert.ok(existsSync(path.join(cas, 'db', 'rkt.sqlite')));
    assert.equal(dbPath(cas), path.join(cas, 'db', 'rkt.sqlite'));
    assert.equal(await db.schemaVersion(), 2);
    assert.equal(DB_VERSION, 2);
    await db.close();
    const mode = await raw<{ journal_mode: string }>(dbPath(cas), 'PRAGMA journal_mode');
    assert.equal(mode[0].journal_mode, 'wal');
    const tables = await raw<{ name: string }>(dbPath(cas), "SELECT name FROM sqlite_master WHERE type IN ('table','index') ORDER BY name");
    assert.deepEqual(
      tables.map((t) => t.name),
      ['aciinfo', 'aciurlidx', 'blobkeyidx', 'nameidx', 'remote', 'remoteblobkeyidx', 'version'],
    );
  });

  test('name lookups use one statement, prepared at open, kept until close', async () => {
    const cas = freshCas();
    const first = await StoreDb.open(cas);
    await first.upsertAciInfo(aci(key('a')));
    await first.close();
    const proto = sqlite3.Database.prototype as unknown as { prepare: (...a: unknown[]) => unknown };
    const prepare = proto.prepare;
    const prepared: string[] = [];
    proto.prepare = function (this: unknown, ...a: unknown[]) {
      prepared.push(String(a[0]));
      return prepare.apply(this, a);
    };
    let db: StoreDb;
    try {
      db = await StoreDb.open(cas);
      const atOpen = prepared.filter((q) => q.includes('WHERE name = ?')).length;
      for (let i = 0; i < 3; i++) assert.deepEqual((await db.getAciInfosByName('example.com/app')).map((x) => x.blobKey), [key('a')]);
      assert.equal(atOpen, 1, 'prepared ahead at open');
      assert.equal(prepared.filter((q) => q.includes('WHERE name = ?')).length, 1, 'and never again');
    } finally {
      proto.prepare = prepare;
    }
    await db.close(); // refused by SQLite if the kept statement were not finalized first
    await assert.rejects(db.getAciInfosByName('example.com/app'), /closed/);
  });

  test('aciinfo CRUD', async () => {
    const db = await StoreDb.open(freshCas());
    const a = aci(key('a'), { latest: true });
    const b = aci(key('b'), { name: 'example.com/other', importTime: new Date(1_700_000_100_000) });
    const c = aci(key('c'), { importTime: new Date(1_600_000_000_000) });
    await db.upsertAciInfo(a);
    await db.upsertAciInfo(b);
    await db.upsertAciInfo(c);

    assert.deepEqual(await db.getAciInfo(key('a')), a);
    assert.equal(await db.getAciInfo(key('d')), undefined);
    assert.deepEqual(
      (await db.listAciInfos()).map((i) => i.blobKey),
      [key('c'), key('a'), key('b')],
      'by import time',
    );
    assert.deepEqual(
      (await db.listAciInfos({ orderBy: 'name', descending: true })).map((i) => i.blobKey),
      [key('b'), key('c'), key('a')],
    );
    assert.deepEqual(
      (await db.getAciInfosByName('example.com/app')).map((i) => i.blobKey),
      [key('c'), key('a')],
    );
    assert.deepEqual(await db.getAciInfosByName('nope'), []);

    // replace by key: every column
    const a2 = aci(key('a'), { name: 'example.com/renamed', latest: false, size: 7, treeStoreSize: 9, importTime: new Date(5), blobDigest: 'ab'.repeat(32) });
    await db.upsertAciInfo(a2);
    assert.deepEqual(await db.getAciInfo(key('a')), a2);
    assert.equal((await db.listAciInfos()).length, 3);

    await db.setTreeStoreSize(key('b'), 123456);
    assert.equal((await db.getAciInfo(key('b')))?.treeStoreSize, 123456);
    const when = new Date(1_800_000_000_999);
    await db.touchLastUsed(key('b'), when);
    assert.deepEqual((await db.getAciInfo(key('b')))?.lastUsed, when);
    const before = Date.now();
    await db.touchLastUsed(key('c'));
    assert.ok((await db.getAciInfo(key('c')))!.lastUsed.getTime() >= before);
    // updates of a missing key are no-ops
    await db.setTreeStoreSize(key('z'), 1);
    await db.touchLastUsed(key('e'));
    assert.equal(await db.getAciInfo(key('z')), undefined);
    assert.equal(await db.getAciInfo(key('e')), undefined);
    // the key goes into the statement's text: anything but a store key is refused
    await assert.rejects(db.touchLastUsed(`${key('b')}'; DELETE FROM aciinfo; --`), /not a store key/);
    assert.equal((await db.listAciInfos()).length, 3);
    await db.close();
  });

  test('remote upsert and get', async () => {
    const db = await StoreDb.open(freshCas());
    const r = remote('https://example.com/app.aci', key('a'));
    await db.upsertRemote(r);
    assert.deepEqual(await db.getRemote(r.aciUrl), r);
    const r2 = remote(r.aciUrl, key('b'), { etag: '"new"', cacheMaxAge: 0, sigUrl: '' });
    await db.upsertRemote(r2);
    assert.deepEqual(await db.getRemote(r.aciUrl), r2);
    assert.equal(await db.getRemote('https://example.com/none.aci'), undefined);
    await db.upsertRemote(remote('docker://busybox', key('b')));
    assert.deepEqual((await db.listRemotes()).map((x) => x.aciUrl), ['docker://busybox', 'https://example.com/app.aci']);
    await db.close();
  });

  test('removeAciInfo removes the remotes pointing at the image', async () => {
    const db = await StoreDb.open(freshCas());
    await db.upsertAciInfo(aci(key('a')));
    await db.upsertAciInfo(aci(key('b')));
    await db.upsertRemote(remote('https://example.com/a.aci', key('a')));
    await db.upsertRemote(remote('https://mirror.example.com/a.aci', key('a')));
    await db.upsertRemote(remote('https://example.com/b.aci', key('b')));

    assert.equal(await db.removeAciInfo(key('a')), true);
    assert.equal(await db.getAciInfo(key('a')), undefined);
    assert.equal(await db.getRemote('https://example.com/a.aci'), undefined);
    assert.equal(await db.getRemote('https://mirror.example.com/a.aci'), undefined);
    assert.ok(await db.getRemote('https://example.com/b.aci'));
    assert.ok(await db.getAciInfo(key('b')));

    assert.equal(await db.removeAciInfo(key('a')), false, 'missing image');
    // a dangling remote for a missing image is left alone when the image does not exist
    await db.upsertRemote(remote('https://example.com/z.aci', key('z')));
    assert.equal(await db.removeAciInfo(key('z')), false);
    assert.ok(await db.getRemote('https://example.com/z.aci'));
    await db.close();
  });

  test('findKeysByPrefix treats % and _ literally and is case-sensitive', async () => {
    const db = await StoreDb.open(freshCas());
    for (const k of ['sha512-ab_cd', 'sha512-abXcd', 'sha512-ab%x', 'sha512-abYx', 'sha512-ab\\q', 'sha512-abcdef']) {
      await db.upsertAciInfo(aci(k));
    }
    assert.deepEqual(await db.findKeysByPrefix('sha512-ab_'), ['sha512-ab_cd']);
    assert.deepEqual(await db.findKeysByPrefix('sha512-ab%'), ['sha512-ab%x']);
    assert.deepEqual(await db.findKeysByPrefix('sha512-ab\\'), ['sha512-ab\\q']);
    assert.deepEqual(await db.findKeysByPrefix('sha512-abc'), ['sha512-abcdef']);
    assert.deepEqual(await db.findKeysByPrefix('SHA512-AB'), []);
    assert.deepEqual(await db.findKeysByPrefix('sha512-abx'), [], 'LIKE would match abX case-insensitively');
    assert.equal((await db.findKeysByPrefix('sha512-ab')).length, 6);
    assert.deepEqual(await db.findKeysByPrefix("'; DROP TABLE aciinfo; --"), []);
    assert.equal((await db.findKeysByPrefix('')).length, 6);
    assert.equal(escapeLike('a%b_c\\d'), 'a\\%b\\_c\\\\d');
    await db.close();
  });
});

describe('the WAL', () => {
  // Every command is its store's first connection and reads the whole WAL, and `rkt run` never
  // closes the store: its writes must not pile up there (db.ts, WAL_TRUNCATE_FRAMES).
  const frameBytes = 24 + 4096;

  /** Frames of the WAL that the next connection would read: those with the header's salts. */
  function validFrames(cas: string): number {
    const wal = readFileSync(`${dbPath(cas)}-wal`);
    if (wal.length < 32) return 0;
    const salt = wal.subarray(16, 24);
    let n = 0;
    for (let at = 32; at + frameBytes <= wal.length; at += frameBytes, n++) {
      if (!wal.subarray(at + 8, at + 16).equals(salt)) break;
    }
    return n;
  }

  test('runs that never close the store leave a short WAL, cut back once it grew', { timeout: 120_000 }, async () => {
    const cas = freshCas();
    const db = await StoreDb.open(cas);
    await db.upsertAciInfo(aci(key('a')));
    await db.close();
    const truncateAt = 8;
    const script = path.join(__dirname, 'fixtures', 'db-touch-exit.js');
    const frames: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = spawnSync(process.execPath, [script, cas, key('a'), String(truncateAt)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      frames.push(validFrames(cas));
    }
    // each run adds its frame; past the limit a run empties the log
    assert.ok(Math.max(...frames) <= truncateAt + 2, `valid WAL frames after each run: ${frames.join(' ')}`);
    assert.ok(frames.some((f, i) => i > 0 && f < frames[i - 1]), `the WAL was never emptied: ${frames.join(' ')}`);
    assert.ok(statSync(`${dbPath(cas)}-wal`).size <= (truncateAt + 2) * frameBytes + 32, 'the file is cut back too');
    const after = await StoreDb.open(cas);
    assert.ok((await after.getAciInfo(key('a')))!.lastUsed.getTime() > 1_700_000_000_456, 'the runs wrote their last use');
    await after.close();
  });
});

describe('migrations', () => {
  test('run once: reopening does not re-run them', async () => {
    const cas = freshCas();
    const steps = [...MIGRATIONS, ['CREATE TABLE runs (n INTEGER)', 'INSERT INTO runs VALUES (1)']];
    for (let i = 0; i < 3; i++) {
      const db = await StoreDb.open(cas, { migrations: steps });
      assert.equal(await db.schemaVersion(), DB_VERSION + 1);
      await db.close();
    }
    assert.deepEqual(await raw(dbPath(cas), 'SELECT n FROM runs'), [{ n: 1 }]);
    assert.deepEqual(await raw(dbPath(cas), 'SELECT version FROM version'), [{ version: DB_VERSION + 1 }]);
  });

  test('an older database is upgraded step by step, keeping its rows', async () => {
    const cas = freshCas();
    let db = await StoreDb.open(cas);
    await db.upsertAciInfo(aci(key('a')));
    await db.close();
    db = await StoreDb.open(cas, { migrations: [...MIGRATIONS, ["ALTER TABLE aciinfo ADD COLUMN extra TEXT NOT NULL DEFAULT 'x'"]] });
    assert.equal(await db.schemaVersion(), DB_VERSION + 1);
    assert.deepEqual(await db.getAciInfo(key('a')), aci(key('a')));
    await db.close();
    assert.deepEqual(await raw(dbPath(cas), 'SELECT extra FROM aciinfo'), [{ extra: 'x' }]);
  });

  test('a version 1 database (before blob digests) gets the column, empty for its rows', async () => {
    const cas = freshCas();
    let db = await StoreDb.open(cas, { migrations: MIGRATIONS.slice(0, 1) });
    await db.close();
    await raw(
      dbPath(cas),
      "INSERT INTO aciinfo (blobkey, name, importtime, lastused, latest, size, treestoresize) VALUES (?, 'example.com/old', 1, 2, 0, 3, 0)",
      [key('e')],
    );
    db = await StoreDb.open(cas);
    assert.equal(await db.schemaVersion(), 2);
    const old = await db.getAciInfo(key('e'));
    assert.equal(old?.blobDigest, '', 'unknown: the render hashes such a blob against its key');
    await db.upsertAciInfo(aci(key('e')));
    assert.equal((await db.getAciInfo(key('e')))?.blobDigest, 'b3'.repeat(32));
    await db.close();
  });

  test('a failing migration rolls back entirely', async () => {
    const cas = freshCas();
    await assert.rejects(
      StoreDb.open(cas, { migrations: [...MIGRATIONS, ['CREATE TABLE t2 (a)', 'THIS IS NOT SQL']] }),
      (e: unknown) => e instanceof RktError && e.code === 'ESTORE' && /cannot open image database/.test(e.message),
    );
    const tables = await raw<{ name: string }>(dbPath(cas), "SELECT name FROM sqlite_master WHERE type = 'table'");
    assert.deepEqual(tables, [], 'not even version 1 was kept');
  });

  test('a database newer than the code is refused', async () => {
    const cas = freshCas();
    await (await StoreDb.open(cas)).close();
    await raw(dbPath(cas), 'UPDATE version SET version = 99');
    await assert.rejects(StoreDb.open(cas), (e: unknown) => {
      assert.ok(e instanceof RktError);
      assert.equal(e.code, 'ESTORE');
      assert.equal(e.message, `database schema version 99 is newer than this rkt supports (${DB_VERSION})`);
      return true;
    });
  });
});

describe('transactions', () => {
  test('commit, rollback on throw, nested savepoints', async () => {
    const db = await StoreDb.open(freshCas());
    const r = await db.transaction(async (tx) => {
      await tx.upsertAciInfo(aci(key('a')));
      return 42;
    });
    assert.equal(r, 42);
    assert.ok(await db.getAciInfo(key('a')));

    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.upsertAciInfo(aci(key('b')));
        await tx.removeAciInfo(key('a'));
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await db.getAciInfo(key('b')), undefined);
    assert.ok(await db.getAciInfo(key('a')), 'rolled back');

    await db.transaction(async (tx) => {
      await tx.upsertAciInfo(aci(key('c')));
      await assert.rejects(
        tx.transaction(async (inner) => {
          await inner.upsertAciInfo(aci(key('d')));
          throw new Error('inner');
        }),
        /inner/,
      );
      await tx.transaction(async (inner) => inner.upsertAciInfo(aci(key('e'))));
    });
    assert.ok(await db.getAciInfo(key('c')));
    assert.equal(await db.getAciInfo(key('d')), undefined);
    assert.ok(await db.getAciInfo(key('e')));
    await db.close();
  });

  test('the outer handle used inside a transaction joins it instead of deadlocking', async () => {
    const db = await StoreDb.open(freshCas());
    await assert.rejects(
      db.transaction(async () => {
        await db.upsertAciInfo(aci(key('a')));
        assert.ok(await db.getAciInfo(key('a')));
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.equal(await db.getAciInfo(key('a')), undefined);
    await db.close();
  });

  test('calls are serialised within a process: read-modify-write stays exact', async () => {
    const db = await StoreDb.open(freshCas());
    const k = key('c');
    await db.upsertAciInfo(aci(k, { size: 0 }));
    const bump = (): Promise<void> =>
      db.transaction(async (tx) => {
        const cur = (await tx.getAciInfo(k))!;
        await new Promise((r) => setImmediate(r));
        await tx.upsertAciInfo({ ...cur, size: cur.size + 1 });
      });
    const outside: Promise<unknown>[] = [];
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      jobs.push(bump());
      outside.push(db.getAciInfo(k).then((x) => assert.ok(x)));
    }
    await Promise.all([...jobs, ...outside]);
    assert.equal((await db.getAciInfo(k))!.size, 50);
    await db.close();
  });

  test('two connections in one process wait for each other', async () => {
    const cas = freshCas();
    const a = await StoreDb.open(cas);
    const b = await StoreDb.open(cas);
    const k = key('c');
    await a.upsertAciInfo(aci(k, { size: 0 }));
    const bump = (db: StoreDb): Promise<void> =>
      db.transaction(async (tx) => {
        const cur = (await tx.getAciInfo(k))!;
        await new Promise((r) => setTimeout(r, 1));
        await tx.upsertAciInfo({ ...cur, size: cur.size + 1 });
      });
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) jobs.push(bump(a), bump(b));
    await Promise.all(jobs);
    assert.equal((await b.getAciInfo(k))!.size, 40);
    await a.close();
    await b.close();
  });

  test('a closed database refuses work', async () => {
    const db = await StoreDb.open(freshCas());
    await db.close();
    await db.close();
    await assert.rejects(db.listAciInfos(), (e: unknown) => e instanceof RktError && /closed/.test(e.message));
  });
});

describe('concurrency across processes', () => {
  test('10 processes open a fresh store at once and write concurrently', { timeout: 120_000 }, async () => {
    const cas = freshCas();
    const workers = 10;
    const rows = 50;
    const increments = 20;
    const script = path.join(__dirname, 'fixtures', 'db-worker.js');
    const children = Array.from({ length: workers }, (_, i) =>
      fork(script, [cas, String(i), String(rows), String(increments)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] }),
    );
    const stderr: string[] = children.map(() => '');
    children.forEach((c, i) => c.stderr!.on('data', (d: Buffer) => (stderr[i] += d.toString())));
    const exits = children.map((c) => new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code))));
    const nextMessage = (want: string): Promise<void[]> =>
      Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve, reject) => {
              const on = (m: unknown): void => {
                if (m === want) {
                  c.off('message', on);
                  resolve();
                }
              };
              c.on('message', on);
              c.on('exit', (code) => reject(new Error(`worker exited (${code}) before "${want}"`)));
            }),
        ),
      );
    try {
      await nextMessage('started');
      const ready = nextMessage('ready');
      for (const c of children) c.send('open'); // everyone creates the schema at the same moment
      await ready;
      for (const c of children) c.send('go');
      const codes = await Promise.all(exits);
      assert.deepEqual(codes, Array(workers).fill(0), stderr.filter(Boolean).join('\n'));
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill();
    }
    assert.ok(!stderr.join('').includes('SQLITE_BUSY'));

    const db = await StoreDb.open(cas);
    const all = await db.listAciInfos();
    assert.equal(all.length, workers * rows + 2, 'own rows + shared key + counter');
    assert.equal((await db.getAciInfo('sha512-' + 'c'.repeat(64)))!.size, workers * increments, 'no lost update');
    assert.ok(await db.getAciInfo('sha512-' + 'f'.repeat(64)));
    assert.equal((await db.listRemotes()).length, 1);
    assert.equal(await db.schemaVersion(), DB_VERSION);
    await db.close();
    assert.deepEqual(await raw(dbPath(cas), 'SELECT version FROM version'), [{ version: DB_VERSION }], 'schema created once');
  });
});
