/**
 * The image index: rkt's `aciinfo` and `remote` tables (reference §3.3) in SQLite at
 * `<casDir>/db/rkt.sqlite`, through the async `sqlite3` package.
 *
 * Concurrency: several rkt processes share one store. The database runs in WAL mode (readers never
 * block the writer), every connection waits up to 30 s for a lock (`busy_timeout`), and writes that
 * span several statements run in `BEGIN IMMEDIATE` transactions, which take the write lock up front so
 * a transaction never has to upgrade a read lock (the one case SQLite cannot wait out). Schema creation
 * and migration happen inside such a transaction after re-reading the version, so ten processes
 * opening a fresh store at once create it exactly once.
 *
 * Within one process a StoreDb is one connection; its statements are serialised by an async mutex so
 * that nothing unrelated runs inside someone's transaction. Code running inside `transaction(fn)` (the
 * `tx` handle, or the outer handle called from within `fn`) joins that transaction.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import * as path from 'node:path';
import type * as Sqlite3 from 'sqlite3';
import { RktError } from '../errors';
import { native } from '../native';
import { MIGRATIONS } from './db-migrations';
import { isFullKey } from './keys';
import { beginIndexedWrite, endIndexedWrite, writeMissingIndex, type NameEntry } from './name-index';
import { FOLD_AT_BYTES, LAST_USED_FILE, parseLastUsed } from './last-used';
import { FileLock } from './locks';
import { mark } from '../util/timing';

export interface AciInfo {
  /** `sha512-` + 64 hex: the key of the blob and of the stored manifest */
  blobKey: string;
  /** the image manifest's name */
  name: string;
  importTime: Date;
  lastUsed: Date;
  /** fetched by name without a version label (discovery's "latest"), or a docker `latest` tag */
  latest: boolean;
  /** size of the uncompressed tar in the blob store */
  size: number;
  /** size of the rendered tree store(s), 0 when not rendered */
  treeStoreSize: number;
  /** BLAKE3 (64 hex) of the blob's bytes recorded at import; '' when not known */
  blobDigest: string;
}

export interface RemoteRow {
  /** the exact URL fetched (`https://…`, or `docker://<ref as typed>`) */
  aciUrl: string;
  sigUrl: string;
  etag: string;
  blobKey: string;
  /** Cache-Control max-age, seconds */
  cacheMaxAge: number;
  downloadTime: Date;
}

export type AciInfoOrder = 'blobkey' | 'name' | 'importtime' | 'lastused' | 'size' | 'treestoresize';

export interface StoreDbOptions {
  /** Replaces the schema migration list (tests). */
  migrations?: readonly (readonly string[])[];
  /** How long to wait for a lock held by another process, ms (default 30 000). */
  busyTimeoutMs?: number;
  /** WAL frames past which the last-used write empties the WAL (default WAL_TRUNCATE_FRAMES; tests). */
  walTruncateFrames?: number;
}

export const DB_DIR = 'db';
export const DB_FILE = 'rkt.sqlite';

/** `<casDir>/db/rkt.sqlite` */
export function dbPath(casDir: string): string {
  return path.join(casDir, DB_DIR, DB_FILE);
}

interface AciRow {
  blobkey: string;
  name: string;
  importtime: number;
  lastused: number;
  latest: number;
  size: number;
  treestoresize: number;
  blobdigest: string;
}

interface RemoteDbRow {
  aciurl: string;
  sigurl: string;
  etag: string;
  blobkey: string;
  cachemaxage: number;
  downloadtime: number;
}

/** A transaction in progress on a connection; `active` turns false when it ends. */
interface TxState {
  conn: Connection;
  active: boolean;
}

/**
 * Created by the first transaction: loading async_hooks and turning on its promise tracking costs a
 * few ms, which read-only commands (`rkt run` of a stored image) need not pay.
 */
let txContext: AsyncLocalStorage<TxState> | undefined;
function txContextStore(): AsyncLocalStorage<TxState> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  txContext ??= new (require('node:async_hooks') as typeof import('node:async_hooks')).AsyncLocalStorage<TxState>();
  return txContext;
}

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn);
    this.tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }
}

