/**
 * Image manifests and indexes (OCI v1 and Docker schema2), checked enough that everything later
 * can trust their shape: known media types, sha256/sha512 digests, sizes. An index is resolved to
 * its linux/amd64 entry.
 */
import { RktError } from '../errors';
import { parseDigest } from './digest';
import { CONFIG_TYPES, DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1, LAYER_TYPES, OCI_INDEX, OCI_MANIFEST } from './media-types';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

function fail(msg: string): never {
  throw new RktError('EIMAGE_FORMAT', msg);
}

function descriptor(v: unknown, what: string): Descriptor {
  if (typeof v !== 'object' || v === null) fail(`${what} is not an object`);
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string') fail(`${what} has no mediaType`);
  parseDigest(d.digest, what);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) fail(`${what} has an invalid size`);
  return d as unknown as Descriptor;
}

/**
 * `contentType` is the registry's Content-Type (or, for a layout, the descriptor's type); the
 * body's own mediaType wins when present because some servers send generic JSON types.
 */
export function parseManifest(body: Buffer, contentType: string | undefined, what: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    fail(`${what}: manifest is not valid JSON`);
  }
  if (typeof doc !== 'object' || doc === null) fail(`${what}: manifest is not a JSON object`);
  const ct = (contentType ?? '').split(';')[0].trim();
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : ct;
  if (DOCKER_SCHEMA1.includes(mediaType) || (mediaType === '' && doc.schemaVersion === 1)) {
    fail(`${what}: Docker schema1 manifests are not supported (push the image as schema2 or OCI)`);
  }
  if (mediaType === OCI_INDEX || mediaType === DOCKER_LIST || (mediaType === '' && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) fail(`${what}: index has no manifests`);
    return { kind: 'index', mediaType, manifests: doc.manifests.map((m, i) => descriptor(m, `${what}: manifests[${i}]`)) };
  }
  if (mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST || (mediaType === '' && doc.config !== undefined)) {
    const config = descriptor(doc.config, `${what}: config`);
    if (!CONFIG_TYPES.has(config.mediaType)) fail(`${what}: unsupported config media type "${config.mediaType}"`);
    if (!Array.isArray(doc.layers)) fail(`${what}: manifest has no layers`);
    const layers = doc.layers.map((l, i) => descriptor(l, `${what}: layers[${i}]`));
    for (const l of layers) {
      if (!LAYER_TYPES.has(l.mediaType)) fail(`${what}: unsupported layer media type "${l.mediaType}"`);
    }
    return { kind: 'image', mediaType: mediaType || OCI_MANIFEST, config, layers };
  }
  fail(`${what}: unsupported manifest media type "${mediaType}"`);
}

/** The index entry for linux/amd64 (rkt only runs those), as docker2aci would pick it. */
export function pickPlatform(index: Descriptor[], what: string, os = 'linux', arch = 'amd64'): Descriptor {
  const hit = index.find((d) => d.platform?.os === os && d.platform?.architecture === arch);
  if (!hit) {
    const have = index.map((d) => `${d.platform?.os ?? '?'}/${d.platform?.architecture ?? '?'}`).join(', ');
    fail(`${what}: no ${os}/${arch} image in the index (it has: ${have || 'nothing'})`);
  }
  return hit;
}
