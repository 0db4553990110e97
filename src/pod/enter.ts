/**
 * `rkt enter` (rkt's rkt/enter.go and stage0/enter.go): the pod must be running; its PID 1 comes
 * from the `pid` file, and the pod must be ready (stage1 writes `rkt/supervisor-status` once every
 * app started), so that the namespaces joined are the pod's and not those of a PID 1 still
 * setting up. The app is --app, or the only one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import { entrypointPath } from './entrypoint';
import { readPodManifest } from './info';
import type { PodDirs } from './pods';

export interface EnterPlan {
  podPath: string;
  bin: string;
  args: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The app to enter: the one named, or the only one (rkt's getAppName). */
export function chooseApp(apps: string[], wanted: string | undefined, warn: (m: string) => void): string {
  if (wanted !== undefined) {
    if (!apps.includes(wanted)) throw new RktError('ENOTFOUND', `app "${wanted}" not found in the pod`);
    return wanted;
  }
  if (apps.length === 1) return apps[0];
  warn('pod contains multiple apps:');
  for (const a of apps) warn(`\t${a}`);
  throw new RktError('EUSAGE', 'specify app using "rkt enter --app= ..."');
}

/** /bin/bash if the app has it, else /bin/sh (symlinks resolved inside the app root). */
export function defaultShell(appRoot: string): string {
  const exists = (p: string): boolean => {
    let cur = p;
    for (let i = 0; i < 40; i++) {
      let st: fs.Stats;
      try {
        st = fs.lstatSync(path.join(appRoot, cur));
      } catch {
        return false;
      }
      if (!st.isSymbolicLink()) return st.isFile();
      const t = fs.readlinkSync(path.join(appRoot, cur));
      cur = t.startsWith('/') ? t : path.posix.join(path.posix.dirname(cur), t);
    }
    return false;
  };
  return exists('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

export async function prepareEnter(
  dirs: PodDirs,
  uuid: string,
  o: { app?: string; cmd: string[]; treeDir?: string; warn: (m: string) => void; timeoutMs?: number },
): Promise<EnterPlan> {
  const notRunning = () => new RktError('EUSAGE', `pod "${uuid}" isn't currently running`);
  let { dir, state } = dirs.state(uuid);
  if (state !== 'running' || !dir) throw notRunning();
  const podPath = dirs.podPath(dir, uuid);
  // rkt polls every 100 ms while the pod runs, for a pid file written late by stage1.
  const ready = path.join(podPath, 'stage1', 'rootfs', 'rkt', 'supervisor-status');
  const t0 = Date.now();
  let pid: number | undefined;
  for (;;) {
    try {
      const s = fs.readFileSync(path.join(podPath, 'pid'), 'utf8').trim();
      if (/^\d+$/.test(s) && fs.readlinkSync(ready) === 'ready') pid = Number(s);
    } catch {
      /* not yet */
    }
    if (pid !== undefined) break;
    ({ state } = dirs.state(uuid));
    if (state !== 'running') throw notRunning();
    if (Date.now() - t0 > (o.timeoutMs ?? 60_000)) throw new RktError('EIO', `pod "${uuid}" did not become ready`);
    await sleep(100);
  }
  const apps = readPodManifest(podPath).apps.map((a) => a.name);
  const app = chooseApp(apps, o.app, o.warn);
  let cmd = o.cmd;
  if (cmd.length === 0) {
    const shell = defaultShell(path.join(podPath, 'stage1', 'rootfs', 'opt', 'stage2', app, 'rootfs'));
    o.warn(`no command specified, assuming "${shell}"`);
    cmd = [shell];
  }
  const bin = entrypointPath(podPath, 'enter', o.treeDir);
  if (!bin) throw new RktError('EUNSUPPORTED', "rkt enter not implemented for pod's stage1");
  return { podPath, bin, args: [`--pid=${pid}`, `--appname=${app}`, '--', ...cmd] };
}
