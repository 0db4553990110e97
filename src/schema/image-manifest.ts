/**
 * The appc 0.8.11 ImageManifest (`schema/image.go`, `schema/types/app.go`) and its validation.
 *
 * `parseImageManifest` accepts what the Go code accepts (case-insensitive keys, null = absent, unknown
 * keys ignored) and rejects everything the reference §6.3 lists, with RktError('EMANIFEST') messages
 * that name the field: `invalid manifest: app.ports[0].port must be in 1-65535 range`.
 * The result holds only known fields, in the order Go marshals them, so `JSON.stringify` of it is a
 * faithful re-marshalling.
 */
import { Checker, JsonObject, field } from './validate';
import {
  Annotation,
  Label,
  annotationsError,
  goQuote,
  hashError,
  isAbsPath,
  labelsError,
  labelsToMap,
  semVerError,
  ENV_NAME,
} from './types';
import { Isolator, checkIsolator, checkIsolatorSet } from './isolators';

export interface EventHandler {
  /** `pre-start` or `post-stop` */
  name: string;
  exec: string[];
}

export interface EnvironmentVariable {
  name: string;
  value: string;
}

export interface MountPoint {
  /** AC Name */
  name: string;
  path: string;
  readOnly?: boolean;
}

export interface Port {
  /** AC Name */
  name: string;
  protocol: string;
  /** 1–65535 */
  port: number;
  /** number of consecutive ports; defaults to 1 */
  count: number;
  socketActivated?: boolean;
}

