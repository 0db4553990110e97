/**
 * A small internet for the network tests: a test CA, the test web server (support/server.ts) and,
 * for real-looking names (`example.com/app`), a network namespace of our own (`rkt-test-<pid>-<n>`)
 * with only a loopback interface, where the server listens on 127.0.0.1:443 and :80 and rkt runs
 * with its own /etc/hosts bind-mounted in a private mount namespace. The host's /etc/hosts and
 * network are never touched; the namespace is deleted in cleanup, also when a test failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { RKT, RktContext, type RunResult } from '../harness';
import { makePKI, type TestPKI } from './tls';
import type { Rules } from './server';

const SERVER_JS = path.join(__dirname, 'server.js');
let counter = 0;
const live = new Set<string>();
process.on('exit', () => {
  for (const ns of live) spawnSync('ip', ['netns', 'del', ns]);
});

export interface WorldOptions {
  /** run inside a fresh network namespace with these host names on 127.0.0.1 */
  netns?: boolean;
  hosts?: string[];
}

export class World extends RktContext {
  readonly pki: TestPKI;
  readonly www: string;
  readonly ns?: string;
  readonly hostsFile: string;
  httpsPort = 0;
  httpPort = 0;
  private server?: ChildProcess;
  private readonly others: ChildProcess[] = [];

  constructor(opts: WorldOptions = {}) {
    super('rkt-world-');
    const hosts = opts.hosts ?? ['example.com', 'other.example', 'localhost'];
    this.pki = makePKI(this.path('pki'), hosts);
    this.www = this.path('www');
    fs.mkdirSync(this.www, { recursive: true });
    this.hostsFile = this.path('hosts');
    fs.writeFileSync(this.hostsFile, ['127.0.0.1 localhost', ...hosts.filter((h) => h !== 'localhost').map((h) => `127.0.0.1 ${h}`), ''].join('\n'));
    if (opts.netns) {
      this.ns = `rkt-test-${process.pid}-${counter++}`;
      const r = spawnSync('ip', ['netns', 'add', this.ns], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip netns add ${this.ns}: ${r.stderr}`);
      live.add(this.ns);
      spawnSync('ip', ['netns', 'exec', this.ns, 'ip', 'link', 'set', 'lo', 'up']);
    }
  }

  /** argv that runs `cmd args` inside our namespace with our /etc/hosts (or as is without one). */
  wrap(cmd: string, args: string[]): [string, string[]] {
    if (!this.ns) return [cmd, args];
    return ['ip', ['netns', 'exec', this.ns, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', this.hostsFile, cmd, ...args]];
  }

  /** The env rkt runs with: trusts the test CA. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, NODE_EXTRA_CA_CERTS: this.pki.caFile, RKT_HTTP_TIMEOUT_MS: '5000', ...extra };
  }

  override run(args: string[], opts: SpawnSyncOptions = {}): RunResult {
    const [cmd, argv] = this.wrap(process.execPath, [RKT, ...this.globalArgs(), ...args]);
    const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000, env: this.env(), ...opts });
    return { code: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  override spawn(args: string[]) {
    const [cmd, argv] = this.wrap(process.execPath, [RKT, ...this.globalArgs(), ...args]);
    return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: this.env() });
  }

  /** Runs rkt on a pseudo-terminal (util-linux `script`), typing `input`. */
  runTTY(args: string[], input: string, extraEnv: Record<string, string> = {}): RunResult {
    const [cmd, argv] = this.wrap(process.execPath, [RKT, ...this.globalArgs(), ...args]);
    const quoted = [cmd, ...argv].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('script', ['-q', '-e', '-c', quoted, '/dev/null'], { input, encoding: 'utf8', timeout: 60_000, env: this.env(extraEnv) });
    return { code: r.status ?? -1, stdout: String(r.stdout ?? '').replace(/\r\n/g, '\n'), stderr: String(r.stderr ?? '') };
  }

  /** Starts the web server (443/80 inside the namespace, random loopback ports outside). */
  async start(): Promise<void> {
    const cfg = { root: this.www, httpsPort: this.ns ? 443 : 0, httpPort: this.ns ? 80 : 0, key: this.pki.keyFile, cert: this.pki.certFile };
    fs.writeFileSync(this.path('server.json'), JSON.stringify(cfg));
    const [cmd, argv] = this.wrap(process.execPath, [SERVER_JS, this.path('server.json')]);
    this.server = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    const ports = await new Promise<string>((resolve, reject) => {
      let out = '';
      this.server!.stdout!.on('data', (c) => {
        out += String(c);
        const m = /ready (\d+) (\d+)/.exec(out);
        if (m) resolve(`${m[1]} ${m[2]}`);
      });
      this.server!.once('exit', (code) => reject(new Error(`test server exited ${code}`)));
    });
    [this.httpsPort, this.httpPort] = ports.split(' ').map(Number);
  }

  /** Starts another long-running process in the namespace (e.g. python3 -m http.server). */
  startProcess(cmd: string, args: string[], cwd: string): ChildProcess {
    const [c, a] = this.wrap(cmd, args);
    const p = spawn(c, a, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.others.push(p);
    return p;
  }

  /** `https://127.0.0.1:<port>` outside a namespace, `https://<host>` inside. */
  base(scheme: 'https' | 'http', host = 'example.com'): string {
    if (this.ns) return `${scheme}://${host}`;
    return `${scheme}://127.0.0.1:${scheme === 'https' ? this.httpsPort : this.httpPort}`;
  }

  /** Writes a file the server serves as `<host>/<rel>`. */
  serve(host: string, rel: string, data: Buffer | string): string {
    const p = path.join(this.www, host, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
    return p;
  }

  /** The discovery page of a prefix: one meta tag per [name, content]. */
  servePage(hostPath: string, tags: [string, string][]): void {
    const [host, ...rest] = hostPath.split('/');
    const html = `<html><head>\n${tags.map(([n, c]) => `<meta name="${n}" content="${c}">`).join('\n')}\n</head><body>test</body></html>\n`;
    this.serve(host, path.join(rest.join('/'), 'index.html'), html);
  }

  rules(r: Rules): void {
    fs.writeFileSync(path.join(this.www, 'rules.json'), JSON.stringify(r));
  }

  /** The requests the server saw, oldest first; `clearRequests()` empties the log. */
  requests(): { scheme: string; method: string; host: string; path: string; query: string; headers: Record<string, string> }[] {
    try {
      return fs
        .readFileSync(path.join(this.www, 'requests.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  }

  clearRequests(): void {
    fs.rmSync(path.join(this.www, 'requests.log'), { force: true });
  }

  override cleanup(): void {
    for (const p of [this.server, ...this.others]) {
      if (p && p.exitCode === null) p.kill('SIGKILL');
    }
    if (this.ns) {
      // processes started with `ip netns exec` die with the kill above; then the namespace goes
      spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' })
        .stdout?.split('\n')
        .filter(Boolean)
        .forEach((pid) => {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        });
      spawnSync('ip', ['netns', 'del', this.ns]);
      live.delete(this.ns);
    }
    super.cleanup();
  }
}
