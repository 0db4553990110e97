/**
 * rkt's per-app argument grammar (rkt/cli_apps.go): `IMAGE [per-app flags] [-- args... [---]] IMAGE2 ...`.
 * Per-app flags apply to the image before them; `--` starts the app's arguments and `---` ends them.
 */
import { RktError } from '../errors';
import { parseGoBool } from '../util/go';

export interface AppArgs {
  image: string;
  args: string[];
  exec?: string;
  user?: string;
  group?: string;
  supplementaryGids?: number[];
  name?: string;
  signature?: string;
  workingDir?: string;
  readonlyRootfs?: boolean;
  environment: [string, string][];
  memory?: string;
  cpu?: string;
  cpuShares?: number;
  capsRetain?: string[];
  capsRemove?: string[];
  oomScoreAdj?: number;
  annotations: [string, string][];
  userAnnotations: [string, string][];
  userLabels: [string, string][];
  /** per-app --mount, in order */
  mounts: MountArg[];
  seccomp?: SeccompArg;
}

export interface SeccompArg {
  mode: 'retain' | 'remove';
  errno?: string;
  set: string[];
}

/** `--seccomp mode=retain|remove[,errno=ENAME],syscall,...` (rkt's parseSeccompArgs). */
export function parseSeccompFlag(v: string): SeccompArg {
  const parts = v.split(',').map((p) => p.trim());
  const bad = (why: string) => new RktError('EUSAGE', `invalid argument "${v}" for "--seccomp" flag: ${why}`);
  const m = /^mode=(.*)$/.exec(parts[0] ?? '');
  if (!m) throw bad('the first item must be mode=retain or mode=remove');
  if (m[1] !== 'retain' && m[1] !== 'remove') throw bad(`unknown mode "${m[1]}"`);
  const out: SeccompArg = { mode: m[1], set: [] };
  for (const p of parts.slice(1)) {
    if (p.startsWith('errno=')) {
      if (out.errno !== undefined) throw bad('errno given twice');
      const e = p.slice(6);
      if (!/^E[A-Z0-9]+$/.test(e)) throw bad(`invalid errno "${e}"`);
      out.errno = e;
    } else if (p.includes('=')) throw bad(`unknown parameter "${p}"`);
    else if (p !== '') out.set.push(p);
  }
  if (out.set.length === 0) throw bad('no syscall given');
  return out;
}

export interface MountArg {
  volume: string;
  target: string;
}

/** `--mount volume=NAME,target=PATH` (rkt's only keys). */
export function parseMountFlag(v: string): MountArg {
  const m: Partial<MountArg> = {};
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const val = eq < 0 ? '' : part.slice(eq + 1);
    if (k !== 'volume' && k !== 'target') throw new RktError('EUSAGE', `invalid argument "${v}" for "--mount" flag: unknown mount parameter "${k}"`);
    if (m[k] !== undefined) throw new RktError('EUSAGE', `invalid argument "${v}" for "--mount" flag: ${k} given twice`);
    m[k] = val;
  }
  if (!m.volume) throw new RktError('EUSAGE', `invalid argument "${v}" for "--mount" flag: missing volume`);
  if (!m.target) throw new RktError('EUSAGE', `invalid argument "${v}" for "--mount" flag: missing target`);
  checkMountTarget(m.target);
  return m as MountArg;
}

/**
 * A mount target is an absolute path inside the app's root; `..` may move within it but never
 * above it (symlinks in the image are resolved inside the root by stage1).
 */
export function checkMountTarget(target: string): void {
  if (!target.startsWith('/')) throw new RktError('EUSAGE', `mount target "${target}" must be an absolute path`);
  let depth = 0;
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (--depth < 0) throw new RktError('EUSAGE', `mount target "${target}" escapes the app's root filesystem`);
    } else depth++;
  }
}

type ValueFlag =
  | 'exec'
  | 'user'
  | 'group'
  | 'supplementary-gids'
  | 'name'
  | 'signature'
  | 'working-dir'
  | 'environment'
  | 'memory'
  | 'cpu'
  | 'cpu-shares'
  | 'caps-retain'
  | 'caps-remove'
  | 'oom-score-adj'
  | 'annotation'
  | 'user-annotation'
  | 'user-label'
  | 'mount'
  | 'seccomp';

const VALUE_FLAGS = new Set<string>([
  'exec',
  'user',
  'group',
  'supplementary-gids',
  'name',
  'signature',
  'working-dir',
  'environment',
  'memory',
  'cpu',
  'cpu-shares',
  'caps-retain',
  'caps-remove',
  'cap-retain',
  'cap-remove',
  'oom-score-adj',
  'annotation',
  'user-annotation',
  'user-label',
  'mount',
  'seccomp',
]);
const REPEATABLE = new Set(['environment', 'annotation', 'user-annotation', 'user-label', 'mount']);
const BOOL_FLAGS = new Set(['readonly-rootfs']);

function keyValue(flag: string, v: string): [string, string] {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new RktError('EUSAGE', `invalid argument "${v}" for "--${flag}" flag: expected KEY=VALUE`);
  return [v.slice(0, eq), v.slice(eq + 1)];
}

function intFlag(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new RktError('EUSAGE', `invalid argument "${v}" for "--${flag}" flag: not an integer`);
  return Number(v);
}

function capList(flag: string, v: string): string[] {
  const caps = v.split(',').map((c) => c.trim().toUpperCase()).filter((c) => c !== '');
  for (const c of caps) if (!/^CAP_[A-Z_]+$/.test(c)) throw new RktError('EUSAGE', `invalid argument "${v}" for "--${flag}" flag: unknown capability "${c}"`);
  return caps;
}

