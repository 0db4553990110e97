/**
 * The only place that loads the Rust addon. Native errors arrive as "<CODE>: <message>" and leave
 * here as RktErrors with the same stable code, so callers never parse strings themselves.
 */
import * as path from 'node:path';
import { RktError, type RktErrorCode } from './errors';
import { packageRoot } from './util/package-root';

export interface ImportResult {
  key: string;
  hashHex: string;
  tmpPath: string;
  /** tmpPath is the stream's source copy (a gzip download's partial file) rather than a temp of ours */
  blobIsSource: boolean;
  /** BLAKE3 (64 hex) of the blob's bytes as stored, taken from the bytes hashed to `key` */
  blobDigest: string;
  size: number;
  manifest: Buffer;
  fileType: string;
  /** asked for with `render`: the image's tree rendered alone in the same pass, in a temp dir */
  tree?: StreamedTree;
  /** asked for with `render`, no tree: why the render stopped (a render of the blob will say it again) */
  treeError?: string;
}
/** What stat(2) says of a path, following symlinks (rkt_core::stat). */
export interface PathStat {
  kind: 'file' | 'dir' | 'other';
  size: number;
  /** as fs.Stats.mtimeMs */
  mtimeMs: number;
  dev: number;
}

export interface StreamedTree {
  dir: string;
  files: number;
  bytes: number;
  hash: string;
}

/** An import fed chunk by chunk (a download as it arrives): see AciStream in crates/rkt_napi. */
export interface ImportStream {
  /** queues a copy of the bytes; resolves when there is room for more */
  push(chunk: Buffer): Promise<void>;
  /** no more bytes: the import's result (or its error) */
  finish(): Promise<ImportResult>;
  /** stops the import and removes its temp file and tree */
  abort(): Promise<void>;
}

/**
 * A streamed source's copy on disk (a download's partial file): the import writes every byte after
 * the first `have` (already there) to `path`; for gzip that file becomes the blob (blobIsSource).
 */
export interface SourceCopy {
  path: string;
  have: number;
}

interface AciStreamHandle {
  push(chunks: Buffer[]): boolean;
  waitRoom(): Promise<void>;
  finish(): Promise<ImportResult>;
  abort(): Promise<void>;
}
export interface RenderImageInput {
  blobPath: string;
  key: string;
  level: number;
  pathWhitelist: string[];
  /** this process imported (and so hashed) the blob: the render need not check it against `key` */
  verified?: boolean;
  /** the blob's BLAKE3 recorded at import: checked instead of hashing the blob against `key` */
  blobDigest?: string;
}
export interface RenderStats {
  files: number;
  bytes: number;
  /** the tree hash of what was rendered, as treeHash() of the tree would give it */
  hash: string;
  /** blobs checked against their key for want of a (current) recorded digest: the digest to record */
  newDigests: { key: string; digest: string }[];
}

export interface LayerInput {
  path: string;
  /** the layer's digest, for error messages */
  name: string;
}
export interface SquashResult {
  key: string;
  hashHex: string;
  tmpPath: string;
  /** BLAKE3 (64 hex) of the ACI tar */
  blobDigest: string;
  size: number;
  files: number;
}

interface Addon {
  importAci(src: string, tmpDir: string, render?: boolean): Promise<ImportResult>;
  AciStream: new (tmpDir: string, render: boolean, copyPath?: string, copyHave?: number) => AciStreamHandle;
  commitBlob(tmpPath: string, dest: string): void;
  hashFile(path: string): Promise<string>;
  hashBlob(path: string): Promise<string>;
  exportBlob(path: string, dest: string): Promise<string>;
  renderTree(images: RenderImageInput[], dest: string): Promise<RenderStats>;
  extractAci(blobPath: string, dest: string, rootfsOnly: boolean): Promise<void>;
  treeHash(dir: string): Promise<string>;
  copyTree(src: string, dst: string): Promise<void>;
  flock(fd: number, exclusive: boolean): Promise<void>;
  tryFlock(fd: number, exclusive: boolean): boolean;
  tryLockKeyFile(path: string, exclusive: boolean): number | null;
  tryLockDir(path: string, exclusive: boolean): number | null;
  statPath(path: string): PathStat | null;
  funlock(fd: number): void;
  syncfs(path: string): Promise<void>;
  mountOverlay(lower: string[], upper: string, work: string, target: string): void;
  bindMount(src: string, target: string): void;
  umount(target: string, lazy: boolean): void;
  overlaySupported(dir: string): boolean;
  execStage1(path: string, argv: string[], env: string[], cwd: string, keepFds: number[]): void;
  preloadLibrary(path: string): void;
  readSourceLatin1(path: string): string;
  createDirs(paths: string[], mode: number): void;
  makeDir(path: string, mode: number): void;
  markTopDir(dir: string): boolean;
  renamePath(from: string, to: string): void;
  releaseLock(fd: number): void;
  readFile(path: string): Buffer;
  writeFile(path: string, data: string | Buffer, mode: number): void;
  appendLocked(path: string, data: string, mode: number): number;
  coreVersion(): string;
  sha512Hex(data: string): string;
  treeStatSignature(dir: string): string;
  randomUuid(): string;
  squashLayers(layers: LayerInput[], manifest: Buffer, tmpDir: string): Promise<SquashResult>;
}

