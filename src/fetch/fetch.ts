/**
 * rkt's image Fetcher (rkt/image/fetcher.go, reference §4.3–4.5): classify the argument, apply the
 * pull policy, fetch (store, local file, http(s) URL, or name via meta discovery), verify, then fetch
 * the image's dependencies by name, recursively, each verified the same way. Every fetched image
 * gets its tree store rendered when running as root, as rkt does.
 */
import * as path from 'node:path';
import { RktError } from '../errors';
import type { ImageStore } from '../store/image-store';
import { TreeStore } from '../store/tree-store';
import { parseAppString, type AppRef } from '../discovery/app-string';
import { newConfig } from '../config/types';
import { DEFAULT_CONFIG_DIRS } from '../config/dirs';
import { createLogger } from '../util/log';
import { classifyImageArg } from './classify';
import { FetchSession, type FetchEnvironment } from './session';

export type { FetchEnvironment } from './session';
export type PullPolicy = 'never' | 'new' | 'update';

export interface FetchOptions {
  insecureImage: boolean;
  pullPolicy: PullPolicy;
  /** --signature for this image */
  signature?: string;
  renderTree: boolean;
  /** debug lines (`image: …` with --debug) */
  log: (line: string) => void;
  /** verification and network settings; what is left out: rkt's default dirs, no credentials */
  env?: Partial<FetchEnvironment>;
}

/** stage0's ValidOSArch defaults added to name lookups (rkt/image/fetcher.go setAppDefaults). */
const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: 'i386', arm64: 'aarch64', arm: 'armv7l', ppc64: 'ppc64le' };

export function withDefaultLabels(labels: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map(labels);
  if (!out.has('os')) out.set('os', process.platform);
  if (!out.has('arch')) out.set('arch', GO_ARCH[process.arch] ?? process.arch);
  return out;
}

/**
 * opts.env over the defaults. Property descriptors are copied, not values, so that a getter stays
 * one: the CLI's stderr (BaseCommand.fetchEnvironment) is a getter, because creating Node's
 * process.stderr loads its stream modules, which a fetch served from the store never needs.
 */
function envFor(opts: FetchOptions): FetchEnvironment {
  const env: FetchEnvironment = {
    insecure: new Set(opts.insecureImage ? ['image'] : []),
    config: newConfig(),
    configDirs: { ...DEFAULT_CONFIG_DIRS },
    trustKeysFromHttps: false,
    logger: createLogger({ prefix: 'image' }),
    get stderr() {
      return process.stderr;
    },
  };
  return Object.defineProperties(env, Object.getOwnPropertyDescriptors(opts.env ?? {}));
}

function notFound(what: string, v: string): RktError {
  return new RktError(
    'ENOTFOUND',
    `unable to fetch image from ${what} "${v}": either image was not found in the store or store was disabled and fetching from remote yielded nothing or it was disabled`,
  );
}

export async function fetchImage(store: ImageStore, arg: string, opts: FetchOptions): Promise<string> {
  const env = envFor(opts);
  const s = new FetchSession(store, env);
  try {
    s.renderTrees = opts.renderTree;
    const key = await fetchOne(s, arg, opts);
    s.renderTrees = false;
    if (env.withDeps !== false) await fetchDependencies(s, key, opts);
    if (opts.renderTree) await new TreeStore(store).render(key);
    return key;
  } finally {
    await s.close();
  }
}

async function fetchOne(s: FetchSession, arg: string, opts: FetchOptions): Promise<string> {
  const what = classifyImageArg(arg);
  switch (what.kind) {
    case 'hash':
      return s.store.resolveKey(what.value);
    case 'file':
      return fetchFile(s, what.path, opts);
    case 'url':
      return fetchURL(s, what.url, opts);
    case 'name':
      return fetchName(s, parseAppString(what.value), what.value, opts);
    case 'docker':
    case 'oci-layout':
    case 'oci-archive': {
      const { fetchDockerOrOci } = await import('../docker/fetch-image');
      return fetchDockerOrOci(s.store, what, { ...opts, env: s.env });
    }
  }
}

/** A local ACI: always imported (no caching), verified against `--signature` or FILE.asc. */
async function fetchFile(s: FetchSession, file: string, opts: FetchOptions): Promise<string> {
  opts.log(`using image from file ${file}`);
  const ks = await s.keystore();
  if (!ks) return (await s.store.importFile(file, { render: s.renderTrees })).key;
  const { readSignatureFile, verifyImageSignature } = await import('./image-check');
  const sig = readSignatureFile(opts.signature ?? file.replace(/\.aci$/, '') + '.aci.asc');
  let identities: string[] = [];
  const { key } = await s.store.importFile(file, {
    render: s.renderTrees,
    check: async (m) => {
      identities = await verifyImageSignature(ks, m.name, file, sig, s.log);
    },
  });
  s.log.print('signature verified:');
  for (const id of identities) s.log.print(`  ${id}`);
  return key;
}

