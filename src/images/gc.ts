/**
 * `rkt image gc` (rkt/image_gc.go): drop tree stores no pod references, then images unused for
 * longer than the grace period (oldest first, stopping at the first recent one), never one that a
 * running pod uses. Also sweeps what crashed commands left: temp files and index-less blobs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImageStore } from '../store/image-store';
import { TreeStore } from '../store/tree-store';
import { FileLock } from '../store/locks';
import { removeImages, type RemoveReport } from './remove';

export interface ImageGcReport {
  removedTrees: string[];
  treeErrors: { id: string; error: string }[];
  images: RemoveReport;
  sweptTmpFiles: number;
  sweptOrphanBlobs: number;
}

const POD_STATES_WITH_TREES = ['prepare', 'prepared', 'run', 'exited-garbage'];

function readTrimmed(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function listDir(p: string): string[] {
  try {
    return fs.readdirSync(p);
  } catch {
    return [];
  }
}

/** Tree store IDs referenced by pods that may still mount them. */
export function referencedTreeIds(podsDir: string): Set<string> {
  const ids = new Set<string>();
  for (const state of POD_STATES_WITH_TREES) {
    for (const uuid of listDir(path.join(podsDir, state))) {
      const pod = path.join(podsDir, state, uuid);
      const s1 = readTrimmed(path.join(pod, 'stage1TreeStoreID'));
      if (s1) ids.add(s1);
      for (const app of listDir(path.join(pod, 'appsinfo'))) {
        const t = readTrimmed(path.join(pod, 'appsinfo', app, 'treeStoreID'));
        if (t) ids.add(t);
      }
    }
  }
  return ids;
}

/** Image keys named in the manifests of running pods (pods/run/<uuid> whose lock is held). */
export function runningImageKeys(podsDir: string): Set<string> {
  const keys = new Set<string>();
  const runDir = path.join(podsDir, 'run');
  for (const uuid of listDir(runDir)) {
    const pod = path.join(runDir, uuid);
    let lock: FileLock | undefined;
    try {
      lock = FileLock.tryDir(pod, false);
    } catch {
      continue;
    }
    if (lock) {
      lock.release(); // unlocked: exited, its images are free
      continue;
    }
    const manifest = readTrimmed(path.join(pod, 'pod'));
    if (!manifest) continue;
    try {
      const pm = JSON.parse(manifest) as { apps?: { image?: { id?: string } }[] };
      for (const app of pm.apps ?? []) if (app.image?.id) keys.add(app.image.id.slice(0, 71));
    } catch {
      /* a broken manifest cannot protect images */
    }
  }
  return keys;
}

export async function gcImages(store: ImageStore, gracePeriodMs: number, now = Date.now()): Promise<ImageGcReport> {
  const trees = new TreeStore(store);
  const report: ImageGcReport = { removedTrees: [], treeErrors: [], images: { removed: [], stale: [], failed: [] }, sweptTmpFiles: 0, sweptOrphanBlobs: 0 };

  fs.mkdirSync(path.dirname(store.layout.prepareLock), { recursive: true });
  fs.closeSync(fs.openSync(store.layout.prepareLock, 'a'));
  const prepareLock = await FileLock.key(store.layout.locksDir, 'prepareLock', true);
  try {
    const keep = referencedTreeIds(store.layout.podsDir);
    for (const id of trees.listIds()) {
      if (keep.has(id)) continue;
      const imageKey = readTrimmed(path.join(trees.path(id), 'image'));
      try {
        await trees.remove(id);
        report.removedTrees.push(id);
        const db = await store.database();
        if (imageKey && (await db.getAciInfo(imageKey))) await db.setTreeStoreSize(imageKey, 0);
      } catch (e) {
        report.treeErrors.push({ id, error: (e as Error).message });
      }
    }
  } finally {
    prepareLock.release();
  }

  const running = runningImageKeys(store.layout.podsDir);
  const infos = (await store.list()).sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
  const toRemove: string[] = [];
  for (const info of infos) {
    if (now - info.lastUsed.getTime() <= gracePeriodMs) break;
    if (running.has(info.blobKey)) continue;
    toRemove.push(info.blobKey);
  }
  report.images = await removeImages(store, toRemove);
  const swept = await store.sweep();
  report.sweptTmpFiles = swept.tmpFiles;
  report.sweptOrphanBlobs = swept.orphanBlobs;
  return report;
}
