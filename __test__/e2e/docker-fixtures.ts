/**
 * Real parts for the Docker/OCI tests, all on 127.0.0.1: Debian's docker-registry (distribution 2.8)
 * with its own config and storage in the test's temp dir, optionally with htpasswd Basic auth or
 * Bearer tokens from a small token server; images built with umoci from a busybox-static rootfs
 * plus the inspect binary and pushed with skopeo; raw blob/manifest uploads for hostile images;
 * a forwarding proxy that injects faults a well-behaved registry never shows. Every process and
 * server started here is registered and stopped by `stopAll()` (tests call it in `after`, and an
 * exit hook catches the rest).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const stoppers = new Set<() => Promise<void>>();
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export async function stopAll(): Promise<void> {
  for (const s of [...stoppers]) await s().catch(() => undefined);
}

export function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHttp(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`registry exited: ${fs.readFileSync(log, 'utf8')}`);
    const ok = await new Promise<boolean>((resolve) => {
      const get = url.startsWith('https:') ? https.get : http.get;
      const req = get(url, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry did not start: ${fs.readFileSync(log, 'utf8')}`);
}

export interface RegistryAuth {
  tls?: { cert: string; key: string };
  htpasswd?: { user: string; password: string };
  token?: { realm: string; service: string; issuer: string; certFile: string };
}

export class Registry {
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get storage(): string {
    return path.join(this.dir, 'storage');
  }

  static async start(dir: string, auth: RegistryAuth = {}): Promise<Registry> {
    fs.mkdirSync(dir, { recursive: true });
    const port = await freePort();
    let authYaml = '';
    if (auth.htpasswd) {
      const file = path.join(dir, 'htpasswd');
      sh('htpasswd', ['-Bbc', file, auth.htpasswd.user, auth.htpasswd.password]);
      authYaml = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${file}\n`;
    } else if (auth.token) {
      const t = auth.token;
      authYaml = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certFile}\n`;
    }
    const tlsYaml = auth.tls ? `  tls:\n    certificate: ${auth.tls.cert}\n    key: ${auth.tls.key}\n` : '';
    // Never Debian's default config: it listens on every interface.
    const config = path.join(dir, 'config.yml');
    fs.writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'storage')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: e2e-${crypto.randomBytes(8).toString('hex')}\n${tlsYaml}${authYaml}`,
    );
    const log = path.join(dir, 'registry.log');
    const out = fs.openSync(log, 'w');
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    children.add(child);
    const r = new Registry(port, dir, child);
    stoppers.add(r.stopper);
    await waitHttp(`${auth.tls ? 'https' : 'http'}://127.0.0.1:${port}/v2/`, child, log);
    return r;
  }

  private readonly stopper = () => this.stop();

  async stop(): Promise<void> {
    stoppers.delete(this.stopper);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await gone;
    }
    children.delete(this.child);
  }

  /** Kills the registry process at once (a registry dying mid-pull). */
  kill(): void {
    this.child.kill('SIGKILL');
  }

  /** Where distribution keeps a blob's bytes (to corrupt them in place). */
  blobData(digest: string): string {
    const hex = digest.replace(/^sha256:/, '');
    return path.join(this.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
  }
}

/** A minimal Docker token server: Basic-checked GET /token → RS256 JWT with an x5c header. */
export class TokenServer {
  readonly requests: string[] = [];
  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    readonly certFile: string,
  ) {}

  get realm(): string {
    return `http://127.0.0.1:${this.port}/token`;
  }

  static async start(dir: string, user: string, password: string, issuer: string, service: string): Promise<TokenServer> {
    fs.mkdirSync(dir, { recursive: true });
    const keyFile = path.join(dir, 'token.key');
    const certFile = path.join(dir, 'token.crt');
    sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=e2e-token']);
    const key = fs.readFileSync(keyFile, 'utf8');
    const der = fs.readFileSync(certFile, 'utf8').replace(/-----[^-]+-----|\s/g, '');
    const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const want = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"details":"bad credentials"}');
        return;
      }
      const u = new URL(req.url ?? '/', 'http://x');
      const scope = u.searchParams.get('scope') ?? '';
      const [, name, actions] = /^repository:([^:]+):(.+)$/.exec(scope) ?? [];
      const now = Math.floor(Date.now() / 1000);
      const header = { alg: 'RS256', typ: 'JWT', x5c: [der] };
      const claims = {
        iss: issuer,
        sub: user,
        aud: u.searchParams.get('service') ?? service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: crypto.randomBytes(8).toString('hex'),
        access: name ? [{ type: 'repository', name, actions: actions.split(',') }] : [],
      };
      const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
      const sig = crypto.sign('sha256', Buffer.from(input), key);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `${input}.${b64u(sig)}` }));
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const t = new TokenServer(server, port, certFile);
    (t as { requests: string[] }).requests = requests;
    stoppers.add(() => t.stop());
    return t;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

