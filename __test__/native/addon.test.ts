/**
 * The addon through src/native.ts: results, typed error codes, and locks across processes.
 */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { native } from '../../src/native';
import { RktError } from '../../src/errors';
import { aciEntries, compress, manifestFor, tarBuffer } from '../../scripts/fixtures/aci';
import { FileLock } from '../../src/store/locks';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-native-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sha512hex(b: Buffer): string {
  return require('node:crypto').createHash('sha512').update(b).digest('hex') as string;
}

describe('importAci', () => {
  it('returns the key, size, manifest bytes and a temp blob that reads back as the tar', async () => {
    const tar = await tarBuffer(aciEntries(manifestFor('example.com/n', { version: '1' }), [{ name: 'a', data: 'hello' }]));
    fs.writeFileSync(path.join(tmp, 'n.aci'), compress(tar, 'gzip'));
    const r = await native.importAci(path.join(tmp, 'n.aci'), tmp);
    assert.equal(r.hashHex, sha512hex(tar));
    assert.equal(r.key, `sha512-${sha512hex(tar).slice(0, 64)}`);
    assert.equal(r.size, tar.length);
    assert.equal(r.fileType, 'gzip');
    assert.equal(JSON.parse(r.manifest.toString()).name, 'example.com/n');
    // A gzip image is kept as it came (the blob is its gzip bytes); hashBlob reads the tar.
    assert.ok(fs.readFileSync(r.tmpPath).equals(fs.readFileSync(path.join(tmp, 'n.aci'))));
    const dest = path.join(tmp, 'blob', 'x');
    native.commitBlob(r.tmpPath, dest);
    assert.ok(!fs.existsSync(r.tmpPath));
    assert.equal(await native.hashBlob(dest), sha512hex(tar));
    assert.equal(await native.exportBlob(dest, path.join(tmp, 'n.tar')), sha512hex(tar));
    assert.ok(fs.readFileSync(path.join(tmp, 'n.tar')).equals(tar));
  });

  it('maps native failures to RktErrors with stable codes', async () => {
    fs.writeFileSync(path.join(tmp, 'text.aci'), 'just text\n');
    await assert.rejects(native.importAci(path.join(tmp, 'text.aci'), tmp), (e: unknown) => e instanceof RktError && e.code === 'EIMAGE_FORMAT');
    const evil = await tarBuffer(aciEntries(manifestFor('example.com/n'), [{ name: '../x', data: 'x' }]));
    fs.writeFileSync(path.join(tmp, 'evil.aci'), evil);
    await assert.rejects(native.importAci(path.join(tmp, 'evil.aci'), tmp), (e: unknown) => e instanceof RktError && e.code === 'EUNSAFE_PATH');
    await assert.rejects(native.importAci(path.join(tmp, 'missing.aci'), tmp), (e: unknown) => e instanceof RktError && e.code === 'ENOTFOUND');
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.startsWith('import-')),
      [],
      'no temp file left',
    );
  });
});

