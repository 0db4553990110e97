/**
 * The package as users get it: `npm pack`, then `npm install -g` of the tarball with --offline into
 * a scratch prefix, then `rkt` from another directory, addon and SQLite included.
 */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO } from './harness';
import { aciEntries, manifestFor, writeAci } from '../../scripts/fixtures/aci';

describe('npm pack + npm install -g (offline)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-pack-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('installs a working rkt with the addon inside', async () => {
    const pack = spawnSync('npm', ['pack', '--pack-destination', tmp], { cwd: REPO, encoding: 'utf8' });
    assert.equal(pack.status, 0, pack.stderr);
    const tgz = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, 'tarball written');
    const list = spawnSync('tar', ['-tzf', path.join(tmp, tgz)], { encoding: 'utf8' }).stdout;
    assert.match(list, /package\/native\/rkt\.linux-x64-gnu\.node/);
    assert.match(list, /package\/bin\/rkt/);
    assert.doesNotMatch(list, /package\/dist\/__test__/);

    const prefix = path.join(tmp, 'prefix');
    const inst = spawnSync('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, path.join(tmp, tgz)], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    assert.equal(inst.status, 0, inst.stderr);
    const rkt = path.join(prefix, 'bin', 'rkt');
    const v = spawnSync(rkt, ['version'], { cwd: '/', encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^rkt Version: \d+\.\d+\.\d+\nappc Version: 0\.8\.11\n/);

    // The installed copy does real work: import and list with its own addon and sqlite3.
    await writeAci(path.join(tmp, 'x.aci'), aciEntries(manifestFor('example.com/packed', { version: '1' }), [{ name: 'f', data: 'packed' }]));
    const dir = path.join(tmp, 'data');
    const f = spawnSync(rkt, [`--dir=${dir}`, '--insecure-options=image', 'fetch', path.join(tmp, 'x.aci')], { cwd: '/', encoding: 'utf8' });
    assert.equal(f.status, 0, f.stderr);
    const l = spawnSync(rkt, [`--dir=${dir}`, 'image', 'list', '--no-legend'], { cwd: '/', encoding: 'utf8' });
    assert.match(l.stdout, /example\.com\/packed:1/);

    // Start-up caches (bin/rkt, src/cli/parser-cache.ts) live in the installed dist/: a command that
    // succeeded leaves its code cache and parser; one that failed leaves no code cache (its run may
    // have compiled only its error path); one whose cache is stale rewrites it.
    const dist = path.join(prefix, 'lib', 'node_modules', JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).name, 'dist');
    // the package may hold a code cache of image list (from the tests that ran before npm pack);
    // without one, the first run compiled the parser and left the code cache to the next
    assert.match(spawnSync(rkt, [`--dir=${dir}`, 'image', 'list', '--no-legend'], { cwd: '/', encoding: 'utf8' }).stdout, /example\.com\/packed:1/);
    assert.ok(fs.existsSync(path.join(dist, 'rkt.js.image-list.cache')), 'code cache of image list');
    assert.ok(fs.existsSync(path.join(dist, 'parser-cache', 'image-list.parser')), 'parser cache of image list');
    const bad = spawnSync(rkt, [`--dir=${dir}`, 'cat-manifest', 'no-such-pod'], { cwd: '/', encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.ok(!fs.existsSync(path.join(dist, 'rkt.js.cat-manifest.cache')), 'no code cache after a failure');
    assert.ok(fs.readdirSync(dist).every((n) => !/\.cache\.\d+$/.test(n)), 'no temp file left');
    const cache = path.join(dist, 'rkt.js.image-list.cache');
    fs.writeFileSync(cache, Buffer.from('not a V8 code cache'));
    const again = spawnSync(rkt, [`--dir=${dir}`, 'image', 'list', '--no-legend'], { cwd: '/', encoding: 'utf8' });
    assert.match(again.stdout, /example\.com\/packed:1/, 'a broken cache is only slower');
    assert.ok(fs.statSync(cache).size > 1000, 'and is rewritten');
  });
});
