/**
 * `rkt trust`: the texts and files of rkt's trust flow, with keys made by gpg, key files and key
 * URLs served over HTTPS (a test CA) and plain HTTP on loopback, the review on a real pseudo-terminal,
 * and the refusals (no TTY, implicit root trust, http without --insecure-allow-http, bad TLS).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestKey } from './support/gpg';
import { World } from './support/world';

const FPR_RE = /^gpg key fingerprint is: ([0-9A-F]{4} ){4}[0-9A-F]{4}  ([0-9A-F]{4} ){4}[0-9A-F]{4}$/m;

function spaced(fpr: string): string {
  const g = fpr.toUpperCase().match(/.{4}/g)!;
  return `${g.slice(0, 5).join(' ')}  ${g.slice(5).join(' ')}`;
}

describe('rkt trust', () => {
  const w = new World();
  let rsa: TestKey;
  let ed: TestKey;
  before(async () => {
    rsa = new TestKey(w.path('keys'), 'rsa', 'rsa');
    ed = new TestKey(w.path('keys'), 'ed', 'ed25519-subkey');
    w.serve('127.0.0.1', 'keys/rsa.asc', rsa.armored);
    await w.start();
  });
  after(() => {
    rsa?.kill();
    ed?.kill();
    w.cleanup();
  });
  const stored = (prefix: string, fpr: string) => path.join(w.localConfig, 'trustedkeys', 'prefix.d', prefix, fpr);

  it('trusts a key file for a prefix without review, storing the bytes as given', () => {
    const r = w.run(['trust', '--prefix=example.com/app', '--skip-fingerprint-review', ed.publicKeyFile]);
    assert.equal(r.code, 0, r.stderr);
    const dest = stored('example.com/app', ed.fingerprint);
    assert.deepEqual(r.stderr.split('\n').filter(Boolean), ['pubkey: prefix: "example.com/app"', `pubkey: key: "${ed.publicKeyFile}"`]);
    const [sub] = ed.subkeyFingerprints();
    assert.deepEqual(r.stdout.split('\n').filter(Boolean), [
      `gpg key fingerprint is: ${spaced(ed.fingerprint)}`,
      `    Subkey fingerprint: ${spaced(sub)}`,
      `\t${ed.uid}`,
      `Trusting "${ed.publicKeyFile}" for prefix "example.com/app" without fingerprint review.`,
      `Added key for prefix "example.com/app" at "${dest}"`,
    ]);
    assert.ok(fs.readFileSync(dest).equals(ed.armored));
    assert.equal(fs.statSync(dest).mode & 0o777, 0o644);
    const again = w.run(['trust', '--prefix=example.com/app', '--skip-fingerprint-review', ed.publicKeyFile]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, new RegExp(`Key "${ed.publicKeyFile}" already in the keystore`));
  });

  it('asks on a terminal until the answer is yes or no', () => {
    const r = w.runTTY(['trust', '--prefix=example.com/tty', rsa.publicKeyFile], 'maybe\nyes\n');
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, FPR_RE);
    assert.match(r.stdout, /Are you sure you want to trust this key \(yes\/no\)\? Please enter 'yes' or 'no'/);
    assert.match(r.stdout, /Trusting ".*" for prefix "example.com\/tty" after fingerprint review\./);
    assert.ok(fs.existsSync(stored('example.com/tty', rsa.fingerprint)));
  });

  it('a "no" stores nothing and still exits 0', () => {
    const r = w.runTTY(['trust', '--prefix=example.com/no', rsa.publicKeyFile], 'no\n');
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, new RegExp(`pubkey: not trusting "${rsa.publicKeyFile}"`));
    assert.equal(fs.existsSync(path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'no')), false);
  });

  it('without a terminal it explains what to do and refuses', () => {
    const r = w.run(['trust', '--prefix=example.com/notty', rsa.publicKeyFile]);
    assert.equal(r.code, 254);
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines.slice(2), [
      'pubkey: To trust the key for "example.com/notty", do one of the following:',
      'pubkey:  - call rkt with --trust-keys-from-https',
      'pubkey:  - run: rkt trust --prefix "example.com/notty"',
      'trust: error adding keys: error reviewing key: unable to ask user to review fingerprint due to lack of tty',
    ]);
    assert.equal(fs.existsSync(path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'notty')), false);
  });

  it('--root stores in root.d', () => {
    const r = w.run(['trust', '--root', '--skip-fingerprint-review', rsa.publicKeyFile]);
    assert.equal(r.code, 0, r.stderr);
    const dest = path.join(w.localConfig, 'trustedkeys', 'root.d', rsa.fingerprint);
    assert.match(r.stdout, new RegExp(`Added root key at "${dest}"`));
    assert.ok(fs.existsSync(dest));
    fs.rmSync(dest);
  });

  it('without --prefix, --root or keys it prints the usage and exits 254', () => {
    const r = w.run(['trust']);
    assert.equal(r.code, 254);
    assert.match(r.stderr, /rkt trust/);
    assert.match(r.stderr, /--prefix/);
  });

  it('refuses implicit root trust, --root with --prefix, a scheme in the prefix, and no keystore', () => {
    const cases: [string[], RegExp][] = [
      [['trust', rsa.publicKeyFile], /^trust: aborting due to implicit unbounded trust \(root domain\)/],
      [['trust', '--root', '--prefix=example.com', rsa.publicKeyFile], /^trust: --root and --prefix usage mutually exclusive$/],
      [['trust', '--prefix=https://example.com', rsa.publicKeyFile], /^trust: --prefix must not contain a URL scheme, omit <scheme>:\/\/$/],
      [['--insecure-options=image', 'trust', '--prefix=example.com', rsa.publicKeyFile], /^trust: could not get the keystore$/],
    ];
    for (const [args, re] of cases) {
      const r = w.run(args);
      assert.equal(r.code, 254, args.join(' '));
      assert.match(r.stderr.trim(), re);
    }
    assert.equal(fs.existsSync(path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', rsa.fingerprint)), false);
  });

  it('fetches a key over https from a server whose certificate our CA signed', () => {
    const url = `${w.base('https')}/keys/rsa.asc`;
    const r = w.run(['trust', '--prefix=example.com/https', '--skip-fingerprint-review', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Trusting "${url}" for prefix "example.com/https"`));
    assert.ok(fs.readFileSync(stored('example.com/https', rsa.fingerprint)).equals(rsa.armored));
  });

  it('--trust-keys-from-https accepts an https key without a terminal', () => {
    const url = `${w.base('https')}/keys/rsa.asc`;
    const r = w.run(['--trust-keys-from-https', 'trust', '--prefix=example.com/auto', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /without fingerprint review\./);
  });

  it('refuses http key URLs unless --insecure-allow-http', () => {
    const url = `${w.base('http')}/keys/rsa.asc`;
    const r = w.run(['trust', '--prefix=example.com/http', '--skip-fingerprint-review', url]);
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim(), /^trust: error adding keys: --insecure-allow-http required for http URLs$/);
    assert.equal(w.requests().filter((q) => q.scheme === 'http').length, 0, 'no plain-HTTP request at all');
    const ok = w.run(['trust', '--prefix=example.com/http', '--skip-fingerprint-review', '--insecure-allow-http', url]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('reports a key download failure and stores nothing', () => {
    const r = w.run(['trust', '--prefix=example.com/missing', '--skip-fingerprint-review', `${w.base('https')}/keys/nope.asc`]);
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim(), /^trust: error adding keys: error fetching https:\/\/127\.0\.0\.1:\d+\/keys\/nope\.asc: bad HTTP status code: 404$/);
    assert.equal(fs.existsSync(path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'missing')), false);
  });

  it('refuses a certificate it cannot verify, unless --insecure-options=tls', () => {
    const url = `${w.base('https')}/keys/rsa.asc`;
    const r = w.run(['trust', '--prefix=example.com/tls', '--skip-fingerprint-review', url], { env: { ...process.env } });
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim(), /^trust: error adding keys: error fetching .*: .*(self-signed|unable to verify|certificate)/i);
    const ok = w.run(['--insecure-options=tls', 'trust', '--prefix=example.com/tls', '--skip-fingerprint-review', url], { env: { ...process.env } });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('a file that is not a key is refused', () => {
    fs.writeFileSync(w.path('junk.asc'), 'not a key\n');
    const r = w.run(['trust', '--prefix=example.com/junk', '--skip-fingerprint-review', w.path('junk.asc')]);
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim(), /^trust: error adding keys: error reading key .*junk\.asc: /);
  });
});