describe('startImport (an import fed chunk by chunk)', () => {
  it('gives what importAci gives, and a rendered tree whose hash a walk confirms', async () => {
    const big = Buffer.alloc(3 << 20, 'z');
    const tar = await tarBuffer(aciEntries(manifestFor('example.com/s'), [{ name: 'a', data: 'hello' }, { name: 'big', data: big }]));
    const gz = compress(tar, 'gzip');
    fs.writeFileSync(path.join(tmp, 's.aci'), gz);
    const dir = fs.mkdtempSync(path.join(tmp, 'stream-'));
    const s = native.startImport(dir, true);
    for (let o = 0; o < gz.length; o += 10_000) await s.push(gz.subarray(o, o + 10_000));
    const r = await s.finish();
    const f = await native.importAci(path.join(tmp, 's.aci'), dir);
    assert.equal(r.key, f.key);
    assert.equal(r.size, f.size);
    assert.ok(r.manifest.equals(f.manifest));
    assert.ok(fs.readFileSync(r.tmpPath).equals(gz), 'the gzip bytes as they arrived');
    assert.equal(await native.hashBlob(r.tmpPath), sha512hex(tar));
    assert.ok(r.tree, r.treeError);
    assert.equal(r.tree.hash, await native.treeHash(r.tree.dir));
    assert.ok(fs.readFileSync(path.join(r.tree.dir, 'rootfs', 'big')).equals(big));
  });

  it('a corrupt stream is an EIMAGE_FORMAT error, and neither it nor an abort leaves files', async () => {
    const tar = await tarBuffer(aciEntries(manifestFor('example.com/s'), [{ name: 'a', data: Buffer.alloc(1 << 20, 'q') }]));
    const gz = compress(tar, 'gzip');
    for (let i = 100; i < 200; i++) gz[i] ^= 0x55;
    const dir = fs.mkdtempSync(path.join(tmp, 'stream-bad-'));
    const s = native.startImport(dir, true);
    await s.push(gz);
    await assert.rejects(s.finish(), (e: unknown) => e instanceof RktError && e.code === 'EIMAGE_FORMAT');
    const a = native.startImport(dir, true);
    await a.push(gz.subarray(0, 50));
    await a.abort();
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('render and tree hash', () => {
  it('renders, hashes deterministically and notices a deleted file', async () => {
    const tar = await tarBuffer(aciEntries(manifestFor('example.com/r'), [{ name: 'd', type: 'directory' }, { name: 'd/f', data: 'x' }]));
    const blob = path.join(tmp, 'r.tar');
    fs.writeFileSync(blob, tar);
    const key = `sha512-${sha512hex(tar).slice(0, 64)}`;
    const dest = path.join(tmp, 'tree');
    fs.mkdirSync(dest);
    const stats = await native.renderTree([{ blobPath: blob, key, level: 0, pathWhitelist: [] }], dest);
    assert.ok(stats.files >= 2);
    assert.equal(stats.hash, await native.treeHash(dest), 'the render computes the hash a walk gets');
    assert.equal(fs.readFileSync(path.join(dest, 'rootfs', 'd', 'f'), 'utf8'), 'x');
    const h1 = await native.treeHash(dest);
    assert.equal(await native.treeHash(dest), h1);
    fs.rmSync(path.join(dest, 'rootfs', 'd', 'f'));
    assert.notEqual(await native.treeHash(dest), h1);
  });

  it('refuses a blob whose bytes do not match its key', async () => {
    const tar = await tarBuffer(aciEntries(manifestFor('example.com/r'), [{ name: 'f', data: 'x' }]));
    const blob = path.join(tmp, 'bad.tar');
    fs.writeFileSync(blob, tar);
    const dest = path.join(tmp, 'tree-bad');
    fs.mkdirSync(dest);
    await assert.rejects(
      native.renderTree([{ blobPath: blob, key: `sha512-${'0'.repeat(64)}`, level: 0, pathWhitelist: [] }], dest),
      (e: unknown) => e instanceof RktError && e.code === 'EHASH_MISMATCH',
    );
  });
});

describe('flock', () => {
  it('an exclusive lock held here is seen by another process', async () => {
    const dir = path.join(tmp, 'locked');
    fs.mkdirSync(dir);
    const lock = await FileLock.dir(dir, true);
    const probe = `
      const { native } = require(${JSON.stringify(path.resolve(__dirname, '../../src/native.js'))});
      const fs = require('fs');
      const fd = fs.openSync(${JSON.stringify(dir)}, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      process.stdout.write(String(native.tryFlock(fd, false)));`;
    assert.equal(spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).stdout, 'false');
    lock.release();
    assert.equal(spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).stdout, 'true');
  });

  it('a key lock is taken in one call when free, and FileLock.key waits when it is not', async () => {
    const p = path.join(tmp, 'keylocks', 'deep', 'k1');
    const fd = native.tryLockKeyFile(p, true);
    assert.equal(typeof fd, 'number', 'free: locked, file and directories created');
    assert.ok(fs.statSync(p).isFile());
    const probe = (exclusive: boolean) => `
      const { native } = require(${JSON.stringify(path.resolve(__dirname, '../../src/native.js'))});
      const fd = native.tryLockKeyFile(${JSON.stringify(p)}, ${exclusive});
      process.stdout.write(String(fd));`;
    assert.equal(spawnSync(process.execPath, ['-e', probe(false)], { encoding: 'utf8' }).stdout, 'null', 'held exclusively here');
    let got = false;
    const waiting = FileLock.key(path.dirname(p), 'k1', false).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, false, 'FileLock.key waits for the holder');
    fs.closeSync(fd as number);
    const shared = await waiting;
    assert.match(spawnSync(process.execPath, ['-e', probe(false)], { encoding: 'utf8' }).stdout, /^\d+$/, 'shared locks coexist');
    shared.release();
    assert.throws(() => native.tryLockKeyFile(path.join(tmp, 'keylocks'), true), RktError, 'a directory is no lock file');
  });
});

describe('sha512Hex and randomUuid (libcrypto taken from the Node process)', () => {
  it('hashes as Node does, for empty, short, multi-byte and large inputs', () => {
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    for (const s of ['', 'abc', 'sha512-a,sha512-b', 'é✓😀', 'x'.repeat(1 << 20)]) {
      assert.equal(native.sha512Hex(s), createHash('sha512').update(s, 'utf8').digest('hex'));
    }
  });

  it('hashFile of a multi-chunk file agrees with Node', async () => {
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    const f = path.join(tmp, 'hash-me');
    const data = Buffer.alloc(3 * 256 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    fs.writeFileSync(f, data);
    assert.equal(await native.hashFile(f), createHash('sha512').update(data).digest('hex'));
  });

  it('makes distinct version 4 UUIDs', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const u = native.randomUuid();
      assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(u);
    }
    assert.equal(seen.size, 500);
  });
});

