/**
 * Installed copies of the package. A broken install: the package without its compiled addon (a
 * wrong-arch or failed prebuilt). bin/rkt maps its bundle through the addon; without it the bundle
 * is read as a file, so commands that never need the addon still run, and the others fail with one
 * line naming the addon. And the per-command code caches bin/rkt writes next to the bundle.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, RktContext } from './harness';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';

/**
 * The package copied to `pkg` without its code caches, with the repository's addon or an empty
 * native/; its bin/rkt.
 */
function installCopy(pkg: string, withAddon: boolean): string {
  // timestamps kept: bin/rkt runs the bundle only while it is as new as the compiled modules
  for (const d of ['bin', 'dist', 'package.json']) fs.cpSync(path.join(REPO, d), path.join(pkg, d), { recursive: true, preserveTimestamps: true });
  for (const f of fs.readdirSync(path.join(pkg, 'dist'))) if (f.endsWith('.cache')) fs.rmSync(path.join(pkg, 'dist', f));
  if (withAddon) fs.symlinkSync(path.join(REPO, 'native'), path.join(pkg, 'native'));
  else fs.mkdirSync(path.join(pkg, 'native'));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(pkg, 'node_modules'));
  return path.join(pkg, 'bin', 'rkt');
}

describe('an install without the native addon', () => {
  let ctx: RktContext;
  let rkt: string;
  before(() => {
    ctx = new RktContext('rkt-e2e-install-');
    rkt = installCopy(ctx.path('pkg'), false);
  });
  after(() => ctx.cleanup());

  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [rkt, ...ctx.globalArgs(), ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('runs a command that needs no addon from the bundle, read as a file', () => {
    for (let i = 0; i < 2; i++) {
      // the second run compiles with the code cache the first one wrote
      const r = run('version');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^rkt Version: /m);
      assert.equal(r.stderr, '');
    }
    assert.ok(fs.existsSync(path.join(path.dirname(rkt), '..', 'dist', 'rkt.js.version.cache')), 'the bundle ran (it writes its code cache)');
  });

  it('fails a command that needs the addon with one line naming it', () => {
    const r = run('image', 'list');
    assert.equal(r.code, 254, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /cannot load the native addon .*rkt\.linux-[a-z0-9]+-gnu\.node/);
  });
});

describe("bin/rkt's code caches", () => {
  let ctx: RktContext;
  let rkt: string;
  let dist: string;
  before(() => {
    ctx = new RktContext('rkt-e2e-caches-');
    rkt = installCopy(ctx.path('pkg'), true);
    dist = path.join(ctx.path('pkg'), 'dist');
  });
  after(() => ctx.cleanup());

  const caches = () => fs.readdirSync(dist).filter((f) => f.endsWith('.cache')).sort();

  it('a run that compiled the parser cache leaves the code cache to the next run', () => {
    fs.rmSync(path.join(dist, 'parser-cache'), { recursive: true, force: true });
    const version = () => spawnSync(process.execPath, [rkt, 'version'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(version().status, 0);
    assert.ok(fs.existsSync(path.join(dist, 'parser-cache', 'version.parser')), 'the parser cache was written');
    assert.ok(!caches().includes('rkt.js.version.cache'), 'but no code cache: that run compiled the parser');
    assert.equal(version().status, 0);
    assert.ok(caches().includes('rkt.js.version.cache'), 'the next run, which read the parser cache, wrote it');
    for (const f of caches()) fs.rmSync(path.join(dist, f));
  });

  it("a run that adds its image to the store leaves run's code cache to the next run", async () => {
    const image = ctx.path('inspect.aci');
    const inspect = fs.readFileSync(inspectBinaryPath());
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0', exec: ['/inspect', '--print-msg=hi'] }), exampleRootfs(inspect)));
    const run = () => spawnSync(process.execPath, [rkt, ...ctx.globalArgs(), '--insecure-options=image', 'run', image], { encoding: 'utf8', timeout: 120_000 });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.ok(!caches().some((f) => f.startsWith('rkt.js.run')), 'the first run imported stage1 and the image: no cache');
    const second = run(); // the file is imported again, but the store had it: a run as every later one
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /hi/);
    assert.deepEqual(caches().filter((f) => f.startsWith('rkt.js.run')), ['rkt.js.run+file.cache'], 'the second run wrote the cache of runs of a file');
    // a run by name goes another way (a store lookup, no file to hash): a cache of its own
    const byName = spawnSync(process.execPath, [rkt, ...ctx.globalArgs(), 'run', 'example.com/inspect:0.1.0'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(byName.status, 0, byName.stderr);
    assert.match(byName.stdout, /hi/);
    assert.deepEqual(caches().filter((f) => f.startsWith('rkt.js.run')), ['rkt.js.run+file.cache', 'rkt.js.run.cache']);
    // stage1 is in the store now: adding the app's image alone is one-time work too
    for (const f of caches()) fs.rmSync(path.join(dist, f));
    const other = ctx.path('other.aci');
    await writeAci(other, aciEntries(manifestFor('example.com/other', { version: '1', exec: ['/inspect', '--print-msg=other'] }), exampleRootfs(inspect)));
    const third = spawnSync(process.execPath, [rkt, ...ctx.globalArgs(), '--insecure-options=image', 'run', other], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(third.status, 0, third.stderr);
    assert.ok(!caches().some((f) => f.startsWith('rkt.js.run')), 'a run that added its image wrote no cache');
    for (const f of caches()) fs.rmSync(path.join(dist, f));
  });

  it("help keeps a cache of its own: it never stands in for the command's", () => {
    for (const args of [['run', '--help'], ['image', 'list', '-h'], ['help', 'run']]) {
      const r = spawnSync(process.execPath, [rkt, ...ctx.globalArgs(), ...args], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Usage|USAGE|rkt /);
    }
    assert.deepEqual(caches(), ['rkt.js.help.cache'], 'only the help cache was written');
    const r = spawnSync(process.execPath, [rkt, ...ctx.globalArgs(), 'version'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(caches(), ['rkt.js.help.cache', 'rkt.js.version.cache']);
  });
});
