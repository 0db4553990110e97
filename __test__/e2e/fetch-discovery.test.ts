/**
 * Fetch by name over the network, inside a network namespace of the test's own where example.com
 * and other.example resolve to its loopback: meta discovery (walk up, prefixes, templates, labels),
 * signatures and keys fetched over HTTPS from a server certified by a test CA, automatic key
 * discovery, the http rules, and manifest validation. Every failure: one error line, exit 254,
 * no blob, no row, no remote row.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aciEntries, manifestFor, writeAci, type ManifestOptions } from '../../scripts/fixtures/aci';
import { keyOf } from './harness';
import { StoreDb } from '../../src/store/db';
import { TestKey } from './support/gpg';
import { World } from './support/world';

const TEMPLATE = 'https://example.com/images/{name}-{version}-{os}-{arch}.{ext}';

describe('fetch by name with meta discovery', () => {
  const w = new World({ netns: true });
  let key: TestKey;
  let stranger: TestKey;
  before(async () => {
    key = new TestKey(w.path('keys'), 'builder', 'ed25519-subkey');
    stranger = new TestKey(w.path('keys'), 'stranger', 'rsa');
    w.serve('example.com', 'keys/builder.asc', key.armored);
    await w.start();
  });
  after(() => {
    key?.kill();
    stranger?.kill();
    w.cleanup();
  });

  /** Builds, signs and serves `images/<name>-<version>-linux-amd64.aci`; returns the tar (for its key). */
  async function publish(name: string, version: string, opts: ManifestOptions & { signer?: TestKey; manifestName?: string } = {}): Promise<Buffer> {
    const rel = `images/${name}-${version}-linux-amd64.aci`;
    const file = path.join(w.www, 'example.com', rel);
    const tar = await writeAci(file, aciEntries(manifestFor(opts.manifestName ?? name, { version, ...opts }), [{ name: 'data', data: `${name} ${version}\n` }]));
    (opts.signer ?? key).sign(file);
    return tar;
  }

  function trust(prefix: string, k: TestKey = key) {
    const d = path.join(w.localConfig, 'trustedkeys', 'prefix.d', prefix);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, k.fingerprint), k.armored);
  }

  function untrustAll() {
    fs.rmSync(path.join(w.localConfig, 'trustedkeys'), { recursive: true, force: true });
  }

  function assertNoImage(tar: Buffer) {
    const k = keyOf(tar);
    assert.equal(w.files('cas/blob').filter((f) => f.endsWith(k)).length, 0, 'no blob');
    assert.equal(w.files('cas/tmp').filter((f) => !f.startsWith('dl-')).length, 0, 'no import temp file');
    assert.ok(!w.ok(['image', 'list', '--no-legend', '--full']).includes(k), 'no index row');
  }

  function refused(args: string[], re: RegExp, stdout = '') {
    const r = w.run(args);
    assert.equal(r.code, 254, `stdout=${r.stdout} stderr=${r.stderr}`);
    if (stdout !== '*') assert.equal(r.stdout, stdout);
    assert.match(r.stderr.trim().split('\n').pop()!, re);
    return r;
  }

  it('discovers, downloads, verifies and stores; the remote row records the URL', async () => {
    w.servePage('example.com', [['ac-discovery', `example.com ${TEMPLATE}`]]);
    const tar = await publish('example.com/hello', '1.0.0');
    trust('example.com/hello');
    w.clearRequests();
    const r = w.run(['fetch', 'example.com/hello:1.0.0']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.deepEqual(r.stderr.trim().split('\n'), ['image: signature verified:', `image:   ${key.uid}`]);
    const reqs = w.requests();
    // the name first, then its parent, both https; then the signature, then the image
    assert.deepEqual(
      reqs.map((q) => `${q.scheme} ${q.method} ${q.host}${q.path}${q.query}`),
      [
        'https GET example.com/hello?ac-discovery=1',
        'https GET example.com/?ac-discovery=1',
        'https GET example.com/images/example.com/hello-1.0.0-linux-amd64.aci.asc',
        'https GET example.com/images/example.com/hello-1.0.0-linux-amd64.aci',
      ],
    );
    assert.ok(reqs.every((q) => /^rkt\/\d+\.\d+\.\d+/.test(q.headers['user-agent'])), 'User-Agent: rkt/<version>');
    assert.match(w.ok(['image', 'list', '--no-legend', '--fields=name']), /example.com\/hello/);
  });

  it('a key under the parent prefix trusts the name; --pull-policy=new then uses the store, never with no image fails', async () => {
    untrustAll();
    trust('example.com');
    const tar = await publish('example.com/parent', '2');
    const first = w.run(['fetch', 'example.com/parent:2']);
    assert.equal(first.code, 0, first.stderr);
    w.clearRequests();
    const again = w.run(['fetch', '--pull-policy=new', 'example.com/parent:2']);
    assert.equal(again.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.equal(w.requests().length, 0, 'no network with new and the image in the store');
    const never = refused(['fetch', '--pull-policy=never', 'example.com/parent:3'], /^fetch: unable to fetch image from image name "example.com\/parent:3": either image was not found in the store/);
    assert.equal(never.stderr.trim().split('\n').length, 1);
    assert.equal(w.requests().length, 0);
  });

  it('the first prefix with a matching tag wins; templates with unknown labels are skipped; labels fill templates', async () => {
    untrustAll();
    trust('example.com');
    w.servePage('example.com/multi', [
      ['ac-discovery', `example.com/multi https://example.com/images/{name}-{version}-{flavor}.{ext}`],
      ['ac-discovery', `example.com/multi/x ${TEMPLATE}`],
      ['ac-discovery', `example.com/multi ${TEMPLATE}`],
    ]);
    const tar = await publish('example.com/multi', '1');
    const r = w.run(['--debug', 'fetch', 'example.com/multi:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    // with flavor given, the first template applies
    const flav = path.join(w.www, 'example.com', 'images', 'example.com', 'multi-1-blue.aci');
    const tar2 = await writeAci(flav, aciEntries(manifestFor('example.com/multi', { version: '1', labels: { flavor: 'blue' } }), [{ name: 'blue', data: 'b' }]));
    key.sign(flav);
    const r2 = w.run(['fetch', 'example.com/multi:1,flavor=blue']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout.trim(), keyOf(tar2).slice(0, 39));
  });

  it('no version means latest in the template, and the image is marked latest', async () => {
    trust('example.com');
    const tar = await publish('example.com/latest', 'latest');
    const r = w.run(['fetch', 'example.com/latest']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    const db = await StoreDb.open(path.join(w.dataDir, 'cas'));
    try {
      const [info] = await db.getAciInfosByName('example.com/latest');
      assert.equal(info.latest, true);
      const [versioned] = await db.getAciInfosByName('example.com/hello');
      assert.equal(versioned.latest, false);
      const rem = await db.getRemote('https://example.com/images/example.com/hello-1.0.0-linux-amd64.aci');
      assert.equal(rem?.sigUrl, 'https://example.com/images/example.com/hello-1.0.0-linux-amd64.aci.asc');
      assert.match(rem?.etag ?? '', /^"[0-9a-f]{16}"$/);
    } finally {
      await db.close();
    }
  });

  it('discovery with no matching tag: rkt names every prefix it tried', () => {
    w.servePage('other.example', [['ac-discovery', `other.example/not-this ${TEMPLATE}`]]);
    const r = refused(['fetch', 'other.example/app/sub'], /^fetch: discovery failed for "other.example\/app\/sub": /);
    const line = r.stderr.trim();
    assert.match(line, /other\.example\/app\/sub: .*404/);
    assert.match(line, /other\.example: found no ACI meta tags/);
  });

  it('plain http is never tried without --insecure-options=http, even when https fails', async () => {
    fs.mkdirSync(path.join(w.www, 'other.example', 'plain'), { recursive: true });
    w.rules({ 'other.example/plain': { status: 503 }, 'other.example/': { status: 503 } });
    w.clearRequests();
    refused(['fetch', 'other.example/plain:1'], /^fetch: discovery failed for "other.example\/plain"/);
    assert.ok(w.requests().length > 0);
    assert.ok(w.requests().every((q) => q.scheme === 'https'), 'no http request');
    w.rules({});
  });

  it('a redirect from https to http is refused unless http is allowed', async () => {
    trust('example.com');
    await publish('example.com/down', '1');
    w.rules({ 'example.com/images/example.com/down-1-linux-amd64.aci': { redirect: 'http://example.com/images/example.com/down-1-linux-amd64.aci', onlyScheme: 'https' } });
    refused(['fetch', 'example.com/down:1'], /^fetch: refusing the redirect from https:\/\/example\.com\/images\/example\.com\/down-1-linux-amd64\.aci to http:\/\/example\.com\/.*--insecure-options=http$/);
    const ok = w.run(['--insecure-options=http', 'fetch', 'example.com/down:1']);
    assert.equal(ok.code, 0, ok.stderr);
    w.rules({});
  });

  it('with --insecure-options=http, an http-only site works after https fails', async () => {
    trust('example.com');
    w.servePage('other.example/http', [['ac-discovery', 'other.example/http http://example.com/images/{name}-{version}-{os}-{arch}.{ext}']]);
    const tar = await publish('other.example/http', '1');
    trust('other.example');
    // the page answers only over plain http: https gives 404 for the name and its parent
    w.rules({ 'other.example/http': { status: 404, onlyScheme: 'https' }, 'other.example/': { status: 404, onlyScheme: 'https' } });
    w.clearRequests();
    const r = w.run(['--insecure-options=http', 'fetch', 'other.example/http:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.ok(w.requests().some((q) => q.scheme === 'http' && q.path.endsWith('.aci')));
    w.rules({});
  });

  it("the manifest's name and the requested labels are checked before anything is stored", async () => {
    trust('example.com');
    const wrong = await publish('example.com/named', '1', { manifestName: 'example.com/impostor' });
    refused(['fetch', 'example.com/named:1'], /^fetch: error when reading the app name: "example.com\/named" expected but "example.com\/impostor" found$/);
    assertNoImage(wrong);
    const lab = await publish('example.com/labeled', '1', { labels: { channel: 'beta' } });
    refused(['fetch', 'example.com/labeled:1,channel=stable'], /^fetch: requested value for label "channel": "stable" differs from fetched aci label value: "beta"$/);
    assertNoImage(lab);
    assert.equal((await w.ok(['image', 'list', '--no-legend', '--fields=name'])).includes('impostor'), false);
  });

  it('a signature by an untrusted key is refused early, with the hint, before the image is downloaded', async () => {
    untrustAll();
    trust('example.com/signed');
    const tar = await publish('example.com/signed', '1', { signer: stranger });
    w.clearRequests();
    const r = refused(['fetch', 'example.com/signed:1'], /^fetch: image "example.com\/signed" verification failed: openpgp: signature made by unknown entity$/);
    assert.deepEqual(r.stderr.trim().split('\n').slice(0, 2), ['image: if you expected the signing key to change, try running:', 'image:     rkt trust --prefix "example.com/signed"']);
    assert.equal(w.requests().filter((q) => q.path.endsWith('.aci')).length, 0, 'image not downloaded');
    assertNoImage(tar);
    assert.deepEqual(w.files('cas/tmp'), []);
  });

  it('a missing signature and a server error are one line each, nothing stored', async () => {
    trust('example.com');
    const tar = await publish('example.com/nosig', '1');
    fs.rmSync(path.join(w.www, 'example.com', 'images', 'example.com', 'nosig-1-linux-amd64.aci.asc'));
    refused(['fetch', 'example.com/nosig:1'], /^fetch: error downloading the signature file: error downloading https:\/\/example.com\/images\/example.com\/nosig-1-linux-amd64.aci.asc: bad HTTP status code: 404$/);
    assertNoImage(tar);
    const tar2 = await publish('example.com/err', '1');
    w.rules({ 'example.com/images/example.com/err-1-linux-amd64.aci': { status: 500 } });
    refused(['fetch', 'example.com/err:1'], /^fetch: error downloading https:\/\/example.com\/images\/example.com\/err-1-linux-amd64.aci: bad HTTP status code: 500$/);
    assertNoImage(tar2);
    assert.deepEqual(w.files('cas/tmp'), []);
    w.rules({});
  });

  it('discovers and trusts the keys with --trust-keys-from-https, then fetches', async () => {
    untrustAll();
    w.servePage('example.com/auto', [
      ['ac-discovery', `example.com/auto ${TEMPLATE}`],
      ['ac-discovery-pubkeys', 'example.com/auto https://example.com/keys/builder.asc'],
    ]);
    const tar = await publish('example.com/auto', '1');
    const r = w.run(['--trust-keys-from-https', 'fetch', 'example.com/auto:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').pop(), '');
    assert.ok(r.stdout.includes('Trusting "https://example.com/keys/builder.asc" for prefix "example.com/auto" without fingerprint review.'));
    assert.ok(r.stdout.trim().endsWith(keyOf(tar).slice(0, 39)));
    assert.ok(fs.existsSync(path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'auto', key.fingerprint)));
  });

  it('without a terminal, key discovery explains and the fetch fails verification', async () => {
    untrustAll();
    w.servePage('example.com/ask', [
      ['ac-discovery', `example.com/ask ${TEMPLATE}`],
      ['ac-discovery-pubkeys', 'example.com/ask https://example.com/keys/builder.asc'],
    ]);
    const tar = await publish('example.com/ask', '1');
    // the key is shown (stdout) before rkt finds there is no terminal to ask on
    const r = refused(['fetch', 'example.com/ask:1'], /^fetch: image "example.com\/ask" verification failed: openpgp: signature made by unknown entity$/, '*');
    assert.match(r.stdout, /^gpg key fingerprint is: /);
    assert.match(r.stderr, /pubkey: To trust the key for "example.com\/ask", do one of the following:/);
    assert.match(r.stderr, /image: error adding keys: error reviewing key: unable to ask user to review fingerprint due to lack of tty/);
    assertNoImage(tar);
  });

  it('on a terminal, key discovery asks; yes trusts and fetches', async () => {
    untrustAll();
    const r = w.runTTY(['fetch', 'example.com/ask:1'], 'yes\n');
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /Are you sure you want to trust this key \(yes\/no\)\?/);
    assert.match(r.stdout, /signature verified:/);
    // progress on the terminal: the signature, then the image
    assert.match(r.stdout, /\rDownloading signature: \[=+\] \d+ B\/\d+ B\n/);
    assert.match(r.stdout, /\rDownloading ACI: \[=+\] [\d.]+ [KM]?B\/[\d.]+ [KM]?B\n/);
  });

  it('rkt trust --prefix discovers the keys of the prefix (ac-discovery-pubkeys)', async () => {
    untrustAll();
    w.servePage('example.com/keyed', [['ac-discovery-pubkeys', 'example.com/keyed https://example.com/keys/builder.asc']]);
    const r = w.run(['trust', '--prefix=example.com/keyed', '--skip-fingerprint-review']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stderr.trim().split('\n'), ['pubkey: prefix: "example.com/keyed"', 'pubkey: key: "https://example.com/keys/builder.asc"']);
    const dest = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'keyed', key.fingerprint);
    assert.match(r.stdout, new RegExp(`Added key for prefix "example.com/keyed" at "${dest}"`));
    assert.ok(fs.readFileSync(dest).equals(key.armored));
    // no pubkeys tag anywhere up the name
    w.servePage('other.example', [['ac-discovery', `other.example/x ${TEMPLATE}`]]);
    w.rules({});
    const none = w.run(['trust', '--prefix=other.example/nokeys', '--skip-fingerprint-review']);
    assert.equal(none.code, 254);
    assert.equal(none.stderr.trim(), 'trust: error determining key location: meta discovery on other.example/nokeys resulted in no keys');
    // nothing reachable at all
    w.rules({ 'other.example/down': { status: 500 }, 'other.example/': { status: 500 } });
    const down = w.run(['trust', '--prefix=other.example/down', '--skip-fingerprint-review']);
    assert.equal(down.code, 254);
    assert.match(down.stderr.trim(), /^trust: error determining key location: prefix meta discovery error: other.example\/down: .*bad HTTP status code: 500; other.example: .*bad HTTP status code: 500$/);
    w.rules({});
  });

  it('rkt prepare fetches a missing image by name (pull policy new) and verifies it', async () => {
    untrustAll();
    trust('example.com');
    const tar = await publish('example.com/podapp', '1');
    const r = w.run(['prepare', '--quiet', 'example.com/podapp:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^[0-9a-f-]{36}$/);
    assert.match(r.stderr, /image: signature verified:/);
    assert.ok(w.ok(['image', 'list', '--no-legend', '--full']).includes(keyOf(tar)));
    w.clearRequests();
    const again = w.run(['prepare', '--quiet', 'example.com/podapp:1']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(w.requests().length, 0, 'the second prepare uses the store');
    w.ok(['gc', '--grace-period=0s', '--expire-prepared=0s']);
  });

  it('docker images and malformed image strings: one clear line each', () => {
    const docker = w.run(['fetch', 'docker://busybox']);
    assert.equal(docker.code, 254);
    // docker images carry no signature: refused before any network access
    assert.equal(docker.stderr.trim(), 'fetch: signature verification for docker images is not supported (try --insecure-options=image)');
    for (const bad of ['example.com/app:1:2', 'example.com/app,version', 'Example.com/App']) {
      const r = w.run(['fetch', bad]);
      assert.equal(r.code, 254, bad);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trim(), /^fetch: (malformed|invalid)/);
    }
  });

  it('by name the bytes are verified as they download: a tampered image is refused, a resumed one verifies', async () => {
    w.servePage('example.com', [['ac-discovery', `example.com ${TEMPLATE}`]]);
    untrustAll();
    trust('example.com');
    const tar = await publish('example.com/tamper', '1');
    const file = path.join(w.www, 'example.com', 'images', 'example.com', 'tamper-1-linux-amd64.aci');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 30] ^= 0x55; // inside the gzip trailer region: the signature no longer matches
    fs.writeFileSync(file, bytes);
    refused(['fetch', 'example.com/tamper:1'], /^fetch: image "example.com\/tamper" verification failed: openpgp: invalid signature: hash tag doesn't match$/);
    assertNoImage(tar);
    assert.deepEqual(w.files('cas/tmp'), []);
    // a big image cut mid-way: the second fetch feeds the partial bytes to the check, then the rest
    const big = path.join(w.www, 'example.com', 'images', 'example.com', 'resumed-1-linux-amd64.aci');
    const payload = Buffer.alloc(3 << 20);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
    const bigTar = await writeAci(big, aciEntries(manifestFor('example.com/resumed', { version: '1' }), [{ name: 'p', data: payload }]), 'none');
    key.sign(big);
    w.rules({ 'example.com/images/example.com/resumed-1-linux-amd64.aci': { dieAfterBytes: 1 << 20, dieTimes: 1 } });
    const cut = w.run(['fetch', 'example.com/resumed:1']);
    assert.equal(cut.code, 254);
    w.clearRequests();
    const r = w.run(['fetch', 'example.com/resumed:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(bigTar).slice(0, 39));
    assert.match(r.stderr, /image: signature verified:/);
    assert.ok(w.requests().some((q) => q.path.endsWith('resumed-1-linux-amd64.aci') && /^bytes=\d+-$/.test(q.headers.range ?? '')), 'resumed with Range');
    w.rules({});
  });

  it('dependencies are fetched by name, recursively, each verified', async () => {
    untrustAll();
    trust('example.com');
    const base = await publish('example.com/base', '1');
    const mid = await publish('example.com/mid', '1', { dependencies: [{ imageName: 'example.com/base', labels: [{ name: 'version', value: '1' }] }] });
    const top = await publish('example.com/top', '1', { dependencies: [{ imageName: 'example.com/mid', labels: [{ name: 'version', value: '1' }] }] });
    const r = w.run(['fetch', 'example.com/top:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(top).slice(0, 39));
    assert.equal(r.stderr.split('signature verified:').length - 1, 3, 'three verifications');
    const list = w.ok(['image', 'list', '--no-legend', '--full', '--fields=id']);
    for (const t of [base, mid]) assert.ok(list.includes(keyOf(t)));
    // an unsigned dependency fails the whole fetch
    const lone = await publish('example.com/lonely', '1', { dependencies: [{ imageName: 'example.com/unsigned', labels: [{ name: 'version', value: '1' }] }] });
    const uns = await publish('example.com/unsigned', '1', { signer: stranger });
    refused(['fetch', 'example.com/lonely:1'], /^fetch: error fetching dependency example.com\/unsigned:1 of .*: image "example.com\/unsigned" verification failed: openpgp: signature made by unknown entity$/);
    assertNoImage(uns);
    void lone;
  });
});
