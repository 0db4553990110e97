/**
 * The test web server (a separate process, so it can run inside the test's network namespace):
 * serves `<root>/<host>/<path>` (a directory gives its index.html) over HTTPS and plain HTTP on
 * 127.0.0.1, with ETag / If-None-Match, Range, Last-Modified, and per-path behaviour read from
 * `<root>/rules.json` on every request (status, headers, redirects, deferral, dying mid-body,
 * required credentials). Each request is appended to `<root>/requests.log` as one JSON line.
 *
 *   node server.js CONFIG.json   →  prints `ready <httpsPort> <httpPort>` when listening
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';

export interface ServerConfig {
  root: string;
  httpsPort: number;
  httpPort: number;
  key: string;
  cert: string;
}

export interface Rule {
  status?: number;
  headers?: Record<string, string>;
  /** 302 to this URL */
  redirect?: string;
  /** answer 202 this many times first */
  defer?: number;
  /** send this many body bytes, then destroy the socket */
  dieAfterBytes?: number;
  /** die only on the first N requests */
  dieTimes?: number;
  /** 401 unless the Authorization header is exactly this */
  auth?: string;
  /** no Accept-Ranges, ignore Range */
  noRanges?: boolean;
  /** send this many body bytes, then nothing more (the connection stays open) */
  stallAfterBytes?: number;
  /** never answer (for timeouts) */
  hang?: boolean;
  body?: string;
  /** the rule applies to this scheme only */
  onlyScheme?: 'http' | 'https';
}

/** `host/path` → rule; the host without port. */
export type Rules = Record<string, Rule>;

const counters = new Map<string, number>();

function readRules(root: string): Rules {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'rules.json'), 'utf8')) as Rules;
  } catch {
    return {};
  }
}

function handler(root: string, scheme: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const u = new URL(req.url ?? '/', `${scheme}://${host}`);
    fs.appendFileSync(path.join(root, 'requests.log'), JSON.stringify({ scheme, method: req.method, host, path: u.pathname, query: u.search, headers: req.headers }) + '\n');
    const id = `${host}${u.pathname}`;
    let rule = readRules(root)[id] ?? {};
    if (rule.onlyScheme !== undefined && rule.onlyScheme !== scheme) rule = {};
    const n = (counters.get(id) ?? 0) + 1;
    counters.set(id, n);
    if (rule.hang) return;
    if (rule.auth !== undefined && req.headers.authorization !== rule.auth) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    if (rule.redirect) {
      res.writeHead(302, { location: rule.redirect }).end();
      return;
    }
    if (rule.defer !== undefined && n <= rule.defer) {
      res.writeHead(202).end();
      return;
    }
    if (rule.status !== undefined) {
      res.writeHead(rule.status, rule.headers ?? {}).end(rule.body ?? '');
      return;
    }
    let file = path.join(root, host, decodeURIComponent(u.pathname));
    if (!file.startsWith(path.join(root, host))) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    } catch {
      /* 404 below */
    }
    let data: Buffer;
    let st: fs.Stats;
    try {
      data = fs.readFileSync(file);
      st = fs.statSync(file);
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    const etag = `"${crypto.createHash('sha1').update(data).digest('hex').slice(0, 16)}"`;
    const headers: Record<string, string> = { etag, 'last-modified': st.mtime.toUTCString(), ...(rule.headers ?? {}) };
    if (!rule.noRanges) headers['accept-ranges'] = 'bytes';
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    let status = 200;
    let body = data;
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    if (range && !rule.noRanges) {
      const from = Number(range[1]);
      if (from >= data.length) {
        res.writeHead(416, headers).end();
        return;
      }
      status = 206;
      body = data.subarray(from);
      headers['content-range'] = `bytes ${from}-${data.length - 1}/${data.length}`;
    }
    headers['content-length'] = String(body.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (rule.stallAfterBytes !== undefined && n <= (rule.dieTimes ?? Infinity)) {
      res.write(body.subarray(0, rule.stallAfterBytes));
      return;
    }
    const die = rule.dieAfterBytes !== undefined && n <= (rule.dieTimes ?? Infinity);
    if (die) {
      res.write(body.subarray(0, rule.dieAfterBytes), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    res.end(body);
  };
}

export function startServers(cfg: ServerConfig): Promise<{ httpsPort: number; httpPort: number }> {
  const s1 = https.createServer({ key: fs.readFileSync(cfg.key), cert: fs.readFileSync(cfg.cert) }, handler(cfg.root, 'https'));
  const s2 = http.createServer(handler(cfg.root, 'http'));
  const listen = (s: http.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
    });
  return Promise.all([listen(s1, cfg.httpsPort), listen(s2, cfg.httpPort)]).then(([httpsPort, httpPort]) => ({ httpsPort, httpPort }));
}

if (require.main === module) {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as ServerConfig;
  startServers(cfg).then(
    ({ httpsPort, httpPort }) => process.stdout.write(`ready ${httpsPort} ${httpPort}\n`),
    (e) => {
      process.stderr.write(`server: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
