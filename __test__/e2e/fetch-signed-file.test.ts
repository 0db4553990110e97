/**
 * Signature verification of local ACI files (reference §5.2–5.3, rkt's tests/rkt_trust_test.go):
 * FILE.asc beside the image or --signature, keys by prefix and root, subkey signatures, vendor keys
 * masked by empty local files, and every way a check fails — each one line, exit 254, nothing stored.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aciEntries, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { keyOf, RktContext } from './harness';
import { TestKey } from './support/gpg';

function assertNothingStored(ctx: RktContext) {
  assert.deepEqual(ctx.files('cas/blob'), [], 'no blob');
  assert.deepEqual(ctx.files('cas/tmp'), [], 'no temp file');
  assert.equal(ctx.ok(['image', 'list', '--no-legend']).trim(), '', 'no index row');
}

function trustDir(base: string, prefix: string): string {
  return prefix === '' ? path.join(base, 'trustedkeys', 'root.d') : path.join(base, 'trustedkeys', 'prefix.d', prefix);
}

function place(base: string, prefix: string, key: TestKey, content?: Buffer) {
  const d = trustDir(base, prefix);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, key.fingerprint), content ?? key.armored);
}

describe('fetch of signed local files', () => {
  let rsa: TestKey;
  let ed: TestKey;
  let other: TestKey;
  const keys = new RktContext('rkt-keys-');
  let file = '';
  let tar: Buffer;
  before(async () => {
    rsa = new TestKey(keys.root, 'rsa', 'rsa');
    ed = new TestKey(keys.root, 'ed', 'ed25519-subkey');
    other = new TestKey(keys.root, 'other', 'ed25519');
    file = path.join(keys.root, 'app.aci');
    tar = await writeAci(file, aciEntries(manifestFor('example.com/app', { version: '1' }), [{ name: 'hello', data: 'hi\n' }]));
    rsa.sign(file);
    ed.sign(file, path.join(keys.root, 'app.ed.asc'));
    other.sign(file, path.join(keys.root, 'app.other.asc'));
  });
  after(() => {
    for (const k of [rsa, ed, other]) k?.kill();
    keys.cleanup();
  });

  function fresh(t: { after: (fn: () => void) => void }): RktContext {
    const ctx = new RktContext();
    t.after(() => ctx.cleanup());
    return ctx;
  }

  function refused(ctx: RktContext, args: string[], last: RegExp, before: string[] = []) {
    const r = ctx.run(args);
    assert.equal(r.code, 254, `stdout=${r.stdout} stderr=${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines.slice(0, -1), before);
    assert.match(lines[lines.length - 1], last);
    assertNothingStored(ctx);
  }

  it('verifies FILE.asc with an RSA key trusted for the prefix and prints the signer', (t) => {
    const ctx = fresh(t);
    place(ctx.localConfig, 'example.com/app', rsa);
    const r = ctx.run(['fetch', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.deepEqual(r.stderr.trim().split('\n'), ['image: signature verified:', `image:   ${rsa.uid}`]);
  });

  it('a signature by an ed25519 signing subkey is trusted through its primary key', (t) => {
    const ctx = fresh(t);
    place(ctx.localConfig, 'example.com', ed);
    const r = ctx.run(['fetch', file, '--signature', path.join(keys.root, 'app.ed.asc')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`image:   ${ed.uid}`));
  });

  it('a root key trusts every image; a system (vendor) key works until an empty local file masks it', (t) => {
    const ctx = fresh(t);
    place(ctx.systemConfig, '', rsa);
    assert.equal(ctx.run(['fetch', file]).code, 0);
    ctx.ok(['image', 'rm', keyOf(tar)]);
    place(ctx.localConfig, '', rsa, Buffer.alloc(0));
    refused(ctx, ['fetch', file], /^fetch: image "example.com\/app" verification failed: openpgp: signature made by unknown entity$/, [
      'image: If you expected the signing key to change, try running:',
      'image:     rkt trust --prefix "example.com/app"',
    ]);
  });

  it('an unsigned image: error opening signature file', (t) => {
    const ctx = fresh(t);
    place(ctx.localConfig, 'example.com/app', rsa);
    const bare = path.join(keys.root, 'bare.aci');
    fs.copyFileSync(file, bare);
    refused(ctx, ['fetch', bare], /^fetch: error opening signature file: .*bare\.aci\.asc/);
  });

  it('signed but untrusted, a key under another prefix, the wrong key under the right prefix: unknown entity', (t) => {
    const hint = ['image: If you expected the signing key to change, try running:', 'image:     rkt trust --prefix "example.com/app"'];
    const unknown = /^fetch: image "example.com\/app" verification failed: openpgp: signature made by unknown entity$/;
    const ctx = fresh(t);
    refused(ctx, ['fetch', file], unknown, hint);
    place(ctx.localConfig, 'example.com/other', rsa);
    refused(ctx, ['fetch', file], unknown, hint);
    place(ctx.localConfig, 'example.com/app', other);
    refused(ctx, ['fetch', file], unknown, hint);
  });

  it('a tampered image, a tampered signature, a truncated signature', async (t) => {
    const ctx = fresh(t);
    place(ctx.localConfig, 'example.com/app', rsa);
    const bad = path.join(ctx.root, 'bad.aci');
    await writeAci(bad, aciEntries(manifestFor('example.com/app', { version: '1' }), [{ name: 'hello', data: 'HI\n' }]));
    fs.copyFileSync(`${file}.asc`, `${bad}.asc`);
    refused(ctx, ['fetch', bad], /^fetch: image "example.com\/app" verification failed: openpgp: invalid signature: hash tag doesn't match$/);
    const sig = fs.readFileSync(`${file}.asc`, 'utf8').split('\n');
    // flip a character in the signature value (the last body line before the armor checksum)
    const i = sig.findIndex((l) => l.startsWith('=')) - 1;
    sig[i] = (sig[i][0] === 'A' ? 'B' : 'A') + sig[i].slice(1);
    fs.writeFileSync(path.join(ctx.root, 'tampered.asc'), sig.join('\n'));
    refused(ctx, ['fetch', file, '--signature', path.join(ctx.root, 'tampered.asc')], /^fetch: image "example.com\/app" verification failed: /);
    fs.writeFileSync(path.join(ctx.root, 'trunc.asc'), fs.readFileSync(`${file}.asc`).subarray(0, 60));
    refused(ctx, ['fetch', file, '--signature', path.join(ctx.root, 'trunc.asc')], /^fetch: image "example.com\/app" verification failed: keystore: no valid signatures found in signature file$/);
  });

  it('a key file not named by its fingerprint is an error', (t) => {
    const ctx = fresh(t);
    const d = trustDir(ctx.localConfig, 'example.com/app');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, other.fingerprint), rsa.armored);
    refused(ctx, ['fetch', file], new RegExp(`^fetch: image "example.com/app" verification failed: keystore: error loading keyring: fingerprint mismatch: ".*${other.fingerprint}":"${rsa.fingerprint}"$`));
  });

  it('--insecure-options=image skips the check, with rkt\'s warning', (t) => {
    const ctx = fresh(t);
    const r = ctx.run(['--insecure-options=image', 'fetch', file]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr.trim(), 'image: warning: image signature verification has been disabled');
  });
});
