/**
 * docker:// against a real registry (Debian's docker-registry on 127.0.0.1), images built with
 * umoci and pushed with skopeo as OCI and as Docker schema2: conversion, whiteouts, index
 * selection, signatures, pull policies, http/tls options, Basic and Bearer auth, and real pods.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspectBinaryPath } from '../../scripts/fixtures/aci';
import { spawnSync } from 'node:child_process';
import { RKT, RktContext } from './harness';
import { FaultProxy, Registry, TokenServer, buildTestImage, manifestDigest, push, putManifest, stopAll, type BuiltImage } from './docker-fixtures';
import { WARNING, expectRefused, rkt, rktOk, writeDockerAuth } from './docker-helpers';

const INSECURE = '--insecure-options=image,http';

type Manifest = {
  name: string;
  labels: { name: string; value: string }[];
  app: Record<string, unknown>;
  annotations: { name: string; value: string }[];
};

describe('docker:// from a registry v2', () => {
  const ctx = new RktContext('rkt-docker-');
  let reg: Registry;
  let img: BuiltImage;
  before(async () => {
    img = buildTestImage(ctx.path('image'), inspectBinaryPath());
    reg = await Registry.start(ctx.path('registry'));
    await push(img, reg.addr, 'e2e/bb:oci');
    await push(img, reg.addr, 'e2e/bb:v2s2', { format: 'v2s2' });
  });
  after(async () => {
    await stopAll();
    ctx.cleanup();
  });

  const manifestOf = async (key: string): Promise<Manifest> => JSON.parse(await rktOk(ctx, ['image', 'cat-manifest', key])) as Manifest;
  const ann = (m: Manifest, n: string) => m.annotations.find((a) => a.name === n)?.value;

  for (const [tag, mediaType] of [
    ['oci', 'application/vnd.oci.image.manifest.v1+json'],
    ['v2s2', 'application/vnd.docker.distribution.manifest.v2+json'],
  ] as const) {
    it(`converts the ${tag} manifest as docker2aci does`, async () => {
      const r = await rkt(ctx, [INSECURE, 'fetch', `docker://${reg.addr}/e2e/bb:${tag}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), WARNING);
      const key = r.stdout.trim();
      assert.match(key, /^sha512-[0-9a-f]{32}$/);
      const m = await manifestOf(key);
      assert.equal(m.name, `127.0.0.1_${reg.port}/e2e/bb`);
      assert.deepEqual(m.labels, [
        { name: 'version', value: tag },
        { name: 'os', value: 'linux' },
        { name: 'arch', value: 'amd64' },
      ]);
      assert.deepEqual(m.app.exec, ['/inspect', '--print-msg=hello from docker']);
      assert.equal(m.app.user, '0');
      assert.equal(m.app.group, '0');
      assert.equal(m.app.workingDirectory, '/etc');
      assert.deepEqual(m.app.environment, [
        { name: 'FROM_IMAGE', value: 'yes' },
        { name: 'PATH', value: '/bin' },
      ]);
      assert.deepEqual(m.app.mountPoints, [{ name: 'volume-data', path: '/data' }]);
      assert.deepEqual(m.app.ports, [{ name: '80-tcp', protocol: 'tcp', port: 80, count: 1, socketActivated: false }]);
      assert.deepEqual(m.app.userLabels, { 'org.example.kind': 'e2e' });
      assert.equal(ann(m, 'author'), 'e2e tests');
      assert.equal(ann(m, 'appc.io/docker/repository'), 'e2e/bb');
      assert.equal(ann(m, 'appc.io/docker/registryurl'), reg.addr);
      assert.equal(ann(m, 'appc.io/docker/originalname'), `${reg.addr}/e2e/bb:${tag}`);
      assert.equal(ann(m, 'appc.io/docker/entrypoint'), '["/inspect"]');
      assert.equal(ann(m, 'appc.io/docker/manifesthash'), await manifestDigest(reg.addr, 'e2e/bb', tag));
      assert.ok(mediaType); // both manifest kinds arrive because the full Accept list is sent

      // Layers applied in order: the whiteout and the opaque directory of the upper layers hold.
      const out = ctx.path(`extract-${tag}`);
      await rktOk(ctx, ['image', 'extract', '--rootfs-only', key, out]);
      assert.equal(fs.readFileSync(path.join(out, 'etc/greeting'), 'utf8'), 'hello from layer 2\n');
      assert.equal(fs.existsSync(path.join(out, 'etc/removed')), false, 'whiteout applied');
      assert.equal(fs.existsSync(path.join(out, 'opt/old/a')), false, 'opaque dir hides the lower layer');
      assert.equal(fs.readFileSync(path.join(out, 'opt/old/b'), 'utf8'), 'new in the opaque dir\n');
      assert.equal(fs.readlinkSync(path.join(out, 'bin/sh')), '/bin/busybox');
      assert.ok(fs.statSync(path.join(out, 'bin/busybox')).mode & 0o111);
      for (const f of fs.readdirSync(path.join(out, 'etc'))) assert.doesNotMatch(f, /^\.wh\./);
      // image list shows the docker name with its tag
      assert.match(await rktOk(ctx, ['image', 'list', '--no-legend']), new RegExp(`127\\.0\\.0\\.1_${reg.port}/e2e/bb:${tag}`));
    });
  }

  it('draws one progress line per layer, on a terminal only', () => {
    const q = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    const cmd = [process.execPath, RKT, ...ctx.globalArgs(), INSECURE, 'fetch', `docker://${reg.addr}/e2e/bb:oci`].map(q).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout);
    const index = JSON.parse(fs.readFileSync(path.join(img.layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const layers = (JSON.parse(fs.readFileSync(path.join(img.layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8')) as { layers: { digest: string }[] }).layers;
    const lines = [...r.stdout.matchAll(/Downloading (sha256:[0-9a-f]{11}) \[(=*) *\] [\d.]+ [KMG]?B \/ [\d.]+ [KMG]?B/g)];
    const seen = new Set(lines.map((m) => m[1]));
    assert.deepEqual([...seen].sort(), layers.map((l) => l.digest.slice(0, 18)).sort());
    // the last drawing shows every layer complete
    const last = lines.slice(-layers.length);
    for (const m of last) assert.equal(m[2].length, 20, m[0]);
  });

  it('downloads the layers in parallel', async () => {
    const proxy = await FaultProxy.start(reg, { delayBlobsMs: 300 });
    try {
      const r = await rkt(ctx, [INSECURE, 'fetch', `docker://${proxy.addr}/e2e/bb:oci`]);
      assert.equal(r.code, 0, r.stderr);
      // 4 layers (+ the config, fetched first): all layers requested before any answer came
      assert.equal(proxy.maxConcurrentBlobs, 4);
    } finally {
      await proxy.stop();
    }
  });

  it('accepts docker: as well, and the same image gives the same image ID', async () => {
    const a = (await rktOk(ctx, [INSECURE, 'fetch', '--full', `docker://${reg.addr}/e2e/bb:oci`])).trim();
    const b = (await rktOk(ctx, [INSECURE, 'fetch', '--full', `docker:${reg.addr}/e2e/bb:oci`])).trim();
    assert.equal(a, b);
  });

  it('picks linux/amd64 from an OCI index and from a Docker manifest list', async () => {
    const amd64 = await manifestDigest(reg.addr, 'e2e/bb', 'oci');
    const other = await manifestDigest(reg.addr, 'e2e/bb', 'v2s2');
    const oci = 'application/vnd.oci.image.manifest.v1+json';
    const docker = 'application/vnd.docker.distribution.manifest.v2+json';
    const size = async (t: string) => Number((await fetch(`http://${reg.addr}/v2/e2e/bb/manifests/${t}`, { headers: { accept: `${oci}, ${docker}` } })).headers.get('content-length'));
    await putManifest(
      reg.addr,
      'e2e/bb',
      'multi',
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: docker, digest: other, size: await size('v2s2'), platform: { os: 'linux', architecture: 'arm64' } },
          { mediaType: oci, digest: amd64, size: await size('oci'), platform: { os: 'linux', architecture: 'amd64' } },
        ],
      },
      'application/vnd.oci.image.index.v1+json',
    );
    const key = (await rktOk(ctx, [INSECURE, 'fetch', `docker://${reg.addr}/e2e/bb:multi`])).trim();
    const m = await manifestOf(key);
    assert.equal(ann(m, 'appc.io/docker/manifesthash'), amd64);
    assert.deepEqual(m.labels[0], { name: 'version', value: 'multi' });
    // the same with a Docker manifest list of schema2 manifests
    const list = 'application/vnd.docker.distribution.manifest.list.v2+json';
    await putManifest(
      reg.addr,
      'e2e/bb',
      'list',
      {
        schemaVersion: 2,
        mediaType: list,
        manifests: [
          { mediaType: docker, digest: other, size: await size('v2s2'), platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: oci, digest: amd64, size: await size('oci'), platform: { os: 'windows', architecture: 'amd64' } },
        ],
      },
      list,
    );
    const fromList = await manifestOf((await rktOk(ctx, [INSECURE, 'fetch', `docker://${reg.addr}/e2e/bb:list`])).trim());
    assert.equal(ann(fromList, 'appc.io/docker/manifesthash'), other);
  });

  it('pulls by digest', async () => {
    const d = await manifestDigest(reg.addr, 'e2e/bb', 'oci');
    const key = (await rktOk(ctx, [INSECURE, 'fetch', `docker://${reg.addr}/e2e/bb@${d}`])).trim();
    const m = await manifestOf(key);
    assert.equal(ann(m, 'appc.io/docker/manifesthash'), d);
    assert.equal(m.labels.find((l) => l.name === 'version'), undefined);
  });

  it('runs the converted image as a pod', async () => {
    const r = await rkt(ctx, [INSECURE, 'run', `docker://${reg.addr}/e2e/bb:oci`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hello from docker/);
    const r2 = await rkt(ctx, [INSECURE, 'run', `docker://${reg.addr}/e2e/bb:oci`, '--exec=/inspect', '--', '--print-env=FROM_IMAGE', '--print-cwd', '--read-file=/etc/greeting']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /FROM_IMAGE=yes/);
    assert.match(r2.stdout, /cwd=\/etc/);
    assert.match(r2.stdout, /hello from layer 2/);
  });

  it('seeds an implicit volume with the image content at its path (Docker volume semantics)', async () => {
    const r = await rkt(ctx, [INSECURE, 'run', `docker://${reg.addr}/e2e/bb:oci`, '--exec=/inspect', '--', '--read-file=/data/seed']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /from the image/);
    assert.match(r.stderr, /implicitly creating an "empty" volume/);
  });

  it('prepares with --exec=/bin/sh and runs the prepared pod', async () => {
    const p = await rkt(ctx, [INSECURE, 'prepare', `docker://${reg.addr}/e2e/bb:v2s2`, '--exec=/bin/sh', '--', '-c', 'echo shell says $FROM_IMAGE; test ! -e /etc/removed']);
    assert.equal(p.code, 0, p.stderr);
    const uuid = p.stdout.trim();
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    const r = await rkt(ctx, ['run-prepared', uuid]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /shell says yes/);
  });
});

describe('docker:// policies and options', () => {
  const ctx = new RktContext('rkt-docker-policy-');
  let reg: Registry;
  before(async () => {
    const img = buildTestImage(ctx.path('image'), inspectBinaryPath());
    reg = await Registry.start(ctx.path('registry'));
    await push(img, reg.addr, 'e2e/bb:latest');
  });
  after(async () => {
    await stopAll();
    ctx.cleanup();
  });

  it('refuses without --insecure-options=image: signatures cannot be verified', async () => {
    const line = await expectRefused(ctx, ['--insecure-options=http', `docker://${reg.addr}/e2e/bb`], /signature verification for docker images is not supported \(try --insecure-options=image\)/);
    assert.ok(line);
  });

  it('refuses bad reference syntax with rkt\'s message', async () => {
    await expectRefused(ctx, [INSECURE, `docker://${reg.addr}/E2E/BB`], /invalid docker URL ".*"; expected syntax is "docker:\/\/\[REGISTRY_HOST\[:REGISTRY_PORT\]\/\]IMAGE_NAME\[:TAG\]"/);
  });

  it('speaks HTTPS unless --insecure-options=http', async () => {
    await expectRefused(ctx, ['--insecure-options=image', `docker://${reg.addr}/e2e/bb`], /TLS.*--insecure-options=http/);
  });

  it('pull policies go through the remote row docker://<ref>', async () => {
    const ref = `docker://${reg.addr}/e2e/bb`;
    await expectRefused(ctx, [INSECURE, '--pull-policy=never', ref], /unable to fetch docker image from URL "docker:\/\/.*e2e\/bb"/);
    const key = (await rktOk(ctx, [INSECURE, 'fetch', ref])).trim();
    // With the registry gone, `new` and `never` reuse the stored image; `update` must go out.
    await reg.stop();
    assert.equal((await rktOk(ctx, [INSECURE, 'fetch', '--pull-policy=new', ref])).trim(), key);
    assert.equal((await rktOk(ctx, [INSECURE, 'fetch', '--pull-policy=never', ref])).trim(), key);
    const r = await rkt(ctx, [INSECURE, 'fetch', '--pull-policy=update', ref]);
    assert.equal(r.code, 254);
    assert.match(r.stderr, /fetch: registry 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    // another spelling is another remote row
    const other = await rkt(ctx, [INSECURE, 'fetch', '--pull-policy=never', `docker://${reg.addr}/e2e/bb:latest`]);
    assert.equal(other.code, 254);
    // run uses `new` by default: works offline from the row
    const run = await rkt(ctx, [INSECURE, 'run', ref]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /hello from docker/);
  });
});

describe('docker:// with TLS', () => {
  const ctx = new RktContext('rkt-docker-tls-');
  let reg: Registry;
  before(async () => {
    const img = buildTestImage(ctx.path('image'), inspectBinaryPath());
    const dir = ctx.path('registry');
    fs.mkdirSync(dir, { recursive: true });
    const { sh } = await import('./docker-fixtures');
    sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    reg = await Registry.start(dir, { tls: { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') } });
    await push(img, reg.addr, 'e2e/bb:tls');
  });
  after(async () => {
    await stopAll();
    ctx.cleanup();
  });

  it('checks certificates unless --insecure-options=tls', async () => {
    await expectRefused(ctx, ['--insecure-options=image', `docker://${reg.addr}/e2e/bb:tls`], /certificate.*--insecure-options=tls/i);
    const key = (await rktOk(ctx, ['--insecure-options=image,tls', 'fetch', `docker://${reg.addr}/e2e/bb:tls`])).trim();
    assert.match(key, /^sha512-/);
  });
});

describe('docker:// authentication', () => {
  const ctx = new RktContext('rkt-docker-auth-');
  let img: BuiltImage;
  let basic: Registry;
  let bearer: Registry;
  let tokens: TokenServer;
  before(async () => {
    img = buildTestImage(ctx.path('image'), inspectBinaryPath());
    basic = await Registry.start(ctx.path('basic'), { htpasswd: { user: 'alice', password: 's3cret' } });
    await push(img, basic.addr, 'private/bb:1', { creds: 'alice:s3cret' });
    tokens = await TokenServer.start(ctx.path('tokens'), 'bob', 'hunter2', 'e2e-issuer', 'e2e-registry');
    bearer = await Registry.start(ctx.path('bearer'), { token: { realm: tokens.realm, service: 'e2e-registry', issuer: 'e2e-issuer', certFile: tokens.certFile } });
    await push(img, bearer.addr, 'tok/bb:1', { creds: 'bob:hunter2' });
  });
  after(async () => {
    await stopAll();
    ctx.cleanup();
  });

  it('Basic: no credentials, wrong credentials, then the right ones from dockerAuth', async () => {
    const ref = `docker://${basic.addr}/private/bb:1`;
    await expectRefused(ctx, [INSECURE, ref], /requires authentication: add a dockerAuth configuration for "127\.0\.0\.1:\d+"/);
    writeDockerAuth(ctx, basic.addr, 'alice', 'wrong');
    await expectRefused(ctx, [INSECURE, ref], /authentication failed \(401 Unauthorized\)/);
    writeDockerAuth(ctx, basic.addr, 'alice', 's3cret');
    assert.match((await rktOk(ctx, [INSECURE, 'fetch', ref])).trim(), /^sha512-/);
  });

  it('Bearer: token from the realm with service and pull scope; wrong credentials refused', async () => {
    const ref = `docker://${bearer.addr}/tok/bb:1`;
    writeDockerAuth(ctx, bearer.addr, 'bob', 'nope');
    const before = ctx.files('cas/blob');
    const r = await rkt(ctx, ['fetch', INSECURE, ref]);
    assert.equal(r.code, 254);
    assert.match(r.stderr, /token server for 127\.0\.0\.1:\d+: authentication failed \(401\)/);
    assert.deepEqual(ctx.files('cas/blob'), before);
    writeDockerAuth(ctx, bearer.addr, 'bob', 'hunter2');
    tokens.requests.length = 0;
    assert.match((await rktOk(ctx, [INSECURE, 'fetch', ref])).trim(), /^sha512-/);
    const q = new URL(tokens.requests[0], 'http://x').searchParams;
    assert.equal(q.get('service'), 'e2e-registry');
    assert.equal(q.get('scope'), 'repository:tok/bb:pull');
  });
});
