/**
 * A registry v2 client on undici: the `/v2/` probe, the Bearer token flow (realm/service/scope from
 * `WWW-Authenticate`) or Basic credentials from `dockerAuth`, manifests with the full Accept list,
 * and blobs whose digest and size are checked while they stream. HTTPS by default; plain HTTP only
 * when the caller allows it (`--insecure-options=http`), TLS checks off only with `tls`.
 */
import * as fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Agent, Dispatcher } from 'undici';
import { RktError } from '../errors';
import { hasherFor, mismatch, parseDigest } from './digest';
import type { Descriptor } from './manifest';
import { MANIFEST_ACCEPT } from './media-types';
import type { DockerReference } from './reference';
import { parseChallenges } from './www-authenticate';

export interface RegistryClientOptions {
  insecureHttp: boolean;
  insecureTls: boolean;
  credentials?: { user: string; password: string };
  /** aborts every request (a sibling download failed, or the user interrupted) */
  signal?: AbortSignal;
}

export interface FetchedManifest {
  body: Buffer;
  contentType?: string;
  /** digest of the bytes received */
  digest: string;
}

/** Manifests and configs are small; anything bigger is not what it claims to be. */
const MAX_DOCUMENT = 8 << 20;
const TIMEOUT_MS = Number(process.env.RKT_HTTP_TIMEOUT_MS) || 60_000;

function netError(what: string, e: unknown, https: boolean): RktError {
  if (e instanceof RktError) return e;
  const err = e as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const code = err.cause?.code ?? err.code ?? '';
  let msg = err.cause?.message ?? err.message ?? String(e);
  // OpenSSL's messages carry a hex prefix and source paths; keep their reason only.
  const ssl = /routines:[^:]*:([^:]+)/.exec(msg);
  if (ssl) msg = `TLS handshake failed (${ssl[1]})`;
  if (https && /SSL|TLS|CERT|EPROTO/i.test(`${code} ${msg}`)) {
    msg += /WRONG_VERSION|wrong version|EPROTO/i.test(`${code} ${msg}`)
      ? ' (for a plain-HTTP registry use --insecure-options=http)'
      : ' (use --insecure-options=tls to skip TLS verification)';
  }
  return new RktError('ENETWORK', `${what}: ${msg}`, { cause: e });
}

/** `CODE: message` from a registry's JSON error body, when it has one. */
async function registryErrors(res: Dispatcher.ResponseData): Promise<string> {
  try {
    const text = (await res.body.text()).slice(0, 4096);
    const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    return (doc.errors ?? []).map((x) => `${x.code ?? '?'}: ${x.message ?? ''}`).join('; ');
  } catch {
    return '';
  }
}

export class RegistryClient {
  private authorization?: string;
  readonly base: string;
  readonly name: string;

  private constructor(
    private readonly ref: DockerReference,
    private readonly opts: RegistryClientOptions,
    private readonly agent: Agent,
  ) {
    this.base = `${opts.insecureHttp ? 'http' : 'https'}://${ref.registry}`;
    this.name = `${ref.registry}/${ref.repository}`;
  }

