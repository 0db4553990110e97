/**
 * `rkt rm`, `rkt gc` and `rkt image gc` around real pods (rkt's tests/rkt_rm_test.go,
 * rkt_gc_test.go, rkt_gc_nspawn_test.go, rkt_image_gc_test.go): rm's messages, a crashed stage1
 * whose cgroups only the stage1 gc entrypoint removes, a reboot-like state where the pod's mounts
 * are gone, tree stores kept while pods use them, and gc/rm/run racing without removing a running pod.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { RktContext } from './harness';
import { assertNothingLeft, kv, mountsUnder, podCgroups, podDirs, processesWith, startPod, waitFor } from './pod-util';

const inspect = fs.readFileSync(inspectBinaryPath());

describe('rkt rm and gc', () => {
  const ctx = new RktContext('rkt-gcrm-');
  const marker = `marker-${process.pid}-gcrm`;
  let image: string;
  const uuids: string[] = [];
  before(async () => {
    image = ctx.path('inspect.aci');
    const m = manifestFor('example.com/inspect', { version: '0.1.0' });
    // A memory limit, so the pod has cgroups in a v1 hierarchy too.
    (m.app as Record<string, unknown>).isolators = [{ name: 'resource/memory', value: { limit: '100Mi' } }];
    await writeAci(image, aciEntries(m, exampleRootfs(inspect)));
  });
  after(() => {
    for (const u of uuids) ctx.run(['stop', '--force', u]);
    ctx.cleanup();
  });

  it("rm: exited and prepared pods removed; rkt's errors for unknown, empty and running UUIDs", async () => {
    const r0 = ctx.run(['--insecure-options=image', 'run', `--uuid-file-save=${ctx.path('u0')}`, image, '--exec=/inspect']);
    assert.equal(r0.code, 0, r0.stderr);
    const exited = fs.readFileSync(ctx.path('u0'), 'utf8');
    const prepared = ctx.ok(['--insecure-options=image', 'prepare', '--quiet', image]).trim();
    const running = await startPod(ctx, [image, '--exec=/inspect', '--', `--print-msg=${marker}`, '--sleep=60000']);
    uuids.push(exited, prepared, running.uuid);
    const before = podDirs(ctx);

    const empty = ctx.run(['rm', '']);
    assert.equal(empty.code, 254);
    assert.equal(empty.stderr, 'rm: UUID cannot be empty\nrm: failed to remove one or more pods\n');
    const unknown = ctx.run(['rm', '00000000-0000-4000-8000-000000000000']);
    assert.equal(unknown.code, 254);
    assert.equal(unknown.stderr, 'rm: no matches found for "00000000-0000-4000-8000-000000000000"\nrm: failed to remove one or more pods\n');
    fs.writeFileSync(ctx.path('unknown-uuid'), 'abcdef12');
    const viaFile = ctx.run(['rm', `--uuid-file=${ctx.path('unknown-uuid')}`]);
    assert.equal(viaFile.code, 254);
    assert.match(viaFile.stderr, /rm: no matches found for "abcdef12"/);
    const busy = ctx.run(['rm', running.uuid]);
    assert.equal(busy.code, 254);
    assert.equal(busy.stderr, `rm: pod "${running.uuid}" is currently running\nrm: failed to remove one or more pods\n`);
    assert.deepEqual(podDirs(ctx), before, 'nothing changed');
    assert.equal(kv(ctx.ok(['status', running.uuid])).get('state'), 'running');

    const ok = ctx.run(['rm', exited, prepared]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `"${exited}"\n"${prepared}"\n`);
    const after = podDirs(ctx);
    assert.deepEqual(after.run, [running.uuid]);
    assert.deepEqual([...after.prepared, ...after['exited-garbage'], ...after.garbage], []);
    ctx.ok(['stop', running.uuid]);
    await running.exited;
    assertNothingLeft(ctx, uuids, marker);
  });

  it('a crashed stage1 leaves cgroups and mounts; after a reboot-like unmount, gc removes everything', async () => {
    const pod = await startPod(ctx, [image, '--exec=/inspect', '--', `--print-msg=${marker}`, '--sleep=60000']);
    uuids.push(pod.uuid);
    const cgs = podCgroups().filter((c) => c.endsWith(pod.uuid));
    assert.ok(cgs.some((c) => c.includes('/memory/')), `a memory cgroup for the limit: ${cgs}`);
    // kill -9 of stage1 (the process rkt exec'd into): PID 1 dies with it, nothing cleans up.
    const stage1 = processesWith(path.join(ctx.dataDir, 'pods', 'run', pod.uuid));
    assert.ok(stage1.length >= 1);
    for (const p of stage1) process.kill(p, 'SIGKILL');
    await pod.exited;
    await waitFor(() => processesWith(marker).length === 0, 10_000, 'the app to die with PID 1');
    assert.equal(kv(ctx.ok(['status', pod.uuid])).get('state'), 'exited');
    assert.ok(podCgroups().some((c) => c.endsWith(pod.uuid)), 'cgroups left by the crash');
    // Reboot-like: every mount of the pod is gone (the stage1 overlay too), its files stay.
    const podDir = path.join(ctx.dataDir, 'pods', 'run', pod.uuid);
    for (const m of mountsUnder(podDir).reverse()) spawnSync('umount', ['-l', m]);
    assert.deepEqual(mountsUnder(podDir), []);
    const mark = ctx.run(['gc', '--mark-only']);
    assert.equal(mark.code, 0, mark.stderr);
    assert.match(mark.stderr, new RegExp(`moving pod "${pod.uuid}" to garbage`));
    assert.deepEqual(podDirs(ctx)['exited-garbage'], [pod.uuid], '--mark-only keeps the pod');
    const g = ctx.run(['gc', '--grace-period=0s']);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, new RegExp(`Garbage collecting pod "${pod.uuid}"`));
    assert.deepEqual(podCgroups().filter((c) => c.endsWith(pod.uuid)), [], "the stage1 gc entrypoint (from the tree store) removed the pod's cgroups");
    assertNothingLeft(ctx, uuids, marker);
  });

  it('image gc keeps the tree stores of pods that still exist, and drops them after gc', () => {
    const r = ctx.run(['--insecure-options=image', 'run', `--uuid-file-save=${ctx.path('u-img')}`, image, '--exec=/inspect']);
    assert.equal(r.code, 0, r.stderr);
    const uuid = fs.readFileSync(ctx.path('u-img'), 'utf8');
    uuids.push(uuid);
    const trees = () => fs.readdirSync(path.join(ctx.dataDir, 'cas', 'tree')).filter((t) => !t.startsWith('.'));
    const before = trees();
    assert.equal(before.length, 2, 'stage1 and the app');
    const ig = ctx.run(['image', 'gc', '--grace-period=0s']);
    assert.equal(ig.code, 0, ig.stderr);
    assert.deepEqual(trees(), before, 'an exited pod still mounts them');
    assert.equal(kv(ctx.ok(['status', uuid])).get('app-inspect'), '0');
    ctx.ok(['gc', '--grace-period=0s']);
    ctx.ok(['image', 'gc', '--grace-period=0s']);
    assert.deepEqual(trees(), []);
    assertNothingLeft(ctx, uuids, marker);
  });

  it('gc, rm and run at the same time never remove a running pod', async () => {
    // image gc removed the image: fetch it again
    const pod = await startPod(ctx, [image, '--exec=/inspect', '--', `--print-msg=${marker}`, '--sleep=60000']);
    uuids.push(pod.uuid);
    const procs = [];
    for (let i = 0; i < 3; i++) {
      procs.push(ctx.spawn(['gc', '--grace-period=0s', '--expire-prepared=0s']));
      procs.push(ctx.spawn(['rm', pod.uuid]));
      procs.push(ctx.spawn(['--insecure-options=image', 'run', image, '--exec=/inspect', '--', `--print-msg=${marker}`]));
    }
    await Promise.all(procs.map((p) => new Promise((r) => p.on('exit', r))));
    assert.equal(kv(ctx.ok(['status', pod.uuid])).get('state'), 'running');
    assert.ok(processesWith(marker).length >= 1, 'its app still runs');
    const r = ctx.run(['enter', pod.uuid, '/inspect', '--stat=/inspect']);
    assert.equal(r.code, 0, r.stderr);
    ctx.ok(['stop', pod.uuid]);
    await pod.exited;
    ctx.ok(['gc', '--grace-period=0s']);
    assert.deepEqual(podDirs(ctx).run, []);
    assertNothingLeft(ctx, uuids, marker);
  });
});
