/**
 * Local OCI images without a registry (beyond rkt): `oci-layout:DIR[:TAG]` reads an OCI image
 * layout directory in place, `oci-archive:FILE.tar[:TAG]` a tar of one (what `skopeo copy …
 * oci-archive:` writes). The image is picked from index.json by its
 * `org.opencontainers.image.ref.name` (TAG; the only image, or `latest`, without one), an index is
 * resolved to linux/amd64, every blob's digest is checked, then the layers are squashed and stored
 * like a registry pull. The name is the directory's (or archive's) base name, `version` the tag.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { RktError } from '../errors';
import type { ImageStore } from '../store/image-store';
import { convertConfig } from './convert';
import { hasherFor, mismatch, parseDigest, type Digest } from './digest';
import { parseConfig } from './fetch-docker';
import { parseManifest, pickPlatform, type Descriptor } from './manifest';
import { OCI_INDEX } from './media-types';
import { storeConverted } from './store-converted';

const REF_NAME = 'org.opencontainers.image.ref.name';
const MAX_DOCUMENT = 8 << 20;

export interface OciFetchOptions {
  insecureImage: boolean;
  log: (line: string) => void;
}

function refuseUnsigned(insecureImage: boolean): void {
  if (!insecureImage) {
    throw new RktError('EINSECURE', 'signature verification for OCI images is not supported (try --insecure-options=image)');
  }
}

/** `DIR[:TAG]`: the whole string when it exists, else split at the last `:` (a tag has no `/`). */
export function splitPathTag(spec: string): { path: string; tag?: string } {
  if (fs.existsSync(spec)) return { path: spec };
  const i = spec.lastIndexOf(':');
  if (i > 0 && !spec.slice(i + 1).includes('/')) return { path: spec.slice(0, i), tag: spec.slice(i + 1) };
  return { path: spec };
}

function blobPath(dir: string, d: Digest): string {
  return path.join(dir, 'blobs', d.algorithm, d.hex);
}

function readDocument(dir: string, desc: Descriptor, what: string): Buffer {
  const d = parseDigest(desc.digest, what);
  if (desc.size > MAX_DOCUMENT) throw new RktError('EIMAGE_FORMAT', `${what}: ${desc.size} bytes is too large`);
  let body: Buffer;
  try {
    body = fs.readFileSync(blobPath(dir, d));
  } catch (e) {
    throw new RktError('ENOTFOUND', `${what}: blob ${desc.digest} is missing: ${(e as Error).message}`);
  }
  const got = `${d.algorithm}:${hasherFor(d).update(body).digest('hex')}`;
  if (got !== desc.digest) throw mismatch(what, desc.digest, got);
  return body;
}

async function checkBlobFile(dir: string, desc: Descriptor, what: string): Promise<string> {
  const d = parseDigest(desc.digest, what);
  const p = blobPath(dir, d);
  const h = hasherFor(d);
  let n = 0;
  try {
    await pipeline(fs.createReadStream(p), async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        n += c.length;
        h.update(c);
      }
      yield* [];
    });
  } catch (e) {
    throw new RktError('ENOTFOUND', `${what}: blob ${desc.digest} is missing or unreadable: ${(e as Error).message}`);
  }
  const got = `${d.algorithm}:${h.digest('hex')}`;
  if (got !== desc.digest) throw mismatch(what, desc.digest, got);
  if (n !== desc.size) throw new RktError('EIMAGE_FORMAT', `${what}: blob ${desc.digest} has ${n} bytes, its descriptor says ${desc.size}`);
  return p;
}

function selectFromIndex(index: Descriptor[], tag: string | undefined, where: string): Descriptor {
  const named = (t: string) => index.filter((d) => d.annotations?.[REF_NAME] === t);
  let hits: Descriptor[];
  if (tag !== undefined) hits = named(tag);
  else if (index.length === 1) hits = index;
  else hits = named('latest');
  if (hits.length === 0) {
    const have = index.map((d) => d.annotations?.[REF_NAME] ?? d.digest).join(', ');
    throw new RktError('ENOTFOUND', `${where}: no image ${tag !== undefined ? `tagged "${tag}"` : 'to choose: name one with :TAG'} (have: ${have || 'none'})`);
  }
  return hits[0];
}

