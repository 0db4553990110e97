/**
 * `rkt stop` (rkt's stage0/stop.go): pods that already ran are reported, pods that are not running
 * are an error, running pods are stopped by their stage1's stop entrypoint (`[--force] <uuid>`).
 */
import { RktError } from '../errors';
import { entrypointPath, runEntrypoint } from './entrypoint';
import { isAfterRun } from './info';
import type { PodDirs } from './pods';

export function stopPod(dirs: PodDirs, uuid: string, o: { force: boolean; treeDir?: string }): 'stopped' | 'already-stopped' {
  const { dir, state } = dirs.state(uuid);
  if (isAfterRun(state)) return 'already-stopped';
  if (state !== 'running' || !dir) throw new RktError('EUSAGE', `pod "${uuid}" is not running`);
  const podPath = dirs.podPath(dir, uuid);
  const bin = entrypointPath(podPath, 'stop', o.treeDir);
  if (!bin) throw new RktError('EUNSUPPORTED', "rkt stop not implemented for pod's stage1");
  const code = runEntrypoint(podPath, bin, [...(o.force ? ['--force'] : []), uuid]);
  if (code !== 0) throw new RktError('EIO', `stage1 stop entrypoint failed for pod "${uuid}" (exit code ${code})`);
  return 'stopped';
}
