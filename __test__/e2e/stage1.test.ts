/**
 * Choosing the stage1 image as rkt does (§7.4): the shipped file first, then the store by
 * name:version; --stage1-path/-name/-hash/-from-dir; stage1.d config; and their errors.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { REPO, RktContext } from './harness';

const SHIPPED = path.join(REPO, 'native', 'stage1-native.aci');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = fs.readFileSync(path.join(REPO, 'native', 'stage1-native.version'), 'utf8').trim();
const NAME = 'coreos.com/rkt/stage1-native';

describe('stage1 selection', () => {
  const ctx = new RktContext('rkt-stage1-');
  let image: string;
  before(async () => {
    image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(manifestFor('example.com/inspect', { version: '0.1.0' }), exampleRootfs(fs.readFileSync(inspectBinaryPath()))));
    ctx.ok(['fetch', '--insecure-options=image', image]);
  });
  after(() => ctx.cleanup());

  const run = (flags: string[], global: string[] = []) => ctx.run(['--insecure-options=image', '--debug', ...global, 'run', ...flags, image, '--exec=/inspect', '--', '--print-msg=ran']);

  it('loads the shipped stage1 file first, then from the store by name and version', () => {
    const first = run([]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`^image: using image from file ${SHIPPED.replace(/[.]/g, '\\.')}$`, 'm'));
    const second = run([]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(VERSION, new RegExp(`^${require(path.join(REPO, 'package.json')).version.replace(/[.]/g, '\\.')}\\+[0-9a-f]{12}$`), 'the package version plus a build hash');
    assert.match(second.stderr, new RegExp(`^image: using image from local store for image name ${NAME}:${VERSION.replace(/[.+]/g, '\\$&')}$`, 'm'));
    assert.match(second.stdout, /ran/);
  });

  it("checks stage1's tree before every pod: by its lstat signature while untouched, rebuilt after any change", () => {
    const first = run([]);
    assert.equal(first.code, 0, first.stderr);
    const podDir = (uuid: string) => ['run', 'exited-garbage', 'garbage'].map((d) => ctx.path('data', 'pods', d, uuid)).find((p) => fs.existsSync(p));
    const lastTree = (): string => {
      const uuid = ctx.ok(['list', '--no-legend', '--full']).split('\n').filter(Boolean).pop()!.split('\t')[0];
      const dir = podDir(uuid);
      assert.ok(dir, `pod ${uuid} on disk`);
      return ctx.path('data', 'cas', 'tree', fs.readFileSync(path.join(dir, 'stage1TreeStoreID'), 'utf8'));
    };
    const tree = lastTree();
    const sig = fs.readFileSync(path.join(tree, 'stat'), 'utf8');
    assert.match(sig, /^statsig-[0-9a-f]{64}$/, 'recorded after the full check passed');

    const quiet = run([]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /bad state/);
    assert.equal(fs.readFileSync(path.join(tree, 'stat'), 'utf8'), sig, 'an untouched tree keeps its signature');

    // a byte appended to the stage1 binary (what an editor or a bad copy would do)
    const init = path.join(tree, 'rootfs', 'init');
    const good = fs.readFileSync(init);
    fs.appendFileSync(init, Buffer.from([0]));
    const rebuilt = run([]);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /warning: tree cache is in a bad state: wrong tree hash: .*\. Rebuilding\.\.\./);
    assert.match(rebuilt.stdout, /ran/);
    assert.deepEqual(fs.readFileSync(init), good, 'the binary rendered again from the image');

    // a mode change alone, same content
    fs.chmodSync(path.join(tree, 'rootfs', 'init'), 0o700);
    const again = run([]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /bad state/);
    assert.notEqual(fs.statSync(init).mode & 0o777, 0o700);
    ctx.ok(['gc', '--grace-period=0s']);
  });

  it('takes --stage1-path, --stage1-name, --stage1-hash and --stage1-from-dir', () => {
    const copy = ctx.path('s1', 'my-stage1.aci');
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(SHIPPED, copy);
    const byPath = run([`--stage1-path=${copy}`]);
    assert.equal(byPath.code, 0, byPath.stderr);
    assert.match(byPath.stderr, new RegExp(`using image from file ${copy.replace(/[.]/g, '\\.')}`));
    const byName = run([`--stage1-name=${NAME}:${VERSION}`]);
    assert.equal(byName.code, 0, byName.stderr);
    const id = ctx.ok(['image', 'list', '--no-legend', '--fields=id,name']).split('\n').find((l) => l.includes(NAME))?.split('\t')[0];
    assert.ok(id);
    const byHash = run([`--stage1-hash=${id}`]);
    assert.equal(byHash.code, 0, byHash.stderr);
    fs.mkdirSync(ctx.path('system', 'paths.d'), { recursive: true });
    fs.writeFileSync(ctx.path('system', 'paths.d', 'p.json'), JSON.stringify({ rktKind: 'paths', rktVersion: 'v1', 'stage1-images': path.dirname(copy) }));
    const fromDir = run(['--stage1-from-dir=my-stage1.aci']);
    assert.equal(fromDir.code, 0, fromDir.stderr);
    assert.match(fromDir.stderr, new RegExp(`using image from file ${copy.replace(/[.]/g, '\\.')}`));
    fs.rmSync(ctx.path('system', 'paths.d'), { recursive: true });
  });

  it('fetches --stage1-url over http(s) like any image, plain http only when allowed', async () => {
    // the server runs in a child process: the test's own event loop waits in spawnSync
    const { spawn } = await import('node:child_process');
    const code = `const b=require('fs').readFileSync(${JSON.stringify(SHIPPED)});const s=require('http').createServer((q,r)=>{if(q.url!=='/stage1.aci'){r.writeHead(404).end();return}r.writeHead(200,{'content-length':b.length}).end(b)});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
    const server = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        server.stdout!.once('data', (d) => resolve(String(d).trim()));
        server.once('exit', () => reject(new Error('the test server died')));
      });
      const url = `http://127.0.0.1:${port}/stage1.aci`;
      const refused = run([`--stage1-url=${url}`]);
      assert.equal(refused.code, 254);
      assert.match(refused.stderr, /http/i);
      const r = ctx.run(['--insecure-options=image,http', '--debug', 'run', `--stage1-url=${url}`, image, '--exec=/inspect', '--', '--print-msg=ran']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`remote fetching from URL "${url.replace(/[.]/g, '\\.')}"`));
      assert.match(r.stdout, /ran/);
    } finally {
      server.kill();
    }
  });

  it('uses a stage1.d location when the configured name is not in the store', () => {
    const copy = ctx.path('s1', 'configured.aci');
    fs.copyFileSync(SHIPPED, copy);
    fs.mkdirSync(ctx.path('local', 'stage1.d'), { recursive: true });
    fs.writeFileSync(ctx.path('local', 'stage1.d', 's.json'), JSON.stringify({ rktKind: 'stage1', rktVersion: 'v1', name: 'example.com/not-there', version: '9.9', location: copy }));
    try {
      for (let i = 0; i < 2; i++) {
        const r = run([]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`using image from file ${copy.replace(/[.]/g, '\\.')}`), 'a wrong name or version always loads the file');
      }
      fs.writeFileSync(ctx.path('local', 'stage1.d', 's.json'), JSON.stringify({ rktKind: 'stage1', rktVersion: 'v1', name: 'example.com/not-there', version: '9.9', location: 'relative.aci' }));
      const rel = run([]);
      assert.equal(rel.code, 254);
      assert.match(rel.stderr, /default stage1 image location is either a relative path or a URL without scheme/);
    } finally {
      fs.rmSync(ctx.path('local', 'stage1.d'), { recursive: true });
    }
  });

  it('refuses conflicting, missing and broken stage1 images without creating a pod', async () => {
    const pods = () => fs.readdirSync(path.join(ctx.dataDir, 'pods')).flatMap((s) => fs.readdirSync(path.join(ctx.dataDir, 'pods', s)));
    const before = pods();
    const both = run([`--stage1-path=${SHIPPED}`, `--stage1-name=${NAME}`]);
    assert.equal(both.code, 254);
    assert.match(both.stderr, /flags --stage1-path and --stage1-name are mutually exclusive/);
    const missing = run(['--stage1-path=/no/such/stage1.aci']);
    assert.equal(missing.code, 254);
    assert.match(missing.stderr, /\/no\/such\/stage1\.aci/);
    const unknown = run(['--stage1-name=example.com/no-such-stage1']);
    assert.equal(unknown.code, 254);
    const noEntry = ctx.path('s1', 'no-entrypoint.aci');
    await writeAci(noEntry, aciEntries(manifestFor('example.com/not-a-stage1', { version: '1' }), exampleRootfs(fs.readFileSync(inspectBinaryPath()))));
    const bad = run([`--stage1-path=${noEntry}`]);
    assert.equal(bad.code, 254);
    assert.match(bad.stderr, /stage1 has no run entrypoint/);
    const left = pods().filter((p) => !before.includes(p));
    const gc = ctx.run(['gc', '--grace-period=0s', '--expire-prepared=0s']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(pods().filter((p) => !before.includes(p)), [], `gc collects what a failed run left: ${left.join()}`);
  });
});
