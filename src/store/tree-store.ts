/**
 * The tree store (rkt's treestore): each image is rendered once, with its dependencies, into
 * cas/tree/<id>/ so pods can mount it. The `rendered` marker is written last and removed first, so
 * a tree without it is never trusted and is simply rebuilt.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { under } from '../util/paths';
import { RktError } from '../errors';
import { native } from '../native';
import type { ImageManifest } from '../schema/image-manifest';
import type { ImageStore } from './image-store';
import { fsyncDir, withKeyLock } from './locks';

export interface DepEntry {
  key: string;
  level: number;
  manifest: ImageManifest;
}

const MARKER = 'rendered';
/** the lstat signature recorded by checkQuick (skipped by the tree hash, treehash.rs) */
const STAT_FILE = 'stat';

/**
 * appc acirenderer's createDepList: walk the list, inserting each element's dependencies right
 * after it, so `A -> [B, C], C -> [D]` gives A, C, D, B.
 */
export async function dependencyList(store: ImageStore, key: string): Promise<DepEntry[]> {
  const list: DepEntry[] = [{ key, level: 0, manifest: store.readManifest(key) }];
  for (let i = 0; i < list.length; i++) {
    const cur = list[i];
    if (list.length > 1000) throw new RktError('EMANIFEST', `image ${key} has too many dependencies (cycle?)`);
    const deps = cur.manifest.dependencies ?? [];
    const resolved: DepEntry[] = [];
    for (const d of deps) {
      let depKey: string;
      try {
        if (d.imageID) {
          depKey = await store.resolveKey(d.imageID);
        } else {
          depKey = await store.getByName(d.imageName, new Map((d.labels ?? []).map((l) => [l.name, l.value])));
        }
      } catch (e) {
        throw new RktError('ENOTFOUND', `cannot resolve dependency ${d.imageName} of ${cur.manifest.name}: ${(e as Error).message}`);
      }
      resolved.push({ key: depKey, level: cur.level + 1, manifest: store.readManifest(depKey) });
    }
    list.splice(i + 1, 0, ...resolved);
  }
  return list;
}

export function treeStoreId(keys: string[]): string {
  const h = native.sha512Hex(keys.join(','));
  return `deps-sha512-${h.slice(0, 64)}`;
}

export interface RenderResult {
  id: string;
  rebuilt: boolean;
}

export class TreeStore {
  constructor(private readonly store: ImageStore) {}

  private get layout() {
    return this.store.layout;
  }

  path(id: string): string {
    return this.layout.tree(id);
  }

  isRendered(id: string): boolean {
    return native.exists(under(this.path(id), MARKER));
  }

  async idFor(key: string): Promise<{ id: string; deps: DepEntry[] }> {
    const deps = await dependencyList(this.store, key);
    return { id: treeStoreId(deps.map((d) => d.key)), deps };
  }

