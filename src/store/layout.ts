/**
 * Paths of rkt's data directory (§2.1 of the reference). Every on-disk name is built here so the
 * layout has one definition, shared by the store, pods and gc.
 */
import * as path from 'node:path';

export function keyShard(key: string): string {
  // diskv transform: "sha512-abcd…" → "sha512/ab"
  const dash = key.indexOf('-');
  return path.join(key.slice(0, dash), key.slice(dash + 1, dash + 3));
}

export class DataLayout {
  constructor(readonly dataDir: string) {}

  get casDir(): string {
    return path.join(this.dataDir, 'cas');
  }
  get casTmpDir(): string {
    return path.join(this.casDir, 'tmp');
  }
  get dbDir(): string {
    return path.join(this.casDir, 'db');
  }
  get imageLocksDir(): string {
    return path.join(this.casDir, 'imagelocks');
  }
  get treeDir(): string {
    return path.join(this.casDir, 'tree');
  }
  get treeLocksDir(): string {
    return path.join(this.casDir, 'treestorelocks');
  }
  get blobRoot(): string {
    return path.join(this.casDir, 'blob');
  }
  get manifestRoot(): string {
    return path.join(this.casDir, 'imageManifest');
  }
  get locksDir(): string {
    return path.join(this.dataDir, 'locks');
  }
  get prepareLock(): string {
    return path.join(this.locksDir, 'prepareLock');
  }
  get tmpDir(): string {
    return path.join(this.dataDir, 'tmp');
  }
  get podsDir(): string {
    return path.join(this.dataDir, 'pods');
  }

  blobPath(key: string): string {
    return path.join(this.blobRoot, keyShard(key), key);
  }
  manifestPath(key: string): string {
    return path.join(this.manifestRoot, keyShard(key), key);
  }
  tree(id: string): string {
    return path.join(this.treeDir, id);
  }
  treeRootfs(id: string): string {
    return path.join(this.treeDir, id, 'rootfs');
  }
}
