/**
 * The image store (rkt's imagestore): blobs keyed by the SHA-512 of the uncompressed tar, a manifest
 * copy per blob, and the SQLite index. Heavy bytes go through the addon; this module orders the
 * steps so that a crash at any point leaves either nothing or a complete image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { under } from '../util/paths';
import { RktError } from '../errors';
import { native, type ImportResult, type ImportStream, type SourceCopy, type StreamedTree } from '../native';
import { parseImageManifest, type ImageManifest } from '../schema/image-manifest';
import { parseAppString } from '../discovery/app-string';
import { DB_FILE, StoreDb, type AciInfo } from './db';
import { resolveKeyPrefix, selectByNameAndLabels } from './keys';
import { DataLayout } from './layout';
import { FileLock, withKeyLock, writeFileDurable } from './locks';
import { NameIndex } from './name-index';
import { FOLD_AT_BYTES, appendLastUsed } from './last-used';

export interface ImportOptions {
  /** true when the image was fetched by name without a version (rkt's aciinfo.latest). */
  latest?: boolean;
  /**
   * Runs after the manifest is read and before anything is committed (signature and name checks of
   * fetched images): a throw leaves no blob, no row and no temp file.
   */
  check?: (manifest: ImageManifest) => Promise<void> | void;
  /**
   * Render the image's tree in the same pass as the import, for TreeStore.render to take over when
   * the image needs nothing else (no dependencies, no pathWhitelist); otherwise it is dropped.
   */
  render?: boolean;
}

export interface ImportedImage {
  key: string;
  manifest: ImageManifest;
  size: number;
}

export class ImageStore {
  /** Blobs this process hashed itself while storing them (see hashedHere). */
  private readonly hashed = new Set<string>();
  /** Trees rendered during imports, waiting for TreeStore.render (see takeStreamedTree). */
  private readonly streamedTrees = new Map<string, StreamedTree>();
  /**
   * Manifest bytes read by this process, by image key. A key names its image's content, manifest
   * included, so the bytes can never differ; `rkt run` would otherwise read each of its images'
   * manifests four or five times (name lookup, dependencies, pod manifest, tree, the pod's copy).
   */
  private readonly manifests = new Map<string, Buffer>();
  private added = 0;
  private opened: StoreDb | undefined;
  private opening: Promise<StoreDb> | undefined;

  private constructor(
    readonly layout: DataLayout,
    private readonly casLock: FileLock,
    db: StoreDb | undefined,
    /** name lookups until the database is open (name-index.ts) */
    private names: NameIndex | undefined,
  ) {
    this.opened = db;
  }

  /**
   * Opens the store under `dataDir` if its database already exists, else undefined: `rkt run`
   * starts this before all its flags are checked, and a bad flag must not leave a new store behind.
   * With a name index, the database itself opens only when something needs more than lookups by
   * name and manifests (database()): `rkt run NAME` of stored images never loads sqlite3.
   */
  static openIfPresent(dataDir: string): Promise<ImageStore> | undefined {
    const layout = new DataLayout(dataDir);
    return native.exists(under(layout.dbDir, DB_FILE)) ? ImageStore.open(dataDir, true) : undefined;
  }

  /** Whether openIfPresent would find a name index (and so not load sqlite3 to open the store). */
  static hasNameIndex(dataDir: string): boolean {
    return NameIndex.present(new DataLayout(dataDir).dbDir);
  }

  /**
   * Opens (creating if needed) the store under `dataDir`; holds a shared lock on cas/ while open.
   * `lazy`: the database waits for database() when the name index can be read.
   */
  static async open(dataDir: string, lazy = false): Promise<ImageStore> {
    const layout = new DataLayout(dataDir);
    try {
      // one native call: from here on every command needs the addon anyway
      native.createDirs([layout.casDir, layout.casTmpDir, layout.dbDir, layout.imageLocksDir, layout.treeDir, layout.treeLocksDir, layout.locksDir, layout.tmpDir], 0o2750);
    } catch (e) {
      throw new RktError('EIO', `cannot create the data directory ${dataDir}: ${(e as Error).message}`);
    }
    const casLock = await FileLock.dir(layout.casDir, false);
    try {
      const names = lazy ? NameIndex.read(layout.dbDir) : undefined;
      if (names) return new ImageStore(layout, casLock, undefined, names);
      const db = await StoreDb.open(layout.casDir);
      return new ImageStore(layout, casLock, db, undefined);
    } catch (e) {
      casLock.release();
      throw e;
    }
  }

