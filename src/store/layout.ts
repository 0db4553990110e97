/**
 * Paths of rkt's data directory (§2.1 of the reference). Every on-disk name is built here so the
 * layout has one definition, shared by the store, pods and gc.
 */
import * as path from 'node:path';
import { under } from '../util/paths';

export function keyShard(key: string): string {
  // diskv transform: "sha512-abcd…" → "sha512/ab"
  const dash = key.indexOf('-');
  return `${key.slice(0, dash)}/${key.slice(dash + 1, dash + 3)}`;
}

/** The paths are built by under() from the data dir, normalized once here. */
export class DataLayout {
  readonly dataDir: string;
  constructor(dataDir: string) {
    this.dataDir = path.resolve(dataDir);
  }

  get casDir(): string {
    return under(this.dataDir, 'cas');
  }
  get casTmpDir(): string {
    return under(this.casDir, 'tmp');
  }
  get dbDir(): string {
    return under(this.casDir, 'db');
  }
  get imageLocksDir(): string {
    return under(this.casDir, 'imagelocks');
  }
  get treeDir(): string {
    return under(this.casDir, 'tree');
  }
  get treeLocksDir(): string {
    return under(this.casDir, 'treestorelocks');
  }
  get blobRoot(): string {
    return under(this.casDir, 'blob');
  }
  get manifestRoot(): string {
    return under(this.casDir, 'imageManifest');
  }
  get locksDir(): string {
    return under(this.dataDir, 'locks');
  }
  get prepareLock(): string {
    return under(this.locksDir, 'prepareLock');
  }
  get tmpDir(): string {
    return under(this.dataDir, 'tmp');
  }
  get podsDir(): string {
    return under(this.dataDir, 'pods');
  }

  blobPath(key: string): string {
    return under(this.blobRoot, ...keyShard(key).split('/'), key);
  }
  manifestPath(key: string): string {
    return under(this.manifestRoot, ...keyShard(key).split('/'), key);
  }
  tree(id: string): string {
    return under(this.treeDir, id);
  }
  treeRootfs(id: string): string {
    return under(this.treeDir, id, 'rootfs');
  }
}
