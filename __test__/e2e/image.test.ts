/**
 * The image store end to end: fetch of local ACIs, every `rkt image` subcommand, and the bad inputs
 * that must leave nothing behind. Real files, a real SQLite index, the real addon, run as root.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aciEntries, compress, exampleRootfs, inspectBinaryPath, manifestFor, tarBuffer, writeAci, type TarEntry } from '../../scripts/fixtures/aci';
import { keyOf, RktContext, sha512 } from './harness';
import { StoreDb } from '../../src/store/db';

const inspect = fs.readFileSync(inspectBinaryPath());

async function exampleAci(ctx: RktContext, file: string, name = 'example.com/inspect', version = '0.1.0', extra: TarEntry[] = []) {
  const tar = await writeAci(ctx.path(file), aciEntries(manifestFor(name, { version }), [...exampleRootfs(inspect), ...extra]));
  return { file: ctx.path(file), tar, key: keyOf(tar) };
}

/** One file `f` of `data` in an image fetched from a `c`-compressed ACI: its tar, source file, key and blob path. */
async function fetchedImage(ctx: RktContext, name: string, data: string, c: 'gzip' | 'bzip2') {
  const tar = await tarBuffer(aciEntries(manifestFor(`example.com/${name}`, { version: '1' }), [{ name: 'f', data }]));
  const src = ctx.path(`${name}.${c}.aci`);
  fs.writeFileSync(src, compress(tar, c));
  const key = ctx.ok(['fetch', '--insecure-options=image', '--full', src]).trim();
  return { tar, src, key, blob: ctx.path('data', 'cas', 'blob', 'sha512', key.slice(7, 9), key) };
}

function assertOneLineError(r: { code: number; stdout: string; stderr: string }, re: RegExp) {
  assert.equal(r.code, 254, `exit code, stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one stderr line, got: ${r.stderr}`);
  assert.match(lines[0], re);
}

describe('rkt fetch of local ACI files', () => {
  const ctx = new RktContext();
  after(() => ctx.cleanup());

  it('refuses an unsigned local file without --insecure-options=image and stores nothing', async () => {
    const img = await exampleAci(ctx, 'a.aci');
    const r = ctx.run(['fetch', img.file]);
    // rkt's error: the signature beside the file (a.aci.asc) is required
    assertOneLineError(r, /^fetch: error opening signature file: .*a\.aci\.asc/);
    assert.deepEqual(ctx.files('cas/blob'), []);
  });

  it('prints the 39-char ID, with the global flag before or after the subcommand', async () => {
    const img = await exampleAci(ctx, 'a.aci');
    const before = ctx.ok(['--insecure-options=image', 'fetch', img.file]).trim();
    const afterFlag = ctx.ok(['fetch', '--insecure-options=image', img.file]).trim();
    assert.equal(before, img.key.slice(0, 39));
    assert.equal(afterFlag, before);
    assert.equal(ctx.ok(['fetch', '--insecure-options', 'image', '--full', img.file]).trim(), img.key);
    assert.deepEqual(ctx.files('cas/blob'), [`sha512/${img.key.slice(7, 9)}/${img.key}`]);
  });

  it('gives the same ID for gzip, bzip2, xz and plain tar', async () => {
    const entries = aciEntries(manifestFor('example.com/comp', { version: '1' }), [{ name: 'f', data: 'x'.repeat(10000) }]);
    const tar = await tarBuffer(entries);
    const ids = new Set<string>();
    for (const c of ['gzip', 'bzip2', 'xz', 'none'] as const) {
      fs.writeFileSync(ctx.path(`c.${c}.aci`), compress(tar, c));
      ids.add(ctx.ok(['fetch', '--insecure-options=image', '--full', ctx.path(`c.${c}.aci`)]).trim());
    }
    assert.deepEqual([...ids], [keyOf(tar)]);
  });

  it('rejects an unknown --insecure-options value, naming the valid ones', () => {
    const r = ctx.run(['--insecure-options=image,bogus', 'fetch', '/nonexistent.aci']);
    assert.equal(r.code, 254);
    assert.match(r.stderr, /bogus/);
    assert.match(r.stderr, /all-fetch/);
  });
});

