/**
 * `rkt image export`: the image's uncompressed tar, whichever form its blob has (a blob may hold
 * the gzip stream the image arrived as), checked on the way out so the output's SHA-512 is the ID.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import { native } from '../native';
import type { ImageStore } from '../store/image-store';

export async function exportImage(store: ImageStore, arg: string, output: string, overwrite: boolean): Promise<string> {
  const key = await store.resolve(arg);
  if (!overwrite && fs.existsSync(output)) throw new RktError('EEXIST', 'output ACI file exists (try --overwrite)');
  const dir = path.dirname(path.resolve(output));
  const tmp = path.join(dir, `.${path.basename(output)}.rkt-export-${process.pid}`);
  try {
    const hex = await native.exportBlob(store.blobPath(key), tmp);
    if (`sha512-${hex.slice(0, 64)}` !== key) {
      throw new RktError('EHASH_MISMATCH', `stored image is damaged: its tar hashes to sha512-${hex.slice(0, 64)}`);
    }
    fs.renameSync(tmp, output);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new RktError((e as RktError).code === 'EHASH_MISMATCH' ? 'EHASH_MISMATCH' : 'EIO', `cannot export image ${key} to ${output}: ${(e as Error).message}`);
  }
  await store.touch(key);
  return key;
}
