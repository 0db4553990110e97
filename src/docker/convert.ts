/**
 * The ACI image manifest of a converted Docker/OCI image, following docker2aci 0.17.2 for the
 * squashed image (reference §11.2): name `<registry>/<repository>` as an AC Identifier, labels
 * version/os/arch, the image config's Entrypoint+Cmd, User, Env, WorkingDir, Volumes, ExposedPorts
 * and Labels, and the `appc.io/docker/*` annotations the runtime uses to recognise Docker images.
 */
import { RktError } from '../errors';
import { parseImageManifest, type ImageManifest } from '../schema/image-manifest';
import { sanitizeACIdentifier, sanitizeACName } from '../schema/types';

/** The parts of an OCI/Docker image config we read (`config` holds the runtime defaults). */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Volumes?: Record<string, unknown> | null;
    ExposedPorts?: Record<string, unknown> | null;
    Labels?: Record<string, string> | null;
  };
}

export interface ConversionInput {
  /** AC Identifier source: `<registry>/<repository>` (or a local name for OCI layouts) */
  name: string;
  /** the `version` label: the tag, when there is one */
  version?: string;
  config: ImageConfig;
  /** annotations describing the origin, e.g. appc.io/docker/registryurl */
  origin: Record<string, string>;
}

/** Go's GOARCH → appc arch (appc `schema/types/labels.go` ToAppcOSArch). */
function appcArch(arch: string, variant: string | undefined): string {
  switch (arch) {
    case 'arm64':
      return 'aarch64';
    case 'arm':
      return variant === 'v6' ? 'armv6l' : 'armv7l';
    case '386':
      return 'i386';
    default:
      return arch;
  }
}

function userGroup(user: string | undefined): { user: string; group: string } {
  if (!user) return { user: '0', group: '0' };
  const i = user.indexOf(':');
  if (i < 0) return { user, group: user };
  return { user: user.slice(0, i), group: user.slice(i + 1) };
}

/** docker2aci's mountPoint names: SanitizeACName("volume"+path), `-<n>` for repeats, sorted. */
function mountPoints(volumes: Record<string, unknown> | null | undefined) {
  const seen = new Map<string, number>();
  const out: { name: string; path: string }[] = [];
  for (const p of Object.keys(volumes ?? {}).sort()) {
    let name = sanitizeACName('volume' + p);
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    if (n > 0) name = `${name}-${n}`;
    out.push({ name, path: p });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function ports(exposed: Record<string, unknown> | null | undefined) {
  const out: { name: string; protocol: string; port: number; count: number; socketActivated: boolean }[] = [];
  for (const key of Object.keys(exposed ?? {})) {
    const [num, proto = 'tcp'] = key.split('/');
    const port = Number(num);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RktError('EMANIFEST', `image config: invalid exposed port ${JSON.stringify(key)}`);
    }
    out.push({ name: sanitizeACName(key), protocol: proto, port, count: 1, socketActivated: false });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function convertConfig(input: ConversionInput): ImageManifest {
  const cfg = input.config.config ?? {};
  const labels = [];
  if (input.version !== undefined) labels.push({ name: 'version', value: input.version });
  labels.push({ name: 'os', value: input.config.os ?? 'linux' });
  labels.push({ name: 'arch', value: appcArch(input.config.architecture ?? 'amd64', input.config.variant) });

  const exec = [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
  const environment = (cfg.Env ?? [])
    .filter((e) => e.includes('='))
    .map((e) => ({ name: e.slice(0, e.indexOf('=')), value: e.slice(e.indexOf('=') + 1) }));
  const app: Record<string, unknown> = { ...userGroup(cfg.User) };
  if (exec.length > 0) app.exec = exec;
  if (environment.length > 0) app.environment = environment;
  if (cfg.WorkingDir) app.workingDirectory = cfg.WorkingDir;
  const mps = mountPoints(cfg.Volumes);
  if (mps.length > 0) app.mountPoints = mps;
  const ps = ports(cfg.ExposedPorts);
  if (ps.length > 0) app.ports = ps;
  if (cfg.Labels && Object.keys(cfg.Labels).length > 0) app.userLabels = { ...cfg.Labels };

  const annotations: { name: string; value: string }[] = [];
  if (input.config.author) annotations.push({ name: 'author', value: input.config.author });
  if (input.config.created && !input.config.created.startsWith('0001-01-01')) {
    annotations.push({ name: 'created', value: input.config.created });
  }
  for (const [k, v] of Object.entries(input.origin)) annotations.push({ name: k, value: v });
  if (cfg.Entrypoint && cfg.Entrypoint.length > 0) annotations.push({ name: 'appc.io/docker/entrypoint', value: JSON.stringify(cfg.Entrypoint) });
  if (cfg.Cmd && cfg.Cmd.length > 0) annotations.push({ name: 'appc.io/docker/cmd', value: JSON.stringify(cfg.Cmd) });

  const doc = {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name: sanitizeACIdentifier(input.name),
    labels,
    app,
    annotations,
  };
  // Through the validator so the stored manifest is exactly what every other import stores.
  return parseImageManifest(JSON.stringify(doc));
}
