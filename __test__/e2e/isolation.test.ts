/**
 * Resource and process isolation in real pods (rkt's tests/rkt_app_isolator_test.go,
 * rkt_oom_score_adj_test.go, rkt_no_new_privs_test.go, rkt_interactive_test.go, rkt_ipcns_test.go,
 * rkt_etc_hosts_test.go, rkt_hostname_test.go, rkt_gc_nspawn_test.go): memory and CPU limits read
 * back from the app's own cgroups, oom_score_adj, no_new_privs, --interactive on a pseudo-terminal,
 * --ipc, --hosts-entry, --hostname on run-prepared, and cgroups removed when the pod ends.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { RKT, RktContext } from './harness';
import { assertNothingLeft, kv, podCgroups, podDirs, startPod, waitFor } from './pod-util';

const inspect = fs.readFileSync(inspectBinaryPath());

/** The app's cgroup directory for a v1 controller, from its `--print-cgroups` lines. */
function cgroupDir(out: string, controller: string): string {
  for (const l of out.split('\n')) {
    const m = /^cgroup:\d+:([^:]*):(.*)$/.exec(l);
    if (m && m[1].split(',').includes(controller)) return path.join('/sys/fs/cgroup', controller, m[2]);
  }
  throw new Error(`no ${controller} cgroup in ${out}`);
}