async function fetchURL(s: FetchSession, url: string, opts: FetchOptions): Promise<string> {
  const { fetchRemoteImage, liveRemote, signatureURLFor } = await import('./remote');
  if (opts.pullPolicy !== 'update') {
    const rem = await liveRemote(s, url);
    if (rem) {
      opts.log(`using image from local store for url ${url}`);
      return rem.blobKey;
    }
    if (opts.pullPolicy === 'never') throw notFound('URL', url);
  }
  return fetchRemoteImage(s, { aciUrl: url, ascUrl: signatureURLFor(url), signatureFile: opts.signature, latest: false, debug: opts.log });
}

async function fetchName(s: FetchSession, ref: AppRef, shown: string, opts: FetchOptions): Promise<string> {
  const labels = withDefaultLabels(ref.labels);
  if (opts.pullPolicy !== 'update') {
    try {
      const key = await s.store.getByName(ref.name, labels);
      opts.log(`using image from local store for image name ${shown}`);
      return key;
    } catch (e) {
      if (!(e instanceof RktError && e.code === 'ENOTFOUND')) throw e;
      if (opts.pullPolicy === 'never') throw notFound('image name', shown);
    }
  }
  opts.log(`searching for app image ${shown}`);
  const { discoverImage } = await import('../discovery/discover');
  const client = await s.client();
  const endpoints = await discoverImage(ref.name, labels, { client, allowHTTP: s.allowHTTP, debug: opts.log });
  // rkt uses the first endpoint only
  const ep = endpoints[0];
  await maybeFetchPubKeys(s, ref.name, opts);
  const { fetchRemoteImage } = await import('./remote');
  return fetchRemoteImage(s, {
    aciUrl: ep.aci,
    ascUrl: ep.asc,
    signatureFile: opts.signature,
    latest: !ref.labels.has('version'),
    expect: { name: ref.name, labels },
    debug: opts.log,
  });
}

/**
 * rkt's maybeFetchPubKeys: with no key at all for the name or a parent prefix, discover the keys
 * the name publishes and offer them for review (or accept them with --trust-keys-from-https).
 * Failures are only reported: the fetch goes on and fails verification if no key was added.
 */
async function maybeFetchPubKeys(s: FetchSession, name: string, opts: FetchOptions): Promise<void> {
  const ks = await s.keystore();
  if (!ks) return;
  if (ks.hasPrefixKeys(name)) {
    opts.log(`keys already exist for prefix ${JSON.stringify(name)}, not fetching again`);
    return;
  }
  if (s.insecureTLS && !s.env.insecure.has('pubkey')) return;
  if (s.env.insecure.has('pubkey')) s.log.print('warning: signing keys may be downloaded from an insecure connection');
  const { discoverPublicKeys } = await import('../discovery/discover');
  let locations: string[];
  try {
    locations = await discoverPublicKeys(name, { client: await s.client(), allowHTTP: s.allowHTTP, debug: opts.log });
  } catch (e) {
    s.log.printE('error determining key location', e);
    return;
  }
  try {
    const m = await s.pubkeyManager();
    await m.addKeys(locations, name, s.env.trustKeysFromHttps ? 'force' : 'ask');
  } catch (e) {
    s.log.printE('error adding keys', e);
  }
}

/** `name:version,label=value` for a dependency, as rkt's discovery.App String(). */
function dependencyRef(d: { imageName: string; labels?: { name: string; value: string }[] }): { ref: AppRef; shown: string } {
  const labels = new Map((d.labels ?? []).map((l) => [l.name, l.value]));
  let shown = d.imageName;
  if (labels.has('version')) shown += `:${labels.get('version')}`;
  for (const [k, v] of labels) if (k !== 'version') shown += `,${k}=${v}`;
  return { ref: { name: d.imageName, labels }, shown };
}

/** Breadth first over the dependency graph, each distinct dependency fetched once. */
async function fetchDependencies(s: FetchSession, key: string, opts: FetchOptions): Promise<void> {
  const seen = new Set<string>();
  const queue: string[] = [key];
  while (queue.length > 0) {
    const k = queue.shift()!;
    for (const d of s.store.readManifest(k).dependencies ?? []) {
      const { ref, shown } = dependencyRef(d);
      if (seen.has(shown)) continue;
      seen.add(shown);
      try {
        queue.push(await fetchName(s, ref, shown, { ...opts, signature: undefined }));
      } catch (e) {
        throw new RktError(e instanceof RktError ? e.code : 'EINTERNAL', `error fetching dependency ${shown} of ${path.basename(k)}: ${(e as Error).message}`, { cause: e });
      }
    }
  }
}
