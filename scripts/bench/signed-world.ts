/**
 * The set-up shared by the fetch benchmarks (fetch.ts, fetch-trace.ts): a network namespace with
 * the test web server on HTTPS, a signed gzip ACI of `mib` MiB (uncompressed) published for
 * discovery as example.com/bench:<mib>-0, and its key trusted for the prefix example.com.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { TestKey } from '../../__test__/e2e/support/gpg';
import { World } from '../../__test__/e2e/support/world';

export const REPO = path.resolve(__dirname, '..', '..', '..');

export interface SignedWorld {
  w: World;
  /** the image's HTTPS URL, its path on the server (`images/…`) and its file on disk */
  url: string;
  rel: string;
  aci: string;
  /** GNUPGHOME of the signing key, for `gpg --verify` */
  gpgHome: string;
  /** uncompressed and compressed sizes */
  tarBytes: number;
  aciBytes: number;
  /** stops gpg's agent and removes everything */
  cleanup: () => void;
}

export async function signedWorld(mib: number): Promise<SignedWorld> {
  const w = new World({ netns: true });
  let key: TestKey | undefined;
  const cleanup = () => {
    key?.kill();
    w.cleanup();
  };
  try {
    key = new TestKey(w.path('keys'), 'bench', 'rsa');
    const rel = `images/example.com/bench-${mib}-0-linux-amd64.aci`;
    const aci = path.join(w.www, 'example.com', rel);
    fs.mkdirSync(path.dirname(aci), { recursive: true });
    const tar = w.path('img.tar');
    spawnSync(process.execPath, [path.join(REPO, 'dist/scripts/bench/make-tar.js'), tar, String(mib), '0'], { stdio: 'inherit' });
    const tarBytes = fs.statSync(tar).size;
    spawnSync('bash', ['-c', `gzip -6 -c '${tar}' > '${aci}'`]);
    fs.rmSync(tar);
    const aciBytes = fs.statSync(aci).size;
    key.sign(aci);
    w.servePage('example.com', [['ac-discovery', 'example.com https://example.com/images/{name}-{version}-{os}-{arch}.{ext}']]);
    const d = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, key.fingerprint), key.armored);
    await w.start();
    return { w, url: `https://example.com/${rel}`, rel, aci, gpgHome: key.home, tarBytes, aciBytes, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
