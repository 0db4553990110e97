import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RktError } from '../../src/errors';
import { StoreDb, AciInfo } from '../../src/store/db';
import { resolveKeyPrefix, shortKey, selectByNameAndLabels, formatLabels, isFullKey, NameLookupCandidate } from '../../src/store/keys';

const K1 = 'sha512-' + 'ab12'.repeat(16);
const K2 = 'sha512-' + 'ab34'.repeat(16);
const K3 = 'sha512-' + 'cd56'.repeat(16);

function aci(k: string, over: Partial<AciInfo> = {}): AciInfo {
  return {
    blobKey: k,
    name: 'example.com/app',
    importTime: new Date(1000),
    lastUsed: new Date(1000),
    latest: false,
    size: 1,
    treeStoreSize: 0,
    blobDigest: '',
    ...over,
  };
}

function isErr(code: string, message: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof RktError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  };
}

describe('resolveKeyPrefix', () => {
  let root: string;
  let db: StoreDb;
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'rkt-keys-test-'));
    db = await StoreDb.open(path.join(root, 'cas'));
    for (const k of [K1, K2, K3]) await db.upsertAciInfo(aci(k));
  });
  after(async () => {
    await db.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('resolves a unique prefix, a full key, and an over-long key', async () => {
    assert.equal(await resolveKeyPrefix(db, 'sha512-cd'), K3);
    assert.equal(await resolveKeyPrefix(db, 'sha512-ab12'), K1);
    assert.equal(await resolveKeyPrefix(db, K2), K2);
    assert.equal(await resolveKeyPrefix(db, K2 + 'ffffffff'), K2, 'truncated to 71 characters');
  });

  test('errors', async () => {
    await assert.rejects(resolveKeyPrefix(db, 'sha256-ab12'), isErr('EUSAGE', 'wrong key prefix'));
    await assert.rejects(resolveKeyPrefix(db, 'ab12'), isErr('EUSAGE', 'wrong key prefix'));
    await assert.rejects(resolveKeyPrefix(db, 'sha512-a'), isErr('EUSAGE', 'image ID too short'));
    await assert.rejects(resolveKeyPrefix(db, 'sha512-ff'), isErr('ENOTFOUND', 'no image IDs found'));
    await assert.rejects(resolveKeyPrefix(db, 'sha512-ab'), isErr('EAMBIGUOUS', 'ambiguous image ID: "sha512-ab"'));
    await assert.rejects(resolveKeyPrefix(db, 'sha512-a_'), isErr('ENOTFOUND', 'no image IDs found'));
    await assert.rejects(resolveKeyPrefix(db, 'sha512-AB'), isErr('ENOTFOUND', 'no image IDs found'));
    await assert.rejects(resolveKeyPrefix(db, K1.slice(0, 70) + 'x' + 'ab'), isErr('ENOTFOUND', 'no image IDs found'));
  });
});

describe('shortKey', () => {
  test('fetch 39, list 19, full 71', () => {
    assert.equal(shortKey(K1, 'fetch'), K1.slice(0, 39));
    assert.equal(shortKey(K1, 'fetch').length, 39);
    assert.equal(shortKey(K1, 'list'), 'sha512-ab12ab12ab12');
    assert.equal(shortKey(K1, 'full'), K1);
    assert.equal(shortKey(K1, 'full').length, 71);
    assert.equal(shortKey('sha512-ab', 'list'), 'sha512-ab');
    assert.ok(isFullKey(K1));
    assert.ok(!isFullKey(K1.slice(0, 70)));
  });
});

describe('selectByNameAndLabels', () => {
  const cand = (k: string, labels: Record<string, string>, over: Partial<AciInfo> = {}): NameLookupCandidate => ({
    info: aci(k, over),
    labels: new Map(Object.entries(labels)),
  });
  const linux = { os: 'linux', arch: 'amd64' };

  test('every requested label must match', () => {
    const cs = [
      cand(K1, { version: '1.0', ...linux }),
      cand(K2, { version: '2.0', os: 'linux', arch: 'arm64' }),
    ];
    assert.equal(selectByNameAndLabels(cs, new Map([['version', '1.0']])).blobKey, K1);
    assert.equal(selectByNameAndLabels(cs, new Map([['arch', 'arm64']])).blobKey, K2);
  });

  test('no version requested: latest preferred over a newer import', () => {
    const cs = [
      cand(K1, linux, { latest: true, importTime: new Date(1000) }),
      cand(K2, linux, { latest: false, importTime: new Date(5000) }),
      cand(K3, linux, { latest: false, importTime: new Date(9000) }),
    ];
    assert.equal(selectByNameAndLabels(cs, new Map(Object.entries(linux))).blobKey, K1);
    assert.equal(selectByNameAndLabels([...cs].reverse(), new Map(Object.entries(linux))).blobKey, K1);
  });

  test('among latest images (or with a version requested) the most recent import wins', () => {
    const cs = [
      cand(K1, { version: '1', ...linux }, { latest: true, importTime: new Date(1000) }),
      cand(K2, { version: '1', ...linux }, { latest: false, importTime: new Date(5000) }),
      cand(K3, { version: '1', ...linux }, { latest: true, importTime: new Date(3000) }),
    ];
    assert.equal(selectByNameAndLabels(cs, new Map()).blobKey, K3);
    assert.equal(selectByNameAndLabels(cs, new Map([['version', '1']])).blobKey, K2, 'latest flag ignored');
  });

  test('a tie keeps the first candidate (strictly later import wins)', () => {
    const cs = [cand(K2, linux), cand(K1, linux)];
    assert.equal(selectByNameAndLabels(cs, new Map()).blobKey, K2);
  });

  test('no match: rkt ACINotFoundError text, labels ordered version, os, arch, then by name', () => {
    const cs = [cand(K1, { version: '1.0', ...linux })];
    const want = new Map([['zone', 'b'], ['arch', 'amd64'], ['env', 'a'], ['os', 'linux'], ['version', '2.0']]);
    assert.throws(
      () => selectByNameAndLabels(cs, want, 'example.com/app'),
      isErr(
        'ENOTFOUND',
        'cannot find aci satisfying name: "example.com/app" and labels: ["version":"2.0", "os":"linux", "arch":"amd64", "env":"a", "zone":"b"] in the local store',
      ),
    );
    assert.throws(
      () => selectByNameAndLabels([], new Map(), 'example.com/none'),
      isErr('ENOTFOUND', 'cannot find aci satisfying name: "example.com/none" and labels: [] in the local store'),
    );
    assert.equal(formatLabels(new Map([['constructor', 'x'], ['os', 'linux']])), '["os":"linux", "constructor":"x"]');
  });
});
