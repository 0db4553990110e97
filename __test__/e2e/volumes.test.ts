/**
 * Volumes and mounts in real pods (rkt's tests/rkt_volume_mount_test.go, rkt_mount_test.go,
 * rkt_volume_test.go): host volumes read-write, read-only and (non-)recursive, empty volumes with
 * mode and owner, --mount pod-wide and per app, image mount points, implicit volumes (Docker ones
 * seeded from the image), targets through symlinks and `..` kept inside the app root,
 * --readonly-rootfs, and the bad input that must fail before any pod exists.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { RktContext } from './harness';
import { assertNothingLeft, kv, podDirs } from './pod-util';

const inspect = fs.readFileSync(inspectBinaryPath());

describe('volumes and mounts', () => {
  const ctx = new RktContext('rkt-vol-');
  let image: string;
  let withMountPoints: string;
  let docker: string;
  let host: string;
  const uuids: string[] = [];
  before(async () => {
    image = ctx.path('inspect.aci');
    await writeAci(
      image,
      aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), [
        ...exampleRootfs(inspect),
        // symlinks that would lead out of the rootfs if followed on the host
        { name: 'abs-link', type: 'symlink', linkname: '/../../../../../tmp/inside-target' },
        { name: 'rel-link', type: 'symlink', linkname: '../../../../../../../tmp/rel-target' },
      ]),
    );
    const mp = manifestFor('example.com/mountpoints', { version: '0.1.0' });
    (mp.app as Record<string, unknown>).mountPoints = [
      { name: 'given', path: '/given' },
      { name: 'implicit', path: '/implicit' },
    ];
    withMountPoints = ctx.path('mp.aci');
    await writeAci(withMountPoints, aciEntries(mp, exampleRootfs(inspect)));
    const dm = manifestFor('example.com/docker', { version: '0.1.0' });
    (dm.app as Record<string, unknown>).mountPoints = [{ name: 'vol', path: '/var/data' }];
    dm.annotations = [{ name: 'appc.io/docker/repository', value: 'example/docker' }];
    docker = ctx.path('docker.aci');
    await writeAci(
      docker,
      aciEntries(dm, [
        ...exampleRootfs(inspect),
        { name: 'var', type: 'directory' },
        { name: 'var/data', type: 'directory', mode: 0o750, uid: 1000, gid: 100 },
        { name: 'var/data/seed', data: 'from-the-image', uid: 1000, gid: 100 },
      ]),
    );
    host = ctx.path('host');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'existing'), 'host-content');
  });
  after(() => {
    spawnSync('umount', [path.join(host, 'sub')]);
    ctx.cleanup();
  });

  const run = (args: string[]) => {
    const f = ctx.path(`u-${uuids.length}`);
    const r = ctx.run(['--insecure-options=image', 'run', `--uuid-file-save=${f}`, ...args]);
    if (fs.existsSync(f)) uuids.push(fs.readFileSync(f, 'utf8'));
    return r;
  };

  it('host volumes: read-write, read-only really read-only, recursive or not', () => {
    const rw = run([`--volume=data,kind=host,source=${host}`, image, '--mount', 'volume=data,target=/data', '--exec=/inspect', '--', '--read-file=/data/existing', '--write-file=/data/from-app:written']);
    assert.equal(rw.code, 0, rw.stderr);
    assert.match(rw.stdout, /<<<host-content>>>/);
    assert.equal(fs.readFileSync(path.join(host, 'from-app'), 'utf8'), 'written');

    const ro = run([`--volume=data,kind=host,source=${host},readOnly=true`, image, '--mount=volume=data,target=/data', '--exec=/inspect', '--', '--read-file=/data/existing', '--write-file=/data/nope:x']);
    assert.equal(ro.code, 1, ro.stderr);
    assert.match(ro.stdout, /<<<host-content>>>/);
    assert.match(ro.stdout, /cannot write \/data\/nope: Read-only file system/);
    assert.ok(!fs.existsSync(path.join(host, 'nope')));

    fs.mkdirSync(path.join(host, 'sub'), { recursive: true });
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(host, 'sub')]).status, 0);
    fs.writeFileSync(path.join(host, 'sub', 'on-tmpfs'), 'nested');
    const rec = run([`--volume=data,kind=host,source=${host}`, image, '--mount=volume=data,target=/data', '--exec=/inspect', '--', '--read-file=/data/sub/on-tmpfs']);
    assert.match(rec.stdout, /<<<nested>>>/, 'recursive by default: the submount comes along');
    const flat = run([`--volume=data,kind=host,source=${host},recursive=false`, image, '--mount=volume=data,target=/data', '--exec=/inspect', '--', '--read-file=/data/sub/on-tmpfs']);
    assert.equal(flat.code, 1);
    assert.match(flat.stdout, /cannot read \/data\/sub\/on-tmpfs/);
    spawnSync('umount', [path.join(host, 'sub')]);
    assertNothingLeft(ctx, uuids);
  });

  it('empty volumes with mode and owner, pod-wide --mount for every app, per-app --mount for one', () => {
    const r = run([
      '--volume=shared,kind=empty,mode=0770,uid=1000,gid=100',
      '--volume=own,kind=empty',
      '--mount=volume=shared,target=/shared',
      image, '--name=writer', '--exec=/inspect', '--', '--stat=/shared', '--write-file=/shared/note:from-writer', '---',
      image, '--name=reader', '--mount=volume=own,target=/own', '--exec=/inspect', '--', '--sleep=300', '--read-file=/shared/note', '--stat=/own', '---',
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /stat:\/shared=dir 770/);
    assert.match(r.stdout, /<<<from-writer>>>/, 'both apps mount the pod-wide volume');
    assert.match(r.stdout, /stat:\/own=dir 755/);
    const uuid = uuids[uuids.length - 1];
    const st = fs.statSync(path.join(ctx.dataDir, 'pods', 'run', uuid, 'sharedVolumes', 'shared'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1000, 100, 0o770]);
    const pm = JSON.parse(ctx.ok(['cat-manifest', uuid]));
    assert.deepEqual(pm.apps.map((a: { mounts: unknown[] }) => a.mounts.length), [1, 2]);
    assertNothingLeft(ctx, uuids);
  });

  it("image mount points: the volume of the same name, else an implicit empty one with rkt's warning; Docker images seed it", () => {
    const r = run([`--volume=given,kind=host,source=${host}`, withMountPoints, '--exec=/inspect', '--', '--read-file=/given/existing', '--stat=/implicit']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /<<<host-content>>>/);
    assert.match(r.stdout, /stat:\/implicit=dir 755/);
    assert.match(
      r.stderr,
      /warning: no volume specified for mount point "implicit", implicitly creating an "empty" volume\. This volume will be removed when the pod is garbage-collected\./,
    );
    const d = run([docker, '--exec=/inspect', '--', '--read-file=/var/data/seed', '--write-file=/var/data/new:x']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /<<<from-the-image>>>/);
    const vol = path.join(ctx.dataDir, 'pods', 'run', uuids[uuids.length - 1], 'sharedVolumes', 'docker-vol');
    const st = fs.statSync(vol);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1000, 100, 0o750], "the image's owner and mode");
    assert.equal(fs.readFileSync(path.join(vol, 'new'), 'utf8'), 'x', 'the app wrote into the volume');
    assertNothingLeft(ctx, uuids);
  });

  it('targets through absolute and relative symlinks and `..` stay inside the app root', () => {
    for (const t of ['/tmp/inside-target', '/tmp/rel-target']) assert.ok(!fs.existsSync(t));
    const r = run([
      `--volume=data,kind=host,source=${host}`,
      image,
      '--mount=volume=data,target=/abs-link',
      '--mount=volume=data,target=/rel-link/deeper',
      '--mount=volume=data,target=/a/b/../../dotdot',
      '--exec=/inspect', '--',
      '--read-file=/tmp/inside-target/existing',
      '--read-file=/tmp/rel-target/deeper/existing',
      '--read-file=/dotdot/existing',
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.stdout.match(/<<<host-content>>>/g)?.length, 3, r.stdout);
    for (const t of ['/tmp/inside-target', '/tmp/rel-target']) assert.ok(!fs.existsSync(t), `${t} not created on the host`);
    assertNothingLeft(ctx, uuids);
  });

  it('--readonly-rootfs: the root is read-only, volumes and /tmp keep their own mode', () => {
    const r = run(['--volume=scratch,kind=empty', image, '--readonly-rootfs', '--mount=volume=scratch,target=/scratch', '--exec=/inspect', '--', '--write-file=/scratch/ok:y', '--write-file=/not-here:x']);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stdout, /cannot write \/scratch/);
    assert.match(r.stdout, /cannot write \/not-here: Read-only file system/);
    assertNothingLeft(ctx, uuids);
  });

  it("bad volumes and mounts: rkt's errors, exit 254, no pod made", () => {
    const before = podDirs(ctx);
    const cases: [string[], RegExp][] = [
      [[`--volume=data,kind=host,source=${ctx.path('does-not-exist')}`, image, '--mount=volume=data,target=/data'], /volume "data": host source .*does-not-exist does not exist/],
      [[`--volume=data,kind=host,source=${host}`, image, '--mount=volume=nope,target=/data'], /could not find volume nope/],
      [[`--volume=data,kind=host,source=${host}`, image, '--mount=volume=data,target=/../../etc'], /mount target "\/\.\.\/\.\.\/etc" escapes the app's root filesystem/],
      [[`--volume=data,kind=host,source=${host}`, image, '--mount=volume=data,target=relative'], /mount target "relative" must be an absolute path/],
      [[`--volume=data,kind=host,source=${host}`, image, '--mount=volume=data,path=/x'], /unknown mount parameter "path"/],
      [[`--volume=data,kind=host,source=${host}`, `--volume=data,kind=empty`, image], /duplicate volume name "data"/],
      [[`--volume=data,kind=nfs,source=${host}`, image], /volume/],
      [[`--pod-manifest=${ctx.path('pm.json')}`, '--mount=volume=data,target=/x'], /conflicting flags set with --pod-manifest \(see --help\)/],
    ];
    fs.writeFileSync(ctx.path('pm.json'), '{}');
    for (const [args, re] of cases) {
      const r = ctx.run(['--insecure-options=image', 'run', ...args, ...(args.some((a) => a.startsWith('--pod-manifest')) ? [] : ['--exec=/inspect'])]);
      assert.equal(r.code, 254, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    assert.deepEqual(podDirs(ctx), before, 'nothing changed');
    assertNothingLeft(ctx, uuids);
  });
});
