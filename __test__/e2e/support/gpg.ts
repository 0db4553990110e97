/**
 * Test keys made by the real gpg at test time, each in its own GNUPGHOME under the test's temp dir.
 * `kill()` stops the gpg-agent that gpg started for that home.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

export type KeyKind = 'rsa' | 'ed25519' | 'ed25519-subkey';

function gpg(home: string, args: string[], input?: string | Buffer): string {
  const r = spawnSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env: { ...process.env, GNUPGHOME: home }, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export class TestKey {
  readonly home: string;
  readonly fingerprint: string;
  /** the armored public key file */
  readonly publicKeyFile: string;
  readonly uid: string;

  constructor(dir: string, name: string, kind: KeyKind) {
    this.home = path.join(dir, `gnupg-${name}`);
    fs.mkdirSync(this.home, { recursive: true, mode: 0o700 });
    this.uid = `${name} <${name}@example.com>`;
    if (kind === 'rsa') gpg(this.home, ['--quick-gen-key', this.uid, 'rsa2048', 'sign', 'never']);
    else if (kind === 'ed25519') gpg(this.home, ['--quick-gen-key', this.uid, 'ed25519', 'sign', 'never']);
    else gpg(this.home, ['--quick-gen-key', this.uid, 'ed25519', 'cert', 'never']);
    const colons = gpg(this.home, ['--with-colons', '--list-keys']);
    this.fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)![1].toLowerCase();
    if (kind === 'ed25519-subkey') gpg(this.home, ['--quick-add-key', this.fingerprint.toUpperCase(), 'ed25519', 'sign', 'never']);
    this.publicKeyFile = path.join(dir, `${name}.pub.asc`);
    fs.writeFileSync(this.publicKeyFile, gpg(this.home, ['--armor', '--export']));
  }

  /** The armored public key bytes. */
  get armored(): Buffer {
    return fs.readFileSync(this.publicKeyFile);
  }

  /** Writes `out` (default FILE.asc), an armored detached signature of `file`. */
  sign(file: string, out = `${file}.asc`): string {
    gpg(this.home, ['--yes', '--armor', '--detach-sign', '-o', out, file]);
    return out;
  }

  /** The subkey fingerprints (lowercase), from gpg. */
  subkeyFingerprints(): string[] {
    const colons = gpg(this.home, ['--with-colons', '--with-subkey-fingerprints', '--list-keys']);
    return [...colons.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1].toLowerCase()).slice(1);
  }

  kill(): void {
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: this.home } });
  }
}
