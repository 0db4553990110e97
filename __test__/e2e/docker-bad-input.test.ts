/**
 * docker:// bad input against a real registry: unknown repository or tag, wrong credentials (in
 * docker.test.ts), a blob whose bytes do not match its digest, a truncated layer, a manifest of an
 * unknown media type, layers that try to leave the root, a registry that dies mid-pull. Each is one
 * `fetch:` line, exit 254, nothing stored, no temp file left.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { inspectBinaryPath, tarBuffer, type TarEntry } from '../../scripts/fixtures/aci';
import { RktContext } from './harness';
import { FaultProxy, Registry, buildTestImage, push, pushRawImage, stopAll, type BuiltImage } from './docker-fixtures';
import { assertNothingStored, expectRefused, rkt } from './docker-helpers';

const INSECURE = '--insecure-options=image,http';

async function gzLayer(entries: TarEntry[]): Promise<Buffer> {
  return zlib.gzipSync(await tarBuffer(entries));
}

describe('docker:// bad input', () => {
  const ctx = new RktContext('rkt-docker-bad-');
  let reg: Registry;
  let img: BuiltImage;
  before(async () => {
    img = buildTestImage(ctx.path('image'), inspectBinaryPath());
    reg = await Registry.start(ctx.path('registry'));
    await push(img, reg.addr, 'e2e/bb:good');
  });
  after(async () => {
    await stopAll();
    ctx.cleanup();
  });

  it('unknown repository', async () => {
    await expectRefused(ctx, [INSECURE, `docker://${reg.addr}/e2e/nothing:good`], /docker image 127\.0\.0\.1:\d+\/e2e\/nothing:good not found \((NAME_UNKNOWN|MANIFEST_UNKNOWN)/); // distribution 2.8 says MANIFEST_UNKNOWN for both
  });

  it('unknown tag', async () => {
    await expectRefused(ctx, [INSECURE, `docker://${reg.addr}/e2e/bb:nope`], /docker image 127\.0\.0\.1:\d+\/e2e\/bb:nope not found \(MANIFEST_UNKNOWN/);
  });

  it('a blob whose bytes do not match its digest', async () => {
    await push(img, reg.addr, 'e2e/corrupt:1');
    // Flip one byte of the biggest layer in the registry's own storage: it serves what it has.
    const m = JSON.parse(fs.readFileSync(path.join(img.layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifestBlob = path.join(img.layout, 'blobs/sha256', m.manifests[0].digest.slice(7));
    const layers = (JSON.parse(fs.readFileSync(manifestBlob, 'utf8')) as { layers: { digest: string; size: number }[] }).layers;
    const big = layers.reduce((a, b) => (b.size > a.size ? b : a));
    const data = reg.blobData(big.digest);
    const bytes = fs.readFileSync(data);
    const copy = Buffer.from(bytes);
    copy[Math.floor(copy.length / 2)] ^= 0xff;
    fs.writeFileSync(data, copy);
    try {
      await expectRefused(ctx, [INSECURE, `docker://${reg.addr}/e2e/corrupt:1`], new RegExp(`layer ${big.digest}: content does not match its digest`));
    } finally {
      fs.writeFileSync(data, bytes); // the blob is shared with the other repositories
    }
  });

  it('a truncated layer (its digest matches the cut bytes)', async () => {
    const whole = await gzLayer([{ name: 'big', data: Buffer.alloc(300_000, 7) }, { name: 'after', data: 'x' }]);
    await pushRawImage(reg.addr, 'e2e/truncated', '1', [whole.subarray(0, Math.floor(whole.length / 2))]);
    await expectRefused(ctx, [INSECURE, `docker://${reg.addr}/e2e/truncated:1`], /layer sha256:[0-9a-f]{64}: truncated gzip stream/);
  });

  it('a manifest of an unknown media type', async () => {
    const proxy = await FaultProxy.start(reg, { manifestMediaType: 'application/vnd.example.weird+json' });
    try {
      await expectRefused(ctx, [INSECURE, `docker://${proxy.addr}/e2e/bb:good`], /unsupported manifest media type "application\/vnd\.example\.weird\+json"/);
    } finally {
      await proxy.stop();
    }
  });

  for (const [what, entries, re] of [
    ['a name with ..', [{ name: '../evil', data: 'x' }], /escapes the image root/],
    ['a hardlink out of the root', [{ name: 'passwd', type: 'link', linkname: '../../etc/passwd' }], /hardlink target .* escapes the image root/],
    [
      'a file written through an absolute symlink',
      [
        { name: 'x', type: 'symlink', linkname: '/' },
        { name: 'x/tmp/evil-through-symlink', data: 'x' },
      ],
      /"x\/tmp\/evil-through-symlink" is placed under the symlink "x"/,
    ],
  ] as [string, TarEntry[], RegExp][]) {
    it(`a layer escaping the root: ${what}`, async () => {
      const base = await gzLayer([{ name: 'bin', type: 'directory' }, { name: 'bin/true', data: 'x', mode: 0o755 }]);
      const tag = what.replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '');
      await pushRawImage(reg.addr, 'e2e/escape', tag, [base, await gzLayer(entries)]);
      await expectRefused(ctx, [INSECURE, `docker://${reg.addr}/e2e/escape:${tag}`], re);
      assert.equal(fs.existsSync('/tmp/evil-through-symlink'), false);
      assert.equal(fs.existsSync(path.join(ctx.dataDir, '..', 'evil')), false);
    });
  }

  it('kill -9 mid-pull leaves a download dir that image gc sweeps', async () => {
    const proxy = await FaultProxy.start(reg, { stallMidBlobAfter: 100_000 });
    const tmp = path.join(ctx.dataDir, 'cas', 'tmp');
    try {
      const child = ctx.spawn([INSECURE, 'fetch', `docker://${proxy.addr}/e2e/bb:good`]);
      const gone = new Promise((r) => child.once('exit', r));
      const deadline = Date.now() + 30_000;
      let dir: string | undefined;
      while (Date.now() < deadline && dir === undefined) {
        await new Promise((r) => setTimeout(r, 50));
        dir = (fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).find((n) => {
          if (!n.startsWith('docker2aci-')) return false;
          return fs.readdirSync(path.join(tmp, n)).some((f) => fs.statSync(path.join(tmp, n, f)).size >= 100_000);
        });
      }
      assert.ok(dir, 'a download in progress');
      child.kill('SIGKILL');
      await gone;
      assert.ok(fs.existsSync(path.join(tmp, dir)), 'left behind by the killed process');
      const gc = await rkt(ctx, ['image', 'gc']);
      assert.equal(gc.code, 0, gc.stderr);
      assertNothingStored(ctx);
    } finally {
      await proxy.stop();
    }
  });

  it('a registry that dies mid-pull', async () => {
    // Its own registry: this one is killed.
    const dying = await Registry.start(ctx.path('dying'));
    await push(img, dying.addr, 'e2e/bb:1');
    const proxy = await FaultProxy.start(dying, { dieMidBlobAfter: { bytes: 200_000, registry: dying } });
    try {
      await expectRefused(ctx, [INSECURE, `docker://${proxy.addr}/e2e/bb:1`], /layer sha256:[0-9a-f]{64}: (download failed|download ended after)/);
    } finally {
      await proxy.stop();
      await dying.stop();
    }
  });
});