export interface App {
  exec?: string[];
  eventHandlers?: EventHandler[];
  user: string;
  group: string;
  supplementaryGIDs?: number[];
  workingDirectory?: string;
  /** Always present (possibly empty) in a parsed manifest, as Go's unmarshalling makes it. */
  environment?: EnvironmentVariable[];
  mountPoints?: MountPoint[];
  ports?: Port[];
  isolators?: Isolator[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

export interface Dependency {
  /** AC Identifier */
  imageName: string;
  /** `sha512-<hex>`; when set, the retrieved dependency must match it */
  imageID?: string;
  labels?: Label[];
  size?: number;
}

export interface ImageManifest {
  acKind: 'ImageManifest';
  acVersion: string;
  /** AC Identifier */
  name: string;
  labels?: Label[];
  app?: App;
  annotations?: Annotation[];
  dependencies?: Dependency[];
  pathWhitelist?: string[];
}

export type { Label, Annotation, Isolator };

const PREFIX = 'invalid manifest';

/** Parses and fully validates an ImageManifest; throws RktError('EMANIFEST') naming the bad field. */
export function parseImageManifest(json: string | Buffer): ImageManifest {
  const c = new Checker(PREFIX);
  const root = c.object('', c.parseJson(json));
  return checkImageManifest(c, root);
}

/** Validates an already-decoded JSON value as an ImageManifest. */
export function validateImageManifest(value: unknown): ImageManifest {
  const c = new Checker(PREFIX);
  return checkImageManifest(c, c.object('', value));
}

function checkImageManifest(c: Checker, o: JsonObject): ImageManifest {
  const kind = field(o, 'acKind');
  if (kind !== 'ImageManifest') c.fail('acKind', 'missing or bad ACKind (must be "ImageManifest")');

  const acVersion = checkACVersion(c, 'acVersion', field(o, 'acVersion'));

  const n = field(o, 'name');
  if (n === undefined || n === '') c.failField('name', 'must be set');
  const name = c.acIdentifier('name', n);

  const m: ImageManifest = { acKind: 'ImageManifest', acVersion, name };

  const labels = checkLabels(c, 'labels', field(o, 'labels'));
  if (labels !== undefined && labels.length > 0) m.labels = labels;

  const app = field(o, 'app');
  if (app !== undefined) m.app = checkApp(c, 'app', app);

  const annotations = checkAnnotations(c, 'annotations', field(o, 'annotations'));
  if (annotations !== undefined && annotations.length > 0) m.annotations = annotations;

  const deps = field(o, 'dependencies');
  if (deps !== undefined) {
    const list = c.array('dependencies', deps).map((d, i) => checkDependency(c, `dependencies[${i}]`, d));
    if (list.length > 0) m.dependencies = list;
  }

  const pwl = field(o, 'pathWhitelist');
  if (pwl !== undefined) {
    const list = c.stringArray('pathWhitelist', pwl);
    list.forEach((p, i) => {
      if (!isAbsPath(p)) c.fail(`pathWhitelist[${i}]`, `${goQuote(p)} must be an absolute path`);
    });
    if (list.length > 0) m.pathWhitelist = list;
  }
  return m;
}

/** `acVersion`: required, SemVer, not zero. Shared with the pod manifest. */
export function checkACVersion(c: Checker, path: string, v: unknown): string {
  if (v === undefined || v === '') c.failField(path, 'must be set');
  const s = c.string(path, v);
  const e = semVerError(s);
  if (e === 'SemVer cannot be zero') c.fail(path, e);
  if (e !== undefined) c.fail(path, `${goQuote(s)} is not a valid semantic version`);
  return s;
}

/** A label list: `[{name: ACIdentifier, value: string}]` with the set rules. Shared. */
export function checkLabels(c: Checker, path: string, v: unknown): Label[] | undefined {
  if (v === undefined) return undefined;
  const labels = c.array(path, v).map((x, i) => checkNameValue(c, `${path}[${i}]`, x, 'acIdentifier'));
  const e = labelsError(labels);
  if (e !== undefined) c.fail(path, e);
  return labels;
}

/** An annotation list: `[{name: ACIdentifier, value: string}]`, unique names, well-known values. */
export function checkAnnotations(c: Checker, path: string, v: unknown): Annotation[] | undefined {
  if (v === undefined) return undefined;
  const list = c.array(path, v).map((x, i) => checkNameValue(c, `${path}[${i}]`, x, 'acIdentifier'));
  const e = annotationsError(list);
  if (e !== undefined) c.fail(path, e);
  return list;
}

function checkNameValue(c: Checker, path: string, v: unknown, nameKind: 'acIdentifier' | 'env'): { name: string; value: string } {
  const o = c.object(path, v);
  const n = field(o, 'name');
  let name: string;
  if (nameKind === 'acIdentifier') {
    if (n === undefined || n === '') c.failField(`${path}.name`, 'must be set');
    name = c.acIdentifier(`${path}.name`, n);
  } else {
    name = n === undefined ? '' : c.string(`${path}.name`, n);
    if (!ENV_NAME.test(name)) c.fail(`${path}.name`, `${goQuote(name)} is not a valid environment variable name`);
  }
  const val = field(o, 'value');
  const value = val === undefined ? '' : c.string(`${path}.value`, val);
  return { name, value };
}

/** The App object (`types.App.assertValid` plus the per-field types). Shared with the pod manifest. */
export function checkApp(c: Checker, path: string, v: unknown): App {
  const o = c.object(path, v);

  const ex = field(o, 'exec');
  const exec = ex === undefined ? undefined : c.stringArray(`${path}.exec`, ex);

  const u = field(o, 'user');
  if (u === undefined || u === '') c.failField(`${path}.user`, 'is required');
  const user = c.string(`${path}.user`, u);
  const g = field(o, 'group');
  if (g === undefined || g === '') c.failField(`${path}.group`, 'is required');
  const group = c.string(`${path}.group`, g);

  const app: App = exec === undefined ? ({} as App) : ({ exec } as App);

  const eh = field(o, 'eventHandlers');
  if (eh !== undefined) {
    const seen = new Set<string>();
    const list = c.array(`${path}.eventHandlers`, eh).map((x, i) => {
      const p = `${path}.eventHandlers[${i}]`;
      const h = c.object(p, x);
      const hn = field(h, 'name');
      if (hn === undefined || hn === '') c.failField(`${p}.name`, 'must be set');
      const name = c.string(`${p}.name`, hn);
      if (seen.has(name)) c.fail(`${path}.eventHandlers`, `Only one eventHandler of name ${goQuote(name)} allowed`);
      seen.add(name);
      const he = field(h, 'exec');
      return { name, exec: he === undefined ? [] : c.stringArray(`${p}.exec`, he) };
    });
    if (list.length > 0) app.eventHandlers = list;
  }

  app.user = user;
  app.group = group;

  const sg = field(o, 'supplementaryGIDs');
  if (sg !== undefined) {
    const list = c.array(`${path}.supplementaryGIDs`, sg).map((x, i) => c.int(`${path}.supplementaryGIDs[${i}]`, x));
    if (list.length > 0) app.supplementaryGIDs = list;
  }

  const wd = field(o, 'workingDirectory');
  if (wd !== undefined) {
    const s = c.string(`${path}.workingDirectory`, wd);
    if (s !== '' && !isAbsPath(s)) c.failField(`${path}.workingDirectory`, 'must be an absolute path');
    if (s !== '') app.workingDirectory = s;
  }

  const env = field(o, 'environment');
  const environment: EnvironmentVariable[] = [];
  if (env !== undefined) {
    const seen = new Set<string>();
    c.array(`${path}.environment`, env).forEach((x, i) => {
      const nv = checkNameValue(c, `${path}.environment[${i}]`, x, 'env');
      if (seen.has(nv.name)) c.fail(`${path}.environment`, `duplicate environment variable of name ${goQuote(nv.name)}`);
      seen.add(nv.name);
      environment.push(nv);
    });
  }
  app.environment = environment;

  const mps = field(o, 'mountPoints');
  if (mps !== undefined) {
    const list = c.array(`${path}.mountPoints`, mps).map((x, i) => checkMountPoint(c, `${path}.mountPoints[${i}]`, x));
    if (list.length > 0) app.mountPoints = list;
  }

  const ports = field(o, 'ports');
  if (ports !== undefined) {
    const list = c.array(`${path}.ports`, ports).map((x, i) => checkPort(c, `${path}.ports[${i}]`, x));
    if (list.length > 0) app.ports = list;
  }

  const isos = field(o, 'isolators');
  if (isos !== undefined) {
    const list = c.array(`${path}.isolators`, isos).map((x, i) => checkIsolator(c, `${path}.isolators[${i}]`, x));
    checkIsolatorSet(c, `${path}.isolators`, list);
    if (list.length > 0) app.isolators = list;
  }

  const ua = field(o, 'userAnnotations');
  if (ua !== undefined) {
    const m = c.stringMap(`${path}.userAnnotations`, ua);
    if (Object.keys(m).length > 0) app.userAnnotations = m;
  }
  const ul = field(o, 'userLabels');
  if (ul !== undefined) {
    const m = c.stringMap(`${path}.userLabels`, ul);
    if (Object.keys(m).length > 0) app.userLabels = m;
  }
  return app;
}

function checkMountPoint(c: Checker, path: string, v: unknown): MountPoint {
  const o = c.object(path, v);
  const n = field(o, 'name');
  if (n === undefined || n === '') c.failField(`${path}.name`, 'must be set');
  const name = c.acName(`${path}.name`, n);
  const p = field(o, 'path');
  if (p === undefined || p === '') c.failField(`${path}.path`, 'must be set');
  const mp: MountPoint = { name, path: c.string(`${path}.path`, p) };
  const ro = field(o, 'readOnly');
  if (ro !== undefined && c.bool(`${path}.readOnly`, ro)) mp.readOnly = true;
  return mp;
}

/** A Port (`types.Port`): name and protocol set, port in range, port+count ≤ 65536; count 0 → 1. */
export function checkPort(c: Checker, path: string, v: unknown): Port {
  const o = c.object(path, v);
  const n = field(o, 'name');
  if (n === undefined || n === '') c.failField(`${path}.name`, 'must be set');
  const name = c.acName(`${path}.name`, n);
  const pr = field(o, 'protocol');
  if (pr === undefined || pr === '') c.failField(`${path}.protocol`, 'must be set');
  const protocol = c.string(`${path}.protocol`, pr);
  const pv = field(o, 'port');
  const port = pv === undefined ? 0 : c.int(`${path}.port`, pv, 0);
  const cv = field(o, 'count');
  const count = cv === undefined ? 0 : c.int(`${path}.count`, cv, 0);
  if (port < 1 || port > 65535) c.failField(`${path}.port`, 'must be in 1-65535 range');
  if (port + count > 65536) c.fail(path, 'end of port range must be in 1-65535 range');
  const out: Port = { name, protocol, port, count: count === 0 ? 1 : count };
  const sa = field(o, 'socketActivated');
  if (sa !== undefined) out.socketActivated = c.bool(`${path}.socketActivated`, sa);
  return out;
}

function checkDependency(c: Checker, path: string, v: unknown): Dependency {
  const o = c.object(path, v);
  const n = field(o, 'imageName');
  if (n === undefined || n === '') c.failField(`${path}.imageName`, 'must be set');
  const d: Dependency = { imageName: c.acIdentifier(`${path}.imageName`, n) };
  const id = field(o, 'imageID');
  if (id !== undefined) {
    const s = c.string(`${path}.imageID`, id);
    const e = hashError(s);
    if (e !== undefined) c.fail(`${path}.imageID`, `${goQuote(s)} is not a valid image ID (${e})`);
    d.imageID = s;
  }
  const labels = checkLabels(c, `${path}.labels`, field(o, 'labels'));
  if (labels !== undefined && labels.length > 0) d.labels = labels;
  const size = field(o, 'size');
  if (size !== undefined) {
    const s = c.int(`${path}.size`, size, 0);
    if (s > 0) d.size = s;
  }
  return d;
}

/** The manifest's labels as a map (name → value). */
export function labelsOf(m: { labels?: Label[] }): Map<string, string> {
  return labelsToMap(m.labels);
}

/** The `version` label, if any. */
export function versionOf(m: { labels?: Label[] }): string | undefined {
  return m.labels?.find((l) => l.name === 'version')?.value;
}

/** Looks an annotation up by name. */
export function annotationOf(m: { annotations?: Annotation[] }, name: string): string | undefined {
  return m.annotations?.find((a) => a.name === name)?.value;
}
