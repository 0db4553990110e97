/**
 * Hostile and broken images: each gives one line on stderr, exit 254, and leaves no blob, no index
 * row and no temp file. Also crash safety (kill -9 mid-import) and concurrent imports.
 */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { aciEntries, manifestFor, tarBuffer, writeAci, type TarEntry } from '../../scripts/fixtures/aci';
import { keyOf, RktContext } from './harness';

function assertNothingStored(ctx: RktContext) {
  assert.deepEqual(ctx.files('cas/blob'), [], 'no blob');
  assert.deepEqual(ctx.files('cas/imageManifest'), [], 'no manifest copy');
  assert.deepEqual(ctx.files('cas/tmp'), [], 'no temp file');
  assert.equal(ctx.ok(['image', 'list', '--no-legend']).trim(), '', 'no index row');
}

function expectRefused(ctx: RktContext, file: string, re: RegExp) {
  const r = ctx.run(['fetch', '--insecure-options=image', file]);
  assert.equal(r.code, 254, `exit code; stdout=${r.stdout} stderr=${r.stderr}`);
  // rkt's warning for --insecure-options=image comes first; then exactly one error line.
  const all = r.stderr.trim().split('\n');
  assert.equal(all[0], WARNING);
  const lines = all.slice(1);
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], /^fetch: /);
  assert.match(lines[0], re);
  assert.equal(r.stdout, '');
  assertNothingStored(ctx);
}

const WARNING = 'image: warning: image signature verification has been disabled';
const good = manifestFor('example.com/bad', { version: '1' });

