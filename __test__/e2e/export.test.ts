/**
 * `rkt export` of exited pods (rkt's tests/rkt_export_test.go): the app's writes end up in the new
 * ACI, with overlay, without overlay and after a reboot-like unmount; --app in a multi-app pod;
 * rkt's errors for a wrong extension, an existing file and a pod that is not exited.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { RktContext } from './harness';
import { assertNothingLeft, mountsUnder, podDirs, startPod } from './pod-util';

const inspect = fs.readFileSync(inspectBinaryPath());

describe('rkt export', () => {
  const ctx = new RktContext('rkt-export-');
  const marker = `marker-${process.pid}-export`;
  let image: string;
  const uuids: string[] = [];
  before(async () => {
    image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), exampleRootfs(inspect)));
  });
  after(() => {
    for (const u of uuids) ctx.run(['stop', '--force', u]);
    ctx.cleanup();
  });

  const runWriting = (content: string, extra: string[] = []): string => {
    const f = ctx.path(`u-${content}`);
    const r = ctx.run(['--insecure-options=image', 'run', ...extra, `--uuid-file-save=${f}`, image, '--exec=/inspect', '--', `--write-file=/written:${content}`]);
    assert.equal(r.code, 0, r.stderr);
    const uuid = fs.readFileSync(f, 'utf8');
    uuids.push(uuid);
    return uuid;
  };

  /** Runs the exported ACI and returns what /written holds in it. */
  const readBack = (aci: string): string => {
    const r = ctx.run(['--insecure-options=image', 'run', aci, '--exec=/inspect', '--', '--read-file=/written']);
    assert.equal(r.code, 0, r.stderr);
    const uuid = ctx.ok(['list', '--full', '--no-legend']).split('\n').map((l) => l.split('\t')[0]).find((u) => u && !uuids.includes(u)) as string;
    uuids.push(uuid);
    return r.stdout;
  };

  it("exports an overlay pod's app with its writes, as an ACI that runs", () => {
    const uuid = runWriting('overlay-data');
    const out = ctx.path('out.aci');
    const r = ctx.run(['export', uuid, out]);
    assert.equal(r.code, 0, r.stderr);
    const list = spawnSync('tar', ['-tf', out], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(list.includes('manifest') && list.includes('rootfs/inspect') && list.includes('rootfs/written'), list.join(' '));
    const m = JSON.parse(spawnSync('tar', ['-xOf', out, 'manifest'], { encoding: 'utf8' }).stdout);
    assert.equal(m.name, 'example.com/inspect');
    assert.match(readBack(out), /<<<overlay-data>>>/);
    assert.deepEqual(fs.readdirSync(path.join(ctx.dataDir, 'tmp')).filter((n) => n.startsWith('rkt-export-')), [], 'staging removed');
    assertNothingLeft(ctx, uuids, marker);
  });

  it('exports after a reboot-like unmount, and without overlay', () => {
    const uuid = runWriting('after-reboot');
    const podDir = path.join(ctx.dataDir, 'pods', 'run', uuid);
    for (const m of mountsUnder(podDir).reverse()) spawnSync('umount', ['-l', m]);
    const out = ctx.path('reboot.aci');
    const r = ctx.run(['export', uuid, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readBack(out), /<<<after-reboot>>>/);
    const copy = runWriting('no-overlay', ['--no-overlay']);
    const out2 = ctx.path('copy.aci');
    const r2 = ctx.run(['export', copy, out2]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(readBack(out2), /<<<no-overlay>>>/);
    assertNothingLeft(ctx, uuids, marker);
  });

  it("chooses with --app; rkt's errors, exit 254, nothing written", async () => {
    const f = ctx.path('u-multi');
    const r0 = ctx.run([
      '--insecure-options=image', 'run', `--uuid-file-save=${f}`,
      image, '--name=a', '--exec=/inspect', '--', '--write-file=/written:from-a', '---',
      image, '--name=b', '--exec=/inspect', '--', '--write-file=/written:from-b', '---',
    ]);
    assert.equal(r0.code, 0, r0.stderr);
    const uuid = fs.readFileSync(f, 'utf8');
    uuids.push(uuid);
    const out = ctx.path('b.aci');
    const multi = ctx.run(['export', uuid, out]);
    assert.equal(multi.code, 254);
    assert.match(multi.stderr, /pod contains multiple apps:/);
    assert.match(multi.stderr, /specify app using "rkt enter --app= \.\.\."/);
    assert.ok(!fs.existsSync(out));
    const r = ctx.run(['export', '--app=b', uuid, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readBack(out), /<<<from-b>>>/);

    const exists = ctx.run(['export', '--app=a', uuid, out]);
    assert.equal(exists.code, 254);
    assert.equal(exists.stderr, 'export: target file exists (try --overwrite)\n');
    const over = ctx.run(['export', '--app=a', '--overwrite', uuid, out]);
    assert.equal(over.code, 0, over.stderr);
    assert.match(readBack(out), /<<<from-a>>>/);

    const ext = ctx.run(['export', '--app=a', uuid, ctx.path('out.tar')]);
    assert.equal(ext.code, 254);
    assert.equal(ext.stderr, 'export: extension must be .aci (given .tar)\n');

    const running = await startPod(ctx, [image, '--exec=/inspect', '--', `--print-msg=${marker}`, '--sleep=60000']);
    uuids.push(running.uuid);
    const before = podDirs(ctx);
    const notExited = ctx.run(['export', running.uuid, ctx.path('running.aci')]);
    assert.equal(notExited.code, 254);
    assert.equal(notExited.stderr, 'export: pod is not exited. Only exited pods can be exported\n');
    assert.ok(!fs.existsSync(ctx.path('running.aci')));
    assert.deepEqual(podDirs(ctx), before);
    ctx.ok(['stop', running.uuid]);
    await running.exited;
    assertNothingLeft(ctx, uuids, marker);
  });
});
