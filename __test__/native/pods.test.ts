/** Pod directories: states by directory and lock, UUID matching, transitions (needs the addon for flock). */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { NewPod, PodDirs, claimPrepared } from '../../src/pod/pods';
import { RktError } from '../../src/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-pods-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('pods', () => {
  const dirs = new PodDirs(path.join(tmp, 'pods'));

  it('walks embryo → prepare (locked) → prepared → run', async () => {
    const pod = await NewPod.create(dirs);
    assert.equal(dirs.state(pod.uuid).state, 'preparing', 'locked in prepare/');
    pod.markPrepared();
    assert.equal(dirs.state(pod.uuid).state, 'prepared');
    const { lock } = await claimPrepared(dirs, pod.uuid);
    assert.equal(dirs.state(pod.uuid).state, 'running');
    lock.release();
    assert.equal(dirs.state(pod.uuid).state, 'exited');
    await assert.rejects(claimPrepared(dirs, pod.uuid));
  });

  it('an embryo is no pod until it starts its prepare, and a discarded one is gone', async () => {
    const kept = await NewPod.embryo(dirs);
    assert.equal(dirs.state(kept.uuid).state, 'embryo');
    assert.ok(!dirs.list(['prepare', 'prepared', 'run', 'exited-garbage']).some((p) => p.uuid === kept.uuid), 'not listed');
    kept.startPrepare();
    assert.equal(dirs.state(kept.uuid).state, 'preparing', 'locked in prepare/');
    assert.throws(() => kept.discard(), /not an embryo/);
    kept.abort();
    const gone = await NewPod.embryo(dirs);
    gone.discard();
    assert.equal(dirs.locate(gone.uuid), undefined);
    assert.throws(() => gone.startPrepare(), /not an embryo|ENOENT/);
  });

  it('an aborted prepare is unlocked in prepare/', async () => {
    const pod = await NewPod.create(dirs);
    pod.abort();
    assert.equal(dirs.state(pod.uuid).state, 'aborted prepare');
  });

  it('a lock held by another process means running', async () => {
    const pod = await NewPod.create(dirs);
    pod.markPrepared();
    const runDir = dirs.podPath('run', pod.uuid);
    fs.renameSync(dirs.podPath('prepared', pod.uuid), runDir);
    const holder = spawn('flock', ['-x', runDir, 'sleep', '30']);
    const t0 = Date.now();
    while (dirs.state(pod.uuid).state !== 'running' && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(dirs.state(pod.uuid).state, 'running');
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('close', r));
    assert.equal(dirs.state(pod.uuid).state, 'exited');
  });

  it('resolves UUID prefixes like rkt', async () => {
    const a = await NewPod.create(dirs);
    a.markPrepared();
    assert.equal(dirs.resolveUuid(a.uuid.slice(0, 8).toUpperCase()), a.uuid);
    assert.equal(dirs.resolveUuid(a.uuid.replace(/-/g, '')), a.uuid);
    assert.throws(() => dirs.resolveUuid(''), (e: unknown) => e instanceof RktError && e.message === 'UUID cannot be empty');
    assert.throws(() => dirs.resolveUuid('zzzz'), (e: unknown) => e instanceof RktError && e.message === 'no matches found for "zzzz"');
    assert.throws(() => dirs.resolveUuid(''.padEnd(0)), /UUID cannot be empty/);
    // 17 pods must share a first hex digit: that prefix is ambiguous.
    const byFirst = new Map<string, number>();
    for (const p of dirs.list(['prepare', 'prepared', 'run', 'exited-garbage'])) byFirst.set(p.uuid[0], (byFirst.get(p.uuid[0]) ?? 0) + 1);
    while (![...byFirst.values()].some((n) => n > 1)) {
      const p = await NewPod.create(dirs);
      p.markPrepared();
      byFirst.set(p.uuid[0], (byFirst.get(p.uuid[0]) ?? 0) + 1);
    }
    const shared = [...byFirst].find(([, n]) => n > 1) as [string, number];
    assert.throws(() => dirs.resolveUuid(shared[0]), (e: unknown) => e instanceof RktError && e.message === `ambiguous uuid, ${shared[1]} matches`);
  });
});