describe('readFile and writeFile (small files, whole)', () => {
  it('writes strings as UTF-8 and Buffers as they are, and reads back the same bytes', () => {
    const f = path.join(tmp, 'small');
    native.writeFile(f, 'pod é✓', 0o640);
    assert.ok(native.readFile(f).equals(Buffer.from('pod é✓', 'utf8')));
    const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff));
    native.writeFile(f, bytes, 0o640);
    assert.ok(native.readFile(f).equals(bytes));
    assert.ok(fs.readFileSync(f).equals(bytes), 'what Node reads too');
    native.writeFile(f, '', 0o640);
    assert.equal(native.readFile(f).length, 0, 'truncated');
  });

  it('a new file gets the mode less the umask, as writeFileSync gives it', () => {
    const ours = path.join(tmp, 'mode-ours');
    const node = path.join(tmp, 'mode-node');
    for (const mode of [0o640, 0o644, 0o600]) {
      fs.rmSync(ours, { force: true });
      fs.rmSync(node, { force: true });
      native.writeFile(ours, 'x', mode);
      fs.writeFileSync(node, 'x', { mode });
      assert.equal(fs.statSync(ours).mode & 0o777, fs.statSync(node).mode & 0o777);
    }
  });

  it('a missing file or directory is ENOTFOUND naming the path; a directory is EIO', () => {
    assert.throws(
      () => native.readFile(path.join(tmp, 'no-such-file')),
      (e: unknown) => e instanceof RktError && e.code === 'ENOTFOUND' && e.message.includes('no-such-file'),
    );
    assert.throws(
      () => native.writeFile(path.join(tmp, 'no-such-dir', 'f'), 'x', 0o640),
      (e: unknown) => e instanceof RktError && e.code === 'ENOTFOUND' && e.message.includes('no-such-dir'),
    );
    assert.throws(() => native.readFile(tmp), (e: unknown) => e instanceof RktError && e.code === 'EIO');
    assert.throws(() => native.writeFile(tmp, 'x', 0o640), (e: unknown) => e instanceof RktError && e.code === 'EIO');
  });
});

