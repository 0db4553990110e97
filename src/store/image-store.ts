/**
 * The image store (rkt's imagestore): blobs keyed by the SHA-512 of the uncompressed tar, a manifest
 * copy per blob, and the SQLite index. Heavy bytes go through the addon; this module orders the
 * steps so that a crash at any point leaves either nothing or a complete image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import { native } from '../native';
import { parseImageManifest, type ImageManifest } from '../schema/image-manifest';
import { parseAppString } from '../discovery/app-string';
import { StoreDb, type AciInfo } from './db';
import { resolveKeyPrefix, selectByNameAndLabels } from './keys';
import { DataLayout } from './layout';
import { FileLock, withKeyLock, writeFileDurable } from './locks';

export interface ImportOptions {
  /** true when the image was fetched by name without a version (rkt's aciinfo.latest). */
  latest?: boolean;
  /**
   * Runs after the manifest is read and before anything is committed (signature and name checks of
   * fetched images): a throw leaves no blob, no row and no temp file.
   */
  check?: (manifest: ImageManifest) => Promise<void> | void;
}

export interface ImportedImage {
  key: string;
  manifest: ImageManifest;
  size: number;
}

export class ImageStore {
  /** Blobs this process hashed itself while storing them (see hashedHere). */
  private readonly hashed = new Set<string>();

  private constructor(
    readonly layout: DataLayout,
    readonly db: StoreDb,
    private readonly casLock: FileLock,
  ) {}

  /** Opens (creating if needed) the store under `dataDir`; holds a shared lock on cas/ while open. */
  static async open(dataDir: string): Promise<ImageStore> {
    const layout = new DataLayout(dataDir);
    try {
      for (const d of [layout.casDir, layout.casTmpDir, layout.dbDir, layout.imageLocksDir, layout.treeDir, layout.treeLocksDir, layout.locksDir, layout.tmpDir]) {
        fs.mkdirSync(d, { recursive: true, mode: 0o2750 });
      }
    } catch (e) {
      throw new RktError('EIO', `cannot create the data directory ${dataDir}: ${(e as Error).message}`);
    }
    const casLock = await FileLock.dir(layout.casDir, false);
    try {
      const db = await StoreDb.open(layout.casDir);
      return new ImageStore(layout, db, casLock);
    } catch (e) {
      casLock.release();
      throw e;
    }
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
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
    const imported = await native.importAci(file, this.layout.casTmpDir);
    let manifest: ImageManifest;
    try {
      manifest = parseImageManifest(imported.manifest);
      if (opts.check) await opts.check(manifest);
    } catch (e) {
      fs.rmSync(imported.tmpPath, { force: true });
      throw e;
    }
    return this.importBuilt(imported, manifest, opts);
  }

  /**
   * Commits a hashed temp blob (under casTmpDir, fsynced) and its validated manifest: blob rename,
   * manifest file and index row under the image's key lock. importFile ends here, and so do images
   * built here (converted Docker/OCI images). The temp file is gone afterwards either way.
   */
  async importBuilt(built: { tmpPath: string; key: string; size: number }, manifest: ImageManifest, opts: ImportOptions = {}): Promise<ImportedImage> {
    const { key } = built;
    try {
      await withKeyLock(this.layout.imageLocksDir, key, true, async () => {
        native.commitBlob(built.tmpPath, this.layout.blobPath(key));
        this.hashed.add(key);
        writeFileDurable(this.layout.manifestPath(key), JSON.stringify(manifest), 0o660);
        const now = new Date();
        await this.db.transaction(async (tx) => {
          const prev = await tx.getAciInfo(key);
          await tx.upsertAciInfo({
            blobKey: key,
            name: manifest.name,
            importTime: now,
            lastUsed: now,
            latest: opts.latest ?? false,
            size: built.size,
            treeStoreSize: prev?.treeStoreSize ?? 0,
          });
        });
      });
    } finally {
      fs.rmSync(built.tmpPath, { force: true });
    }
    return { key, manifest, size: built.size };
  }

  /** An image argument of the `image` subcommands: a key prefix, else a name[:version][,labels]. */
  async resolve(arg: string): Promise<string> {
    if (arg.startsWith('sha512-')) return resolveKeyPrefix(this.db, arg);
    const ref = parseAppString(arg);
    return this.getByName(ref.name, ref.labels);
  }

  async resolveKey(prefix: string): Promise<string> {
    return resolveKeyPrefix(this.db, prefix);
  }

  /** rkt's GetACI: every requested label must match; latest preferred when no version asked. */
  async getByName(name: string, labels: Map<string, string>): Promise<string> {
    const infos = await this.db.getAciInfosByName(name);
    const candidates = [];
    for (const info of infos) {
      const m = this.readManifest(info.blobKey);
      candidates.push({ info, labels: new Map((m.labels ?? []).map((l) => [l.name, l.value])) });
    }
    return selectByNameAndLabels(candidates, labels, name).blobKey;
  }

  readManifestRaw(key: string): Buffer {
    try {
      return fs.readFileSync(this.layout.manifestPath(key));
    } catch (e) {
      throw new RktError('ESTORE', `cannot read the manifest of image ${key}: ${(e as Error).message}`);
    }
  }

  readManifest(key: string): ImageManifest {
    return JSON.parse(this.readManifestRaw(key).toString('utf8')) as ImageManifest;
  }

  async info(key: string): Promise<AciInfo> {
    const info = await this.db.getAciInfo(key);
    if (!info) throw new RktError('ENOTFOUND', `cannot find image with key: ${key}`);
    return info;
  }

  list(): Promise<AciInfo[]> {
    return this.db.listAciInfos();
  }

  async touch(key: string): Promise<void> {
    await this.db.touchLastUsed(key, new Date());
  }

  /**
   * rkt's RemoveACI: the index row (and remotes) go in one transaction, then the files. Returns
   * false when the row went but some files could not be removed.
   */
  async remove(key: string): Promise<boolean> {
    return withKeyLock(this.layout.imageLocksDir, key, true, async () => {
      const removed = await this.db.transaction((tx) => tx.removeAciInfo(key));
      if (!removed) throw new RktError('ENOTFOUND', `cannot find image with key: ${key}`);
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
    for (const name of safeReaddir(this.layout.casTmpDir)) {
      if (name.startsWith('dl-') && !name.endsWith('.etag')) {
        // a resumable partial download (src/fetch/download.ts): gone unless a fetch holds its lock
        if (this.removePartialDownload(name)) tmpFiles++;
        continue;
      }
      // import-<pid>-* files, and docker2aci-<pid>-* / oci-archive-<pid>-* download dirs
      const m = /^(?:import|docker2aci|oci-archive)-(\d+)-/.exec(name);
      if (!m) continue;
      if (processAlive(Number(m[1]))) continue;
      fs.rmSync(path.join(this.layout.casTmpDir, name), { force: true, recursive: true });
      tmpFiles++;
    }
    let orphanBlobs = 0;
    const known = new Set((await this.db.listAciInfos()).map((i) => i.blobKey));
    for (const root of [this.layout.blobRoot, this.layout.manifestRoot]) {
      for (const algo of safeReaddir(root)) {
        for (const shard of safeReaddir(path.join(root, algo))) {
          for (const key of safeReaddir(path.join(root, algo, shard))) {
            if (known.has(key)) continue;
            // Only touch keys nobody is importing right now.
            const lock = await FileLock.key(this.layout.imageLocksDir, key, true);
            try {
              if (!(await this.db.getAciInfo(key))) {
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
