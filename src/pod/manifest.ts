/**
 * Builds the PodManifest stage1 runs (rkt's stage0 generatePodManifest): each image's app section
 * with the command line's overrides merged in, so stage1 applies it as is.
 */
import * as fs from 'node:fs';
import { RktError } from '../errors';
import type { App, ImageManifest } from '../schema/image-manifest';
import type { Isolator } from '../schema/isolators';
import { checkVolume, parsePodManifest, type PodManifest, type RuntimeApp, type Volume } from '../schema/pod-manifest';
import { Checker } from '../schema/validate';
import { isEnvName, parseQuantity, quantityError, sanitizeACName, acNameError } from '../schema/types';
import type { AppArgs } from './run-args';

export const POD_AC_VERSION = '1.30.0';

export interface PodEnvOptions {
  /** --set-env, in order */
  setEnv: [string, string][];
  /** --set-env-file contents, in order */
  setEnvFile: [string, string][];
  /** --inherit-env: rkt's own environment, below the image's */
  inheritEnv?: NodeJS.ProcessEnv;
  /** pod-level --mount (before the first image): added to every app after its own */
  mounts?: { volume: string; target: string }[];
}

export interface ResolvedApp {
  args: AppArgs;
  key: string;
  manifest: ImageManifest;
}

/** `NAME=VALUE` lines; blank lines and lines starting with `#` or `;` are skipped (rkt's env file). */
export function parseEnvFile(file: string): [string, string][] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RktError('EUSAGE', `cannot read env file ${file}: ${(e as Error).message}`);
  }
  const out: [string, string][] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new RktError('EUSAGE', `env file ${file}: line ${i + 1}: expected NAME=VALUE`);
    const k = line.slice(0, eq);
    if (!isEnvName(k)) throw new RktError('EUSAGE', `env file ${file}: line ${i + 1}: invalid variable name "${k}"`);
    if (seen.has(k)) throw new RktError('EUSAGE', `env file ${file}: key "${k}" already set`);
    seen.add(k);
    out.push([k, line.slice(eq + 1)]);
  });
  return out;
}

export function parseSetEnv(values: string[]): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new RktError('EUSAGE', `invalid argument "${v}" for "--set-env" flag: expected NAME=VALUE`);
    const k = v.slice(0, eq);
    if (seen.has(k)) throw new RktError('EUSAGE', `key "${k}" already set`);
    seen.add(k);
    out.push([k, v.slice(eq + 1)]);
  }
  return out;
}

/** Later layers override earlier ones; inherited variables never override the image's. */
function mergeEnv(app: App | undefined, a: AppArgs, pod: PodEnvOptions): { name: string; value: string }[] {
  const env = new Map<string, string>();
  for (const e of app?.environment ?? []) env.set(e.name, e.value);
  if (pod.inheritEnv) {
    for (const [k, v] of Object.entries(pod.inheritEnv)) if (v !== undefined && !env.has(k) && isEnvName(k)) env.set(k, v);
  }
  for (const [k, v] of pod.setEnvFile) env.set(k, v);
  for (const [k, v] of pod.setEnv) env.set(k, v);
  for (const [k, v] of a.environment) env.set(k, v);
  return [...env].map(([name, value]) => ({ name, value }));
}

function replaceIsolators(list: Isolator[], names: string[], add: Isolator[]): Isolator[] {
  return [...list.filter((i) => !names.includes(i.name)), ...add];
}