describe('broken archives and manifests', () => {
  const ctx = new RktContext();
  after(() => ctx.cleanup());

  it('an empty file', () => {
    fs.writeFileSync(ctx.path('empty.aci'), '');
    expectRefused(ctx, ctx.path('empty.aci'), /empty/);
  });

  it('a text file', () => {
    fs.writeFileSync(ctx.path('text.aci'), 'hello, I am not an image\n');
    expectRefused(ctx, ctx.path('text.aci'), /unknown image filetype|not an image/);
  });

  it('random bytes', () => {
    fs.writeFileSync(ctx.path('rand.aci'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    expectRefused(ctx, ctx.path('rand.aci'), /unknown image filetype/);
  });

  it('a corrupt gzip stream', async () => {
    const gz = zlib.gzipSync(await tarBuffer(aciEntries(good, [{ name: 'f', data: 'x'.repeat(100000) }])));
    for (let i = 100; i < 200; i++) gz[i] ^= 0xff;
    fs.writeFileSync(ctx.path('corrupt.aci'), gz);
    expectRefused(ctx, ctx.path('corrupt.aci'), /gzip/i);
  });

  it('a truncated gzip stream', async () => {
    const gz = zlib.gzipSync(await tarBuffer(aciEntries(good, [{ name: 'f', data: Buffer.alloc(200000, 7) }])));
    fs.writeFileSync(ctx.path('trunc.aci'), gz.subarray(0, gz.length - 40));
    expectRefused(ctx, ctx.path('trunc.aci'), /truncated|unexpected end|corrupt/i);
  });

  it('a truncated tar', async () => {
    const tar = await tarBuffer(aciEntries(good, [{ name: 'f', data: Buffer.alloc(200000, 7) }]));
    fs.writeFileSync(ctx.path('trunc-tar.aci'), tar.subarray(0, 100_000));
    expectRefused(ctx, ctx.path('trunc-tar.aci'), /truncated/);
  });

  it('a missing manifest', async () => {
    await writeAci(ctx.path('nomanifest.aci'), [{ name: 'rootfs', type: 'directory' }, { name: 'rootfs/a', data: 'a' }]);
    expectRefused(ctx, ctx.path('nomanifest.aci'), /manifest/);
  });

  it('a missing rootfs', async () => {
    await writeAci(ctx.path('norootfs.aci'), [{ name: 'manifest', data: JSON.stringify(good) }]);
    expectRefused(ctx, ctx.path('norootfs.aci'), /rootfs/);
  });

  it('an invalid manifest names the field', async () => {
    await writeAci(ctx.path('badname.aci'), aciEntries({ ...good, name: 'Not Valid' }, []));
    expectRefused(ctx, ctx.path('badname.aci'), /name/);
    await writeAci(ctx.path('nouser.aci'), aciEntries({ ...good, app: { exec: ['/x'], group: '0' } }, []));
    expectRefused(ctx, ctx.path('nouser.aci'), /user/);
    await writeAci(ctx.path('notjson.aci'), aciEntries('{not json', []));
    expectRefused(ctx, ctx.path('notjson.aci'), /manifest/);
  });

  it('duplicate entries and stray top-level files', async () => {
    await writeAci(ctx.path('dup.aci'), aciEntries(good, [{ name: 'a', data: '1' }, { name: 'a', data: '2' }]));
    expectRefused(ctx, ctx.path('dup.aci'), /duplicate/);
    await writeAci(ctx.path('stray.aci'), [...aciEntries(good, []), { name: 'etc/passwd', data: 'x' }]);
    expectRefused(ctx, ctx.path('stray.aci'), /unrecognized file path/);
  });

  it('a missing file, a directory and an unreadable path', () => {
    const r = ctx.run(['fetch', '--insecure-options=image', ctx.path('nope.aci')]);
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim().split('\n')[1], /^fetch: .*nope\.aci/);
    fs.mkdirSync(ctx.path('dir.aci'));
    const d = ctx.run(['fetch', '--insecure-options=image', ctx.path('dir.aci')]);
    assert.equal(d.code, 254);
    assert.match(d.stderr.trim().split('\n')[1], /not a regular file/);
    assertNothingStored(ctx);
  });
});

describe('tar entries never land outside the image root', () => {
  const ctx = new RktContext();
  after(() => ctx.cleanup());
  const outside = ctx.path('outside');

  const cases: [string, TarEntry[], RegExp][] = [
    ['a .. component', [{ name: '../../../outside/x', data: 'pwned' }], /escapes|unsafe|\.\./],
    ['an absolute hardlink target', [{ name: 'l', type: 'link', linkname: '/etc/passwd' }], /escapes|unsafe|absolute|link/],
    ['a hardlink with ..', [{ name: 'l', type: 'link', linkname: 'rootfs/../../etc/passwd' }], /escapes|unsafe|\.\./],
    ['a symlink planted then written through', [{ name: 'evil', type: 'symlink', linkname: outside }, { name: 'evil/x', data: 'pwned' }], /symlink|escapes|unsafe/],
    ['a relative symlink planted then written through', [{ name: 'up', type: 'symlink', linkname: '../../../../../../..' }, { name: 'up/tmp/x', data: 'pwned' }], /symlink|escapes|unsafe/],
  ];
  for (const [what, rootfs, re] of cases) {
    it(`refuses ${what}`, async () => {
      fs.mkdirSync(outside, { recursive: true });
      await writeAci(ctx.path('evil.aci'), aciEntries(good, rootfs));
      expectRefused(ctx, ctx.path('evil.aci'), re);
      assert.deepEqual(fs.readdirSync(outside), []);
    });
  }

  it('refuses an absolute entry name', async () => {
    await writeAci(ctx.path('abs.aci'), [...aciEntries(good, []), { name: '/rootfs/x', data: 'x' }]);
    expectRefused(ctx, ctx.path('abs.aci'), /absolute|escapes|unrecognized|unsafe/);
  });

  it('keeps setuid bits exactly as the image says and skips device nodes', async () => {
    const tar = await writeAci(
      ctx.path('modes.aci'),
      aciEntries(good, [
        { name: 'suid', data: 'x', mode: 0o4755 },
        { name: 'plain', data: 'x', mode: 0o755 },
        { name: 'sgid-dir', type: 'directory', mode: 0o2775 },
        { name: 'null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
        { name: 'sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 },
        { name: 'owned', data: 'x', mode: 0o640, uid: 1234, gid: 5678 },
      ]),
    );
    ctx.ok(['fetch', '--insecure-options=image', ctx.path('modes.aci')]);
    const dir = ctx.path('modes-out');
    ctx.ok(['image', 'extract', '--rootfs-only', keyOf(tar), dir]);
    assert.equal(fs.statSync(path.join(dir, 'suid')).mode & 0o7777, 0o4755);
    assert.equal(fs.statSync(path.join(dir, 'plain')).mode & 0o7777, 0o755);
    assert.equal(fs.statSync(path.join(dir, 'sgid-dir')).mode & 0o7777, 0o2775);
    assert.ok(!fs.existsSync(path.join(dir, 'null')));
    assert.ok(!fs.existsSync(path.join(dir, 'sda')));
    const st = fs.statSync(path.join(dir, 'owned'));
    assert.equal(st.uid, 1234);
    assert.equal(st.gid, 5678);
    ctx.ok(['image', 'rm', keyOf(tar)]);
  });
});

describe('crash safety and concurrency', () => {
  const ctx = new RktContext();
  after(() => ctx.cleanup());

  it('ten concurrent imports of the same image give one blob and one row', async () => {
    const tar = await writeAci(ctx.path('same.aci'), aciEntries(good, [{ name: 'big', data: Buffer.alloc(4 << 20, 3) }]));
    const runs = Array.from({ length: 10 }, () => ctx.spawn(['fetch', '--insecure-options=image', '--full', ctx.path('same.aci')]));
    const outs = await Promise.all(
      runs.map(
        (p) =>
          new Promise<{ code: number; out: string; err: string }>((resolve) => {
            let out = '';
            let err = '';
            p.stdout.on('data', (d) => (out += d));
            p.stderr.on('data', (d) => (err += d));
            p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
          }),
      ),
    );
    for (const o of outs) {
      assert.equal(o.code, 0, o.err);
      assert.equal(o.out.trim(), keyOf(tar));
    }
    const key = keyOf(tar);
    assert.deepEqual(ctx.files('cas/blob'), [`sha512/${key.slice(7, 9)}/${key}`]);
    assert.equal(ctx.ok(['image', 'list', '--no-legend']).trim().split('\n').length, 1);
    assert.deepEqual(ctx.files('cas/tmp'), []);
  });

  it('kill -9 during an import leaves a store the next command and gc handle', async () => {
    // ~96 MiB of poorly compressible data so the import is still running when killed.
    const rnd = Buffer.alloc(96 << 20);
    let x = 12345;
    for (let i = 0; i < rnd.length; i += 4) {
      x = (x * 1103515245 + 12345) >>> 0;
      rnd.writeUInt32LE(x, i);
    }
    await writeAci(ctx.path('huge.aci'), aciEntries(manifestFor('example.com/huge', { version: '1' }), [{ name: 'blob', data: rnd }]), 'none');
    // Killed at two points of the import, found by watching its temp file in cas/tmp (a fixed
    // delay missed the import on a fast machine): as soon as it appears, and once half is written.
    const tmpBytes = (): number => {
      let n = -1;
      for (const f of ctx.files('cas/tmp')) {
        try {
          n = Math.max(n, fs.statSync(path.join(ctx.dataDir, 'cas', 'tmp', f)).size);
        } catch {
          /* renamed or removed meanwhile */
        }
      }
      return n;
    };
    const killedAt: number[] = [];
    for (const atLeast of [0, rnd.length / 2]) {
      const p = ctx.spawn(['fetch', '--insecure-options=image', ctx.path('huge.aci')]);
      let exited = false;
      const closed = new Promise<void>((r) => p.on('close', () => ((exited = true), r())));
      let seen = -1;
      const deadline = Date.now() + 60_000;
      while (!exited && Date.now() < deadline && (seen = tmpBytes()) < atLeast) await new Promise((r) => setTimeout(r, 2));
      assert.ok(!exited, `the import ended before its temp file held ${atLeast} bytes (last seen ${seen})`);
      p.kill('SIGKILL');
      await closed;
      killedAt.push(seen);
    }
    // Whatever the kill left (temp files), the next commands work and gc sweeps it.
    assert.doesNotMatch(ctx.ok(['image', 'list', '--no-legend']), /example\.com\/huge.*\n.*example\.com\/huge/);
    ctx.ok(['image', 'gc']);
    assert.deepEqual(ctx.files('cas/tmp'), []);
    for (const f of ctx.files('cas/blob')) {
      // any blob left must be complete and indexed
      const key = path.basename(f);
      assert.match(ctx.ok(['image', 'list', '--full', '--no-legend']), new RegExp(key));
    }
    const out = ctx.ok(['fetch', '--insecure-options=image', '--full', ctx.path('same.aci')]);
    assert.match(out, /^sha512-[0-9a-f]{64}\n$/);
    assert.equal(killedAt.length, 2);
  });
});

describe('directories that cannot be made', () => {
  const ctx = new RktContext('rkt-baddir-');
  after(() => ctx.cleanup());

  // procfs refuses a new directory with ENOENT under an existing parent, where Node's recursive
  // mkdirSync retries for ever: each command must fail at once, with one line naming the path.
  it('a data dir, an output dir and a config dir under /proc fail at once with one line', async () => {
    const aci = ctx.path('ok.aci');
    await writeAci(aci, aciEntries(good, [{ name: 'rootfs', type: 'directory' }]));
    ctx.ok(['fetch', '--insecure-options=image', aci]);
    const bad = `/proc/rkt-test-${process.pid}`;
    const at = (args: string[]) => ctx.run(args, { timeout: 20_000 });
    const cases: [string[], RegExp][] = [
      [[`--dir=${bad}`, 'fetch', '--insecure-options=image', aci], new RegExp(`cannot create the data directory ${bad}: cannot create ${bad}/cas`)],
      [[`--dir=${bad}`, 'image', 'list'], new RegExp(`cannot create the data directory ${bad}`)],
      [[`--dir=${bad}`, 'gc'], new RegExp(`cannot create ${bad}/pods/`)],
      [['image', 'extract', 'example.com/bad:1', `${bad}/out`], new RegExp(`cannot create ${bad}/out`)],
    ];
    for (const [args, want] of cases) {
      const r = at(args);
      assert.equal(r.code, 254, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l && l !== WARNING);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], want);
    }
  });
});