describe('isolation', () => {
  const ctx = new RktContext('rkt-iso-');
  const marker = `marker-${process.pid}-iso`;
  let image: string;
  let isolated: string;
  const uuids: string[] = [];
  before(async () => {
    image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), exampleRootfs(inspect)));
    // rkt's test image isolators: memory 25Mi, cpu limit 800m; plus oom-score-adj and no-new-privileges
    const m = manifestFor('example.com/isolated', { version: '0.1.0' });
    (m.app as Record<string, unknown>).isolators = [
      { name: 'resource/memory', value: { limit: '25Mi' } },
      { name: 'resource/cpu', value: { request: '50m', limit: '800m' } },
      { name: 'os/linux/oom-score-adj', value: 99 },
      { name: 'os/linux/no-new-privileges', value: true },
    ];
    isolated = ctx.path('isolated.aci');
    await writeAci(isolated, aciEntries(m, exampleRootfs(inspect)));
  });
  after(() => {
    for (const u of uuids) ctx.run(['stop', '--force', u]);
    ctx.cleanup();
  });

  /** Runs the pod, reads back its app's limits while it runs, stops it. */
  const limits = async (args: string[], expectCgroups = true, global: string[] = []) => {
    const pod = await startPod(ctx, [...args, '--', `--print-msg=${marker}`, '--print-cgroups', '--print-oom-score-adj', '--status=NoNewPrivs', '--sleep=60000'], global);
    uuids.push(pod.uuid);
    try {
      return await readLimits(pod, expectCgroups);
    } finally {
      ctx.run(['stop', pod.uuid]);
      await pod.exited;
      assert.deepEqual(podCgroups().filter((c) => c.endsWith(pod.uuid)), [], 'cgroups removed when the pod ended');
    }
  };
  const readLimits = async (pod: Awaited<ReturnType<typeof startPod>>, expectCgroups: boolean) => {
    await waitFor(() => pod.stdout().includes('status:NoNewPrivs='), 10_000, 'the app output');
    const out = pod.stdout();
    const read = (p: string) => fs.readFileSync(p, 'utf8').trim();
    const r: Record<string, string> = {};
    if (expectCgroups) {
      const mem = cgroupDir(out, 'memory');
      const cpu = cgroupDir(out, 'cpu');
      for (const d of [mem, cpu]) assert.ok(d.includes(`/rkt-${pod.uuid}/`), d);
      r.memory = read(path.join(mem, 'memory.limit_in_bytes'));
      r.quota = read(path.join(cpu, 'cpu.cfs_quota_us'));
      r.period = read(path.join(cpu, 'cpu.cfs_period_us'));
      r.shares = read(path.join(cpu, 'cpu.shares'));
    }
    // Every app is tracked in the unified hierarchy, limits or not.
    assert.match(out, new RegExp(`cgroup:0::/rkt-${pod.uuid}/[a-z-]+\n`));
    return { ...r, out: kv(out) };
  };

  it('applies the image isolators: memory and CPU limits, oom_score_adj, no_new_privs', async () => {
    const r = (await limits([isolated, '--exec=/inspect'])) as Record<string, string> & { out: Map<string, string> };
    assert.equal(r.memory, String(25 * 1024 * 1024));
    assert.equal(r.period, '100000');
    assert.equal(r.quota, '80000', '800 millicores');
    assert.equal(r.out.get('oom_score_adj'), '99');
    assert.equal(r.out.get('status:NoNewPrivs'), '1');
    assertNothingLeft(ctx, uuids, marker);
  });

  it('--memory, --cpu, --cpu-shares and --oom-score-adj override them', async () => {
    const r = (await limits([isolated, '--memory=42Mi', '--cpu=900m', '--cpu-shares=512', '--oom-score-adj=42', '--exec=/inspect'])) as Record<string, string> & { out: Map<string, string> };
    assert.equal(r.memory, String(42 * 1024 * 1024));
    assert.equal(r.quota, '90000');
    assert.equal(r.shares, '512');
    // (a negative value needs CAP_SYS_RESOURCE, which this machine's root lacks)
    assert.equal(r.out.get('oom_score_adj'), '42');
    // Without CAP_SYS_ADMIN the default seccomp filter implies no_new_privs (as systemd's
    // SystemCallFilter= does in rkt's stage1); with seccomp off, only the isolator sets it.
    const plain = await limits([image, '--exec=/inspect'], false);
    assert.equal(plain.out.get('oom_score_adj'), '0');
    assert.equal(plain.out.get('status:NoNewPrivs'), '1');
    const noSeccomp = await limits([image, '--exec=/inspect'], false, ['--insecure-options=image,seccomp']);
    assert.equal(noSeccomp.out.get('status:NoNewPrivs'), '0');
    assertNothingLeft(ctx, uuids, marker);
  });

  it('refuses quantities that do not parse, before any pod exists', () => {
    const before = podDirs(ctx);
    for (const [flag, re] of [
      ['--memory=lots', /memory/],
      ['--cpu=1.2.3', /cpu/],
      ['--oom-score-adj=5000', /--oom-score-adj/],
      ['--cpu-shares=many', /--cpu-shares/],
    ] as const) {
      const r = ctx.run(['--insecure-options=image', 'run', image, flag, '--exec=/inspect']);
      assert.equal(r.code, 254, `${flag}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.deepEqual(podDirs(ctx), before);
  });

  it('--interactive gives the app the caller terminal and stdin', () => {
    const cmd = [process.execPath, RKT, ...ctx.globalArgs(), '--insecure-options=image', 'run', '--interactive', image, '--exec=/inspect', '--', '--check-tty', '--read-stdin']
      .map((a) => `'${a}'`)
      .join(' ');
    // script(1) runs the command on a new pty; its stdin is our pipe, forwarded to the pty.
    const t = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000, input: 'typed-text\n\x04' });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    assert.match(t.stdout, /stdin-tty=true stdout-tty=true/);
    assert.match(t.stdout, /Received text: typed-text/);
    const notty = ctx.run(['--insecure-options=image', 'run', image, '--exec=/inspect', '--', '--check-tty']);
    assert.match(notty.stdout, /stdin-tty=false/);
    const two = ctx.run(['--insecure-options=image', 'run', '--interactive', image, '--exec=/inspect', '---', image, '--name=b', '--exec=/inspect']);
    assert.equal(two.code, 254);
    assert.match(two.stderr, /interactive option only supports one image/);
    for (const l of ctx.ok(['list', '--full', '--no-legend']).split('\n')) if (l.split('\t')[0]) uuids.push(l.split('\t')[0]);
    assertNothingLeft(ctx, uuids, marker);
  });

  it('--ipc, --hosts-entry, and --hostname on run-prepared', () => {
    const hostIpc = fs.readlinkSync('/proc/self/ns/ipc');
    const ipc = (mode?: string) => {
      const r = ctx.run(['--insecure-options=image', 'run', ...(mode ? [`--ipc=${mode}`] : []), image, '--exec=/inspect', '--', '--print-ns']);
      assert.equal(r.code, 0, r.stderr);
      return kv(r.stdout).get('ns-ipc');
    };
    assert.notEqual(ipc(), hostIpc);
    assert.notEqual(ipc('auto'), hostIpc);
    assert.notEqual(ipc('private'), hostIpc);
    assert.equal(ipc('parent'), hostIpc);
    const bad = ctx.run(['--insecure-options=image', 'run', '--ipc=shared', image]);
    assert.equal(bad.code, 254);
    assert.match(bad.stderr, /--ipc/);

    const h = ctx.run(['--insecure-options=image', 'run', '--hosts-entry=10.2.3.4=db.test', '--hosts-entry=10.2.3.5=cache.test', image, '--exec=/inspect', '--', '--read-file=/etc/hosts']);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /10\.2\.3\.4 db\.test/);
    assert.match(h.stdout, /10\.2\.3\.5 cache\.test/);

    const uuid = ctx.ok(['--insecure-options=image', 'prepare', '--quiet', image, '--exec=/inspect', '--', '--print-hostname', '--read-file=/etc/hostname']).trim();
    const rp = ctx.run(['run-prepared', '--hostname=box.example', uuid]);
    assert.equal(rp.code, 0, rp.stderr);
    assert.equal(kv(rp.stdout).get('hostname'), 'box.example');
    assert.match(rp.stdout, /<<<box\.example\n>>>/);
    for (const l of ctx.ok(['list', '--full', '--no-legend']).split('\n')) if (l.split('\t')[0]) uuids.push(l.split('\t')[0]);
    assertNothingLeft(ctx, uuids, marker);
  });

  it('--private-users: a user namespace with a random shift, owners shifted in the copy, enter joins it', async () => {
    const pod = await startPod(ctx, [
      '--private-users', '--no-overlay', '--volume=scratch,kind=empty,uid=1000,gid=100',
      image, '--mount=volume=scratch,target=/scratch', '--exec=/inspect', '--',
      `--print-msg=${marker}`, '--print-uid-map', '--print-user', '--stat-owner=/', '--stat=/', '--stat-owner=/inspect', '--stat-owner=/scratch',
      '--write-file=/tmp/written:x', '--sleep=60000',
    ]);
    uuids.push(pod.uuid);
    try {
      await waitFor(() => pod.stdout().includes('owner:/scratch='), 10_000, 'the app output');
      const podDir = path.join(ctx.dataDir, 'pods', 'run', pod.uuid);
      const [shift, count] = fs.readFileSync(path.join(podDir, 'private-users-prepared'), 'utf8').split(':').map(Number);
      assert.equal(count, 65536);
      assert.ok(shift >= 65536 && shift % 65536 === 0, `shift ${shift}`);
      const out = kv(pod.stdout());
      assert.equal(out.get('uid_map'), `0 ${shift} 65536`);
      assert.equal(out.get('gid_map'), `0 ${shift} 65536`);
      assert.equal(out.get('uid'), '0 gid=0 euid=0');
      assert.equal(out.get('owner:/'), '0:0', 'the rootfs is root-owned inside the namespace');
      assert.equal(out.get('stat:/'), 'dir 755');
      assert.equal(out.get('owner:/inspect'), '0:0');
      assert.equal(out.get('owner:/scratch'), '1000:100', 'empty volume owners as the app sees them');
      const written = fs.statSync(path.join(podDir, 'stage1', 'rootfs', 'opt', 'stage2', 'inspect', 'rootfs', 'tmp', 'written'));
      assert.deepEqual([written.uid, written.gid], [shift, shift], "the pod's root is the shifted uid on the host");
      const e = ctx.run(['enter', pod.uuid, '/inspect', '--print-uid-map', '--print-user']);
      assert.equal(e.code, 0, e.stderr);
      assert.equal(kv(e.stdout).get('uid_map'), `0 ${shift} 65536`, "enter joins the pod's user namespace");
      assert.equal(kv(e.stdout).get('uid'), '0 gid=0 euid=0');
    } finally {
      ctx.run(['stop', pod.uuid]);
      await pod.exited;
    }
    const r = ctx.run(['--insecure-options=image', 'run', '--private-users', image, '--exec=/inspect', '--', '--print-uid-map']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /disabling overlay support: "--private-users needs a copy of each app tree to shift its owners"/);
    assert.doesNotMatch(kv(r.stdout).get('uid_map') ?? '', /^0 0 /);
    for (const l of ctx.ok(['list', '--full', '--no-legend']).split('\n')) if (l.split('\t')[0]) uuids.push(l.split('\t')[0]);
    assertNothingLeft(ctx, uuids, marker);
  });
});
