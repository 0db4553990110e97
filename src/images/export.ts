/** `rkt image export`: the stored uncompressed tar, so the output's SHA-512 is the image ID. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import type { ImageStore } from '../store/image-store';

export async function exportImage(store: ImageStore, arg: string, output: string, overwrite: boolean): Promise<string> {
  const key = await store.resolve(arg);
  if (!overwrite && fs.existsSync(output)) throw new RktError('EEXIST', 'output ACI file exists (try --overwrite)');
  const dir = path.dirname(path.resolve(output));
  const tmp = path.join(dir, `.${path.basename(output)}.rkt-export-${process.pid}`);
  try {
    // copyFile uses copy_file_range: no bytes through JS.
    fs.copyFileSync(store.blobPath(key), tmp);
    fs.renameSync(tmp, output);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new RktError('EIO', `cannot export image ${key} to ${output}: ${(e as Error).message}`);
  }
  await store.touch(key);
  return key;
}