function isolatorsFor(app: App | undefined, a: AppArgs): Isolator[] {
  let iso: Isolator[] = [...((app?.isolators as Isolator[] | undefined) ?? [])];
  const quantity = (flag: string, v: string): string => {
    const err = quantityError(v);
    if (err) throw new RktError('EUSAGE', `invalid argument "${v}" for "--${flag}" flag: ${err}`);
    parseQuantity(v);
    return v;
  };
  if (a.memory !== undefined) iso = replaceIsolators(iso, ['resource/memory'], [{ name: 'resource/memory', value: { request: quantity('memory', a.memory), limit: a.memory } }]);
  if (a.cpu !== undefined) iso = replaceIsolators(iso, ['resource/cpu'], [{ name: 'resource/cpu', value: { request: quantity('cpu', a.cpu), limit: a.cpu } }]);
  if (a.cpuShares !== undefined) iso = replaceIsolators(iso, ['os/linux/cpu-shares'], [{ name: 'os/linux/cpu-shares', value: a.cpuShares }]);
  if (a.oomScoreAdj !== undefined) {
    if (a.oomScoreAdj < -1000 || a.oomScoreAdj > 1000) throw new RktError('EUSAGE', `invalid argument "${a.oomScoreAdj}" for "--oom-score-adj" flag: must be in [-1000, 1000]`);
    iso = replaceIsolators(iso, ['os/linux/oom-score-adj'], [{ name: 'os/linux/oom-score-adj', value: a.oomScoreAdj }]);
  }
  if (a.seccomp) {
    const names = ['os/linux/seccomp-retain-set', 'os/linux/seccomp-remove-set'];
    const value: Record<string, unknown> = { set: a.seccomp.set };
    if (a.seccomp.errno) value.errno = a.seccomp.errno;
    iso = replaceIsolators(iso, names, [{ name: `os/linux/seccomp-${a.seccomp.mode}-set`, value } as Isolator]);
  }
  const caps = ['os/linux/capabilities-retain-set', 'os/linux/capabilities-remove-set'];
  if (a.capsRetain) iso = replaceIsolators(iso, caps, [{ name: caps[0], value: { set: a.capsRetain } }]);
  if (a.capsRemove) iso = replaceIsolators(iso, caps, [{ name: caps[1], value: { set: a.capsRemove } }]);
  return iso;
}

function defaultAppName(imageName: string): string {
  const last = imageName.split('/').pop() ?? imageName;
  return sanitizeACName(last);
}

export function buildRuntimeApp(r: ResolvedApp, pod: PodEnvOptions, uid = 0, gid = 0): RuntimeApp {
  const a = r.args;
  const image = r.manifest;
  let app: App | undefined = image.app ? (JSON.parse(JSON.stringify(image.app)) as App) : undefined;
  if (!app) {
    if (a.exec === undefined) {
      throw new RktError('EMANIFEST', `image "${image.name}" has no app section: give one with --exec`);
    }
    app = { exec: [], user: String(uid), group: String(gid) } as unknown as App;
  }
  const name = a.name ?? defaultAppName(image.name);
  const nameErr = acNameError(name);
  if (nameErr) throw new RktError('EUSAGE', `invalid app name "${name}": ${nameErr}`);
  const exec = a.exec !== undefined ? [a.exec] : [...(app.exec ?? [])];
  exec.push(...a.args);
  if (exec.length === 0) throw new RktError('EMANIFEST', `image "${image.name}" has no exec: give one with --exec`);
  app.exec = exec;
  if (a.user !== undefined) app.user = a.user;
  if (a.group !== undefined) app.group = a.group;
  if (a.supplementaryGids !== undefined) app.supplementaryGIDs = a.supplementaryGids;
  if (a.workingDir !== undefined) {
    if (!a.workingDir.startsWith('/')) throw new RktError('EUSAGE', `invalid argument "${a.workingDir}" for "--working-dir" flag: must be an absolute path`);
    app.workingDirectory = a.workingDir;
  }
  app.environment = mergeEnv(app, a, pod);
  app.isolators = isolatorsFor(app, a) as App['isolators'];
  if (a.userAnnotations.length) app.userAnnotations = { ...(app.userAnnotations ?? {}), ...Object.fromEntries(a.userAnnotations) };
  if (a.userLabels.length) app.userLabels = { ...(app.userLabels ?? {}), ...Object.fromEntries(a.userLabels) };
  const rt: RuntimeApp = {
    name,
    image: { name: image.name, id: r.key, labels: image.labels ?? [] },
    app,
    readOnlyRootFS: a.readonlyRootfs ?? false,
    // rkt's order: the app's own --mount flags, then the pod-wide ones
    mounts: [...a.mounts, ...(pod.mounts ?? [])].map((m) => ({ volume: m.volume, path: m.target })),
    annotations: a.annotations.map(([k, v]) => ({ name: k, value: v })),
  };
  return rt;
}