describe('stat, makeDir and tryLockDir (the paths rkt run looks at)', () => {
  it('stat says what fs.statSync says, following symlinks, and null for a missing path', () => {
    const f = path.join(tmp, 'stat-me');
    fs.writeFileSync(f, 'twelve bytes');
    fs.symlinkSync(tmp, path.join(tmp, 'stat-link'));
    const s = native.stat(f);
    const n = fs.statSync(f);
    assert.deepEqual(s, { kind: 'file', size: 12, mtimeMs: n.mtimeMs, dev: n.dev });
    assert.equal(native.stat(path.join(tmp, 'stat-link'))?.kind, 'dir');
    assert.equal(native.stat('/dev/null')?.kind, 'other');
    assert.equal(native.stat(path.join(tmp, 'no-such')), null);
    assert.throws(() => native.stat(path.join(f, 'under-a-file')), (e: unknown) => e instanceof RktError && e.message.includes('under-a-file'));
  });

  it('makeDir makes a new directory only', () => {
    const d = path.join(tmp, 'new-dir');
    native.makeDir(d, 0o750);
    assert.ok(fs.statSync(d).isDirectory());
    assert.throws(() => native.makeDir(d, 0o750), (e: unknown) => e instanceof RktError && e.code === 'EEXIST');
    assert.throws(() => native.makeDir(path.join(tmp, 'no', 'parent'), 0o750), (e: unknown) => e instanceof RktError && e.code === 'ENOTFOUND');
  });

  it('a directory lock taken here is seen by another process, and FileLock.dir waits for it', async () => {
    const d = path.join(tmp, 'lock-dir');
    fs.mkdirSync(d);
    const fd = native.tryLockDir(d, true);
    assert.equal(typeof fd, 'number');
    const probe = `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(d)},'r');process.exit(require(${JSON.stringify(path.resolve(__dirname, '../../src/native.js'))}).native.tryFlock(fd,false)?0:3)`;
    assert.equal(spawnSync(process.execPath, ['-e', probe]).status, 3, 'held against another process');
    assert.equal(native.tryLockDir(d, false), null, 'and against another open here');
    assert.equal(FileLock.tryDir(d, false), undefined);
    let got = false;
    const waiting = FileLock.dir(d, false).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got, false, 'FileLock.dir waits while the lock is held');
    fs.closeSync(fd as number);
    (await waiting).release();
    assert.equal(got, true);
    assert.throws(() => native.tryLockDir(path.join(tmp, 'no-such-dir'), true), (e: unknown) => e instanceof RktError && e.code === 'ENOTFOUND');
  });

  it('releaseLock closes the fd, and so drops the lock', () => {
    const d = path.join(tmp, 'release-dir');
    fs.mkdirSync(d);
    const fd = native.tryLockDir(d, true) as number;
    assert.equal(native.tryLockDir(d, true), null);
    native.releaseLock(fd);
    const again = native.tryLockDir(d, true);
    assert.equal(typeof again, 'number', 'free once released');
    native.releaseLock(again as number);
    assert.throws(() => fs.fstatSync(fd), /EBADF/, 'the fd is closed');
  });

  it('exists is fs.existsSync, false for any failure; rename replaces, and a missing source is ENOTFOUND', () => {
    const f = path.join(tmp, 'exists-me');
    fs.writeFileSync(f, 'x');
    for (const p of [f, tmp, path.join(tmp, 'nope'), path.join(f, 'under-a-file'), '']) assert.equal(native.exists(p), fs.existsSync(p), p);
    const g = path.join(tmp, 'renamed');
    fs.writeFileSync(g, 'old');
    native.rename(f, g);
    assert.equal(fs.readFileSync(g, 'utf8'), 'x');
    assert.equal(fs.existsSync(f), false);
    assert.throws(() => native.rename(f, g), (e: unknown) => e instanceof RktError && e.code === 'ENOTFOUND' && e.message.includes('exists-me'));
  });
});
