/** Opens the image store for one command and always closes it (lock and database included). */
import type { GlobalContext } from './base';
import type { ImageStore } from '../store/image-store';

export async function withImageStore<T>(g: GlobalContext, fn: (store: ImageStore) => Promise<T>): Promise<T> {
  const { ImageStore } = await import('../store/image-store');
  const store = await ImageStore.open(g.dataDir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