  /** Renders `key` unless a complete tree exists; `rebuild` forces a fresh render. */
  async render(key: string, rebuild = false): Promise<RenderResult> {
    const { id, deps } = await this.idFor(key);
    // rendered while it was imported, when it is the whole tree
    const streamed = deps.length === 1 ? this.store.takeStreamedTree(key) : undefined;
    const dropStreamed = () => streamed && fs.rmSync(streamed.dir, { recursive: true, force: true });
    return withKeyLock(this.layout.treeLocksDir, id, true, async () => {
      if (!rebuild && this.isRendered(id)) {
        dropStreamed();
        return { id, rebuilt: false };
      }
      const dir = this.path(id);
      this.removeUnlocked(id);
      let treeSize = 0;
      let newDigests: { key: string; digest: string }[] = [];
      try {
        let hash: string;
        if (streamed) {
          fs.renameSync(streamed.dir, dir);
          fs.chmodSync(dir, 0o755);
          ({ hash, bytes: treeSize } = streamed);
        } else {
          fs.mkdirSync(dir, { mode: 0o755 });
          const images = [];
          for (const d of deps) {
            const verified = this.store.hashedHere(d.key);
            images.push({
              blobPath: this.store.blobPath(d.key),
              key: d.key,
              level: d.level,
              pathWhitelist: d.manifest.pathWhitelist ?? [],
              verified,
              blobDigest: verified ? undefined : (await (await this.store.database()).getAciInfo(d.key))?.blobDigest,
            });
          }
          const stats = await native.renderTree(images, dir);
          newDigests = stats.newDigests;
          // The render computes the tree hash as it writes (the one check() gets by walking).
          ({ hash, bytes: treeSize } = stats);
        }
        fs.writeFileSync(path.join(dir, 'hash'), hash);
        await native.syncfs(dir);
        fs.writeFileSync(path.join(dir, MARKER), '');
        fs.writeFileSync(path.join(dir, 'image'), key);
        fsyncDir(dir);
      } catch (e) {
        dropStreamed();
        this.removeUnlocked(id);
        throw e;
      }
      for (const d of deps) await this.store.touch(d.key);
      // rows from before blob digests (or left stale by a crash mid re-import) get the digest now
      const db = await this.store.database();
      for (const n of newDigests) await db.setBlobDigest(n.key, n.digest);
      await db.setTreeStoreSize(key, treeSize);
      return { id, rebuilt: true };
    });
  }

  /** rkt's tree Check: recompute the hash and compare with the one recorded at render time. */
  async check(id: string): Promise<{ ok: boolean; reason?: string }> {
    const dir = this.path(id);
    if (!this.isRendered(id)) return { ok: false, reason: 'tree not rendered' };
    let recorded: string;
    try {
      recorded = fs.readFileSync(path.join(dir, 'hash'), 'utf8').trim();
    } catch {
      return { ok: false, reason: 'missing tree hash' };
    }
    const actual = await native.treeHash(dir);
    if (actual !== recorded) return { ok: false, reason: `wrong tree hash: ${actual}, expected: ${recorded}` };
    return { ok: true };
  }

  /**
   * check(), short-cut while the tree's lstat signature (treestat.rs) is the one recorded after its
   * last passing check: no file has been written, replaced or chmod'ed since, so its hash is the
   * same. For small trees checked on every pod (stage1's).
   */
  async checkQuick(id: string): Promise<{ ok: boolean; reason?: string }> {
    const dir = this.path(id);
    const statFile = under(dir, STAT_FILE);
    let sig: string | undefined;
    try {
      sig = native.treeStatSignature(dir);
      if (this.isRendered(id) && native.readFile(statFile).toString('utf8') === sig) return { ok: true };
    } catch {
      /* no signature yet, or an unreadable tree: the full check decides */
    }
    const r = await this.check(id);
    if (r.ok && sig !== undefined) {
      try {
        const tmp = `${statFile}.${process.pid}`;
        fs.writeFileSync(tmp, sig);
        fs.renameSync(tmp, statFile);
      } catch {
        /* a read-only store: the full check again next time */
      }
    }
    return r;
  }

  async remove(id: string): Promise<void> {
    await withKeyLock(this.layout.treeLocksDir, id, true, async () => this.removeUnlocked(id));
  }

  private removeUnlocked(id: string): void {
    const dir = this.path(id);
    if (!fs.existsSync(dir)) return;
    // The marker goes first: a half-deleted tree must never look rendered.
    const marker = path.join(dir, MARKER);
    if (fs.existsSync(marker)) {
      fs.rmSync(marker);
      fsyncDir(dir);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }

  listIds(): string[] {
    try {
      return fs.readdirSync(this.layout.treeDir).filter((n) => n.startsWith('deps-'));
    } catch {
      return [];
    }
  }
}

export function dirSize(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop() as string;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        try {
          total += fs.lstatSync(p).size;
        } catch {
          /* raced with removal */
        }
      }
    }
  }
  return total;
}
