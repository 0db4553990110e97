/**
 * stage0's Prepare (rkt's stage0/run.go): resolve images, create the pod, render stage1 and the apps
 * through the tree store, mount them (overlay) or copy them (--no-overlay), write the manifests.
 * Costs O(apps) with overlay: the images were rendered once, the pod only mounts them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import { native } from '../native';
import type { ImageStore } from '../store/image-store';
import { TreeStore } from '../store/tree-store';
import { FileLock, writeFileAtomic, writeFileDurable } from '../store/locks';
import { fetchImage, type FetchEnvironment, type PullPolicy } from '../fetch/fetch';
import type { RktConfig } from '../config/types';
import { selectStage1, type Stage1Flags } from '../stage1/select';
import { buildPodManifest, checkVolumeSources, type PodEnvOptions, type ResolvedApp } from './manifest';
import { NewPod, PodDirs } from './pods';
import { DataLayout } from '../store/layout';
import type { AppArgs } from './run-args';
import { checkUserNamespaces, newUidRange, shiftOwners, writeUidRange, type UidRange } from './userns';
import { serializePodManifest, type PodManifest, type Volume } from '../schema/pod-manifest';
import { mark } from '../util/timing';
import { under } from '../util/paths';
import { didOneTimeWork } from '../util/code-cache';

export interface PrepareOptions {
  apps: AppArgs[];
  /** --pod-manifest: used as given, its images from the store only */
  podManifest?: PodManifest;
  volumes?: Volume[];
  env: PodEnvOptions;
  stage1: Stage1Flags;
  config: RktConfig;
  pullPolicy: PullPolicy;
  insecureImage: boolean;
  /** verification and network settings for fetching the apps' images */
  fetchEnv?: FetchEnvironment;
  noOverlay: boolean;
  /** --private-users: a user namespace for the pod; its app trees are copied and shifted */
  privateUsers?: boolean;
  uuidFileSave?: string;
  /** `rkt prepare`: flush the pod to disk before it is marked prepared */
  durable?: boolean;
  log: (line: string) => void;
  warn: (line: string) => void;
}

export interface PreparedPod {
  pod: NewPod;
  manifest: PodManifest;
  stage1Manifest: Stage1Manifest;
  /** the pod's user namespace range (--private-users) */
  uidRange: UidRange | undefined;
}

/** What stage0 reads of stage1's image manifest: its entrypoint annotations. */
export interface Stage1Manifest {
  annotations?: { name: string; value: string }[];
}

/**
 * The data dir's filesystem decides overlay, as rkt's PathSupportsOverlay. Probing mounts a test
 * overlay (the only exact answer), so the answer is kept in tmp/ per filesystem (st_dev) rather than
 * paid on every run.
 */
function useOverlay(store: ImageStore, noOverlay: boolean, warn: (l: string) => void): boolean {
  if (noOverlay) return false;
  const dir = store.layout.tmpDir;
  const memo = path.join(dir, 'overlay-support');
  const dev = String(native.stat(dir)?.dev ?? fs.statSync(dir).dev);
  let ok: boolean | undefined;
  try {
    const [d, v] = native.readFile(memo).toString('utf8').trim().split(' ');
    if (d === dev) ok = v === 'yes';
  } catch {
    /* not probed yet */
  }
  if (ok === undefined) {
    ok = native.overlaySupported(dir);
    const tmp = `${memo}.${process.pid}`;
    fs.writeFileSync(tmp, `${dev} ${ok ? 'yes' : 'no'}\n`);
    fs.renameSync(tmp, memo);
  }
  if (!ok) warn(`disabling overlay support: "the data directory's filesystem does not support overlay upper dirs"`);
  return ok;
}

/** mkdir -p, in one call to the addon (rkt_core::dirs), as the store's and the pod state dirs are made. */
function mkdirp(p: string, mode = 0o750): void {
  native.createDirs([p], mode);
}

/** Mounts (or copies) a rendered tree's rootfs at `target`, with upper/work dirs in the pod. */
async function materialize(treeRootfs: string, target: string, overlayDirs: { upper: string; work: string } | undefined): Promise<void> {
  mkdirp(target, 0o755);
  if (overlayDirs) {
    const { upper, work } = overlayDirs;
    mkdirp(upper, 0o755);
    mkdirp(work, 0o700);
    native.mountOverlay([treeRootfs], upper, work, target);
  } else {
    await native.copyTree(treeRootfs, target);
  }
}

/**
 * `rkt run`'s pod, begun before its images are found: an embryo (NewPod.embryo), made while the
 * store's database still opens on libuv's threads, when this thread would only wait. preparePod
 * takes it on, or discards it when the images are not there, as if it had never been made.
 */
