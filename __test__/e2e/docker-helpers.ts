/**
 * Helpers shared by the Docker/OCI e2e files: running rkt without blocking the event loop (the
 * token server and fault proxy live in the test process), auth.d files, and the "nothing stored"
 * check for refused images.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RktContext, RunResult } from './harness';

export const WARNING = 'image: warning: image signature verification has been disabled';

export function rkt(ctx: RktContext, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const c = ctx.spawn(args);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 120_000);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export async function rktOk(ctx: RktContext, args: string[]): Promise<string> {
  const r = await rkt(ctx, args);
  assert.equal(r.code, 0, `rkt ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export function writeDockerAuth(ctx: RktContext, registry: string, user: string, password: string): void {
  const dir = path.join(ctx.localConfig, 'auth.d');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'docker.json'),
    JSON.stringify({ rktKind: 'dockerAuth', rktVersion: 'v1', registries: [registry], credentials: { user, password } }),
  );
}

export function assertNothingStored(ctx: RktContext): void {
  assert.deepEqual(ctx.files('cas/blob'), [], 'no blob');
  assert.deepEqual(ctx.files('cas/imageManifest'), [], 'no manifest copy');
  const tmp = path.join(ctx.dataDir, 'cas', 'tmp');
  assert.deepEqual(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], [], 'no temp file or dir');
}

/** Exit 254, the insecure warning, then exactly one `fetch: ` line matching `re`; nothing stored. */
export async function expectRefused(ctx: RktContext, args: string[], re: RegExp): Promise<string> {
  const r = await rkt(ctx, ['fetch', ...args]);
  assert.equal(r.code, 254, `exit code; stdout=${r.stdout} stderr=${r.stderr}`);
  const lines = r.stderr.trim().split('\n').filter((l) => l !== WARNING);
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], /^fetch: /);
  assert.match(lines[0], re);
  assert.equal(r.stdout, '');
  assertNothingStored(ctx);
  const list = await rkt(ctx, ['image', 'list', '--no-legend']);
  assert.equal(list.stdout.trim(), '', 'no index row');
  return lines[0];
}
