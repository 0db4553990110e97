/** The image store's manifest reads: a real store (SQLite file, addon import) in a temp dir. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageStore } from '../../src/store/image-store';
import { RktError } from '../../src/errors';
import { native } from '../../src/native';
import { aciEntries, manifestFor, tarBuffer } from '../../scripts/fixtures/aci';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-image-store-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('manifests', () => {
  let store: ImageStore;
  let key: string;
  before(async () => {
    store = await ImageStore.open(path.join(tmp, 'data'));
    const aci = path.join(tmp, 'm.aci');
    fs.writeFileSync(aci, await tarBuffer(aciEntries(manifestFor('example.com/m', { version: '1' }), [{ name: 'a', data: 'x' }])));
    key = (await store.importFile(aci)).key;
  });
  after(() => store.close());

  it('reads a manifest file once per process, however often it is asked for', async () => {
    const other = await ImageStore.open(path.join(tmp, 'data')); // nothing read yet
    const file = other.layout.manifestPath(key);
    const real = native.readFile;
    let reads = 0;
    native.readFile = (p: string) => {
      if (p === file) reads++;
      return real(p);
    };
    try {
      const first = other.readManifestRaw(key);
      assert.equal(other.readManifest(key).name, 'example.com/m');
      assert.equal(other.readManifestRaw(key), first, 'the same bytes');
      assert.equal(reads, 1);
      const a = other.readManifest(key);
      a.name = 'changed';
      assert.equal(other.readManifest(key).name, 'example.com/m', 'each parse is a fresh object');
    } finally {
      native.readFile = real;
      await other.close();
    }
  });

  it('forgets a removed image: its manifest is then an error', async () => {
    assert.equal(store.readManifest(key).name, 'example.com/m');
    assert.equal(await store.remove(key), true);
    assert.throws(
      () => store.readManifestRaw(key),
      (e: unknown) => e instanceof RktError && e.code === 'ESTORE' && e.message.startsWith(`cannot read the manifest of image ${key}`),
    );
  });
});