class Connection {
  readonly mutex = new Mutex();
  closed = false;
  savepoints = 0;
  constructor(
    readonly db: Sqlite3.Database,
    readonly file: string,
    readonly busyTimeoutMs: number,
    readonly walTruncateFrames = WAL_TRUNCATE_FRAMES,
    /** rkt's schema: writes keep the name index and opens fold the last-used log (not test schemas) */
    readonly indexed = true,
  ) {}

  get dir(): string {
    return path.dirname(this.file);
  }

  run(sql: string, params: unknown[] = []): Promise<{ changes: number }> {
    return this.retryBusy(
      () =>
        new Promise((resolve, reject) => {
          this.db.run(sql, params, function (this: Sqlite3.RunResult, err: Error | null) {
            if (err) reject(err);
            else resolve({ changes: this.changes });
          });
        }),
    );
  }

  get<T>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return this.retryBusy(
      () =>
        new Promise((resolve, reject) => {
          this.db.get(sql, params, (err: Error | null, row: T) => (err ? reject(err) : resolve(row)));
        }),
    );
  }

  /** Several statements in one round trip to the sqlite3 thread, no parameters, no rows. */
  exec(sql: string): Promise<void> {
    return this.retryBusy(() => new Promise((resolve, reject) => this.db.exec(sql, (err: Error | null) => (err ? reject(err) : resolve()))));
  }

  all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.retryBusy(
      () =>
        new Promise((resolve, reject) => {
          this.db.all(sql, params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows)));
        }),
    );
  }

  /**
   * A statement prepared once for the connection's life. db.all() prepares on the sqlite3 thread,
   * comes back to this one, then goes out again to step: a kept statement makes each later call
   * one round trip, and one prepared ahead (prepareAhead) makes even the first one so.
   */
  private readonly statements = new Map<string, Promise<Sqlite3.Statement>>();

  private statement(sql: string): Promise<Sqlite3.Statement> {
    let s = this.statements.get(sql);
    if (!s) {
      s = new Promise((resolve, reject) => {
        const st: Sqlite3.Statement = this.db.prepare(sql, (err: Error | null) => (err ? reject(err) : resolve(st)));
      });
      this.statements.set(sql, s);
      // a failed prepare (a table not made yet, a busy schema) is tried again by the next caller
      s.catch(() => this.statements.delete(sql));
    }
    return s;
  }

  /** Starts preparing `sql` now, on the sqlite3 thread; a failure waits for the statement's first use. */
  prepareAhead(sql: string): void {
    this.statement(sql).catch(() => undefined);
  }

  /** all() through the kept statement for `sql`. */
  allPrepared<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.retryBusy(async () => {
      const st = await this.statement(sql);
      return new Promise<T[]>((resolve, reject) => st.all(params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows))));
    });
  }

  /** Finalizes the kept statements: SQLite will not close a connection that still has some. */
  async finalizeStatements(): Promise<void> {
    const all = [...this.statements.values()];
    this.statements.clear();
    for (const s of all) {
      const st = await s.catch(() => undefined);
      if (st) await new Promise<void>((resolve) => st.finalize(() => resolve()));
    }
  }

  /**
   * SQLite's busy handler already waits `busy_timeout` for most locks; a few paths (WAL recovery,
   * journal-mode changes on a brand-new file) report SQLITE_BUSY at once. Every statement we retry is
   * either a read, a single autocommit write, or a BEGIN — all of which leave nothing behind on BUSY.
   */
  async retryBusy<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let delay = 5;
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (!isBusy(e) || Date.now() >= deadline) throw e;
        await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
        delay = Math.min(delay * 2, 200);
      }
    }
  }
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

