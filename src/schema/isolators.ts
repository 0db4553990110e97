/**
 * appc isolators (`schema/types/isolator*.go`, `spec/ace.md`): value rules per known isolator and the
 * set rules an App applies (unknown isolator, too many instances, incompatible pairs).
 */
import { Checker, field } from './validate';
import { goQuote, Quantity, parseQuantityExact, quantityError } from './types';

export interface Isolator {
  name: string;
  /** The value exactly as written in the manifest (validated for known isolator names). */
  value: unknown;
}

export const ISOLATOR = Object.freeze({
  resourceCpu: 'resource/cpu',
  resourceMemory: 'resource/memory',
  resourceBlockBandwidth: 'resource/block-bandwidth',
  resourceBlockIops: 'resource/block-iops',
  resourceNetworkBandwidth: 'resource/network-bandwidth',
  capabilitiesRetainSet: 'os/linux/capabilities-retain-set',
  capabilitiesRemoveSet: 'os/linux/capabilities-remove-set',
  seccompRetainSet: 'os/linux/seccomp-retain-set',
  seccompRemoveSet: 'os/linux/seccomp-remove-set',
  noNewPrivileges: 'os/linux/no-new-privileges',
  oomScoreAdj: 'os/linux/oom-score-adj',
  cpuShares: 'os/linux/cpu-shares',
  selinuxContext: 'os/linux/selinux-context',
  apparmorProfile: 'os/linux/apparmor-profile',
  unixSysctl: 'os/unix/sysctl',
});

/** The spec's default capability bounding set when no capability isolator is given. */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETUID',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETFCAP',
  'CAP_SYS_CHROOT',
]);

/** Typed views of the known isolator values (see `isolatorValue`). */
export interface ResourceValue {
  default: boolean;
  request?: Quantity;
  limit?: Quantity;
}
export interface SetValue {
  set: string[];
}
export interface SeccompValue {
  set: string[];
  errno?: string;
}
export interface SELinuxContextValue {
  user: string;
  role: string;
  type: string;
  level: string;
}
export interface ApparmorProfileValue {
  profile: string;
}

interface IsolatorKind {
  multipleAllowed: boolean;
  conflicts: readonly string[];
  /** Validates the raw value and returns its typed form. */
  check(c: Checker, path: string, v: unknown): unknown;
}

function resourceKind(defaultRequired: boolean): IsolatorKind {
  return {
    multipleAllowed: true,
    conflicts: [],
    check(c, path, v): ResourceValue {
      const o = c.object(path, v);
      const d = field(o, 'default');
      const def = d === undefined ? false : c.bool(`${path}.default`, d);
      const request = quantityField(c, `${path}.request`, field(o, 'request'));
      const limit = quantityField(c, `${path}.limit`, field(o, 'limit'));
      if (defaultRequired) {
        if (!def) c.fail(path, 'default must be true');
        if (request !== undefined) c.fail(path, 'request not supported by this resource, must be empty');
      } else if (def) {
        c.fail(path, 'default must be false');
      }
      const out: ResourceValue = { default: def };
      if (request !== undefined) out.request = request;
      if (limit !== undefined) out.limit = limit;
      return out;
    },
  };
}

function quantityField(c: Checker, path: string, v: unknown): Quantity | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') c.fail(path, 'must be a quantity string');
  const e = quantityError(v);
  if (e !== undefined) c.fail(path, `${goQuote(String(v))} is not a valid quantity (${e})`);
  const q = parseQuantityExact(v);
  if (q.num < 0n) c.fail(path, `${goQuote(String(v))} must not be negative`);
  return q;
}

function capabilitiesKind(conflict: string): IsolatorKind {
  return {
    multipleAllowed: true,
    conflicts: [conflict],
    check(c, path, v): SetValue {
      const o = c.object(path, v);
      const s = field(o, 'set');
      const set = s === undefined ? [] : c.stringArray(`${path}.set`, s);
      if (set.length === 0) c.fail(path, 'set must be non-empty');
      return { set };
    },
  };
}

function seccompKind(conflict: string): IsolatorKind {
  return {
    multipleAllowed: false,
    conflicts: [conflict],
    check(c, path, v): SeccompValue {
      const o = c.object(path, v);
      const s = field(o, 'set');
      const set = s === undefined ? [] : c.stringArray(`${path}.set`, s);
      if (set.length === 0) c.fail(path, 'set must be non-empty');
      const e = field(o, 'errno');
      const errno = e === undefined ? '' : c.string(`${path}.errno`, e);
      if (errno !== '' && !/^E[A-Z0-9]*$/.test(errno)) {
        c.fail(`${path}.errno`, `${goQuote(errno)} must be an upper case errno name starting with "E"`);
      }
      return errno === '' ? { set } : { set, errno };
    },
  };
}

function intKind(name: string, min: number, max: number): IsolatorKind {
  return {
    multipleAllowed: false,
    conflicts: [],
    check(c: Checker, path: string, v: unknown): number {
      if (typeof v !== 'number' || !Number.isInteger(v)) c.fail(path, `must be an integer, got ${JSON.stringify(v)}`);
      if (v < min || v > max) c.fail(path, `${name} must be between ${min} and ${max}, got ${v}`);
      return v;
    },
  };
}

