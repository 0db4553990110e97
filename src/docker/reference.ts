/**
 * `docker://` image references as rkt parses them (docker/distribution `ParseNormalizedNamed`, §11.1):
 * `[REGISTRY[:PORT]/]NAME[:TAG|@DIGEST]`, Docker Hub by default with `library/` for one-component
 * names, tag `latest` when neither tag nor digest is given.
 */
import { RktError } from '../errors';

export const DEFAULT_REGISTRY = 'registry-1.docker.io';

export interface DockerReference {
  /** host[:port] of the registry API */
  registry: string;
  /** repository path on that registry, e.g. `library/busybox` */
  repository: string;
  /** tag, or undefined when pulling by digest only */
  tag?: string;
  /** `sha256:<hex>` when given */
  digest?: string;
  /** what the user typed after `docker://` (or `docker:`) */
  original: string;
}

// docker/distribution reference grammar.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;

function invalid(original: string): RktError {
  return new RktError(
    'EUSAGE',
    `invalid docker URL "${original}"; expected syntax is "docker://[REGISTRY_HOST[:REGISTRY_PORT]/]IMAGE_NAME[:TAG]"`,
  );
}

export function parseDockerReference(original: string): DockerReference {
  let rest = original;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(original);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(original);
  }
  if (rest === '') throw invalid(original);
  let registry = DEFAULT_REGISTRY;
  let path = rest;
  const first = rest.indexOf('/');
  if (first >= 0) {
    const head = rest.slice(0, first);
    // As in distribution: the first component is a registry if it looks like a host.
    if (head.includes('.') || head.includes(':') || head === 'localhost') {
      if (!DOMAIN.test(head)) throw invalid(original);
      registry = head;
      path = rest.slice(first + 1);
    }
  }
  if (registry === 'docker.io' || registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  const comps = path.split('/');
  if (path.length > 255 || comps.some((c) => !COMPONENT.test(c))) throw invalid(original);
  if (registry === DEFAULT_REGISTRY && comps.length === 1) path = `library/${path}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: path, tag, digest, original };
}

/** `tag` or `digest`, whichever addresses the manifest (digest wins, as in Docker). */
export function manifestReference(ref: DockerReference): string {
  return ref.digest ?? (ref.tag as string);
}
