/** rkt's pkg/pod/wait: poll every 100 ms until the pod is ready or finished, with a timeout. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import type { PodDirs } from './pods';

function ready(dirs: PodDirs, uuid: string): boolean {
  const { dir, state } = dirs.state(uuid);
  if (!dir) return false;
  if (state !== 'running') return state !== 'prepared' && state !== 'preparing';
  const p = dirs.podPath(dir, uuid);
  try {
    return fs.readlinkSync(path.join(p, 'stage1', 'rootfs', 'rkt', 'supervisor-status')) === 'ready';
  } catch {
    return fs.existsSync(path.join(p, 'pid'));
  }
}

function finished(dirs: PodDirs, uuid: string): boolean {
  const { state } = dirs.state(uuid);
  return !['running', 'preparing', 'prepared', 'embryo'].includes(state);
}

export async function waitForPod(dirs: PodDirs, uuid: string, what: 'ready' | 'finished', timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const check = what === 'ready' ? ready : finished;
  while (!check(dirs, uuid)) {
    if (Date.now() >= deadline) throw new RktError('EUSAGE', `error waiting for pod to ${what === 'ready' ? 'become ready' : 'finish'}: context deadline exceeded`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