function dbError(what: string, e: unknown): RktError {
  if (e instanceof RktError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new RktError('ESTORE', `${what}: ${msg}`, { cause: e });
}

/**
 * `rkt run` never closes the store (it execs stage1), so its last-used write stays in the WAL, and
 * SQLite's own ways of keeping the WAL short do not apply: the connection that closes last
 * checkpoints and deletes it, but none closes; a checkpoint lets the log start over only at a later
 * write of the same connection, but a run makes one write. And every command is its store's first
 * connection, which rebuilds the WAL index by reading every frame: the WAL of a store used only by
 * `rkt run` grew by a frame per run and each run read all of it (3 MiB after 750 runs), and past
 * 1000 frames each run paid a full checkpoint as well. So once the WAL holds more frames than
 * this, the last-used write checkpoints it and empties the file (one run in 64 pays two fsyncs).
 */
export const WAL_TRUNCATE_FRAMES = 64;
const WAL_FRAME_BYTES = 24 + 4096;

function openDatabase(sqlite: typeof Sqlite3, file: string): Promise<Sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db: Sqlite3.Database = new sqlite.Database(file, sqlite.OPEN_READWRITE | sqlite.OPEN_CREATE, (err) =>
      err ? reject(err) : resolve(db),
    );
  });
}

function toAciInfo(r: AciRow): AciInfo {
  return {
    blobKey: r.blobkey,
    name: r.name,
    importTime: new Date(r.importtime),
    lastUsed: new Date(r.lastused),
    latest: r.latest !== 0,
    size: r.size,
    treeStoreSize: r.treestoresize,
    blobDigest: r.blobdigest,
  };
}

function toRemote(r: RemoteDbRow): RemoteRow {
  return {
    aciUrl: r.aciurl,
    sigUrl: r.sigurl,
    etag: r.etag,
    blobKey: r.blobkey,
    cacheMaxAge: r.cachemaxage,
    downloadTime: new Date(r.downloadtime),
  };
}

function ms(d: Date): number {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new RktError('EINTERNAL', 'invalid date');
  return t;
}

/** Escapes `\`, `%` and `_` for `LIKE … ESCAPE '\'`. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

const ACI_COLUMNS = 'blobkey, name, importtime, lastused, latest, size, treestoresize, blobdigest';
/** The lookup every command that names an image makes (stage1's and each app's, for `rkt run`). */
const BY_NAME_SQL = `SELECT ${ACI_COLUMNS} FROM aciinfo WHERE name = ? ORDER BY importtime ASC, rowid ASC`;
const REMOTE_COLUMNS = 'aciurl, sigurl, etag, blobkey, cachemaxage, downloadtime';

export class StoreDb {
  private constructor(
    private readonly conn: Connection,
    /** set on the handle passed to a transaction callback */
    private readonly tx?: TxState,
  ) {}

  /** Opens (creating and migrating as needed) `<casDir>/db/rkt.sqlite`. */
  static async open(casDir: string, opts: StoreDbOptions = {}): Promise<StoreDb> {
    const migrations = opts.migrations ?? MIGRATIONS;
    const busyTimeoutMs = opts.busyTimeoutMs ?? 30_000;
    const file = dbPath(casDir);
    mark('db-open'); // the e2e tests see from it whether `rkt run` opened the database
    let sqlite: typeof Sqlite3;
    try {
      native.createDirs([path.dirname(file)], 0o777);
      // loaded here so that commands which never touch the store never load the native module
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      sqlite = require('sqlite3') as typeof Sqlite3;
    } catch (e) {
      throw dbError(`cannot open image database ${file}`, e);
    }
    let db: Sqlite3.Database;
    try {
      db = await openDatabase(sqlite, file);
    } catch (e) {
      throw dbError(`cannot open image database ${file}`, e);
    }
    const conn = new Connection(db, file, busyTimeoutMs, opts.walTruncateFrames, migrations === MIGRATIONS);
    const store = new StoreDb(conn);
    try {
      db.configure('busyTimeout', busyTimeoutMs);
      // Every command opens the store: one round trip reads the schema version and whether the
      // connection already has the settings below (WAL is kept in the file, and FULL is SQLite's
      // default); a new file (no version table) or other settings take the long way.
      const state = await conn
        .get<{ version: number | null; jm: string; sync: number }>(
          'SELECT (SELECT max(version) FROM version) AS version, (SELECT journal_mode FROM pragma_journal_mode) AS jm, (SELECT synchronous FROM pragma_synchronous) AS sync',
        )
        .catch(() => undefined);
      if (state?.jm !== 'wal' || state.sync !== 2) await conn.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
      await store.migrate(migrations, state?.version ?? undefined);
      // prepared while the caller goes on: its first name lookup is then one round trip
      if (conn.indexed) {
        conn.prepareAhead(BY_NAME_SQL);
        await writeMissingIndex(conn.dir, () => store.nameEntries());
        // best effort: a store this user may read but not write still opens
        await store.foldLastUsed(0).catch(() => undefined);
      }
    } catch (e) {
      await store.close().catch(() => undefined);
      throw dbError(`cannot open image database ${file}`, e);
    }
    return store;
  }

