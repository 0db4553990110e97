/**
 * Seccomp in real pods (rkt's tests/rkt_seccomp_test.go): the default filter (rkt's default
 * blocklist: a blocked call kills the app with SIGSYS), retain and remove sets from the image and
 * from --seccomp with an errno, and --insecure-options=seccomp turning the filter off.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { RktContext } from './harness';
import { assertNothingLeft, kv, podDirs } from './pod-util';

const inspect = fs.readFileSync(inspectBinaryPath());
const ENOTSUP = 95;
const ENOSYS = 38;
const ENOENT = 2;

describe('seccomp', () => {
  const ctx = new RktContext('rkt-seccomp-');
  let image: string;
  let retain: string;
  const uuids: string[] = [];
  before(async () => {
    image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), exampleRootfs(inspect)));
    const m = manifestFor('example.com/retain', { version: '0.1.0' });
    (m.app as Record<string, unknown>).isolators = [{ name: 'os/linux/seccomp-retain-set', value: { set: ['@rkt/default-whitelist'], errno: 'ENOSYS' } }];
    retain = ctx.path('retain.aci');
    await writeAci(retain, aciEntries(m, exampleRootfs(inspect)));
  });
  after(() => ctx.cleanup());

  const run = (args: string[], global: string[] = []) => {
    const f = ctx.path(`u-${uuids.length}`);
    const r = ctx.run(['--insecure-options=image', ...global, 'run', `--uuid-file-save=${f}`, ...args]);
    if (fs.existsSync(f)) uuids.push(fs.readFileSync(f, 'utf8'));
    return r;
  };

  it('the default filter kills an app calling a blocked syscall with SIGSYS', () => {
    const r = run([image, '--exec=/inspect', '--', '--status=Seccomp', '--try-syscall=getcwd', '--try-syscall=umount2', '--print-msg=not-reached']);
    assert.equal(r.code, 128 + 31, r.stderr);
    const out = kv(r.stdout);
    assert.equal(out.get('status:Seccomp'), '2', 'filter mode');
    assert.equal(out.get('try:getcwd'), 'ok');
    assert.doesNotMatch(r.stdout, /not-reached|try:umount2/);
    assert.equal(kv(ctx.ok(['status', uuids[uuids.length - 1]])).get('app-inspect'), String(128 + 31));
    assertNothingLeft(ctx, uuids);
  });

  it('--seccomp replaces the filter: a remove set with an errno', () => {
    const r = run([image, '--seccomp', 'mode=remove,errno=ENOTSUP,getcwd,uname', '--exec=/inspect', '--', '--try-syscall=getcwd', '--try-syscall=uname', '--try-syscall=umount2', '--try-syscall=getppid']);
    assert.equal(r.code, 0, r.stderr);
    const out = kv(r.stdout);
    assert.equal(out.get('try:getcwd'), `errno ${ENOTSUP}`);
    assert.equal(out.get('try:uname'), `errno ${ENOTSUP}`);
    assert.equal(out.get('try:umount2'), `errno ${ENOENT}`, 'not in the set: the kernel looks the path up');
    assert.equal(out.get('try:getppid'), 'ok');
    const pm = JSON.parse(ctx.ok(['cat-manifest', uuids[uuids.length - 1]]));
    assert.deepEqual(
      pm.apps[0].app.isolators.filter((i: { name: string }) => i.name.startsWith('os/linux/seccomp')),
      [{ name: 'os/linux/seccomp-remove-set', value: { set: ['getcwd', 'uname'], errno: 'ENOTSUP' } }],
    );
    assertNothingLeft(ctx, uuids);
  });

  it("an image's retain set: only its syscalls pass, the others fail with its errno", () => {
    const r = run([retain, '--exec=/inspect', '--', '--try-syscall=getcwd', '--try-syscall=unshare', '--try-syscall=umount2']);
    assert.equal(r.code, 0, r.stderr);
    const out = kv(r.stdout);
    assert.equal(out.get('try:getcwd'), 'ok');
    assert.equal(out.get('try:unshare'), `errno ${ENOSYS}`);
    assert.equal(out.get('try:umount2'), `errno ${ENOSYS}`);
    assertNothingLeft(ctx, uuids);
  });

  it('--insecure-options=seccomp disables it', () => {
    const r = run([image, '--exec=/inspect', '--', '--status=Seccomp', '--try-syscall=umount2'], ['--insecure-options=image,seccomp']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(kv(r.stdout).get('status:Seccomp'), '0');
    assert.equal(kv(r.stdout).get('try:umount2'), `errno ${ENOENT}`);
    assertNothingLeft(ctx, uuids);
  });

  it('refuses a malformed --seccomp before any pod exists', () => {
    const before = podDirs(ctx);
    for (const v of ['mode=bogus,getcwd', 'getcwd', 'mode=remove', 'mode=remove,errno=nope,getcwd']) {
      const r = ctx.run(['--insecure-options=image', 'run', image, '--seccomp', v, '--exec=/inspect']);
      assert.equal(r.code, 254, v);
      assert.match(r.stderr, /invalid argument ".*" for "--seccomp" flag/);
    }
    assert.deepEqual(podDirs(ctx), before);
  });
});