/** Imports the image `tag` of the layout `dir`; `source` is what the user typed (for messages). */
async function importLayout(store: ImageStore, dir: string, tag: string | undefined, source: string, name: string): Promise<string> {
  let layout: { imageLayoutVersion?: unknown };
  try {
    layout = JSON.parse(fs.readFileSync(path.join(dir, 'oci-layout'), 'utf8')) as typeof layout;
  } catch (e) {
    throw new RktError('EIMAGE_FORMAT', `${source}: not an OCI image layout (oci-layout: ${(e as Error).message})`);
  }
  if (typeof layout.imageLayoutVersion !== 'string') throw new RktError('EIMAGE_FORMAT', `${source}: oci-layout has no imageLayoutVersion`);
  let indexBytes: Buffer;
  try {
    indexBytes = fs.readFileSync(path.join(dir, 'index.json'));
  } catch (e) {
    throw new RktError('EIMAGE_FORMAT', `${source}: not an OCI image layout (index.json: ${(e as Error).message})`);
  }
  const top = parseManifest(indexBytes, OCI_INDEX, `${source}: index.json`);
  if (top.kind !== 'index') throw new RktError('EIMAGE_FORMAT', `${source}: index.json is not an image index`);
  let desc = selectFromIndex(top.manifests, tag, source);
  const what = `${source}: image ${desc.digest}`;
  let manifestBytes = readDocument(dir, desc, what);
  let parsed = parseManifest(manifestBytes, desc.mediaType, what);
  if (parsed.kind === 'index') {
    desc = pickPlatform(parsed.manifests, what);
    manifestBytes = readDocument(dir, desc, what);
    parsed = parseManifest(manifestBytes, desc.mediaType, what);
    if (parsed.kind !== 'image') throw new RktError('EIMAGE_FORMAT', `${what}: the index points to another index`);
  }
  const img = parsed;
  const config = parseConfig(readDocument(dir, img.config, `${what}: config`), what);
  const layers = await Promise.all(
    img.layers.map(async (l) => ({ path: await checkBlobFile(dir, l, `${what}: layer`), digest: l.digest })),
  );
  const manifest = convertConfig({
    name,
    version: tag,
    config,
    origin: {
      'appc.io/oci/source': source,
      // The runtime's "converted from Docker" behaviour (volume semantics) applies to OCI images too.
      'appc.io/docker/repository': name,
      'appc.io/docker/imageid': img.config.digest,
      'appc.io/docker/manifesthash': desc.digest,
    },
  });
  return storeConverted(store, layers, manifest, tag === undefined || tag === 'latest');
}

function localName(p: string, strip: RegExp): string {
  const base = path.basename(path.resolve(p)).replace(strip, '');
  return base === '' ? 'oci-image' : base;
}

export async function fetchOciLayout(store: ImageStore, spec: string, opts: OciFetchOptions): Promise<string> {
  const source = `oci-layout:${spec}`;
  refuseUnsigned(opts.insecureImage);
  const { path: dir, tag } = splitPathTag(spec);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new RktError('ENOTFOUND', `${source}: no such directory ${dir}`);
  opts.log(`importing OCI image layout ${dir}${tag ? ` tag ${tag}` : ''}`);
  return importLayout(store, dir, tag, source, localName(dir, /$^/));
}

/**
 * Reads only what an OCI archive must hold: `oci-layout`, `index.json` and `blobs/<alg>/<hex>`,
 * written to a private temp layout under names we build from validated digests (no path from
 * the archive is ever used); everything else is skipped.
 */
export async function fetchOciArchive(store: ImageStore, spec: string, opts: OciFetchOptions): Promise<string> {
  const source = `oci-archive:${spec}`;
  refuseUnsigned(opts.insecureImage);
  const { path: file, tag } = splitPathTag(spec);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new RktError('ENOTFOUND', `${source}: no such file ${file}`);
  const work = fs.mkdtempSync(path.join(store.layout.casTmpDir, `oci-archive-${process.pid}-`));
  try {
    await unpackLayoutFiles(file, work, source);
    opts.log(`importing OCI archive ${file}${tag ? ` tag ${tag}` : ''}`);
    return await importLayout(store, work, tag, source, localName(file, /\.tar$/));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function unpackLayoutFiles(file: string, work: string, source: string): Promise<void> {
  const tarStream = await import('tar-stream');
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const name = header.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      const m = /^blobs\/(sha256|sha512)\/([0-9a-f]{64,128})$/.exec(name);
      let dest: string | undefined;
      if (header.type === 'file' && (name === 'oci-layout' || name === 'index.json')) dest = path.join(work, name);
      else if (header.type === 'file' && m) {
        parseDigest(`${m[1]}:${m[2]}`, source); // length check
        fs.mkdirSync(path.join(work, 'blobs', m[1]), { recursive: true });
        dest = path.join(work, 'blobs', m[1], m[2]);
      }
      if (!dest) {
        stream.on('end', next);
        stream.resume();
        return;
      }
      pipeline(stream, fs.createWriteStream(dest, { flags: 'wx', mode: 0o600 })).then(() => next(), reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  try {
    await Promise.all([pipeline(fs.createReadStream(file), extract), done]);
  } catch (e) {
    if (e instanceof RktError) throw e;
    throw new RktError('EIMAGE_FORMAT', `${source}: not a readable OCI archive: ${(e as Error).message}`);
  }
}
