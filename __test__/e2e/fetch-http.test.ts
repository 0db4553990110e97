/**
 * Fetch by URL over HTTPS (inside the test's network namespace): caching (ETag / If-None-Match /
 * 304, Cache-Control max-age and no-cache), pull policies, the remote table, 202-deferred
 * signatures, auth.d credentials (only to their host, only over https, never across a redirect),
 * resumable downloads (a server dying mid-body, a kill -9), TLS failures, timeouts, truncated images.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { aciEntries, manifestFor, writeAci, type Compression } from '../../scripts/fixtures/aci';
import { keyOf } from './harness';
import { StoreDb } from '../../src/store/db';
import { partialPath } from '../../src/fetch/download';
import { TestKey } from './support/gpg';
import { World } from './support/world';

describe('fetch by URL over HTTPS', () => {
  const w = new World({ netns: true });
  let key: TestKey;
  before(async () => {
    key = new TestKey(w.path('keys'), 'builder', 'rsa');
    const d = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, key.fingerprint), key.armored);
    await w.start();
  });
  after(() => {
    key?.kill();
    w.cleanup();
  });

  async function publish(rel: string, name: string, size = 1000, host = 'example.com', c: Compression = 'none'): Promise<{ url: string; tar: Buffer; file: string }> {
    const file = path.join(w.www, host, rel);
    // incompressible payload, so that sizes on the wire are predictable
    // (random bytes when compressed: gzip shrinks the pattern below)
    const payload = c === 'none' ? Buffer.alloc(size) : randomBytes(size);
    if (c === 'none') for (let i = 0; i < size; i++) payload[i] = (i * 2654435761) >>> 24;
    const tar = await writeAci(file, aciEntries(manifestFor(name, { version: '1' }), [{ name: 'payload', data: payload }]), c);
    key.sign(file);
    return { url: `https://${host}/${rel}`, tar, file };
  }

  async function remote(url: string) {
    const db = await StoreDb.open(path.join(w.dataDir, 'cas'));
    try {
      return await db.getRemote(url);
    } finally {
      await db.close();
    }
  }

  const imageRequests = (p: string) => w.requests().filter((q) => q.path === p && q.method === 'GET');

  it('fetches and verifies; ETag makes the next fetch a 304 without a download', async () => {
    const { url, tar } = await publish('a/etag.aci', 'example.com/etag');
    w.clearRequests();
    const r = w.run(['fetch', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.match(r.stderr, /image: signature verified:/);
    const rem = await remote(url);
    assert.equal(rem?.blobKey, keyOf(tar));
    assert.equal(rem?.cacheMaxAge, 0);
    w.clearRequests();
    const again = w.run(['fetch', url]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), keyOf(tar).slice(0, 39));
    const [req] = imageRequests('/a/etag.aci');
    assert.equal(req.headers['if-none-match'], rem?.etag);
    assert.doesNotMatch(again.stderr, /signature verified/, 'a 304 reuses the stored, already verified blob');
  });

  it('max-age: no request at all while fresh; no-cache: always asks', async () => {
    const { url, tar } = await publish('a/fresh.aci', 'example.com/fresh');
    w.rules({ 'example.com/a/fresh.aci': { headers: { 'cache-control': 'public, max-age=3600' } }, 'example.com/a/nocache.aci': { headers: { 'cache-control': 'no-cache, max-age=3600' } } });
    assert.equal(w.run(['fetch', url]).code, 0);
    assert.equal((await remote(url))?.cacheMaxAge, 3600);
    w.clearRequests();
    const t0 = Date.now();
    const warm = w.run(['fetch', url]);
    const ms = Date.now() - t0;
    assert.equal(warm.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.deepEqual(w.requests(), [], 'no network request');
    assert.ok(ms < 5000, `warm fetch took ${ms} ms`);
    const nc = await publish('a/nocache.aci', 'example.com/nocache');
    assert.equal(w.run(['fetch', nc.url]).code, 0);
    assert.equal((await remote(nc.url))?.cacheMaxAge, 0);
    w.clearRequests();
    assert.equal(w.run(['fetch', nc.url]).code, 0);
    assert.equal(imageRequests('/a/nocache.aci').length, 1);
    w.rules({});
  });

  it('pull policies for URLs: never and new use the remote row, update asks the server', async () => {
    const { url, tar } = await publish('a/policy.aci', 'example.com/policy');
    const never = w.run(['fetch', '--pull-policy=never', url]);
    assert.equal(never.code, 254);
    assert.equal(never.stderr.trim(), `fetch: unable to fetch image from URL "${url}": either image was not found in the store or store was disabled and fetching from remote yielded nothing or it was disabled`);
    assert.equal(w.run(['fetch', url]).code, 0);
    w.clearRequests();
    for (const p of ['never', 'new']) assert.equal(w.ok(['fetch', `--pull-policy=${p}`, url]).trim(), keyOf(tar).slice(0, 39));
    assert.deepEqual(w.requests(), []);
    w.ok(['fetch', '--pull-policy=update', url]);
    assert.equal(imageRequests('/a/policy.aci').length, 1);
    // image rm drops the remote row too: the next fetch downloads again
    w.ok(['image', 'rm', keyOf(tar)]);
    assert.equal(await remote(url), undefined);
  });

  it('a 202 for the signature defers it until after the image; twice is an error', async () => {
    const { url, tar } = await publish('a/defer.aci', 'example.com/defer');
    w.rules({ 'example.com/a/defer.aci.asc': { defer: 1 } });
    const r = w.run(['fetch', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    const twice = await publish('a/defer2.aci', 'example.com/defer2');
    w.rules({ 'example.com/a/defer2.aci.asc': { defer: 5 } });
    const bad = w.run(['fetch', twice.url]);
    assert.equal(bad.code, 254);
    assert.equal(bad.stderr.trim(), 'fetch: error downloading the signature file: server asked to defer the download again');
    assert.ok(!w.ok(['image', 'list', '--no-legend', '--full']).includes(keyOf(twice.tar)));
    assert.deepEqual(w.files('cas/tmp'), []);
    w.rules({});
  });

  it('credentials from auth.d go to their host over https only, and not across a redirect', async () => {
    const basic = 'Basic ' + Buffer.from('alice:s3cret').toString('base64');
    fs.mkdirSync(path.join(w.localConfig, 'auth.d'), { recursive: true });
    fs.mkdirSync(path.join(w.systemConfig, 'auth.d'), { recursive: true });
    fs.writeFileSync(path.join(w.systemConfig, 'auth.d', 'a.json'), JSON.stringify({ rktKind: 'auth', rktVersion: 'v1', domains: ['example.com'], type: 'oauth', credentials: { token: 'vendor' } }));
    fs.writeFileSync(path.join(w.localConfig, 'auth.d', 'a.json'), JSON.stringify({ rktKind: 'auth', rktVersion: 'v1', domains: ['example.com'], type: 'basic', credentials: { user: 'alice', password: 's3cret' } }));
    const { url, tar } = await publish('private/app.aci', 'example.com/private');
    w.rules({ 'example.com/private/app.aci': { auth: basic }, 'example.com/private/app.aci.asc': { auth: basic } });
    w.clearRequests();
    const r = w.run(['fetch', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.ok(w.requests().every((q) => q.headers.authorization === basic), 'local auth.d overrides the system one');
    // a redirect to another host: no Authorization there
    const moved = await publish('moved/app.aci', 'example.com/moved', 1000, 'other.example');
    w.rules({ 'example.com/moved/app.aci': { redirect: moved.url }, 'example.com/moved/app.aci.asc': { redirect: `${moved.url}.asc` } });
    w.clearRequests();
    assert.equal(w.run(['fetch', 'https://example.com/moved/app.aci']).code, 0);
    const reqs = w.requests();
    assert.ok(reqs.some((q) => q.host === 'other.example'));
    for (const q of reqs) assert.equal(q.headers.authorization, q.host === 'example.com' ? basic : undefined, `${q.host}${q.path}`);
    // plain http: no credentials even for their host
    const plain = await publish('plain/app.aci', 'example.com/plain');
    w.clearRequests();
    assert.equal(w.run(['--insecure-options=http', 'fetch', plain.url.replace('https:', 'http:')]).code, 0);
    assert.ok(w.requests().length > 0);
    assert.ok(w.requests().every((q) => q.headers.authorization === undefined));
    w.rules({});
    fs.rmSync(path.join(w.localConfig, 'auth.d'), { recursive: true });
    fs.rmSync(path.join(w.systemConfig, 'auth.d'), { recursive: true });
  });

  it('--signature gives a local signature file for a URL: no signature download', async () => {
    const { url, tar, file } = await publish('a/localsig.aci', 'example.com/localsig');
    const sig = w.path('localsig.asc');
    fs.renameSync(`${file}.asc`, sig);
    w.clearRequests();
    const r = w.run(['fetch', url, '--signature', sig]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.deepEqual(w.requests().map((q) => q.path), ['/a/localsig.aci']);
    assert.equal((await remote(url))?.sigUrl, sig);
  });

  it('two fetches of the same URL at once both succeed with the same image', async () => {
    const { url, tar } = await publish('a/twice.aci', 'example.com/twice', 2 << 20);
    const run = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = w.spawn(['fetch', url]);
        let out = '';
        let err = '';
        p.stdout!.on('data', (c) => (out += String(c)));
        p.stderr!.on('data', (c) => (err += String(c)));
        p.once('exit', (code) => resolve({ code, out, err }));
      });
    const [a, b] = await Promise.all([run(), run()]);
    for (const r of [a, b]) {
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), keyOf(tar).slice(0, 39));
    }
    assert.deepEqual(w.files('cas/tmp'), []);
  });

  it("by URL the signer must be trusted for the manifest's name; tampered bytes are caught as they download", async () => {
    // signed by a key we hold, but trusted for example.com only
    const { url, tar } = await publish('a/elsewhere.aci', 'other.example/app');
    const r = w.run(['fetch', url]);
    assert.equal(r.code, 254);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'image: If you expected the signing key to change, try running:',
      'image:     rkt trust --prefix "other.example/app"',
      'fetch: image "other.example/app" verification failed: openpgp: signature made by unknown entity',
    ]);
    assert.ok(!w.ok(['image', 'list', '--no-legend', '--full']).includes(keyOf(tar)));
    assert.equal(await remote(url), undefined);
    const t = await publish('a/tampered.aci', 'example.com/tampered');
    const bytes = fs.readFileSync(t.file);
    // a byte of the payload (manifest, rootfs and payload headers come first): still a valid tar,
    // a different image. (A broken tar is refused by the import, which reads the manifest first, as rkt.)
    const at = bytes.indexOf(Buffer.from('rootfs/payload')) + 512 + 100;
    bytes[at] ^= 1;
    fs.writeFileSync(t.file, bytes);
    const bad = w.run(['fetch', t.url]);
    assert.equal(bad.code, 254);
    assert.equal(bad.stderr.trim(), `fetch: image "example.com/tampered" verification failed: openpgp: invalid signature: hash tag doesn't match`);
    assert.deepEqual(w.files('cas/tmp'), []);
    assert.equal(await remote(t.url), undefined);
  });

  it('http URLs need --insecure-options=http', async () => {
    const { url } = await publish('a/http.aci', 'example.com/http');
    w.clearRequests();
    const r = w.run(['fetch', url.replace('https:', 'http:')]);
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim(), /^fetch: error downloading the signature file: refusing plain HTTP for http:\/\/example.com\/a\/http.aci.asc: use --insecure-options=http to allow it$/);
    assert.deepEqual(w.requests(), []);
  });

  it('a server dying mid-download leaves only a partial that the next fetch resumes with Range', async () => {
    const { url, tar } = await publish('a/resume.aci', 'example.com/resume', 3 << 20);
    w.rules({ 'example.com/a/resume.aci': { dieAfterBytes: 1 << 20, dieTimes: 1 } });
    const r = w.run(['fetch', url]);
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim(), /^fetch: error fetching https:\/\/example.com\/a\/resume.aci: /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.deepEqual(w.files('cas/blob'), w.files('cas/blob').filter((f) => !f.endsWith(keyOf(tar))));
    const partial = w.files('cas/tmp').filter((f) => f.startsWith('dl-') && !f.endsWith('.etag'));
    assert.equal(partial.length, 1, `one partial download: ${w.files('cas/tmp')}`);
    assert.equal(await remote(url), undefined, 'no remote row');
    w.clearRequests();
    const again = w.run(['fetch', url]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), keyOf(tar).slice(0, 39));
    const get = imageRequests('/a/resume.aci');
    assert.equal(get.length, 1);
    assert.match(get[0].headers.range ?? '', /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(get[0].headers.range)![0]) >= 1 << 19, 'resumed past the first part');
    assert.deepEqual(w.files('cas/tmp'), [], 'partial gone after success');
    w.rules({});
  });

  it('image gc removes partial downloads; a partial of a changed resource restarts from zero, as with a server without ranges', async () => {
    const { url } = await publish('a/change.aci', 'example.com/change', 2 << 20);
    w.rules({ 'example.com/a/change.aci': { dieAfterBytes: 1 << 20, dieTimes: 2 } });
    const cut = w.run(['fetch', url]);
    assert.equal(cut.code, 254);
    assert.equal(w.files('cas/tmp').filter((f) => f.startsWith('dl-')).length, 2, `partial and its .etag: ${cut.stderr}`);
    // image gc cleans partial downloads no fetch is working on
    w.ok(['image', 'gc']);
    assert.deepEqual(w.files('cas/tmp'), []);
    assert.equal(w.run(['fetch', url]).code, 254);
    const fresh = await publish('a/change.aci', 'example.com/change', (2 << 20) + 7);
    w.rules({ 'example.com/a/change.aci': { noRanges: true } });
    w.clearRequests();
    const r = w.run(['fetch', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(fresh.tar).slice(0, 39));
    assert.equal(imageRequests('/a/change.aci')[0].headers.range, undefined);
    w.rules({});
  });

  for (const c of ['none', 'gzip'] as const) {
    it(`a fetch killed with kill -9 mid-download resumes cleanly (${c})`, async () => {
      const { url, tar, file } = await publish(`a/killed-${c}.aci`, `example.com/killed-${c}`, 8 << 20, 'example.com', c);
      // the server sends the first MiB and then holds the connection open until the kill
      w.rules({ [`example.com/a/killed-${c}.aci`]: { stallAfterBytes: 1 << 20, dieTimes: 1 } });
      const p = w.spawn(['fetch', url]);
      // wait for the partial file to reach the first MiB, then kill -9
      const deadline = Date.now() + 20_000;
      // the image's partial file (the signature has its own, short-lived one)
      const partial = partialPath(path.join(w.dataDir, 'cas', 'tmp'), url);
      const sizeOf = (f: string) => {
        try {
          return fs.statSync(f).size;
        } catch {
          return 0;
        }
      };
      while (Date.now() < deadline && sizeOf(partial) < 1 << 20) await new Promise((res) => setTimeout(res, 20));
      assert.equal(p.exitCode, null, 'the fetch was still running');
      const exited = new Promise((res) => p.once('exit', res));
      p.kill('SIGKILL');
      await exited;
      assert.equal(sizeOf(partial), 1 << 20, 'the first MiB was on disk when the fetch was killed');
      assert.ok(fs.readFileSync(partial).equals(fs.readFileSync(file).subarray(0, 1 << 20)), 'a prefix of the image');
      const r = w.run(['fetch', url]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
      assert.deepEqual(w.files('cas/tmp'), []);
      // a gzip image is kept as it was served; anything else as its tar
      const key = keyOf(tar);
      const blob = fs.readFileSync(path.join(w.dataDir, 'cas', 'blob', 'sha512', key.slice(7, 9), key));
      assert.ok(blob.equals(c === 'gzip' ? fs.readFileSync(file) : tar), 'the blob');
      w.rules({});
    });
  }

  it('404, 500, a timeout, a truncated image: one line, exit 254, nothing stored', async () => {
    const cases: [string, object, RegExp][] = [
      ['a/missing.aci', { status: 404 }, /^fetch: error downloading https:\/\/example.com\/a\/missing.aci: bad HTTP status code: 404$/],
      ['a/broken.aci', { status: 500 }, /^fetch: error downloading https:\/\/example.com\/a\/broken.aci: bad HTTP status code: 500$/],
      ['a/slow.aci', { hang: true }, /^fetch: error fetching https:\/\/example.com\/a\/slow.aci: .*(timeout|Timeout)/],
    ];
    for (const [rel, rule, re] of cases) {
      const { url, tar } = await publish(rel, `example.com/${path.basename(rel, '.aci')}`);
      w.rules({ [`example.com/${rel}`]: rule });
      const r = w.run(['fetch', url]);
      assert.equal(r.code, 254, r.stderr);
      assert.match(r.stderr.trim(), re);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.ok(!w.ok(['image', 'list', '--no-legend', '--full']).includes(keyOf(tar)));
      assert.equal(await remote(url), undefined);
    }
    // truncated on the server itself (and signed that way): the import refuses it
    const t = await publish('a/trunc.aci', 'example.com/trunc', 100_000);
    fs.truncateSync(t.file, 50_000);
    key.sign(t.file);
    w.rules({});
    const r = w.run(['fetch', t.url]);
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim(), /^fetch: .*truncated/);
    assert.equal(await remote(t.url), undefined);
    assert.deepEqual(w.files('cas/tmp'), []);
  });

  it('a certificate not from a trusted CA is refused, with or without a name match; tls skips the check', async () => {
    const { url } = await publish('a/tls.aci', 'example.com/tls');
    const untrusted = w.run(['fetch', url], { env: { ...process.env, RKT_HTTP_TIMEOUT_MS: '5000' } });
    assert.equal(untrusted.code, 254);
    assert.match(untrusted.stderr.trim(), /^fetch: error downloading the signature file: error fetching https:\/\/example.com\/a\/tls.aci.asc: .*(certificate|self-signed|verify)/i);
    const ok = w.run(['--insecure-options=tls', 'fetch', url], { env: { ...process.env } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /^image: warning: TLS verification has been disabled$/m);
  });
});
