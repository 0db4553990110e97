/**
 * `docker://` images (rkt's dockerfetcher + docker2aci, reference §11): refuse without
 * `--insecure-options=image` (no signatures exist for them), honour the pull policy through the
 * `remote` row `docker://<ref as typed>`, else pull from the registry (layers in parallel, each
 * digest checked as it streams), convert and store. Temp files live in `cas/tmp/docker2aci-*` and
 * are removed whatever happens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import type { RktConfig } from '../config/types';
import { dockerCredentialsFor } from '../config/auth';
import type { ImageStore } from '../store/image-store';
import { convertConfig, type ImageConfig } from './convert';
import { parseManifest, pickPlatform, type Descriptor } from './manifest';
import { LayerProgress, type ProgressSink } from './progress';
import { DEFAULT_REGISTRY, manifestReference, parseDockerReference, type DockerReference } from './reference';
import { RegistryClient } from './registry-client';
import { storeConverted, type VerifiedLayer } from './store-converted';

/** What the docker fetcher needs from the command: a subset of the fetch environment. */
export interface DockerEnv {
  insecure: ReadonlySet<string>;
  config?: RktConfig;
  /** progress lines go here, only if it is a TTY */
  stderr?: ProgressSink;
}

export interface DockerFetchOptions {
  insecureImage: boolean;
  pullPolicy: 'never' | 'new' | 'update';
  log: (line: string) => void;
  env?: DockerEnv;
}

/** Parallel layer downloads: enough to fill a link, few enough not to thrash a small registry. */
const PARALLEL = 4;

export async function fetchDocker(store: ImageStore, refText: string, opts: DockerFetchOptions): Promise<string> {
  const url = `docker://${refText}`;
  const ref = parseDockerReference(refText);
  if (!opts.insecureImage) {
    throw new RktError('EINSECURE', 'signature verification for docker images is not supported (try --insecure-options=image)');
  }
  if (opts.pullPolicy !== 'update') {
    const db = await store.database();
    const row = await db.getRemote(url);
    if (row && (await db.getAciInfo(row.blobKey))) {
      opts.log(`using image from local store for url ${url}`);
      return row.blobKey;
    }
    if (opts.pullPolicy === 'never') {
      throw new RktError(
        'ENOTFOUND',
        `unable to fetch docker image from URL "${url}": either image was not found in the store or store was disabled and fetching from remote yielded nothing or it was disabled`,
      );
    }
  }
  opts.log(`fetching image from ${url}`);
  const key = await pullAndStore(store, ref, opts.env ?? { insecure: new Set() });
  await (await store.database()).upsertRemote({ aciUrl: url, sigUrl: '', etag: '', blobKey: key, cacheMaxAge: 0, downloadTime: new Date() });
  return key;
}

async function pullAndStore(store: ImageStore, ref: DockerReference, env: DockerEnv): Promise<string> {
  const abort = new AbortController();
  const client = await RegistryClient.open(ref, {
    insecureHttp: env.insecure.has('http'),
    insecureTls: env.insecure.has('tls'),
    credentials: credentialsFor(env.config, ref.registry),
    signal: abort.signal,
  });
  const work = fs.mkdtempSync(path.join(store.layout.casTmpDir, `docker2aci-${process.pid}-`));
  try {
    const what = `docker image ${client.name}${ref.digest ? '@' + ref.digest : ':' + ref.tag}`;
    let fetched = await client.manifest(manifestReference(ref));
    let parsed = parseManifest(fetched.body, fetched.contentType, what);
    if (parsed.kind === 'index') {
      const entry = pickPlatform(parsed.manifests, what);
      fetched = await client.manifest(entry.digest);
      parsed = parseManifest(fetched.body, fetched.contentType ?? entry.mediaType, `${what} (${entry.digest})`);
      if (parsed.kind !== 'image') throw new RktError('EIMAGE_FORMAT', `${what}: the index points to another index`);
    }
    const configBytes = await client.blob(parsed.config, `${what}: config ${parsed.config.digest}`);
    const config = parseConfig(configBytes, what);
    const layers = await downloadLayers(client, parsed.layers, work, what, env.stderr, abort);
    const manifest = convertConfig({
      name: `${ref.registry}/${ref.repository}`,
      version: ref.tag,
      config,
      origin: {
        'appc.io/docker/originalname': ref.original,
        'appc.io/docker/registryurl': ref.registry,
        'appc.io/docker/repository': ref.repository,
        'appc.io/docker/imageid': parsed.config.digest,
        'appc.io/docker/manifesthash': fetched.digest,
        ...(ref.tag ? { 'appc.io/docker/tag': ref.tag } : {}),
      },
    });
    return await storeConverted(store, layers, manifest, ref.tag === 'latest');
  } finally {
    abort.abort();
    await client.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** dockerAuth by registry host; Docker Hub also under the names people write for it. */
function credentialsFor(config: RktConfig | undefined, registry: string) {
  if (!config) return undefined;
  const names = registry === DEFAULT_REGISTRY ? [registry, 'index.docker.io', 'docker.io', 'https://index.docker.io/v1/'] : [registry];
  for (const n of names) {
    const c = dockerCredentialsFor(config, n);
    if (c) return c;
  }
  return undefined;
}

export function parseConfig(bytes: Buffer, what: string): ImageConfig {
  let cfg: ImageConfig;
  try {
    cfg = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new RktError('EIMAGE_FORMAT', `${what}: the image config is not valid JSON`);
  }
  if (typeof cfg !== 'object' || cfg === null) throw new RktError('EIMAGE_FORMAT', `${what}: the image config is not a JSON object`);
  if (cfg.os !== undefined && cfg.os !== 'linux') throw new RktError('EIMAGE_FORMAT', `${what}: a ${cfg.os} image cannot run here`);
  return cfg;
}

/** All layers at once (PARALLEL at a time); the first failure aborts the others. */
async function downloadLayers(
  client: RegistryClient,
  layers: Descriptor[],
  work: string,
  what: string,
  stderr: ProgressSink | undefined,
  abort: AbortController,
): Promise<VerifiedLayer[]> {
  const progress = new LayerProgress(stderr, layers);
  const out: VerifiedLayer[] = layers.map((l, i) => ({ path: path.join(work, `layer-${i}`), digest: l.digest }));
  let next = 0;
  let firstError: unknown;
  const worker = async () => {
    while (next < layers.length && firstError === undefined) {
      const i = next++;
      try {
        await client.blobToFile(layers[i], out[i].path, `${what}: layer ${layers[i].digest}`, (n) => progress.update(i, n));
      } catch (e) {
        firstError ??= e;
        abort.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, layers.length) }, worker));
  progress.finish();
  if (firstError !== undefined) throw firstError;
  return out;
}