describe('rkt image subcommands', () => {
  const ctx = new RktContext();
  let img: { file: string; tar: Buffer; key: string };
  let other: { file: string; tar: Buffer; key: string };
  before(async () => {
    img = await exampleAci(ctx, 'inspect.aci');
    other = await exampleAci(ctx, 'other.aci', 'example.com/other', '2.0', [{ name: 'other.txt', data: 'other' }]);
    ctx.ok(['fetch', '--insecure-options=image', img.file]);
    ctx.ok(['fetch', '--insecure-options=image', other.file]);
  });
  after(() => ctx.cleanup());

  it('image list prints a tab-aligned table with rkt columns', () => {
    const out = ctx.ok(['image', 'list']);
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0], /^ID\t+NAME\t+SIZE\t+IMPORT TIME\t+LAST USED$/);
    assert.equal(lines.length, 3);
    const row = lines.find((l) => l.includes('example.com/inspect:0.1.0'));
    assert.ok(row, out);
    const cells = row.split(/\t+/);
    assert.equal(cells[0], img.key.slice(0, 19));
    assert.match(cells[2], /^\d+(\.\d)?(B|KiB|MiB)$/);
    assert.match(cells[3], /seconds? ago|now/);
  });

  it('image list --no-legend --full --fields --sort --order', () => {
    const out = ctx.ok(['image', 'list', '--no-legend', '--full', '--fields=id,name,size', '--sort=name', '--order=desc']);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(
      lines.map((l) => l.split(/\t+/)[1]),
      ['example.com/other:2.0', 'example.com/inspect:0.1.0'],
    );
    assert.equal(lines[1].split(/\t+/)[0], img.key);
    assert.match(lines[1].split(/\t+/)[2], /^\d+$/, 'raw bytes with --full');
    const bad = ctx.run(['image', 'list', '--fields=id,latest']);
    assert.equal(bad.code, 254);
    assert.match(bad.stderr, /latest/);
  });

  it('image list --format=json gives rkt ImageListEntry objects', () => {
    const list = JSON.parse(ctx.ok(['image', 'list', '--format=json'])) as { id: string; name: string; import_time: number; last_used_time: number; size: number }[];
    const e = list.find((x) => x.id === img.key);
    assert.ok(e);
    assert.equal(e.name, 'example.com/inspect:0.1.0');
    assert.ok(e.size >= img.tar.length);
    assert.ok(Math.abs(e.import_time / 1e6 - Date.now()) < 600_000, 'ns since epoch');
    const pretty = ctx.ok(['image', 'list', '--format=json-pretty']);
    assert.match(pretty, /\n\t/);
  });

  it('image cat-manifest by name and by short ID', () => {
    const byName = JSON.parse(ctx.ok(['image', 'cat-manifest', 'example.com/inspect:0.1.0']));
    assert.equal(byName.name, 'example.com/inspect');
    const byId = ctx.ok(['image', 'cat-manifest', '--pretty-print=false', img.key.slice(0, 19)]);
    assert.equal(JSON.parse(byId).name, 'example.com/inspect');
    assert.ok(!byId.trim().includes('\n'), 'compact without pretty-print');
    const r = ctx.run(['image', 'cat-manifest', 'example.com/nope']);
    assertOneLineError(r, /cannot find aci satisfying name: "example.com\/nope"/);
    const r2 = ctx.run(['image', 'cat-manifest', 'sha512-0000000000']);
    assertOneLineError(r2, /no image IDs found/);
    const r3 = ctx.run(['image', 'cat-manifest', 'sha512-a']);
    assertOneLineError(r3, /image ID too short/);
  });

  it('image export writes a file whose SHA-512 is the image ID', () => {
    const out = ctx.path('exported.aci');
    ctx.ok(['image', 'export', img.key.slice(0, 19), out]);
    assert.equal(`sha512-${sha512(fs.readFileSync(out)).slice(0, 64)}`, img.key);
    const again = ctx.run(['image', 'export', img.key, out]);
    assertOneLineError(again, /output ACI file exists \(try --overwrite\)/);
    ctx.ok(['image', 'export', '--overwrite', img.key, out]);
  });

  it('keeps a gzip image as it came and a bzip2 one as its tar; both export as the tar', async () => {
    for (const c of ['gzip', 'bzip2'] as const) {
      const { tar, src, key, blob } = await fetchedImage(ctx, 'forms', 'y'.repeat(50000), c);
      assert.ok(fs.readFileSync(blob).equals(c === 'gzip' ? fs.readFileSync(src) : tar), `${c} blob form`);
      const out = ctx.path(`forms.${c}.out`);
      ctx.ok(['image', 'export', key, out]);
      assert.ok(fs.readFileSync(out).equals(tar), `${c} export is the tar`);
      ctx.ok(['image', 'rm', key]);
    }
  });

  it('a later render checks the blob against the digest taken at import: damage is refused, a stale digest is not', async () => {
    for (const c of ['gzip', 'bzip2'] as const) {
      const { key, blob } = await fetchedImage(ctx, 'digest', 'q'.repeat(50000), c);
      const db = await StoreDb.open(path.join(ctx.dataDir, 'cas'));
      const recorded = (await db.getAciInfo(key))?.blobDigest;
      await db.close();
      assert.match(recorded ?? '', /^[0-9a-f]{64}$/, `${c}: a BLAKE3 recorded at import`);
      // this image's tree store (no dependencies: the ID hashes its key alone); the suite's others stay
      const tree = path.join(ctx.dataDir, 'cas', 'tree', `deps-sha512-${sha512(Buffer.from(key)).slice(0, 64)}`);
      assert.ok(fs.existsSync(path.join(tree, 'rendered')), 'fetch rendered it');
      const dropTrees = () => fs.rmSync(tree, { recursive: true, force: true });
      // Intact, in a process that did not import it: renders.
      dropTrees();
      ctx.ok(['image', 'render', '--overwrite', key, ctx.path(`digest.${c}.out`)]);
      assert.equal(fs.readFileSync(ctx.path(`digest.${c}.out`, 'rootfs', 'f'), 'utf8'), 'q'.repeat(50000));
      // A stale record (a re-import crashed between its blob and its row) or none (a row from
      // before digests): the SHA-512 decides, and the digest of the bytes it checked is recorded.
      for (const stale of ['0'.repeat(64), '']) {
        const db2 = await StoreDb.open(path.join(ctx.dataDir, 'cas'));
        await db2.upsertAciInfo({ ...(await db2.getAciInfo(key))!, blobDigest: stale });
        await db2.close();
        dropTrees();
        ctx.ok(['image', 'render', '--overwrite', key, ctx.path(`digest.${c}.out`)]);
        const db3 = await StoreDb.open(path.join(ctx.dataDir, 'cas'));
        assert.equal((await db3.getAciInfo(key))?.blobDigest, recorded, `${c}: the digest is recorded again`);
        await db3.close();
      }
      // One byte of the blob changed: refused, and no tree left.
      const bytes = fs.readFileSync(blob);
      bytes[c === 'gzip' ? 20 : bytes.indexOf('qqqq')] ^= 0x01;
      fs.writeFileSync(blob, bytes);
      dropTrees();
      const r = ctx.run(['image', 'render', '--overwrite', key, ctx.path(`digest.${c}.bad`)]);
      assertOneLineError(r, c === 'gzip' ? /^render: .*(damaged gzip blob|image hash does not match expected)/ : /^render: .*image hash does not match expected/);
      assert.ok(!fs.existsSync(tree), `${c}: no tree kept`);
      ctx.ok(['image', 'rm', key]);
    }
  });

  it('image export of a damaged gzip blob fails in one line and writes nothing', async () => {
    const { key, blob } = await fetchedImage(ctx, 'damaged', 'z'.repeat(50000), 'gzip');
    const bytes = fs.readFileSync(blob);
    bytes[bytes.length - 6] ^= 0xff; // inside the gzip CRC
    fs.writeFileSync(blob, bytes);
    const out = ctx.path('damaged.out');
    assertOneLineError(ctx.run(['image', 'export', key, out]), /^export: cannot export image .*damaged gzip blob/);
    assert.ok(!fs.existsSync(out));
    assert.deepEqual(fs.readdirSync(path.dirname(out)).filter((f) => f.includes('rkt-export')), []);
    ctx.ok(['image', 'rm', key]);
  });

  it('image extract gives the original files; --rootfs-only; refuses an existing dir', () => {
    const dir = ctx.path('extracted');
    ctx.ok(['image', 'extract', img.key, dir]);
    assert.equal(sha512(fs.readFileSync(path.join(dir, 'rootfs', 'inspect'))), sha512(inspect));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'manifest'), 'utf8')).name, 'example.com/inspect');
    assert.equal(fs.readlinkSync(path.join(dir, 'rootfs', 'bin', 'inspect')), '/inspect');
    assertOneLineError(ctx.run(['image', 'extract', img.key, dir]), /output directory exists \(try --overwrite\)/);
    ctx.ok(['image', 'extract', '--rootfs-only', '--overwrite', img.key, dir]);
    assert.ok(fs.existsSync(path.join(dir, 'inspect')));
    assert.ok(!fs.existsSync(path.join(dir, 'manifest')));
    assertOneLineError(ctx.run(['image', 'extract', img.key, '/']), /not allowed/);
  });

  it('image render copies the rendered tree with a 0700 manifest', () => {
    const dir = ctx.path('rendered');
    ctx.ok(['image', 'render', 'example.com/other', dir]);
    assert.equal(fs.readFileSync(path.join(dir, 'rootfs', 'other.txt'), 'utf8'), 'other');
    assert.equal(fs.statSync(path.join(dir, 'manifest')).mode & 0o777, 0o700);
    ctx.ok(['image', 'render', '--rootfs-only', '--overwrite', 'example.com/other', dir]);
    assert.ok(fs.existsSync(path.join(dir, 'other.txt')));
  });

  it('image verify detects a damaged tree and re-renders it', () => {
    const ok = ctx.ok(['image', 'verify', img.key.slice(0, 19)]);
    assert.match(ok, new RegExp(`successfully verified checksum for image: "${img.key.slice(0, 19)}" \\("${img.key}"\\)`));
    const treeDir = path.join(ctx.dataDir, 'cas', 'tree');
    const tree = fs.readdirSync(treeDir).find((id) => fs.readFileSync(path.join(treeDir, id, 'image'), 'utf8') === img.key);
    assert.ok(tree);
    fs.rmSync(path.join(treeDir, tree, 'rootfs', 'inspect'));
    const r = ctx.run(['image', 'verify', img.key]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /tree cache verification failed for image/);
    assert.ok(fs.existsSync(path.join(treeDir, tree, 'rootfs', 'inspect')), 'repaired');
    assert.match(ctx.ok(['image', 'verify', img.key]), /successfully verified/);
  });

  it('resolves unambiguous prefixes and reports ambiguous ones', async () => {
    // Import small images until two keys share their first two hex digits (bounded).
    const seen = new Map<string, string>();
    let clash: string | undefined;
    for (let i = 0; i < 200 && !clash; i++) {
      const tar = await writeAci(ctx.path(`p${i}.aci`), aciEntries(manifestFor('example.com/prefix', { version: String(i) }), []), 'none');
      const key = keyOf(tar);
      ctx.ok(['fetch', '--insecure-options=image', ctx.path(`p${i}.aci`)]);
      const p = key.slice(0, 9);
      if (seen.has(p)) clash = p;
      seen.set(p, key);
    }
    assert.ok(clash, 'found a shared 2-hex prefix');
    assertOneLineError(ctx.run(['image', 'cat-manifest', clash]), /ambiguous image ID/);
    const unique = [...seen.values()].find((k) => k.slice(0, 9) !== clash) as string;
    assert.equal(JSON.parse(ctx.ok(['image', 'cat-manifest', unique.slice(0, 12)])).name, 'example.com/prefix');
  });

  it('image rm removes by name and ID with rkt messages', () => {
    const r = ctx.run(['image', 'rm', 'example.com/other:2.0', other.key, 'sha512-ffffffffffff']);
    assert.equal(r.code, 254, r.stderr);
    assert.match(r.stdout, new RegExp(`successfully removed aci for image: "${other.key}"`));
    assert.equal(r.stdout.trim().split('\n').length, 1, 'duplicate args removed once');
    assert.match(r.stderr, /rm: 1 image\(s\) successfully removed/);
    assert.match(r.stderr, /1 image\(s\) cannot be removed/);
    assert.ok(!fs.existsSync(path.join(ctx.dataDir, 'cas', 'blob', 'sha512', other.key.slice(7, 9), other.key)));
    assert.doesNotMatch(ctx.ok(['image', 'list']), /example\.com\/other/);
  });

  it('image gc removes unreferenced trees and images past the grace period', () => {
    const r = ctx.run(['image', 'gc', '--grace-period=0s']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /gc: removed treestore "deps-sha512-/);
    assert.match(r.stdout, new RegExp(`successfully removed aci for image: "${img.key}"`));
    assert.deepEqual(ctx.files('cas/blob'), []);
    assert.deepEqual(fs.readdirSync(path.join(ctx.dataDir, 'cas', 'tree')), []);
    assert.equal(ctx.ok(['image', 'list', '--no-legend']).trim(), '');
  });
});

describe('image gc keeps recent images', () => {
  const ctx = new RktContext();
  after(() => ctx.cleanup());
  it('does not remove an image used within the grace period', async () => {
    const img = await exampleAci(ctx, 'a.aci');
    ctx.ok(['fetch', '--insecure-options=image', img.file]);
    ctx.ok(['image', 'gc']);
    assert.match(ctx.ok(['image', 'list']), /example\.com\/inspect/);
  });
});
