/**
 * Calling a pod's stage1 entrypoints other than `run` (rkt's stage0 enter/stop/gc): find the
 * entrypoint named in the pod's `stage1/manifest`, then either exec it (enter: the user's terminal
 * goes to it, no Node process stays in between) or run it as a child in the pod directory (stop, gc).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RktError } from '../errors';
import { native } from '../native';
import { stage1Entrypoint } from './prepare';

export type EntrypointName = 'enter' | 'stop' | 'gc';

/**
 * The entrypoint binary. After a reboot-like state the stage1 overlay is no longer mounted, so the
 * binary is taken from the stage1 tree in the tree store instead (what rkt gets by re-mounting).
 */
export function entrypointPath(podPath: string, name: EntrypointName, treeDir?: string): string | undefined {
  let manifest: { annotations?: { name: string; value: string }[] };
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(podPath, 'stage1', 'manifest'), 'utf8'));
  } catch {
    return undefined;
  }
  const entry = stage1Entrypoint(manifest, name);
  if (!entry) return undefined;
  const inPod = path.join(podPath, 'stage1', 'rootfs', entry);
  if (fs.existsSync(inPod)) return inPod;
  if (treeDir) {
    try {
      const id = fs.readFileSync(path.join(podPath, 'stage1TreeStoreID'), 'utf8').trim();
      const inTree = path.join(treeDir, id, 'rootfs', entry);
      if (/^[\w.-]+$/.test(id) && fs.existsSync(inTree)) return inTree;
    } catch {
      /* no tree id: a copied stage1 that is gone */
    }
  }
  return undefined;
}

/** Runs an entrypoint to completion in the pod directory, its output going to ours. */
export function runEntrypoint(podPath: string, bin: string, args: string[]): number {
  const r = spawnSync(bin, args, { cwd: podPath, stdio: ['ignore', 'inherit', 'inherit'], argv0: bin });
  if (r.error) throw new RktError('EIO', `failed to run ${bin}: ${r.error.message}`);
  return r.status ?? 128 + (r.signal ? (require('node:os').constants.signals[r.signal] as number) : 0);
}

/** Replaces this process with the entrypoint (cwd: the pod directory). Never returns on success. */
export function execEntrypoint(podPath: string, bin: string, args: string[]): never {
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  native.execStage1(bin, [bin, ...args], env, podPath, []);
  throw new RktError('EINTERNAL', 'execve returned');
}