  /** Connects, probes `/v2/` and authenticates as the registry asks. */
  static async open(ref: DockerReference, opts: RegistryClientOptions): Promise<RegistryClient> {
    const { Agent } = await import('undici');
    const agent = new Agent({
      connect: { rejectUnauthorized: !opts.insecureTls, timeout: Math.min(TIMEOUT_MS, 20_000) },
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    const c = new RegistryClient(ref, opts, agent);
    try {
      await c.probe();
      return c;
    } catch (e) {
      await c.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }

  private get https(): boolean {
    return this.base.startsWith('https:');
  }

  /**
   * One GET, following redirects (blob storage may live elsewhere) without our Authorization once
   * the host changes. The caller consumes or dumps the body.
   */
  private async get(url: string, headers: Record<string, string>, what: string): Promise<Dispatcher.ResponseData> {
    const { request } = await import('undici');
    let target = new URL(url);
    const origin = new URL(this.base).host;
    for (let hop = 0; hop < 6; hop++) {
      const h: Record<string, string> = { 'user-agent': 'rkt-ng', ...headers };
      if (this.authorization && target.host === origin) h.authorization = this.authorization;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(target, { method: 'GET', headers: h, dispatcher: this.agent, signal: this.opts.signal });
      } catch (e) {
        throw netError(what, e, target.protocol === 'https:');
      }
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && res.headers.location) {
        await res.body.dump();
        const next = new URL(String(res.headers.location), target);
        if (next.protocol === 'http:' && !this.opts.insecureHttp) {
          throw new RktError('ENETWORK', `${what}: redirected to plain HTTP ${next.origin} (allow it with --insecure-options=http)`);
        }
        target = next;
        continue;
      }
      return res;
    }
    throw new RktError('ENETWORK', `${what}: too many redirects`);
  }

  private async probe(): Promise<void> {
    const what = `registry ${this.ref.registry}`;
    let res = await this.get(`${this.base}/v2/`, {}, what);
    if (res.statusCode === 401) {
      const challenges = parseChallenges(res.headers['www-authenticate']);
      await res.body.dump();
      const bearer = challenges.find((c) => c.scheme === 'bearer');
      const basic = challenges.find((c) => c.scheme === 'basic');
      if (bearer) {
        this.authorization = `Bearer ${await this.token(bearer.params)}`;
      } else if (basic) {
        if (!this.opts.credentials) {
          throw new RktError('ENETWORK', `${what} requires authentication: add a dockerAuth configuration for "${this.ref.registry}" in auth.d`);
        }
        this.authorization = basicHeader(this.opts.credentials);
      } else {
        throw new RktError('ENETWORK', `${what} requires an unsupported authentication scheme`);
      }
      res = await this.get(`${this.base}/v2/`, {}, what);
      if (res.statusCode === 401) {
        await res.body.dump();
        throw new RktError('ENETWORK', `${what}: authentication failed (401 Unauthorized): check the dockerAuth credentials for "${this.ref.registry}"`);
      }
    }
    if (res.statusCode === 404) {
      await res.body.dump();
      throw new RktError('ENETWORK', `${what} does not speak the registry v2 API (404 on /v2/)`);
    }
    if (res.statusCode !== 200) {
      const detail = await registryErrors(res);
      throw new RktError('ENETWORK', `${what}: unexpected status ${res.statusCode} on /v2/${detail ? ` (${detail})` : ''}`);
    }
    await res.body.dump();
  }

  /** The Bearer token flow: GET realm?service=…&scope=repository:<name>:pull, Basic creds if any. */
  private async token(params: Record<string, string>): Promise<string> {
    const what = `token server for ${this.ref.registry}`;
    if (!params.realm) throw new RktError('ENETWORK', `${what}: Bearer challenge without a realm`);
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw new RktError('ENETWORK', `${what}: invalid realm ${JSON.stringify(params.realm)}`);
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && this.opts.insecureHttp)) {
      throw new RktError('ENETWORK', `${what}: realm ${realm.origin} is not https (allow it with --insecure-options=http)`);
    }
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', `repository:${this.ref.repository}:pull`);
    const { request } = await import('undici');
    const headers: Record<string, string> = { 'user-agent': 'rkt-ng' };
    if (this.opts.credentials) headers.authorization = basicHeader(this.opts.credentials);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(realm, { method: 'GET', headers, dispatcher: this.agent, signal: this.opts.signal });
    } catch (e) {
      throw netError(what, e, realm.protocol === 'https:');
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump();
      throw new RktError('ENETWORK', `${what}: authentication failed (${res.statusCode}): check the dockerAuth credentials for "${this.ref.registry}"`);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new RktError('ENETWORK', `${what}: unexpected status ${res.statusCode}`);
    }
    let doc: { token?: unknown; access_token?: unknown };
    try {
      doc = (await res.body.json()) as typeof doc;
    } catch {
      throw new RktError('ENETWORK', `${what}: the answer is not JSON`);
    }
    const t = doc.token ?? doc.access_token;
    if (typeof t !== 'string' || t === '') throw new RktError('ENETWORK', `${what}: no token in the answer`);
    return t;
  }

  /** A manifest or index by tag or digest; by digest, the bytes must hash to it. */
  async manifest(reference: string): Promise<FetchedManifest> {
    const sep = reference.includes(':') ? '@' : ':';
    const what = `docker image ${this.name}${sep}${reference}`;
    const res = await this.get(`${this.base}/v2/${this.ref.repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT }, what);
    if (res.statusCode === 404) {
      const detail = await registryErrors(res);
      throw new RktError('ENOTFOUND', `${what} not found${detail ? ` (${detail})` : ''}`);
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      const detail = await registryErrors(res);
      throw new RktError('ENETWORK', `${what}: access denied (${res.statusCode})${detail ? ` (${detail})` : ''}`);
    }
    if (res.statusCode !== 200) {
      const detail = await registryErrors(res);
      throw new RktError('ENETWORK', `${what}: unexpected status ${res.statusCode}${detail ? ` (${detail})` : ''}`);
    }
    const body = await readLimited(res, MAX_DOCUMENT, what, this.https);
    const ct = res.headers['content-type'];
    const algo = reference.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = `${algo}:${hasherFor({ algorithm: algo, hex: '' }).update(body).digest('hex')}`;
    if (reference.includes(':') && digest !== reference) throw mismatch(what, reference, digest);
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith(`${algo}:`) && claimed !== digest) throw mismatch(what, claimed, digest);
    return { body, contentType: typeof ct === 'string' ? ct : undefined, digest };
  }

  /** A small blob (the image config) in memory, checked against its descriptor. */
  async blob(desc: Descriptor, what: string): Promise<Buffer> {
    if (desc.size > MAX_DOCUMENT) throw new RktError('EIMAGE_FORMAT', `${what}: ${desc.size} bytes is too large for an image config`);
    const res = await this.blobResponse(desc, what);
    const body = await readLimited(res, desc.size, what, this.https);
    const d = parseDigest(desc.digest, what);
    const got = `${d.algorithm}:${hasherFor(d).update(body).digest('hex')}`;
    if (got !== desc.digest) throw mismatch(what, desc.digest, got);
    if (body.length !== desc.size) throw new RktError('EIMAGE_FORMAT', `${what}: ${body.length} bytes, the manifest says ${desc.size}`);
    return body;
  }

  /**
   * Streams a blob into `file` while hashing it; `onBytes` sees the running count. A body longer
   * than the descriptor's size stops at once; a short or mismatching one fails at the end.
   */
  async blobToFile(desc: Descriptor, file: string, what: string, onBytes: (n: number) => void): Promise<void> {
    const d = parseDigest(desc.digest, what);
    const res = await this.blobResponse(desc, what);
    const hash = hasherFor(d);
    let n = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        if (n > desc.size) {
          cb(new RktError('EIMAGE_FORMAT', `${what}: more bytes than the ${desc.size} its descriptor says`));
          return;
        }
        hash.update(chunk);
        onBytes(n);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res.body, check, fs.createWriteStream(file, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }));
    } catch (e) {
      throw netError(`${what}: download failed`, e, this.https);
    }
    const got = `${d.algorithm}:${hash.digest('hex')}`;
    if (n !== desc.size) {
      throw new RktError('ENETWORK', `${what}: download ended after ${n} of ${desc.size} bytes`);
    }
    if (got !== desc.digest) throw mismatch(what, desc.digest, got);
  }

  private async blobResponse(desc: Descriptor, what: string): Promise<Dispatcher.ResponseData> {
    const res = await this.get(`${this.base}/v2/${this.ref.repository}/blobs/${desc.digest}`, {}, `${what}: download failed`);
    if (res.statusCode === 200) return res;
    const detail = await registryErrors(res);
    if (res.statusCode === 404) throw new RktError('ENOTFOUND', `${what} not found in ${this.name}${detail ? ` (${detail})` : ''}`);
    throw new RktError('ENETWORK', `${what}: unexpected status ${res.statusCode}${detail ? ` (${detail})` : ''}`);
  }
}

function basicHeader(c: { user: string; password: string }): string {
  return 'Basic ' + Buffer.from(`${c.user}:${c.password}`).toString('base64');
}

async function readLimited(res: Dispatcher.ResponseData, limit: number, what: string, https: boolean): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body) {
      n += (chunk as Buffer).length;
      if (n > limit) {
        res.body.destroy();
        throw new RktError('EIMAGE_FORMAT', `${what}: more than ${limit} bytes`);
      }
      parts.push(chunk as Buffer);
    }
  } catch (e) {
    throw netError(`${what}: download failed`, e, https);
  }
  return Buffer.concat(parts);
}