  /** The image database, opened now if the store was opened on its name index. */
  database(): Promise<StoreDb> {
    if (this.opened) return Promise.resolve(this.opened);
    this.opening ??= StoreDb.open(this.layout.casDir).then((db) => {
      this.opened = db;
      // from now on lookups see what this process writes
      this.names = undefined;
      return db;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    for (const t of this.streamedTrees.values()) fs.rmSync(t.dir, { recursive: true, force: true });
    this.streamedTrees.clear();
    try {
      const db = this.opened ?? (await this.opening?.catch(() => undefined));
      await db?.close();
    } finally {
      this.casLock.release();
    }
  }

  blobPath(key: string): string {
    return this.layout.blobPath(key);
  }

  /**
   * Whether this process wrote the blob of `key` from bytes it hashed to that key, so a render
   * right after the import need not hash the blob again.
   */
  hashedHere(key: string): boolean {
    return this.hashed.has(key);
  }

  /**
   * Imports a local ACI file: one streaming pass in Rust to a temp file, manifest validation here,
   * then blob rename, manifest file and index row under the image's key lock.
   */
  async importFile(file: string, opts: ImportOptions = {}): Promise<ImportedImage> {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new RktError('ENOTFOUND', `image file ${file} does not exist`);
      throw new RktError('EIO', `cannot read image file ${file}: ${(e as Error).message}`);
    }
    if (!st.isFile()) throw new RktError('EIMAGE_FORMAT', `${file} is not a regular file`);
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (e) {
      throw new RktError('EIO', `cannot read image file ${file}: ${(e as Error).message}`);
    }
    const imported = await native.importAci(file, this.layout.casTmpDir, opts.render ?? false);
    return this.finishImport(imported, opts);
  }

  /**
   * An import fed by the caller, chunk by chunk (a download as it arrives); its result goes to
   * finishImport. Whoever starts one must finish or abort it.
   */
  startImport(render: boolean, copy?: SourceCopy): ImportStream {
    // A streamed import lives as long as its download: one killed with it leaves its temp files,
    // which the next one clears (as gc would).
    this.sweepDeadImports();
    return native.startImport(this.layout.casTmpDir, render, copy);
  }

  /** Removes import temp files and trees of processes that are gone. */
  private sweepDeadImports(): number {
    let n = 0;
    for (const name of safeReaddir(this.layout.casTmpDir)) {
      const m = /^(?:import|render)-(\d+)-/.exec(name);
      if (!m || processAlive(Number(m[1]))) continue;
      fs.rmSync(path.join(this.layout.casTmpDir, name), { force: true, recursive: true });
      n++;
    }
    return n;
  }

  /** Removes what an import produced (its temp blob and tree) when it is not to be committed. */
  discardImport(imported: ImportResult): void {
    fs.rmSync(imported.tmpPath, { force: true });
    if (imported.tree) fs.rmSync(imported.tree.dir, { recursive: true, force: true });
  }

  /** Validates (opts.check) and commits what an import produced; nothing is left if that fails. */
  async finishImport(imported: ImportResult, opts: ImportOptions = {}): Promise<ImportedImage> {
    const dropTree = () => {
      if (imported.tree) fs.rmSync(imported.tree.dir, { recursive: true, force: true });
    };
    let manifest: ImageManifest;
    let done: ImportedImage;
    try {
      try {
        manifest = parseImageManifest(imported.manifest);
        if (opts.check) await opts.check(manifest);
      } catch (e) {
        fs.rmSync(imported.tmpPath, { force: true });
        throw e;
      }
      done = await this.importBuilt(imported, manifest, opts);
    } catch (e) {
      dropTree();
      throw e;
    }
    // Rendered alone, the tree is the tree store's only if nothing else goes into it.
    const standalone = !(manifest.dependencies ?? []).length && !(manifest.pathWhitelist ?? []).length;
    if (imported.tree && standalone) {
      const old = this.streamedTrees.get(done.key);
      if (old) fs.rmSync(old.dir, { recursive: true, force: true });
      this.streamedTrees.set(done.key, imported.tree);
    } else dropTree();
    return done;
  }

  /** The tree rendered while `key` was imported by this process, if any (now the caller's). */
  takeStreamedTree(key: string): StreamedTree | undefined {
    const t = this.streamedTrees.get(key);
    this.streamedTrees.delete(key);
    return t;
  }

  /**
   * Commits a hashed temp blob (under casTmpDir, fsynced) and its validated manifest: blob rename,
   * manifest file and index row under the image's key lock. importFile ends here, and so do images
   * built here (converted Docker/OCI images). The temp file is gone afterwards either way.
   */
  async importBuilt(built: { tmpPath: string; key: string; size: number; blobDigest?: string }, manifest: ImageManifest, opts: ImportOptions = {}): Promise<ImportedImage> {
    const { key } = built;
    let isNew = false;
    try {
      await withKeyLock(this.layout.imageLocksDir, key, true, async () => {
        native.commitBlob(built.tmpPath, this.layout.blobPath(key));
        this.hashed.add(key);
        writeFileDurable(this.layout.manifestPath(key), JSON.stringify(manifest), 0o660);
        const now = new Date();
        await (await this.database()).transaction(async (tx) => {
          const prev = await tx.getAciInfo(key);
          isNew = prev === undefined;
          await tx.upsertAciInfo({
            blobKey: key,
            name: manifest.name,
            importTime: now,
            lastUsed: now,
            latest: opts.latest ?? false,
            size: built.size,
            treeStoreSize: prev?.treeStoreSize ?? 0,
            blobDigest: built.blobDigest ?? '',
          });
        });
      });
    } finally {
      fs.rmSync(built.tmpPath, { force: true });
    }
    if (isNew) this.added++;
    return { key, manifest, size: built.size };
  }

  /** How many images this process has added to the store (imports of a key it already had not counted). */
  get imagesAdded(): number {
    return this.added;
  }

  /** An image argument of the `image` subcommands: a key prefix, else a name[:version][,labels]. */
  async resolve(arg: string): Promise<string> {
    if (arg.startsWith('sha512-')) return resolveKeyPrefix(await this.database(), arg);
    const ref = parseAppString(arg);
    return this.getByName(ref.name, ref.labels);
  }

  async resolveKey(prefix: string): Promise<string> {
    return resolveKeyPrefix(await this.database(), prefix);
  }

  /** rkt's GetACI: every requested label must match; latest preferred when no version asked. */
  async getByName(name: string, labels: Map<string, string>): Promise<string> {
    const infos = this.names?.byName(name) ?? (await (await this.database()).getAciInfosByName(name));
    const candidates = [];
    for (const info of infos) {
      const m = this.readManifest(info.blobKey);
      candidates.push({ info, labels: new Map((m.labels ?? []).map((l) => [l.name, l.value])) });
    }
    return selectByNameAndLabels(candidates, labels, name).blobKey;
  }

  /** The manifest's bytes as stored; the Buffer is shared, callers must not change it. */
  readManifestRaw(key: string): Buffer {
    let raw = this.manifests.get(key);
    if (raw) return raw;
    try {
      raw = native.readFile(this.layout.manifestPath(key));
    } catch (e) {
      throw new RktError('ESTORE', `cannot read the manifest of image ${key}: ${(e as Error).message}`);
    }
    this.manifests.set(key, raw);
    return raw;
  }

  readManifest(key: string): ImageManifest {
    return JSON.parse(this.readManifestRaw(key).toString('utf8')) as ImageManifest;
  }

  async info(key: string): Promise<AciInfo> {
    const info = await (await this.database()).getAciInfo(key);
    if (!info) throw new RktError('ENOTFOUND', `cannot find image with key: ${key}`);
    return info;
  }

  async list(): Promise<AciInfo[]> {
    return (await this.database()).listAciInfos();
  }

  /**
   * Records a use of the image in the last-used log (last-used.ts), not in the database: `rkt run`
   * then need not open it. A log grown long is folded in by whoever made it so.
   */
  async touch(key: string): Promise<void> {
    if (appendLastUsed(this.layout.dbDir, [key], new Date()) > FOLD_AT_BYTES) await (await this.database()).foldLastUsed();
  }

  /**
   * rkt's RemoveACI: the index row (and remotes) go in one transaction, then the files. Returns
   * false when the row went but some files could not be removed.
   */
  async remove(key: string): Promise<boolean> {
    return withKeyLock(this.layout.imageLocksDir, key, true, async () => {
      const removed = await (await this.database()).transaction((tx) => tx.removeAciInfo(key));
      if (!removed) throw new RktError('ENOTFOUND', `cannot find image with key: ${key}`);
      this.manifests.delete(key);
      let clean = true;
      for (const p of [this.layout.blobPath(key), this.layout.manifestPath(key)]) {
        try {
          fs.rmSync(p, { force: true });
        } catch {
          clean = false;
        }
      }
      return clean;
    });
  }

  /**
   * Removes leftovers of crashed commands: import temp files of processes that are gone, and blobs
   * or manifests that never got their index row.
   */
  async sweep(): Promise<{ tmpFiles: number; orphanBlobs: number }> {
    let tmpFiles = 0;
    // name index files a killed process was writing (name-index.ts)
    for (const name of safeReaddir(this.layout.dbDir)) {
      const m = /^names\.tmp-(\d+)-/.exec(name);
      if (!m || processAlive(Number(m[1]))) continue;
      fs.rmSync(path.join(this.layout.dbDir, name), { force: true });
      tmpFiles++;
    }
    for (const name of safeReaddir(this.layout.casTmpDir)) {
      if (name.startsWith('dl-') && !name.endsWith('.etag')) {
        // a resumable partial download (src/fetch/download.ts): gone unless a fetch holds its lock
        if (this.removePartialDownload(name)) tmpFiles++;
        continue;
      }
      // import-<pid>-* files, render-<pid>-* trees rendered during imports, and docker2aci-<pid>-* /
      // oci-archive-<pid>-* download dirs
      const m = /^(?:import|render|docker2aci|oci-archive)-(\d+)-/.exec(name);
      if (!m) continue;
      if (processAlive(Number(m[1]))) continue;
      fs.rmSync(path.join(this.layout.casTmpDir, name), { force: true, recursive: true });
      tmpFiles++;
    }
    let orphanBlobs = 0;
    const db = await this.database();
    const known = new Set((await db.listAciInfos()).map((i) => i.blobKey));
    for (const root of [this.layout.blobRoot, this.layout.manifestRoot]) {
      for (const algo of safeReaddir(root)) {
        for (const shard of safeReaddir(path.join(root, algo))) {
          for (const key of safeReaddir(path.join(root, algo, shard))) {
            if (known.has(key)) continue;
            // Only touch keys nobody is importing right now.
            const lock = await FileLock.key(this.layout.imageLocksDir, key, true);
            try {
              if (!(await db.getAciInfo(key))) {
                fs.rmSync(path.join(root, algo, shard, key), { force: true, recursive: true });
                if (root === this.layout.blobRoot) orphanBlobs++;
              }
            } finally {
              lock.release();
            }
          }
        }
      }
    }
    return { tmpFiles, orphanBlobs };
  }

  /** Removes `cas/tmp/<name>` and its `.etag` if no fetch holds the download's lock. */
  private removePartialDownload(name: string): boolean {
    const fd = fs.openSync(path.join(this.layout.imageLocksDir, name), fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o660);
    try {
      if (!native.tryFlock(fd, true)) return false;
      fs.rmSync(path.join(this.layout.casTmpDir, name), { force: true });
      fs.rmSync(path.join(this.layout.casTmpDir, name + '.etag'), { force: true });
      return true;
    } finally {
      fs.closeSync(fd);
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
