import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatFingerprint, isFingerprintName } from '../../src/trust/fingerprint';
import { Keystore, prefixDirs } from '../../src/trust/keystore';

test('fingerprints: upper case, groups of four, double space in the middle', () => {
  assert.equal(formatFingerprint('8b86de38890ddb7291867b025210bd8888182190'), '8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190');
  assert.equal(isFingerprintName('8b86de38890ddb7291867b025210bd8888182190'), true);
  assert.equal(isFingerprintName('8B86DE38890DDB7291867B025210BD8888182190'), false);
});

test('prefix directories that apply to a name, shallowest first (with rkt\'s string-prefix quirk)', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const d of ['coreos.com/etcd', 'coreos.com/etc', 'coreos.com/other', 'example.com']) fs.mkdirSync(path.join(root, d), { recursive: true });
  assert.deepEqual(
    prefixDirs(root, 'coreos.com/etcd').map((d) => path.relative(root, d)),
    ['coreos.com', 'coreos.com/etc', 'coreos.com/etcd'],
  );
  assert.deepEqual(prefixDirs(root, 'example.com/app').map((d) => path.relative(root, d)), ['example.com']);
  assert.deepEqual(prefixDirs(root, 'nothing.org/app'), []);
});

test('key paths and prefix presence (empty files do not count)', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const ks = new Keystore({ system: path.join(root, 'sys'), local: path.join(root, 'loc') });
  const fpr = 'a'.repeat(40);
  assert.equal(ks.pathFor('', fpr), path.join(root, 'loc', 'trustedkeys', 'root.d', fpr));
  assert.equal(ks.pathFor('example.com/app', fpr), path.join(root, 'loc', 'trustedkeys', 'prefix.d', 'example.com', 'app', fpr));
  assert.equal(ks.hasPrefixKeys('example.com/app'), false);
  const empty = path.join(root, 'sys', 'trustedkeys', 'prefix.d', 'example.com', fpr);
  fs.mkdirSync(path.dirname(empty), { recursive: true });
  fs.writeFileSync(empty, '');
  assert.equal(ks.hasPrefixKeys('example.com/app'), false);
  const p = ks.storeTrustedKey('example.com', fpr, Buffer.from('key'));
  assert.equal(fs.statSync(p).mode & 0o777, 0o644);
  assert.equal(ks.hasPrefixKeys('example.com/app'), true);
  assert.equal(ks.hasPrefixKeys('other.com/app'), false);
  assert.equal(ks.hasKey('example.com', fpr, Buffer.from('key')), true);
  assert.equal(ks.hasKey('example.com', fpr, Buffer.from('other')), false);
});

test('prefixes that would leave prefix.d are refused', () => {
  const ks = new Keystore({ system: '/nonexistent/sys', local: '/nonexistent/loc' });
  const fpr = 'b'.repeat(40);
  for (const bad of ['example.com/../../etc', 'a/./b', 'Example.com', '/abs', 'a//b']) {
    assert.throws(() => ks.pathFor(bad, fpr), /invalid prefix/, bad);
  }
  assert.throws(() => ks.pathFor('example.com', '../x'), /not a key fingerprint/);
  assert.equal(ks.pathFor('example.com/a-b_c~d', fpr), path.join('/nonexistent/loc/trustedkeys/prefix.d/example.com/a-b_c~d', fpr));
});
