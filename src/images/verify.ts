/** `rkt image verify`: recompute tree-store hashes and repair damaged trees. */
import type { ImageStore } from '../store/image-store';
import { TreeStore } from '../store/tree-store';

export type VerifyOutcome =
  | { arg: string; key: string; status: 'verified' }
  | { arg: string; key: string; status: 'not-rendered' }
  | { arg: string; key: string; status: 'rebuilt'; reason: string };

export async function verifyImage(store: ImageStore, arg: string): Promise<VerifyOutcome> {
  const key = await store.resolve(arg);
  const trees = new TreeStore(store);
  const { id } = await trees.idFor(key);
  if (!trees.isRendered(id)) return { arg, key, status: 'not-rendered' };
  const check = await trees.check(id);
  if (check.ok) return { arg, key, status: 'verified' };
  await trees.render(key, true);
  return { arg, key, status: 'rebuilt', reason: check.reason ?? 'unknown' };
}
