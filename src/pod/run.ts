/**
 * The hand-off to stage1 (rkt's stage0 Run): write what stage1 reads besides the pod manifest
 * (DNS and hosts sources), build the run entrypoint's argv, and execve it from the addon so the
 * running pod holds no Node process. The pod lock fd crosses the exec as RKT_LOCK_FD.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import { native } from '../native';
import { parseStage1Manifest, stage1Entrypoint, type Stage1Manifest } from './prepare';
import { readUidRange, type UidRange } from './userns';
import { mark } from '../util/timing';
import { under } from '../util/paths';
import { hostsFile, resolvConf, stage1RunArgs, type RunOptions } from './run-options';

export type { RunOptions } from './run-options';

export function writeNameResolution(podPath: string, o: RunOptions): void {
  const etc = under(podPath, 'stage1', 'rootfs', 'etc');
  native.createDirs([etc], 0o755);
  const resolv = resolvConf(o);
  if (resolv === 'host') fs.copyFileSync('/etc/resolv.conf', path.join(etc, 'rkt-resolv.conf'));
  else if (resolv) fs.writeFileSync(path.join(etc, 'rkt-resolv.conf'), resolv, { mode: 0o644 });
  const hosts = hostsFile(o.hostsEntries);
  if (hosts === 'host') fs.copyFileSync('/etc/hosts', path.join(etc, 'rkt-hosts'));
  else if (hosts) fs.writeFileSync(path.join(etc, 'rkt-hosts'), hosts, { mode: 0o644 });
}

/**
 * Never returns on success. `known`: what stage0 has just written into the pod (rkt run), so that
 * it is not read back; run-prepared reads it from the pod.
 */
export function execStage1(podPath: string, uuid: string, lockFd: number, o: RunOptions, known?: { stage1Manifest: Stage1Manifest; uidRange: UidRange | undefined }): never {
  const stage1Manifest = known ? known.stage1Manifest : parseStage1Manifest(fs.readFileSync(path.join(podPath, 'stage1', 'manifest')));
  const entry = stage1Entrypoint(stage1Manifest, 'run');
  if (!entry) throw new RktError('EUNSUPPORTED', 'stage1 has no run entrypoint (coreos.com/rkt/stage1/run)');
  const bin = path.join(podPath, 'stage1', 'rootfs', entry);
  const env = Object.entries(process.env)
    .filter(([k]) => k !== 'RKT_LOCK_FD')
    .map(([k, v]) => `${k}=${v ?? ''}`);
  env.push(`RKT_LOCK_FD=${lockFd}`);
  const range = known ? known.uidRange : readUidRange(podPath);
  const args = stage1RunArgs(uuid, { ...o, privateUsers: range ? `${range.shift}:${range.count}` : undefined });
  mark('exec');
  // exec skips exit handlers: whatever would run at exit and must not be lost runs now (bin/rkt's code cache)
  (process as NodeJS.EventEmitter).emit('rkt:before-exec');
  native.execStage1(bin, [bin, ...args], env, podPath, [lockFd]);
  throw new RktError('EINTERNAL', 'execve returned');
}
