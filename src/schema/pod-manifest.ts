/**
 * The appc 0.8.11 PodManifest (`schema/pod.go`, `spec/pods.md`) and its validation, in the style of
 * the image manifest: RktError('EMANIFEST') with `invalid pod manifest: <field>: <reason>`.
 */
import { Checker, JsonObject, field } from './validate';
import { Annotation, Label, goQuote, hashError, isAbsPath } from './types';
import { Isolator, checkIsolator } from './isolators';
import { App, Port, checkACVersion, checkAnnotations, checkApp, checkLabels, checkPort } from './image-manifest';

export interface RuntimeImage {
  /** AC Identifier */
  name?: string;
  /** `sha512-<hex>`; required to run (checked by the caller, as rkt does) */
  id?: string;
  labels?: Label[];
}

export interface Volume {
  /** AC Name */
  name: string;
  kind: 'host' | 'empty';
  /** host only; absolute */
  source?: string;
  readOnly?: boolean;
  recursive?: boolean;
  /** empty only; octal string, default "0755" */
  mode?: string;
  /** empty only; default 0 */
  uid?: number;
  /** empty only; default 0 */
  gid?: number;
}

export interface Mount {
  /** AC Name of a pod volume (or of `appVolume`) */
  volume: string;
  path: string;
  appVolume?: Volume;
}

export interface RuntimeApp {
  /** AC Name, unique in the pod */
  name: string;
  image: RuntimeImage;
  app?: App;
  readOnlyRootFS?: boolean;
  mounts?: Mount[];
  annotations?: Annotation[];
}

export interface ExposedPort {
  /** AC Name of a port declared by one app */
  name: string;
  hostPort: number;
  hostIP?: string;
  podPort?: Port;
}