const KNOWN_CODES = new Set<RktErrorCode>([
  'EIMAGE_FORMAT',
  'EMANIFEST',
  'EUNSAFE_PATH',
  'EHASH_MISMATCH',
  'ENOTFOUND',
  'EEXIST',
  'EIO',
]);

let addon: Addon | undefined;

function load(): Addon {
  if (addon) return addon;
  const file = path.join(packageRoot(), 'native', `rkt.linux-${process.arch}-gnu.node`);
  // bin/rkt has loaded it already (process.dlopen, no resolution)
  const given = (globalThis as Record<symbol, unknown>)[Symbol.for('rkt.addon')] as { file: string; exports: Addon } | undefined;
  if (given?.file === file) return (addon = given.exports);
  try {
    addon = require(file) as Addon;
  } catch (e) {
    throw new RktError('ENATIVE', `cannot load the native addon ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  return addon;
}

export function toRktError(e: unknown): RktError {
  if (e instanceof RktError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(msg);
  if (m && KNOWN_CODES.has(m[1] as RktErrorCode)) return new RktError(m[1] as RktErrorCode, m[2]);
  return new RktError('EINTERNAL', msg);
}

async function call<T>(fn: (a: Addon) => Promise<T> | T): Promise<T> {
  const a = load();
  try {
    return await fn(a);
  } catch (e) {
    throw toRktError(e);
  }
}

function callSync<T>(fn: (a: Addon) => T): T {
  const a = load();
  try {
    return fn(a);
  } catch (e) {
    throw toRktError(e);
  }
}

export const native = {
  importAci: (src: string, tmpDir: string, render = false) => call((a) => a.importAci(src, tmpDir, render)),
  startImport: (tmpDir: string, render: boolean, copy?: SourceCopy): ImportStream => {
    const h = callSync((a) => new a.AciStream(tmpDir, render, copy?.path, copy?.have));
    // Network reads are small (16-64 KiB): they go over in batches of about a MiB.
    let batch: Buffer[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const full = !h.push(batch);
      batch = [];
      bytes = 0;
      if (full) await call(() => h.waitRoom());
    };
    return {
      push: async (chunk) => {
        batch.push(chunk);
        bytes += chunk.length;
        if (bytes >= 1 << 20) await flush();
      },
      finish: async () => {
        await flush();
        return call(() => h.finish());
      },
      abort: () => call(() => h.abort()),
    };
  },
  commitBlob: (tmpPath: string, dest: string) => callSync((a) => a.commitBlob(tmpPath, dest)),
  hashFile: (p: string) => call((a) => a.hashFile(p)),
  hashBlob: (p: string) => call((a) => a.hashBlob(p)),
  exportBlob: (p: string, dest: string) => call((a) => a.exportBlob(p, dest)),
  renderTree: (images: RenderImageInput[], dest: string) => call((a) => a.renderTree(images, dest)),
  extractAci: (blob: string, dest: string, rootfsOnly: boolean) => call((a) => a.extractAci(blob, dest, rootfsOnly)),
  treeHash: (dir: string) => call((a) => a.treeHash(dir)),
  copyTree: (src: string, dst: string) => call((a) => a.copyTree(src, dst)),
  flock: (fd: number, exclusive: boolean) => call((a) => a.flock(fd, exclusive)),
  tryFlock: (fd: number, exclusive: boolean) => callSync((a) => a.tryFlock(fd, exclusive)),
  /** A free key lock taken in one call: the locked fd (the caller owns it), or null when it is held elsewhere. */
  tryLockKeyFile: (p: string, exclusive: boolean) => callSync((a) => a.tryLockKeyFile(p, exclusive)),
  /** A free directory lock taken in one call: the locked fd (the caller owns it), or null when it is held elsewhere. */
  tryLockDir: (p: string, exclusive: boolean) => callSync((a) => a.tryLockDir(p, exclusive)),
  funlock: (fd: number) => callSync((a) => a.funlock(fd)),
  /**
   * stat(2) following symlinks, null for a path that does not exist: for the paths `rkt run` looks
   * at, where Node's statSync runs its own JS cold on its first call (0.3 to 0.4 ms).
   */
  stat: (p: string) => callSync((a) => a.statPath(p)),
  syncfs: (p: string) => call((a) => a.syncfs(p)),
  mountOverlay: (lower: string[], upper: string, work: string, target: string) => callSync((a) => a.mountOverlay(lower, upper, work, target)),
  bindMount: (src: string, target: string) => callSync((a) => a.bindMount(src, target)),
  umount: (target: string, lazy: boolean) => callSync((a) => a.umount(target, lazy)),
  overlaySupported: (dir: string) => callSync((a) => a.overlaySupported(dir)),
  /** Never returns on success: this process becomes stage1. */
  execStage1: (path: string, argv: string[], env: string[], cwd: string, keepFds: number[]) => callSync((a) => a.execStage1(path, argv, env, cwd, keepFds)),
  preloadLibrary: (path: string) => callSync((a) => a.preloadLibrary(path)),
  /** An ASCII file's text, the string backed by a read-only mapping of the file (no copy into V8's heap). */
  readMappedAscii: (path: string) => callSync((a) => a.readSourceLatin1(path)),
  // mkdir -p for paths a user names (a data dir, an output dir): Node's recursive mkdirSync spins
  // for ever where mkdir fails with ENOENT under an existing parent (procfs: `--dir=/proc/x`)
  createDirs: (paths: string[], mode: number) => callSync((a) => a.createDirs(paths, mode)),
  /**
   * A small file whole (rkt_core::small_files), for the files of `rkt run`'s path: Node's
   * readFileSync and writeFileSync run their own JS cold on their first calls (0.2 to 0.6 ms each).
   * A missing file is ENOTFOUND.
   */
  readFile: (p: string) => callSync((a) => a.readFile(p)),
  /** Creates (`mode` less the umask) or truncates `p` and writes `data`; a failed write leaves what was written. */
  writeFile: (p: string, data: string | Buffer, mode: number) => callSync((a) => a.writeFile(p, data, mode)),
  /** Appends `data` in one write under a shared flock (created with `mode` less the umask); the size after it. */
  appendLocked: (p: string, data: string, mode: number) => callSync((a) => a.appendLocked(p, data, mode)),
  /** As fs.existsSync (false for any error), for the paths `rkt run` looks for: see stat. */
  exists: (p: string) => {
    try {
      return load().statPath(p) !== null;
    } catch {
      return false;
    }
  },
  rename: (from: string, to: string) => callSync((a) => a.renamePath(from, to)),
  /** Closes a lock's fd, which drops its flock. */
  releaseLock: (fd: number) => callSync((a) => a.releaseLock(fd)),
  /** One directory that must be new: EEXIST if it is there (mkdir, not mkdir -p). */
  makeDir: (p: string, mode: number) => callSync((a) => a.makeDir(p, mode)),
  /** ext4's "top of unrelated trees" hint on a directory (chattr +T); false where there is none. */
  markTopDir: (dir: string) => callSync((a) => a.markTopDir(dir)),
  coreVersion: () => callSync((a) => a.coreVersion()),
  /** What lstat says of every entry of a tree, hashed (synchronous: small trees only). */
  treeStatSignature: (dir: string) => callSync((a) => a.treeStatSignature(dir)),
  /** All 128 hex digits of the SHA-512 of the string's UTF-8 bytes. */
  sha512Hex: (data: string) => callSync((a) => a.sha512Hex(data)),
  /** A random version 4 UUID. */
  randomUuid: () => callSync((a) => a.randomUuid()),
  /** Docker/OCI layers (bottom first) squashed into one ACI temp file (see rkt_core::layer_squash). */
  squashLayers: (layers: LayerInput[], manifest: Buffer, tmpDir: string) => call((a) => a.squashLayers(layers, manifest, tmpDir)),
};