function apply(app: AppArgs, flag: ValueFlag, v: string): void {
  switch (flag) {
    case 'exec':
      app.exec = v;
      break;
    case 'user':
      app.user = v;
      break;
    case 'group':
      app.group = v;
      break;
    case 'supplementary-gids':
      app.supplementaryGids = v.split(',').map((g) => intFlag(flag, g.trim()));
      break;
    case 'name':
      app.name = v;
      break;
    case 'signature':
      app.signature = v;
      break;
    case 'working-dir':
      app.workingDir = v;
      break;
    case 'environment':
      app.environment.push(keyValue(flag, v));
      break;
    case 'memory':
      app.memory = v;
      break;
    case 'cpu':
      app.cpu = v;
      break;
    case 'cpu-shares':
      app.cpuShares = intFlag(flag, v);
      break;
    case 'caps-retain':
      app.capsRetain = capList(flag, v);
      break;
    case 'caps-remove':
      app.capsRemove = capList(flag, v);
      break;
    case 'oom-score-adj':
      app.oomScoreAdj = intFlag(flag, v);
      break;
    case 'annotation':
      app.annotations.push(keyValue(flag, v));
      break;
    case 'user-annotation':
      app.userAnnotations.push(keyValue(flag, v));
      break;
    case 'user-label':
      app.userLabels.push(keyValue(flag, v));
      break;
    case 'mount':
      app.mounts.push(parseMountFlag(v));
      break;
    case 'seccomp':
      app.seccomp = parseSeccompFlag(v);
      break;
  }
}

function newApp(image: string): AppArgs {
  return { image, args: [], environment: [], annotations: [], userAnnotations: [], userLabels: [], mounts: [] };
}

/**
 * Parses the tokens from the first image on. `allowArgs` is false for fetch-like commands, where
 * `--` is rejected ("app arguments unsupported").
 */
export function parseApps(tokens: string[], allowArgs = true): AppArgs[] {
  const apps: AppArgs[] = [];
  const seen = new Map<AppArgs, Set<string>>();
  let cur: AppArgs | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '--') {
      if (!allowArgs) throw new RktError('EUSAGE', 'app arguments unsupported');
      if (!cur) throw new RktError('EUSAGE', 'an image is required before any app arguments');
      if (cur.args.length > 0 || seen.get(cur)?.has('--')) throw new RktError('EUSAGE', 'only one set of app arguments allowed per image');
      seen.get(cur)?.add('--');
      i++;
      while (i < tokens.length && tokens[i] !== '---') cur.args.push(tokens[i++]);
      continue;
    }
    if (t === '---') continue; // a stray terminator outside an argument list is ignored, as rkt
    if (t.startsWith('--') && t.length > 2) {
      const eq = t.indexOf('=');
      let flag = eq === -1 ? t.slice(2) : t.slice(2, eq);
      if (flag === 'cap-retain') flag = 'caps-retain';
      if (flag === 'cap-remove') flag = 'caps-remove';
      if (!VALUE_FLAGS.has(flag) && !BOOL_FLAGS.has(flag)) throw new RktError('EUSAGE', `unknown flag: --${flag}`);
      if (!cur) throw new RktError('EUSAGE', `--${flag} must follow an image`);
      const flags = seen.get(cur) as Set<string>;
      if (!REPEATABLE.has(flag)) {
        if (flags.has(flag)) throw new RktError('EUSAGE', `--${flag} specified multiple times for the same image`);
        flags.add(flag);
      }
      if (BOOL_FLAGS.has(flag)) {
        const b = eq === -1 ? true : parseGoBool(t.slice(eq + 1));
        if (b === null) throw new RktError('EUSAGE', `invalid argument "${t.slice(eq + 1)}" for "--${flag}" flag`);
        cur.readonlyRootfs = b;
        continue;
      }
      let v: string;
      if (eq !== -1) v = t.slice(eq + 1);
      else {
        if (i + 1 >= tokens.length) throw new RktError('EUSAGE', `flag needs an argument: --${flag}`);
        v = tokens[++i];
      }
      if ((flag === 'caps-retain' && flags.has('caps-remove')) || (flag === 'caps-remove' && flags.has('caps-retain'))) {
        throw new RktError('EUSAGE', 'cannot use both --caps-retain and --caps-remove on the same image');
      }
      apply(cur, flag as ValueFlag, v);
      continue;
    }
    cur = newApp(t);
    seen.set(cur, new Set());
    apps.push(cur);
  }
  return apps;
}

/**
 * The tokens before the first image, for the errors rkt gives there (the pod-level flag parser would
 * only say "unknown flag"): a per-app flag before any image, or `--` before any image. Stops at the
 * first token that is not a flag, which is the image or a pod flag's separate value.
 */
export function checkBeforeFirstImage(tokens: ReadonlyArray<string>): void {
  for (const t of tokens) {
    if (t === '--') throw new RktError('EUSAGE', 'an image is required before any app arguments');
    if (!t.startsWith('--')) return;
    const eq = t.indexOf('=');
    const flag = eq === -1 ? t.slice(2) : t.slice(2, eq);
    // --mount is both: pod-wide before the first image, the app's own after it
    if (flag === 'mount') continue;
    if (VALUE_FLAGS.has(flag) || BOOL_FLAGS.has(flag)) throw new RktError('EUSAGE', `--${flag} must follow an image`);
  }
}