export interface PodManifest {
  acVersion: string;
  acKind: 'PodManifest';
  apps: RuntimeApp[];
  volumes: Volume[];
  isolators: Isolator[];
  annotations: Annotation[];
  ports: ExposedPort[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

const PREFIX = 'invalid pod manifest';

export const EMPTY_VOLUME_DEFAULT_MODE = '0755';

/** Parses and validates a PodManifest; throws RktError('EMANIFEST') naming the bad field. */
export function parsePodManifest(json: string | Buffer): PodManifest {
  const c = new Checker(PREFIX);
  return checkPodManifest(c, c.object('', c.parseJson(json)));
}

/** Validates an already-decoded JSON value as a PodManifest. */
export function validatePodManifest(value: unknown): PodManifest {
  const c = new Checker(PREFIX);
  return checkPodManifest(c, c.object('', value));
}

function checkPodManifest(c: Checker, o: JsonObject): PodManifest {
  const acVersion = checkACVersion(c, 'acVersion', field(o, 'acVersion'));
  if (field(o, 'acKind') !== 'PodManifest') c.fail('acKind', 'missing or bad ACKind (must be "PodManifest")');

  const apps: RuntimeApp[] = [];
  const a = field(o, 'apps');
  if (a !== undefined) {
    const seen = new Set<string>();
    c.array('apps', a).forEach((x, i) => {
      const ra = checkRuntimeApp(c, `apps[${i}]`, x);
      if (seen.has(ra.name)) c.fail('apps', `duplicate apps of name ${goQuote(ra.name)}`);
      seen.add(ra.name);
      apps.push(ra);
    });
  }

  const volumes: Volume[] = [];
  const v = field(o, 'volumes');
  if (v !== undefined) {
    const seen = new Set<string>();
    c.array('volumes', v).forEach((x, i) => {
      const vol = checkVolume(c, `volumes[${i}]`, x);
      if (seen.has(vol.name)) c.fail('volumes', `duplicate volume name ${goQuote(vol.name)}`);
      seen.add(vol.name);
      volumes.push(vol);
    });
  }

  // Pod isolators are a plain list in Go: each known value is checked, no set rules, unknown kept.
  const iv = field(o, 'isolators');
  const isolators = iv === undefined ? [] : c.array('isolators', iv).map((x, i) => checkIsolator(c, `isolators[${i}]`, x));

  const annotations = checkAnnotations(c, 'annotations', field(o, 'annotations')) ?? [];

  const pv = field(o, 'ports');
  const ports = pv === undefined ? [] : c.array('ports', pv).map((x, i) => checkExposedPort(c, `ports[${i}]`, x));

  const pm: PodManifest = { acVersion, acKind: 'PodManifest', apps, volumes, isolators, annotations, ports };
  const ua = field(o, 'userAnnotations');
  if (ua !== undefined) {
    const m = c.stringMap('userAnnotations', ua);
    if (Object.keys(m).length > 0) pm.userAnnotations = m;
  }
  const ul = field(o, 'userLabels');
  if (ul !== undefined) {
    const m = c.stringMap('userLabels', ul);
    if (Object.keys(m).length > 0) pm.userLabels = m;
  }
  return pm;
}

function checkRuntimeApp(c: Checker, path: string, v: unknown): RuntimeApp {
  const o = c.object(path, v);
  const n = field(o, 'name');
  if (n === undefined || n === '') c.failField(`${path}.name`, 'must be set');
  const name = c.acName(`${path}.name`, n);

  const image: RuntimeImage = {};
  const iv = field(o, 'image');
  if (iv !== undefined) {
    const io = c.object(`${path}.image`, iv);
    const iname = field(io, 'name');
    if (iname !== undefined) image.name = c.acIdentifier(`${path}.image.name`, iname);
    const id = field(io, 'id');
    if (id !== undefined && id !== '') {
      const s = c.string(`${path}.image.id`, id);
      const e = hashError(s);
      if (e !== undefined) c.fail(`${path}.image.id`, `${goQuote(s)} is not a valid image ID (${e})`);
      image.id = s;
    }
    const labels = checkLabels(c, `${path}.image.labels`, field(io, 'labels'));
    if (labels !== undefined && labels.length > 0) image.labels = labels;
  }

  const ra: RuntimeApp = { name, image };
  const app = field(o, 'app');
  if (app !== undefined) ra.app = checkApp(c, `${path}.app`, app);
  const ro = field(o, 'readOnlyRootFS');
  if (ro !== undefined && c.bool(`${path}.readOnlyRootFS`, ro)) ra.readOnlyRootFS = true;
  const mv = field(o, 'mounts');
  if (mv !== undefined) {
    const mounts = c.array(`${path}.mounts`, mv).map((x, i) => checkMount(c, `${path}.mounts[${i}]`, x));
    if (mounts.length > 0) ra.mounts = mounts;
  }
  const annotations = checkAnnotations(c, `${path}.annotations`, field(o, 'annotations'));
  if (annotations !== undefined && annotations.length > 0) ra.annotations = annotations;
  return ra;
}

function checkMount(c: Checker, path: string, v: unknown): Mount {
  const o = c.object(path, v);
  const vn = field(o, 'volume');
  if (vn === undefined || vn === '') c.failField(`${path}.volume`, 'must be set');
  const volume = c.acName(`${path}.volume`, vn);
  const p = field(o, 'path');
  if (p === undefined || p === '') c.failField(`${path}.path`, 'must be set');
  const m: Mount = { volume, path: c.string(`${path}.path`, p) };
  const av = field(o, 'appVolume');
  if (av !== undefined) m.appVolume = checkVolume(c, `${path}.appVolume`, av);
  return m;
}

/** A Volume (`types.Volume.assertValid` after `maybeSetDefaults`). */
export function checkVolume(c: Checker, path: string, v: unknown): Volume {
  const o = c.object(path, v);
  const n = field(o, 'name');
  if (n === undefined || n === '') c.failField(`${path}.name`, 'must be set');
  const name = c.acName(`${path}.name`, n);
  const k = field(o, 'kind');
  const kind = k === undefined ? '' : c.string(`${path}.kind`, k);
  const s = field(o, 'source');
  const source = s === undefined ? '' : c.string(`${path}.source`, s);
  const ro = field(o, 'readOnly');
  const readOnly = ro === undefined ? undefined : c.bool(`${path}.readOnly`, ro);
  const rec = field(o, 'recursive');
  const recursive = rec === undefined ? undefined : c.bool(`${path}.recursive`, rec);
  const mo = field(o, 'mode');
  const mode = mo === undefined ? undefined : c.string(`${path}.mode`, mo);
  const u = field(o, 'uid');
  const uid = u === undefined ? undefined : c.int(`${path}.uid`, u);
  const g = field(o, 'gid');
  const gid = g === undefined ? undefined : c.int(`${path}.gid`, g);

  const vol: Volume = { name, kind: kind as Volume['kind'] };
  switch (kind) {
    case 'empty':
      if (source !== '') c.fail(path, 'source for empty volume must be empty');
      break;
    case 'host':
      if (source === '') c.fail(path, 'source for host volume cannot be empty');
      if (mode !== undefined) c.fail(path, 'mode for host volume cannot be set');
      if (uid !== undefined) c.fail(path, 'uid for host volume cannot be set');
      if (gid !== undefined) c.fail(path, 'gid for host volume cannot be set');
      if (!isAbsPath(source)) c.fail(path, 'source for host volume must be absolute path');
      vol.source = source;
      break;
    default:
      c.fail(`${path}.kind`, 'unrecognized volume kind: should be one of "empty", "host"');
  }
  if (readOnly !== undefined) vol.readOnly = readOnly;
  if (recursive !== undefined) vol.recursive = recursive;
  if (kind === 'empty') {
    vol.mode = mode ?? EMPTY_VOLUME_DEFAULT_MODE;
    vol.uid = uid ?? 0;
    vol.gid = gid ?? 0;
  }
  return vol;
}

function checkExposedPort(c: Checker, path: string, v: unknown): ExposedPort {
  const o = c.object(path, v);
  const n = field(o, 'name');
  if (n === undefined || n === '') c.failField(`${path}.name`, 'must be set');
  const name = c.acName(`${path}.name`, n);
  const hp = field(o, 'hostPort');
  const hostPort = hp === undefined ? 0 : c.int(`${path}.hostPort`, hp, 0, 65535);
  const ep: ExposedPort = { name, hostPort };
  const ip = field(o, 'hostIP');
  if (ip !== undefined && ip !== '') {
    const s = c.string(`${path}.hostIP`, ip);
    // node:net only here, where a port has a hostIP: loading it costs every `rkt run` a few ms
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if ((require('node:net') as typeof import('node:net')).isIP(s) === 0) c.fail(`${path}.hostIP`, `invalid IP address ${goQuote(s)}`);
    ep.hostIP = s;
  }
  const pp = field(o, 'podPort');
  if (pp !== undefined) ep.podPort = checkPort(c, `${path}.podPort`, pp);
  return ep;
}

/**
 * Serializes like Go's `json.Marshal(PodManifest)`: key order of the Go structs, and the pod-level
 * `volumes`, `isolators`, `annotations`, `ports` emitted as `null` when empty.
 */
export function serializePodManifest(pm: PodManifest, pretty = false): string {
  const out: Record<string, unknown> = {
    acVersion: pm.acVersion,
    acKind: pm.acKind,
    apps: pm.apps,
    volumes: pm.volumes.length > 0 ? pm.volumes : null,
    isolators: pm.isolators.length > 0 ? pm.isolators : null,
    annotations: pm.annotations.length > 0 ? pm.annotations : null,
    ports: pm.ports.length > 0 ? pm.ports : null,
  };
  if (pm.userAnnotations && Object.keys(pm.userAnnotations).length > 0) out.userAnnotations = pm.userAnnotations;
  if (pm.userLabels && Object.keys(pm.userLabels).length > 0) out.userLabels = pm.userLabels;
  return pretty ? JSON.stringify(out, null, '\t') : JSON.stringify(out);
}
