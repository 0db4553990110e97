/**
 * `rkt stop` and `rkt enter` against real running pods (rkt's tests/rkt_stop_test.go,
 * rkt_enter via rkt_env_test.go and rkt_pid_file_test.go): graceful stop, the kill after the grace
 * period, --force, --uuid-file, the messages for pods that are stopped or not running; entering
 * an app's namespaces with its user, environment and root, the default shell, a TTY, several apps.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { RKT, RktContext } from './harness';
import { assertNothingLeft, childrenOf, kv, podDirs, startPod, waitFor } from './pod-util';

const inspect = fs.readFileSync(inspectBinaryPath());
const busybox = fs.readFileSync('/usr/bin/busybox');

describe('rkt stop', () => {
  const ctx = new RktContext('rkt-stop-');
  const marker = `marker-${process.pid}-stop`;
  let image: string;
  const uuids: string[] = [];
  before(async () => {
    image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), exampleRootfs(inspect)));
  });
  after(() => ctx.cleanup());

  it('stops a running pod gracefully: SIGTERM, pod exited, status recorded, second stop reports it', async () => {
    const pod = await startPod(ctx, [image, '--exec=/inspect', '--', `--print-msg=${marker}`, '--sleep=60000']);
    uuids.push(pod.uuid);
    const t0 = Date.now();
    const r = ctx.run(['stop', pod.uuid.slice(0, 8)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `"${pod.uuid}"\n`);
    assert.ok(Date.now() - t0 < 8000, 'SIGTERM ends a default app at once');
    assert.equal(await pod.exited, 0, 'a stop asked for is a success');
    const st = kv(ctx.ok(['status', pod.uuid]));
    assert.equal(st.get('state'), 'exited');
    assert.equal(st.get('app-inspect'), '0');
    const again = ctx.run(['stop', pod.uuid]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, `pod "${pod.uuid}" is already stopped\n`);
    assertNothingLeft(ctx, uuids, marker);
  });

  it('kills an app that ignores SIGTERM after the grace period', async () => {
    const pod = await startPod(ctx, [image, '--exec=/inspect', '--', `--print-msg=${marker}`, '--ignore-sigterm', '--sleep=60000']);
    uuids.push(pod.uuid);
    const t0 = Date.now();
    const r = ctx.run(['stop', pod.uuid]);
    const took = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(took >= 9000 && took < 20000, `killed after the 10 s grace period (took ${took} ms)`);
    await pod.exited;
    const st = kv(ctx.ok(['status', pod.uuid]));
    assert.equal(st.get('state'), 'exited');
    assert.equal(st.get('app-inspect'), '0', 'stopped on request: recorded as success');
    assertNothingLeft(ctx, uuids, marker);
  });

  it('--force kills at once; --uuid-file names the pod', async () => {
    const pod = await startPod(ctx, [image, '--exec=/inspect', '--', `--print-msg=${marker}`, '--ignore-sigterm', '--sleep=60000']);
    uuids.push(pod.uuid);
    const f = ctx.path('stop-uuid');
    fs.writeFileSync(f, pod.uuid);
    const t0 = Date.now();
    const r = ctx.run(['stop', '--force', `--uuid-file=${f}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `"${pod.uuid}"\n`);
    assert.ok(Date.now() - t0 < 5000, 'no grace period with --force');
    assert.equal(await pod.exited, 137);
    const st = kv(ctx.ok(['status', pod.uuid]));
    assert.equal(st.get('state'), 'exited');
    assert.equal(st.get('app-inspect'), '137', 'killed by SIGKILL');
    assertNothingLeft(ctx, uuids, marker);
  });

  it('refuses pods that are not running, and unknown ones, with exit 254 and nothing changed', () => {
    const uuid = ctx.ok(['--insecure-options=image', 'prepare', '--quiet', image]).trim();
    const before = podDirs(ctx);
    const r = ctx.run(['stop', uuid]);
    assert.equal(r.code, 254);
    assert.match(r.stderr, new RegExp(`stop: pod "${uuid}" is not running\n`));
    assert.match(r.stderr, /stop: failed to stop 1 pod\(s\)\n$/);
    const u = ctx.run(['stop', 'ffffffff']);
    assert.equal(u.code, 254);
    assert.match(u.stderr, /no matches found for "ffffffff"/);
    assert.deepEqual(podDirs(ctx), before);
    assert.equal(kv(ctx.ok(['status', uuid])).get('state'), 'prepared');
    ctx.ok(['rm', uuid]);
  });
});

describe('rkt enter', () => {
  const ctx = new RktContext('rkt-enter-');
  const marker = `marker-${process.pid}-enter`;
  let image: string;
  let shellImage: string;
  const uuids: string[] = [];
  before(async () => {
    image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), exampleRootfs(inspect)));
    shellImage = ctx.path('shell.aci');
    const rootfs = exampleRootfs(inspect).filter((e) => e.name !== 'bin' && e.name !== 'bin/inspect');
    await writeAci(
      shellImage,
      aciEntries(manifestFor('example.com/shell', { version: '0.1.0' }), [
        ...rootfs,
        { name: 'bin', type: 'directory' },
        { name: 'bin/busybox', data: busybox, mode: 0o755 },
        { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      ]),
    );
  });
  after(() => {
    for (const u of uuids) ctx.run(['stop', '--force', u]);
    ctx.cleanup();
  });

  it("joins the app's namespaces, root, user and environment", async () => {
    const pod = await startPod(ctx, [
      '--set-env=FROM_RUN=yes',
      image,
      '--user=1000',
      '--group=100',
      '--exec=/inspect',
      '--',
      `--print-msg=${marker}`,
      '--print-ns',
      '--sleep=60000',
    ]);
    uuids.push(pod.uuid);
    await waitFor(() => pod.stdout().includes('ns-user='), 10_000, "the app's namespaces");
    const r = ctx.run(['enter', pod.uuid, '/inspect', '--print-ns', '--print-user', '--print-env=FROM_RUN', '--print-env=AC_APP_NAME', '--print-hostname', '--stat=/inspect', '--exit-code=7']);
    assert.equal(r.code, 7, r.stderr);
    const inside = kv(r.stdout);
    const app = kv(pod.stdout());
    for (const ns of ['mnt', 'pid', 'uts', 'ipc']) assert.equal(inside.get(`ns-${ns}`), app.get(`ns-${ns}`), `same ${ns} namespace as the app`);
    assert.notEqual(inside.get('ns-mnt'), fs.readlinkSync('/proc/self/ns/mnt'));
    assert.equal(inside.get('uid'), '1000 gid=100 euid=1000');
    assert.equal(inside.get('FROM_RUN'), 'yes');
    assert.equal(inside.get('AC_APP_NAME'), 'inspect');
    assert.equal(inside.get('hostname'), `rkt-${pod.uuid}`);
    assert.equal(inside.get('stat:/inspect'), 'file 755', "the app's root");
    // enter reaps stage0's memory holder (handoff.rs) as well: its one child is the command
    const e = ctx.spawn(['enter', pod.uuid, '/inspect', '--print-msg=entered', '--sleep=30000']);
    let entered = '';
    e.stdout.on('data', (d) => (entered += d));
    const closed = new Promise((resolve) => e.on('close', resolve));
    try {
      await waitFor(() => entered.includes('entered'), 10_000, 'the command of the enter');
      await waitFor(() => childrenOf(e.pid!).length === 1, 10_000, "enter's only child to be its command");
    } finally {
      e.kill('SIGKILL');
      await closed;
    }
    ctx.ok(['stop', pod.uuid]);
    await pod.exited;
    assertNothingLeft(ctx, uuids, marker);
  });

  it('runs /bin/sh when no command is given, with and without a TTY', async () => {
    const pod = await startPod(ctx, [shellImage, '--exec=/inspect', '--', `--print-msg=${marker}`, '--sleep=60000']);
    uuids.push(pod.uuid);
    const r = ctx.run(['enter', pod.uuid], { input: 'echo hello-from-sh; exit 3\n' });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /enter: no command specified, assuming "\/bin\/sh"/);
    assert.match(r.stdout, /hello-from-sh/);
    // Under a pseudo-terminal (script(1)): the entered process has it as stdin and stdout.
    const cmd = [process.execPath, RKT, ...ctx.globalArgs(), 'enter', pod.uuid, '/inspect', '--check-tty'].map((a) => `'${a}'`).join(' ');
    const t = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    assert.match(t.stdout, /stdin-tty=true stdout-tty=true/);
    const n = ctx.run(['enter', pod.uuid, '/inspect', '--check-tty']);
    assert.match(n.stdout, /stdin-tty=false stdout-tty=false/);
    ctx.ok(['stop', pod.uuid]);
    await pod.exited;
    assertNothingLeft(ctx, uuids, marker);
  });

  it('asks for --app in a pod with several apps', async () => {
    const pod = await startPod(ctx, [
      image, '--name=one', '--exec=/inspect', '--', `--print-msg=${marker}`, '--sleep=60000', '---',
      image, '--name=two', '--exec=/inspect', '--', `--print-msg=${marker}`, '--sleep=60000', '---',
    ]);
    uuids.push(pod.uuid);
    const r = ctx.run(['enter', pod.uuid, '/inspect', '--print-env=AC_APP_NAME']);
    assert.equal(r.code, 254);
    assert.match(r.stderr, /enter: pod contains multiple apps:\nenter: \tone\nenter: \ttwo\n/);
    assert.match(r.stderr, /enter: specify app using "rkt enter --app= \.\.\."\n$/);
    const two = ctx.run(['enter', '--app=two', pod.uuid, '/inspect', '--print-env=AC_APP_NAME']);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(kv(two.stdout).get('AC_APP_NAME'), 'two');
    ctx.ok(['stop', pod.uuid]);
    await pod.exited;
    assertNothingLeft(ctx, uuids, marker);
  });

  it('refuses a pod that is not running', () => {
    const r0 = ctx.run(['--insecure-options=image', 'run', image, '--exec=/inspect', '--', '--print-msg=done']);
    assert.equal(r0.code, 0, r0.stderr);
    const uuid = ctx.ok(['list', '--full', '--no-legend']).split('\n').map((l) => l.split('\t')[0]).find((u) => u && !uuids.includes(u)) as string;
    const before = podDirs(ctx);
    const r = ctx.run(['enter', uuid, '/inspect']);
    assert.equal(r.code, 254);
    assert.equal(r.stderr, `enter: pod "${uuid}" isn't currently running\n`);
    assert.deepEqual(podDirs(ctx), before);
    assertNothingLeft(ctx, [...uuids, uuid], marker);
  });
});
