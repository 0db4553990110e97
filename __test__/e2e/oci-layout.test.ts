/**
 * Local OCI images with no registry: `oci-layout:DIR[:TAG]` (an umoci-built layout, read in place)
 * and `oci-archive:FILE.tar[:TAG]` (written by skopeo), converted like registry pulls and run.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspectBinaryPath } from '../../scripts/fixtures/aci';
import { RktContext } from './harness';
import { buildTestImage, sh, stopAll, type BuiltImage } from './docker-fixtures';
import { expectRefused, rkt, rktOk } from './docker-helpers';

describe('oci-layout: and oci-archive:', () => {
  const ctx = new RktContext('rkt-oci-');
  let img: BuiltImage;
  let archive: string;
  before(() => {
    img = buildTestImage(ctx.path('busybox-oci'), inspectBinaryPath(), '1.0');
    archive = ctx.path('bb.tar');
    sh('skopeo', ['copy', '--quiet', `oci:${img.layout}:1.0`, `oci-archive:${archive}:1.0`]);
  });
  after(async () => {
    await stopAll();
    ctx.cleanup();
  });

  it('imports a layout by tag, with the whiteouts applied, and runs it', async () => {
    const key = (await rktOk(ctx, ['--insecure-options=image', 'fetch', `oci-layout:${img.layout}:1.0`])).trim();
    const m = JSON.parse(await rktOk(ctx, ['image', 'cat-manifest', key])) as { name: string; labels: { name: string; value: string }[]; annotations: { name: string; value: string }[] };
    assert.equal(m.name, 'layout');
    assert.deepEqual(m.labels[0], { name: 'version', value: '1.0' });
    assert.equal(m.annotations.find((a) => a.name === 'appc.io/oci/source')?.value, `oci-layout:${img.layout}:1.0`);
    const out = ctx.path('x');
    await rktOk(ctx, ['image', 'extract', '--rootfs-only', key, out]);
    assert.equal(fs.existsSync(path.join(out, 'etc/removed')), false);
    assert.equal(fs.existsSync(path.join(out, 'opt/old/a')), false);
    assert.equal(fs.readFileSync(path.join(out, 'opt/old/b'), 'utf8'), 'new in the opaque dir\n');
    const r = await rkt(ctx, ['--insecure-options=image', 'run', key]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hello from docker/);
  });

  it('imports an archive; the tag may be left out when there is one image', async () => {
    const a = (await rktOk(ctx, ['--insecure-options=image', 'fetch', '--full', `oci-archive:${archive}:1.0`])).trim();
    const b = (await rktOk(ctx, ['--insecure-options=image', 'fetch', '--full', `oci-archive:${archive}`])).trim();
    assert.match(a, /^sha512-[0-9a-f]{64}$/);
    const m = JSON.parse(await rktOk(ctx, ['image', 'cat-manifest', a])) as { name: string };
    assert.equal(m.name, 'bb');
    const mb = JSON.parse(await rktOk(ctx, ['image', 'cat-manifest', b])) as { labels: { name: string }[] };
    assert.equal(mb.labels.find((l) => l.name === 'version'), undefined);
    // The archive's temp layout is gone.
    assert.deepEqual(fs.readdirSync(path.join(ctx.dataDir, 'cas', 'tmp')), []);
  });

  describe('refusals', () => {
    const bad = new RktContext('rkt-oci-bad-');
    after(() => bad.cleanup());

    it('needs --insecure-options=image', async () => {
      await expectRefused(bad, [`oci-layout:${img.layout}:1.0`], /signature verification for OCI images is not supported \(try --insecure-options=image\)/);
    });

    it('an unknown tag names the ones there are', async () => {
      await expectRefused(bad, ['--insecure-options=image', `oci-layout:${img.layout}:2.0`], /no image tagged "2\.0" \(have: 1\.0\)/);
    });

    it('a tampered blob', async () => {
      const copy = bad.path('copy');
      fs.cpSync(img.layout, copy, { recursive: true });
      const blobs = path.join(copy, 'blobs', 'sha256');
      const biggest = fs.readdirSync(blobs).map((f) => path.join(blobs, f)).reduce((a, b) => (fs.statSync(b).size > fs.statSync(a).size ? b : a));
      const buf = fs.readFileSync(biggest);
      buf[100] ^= 1;
      fs.writeFileSync(biggest, buf);
      await expectRefused(bad, ['--insecure-options=image', `oci-layout:${copy}:1.0`], /content does not match its digest/);
    });

    it('not a layout', async () => {
      fs.mkdirSync(bad.path('empty'), { recursive: true });
      await expectRefused(bad, ['--insecure-options=image', `oci-layout:${bad.path('empty')}`], /not an OCI image layout/);
      fs.writeFileSync(bad.path('junk.tar'), 'not a tar at all');
      await expectRefused(bad, ['--insecure-options=image', `oci-archive:${bad.path('junk.tar')}`], /not (a readable OCI archive|an OCI image layout)/);
    });
  });
});
