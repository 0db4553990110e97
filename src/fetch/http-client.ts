/**
 * The HTTP(S) client every network step uses (discovery, keys, images, signatures), over undici.
 * rkt's rules (rkt/image/resumablesession.go, httpops.go, reference §2.4, §4.4):
 * - `User-Agent: rkt/<version>`;
 * - plain http only when the caller allows it, also for redirect targets (no silent downgrade);
 * - redirects followed by hand (at most 10) so that each hop gets only its own host's credentials:
 *   an `Authorization` header never follows a redirect to another host;
 * - credentials from auth.d only to their host[:port], and only over https;
 * - TLS verified unless `--insecure-options=tls`. Extra CAs: Node's NODE_EXTRA_CA_CERTS (a PEM
 *   file) adds to the trusted roots, which is how the tests trust their own CA.
 */
import type { Dispatcher } from 'undici';
import { RktError } from '../errors';
import { authorizationFor } from '../config/auth';
import type { RktConfig } from '../config/types';
import { rktVersion } from '../cli/version';

export interface HttpClientOptions {
  /** skip TLS certificate verification (--insecure-options=tls) */
  insecureTLS: boolean;
  /** allow http:// URLs, including redirect targets */
  allowHTTP: boolean;
  /** auth.d credentials; none for key downloads (rkt sends none there) */
  config?: RktConfig;
  /** connect timeout (rkt: 20 s) and idle timeout for headers and body; RKT_HTTP_TIMEOUT_MS overrides */
  timeoutMs?: number;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** the URL that answered, after redirects */
  url: string;
}

const MAX_REDIRECTS = 10;

export function header(res: { headers: HttpResponse['headers'] }, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** `error fetching <url>: <why>` with the innermost cause's words (TLS, refused, timeout …). */
export function networkError(url: string, e: unknown): RktError {
  if (e instanceof RktError) return e;
  let c: unknown = e;
  while (c instanceof Error && (c as { cause?: unknown }).cause instanceof Error) c = (c as { cause?: unknown }).cause;
  const err = c as NodeJS.ErrnoException;
  const why = err?.code && !String(err.message).includes(err.code) ? `${err.message} (${err.code})` : String(err?.message ?? e);
  return new RktError('ENETWORK', `error fetching ${url}: ${why}`, { cause: e });
}

export class HttpClient {
  private agent?: Dispatcher;
  private readonly timeoutMs: number;

  constructor(readonly opts: HttpClientOptions) {
    const env = Number(process.env.RKT_HTTP_TIMEOUT_MS);
    this.timeoutMs = Number.isFinite(env) && env > 0 ? env : (opts.timeoutMs ?? 60_000);
  }

  private async dispatcher(): Promise<Dispatcher> {
    if (this.agent) return this.agent;
    const { Agent } = await import('undici');
    this.agent = new Agent({
      connect: { rejectUnauthorized: !this.opts.insecureTLS, timeout: Math.min(this.timeoutMs, 20_000) },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    return this.agent;
  }

  /** Refuses what rkt refuses before any byte is sent: unknown schemes, http without permission. */
  checkURL(url: string): URL {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new RktError('EUSAGE', `invalid URL ${JSON.stringify(url)}`);
    }
    if (u.protocol === 'http:' && !this.opts.allowHTTP) {
      throw new RktError('EINSECURE', `refusing plain HTTP for ${url}: use --insecure-options=http to allow it`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RktError('EUSAGE', `only http and https URLs are supported: ${url}`);
    return u;
  }

  /** Headers for one hop: ours, the caller's, and the host's credentials when over https. */
  private hopHeaders(u: URL, extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': `rkt/${rktVersion()}`, ...extra };
    if (u.protocol === 'https:' && this.opts.config) {
      const auth = authorizationFor(this.opts.config, u.host);
      if (auth !== undefined) h.authorization = auth;
    }
    return h;
  }

  /** One request with redirects followed; the caller owns (and must consume or dump) the body. */
  async request(url: string, init: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {}): Promise<HttpResponse> {
    const d = await this.dispatcher();
    let current = url;
    for (let hop = 0; ; hop++) {
      const u = this.checkURL(current);
      let res: Dispatcher.ResponseData;
      try {
        res = await d.request({ origin: u.origin, path: u.pathname + u.search, method: init.method ?? 'GET', headers: this.hopHeaders(u, init.headers ?? {}) });
      } catch (e) {
        throw networkError(current, e);
      }
      const loc = header(res, 'location');
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && loc !== undefined) {
        await res.body.dump().catch(() => undefined);
        if (hop + 1 >= MAX_REDIRECTS) throw new RktError('ENETWORK', `error fetching ${url}: stopped after ${MAX_REDIRECTS} redirects`);
        const next = new URL(loc, current);
        if (next.protocol === 'http:' && !this.opts.allowHTTP) {
          throw new RktError('EINSECURE', `refusing the redirect from ${current} to ${next.href}: plain HTTP needs --insecure-options=http`);
        }
        current = next.href;
        continue;
      }
      return { statusCode: res.statusCode, headers: res.headers, body: res.body, url: current };
    }
  }

  /** GET a small resource whole (discovery pages, keys, signatures); non-200 → `bad HTTP status code: N`. */
  async getBuffer(url: string, maxBytes = 16 << 20): Promise<Buffer> {
    const res = await this.request(url);
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      throw new RktError('ENETWORK', `error fetching ${url}: bad HTTP status code: ${res.statusCode}`);
    }
    return readBody(res, url, maxBytes);
  }

  async close(): Promise<void> {
    const a = this.agent;
    this.agent = undefined;
    if (a) await a.close().catch(() => undefined);
  }
}

export async function readBody(res: HttpResponse, url: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body) {
      n += (c as Buffer).length;
      if (n > maxBytes) throw new RktError('ENETWORK', `error fetching ${url}: response larger than ${maxBytes} bytes`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    throw networkError(url, e);
  }
  const body = Buffer.concat(chunks);
  const len = header(res, 'content-length');
  if (len !== undefined && Number(len) !== body.length) throw new RktError('ENETWORK', `error fetching ${url}: unexpected EOF after ${body.length} of ${len} bytes`);
  return body;
}
