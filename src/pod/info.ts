/**
 * What `rkt list`, `rkt status` and `rkt cat-manifest` read from a pod directory (rkt's pkg/pod
 * getters): state, times, pid, app exit statuses, and the v1.Pod JSON shape (§1.4).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import type { PodManifest } from '../schema/pod-manifest';
import { PodDirs, type PodState, type PodStateDir } from './pods';

export interface AppInfo {
  name: string;
  imageName: string;
  imageId: string;
  exitCode?: number;
}

export interface PodInfo {
  uuid: string;
  dir: PodStateDir | undefined;
  state: PodState;
  path: string;
  manifest?: PodManifest;
  created?: Date;
  started?: Date;
  pid?: number;
  apps: AppInfo[];
}

export function readPodManifest(podPath: string): PodManifest {
  try {
    return JSON.parse(fs.readFileSync(path.join(podPath, 'pod'), 'utf8')) as PodManifest;
  } catch (e) {
    throw new RktError('ENOTFOUND', `cannot read pod manifest: ${(e as Error).message}`);
  }
}

function mtime(p: string): Date | undefined {
  try {
    return fs.statSync(p).mtime;
  } catch {
    return undefined;
  }
}

function readInt(p: string): number | undefined {
  try {
    const s = fs.readFileSync(p, 'utf8').trim();
    return /^-?\d+$/.test(s) ? Number(s) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Status files live in the stage1 rootfs, or in its overlay upper dir once unmounted. With overlay
 * every file stage1 wrote is in the upper dir, mounted or not, so that is read first: one read per
 * app instead of a failing one on a pod whose overlay is gone.
 */
function statusDirs(podPath: string): string[] {
  const dirs: string[] = [];
  if (fs.existsSync(path.join(podPath, 'overlay-prepared'))) {
    try {
      const id = fs.readFileSync(path.join(podPath, 'stage1TreeStoreID'), 'utf8').trim();
      dirs.push(path.join(podPath, 'overlay', id, 'upper', 'rkt', 'status'));
    } catch {
      /* no tree id */
    }
  }
  dirs.push(path.join(podPath, 'stage1', 'rootfs', 'rkt', 'status'));
  return dirs;
}

/**
 * `name:version` of an app's image. stage0 copied the image's labels into the pod manifest, which
 * is already parsed; the app's image manifest in appsinfo/ (rkt's source) is read only for pods
 * whose manifest lacks them (a user's --pod-manifest).
 */
function imageDisplayName(podPath: string, app: string, image: { name?: string; labels?: { name: string; value: string }[] }): string {
  if (image.name && image.labels?.length) {
    const v = image.labels.find((l) => l.name === 'version')?.value;
    return v ? `${image.name}:${v}` : image.name;
  }
  const fallback = image.name ?? '';
  try {
    const m = JSON.parse(fs.readFileSync(path.join(podPath, 'appsinfo', app, 'manifest'), 'utf8')) as { name: string; labels?: { name: string; value: string }[] };
    const v = m.labels?.find((l) => l.name === 'version')?.value;
    return v ? `${m.name}:${v}` : m.name;
  } catch {
    return fallback || '--';
  }
}

/**
 * `known`: the state dir the caller just listed the pod in, saving the lookup through all six.
 * `statuses: false` skips the pid and the apps' exit codes (the table of `rkt list` shows neither),
 * which are most of the reads for a pod that ran.
 */
export function podInfo(dirs: PodDirs, uuid: string, known?: PodStateDir, opts: { statuses?: boolean } = {}): PodInfo {
  const statuses = opts.statuses ?? true;
  const { dir, state } = known ? dirs.stateIn(known, uuid) : dirs.state(uuid);
  const p = dir ? dirs.podPath(dir, uuid) : '';
  const info: PodInfo = { uuid, dir, state, path: p, apps: [] };
  if (!dir) return info;
  try {
    info.manifest = readPodManifest(p);
  } catch {
    /* embryo or aborted: no manifest yet */
  }
  info.created = mtime(path.join(p, 'pod-created')) ?? mtime(path.join(p, 'pod'));
  // Pods that never ran have no pid and no statuses: skip the reads that would all fail.
  const ran = dir === 'run' || dir === 'exited-garbage' || dir === 'garbage';
  if (ran) {
    info.started = mtime(path.join(p, 'pid')) ?? mtime(path.join(p, 'ppid'));
    if (statuses) info.pid = readInt(path.join(p, 'pid')) ?? readInt(path.join(p, 'ppid'));
  }
  const sdirs = ran && statuses ? statusDirs(p) : [];
  for (const a of info.manifest?.apps ?? []) {
    let code: number | undefined;
    for (const d of sdirs) {
      code ??= readInt(path.join(d, a.name));
    }
    info.apps.push({ name: a.name, imageName: imageDisplayName(p, a.name, a.image), imageId: a.image.id ?? '', exitCode: code });
  }
  return info;
}

const AFTER_RUN: PodState[] = ['exited', 'exited garbage', 'exited deleting', 'deleting', 'garbage'];

export function isAfterRun(s: PodState): boolean {
  return AFTER_RUN.includes(s);
}

const ns = (d: Date | undefined): number => (d ? d.getTime() * 1e6 : 0);

/** api/v1 Pod (§1.4). */
export function podToJson(info: PodInfo): Record<string, unknown> {
  const finished = isAfterRun(info.state);
  return {
    name: info.uuid,
    state: info.state,
    networks: [],
    app_names: info.apps.map((a) => a.name),
    apps: info.apps.map((a) => ({
      name: a.name,
      state: info.state === 'running' ? 'running' : finished ? 'exited' : info.state === 'prepared' ? 'created' : 'unknown',
      created_at: ns(info.created),
      started_at: ns(info.started),
      finished_at: 0,
      exit_code: a.exitCode ?? 0,
      image_id: a.imageId,
      mounts: [],
      user_annotations: {},
      user_labels: {},
    })),
    created_at: ns(info.created),
    started_at: ns(info.started),
    user_annotations: {},
    user_labels: {},
  };
}
