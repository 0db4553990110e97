/** `rkt image extract` and `rkt image render`: put an image's files in a directory of the user's. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import { native } from '../native';
import type { ImageStore } from '../store/image-store';
import { TreeStore } from '../store/tree-store';

export interface OutputDirOptions {
  rootfsOnly: boolean;
  overwrite: boolean;
}

/** Refuses `/`, refuses an existing dir without --overwrite, else starts from an empty dir. */
function prepareOutputDir(dir: string, overwrite: boolean): string {
  const abs = path.resolve(dir);
  if (abs === '/') throw new RktError('EUSAGE', 'extracting the image to / is not allowed');
  if (fs.existsSync(abs)) {
    if (!overwrite) throw new RktError('EEXIST', 'output directory exists (try --overwrite)');
    fs.rmSync(abs, { recursive: true, force: true });
  }
  native.createDirs([abs], 0o755);
  return abs;
}

export async function extractImage(store: ImageStore, arg: string, dir: string, opts: OutputDirOptions): Promise<string> {
  const key = await store.resolve(arg);
  const out = prepareOutputDir(dir, opts.overwrite);
  try {
    await native.extractAci(store.blobPath(key), out, opts.rootfsOnly);
  } catch (e) {
    fs.rmSync(out, { recursive: true, force: true });
    throw e;
  }
  await store.touch(key);
  return key;
}

export interface RenderOutcome {
  key: string;
  rebuilt: boolean;
}

/**
 * Renders through the tree store (dependencies, pathWhitelist), checks the tree's hash, rebuilds it
 * when damaged, then copies it out. `onRebuild` lets the caller print rkt's warning.
 */
export async function renderImage(
  store: ImageStore,
  arg: string,
  dir: string,
  opts: OutputDirOptions,
  onRebuild: () => void = () => {},
): Promise<RenderOutcome> {
  const key = await store.resolve(arg);
  const trees = new TreeStore(store);
  let { id, rebuilt } = await trees.render(key);
  if (!rebuilt) {
    const check = await trees.check(id);
    if (!check.ok) {
      onRebuild();
      ({ id } = await trees.render(key, true));
      rebuilt = true;
    }
  }
  const out = prepareOutputDir(dir, opts.overwrite);
  const tree = trees.path(id);
  try {
    if (opts.rootfsOnly) {
      await native.copyTree(path.join(tree, 'rootfs'), out);
    } else {
      await native.copyTree(path.join(tree, 'rootfs'), path.join(out, 'rootfs'));
      fs.copyFileSync(path.join(tree, 'manifest'), path.join(out, 'manifest'));
      fs.chmodSync(path.join(out, 'manifest'), 0o700);
    }
  } catch (e) {
    fs.rmSync(out, { recursive: true, force: true });
    throw e;
  }
  return { key, rebuilt };
}
