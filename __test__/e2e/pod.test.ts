/**
 * Real pods, as root: what an app sees inside (filesystems, devices, name resolution, protected
 * paths), event handlers, capabilities and groups, overlay and --no-overlay, --pod-manifest,
 * `status --wait`, and crashes (kill -9 of rkt while preparing, of stage1 while running) that
 * `rkt gc` must clean up, leaving no mount and no process behind.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { RKT, RktContext } from './harness';
import { childrenOf, kv, mountsUnder, podDirs as podEntries, processesWith, sleep, waitFor } from './pod-util';

const inspect = fs.readFileSync(inspectBinaryPath());

describe('inside a pod', () => {
  const ctx = new RktContext('rkt-pod-');
  let image: string;
  let withHosts: string;
  let handlers: string;
  let imageId: string;
  before(async () => {
    image = ctx.path('inspect.aci');
    const owned = { name: 'owned', data: 'x', uid: 4321, gid: 4322 };
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), [...exampleRootfs(inspect), owned]));
    imageId = ctx.ok(['fetch', '--insecure-options=image', image]).trim();
    withHosts = ctx.path('hosts.aci');
    await writeAci(
      withHosts,
      aciEntries(manifestFor('example.com/with-hosts', { version: '0.1.0' }), [...exampleRootfs(inspect), { name: 'etc/hosts', data: '10.9.9.9 image-own-hosts\n' }]),
    );
    handlers = ctx.path('handlers.aci');
    const hm = manifestFor('example.com/handlers', { version: '0.1.0' });
    Object.assign(hm.app as object, {
      exec: ['/inspect', '--read-file=/prestart', '--stat=/poststop'],
      eventHandlers: [
        { name: 'pre-start', exec: ['/inspect', '--write-file=/prestart:pre-start ran', '--print-user'] },
        { name: 'post-stop', exec: ['/inspect', '--write-file=/poststop:post-stop ran'] },
      ],
      user: '1000',
      group: '100',
    });
    await writeAci(handlers, aciEntries(hm, exampleRootfs(inspect)));
  });
  after(() => ctx.cleanup());

  const run = (args: string[], global: string[] = []) => ctx.run(['--insecure-options=image', ...global, 'run', ...args]);

  it('mounts /proc, a read-only /sys, /dev with its nodes, devpts, /dev/shm, /tmp and /etc files', () => {
    const uuidFile = ctx.path('uuid-fs');
    const stats = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/shm', '/tmp', '/proc/kallsyms'].map((p) => `--stat=${p}`);
    const r = run([
      `--uuid-file-save=${uuidFile}`,
      '--dns=10.1.2.3',
      '--dns-search=example.test',
      image,
      '--exec=/inspect',
      '--',
      '--print-mounts',
      ...stats,
      '--readlink=/dev/ptmx',
      '--readlink=/etc/mtab',
      '--read-file=/etc/hostname',
      '--read-file=/etc/hosts',
      '--read-file=/etc/resolv.conf',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const uuid = fs.readFileSync(uuidFile, 'utf8');
    const mounts = r.stdout.split('\n').map((l) => l.split(' '));
    const mount = (target: string) => mounts.find((m) => m[1] === target);
    assert.equal(mount('/proc')?.[2], 'proc');
    assert.equal(mount('/sys')?.[2], 'sysfs');
    assert.match(mount('/sys')?.[3] ?? '', /^ro,/, '/sys is read-only');
    assert.equal(mount('/dev/pts')?.[2], 'devpts');
    assert.equal(mount('/dev/shm')?.[2], 'tmpfs');
    const facts = kv(r.stdout);
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
      assert.equal(facts.get(`stat:/dev/${d}`), 'char 666', `/dev/${d} is a character device anyone may use`);
      assert.equal(mount(`/dev/${d}`), undefined, `/dev/${d} is a node of the pod's /dev, not a bind of the host's`);
    }
    assert.equal(facts.get('stat:/dev/shm'), 'dir 1777');
    assert.equal(facts.get('stat:/tmp'), 'dir 1777');
    assert.equal(facts.get('link:/dev/ptmx'), 'pts/ptmx');
    assert.equal(facts.get('link:/etc/mtab'), '../proc/self/mounts');
    assert.match(r.stdout, new RegExp(`<<<rkt-${uuid}\\n>>>`), '/etc/hostname holds the pod hostname');
    assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1[^\\n]*rkt-${uuid}`), 'the fallback /etc/hosts names the pod');
    assert.match(r.stdout, /nameserver 10\.1\.2\.3\nsearch example\.test/);
    // protected kernel paths (those this kernel has): read-only or hidden
    assert.match(mount('/proc/sys/kernel/core_pattern')?.[3] ?? '', /^ro,/, '/proc/sys/kernel/core_pattern is read-only');
    assert.match(mount('/sys')?.[3] ?? '', /^ro,/, '/sys is read-only, /sys/devices and the rest with it');
    assert.equal(mount('/sys/devices'), undefined, 'nothing of its own is mounted under the read-only /sys but what hides');
    assert.equal(mount('/sys/firmware')?.[2], 'tmpfs', '/sys/firmware is hidden under an empty tmpfs');
    assert.match(facts.get('stat:/proc/kallsyms') ?? '', /^char /, '/proc/kallsyms is masked by /dev/null');
  });

  it('gives no resolv.conf without --dns, keeps an image /etc/hosts, and opens protected paths with --insecure-options=paths', () => {
    const r = ctx.run(['--insecure-options=image,paths', 'run', withHosts, '--exec=/inspect', '--', '--stat=/etc/resolv.conf', '--read-file=/etc/hosts', '--print-mounts']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(kv(r.stdout).get('stat:/etc/resolv.conf'), 'missing');
    assert.match(r.stdout, /<<<10\.9\.9\.9 image-own-hosts\n>>>/);
    const targets = r.stdout.split('\n').map((l) => l.split(' ')[1]);
    for (const p of ['/proc/sys/kernel/core_pattern', '/sys/devices', '/sys/firmware', '/proc/kallsyms']) assert.ok(!targets.includes(p), `${p} is not protected with --insecure-options=paths`);
    const ro = run([image, '--exec=/inspect', '--', '--write-file=/proc/sys/kernel/core_pattern:core']);
    assert.notEqual(ro.code, 0, 'writing a protected path fails without --insecure-options=paths');
    assert.match(ro.stdout, /cannot write \/proc\/sys\/kernel\/core_pattern: Read-only file system/);
    // a /sys file root could write on the host, given the value it has (harmless should it pass)
    const thp = '/sys/kernel/mm/transparent_hugepage/enabled';
    const current = /\[(\w+)\]/.exec(fs.readFileSync(thp, 'utf8'))?.[1];
    assert.ok(current, `${thp} names its setting`);
    const sys = run([image, '--exec=/inspect', '--', `--write-file=${thp}:${current}`]);
    assert.notEqual(sys.code, 0, 'writing under /sys fails');
    assert.match(sys.stdout, /cannot write \/sys\/kernel\/mm\/transparent_hugepage\/enabled: Read-only file system/);
  });

  it("gives the app every CPU rkt may use (stage1's set-up runs on one)", () => {
    const allowed = (status: string) => /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1];
    const ours = allowed(fs.readFileSync('/proc/self/status', 'utf8'));
    assert.ok(ours, 'this process has a CPU list');
    const r = run([image, '--exec=/inspect', '--', '--read-file=/proc/self/status']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(allowed(r.stdout), ours, r.stdout);
    // and an app started with fewer CPUs keeps exactly those: taskset's list, not all of them
    const cpus = ours.split(/[,-]/).map(Number);
    if (cpus.length > 1 || ours.includes('-')) {
      const one = String(cpus[cpus.length - 1]);
      const t = spawnSync('taskset', ['-c', one, process.execPath, RKT, ...ctx.globalArgs(), '--insecure-options=image', 'run', image, '--exec=/inspect', '--', '--read-file=/proc/self/status'], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      assert.equal(allowed(t.stdout), one, t.stdout);
    }
  });

  it('runs pre-start before the app and post-stop after it, as root', () => {
    const uuidFile = ctx.path('uuid-handlers');
    const r = run([`--uuid-file-save=${uuidFile}`, handlers]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /uid=0 gid=0 euid=0/, 'the pre-start handler runs as root');
    assert.match(r.stdout, /<<<pre-start ran>>>/, 'the app sees what pre-start wrote');
    assert.equal(kv(r.stdout).get('stat:/poststop'), 'missing', 'post-stop has not run while the app runs');
    const uuid = fs.readFileSync(uuidFile, 'utf8');
    // the overlay upper dir (the merged view stays mounted until gc)
    const written = ctx.files(`pods/run/${uuid}`).filter((f) => f.startsWith('overlay/') && f.endsWith('/poststop'));
    assert.equal(written.length, 1, 'post-stop wrote its file into the app rootfs');
    assert.equal(fs.readFileSync(path.join(ctx.dataDir, 'pods', 'run', uuid, written[0]), 'utf8'), 'post-stop ran');
  });

  it('applies --caps-retain, --caps-remove, --supplementary-gids and --working-dir', () => {
    const bnd = (out: string) => BigInt('0x' + (kv(out).get('CapBnd') ?? 'x'));
    const CHOWN = 1n << 0n;
    const NET_BIND = 1n << 10n;
    const retain = run([image, '--caps-retain=CAP_CHOWN,CAP_NET_BIND_SERVICE', '--exec=/inspect', '--', '--print-caps']);
    assert.equal(retain.code, 0, retain.stderr);
    assert.equal(bnd(retain.stdout), CHOWN | NET_BIND);
    const remove = run([image, '--caps-remove=CAP_CHOWN', '--exec=/inspect', '--', '--print-caps']);
    assert.equal(bnd(remove.stdout) & CHOWN, 0n);
    assert.equal(bnd(remove.stdout) & NET_BIND, NET_BIND);
    const both = run([image, '--caps-retain=CAP_CHOWN', '--caps-remove=CAP_KILL']);
    assert.equal(both.code, 254);
    assert.match(both.stderr, /cannot use both --caps-retain and --caps-remove on the same image/);
    const groups = run([image, '--user=1000', '--supplementary-gids=10,20', '--working-dir=/tmp', '--exec=/inspect', '--', '--print-groups', '--print-cwd', '--print-user']);
    assert.equal(groups.code, 0, groups.stderr);
    assert.deepEqual(kv(groups.stdout).get('groups')?.split(',').sort(), ['10', '20']);
    assert.equal(kv(groups.stdout).get('cwd'), '/tmp');
    assert.match(groups.stdout, /uid=1000 gid=0 euid=1000/);
    const owner = run([image, '--user=/owned', '--group=/owned', '--exec=/inspect', '--', '--print-user']);
    assert.equal(owner.code, 0, owner.stderr);
    assert.match(owner.stdout, /uid=4321 gid=4322 euid=4321/, "a path as user or group means its owner in the image");
    const noWd = run([image, '--working-dir=/no/such/dir', '--exec=/inspect']);
    assert.notEqual(noWd.code, 0);
    assert.match(noWd.stderr, /\/no\/such\/dir/);
  });

  it('keeps app writes in the pod: overlay upper dir, or a copy with --no-overlay', () => {
    const tree = () => ctx.files('cas/tree').filter((f) => f.endsWith('/written'));
    for (const noOverlay of [false, true]) {
      const uuidFile = ctx.path(`uuid-ov-${noOverlay}`);
      const r = run([`--uuid-file-save=${uuidFile}`, ...(noOverlay ? ['--no-overlay'] : []), image, '--exec=/inspect', '--', '--write-file=/written:data', '--print-mounts']);
      assert.equal(r.code, 0, r.stderr);
      const uuid = fs.readFileSync(uuidFile, 'utf8');
      const podDir = path.join(ctx.dataDir, 'pods', 'run', uuid);
      const root = r.stdout.split('\n').find((l) => l.split(' ')[1] === '/');
      const fstype = root?.split(' ')[2];
      if (noOverlay) assert.notEqual(fstype, 'overlay', 'a copied app root is no overlay');
      else assert.equal(fstype, 'overlay', 'the app root is an overlay of the tree store');
      const files = ctx.files(`pods/run/${uuid}`).filter((f) => f.endsWith('/written'));
      if (noOverlay) assert.deepEqual(files, ['stage1/rootfs/opt/stage2/inspect/rootfs/written']);
      else assert.deepEqual(files.filter((f) => f.startsWith('overlay/')), [`overlay/${fs.readFileSync(path.join(podDir, 'appsinfo', 'inspect', 'treeStoreID'), 'utf8')}/upper/inspect/written`]);
      assert.equal(fs.existsSync(path.join(podDir, 'overlay-prepared')), !noOverlay);
      assert.deepEqual(tree(), [], 'the tree store is never written by an app');
    }
  });

  it('runs and prepares a --pod-manifest, refusing conflicting flags and unknown images', () => {
    const pm = (apps: unknown[]) => {
      const f = ctx.path(`pm-${Math.random().toString(16).slice(2)}.json`);
      fs.writeFileSync(f, JSON.stringify({ acVersion: '0.8.11', acKind: 'PodManifest', apps }));
      return f;
    };
    const good = pm([{ name: 'from-pm', image: { id: imageId }, app: { exec: ['/inspect', '--print-msg=hello from the pod manifest', '--print-env=AC_APP_NAME'], user: '0', group: '0' } }]);
    const r = ctx.run(['run', `--pod-manifest=${good}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hello from the pod manifest/);
    assert.equal(kv(r.stdout).get('AC_APP_NAME'), 'from-pm');
    const imageApp = pm([{ name: 'image-app', image: { id: imageId.slice(0, 20) } }]);
    const uuid = ctx.ok(['prepare', `--pod-manifest=${imageApp}`]).trim();
    const cat = JSON.parse(ctx.ok(['cat-manifest', uuid]));
    assert.deepEqual(cat.apps[0].app.exec, ['/inspect'], "the image's app section is used when the pod manifest has none");
    assert.match(cat.apps[0].image.id, /^sha512-[0-9a-f]{64}$/);
    for (const extra of [[image], ['--set-env=A=1'], ['--volume=v,kind=empty'], ['--inherit-env'], ['--pull-policy=update']]) {
      const c = ctx.run(['--insecure-options=image', 'run', `--pod-manifest=${good}`, ...extra.filter((x) => x.startsWith('--')), ...extra.filter((x) => !x.startsWith('--'))]);
      assert.equal(c.code, 254, extra.join());
      assert.match(c.stderr, /conflicting flags set with --pod-manifest \(see --help\)/);
    }
    const before = podEntries(ctx);
    const unknown = ctx.run(['run', `--pod-manifest=${pm([{ name: 'x', image: { id: 'sha512-' + 'ab'.repeat(32) }, app: { exec: ['/inspect'], user: '0', group: '0' } }])}`]);
    assert.equal(unknown.code, 254);
    assert.match(unknown.stderr, /is not in the store/);
    const bad = ctx.run(['run', `--pod-manifest=${pm([{ name: 'Bad_Name', image: { id: imageId } }])}`]);
    assert.equal(bad.code, 254);
    assert.match(bad.stderr, /invalid pod manifest: apps\[0\]\.name/);
    const missing = ctx.run(['run', '--pod-manifest=/no/such/manifest.json']);
    assert.equal(missing.code, 254);
    assert.match(missing.stderr, /cannot read pod manifest \/no\/such\/manifest\.json/);
    assert.deepEqual(podEntries(ctx), before, 'no pod is created for a bad pod manifest');
    // rkt run begins its pod while the store opens; an image not found takes it back
    const notHere = ctx.run(['run', '--pull-policy=never', 'example.com/not-here:1.0']);
    assert.equal(notHere.code, 254);
    assert.match(notHere.stderr, /unable to fetch image from image name "example.com\/not-here:1.0": either image was not found in the store/);
    assert.deepEqual(podEntries(ctx), before, 'nor for an image not in the store');
  });

  it('status --wait-ready and --wait follow a running pod to its end', async () => {
    const uuidFile = ctx.path('uuid-wait');
    const p = ctx.spawn(['--insecure-options=image', 'run', `--uuid-file-save=${uuidFile}`, image, '--exec=/inspect', '--', '--sleep=1500']);
    const closed = new Promise<number | null>((r) => p.on('close', (c) => r(c)));
    await waitFor(() => fs.existsSync(uuidFile), 20_000, 'the uuid file');
    const uuid = fs.readFileSync(uuidFile, 'utf8');
    const ready = ctx.run(['status', '--wait-ready=20s', uuid]);
    assert.equal(ready.code, 0, ready.stderr);
    assert.equal(kv(ready.stdout).get('state'), 'running');
    assert.match(kv(ready.stdout).get('pid') ?? '', /^\d+$/);
    const done = ctx.run(['status', '--wait=20s', uuid]);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(kv(done.stdout).get('state'), 'exited');
    assert.equal(kv(done.stdout).get('app-inspect'), '0');
    assert.equal(await closed, 0);
    const list = JSON.parse(ctx.ok(['list', '--format=json']));
    const pod = list.find((p: { name: string }) => p.name === uuid);
    assert.equal(pod.state, 'exited');
    assert.equal(pod.apps[0].name, 'inspect');
    assert.equal(pod.apps[0].exit_code, 0);
    assert.match(pod.apps[0].image_id, /^sha512-/);
  });
});

describe('crashes leave pods that gc collects', () => {
  const ctx = new RktContext('rkt-crash-');
  let image: string;
  before(async () => {
    image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), exampleRootfs(inspect)));
    ctx.ok(['fetch', '--insecure-options=image', image]);
    // one pod run first, so the stage1 and app trees are rendered and later prepares are quick
    ctx.ok(['--insecure-options=image', 'run', image]);
    ctx.ok(['gc', '--grace-period=0s']);
  });
  after(() => ctx.cleanup());

  it('kill -9 of rkt at any point of a prepare: gc collects every pod and leaves no mount', async () => {
    for (const delay of [0, 40, 80, 120, 160, 200, 260, 320, 400, 600]) {
      const p = ctx.spawn(['--insecure-options=image', 'prepare', image]);
      const closed = new Promise((r) => p.on('close', r));
      await sleep(delay);
      p.kill('SIGKILL');
      await closed;
    }
    const gc = ctx.run(['gc', '--grace-period=0s', '--expire-prepared=0s']);
    assert.equal(gc.code, 0, gc.stderr);
    const left = podEntries(ctx);
    for (const [state, uuids] of Object.entries(left)) assert.deepEqual(uuids, [], `pods left in ${state}`);
    assert.deepEqual(mountsUnder(ctx.dataDir), [], 'no mount left under the data dir');
    assert.equal(ctx.ok(['list', '--no-legend']), '');
    // and the store still works
    const again = ctx.run(['--insecure-options=image', 'run', image, '--exec=/inspect', '--', '--print-msg=still fine']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /still fine/);
  });

  it('kill -9 of a running stage1: the apps die, list shows exited, gc removes every mount', async () => {
    const uuidFile = ctx.path('uuid-kill');
    const marker = `--print-msg=kill-me-${process.pid}`;
    const p = ctx.spawn(['--insecure-options=image', 'run', `--uuid-file-save=${uuidFile}`, image, '--exec=/inspect', '--', marker, '--sleep=60000']);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const closed = new Promise((r) => p.on('close', r));
    await waitFor(() => out.includes('kill-me'), 20_000, 'the app to start');
    const uuid = fs.readFileSync(uuidFile, 'utf8');
    assert.ok(mountsUnder(ctx.dataDir).length > 0, 'a running pod has its rootfs overlays mounted');
    assert.ok(processesWith(marker).length > 0, 'the app runs');
    // `rkt run` has become stage1 by execve: this pid is stage1's
    assert.match(fs.readlinkSync(`/proc/${p.pid}/exe`), /stage1\/rootfs\/init$/);
    // Node's memory left with stage0's holder (handoff.rs), which stage1 reaped: its one child is
    // the pod's PID 1, a fork of stage1
    await waitFor(() => childrenOf(p.pid!).length === 1, 10_000, "stage1's only child to be the pod's PID 1");
    assert.match(fs.readlinkSync(`/proc/${childrenOf(p.pid!)[0]}/exe`), /stage1\/rootfs\/init$/);
    p.kill('SIGKILL');
    await closed;
    await waitFor(() => processesWith(marker).length === 0, 10_000, 'the app to die with its pod');
    const list = ctx.ok(['list', '--no-legend']);
    assert.match(list, new RegExp(`^${uuid.slice(0, 8)}\\tinspect\\t[^\\t]+\\texited\\t`, 'm'));
    const gc = ctx.run(['gc', '--grace-period=0s']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, new RegExp(`Garbage collecting pod "${uuid}"`));
    assert.deepEqual(mountsUnder(ctx.dataDir), [], 'no mount left under the data dir');
    assert.deepEqual(podEntries(ctx).run, []);
  });

  it('a finished pod leaves only its overlays, and gc leaves nothing', () => {
    const marker = `--print-msg=clean-${process.pid}`;
    const r = ctx.run(['--insecure-options=image', 'run', image, '--exec=/inspect', '--', marker]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(processesWith(marker), [], 'no process of the pod is left');
    for (const m of mountsUnder(ctx.dataDir)) assert.match(m, /\/pods\/run\/[0-9a-f-]{36}\/stage1\/rootfs(\/opt\/stage2\/[^/]+\/rootfs)?$/, `only rootfs overlays stay mounted: ${m}`);
    ctx.ok(['gc', '--grace-period=0s']);
    assert.deepEqual(mountsUnder(ctx.dataDir), []);
  });

  it("makes pods in a directory marked as a top of unrelated trees (ext4's chattr +T), where the filesystem has the flag", () => {
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const lsattr = (p: string) => spawnSync('lsattr', ['-d', p], { encoding: 'utf8' });
    const probe = ctx.path('attr-probe');
    fs.mkdirSync(probe, { recursive: true });
    ctx.ok(['gc']); // makes sure of the pod directories, as every new pod does
    const flags = lsattr(path.join(ctx.dataDir, 'pods', 'embryo'));
    if (lsattr(probe).status !== 0) {
      // no such flags here (tmpfs, say): nothing can have been set
      assert.notEqual(flags.status, 0, flags.stdout);
      return;
    }
    assert.equal(flags.status, 0, flags.stderr);
    assert.match(flags.stdout.split(/\s/)[0], /T/, flags.stdout);
    assert.doesNotMatch(lsattr(path.join(ctx.dataDir, 'pods', 'run')).stdout.split(/\s/)[0], /T/, 'only where pods are made');
  });
});

describe('a data dir without overlay support', () => {
  const ctx = new RktContext('rkt-noovl-');
  before(() => {
    // overlayfs cannot be an overlay upper dir: a data dir inside one makes rkt fall back to copies
    for (const d of ['l', 'u', 'w']) fs.mkdirSync(ctx.path('ovl', d), { recursive: true });
    fs.mkdirSync(ctx.dataDir, { recursive: true });
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const m = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ctx.path('ovl', 'l')},upperdir=${ctx.path('ovl', 'u')},workdir=${ctx.path('ovl', 'w')}`, ctx.dataDir], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
  });
  after(() => ctx.cleanup());

  it("falls back to copying with rkt's warning, and the pod still runs", async () => {
    const image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), exampleRootfs(inspect)));
    const uuidFile = ctx.path('uuid');
    const r = ctx.run(['--insecure-options=image', 'run', `--uuid-file-save=${uuidFile}`, image, '--exec=/inspect', '--', '--print-msg=copied']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^run: disabling overlay support: "[^"]+"$/m);
    assert.match(r.stdout, /copied/);
    const podDir = path.join(ctx.dataDir, 'pods', 'run', fs.readFileSync(uuidFile, 'utf8'));
    assert.equal(fs.existsSync(path.join(podDir, 'overlay-prepared')), false);
    assert.deepEqual(mountsUnder(podDir), [], 'nothing is mounted for a copied pod');
  });
});