export function podEmbryo(dataDir: string): Promise<NewPod> {
  return NewPod.embryo(new PodDirs(new DataLayout(dataDir).podsDir), false);
}

/** `embryo`: the pod to use (podEmbryo); without one, the pod is made once the images are found. */
export async function preparePod(store: ImageStore, opts: PrepareOptions, embryo?: NewPod): Promise<PreparedPod> {
  let resolved: { key: string }[];
  let manifest: PodManifest;
  let stage1Key: string;
  let overlay: boolean;
  let uidRange: UidRange | undefined;
  try {
    const added = store.imagesAdded;
    ({ stage1Key, resolved, manifest } = await resolveImages(store, opts));
    // a first run of an image (or of stage1, in a new store) is not what later runs do
    if (store.imagesAdded !== added) didOneTimeWork();
    checkVolumeSources(manifest);
    if (opts.privateUsers) checkUserNamespaces();
    // The tree store is shared by every pod: only a copy can take the pod's owners.
    if (opts.privateUsers && !opts.noOverlay) opts.warn('disabling overlay support: "--private-users needs a copy of each app tree to shift its owners"');
    overlay = useOverlay(store, opts.noOverlay || !!opts.privateUsers, opts.warn);
    uidRange = opts.privateUsers ? newUidRange() : undefined;
  } catch (e) {
    embryo?.discard();
    throw e;
  }
  const trees = new TreeStore(store);

  // last-used times go to the database on libuv's threads while the pod is set up on this one
  const touched = Promise.all(resolved.map((r) => store.touch(r.key)));
  touched.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  const pod = embryo ?? (await NewPod.embryo(new PodDirs(store.layout.podsDir), opts.durable === true));
  try {
    pod.startPrepare();
  } catch (e) {
    pod.discard();
    throw e;
  }
  if (opts.uuidFileSave) fs.writeFileSync(opts.uuidFileSave, pod.uuid, { mode: 0o644 });
  const prepareLock = await FileLock.key(store.layout.locksDir, 'prepareLock', false);
  let stage1Manifest: Stage1Manifest;
  try {
    const p = pod.path;
    native.writeFile(under(p, 'pod-created'), '', 0o640);
    if (uidRange) writeUidRange(p, uidRange);
    // stage1
    mark('pod');
    const s1 = await trees.render(stage1Key);
    const s1check = await trees.checkQuick(s1.id);
    if (!s1check.ok) {
      opts.warn(`warning: tree cache is in a bad state: ${s1check.reason}. Rebuilding...`);
      await trees.render(stage1Key, true);
    }
    mark('stage1-tree');
    native.writeFile(under(p, 'stage1TreeStoreID'), s1.id, 0o640);
    mkdirp(under(p, 'stage1'));
    // read once: copied into the pod, and parsed for the entrypoints stage0 execs
    const s1manifest = native.readFile(under(trees.path(s1.id), 'manifest'));
    native.writeFile(under(p, 'stage1', 'manifest'), s1manifest, 0o640);
    stage1Manifest = parseStage1Manifest(s1manifest);
    const stage1Rootfs = under(p, 'stage1', 'rootfs');
    const stage1Upper = overlay ? under(p, 'overlay', s1.id, 'upper') : undefined;
    // What stage0 puts in stage1's rootfs (etc/, each app's manifest and mount point) goes, with
    // overlay, into the upper dir before the mount: a plain create there, where one through the
    // mount costs twice as much. Without overlay, stage1's rootfs is a copy, made first.
    const stage0Files = (root: string): void => {
      native.createDirs([under(root, 'etc'), ...manifest.apps.map((a) => under(root, 'opt', 'stage2', a.name, 'rootfs'))], 0o755);
      resolved.forEach((r, i) => native.writeFile(under(root, 'opt', 'stage2', manifest.apps[i].name, 'manifest'), store.readManifestRaw(r.key), 0o640));
    };
    if (stage1Upper) stage0Files(stage1Upper);
    await materialize(under(trees.path(s1.id), 'rootfs'), stage1Rootfs, stage1Upper ? { upper: stage1Upper, work: under(p, 'overlay', s1.id, 'work') } : undefined);
    if (!stage1Upper) stage0Files(stage1Rootfs);
    // apps
    mark('stage1-mounted');
    for (let i = 0; i < resolved.length; i++) {
      const r = resolved[i];
      const appName = manifest.apps[i].name;
      const t = await trees.render(r.key);
      const info = under(p, 'appsinfo', appName);
      mkdirp(info);
      native.writeFile(under(info, 'manifest'), store.readManifestRaw(r.key), 0o640);
      if (overlay) native.writeFile(under(info, 'treeStoreID'), t.id, 0o640);
      const appDir = under(stage1Rootfs, 'opt', 'stage2', appName);
      await materialize(
        under(trees.path(t.id), 'rootfs'),
        under(appDir, 'rootfs'),
        overlay ? { upper: under(p, 'overlay', t.id, 'upper', appName), work: under(p, 'overlay', t.id, 'work', appName) } : undefined,
      );
      if (uidRange) shiftOwners(under(appDir, 'rootfs'), uidRange);
    }
    await touched;
    if (opts.durable) writeFileDurable(under(p, 'pod'), serializePodManifest(manifest), 0o640);
    else writeFileAtomic(under(p, 'pod'), serializePodManifest(manifest), 0o640);
    if (overlay) native.writeFile(under(p, 'overlay-prepared'), '', 0o640);
    // A prepared pod must survive a crash until run-prepared; a pod run at once dies with the
    // machine anyway, and syncfs would wait for every dirty page of the filesystem.
    if (opts.durable) await native.syncfs(p);
  } catch (e) {
    unmountUnder(pod.path);
    pod.abort();
    throw e;
  } finally {
    prepareLock.release();
  }
  return { pod, manifest, stage1Manifest, uidRange };
}