  /** The schema version stored in the database (0 for a fresh file). */
  async schemaVersion(): Promise<number> {
    return this.op(() => this.readVersion());
  }

  private async readVersion(): Promise<number> {
    const t = await this.conn.get<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'version'",
    );
    if (t === undefined) return 0;
    const row = await this.conn.get<{ version: number }>('SELECT max(version) AS version FROM version');
    return row?.version ?? 0;
  }

  /** `known`: the version the caller just read, if it did. */
  private async migrate(migrations: readonly (readonly string[])[], known?: number): Promise<void> {
    const target = migrations.length;
    const tooNew = (v: number): RktError =>
      new RktError('ESTORE', `database schema version ${v} is newer than this rkt supports (${target})`);
    // fast path, one statement and no write lock: already current (no table yet reads as 0)
    const seen = known ?? await this.conn.get<{ version: number | null }>('SELECT max(version) AS version FROM version').then(
      (r) => r?.version ?? 0,
      (e: unknown) => {
        if (/no such table/.test((e as Error)?.message ?? '')) return 0;
        throw e;
      },
    );
    if (seen === target) return;
    if (seen > target) throw tooNew(seen);
    await this.transaction(async () => {
      // re-read under the write lock: another process may have migrated meanwhile
      await this.conn.run('CREATE TABLE IF NOT EXISTS version (version INTEGER NOT NULL)');
      const row = await this.conn.get<{ n: number; version: number | null }>(
        'SELECT count(*) AS n, max(version) AS version FROM version',
      );
      const current = row?.version ?? 0;
      if (current > target) throw tooNew(current);
      for (let v = current; v < target; v++) {
        for (const stmt of migrations[v]) await this.conn.run(stmt);
      }
      if ((row?.n ?? 0) === 0) await this.conn.run('INSERT INTO version (version) VALUES (?)', [target]);
      else await this.conn.run('UPDATE version SET version = ?', [target]);
    });
  }

  /** Closes the connection after pending operations finish. */
  async close(): Promise<void> {
    if (this.tx) throw new RktError('EINTERNAL', 'cannot close the database inside a transaction');
    await this.conn.mutex.run(async () => {
      if (this.conn.closed) return;
      this.conn.closed = true;
      await this.conn.finalizeStatements();
      await new Promise<void>((resolve, reject) => this.conn.db.close((err) => (err ? reject(err) : resolve())));
    });
  }

  /** The transaction this call runs in, if any (own handle, or the async context of a callback). */
  private activeTx(): TxState | undefined {
    if (this.tx?.active) return this.tx;
    const ctx = txContext?.getStore();
    if (ctx && ctx.active && ctx.conn === this.conn) return ctx;
    return undefined;
  }

  /** Runs `fn` exclusively on the connection (or directly when inside a transaction). */
  private op<T>(fn: () => Promise<T>, what = 'database error'): Promise<T> {
    const wrapped = async (): Promise<T> => {
      if (this.conn.closed) throw new RktError('EINTERNAL', 'image database is closed');
      try {
        return await fn();
      } catch (e) {
        throw dbError(what, e);
      }
    };
    return this.activeTx() ? wrapped() : this.conn.mutex.run(wrapped);
  }

  /**
   * Runs `fn` in a write transaction (`BEGIN IMMEDIATE` … `COMMIT`, `ROLLBACK` if it throws). Calls
   * are serialised within the process; across processes SQLite's lock (with busy_timeout) does it.
   * Nested calls use a savepoint. Inside `fn`, use `tx` (the outer handle joins the transaction too).
   */
  transaction<T>(fn: (tx: StoreDb) => Promise<T>, opts: { names?: boolean } = {}): Promise<T> {
    const outer = this.activeTx();
    if (outer) return this.savepoint(outer, fn);
    return this.conn.mutex.run(async () => {
      if (this.conn.closed) throw new RktError('EINTERNAL', 'image database is closed');
      // name-index.ts: the index goes before the transaction begins and comes back after it ends,
      // unless the caller knows it changes no name, key, import time or latest flag
      if (!this.conn.indexed || opts.names === false) return this.runTransaction(fn);
      let lock: FileLock;
      try {
        lock = await beginIndexedWrite(this.conn.dir);
      } catch (e) {
        throw dbError('cannot remove the name index before a write', e);
      }
      try {
        return await this.runTransaction(fn);
      } finally {
        await endIndexedWrite(this.conn.dir, lock, () => this.readNameEntries());
      }
    });
  }

  /** BEGIN IMMEDIATE, `fn`, COMMIT (ROLLBACK if anything fails); the caller holds the mutex. */
  private async runTransaction<T>(fn: (tx: StoreDb) => Promise<T>): Promise<T> {
    try {
      await this.conn.run('BEGIN IMMEDIATE');
    } catch (e) {
      throw dbError('cannot start a database transaction', e);
    }
    const state: TxState = { conn: this.conn, active: true };
    const tx = new StoreDb(this.conn, state);
    let result: T;
    try {
      result = await txContextStore().run(state, () => fn(tx));
    } catch (e) {
      state.active = false;
      await this.rawRun('ROLLBACK').catch(() => undefined);
      throw e;
    }
    state.active = false;
    try {
      await this.rawRun('COMMIT');
    } catch (e) {
      await this.rawRun('ROLLBACK').catch(() => undefined);
      throw dbError('cannot commit a database transaction', e);
    }
    return result;
  }

  private async readNameEntries(): Promise<NameEntry[]> {
    const rows = await this.conn.all<{ blobkey: string; name: string; importtime: number; latest: number }>(
      'SELECT blobkey, name, importtime, latest FROM aciinfo ORDER BY importtime ASC, rowid ASC',
    );
    return rows.map((r) => ({ blobKey: r.blobkey, name: r.name, importTime: new Date(r.importtime), latest: r.latest !== 0 }));
  }

  /** What the name index holds, read now (outside a transaction: its own turn on the connection). */
  nameEntries(): Promise<NameEntry[]> {
    return this.op(() => this.readNameEntries(), 'cannot read image info');
  }

  /**
   * Folds the last-used log (last-used.ts) into aciinfo and empties it, when it holds more than
   * `atBytes`. The log's flock, taken exclusive, keeps appends out from the read to the truncate.
   * It is taken inside the transaction, once SQLite's write lock is held: an append never waits
   * for the database, so nobody holds the log's lock while waiting for a busy database.
   */
  async foldLastUsed(atBytes = FOLD_AT_BYTES): Promise<void> {
    if (!this.conn.indexed) return;
    const dir = this.conn.dir;
    const file = path.join(dir, LAST_USED_FILE);
    if ((native.stat(file)?.size ?? 0) <= atBytes) return;
    let lock: FileLock | undefined;
    try {
      await this.transaction(
        async (tx) => {
          lock = await FileLock.key(dir, LAST_USED_FILE, true);
          const uses = parseLastUsed(native.readFile(file).toString('latin1'));
          for (const [key, t] of uses) await tx.conn.run('UPDATE aciinfo SET lastused = max(lastused, ?) WHERE blobkey = ?', [t, key]);
        },
        { names: false },
      );
      // emptied once committed: a crash before this only folds the same uses again
      native.writeFile(file, '', 0o640);
    } catch (e) {
      throw dbError('cannot fold the last-used log', e);
    } finally {
      lock?.release();
    }
  }

  private async savepoint<T>(state: TxState, fn: (tx: StoreDb) => Promise<T>): Promise<T> {
    const name = `sp${++this.conn.savepoints}`;
    await this.conn.run(`SAVEPOINT ${name}`);
    const tx = new StoreDb(this.conn, state);
    try {
      const r = await fn(tx);
      await this.conn.run(`RELEASE ${name}`);
      return r;
    } catch (e) {
      await this.conn.run(`ROLLBACK TO ${name}`).catch(() => undefined);
      await this.conn.run(`RELEASE ${name}`).catch(() => undefined);
      throw e;
    }
  }

  /** COMMIT/ROLLBACK without the busy retry (COMMIT is not safely repeatable after a partial failure). */
  private rawRun(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.conn.db.run(sql, (err: Error | null) => (err ? reject(err) : resolve())));
  }

  /** Runs `fn` in the current transaction, or in a new one. */
  private write<T>(fn: (tx: StoreDb) => Promise<T>): Promise<T> {
    return this.activeTx() ? fn(this) : this.transaction(fn);
  }

  // ----------------------------------------------------------------------------------- aciinfo

  getAciInfo(key: string): Promise<AciInfo | undefined> {
    return this.op(async () => {
      const r = await this.conn.get<AciRow>(`SELECT ${ACI_COLUMNS} FROM aciinfo WHERE blobkey = ?`, [key]);
      return r === undefined ? undefined : toAciInfo(r);
    }, 'cannot read image info');
  }

  /** All images; by import time (then key) unless another order is asked for. */
  listAciInfos(opts: { orderBy?: AciInfoOrder; descending?: boolean } = {}): Promise<AciInfo[]> {
    const col = opts.orderBy ?? 'importtime';
    if (!['blobkey', 'name', 'importtime', 'lastused', 'size', 'treestoresize'].includes(col)) {
      return Promise.reject(new RktError('EINTERNAL', `bad sort column ${col}`));
    }
    const dir = opts.descending ? 'DESC' : 'ASC';
    return this.op(async () => {
      const rows = await this.conn.all<AciRow>(`SELECT ${ACI_COLUMNS} FROM aciinfo ORDER BY ${col} ${dir}, blobkey ${dir}`);
      return rows.map(toAciInfo);
    }, 'cannot list images');
  }

  /** All images with this manifest name, oldest import first. */
  getAciInfosByName(name: string): Promise<AciInfo[]> {
    return this.op(async () => {
      const rows = await this.conn.allPrepared<AciRow>(BY_NAME_SQL, [name]);
      return rows.map(toAciInfo);
    }, 'cannot read image info');
  }

  /** Keys starting with `prefix` (case-sensitive; `%` and `_` in it are literal), sorted. */
  findKeysByPrefix(prefix: string): Promise<string[]> {
    return this.op(async () => {
      const rows = await this.conn.all<{ blobkey: string }>(
        "SELECT blobkey FROM aciinfo WHERE blobkey LIKE ? ESCAPE '\\' AND substr(blobkey, 1, length(?)) = ? ORDER BY blobkey",
        [escapeLike(prefix) + '%', prefix, prefix],
      );
      return rows.map((r) => r.blobkey);
    }, 'cannot read image info');
  }

  /** Records the BLAKE3 of a blob's bytes, taken in the pass that checked them against the key. */
  setBlobDigest(key: string, digest: string): Promise<void> {
    return this.op(async () => {
      await this.conn.run('UPDATE aciinfo SET blobdigest = ? WHERE blobkey = ?', [digest, key]);
    }, 'cannot write image info');
  }

  /** Inserts the row, or replaces every column of the row with the same key. */
  upsertAciInfo(info: AciInfo): Promise<void> {
    return this.write((tx) => tx.op(async () => {
      await tx.conn.run(
        `INSERT INTO aciinfo (${ACI_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (blobkey) DO UPDATE SET name = excluded.name, importtime = excluded.importtime,
           lastused = excluded.lastused, latest = excluded.latest, size = excluded.size,
           treestoresize = excluded.treestoresize, blobdigest = excluded.blobdigest`,
        [
          info.blobKey,
          info.name,
          ms(info.importTime),
          ms(info.lastUsed),
          info.latest ? 1 : 0,
          info.size,
          info.treeStoreSize,
          info.blobDigest,
        ],
      );
    }, 'cannot write image info'));
  }

  /** Deletes the image row and every remote row pointing at it; false if there was no such image. */
  removeAciInfo(key: string): Promise<boolean> {
    return this.write((tx) =>
      tx.op(async () => {
        const r = await tx.conn.run('DELETE FROM aciinfo WHERE blobkey = ?', [key]);
        if (r.changes === 0) return false;
        await tx.conn.run('DELETE FROM remote WHERE blobkey = ?', [key]);
        return true;
      }, 'cannot remove image info'),
    );
  }

  setTreeStoreSize(key: string, size: number): Promise<void> {
    return this.op(async () => {
      await this.conn.run('UPDATE aciinfo SET treestoresize = ? WHERE blobkey = ?', [size, key]);
    }, 'cannot write image info');
  }

  /** Frames in the WAL file, valid or not (0 when it does not exist). */
  private walFrames(): number {
    try {
      return Math.floor((native.stat(`${this.conn.file}-wal`)?.size ?? 0) / WAL_FRAME_BYTES);
    } catch {
      return 0;
    }
  }

  /**
   * Checkpoints the whole WAL into the database and empties it (see WAL_TRUNCATE_FRAMES). Never
   * waits: with another connection reading or writing it gives up, and a later run tries again.
   */
  private async truncateWal(): Promise<void> {
    this.conn.db.configure('busyTimeout', 0);
    try {
      // not conn.get: that one retries while busy
      await new Promise<void>((resolve, reject) => this.conn.db.get('PRAGMA wal_checkpoint(TRUNCATE)', (err: Error | null) => (err ? reject(err) : resolve())));
    } catch {
      /* busy: next time */
    } finally {
      this.conn.db.configure('busyTimeout', this.conn.busyTimeoutMs);
    }
  }

  /**
   * `lastused` only orders `image gc`, so this write does not wait for an fsync of the WAL (every
   * `rkt run` makes one): a power cut may lose it, never corrupt anything (WAL with
   * synchronous=NORMAL). Inside a transaction it is part of that transaction, durable with it.
   */
  touchLastUsed(key: string, when: Date = new Date()): Promise<void> {
    const inTx = this.activeTx() !== undefined;
    return this.op(async () => {
      if (inTx) {
        await this.conn.run('UPDATE aciinfo SET lastused = ? WHERE blobkey = ?', [ms(when), key]);
        return;
      }
      // One round trip to the sqlite3 thread rather than three (rkt run waits for it before its
      // exec), so exec() and literal values: the key is checked to be a store key, the time is an
      // integer. exec() stops at a failing statement, so synchronous is put back on its own then.
      if (!isFullKey(key)) throw new RktError('EINTERNAL', `not a store key: ${JSON.stringify(key)}`);
      try {
        await this.conn.exec(`PRAGMA synchronous = NORMAL; UPDATE aciinfo SET lastused = ${ms(when)} WHERE blobkey = '${key}'; PRAGMA synchronous = FULL`);
      } catch (e) {
        await this.conn.run('PRAGMA synchronous = FULL').catch(() => undefined);
        throw e;
      }
      if (this.walFrames() > this.conn.walTruncateFrames) await this.truncateWal();
    }, 'cannot write image info');
  }

  // ------------------------------------------------------------------------------------ remote

  getRemote(aciUrl: string): Promise<RemoteRow | undefined> {
    return this.op(async () => {
      const r = await this.conn.get<RemoteDbRow>(`SELECT ${REMOTE_COLUMNS} FROM remote WHERE aciurl = ?`, [aciUrl]);
      return r === undefined ? undefined : toRemote(r);
    }, 'cannot read remote info');
  }

  /** All remote rows, by URL. */
  listRemotes(): Promise<RemoteRow[]> {
    return this.op(async () => {
      const rows = await this.conn.all<RemoteDbRow>(`SELECT ${REMOTE_COLUMNS} FROM remote ORDER BY aciurl`);
      return rows.map(toRemote);
    }, 'cannot read remote info');
  }

  upsertRemote(r: RemoteRow): Promise<void> {
    return this.op(async () => {
      await this.conn.run(
        `INSERT INTO remote (${REMOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (aciurl) DO UPDATE SET sigurl = excluded.sigurl, etag = excluded.etag,
           blobkey = excluded.blobkey, cachemaxage = excluded.cachemaxage, downloadtime = excluded.downloadtime`,
        [r.aciUrl, r.sigUrl, r.etag, r.blobKey, r.cacheMaxAge, ms(r.downloadTime)],
      );
    }, 'cannot write remote info');
  }
}
