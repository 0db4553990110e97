/**
 * `rkt image rm` (rkt/image_rm.go): resolve every argument first, then remove each distinct image
 * once. A bare name means every image of that name, as rkt's ResolveName; a name with a version or
 * labels means the one image the store would pick for it.
 */
import { describeError } from '../errors';
import type { ImageStore } from '../store/image-store';

export interface RemoveReport {
  removed: string[];
  stale: string[];
  failed: { arg: string; error: string }[];
}

async function resolveForRemoval(store: ImageStore, arg: string): Promise<string[]> {
  if (arg.startsWith('sha512-') || /[:,]/.test(arg)) return [await store.resolve(arg)];
  const keys = (await (await store.database()).getAciInfosByName(arg)).map((i) => i.blobKey);
  if (keys.length > 0) return keys;
  return [await store.resolve(arg)]; // gives rkt's not-found message
}

export async function removeImages(store: ImageStore, args: string[]): Promise<RemoveReport> {
  const report: RemoveReport = { removed: [], stale: [], failed: [] };
  const keys = new Map<string, string>();
  for (const arg of args) {
    try {
      for (const key of await resolveForRemoval(store, arg)) if (!keys.has(key)) keys.set(key, arg);
    } catch (e) {
      report.failed.push({ arg, error: describeError(e) });
    }
  }
  for (const [key, arg] of keys) {
    try {
      if (await store.remove(key)) report.removed.push(key);
      else report.stale.push(key);
    } catch (e) {
      report.failed.push({ arg, error: describeError(e) });
    }
  }
  return report;
}