export function parseStage1Manifest(raw: Buffer): Stage1Manifest {
  try {
    return JSON.parse(raw.toString('utf8')) as Stage1Manifest;
  } catch (e) {
    throw new RktError('EMANIFEST', `stage1's image manifest is not JSON: ${(e as Error).message}`);
  }
}

/** Stage1 and the apps' images, found (or fetched) in the store, and the pod manifest they make. */
async function resolveImages(store: ImageStore, opts: PrepareOptions): Promise<{ stage1Key: string; resolved: { key: string }[]; manifest: PodManifest }> {
  if (opts.apps.length === 0 && !opts.podManifest) throw new RktError('EUSAGE', 'must provide at least one image or specify the pod manifest');
  // a stage1 from a URL is fetched as any image: pull policy new, signature checked, no dependencies
  const stage1Key = await selectStage1(store, opts.stage1, opts.config, opts.log, (url) =>
    fetchImage(store, url, { insecureImage: opts.insecureImage, pullPolicy: 'new', renderTree: false, log: opts.log, env: { ...opts.fetchEnv, withDeps: false } }),
  );
  let resolved: { key: string }[];
  let manifest: PodManifest;
  if (opts.podManifest) {
    manifest = await resolvePodManifest(store, opts.podManifest);
    resolved = manifest.apps.map((a) => ({ key: a.image.id as string }));
  } else {
    const apps: ResolvedApp[] = [];
    for (const a of opts.apps) {
      const key = await fetchImage(store, a.image, {
        insecureImage: opts.insecureImage,
        pullPolicy: opts.pullPolicy,
        signature: a.signature,
        renderTree: false,
        log: opts.log,
        env: opts.fetchEnv,
      });
      apps.push({ args: a, key, manifest: store.readManifest(key) });
    }
    manifest = buildPodManifest(apps, opts.env, opts.volumes);
    resolved = apps;
  }
  mark('images');
  return { stage1Key, resolved, manifest };
}

/**
 * A user's pod manifest (rkt's --pod-manifest): every image must already be in the store, and every
 * app needs an app section, its own or its image's; image IDs are completed to full keys.
 */
export async function resolvePodManifest(store: ImageStore, given: PodManifest): Promise<PodManifest> {
  const pm: PodManifest = JSON.parse(JSON.stringify(given));
  for (const a of pm.apps) {
    let key: string;
    try {
      key = await store.resolveKey(a.image.id as string);
    } catch (e) {
      throw new RktError('ENOTFOUND', `app "${a.name}": image ${a.image.id} is not in the store (rkt does not fetch for --pod-manifest): ${(e as Error).message}`);
    }
    const im = store.readManifest(key);
    a.image.id = key;
    a.image.name ??= im.name;
    if (!a.app) {
      if (!im.app) throw new RktError('EMANIFEST', `app "${a.name}": no app section in the pod manifest or the image manifest`);
      a.app = JSON.parse(JSON.stringify(im.app));
    }
    if (!a.app!.exec || a.app!.exec.length === 0) throw new RktError('EMANIFEST', `app "${a.name}": the app section has no exec`);
  }
  return pm;
}

/** Every mount point below `dir`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

export function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir)) {
    try {
      native.umount(m, true);
    } catch {
      /* already gone */
    }
  }
}

/** rkt's stage1 entrypoint lookup: `coreos.com/rkt/stage1/<name>` in the stage1 manifest. */
export function stage1Entrypoint(stage1Manifest: Stage1Manifest, name: string): string | undefined {
  return stage1Manifest.annotations?.find((a) => a.name === `coreos.com/rkt/stage1/${name}`)?.value;
}
