/**
 * `rkt export` (rkt/export.go): an exited pod's app, with everything it wrote, as a new ACI whose
 * manifest is the app's image manifest. With overlay the app's view is lower (tree store) + upper
 * (the pod's overlay dir): the pod's own overlay mount when it is still there, else (after a reboot)
 * a fresh overlay mounted under $DATA/tmp/rkt-export-<uuid>-*. Without overlay the pod holds a copy,
 * refused while anything is still mounted below it. The archive is written by GNU tar (uncompressed,
 * numeric owners, xattrs), to a temporary name renamed into place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RktError } from '../errors';
import { native } from '../native';
import { chooseApp } from './enter';
import { isAfterRun, readPodManifest } from './info';
import type { PodDirs } from './pods';
import { mountsUnder } from './prepare';

export interface ExportOptions {
  app?: string;
  overwrite: boolean;
  tmpDir: string;
  treeDir: string;
  warn: (m: string) => void;
}

function readTrimmed(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function checkOutput(output: string, overwrite: boolean): void {
  if (path.extname(output) !== '.aci') throw new RktError('EUSAGE', `extension must be .aci (given ${path.extname(output) || output})`);
  if (!overwrite && fs.existsSync(output)) throw new RktError('EEXIST', 'target file exists (try --overwrite)');
}

export function exportPod(dirs: PodDirs, uuid: string, output: string, o: ExportOptions): string {
  checkOutput(output, o.overwrite);
  const { dir, state } = dirs.state(uuid);
  if (!dir || !(state === 'exited' || state === 'exited garbage')) throw new RktError('EUSAGE', 'pod is not exited. Only exited pods can be exported');
  const podPath = dirs.podPath(dir, uuid);
  const app = chooseApp(
    readPodManifest(podPath).apps.map((a) => a.name),
    o.app,
    o.warn,
  );
  const manifest = path.join(podPath, 'appsinfo', app, 'manifest');
  if (!fs.existsSync(manifest)) throw new RktError('ENOTFOUND', `app "${app}" has no image manifest in the pod`);
  const appRootfs = path.join(podPath, 'stage1', 'rootfs', 'opt', 'stage2', app, 'rootfs');
  const overlay = fs.existsSync(path.join(podPath, 'overlay-prepared'));
  fs.mkdirSync(o.tmpDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(o.tmpDir, `rkt-export-${uuid}-`));
  const rootfs = path.join(staging, 'rootfs');
  let mounted = false;
  try {
    fs.copyFileSync(manifest, path.join(staging, 'manifest'));
    fs.mkdirSync(rootfs);
    if (overlay) {
      const treeId = readTrimmed(path.join(podPath, 'appsinfo', app, 'treeStoreID'));
      if (!treeId || !/^[\w.-]+$/.test(treeId)) throw new RktError('EMANIFEST', `app "${app}": no tree store ID in the pod`);
      if (mountsUnder(appRootfs).includes(appRootfs)) {
        // The pod's overlay is still mounted: its merged view is exactly what the app saw.
        native.bindMount(appRootfs, rootfs);
        mounted = true;
      } else {
        const lower = path.join(o.treeDir, treeId, 'rootfs');
        const upper = path.join(podPath, 'overlay', treeId, 'upper', app);
        const work = path.join(podPath, 'overlay', treeId, 'work', app);
        if (!fs.existsSync(lower)) throw new RktError('ENOTFOUND', `app "${app}": tree store ${treeId} is gone`);
        fs.mkdirSync(work, { recursive: true, mode: 0o700 });
        native.mountOverlay([lower], upper, work, rootfs);
        mounted = true;
      }
    } else {
      const busy = mountsUnder(appRootfs);
      if (busy.length) throw new RktError('EUSAGE', `app "${app}" still has mounts below its rootfs (${busy[busy.length - 1]})`);
      native.bindMount(appRootfs, rootfs);
      mounted = true;
    }
    const tmp = path.join(path.dirname(path.resolve(output)), `.${path.basename(output)}.rkt-export-${process.pid}`);
    const r = spawnSync('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-C', staging, '-cf', tmp, 'manifest', 'rootfs'], { encoding: 'utf8' });
    if (r.status !== 0) {
      fs.rmSync(tmp, { force: true });
      throw new RktError('EIO', `failed to write ${output}: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`);
    }
    fs.renameSync(tmp, output);
    return app;
  } finally {
    if (mounted) {
      try {
        native.umount(rootfs, false);
      } catch {
        native.umount(rootfs, true);
      }
    }
    // Never a recursive delete through a mount: that would delete the pod's files.
    if (mountsUnder(staging).length === 0) fs.rmSync(staging, { recursive: true, force: true });
  }
}