const KINDS: ReadonlyMap<string, IsolatorKind> = new Map<string, IsolatorKind>([
  [ISOLATOR.resourceCpu, resourceKind(false)],
  [ISOLATOR.resourceMemory, resourceKind(false)],
  [ISOLATOR.resourceBlockBandwidth, resourceKind(true)],
  [ISOLATOR.resourceBlockIops, resourceKind(true)],
  [ISOLATOR.resourceNetworkBandwidth, resourceKind(true)],
  [ISOLATOR.capabilitiesRetainSet, capabilitiesKind(ISOLATOR.capabilitiesRemoveSet)],
  [ISOLATOR.capabilitiesRemoveSet, capabilitiesKind(ISOLATOR.capabilitiesRetainSet)],
  [ISOLATOR.seccompRetainSet, seccompKind(ISOLATOR.seccompRemoveSet)],
  [ISOLATOR.seccompRemoveSet, seccompKind(ISOLATOR.seccompRetainSet)],
  [
    ISOLATOR.noNewPrivileges,
    { multipleAllowed: true, conflicts: [], check: (c, path, v): boolean => c.bool(path, v) },
  ],
  [ISOLATOR.oomScoreAdj, intKind(ISOLATOR.oomScoreAdj, -1000, 1000)],
  [ISOLATOR.cpuShares, intKind(ISOLATOR.cpuShares, 2, 262144)],
  [
    ISOLATOR.selinuxContext,
    {
      multipleAllowed: false,
      conflicts: [],
      check(c, path, v): SELinuxContextValue {
        const o = c.object(path, v);
        const get = (k: string): string => {
          const x = field(o, k);
          return x === undefined ? '' : c.string(`${path}.${k}`, x);
        };
        const out = { user: get('user'), role: get('role'), type: get('type'), level: get('level') };
        for (const k of ['user', 'role', 'type'] as const) {
          if (out[k] === '' || out[k].includes(':')) c.fail(path, `invalid ${k} value ${goQuote(out[k])}`);
        }
        if (out.level === '') c.fail(path, `invalid level value ${goQuote(out.level)}`);
        return out;
      },
    },
  ],
  [
    ISOLATOR.apparmorProfile,
    {
      multipleAllowed: false,
      conflicts: [],
      check(c, path, v): ApparmorProfileValue {
        const o = c.object(path, v);
        const p = field(o, 'profile');
        const profile = p === undefined ? '' : c.string(`${path}.profile`, p);
        if (profile === '') c.fail(path, 'profile must be set');
        return { profile };
      },
    },
  ],
  [
    ISOLATOR.unixSysctl,
    { multipleAllowed: false, conflicts: [], check: (c, path, v): Record<string, string> => c.stringMap(path, v) },
  ],
]);

export function isKnownIsolator(name: string): boolean {
  return KINDS.has(name);
}

/**
 * Parses one isolator object: `name` must be an AC Identifier; the value of a known isolator must be
 * valid. Unknown names are returned as they are (the App set check rejects them, pods keep them).
 */
export function checkIsolator(c: Checker, path: string, raw: unknown): Isolator {
  const o = c.object(path, raw);
  const n = field(o, 'name');
  if (n === undefined) c.failField(`${path}.name`, 'must be set');
  const name = c.acIdentifier(`${path}.name`, n);
  const value = field(o, 'value');
  const kind = KINDS.get(name);
  if (kind !== undefined) {
    if (value === undefined) c.failField(`${path}.value`, 'must be set');
    kind.check(c, `${path}.value`, value);
  }
  return { name, value: value === undefined ? null : value };
}

/**
 * The set rules of `Isolators.assertValid` (used for App isolators): every isolator must be known
 * (`invalid isolator`), a type may appear twice only if it allows multiples, and conflicting types
 * (retain/remove sets) cannot be combined (`isolators set contains incompatible types`).
 */
export function checkIsolatorSet(c: Checker, path: string, isolators: readonly Isolator[]): void {
  const seen = new Set<string>();
  isolators.forEach((iso, i) => {
    const kind = KINDS.get(iso.name);
    if (kind === undefined) c.fail(`${path}[${i}]`, `invalid isolator: unknown isolator name ${goQuote(iso.name)}`);
    if (seen.has(iso.name) && !kind.multipleAllowed) {
      c.fail(path, `isolators set contains too many instances of type ${iso.name}`);
    }
    for (const other of kind.conflicts) {
      if (seen.has(other)) c.fail(path, 'isolators set contains incompatible types');
    }
    seen.add(iso.name);
  });
}

/**
 * The typed value of a known isolator of an already validated manifest: ResourceValue, SetValue,
 * SeccompValue, boolean, number, SELinuxContextValue, ApparmorProfileValue or a sysctl map.
 * Undefined for unknown names.
 */
export function isolatorValue(iso: Isolator): unknown {
  const kind = KINDS.get(iso.name);
  if (kind === undefined) return undefined;
  return kind.check(new Checker('invalid isolator'), iso.name, iso.value);
}