export interface Fault {
  /** forward this many bytes of the first blob larger than that, then kill the registry */
  dieMidBlobAfter?: { bytes: number; registry: Registry };
  /** forward this many bytes of the first blob larger than that, then send nothing more */
  stallMidBlobAfter?: number;
  /** hold every blob response this long before forwarding it (to observe concurrency) */
  delayBlobsMs?: number;
  /** answer manifest requests with this media type (body rewritten, no Docker-Content-Digest) */
  manifestMediaType?: string;
}

/** A forwarding proxy in front of a registry that injects one fault. */
export class FaultProxy {
  /** most blob GETs in flight at once */
  maxConcurrentBlobs = 0;
  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(target: Registry, fault: Fault): Promise<FaultProxy> {
    let p: FaultProxy;
    let died = false;
    let inFlight = 0;
    const stats = { max: 0 };
    const server = http.createServer((req, res) => {
      if (/\/blobs\/sha256:/.test(req.url ?? '') && req.method === 'GET') {
        inFlight++;
        stats.max = Math.max(stats.max, inFlight);
        p.maxConcurrentBlobs = stats.max;
        res.on('close', () => inFlight--);
        if (fault.delayBlobsMs) {
          setTimeout(() => forward(req, res), fault.delayBlobsMs);
          return;
        }
      }
      forward(req, res);
    });
    const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const up = http.request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
        const isBlob = /\/blobs\/sha256:/.test(req.url ?? '') && req.method === 'GET';
        const isManifest = /\/manifests\//.test(req.url ?? '') && req.method === 'GET';
        const stall = fault.stallMidBlobAfter;
        if (stall !== undefined && isBlob && Number(ur.headers['content-length']) > stall) {
          res.writeHead(ur.statusCode ?? 500, ur.headers);
          let sent = 0;
          ur.on('data', (c: Buffer) => {
            if (sent >= stall) return;
            const part = c.subarray(0, stall - sent);
            sent += part.length;
            res.write(part);
            if (sent >= stall) ur.pause();
          });
          return;
        }
        const die = fault.dieMidBlobAfter;
        if (die && isBlob && !died && Number(ur.headers['content-length']) > die.bytes) {
          died = true;
          res.writeHead(ur.statusCode ?? 500, ur.headers);
          let sent = 0;
          ur.on('data', (c: Buffer) => {
            if (sent >= die.bytes) return;
            const part = c.subarray(0, die.bytes - sent);
            sent += part.length;
            res.write(part);
            if (sent >= die.bytes) {
              die.registry.kill();
              res.socket?.destroy();
              ur.destroy();
            }
          });
          return;
        }
        if (fault.manifestMediaType && isManifest && ur.statusCode === 200) {
          const parts: Buffer[] = [];
          ur.on('data', (c: Buffer) => parts.push(c));
          ur.on('end', () => {
            const doc = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
            doc.mediaType = fault.manifestMediaType;
            const body = Buffer.from(JSON.stringify(doc));
            const h: http.OutgoingHttpHeaders = { ...ur.headers, 'content-type': fault.manifestMediaType as string, 'content-length': String(body.length) };
            delete h['docker-content-digest'];
            res.writeHead(200, h);
            res.end(body);
          });
          return;
        }
        res.writeHead(ur.statusCode ?? 500, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.socket?.destroy());
      req.pipe(up);
    };
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    p = new FaultProxy(server, port);
    stoppers.add(() => p.stop());
    return p;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

export interface BuiltImage {
  layout: string;
  tag: string;
}

/**
 * A three-layer image: busybox-static + the inspect binary; then files and a directory to be
 * removed; then a whiteout of one file and an opaque replacement of the directory. Its config has
 * everything the conversion maps.
 */
export function buildTestImage(dir: string, inspectBinary: string, tag = 'test'): BuiltImage {
  const layout = path.join(dir, 'layout');
  const src = path.join(dir, 'src');
  fs.rmSync(layout, { recursive: true, force: true });
  fs.rmSync(src, { recursive: true, force: true });
  sh('umoci', ['init', '--layout', layout]);
  sh('umoci', ['new', '--image', `${layout}:${tag}`]);
  const l1 = path.join(src, 'l1');
  fs.mkdirSync(path.join(l1, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(l1, 'bin', 'busybox'));
  fs.chmodSync(path.join(l1, 'bin', 'busybox'), 0o755);
  fs.symlinkSync('/bin/busybox', path.join(l1, 'bin', 'sh'));
  fs.copyFileSync(inspectBinary, path.join(l1, 'inspect'));
  fs.chmodSync(path.join(l1, 'inspect'), 0o755);
  fs.mkdirSync(path.join(l1, 'data'));
  fs.writeFileSync(path.join(l1, 'data', 'seed'), 'from the image\n');
  sh('umoci', ['insert', '--image', `${layout}:${tag}`, l1, '/']);
  const l2 = path.join(src, 'l2');
  fs.mkdirSync(path.join(l2, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(l2, 'etc', 'greeting'), 'hello from layer 2\n');
  fs.writeFileSync(path.join(l2, 'etc', 'removed'), 'whited out in layer 3\n');
  fs.mkdirSync(path.join(l2, 'opt', 'old'), { recursive: true });
  fs.writeFileSync(path.join(l2, 'opt', 'old', 'a'), 'hidden by the opaque dir\n');
  sh('umoci', ['insert', '--image', `${layout}:${tag}`, l2, '/']);
  sh('umoci', ['insert', '--image', `${layout}:${tag}`, '--whiteout', '/etc/removed']);
  const l4 = path.join(src, 'l4');
  fs.mkdirSync(l4, { recursive: true });
  fs.writeFileSync(path.join(l4, 'b'), 'new in the opaque dir\n');
  sh('umoci', ['insert', '--image', `${layout}:${tag}`, '--opaque', l4, '/opt/old']);
  sh('umoci', [
    'config',
    '--image',
    `${layout}:${tag}`,
    '--config.entrypoint',
    '/inspect',
    '--config.cmd',
    '--print-msg=hello from docker',
    '--config.env',
    'FROM_IMAGE=yes',
    '--config.env',
    'PATH=/bin',
    '--config.workingdir',
    '/etc',
    '--config.user',
    '0:0',
    '--config.volume',
    '/data',
    '--config.exposedports',
    '80/tcp',
    '--config.label',
    'org.example.kind=e2e',
    '--author',
    'e2e tests',
    '--os',
    'linux',
    '--architecture',
    'amd64',
  ]);
  sh('umoci', ['gc', '--layout', layout]);
  return { layout, tag };
}

/** Like `sh`, without blocking the event loop (servers in this process must keep answering). */
export function shAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 120_000);
    c.on('close', (code) => {
      clearTimeout(timer);
      children.delete(c);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`));
    });
  });
}

/** `skopeo copy oci:LAYOUT:TAG docker://ADDR/REPO:TAG`, as OCI or Docker schema2. */
export async function push(img: BuiltImage, addr: string, repoTag: string, opts: { format?: 'oci' | 'v2s2'; creds?: string } = {}): Promise<void> {
  const args = ['copy', '--quiet', '--dest-tls-verify=false'];
  if (opts.format === 'v2s2') args.push('--format', 'v2s2');
  if (opts.creds) args.push('--dest-creds', opts.creds);
  await shAsync('skopeo', [...args, `oci:${img.layout}:${img.tag}`, `docker://${addr}/${repoTag}`]);
}

async function req(method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

export function sha256(b: Buffer | string): string {
  return 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');
}

/** Monolithic blob upload through the registry API; returns its descriptor. */
export async function pushBlob(addr: string, repo: string, data: Buffer, mediaType: string): Promise<{ mediaType: string; digest: string; size: number }> {
  const digest = sha256(data);
  const start = await req('POST', `http://${addr}/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${start.body}`);
  const loc = new URL(String(start.headers.location), `http://${addr}`);
  loc.searchParams.set('digest', digest);
  const put = await req('PUT', loc.toString(), data, { 'content-type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`upload: ${put.status} ${put.body}`);
  return { mediaType, digest, size: data.length };
}

export async function putManifest(addr: string, repo: string, ref: string, doc: object, mediaType: string): Promise<string> {
  const body = Buffer.from(JSON.stringify(doc));
  const r = await req('PUT', `http://${addr}/v2/${repo}/manifests/${ref}`, body, { 'content-type': mediaType });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${r.body}`);
  return sha256(body);
}

/** An OCI image of the given layer blobs (and a minimal config) pushed under repo:tag. */
export async function pushRawImage(addr: string, repo: string, tag: string, layers: Buffer[], layerType = 'application/vnd.oci.image.layer.v1.tar+gzip'): Promise<string> {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: layers.map(() => sha256('x')) } }),
  );
  const c = await pushBlob(addr, repo, config, 'application/vnd.oci.image.config.v1+json');
  const ls = [];
  for (const l of layers) ls.push(await pushBlob(addr, repo, l, layerType));
  return putManifest(addr, repo, tag, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: c, layers: ls }, 'application/vnd.oci.image.manifest.v1+json');
}

export async function manifestDigest(addr: string, repo: string, tag: string): Promise<string> {
  const r = await req('HEAD', `http://${addr}/v2/${repo}/manifests/${tag}`, undefined, {
    accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
  });
  return String(r.headers['docker-content-digest']);
}