/** `--pod-manifest=FILE`: read and validated here, its images resolved against the store later. */
export function readPodManifestFile(file: string): PodManifest {
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (e) {
    throw new RktError('EUSAGE', `cannot read pod manifest ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const pm = parsePodManifest(text);
  if (pm.apps.length === 0) throw new RktError('EMANIFEST', `invalid pod manifest: apps: at least one app is required`);
  pm.apps.forEach((a, i) => {
    if (!a.image.id) throw new RktError('EMANIFEST', `invalid pod manifest: apps[${i}].image.id: required to run the app "${a.name}"`);
  });
  return pm;
}

const VOLUME_KEYS: Record<string, 'string' | 'bool' | 'int'> = { kind: 'string', source: 'string', readOnly: 'bool', recursive: 'bool', mode: 'string', uid: 'int', gid: 'int' };

/** `--volume NAME,kind=host,source=/p[,readOnly=true][,recursive=false]` or `NAME,kind=empty[,mode=..,uid=..,gid=..]` (types.VolumeFromString). */
export function parseVolumeFlag(flag: string): Volume {
  const [name, ...pairs] = flag.split(',');
  const raw: Record<string, unknown> = { name };
  for (const p of pairs) {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    const kind = VOLUME_KEYS[k];
    if (!kind) throw new RktError('EUSAGE', `invalid argument "${flag}" for "--volume" flag: unknown volume parameter "${k}"`);
    if (kind === 'bool') {
      if (!['true', 'false'].includes(v)) throw new RktError('EUSAGE', `invalid argument "${flag}" for "--volume" flag: ${k} must be true or false`);
      raw[k] = v === 'true';
    } else if (kind === 'int') {
      if (!/^\d+$/.test(v)) throw new RktError('EUSAGE', `invalid argument "${flag}" for "--volume" flag: ${k} must be a number`);
      raw[k] = Number(v);
    } else raw[k] = v;
  }
  return checkVolume(new Checker(`invalid argument "${flag}" for "--volume" flag`, 'EUSAGE'), 'volume', raw);
}

/**
 * Host volumes an app will mount must exist before the pod is made (rkt finds out in stage1, after
 * the pod exists; failing here leaves nothing behind). Volumes no app uses are ignored, as in rkt.
 */
export function checkVolumeSources(pm: PodManifest): void {
  const used = new Set<string>();
  for (const a of pm.apps) {
    for (const m of a.mounts ?? []) used.add(m.volume);
    for (const mp of a.app?.mountPoints ?? []) used.add(mp.name);
  }
  for (const v of pm.volumes ?? []) {
    if (v.kind !== 'host' || !used.has(v.name)) continue;
    if (!fs.existsSync(v.source as string)) throw new RktError('ENOTFOUND', `volume "${v.name}": host source ${v.source} does not exist`);
  }
}

export function checkVolumeNames(volumes: Volume[]): void {
  const seen = new Set<string>();
  for (const v of volumes) {
    if (seen.has(v.name)) throw new RktError('EUSAGE', `duplicate volume name "${v.name}"`);
    seen.add(v.name);
  }
}

export function buildPodManifest(apps: ResolvedApp[], pod: PodEnvOptions, volumes: Volume[] = []): PodManifest {
  const runtimeApps = apps.map((r) => buildRuntimeApp(r, pod));
  const names = new Set<string>();
  for (const a of runtimeApps) {
    if (names.has(a.name)) throw new RktError('EUSAGE', `error: multiple apps with name ${a.name}: use --name to set distinct names`);
    names.add(a.name);
  }
  checkVolumeNames(volumes);
  for (const a of runtimeApps) {
    for (const m of a.mounts ?? []) {
      if (!volumes.some((v) => v.name === m.volume)) throw new RktError('EUSAGE', `could not find volume ${m.volume}`);
    }
  }
  return {
    acVersion: POD_AC_VERSION,
    acKind: 'PodManifest',
    apps: runtimeApps,
    volumes,
    isolators: [],
    annotations: [{ name: 'coreos.com/rkt/stage1/mutable', value: 'false' }],
    ports: [],
  };
}
