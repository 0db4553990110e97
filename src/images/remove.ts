/** `rkt image rm`: resolve every argument first, then remove each distinct image once. */
import { describeError } from '../errors';
import type { ImageStore } from '../store/image-store';

export interface RemoveReport {
  removed: string[];
  stale: string[];
  failed: { arg: string; error: string }[];
}

export async function removeImages(store: ImageStore, args: string[]): Promise<RemoveReport> {
  const report: RemoveReport = { removed: [], stale: [], failed: [] };
  const seen = new Set<string>();
  for (const arg of args) {
    let key: string;
    try {
      key = await store.resolve(arg);
    } catch (e) {
      report.failed.push({ arg, error: describeError(e) });
      continue;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      if (await store.remove(key)) report.removed.push(key);
      else report.stale.push(key);
    } catch (e) {
      report.failed.push({ arg, error: describeError(e) });
    }
  }
  return report;
}
