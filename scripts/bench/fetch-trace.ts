/**
 * One cold `rkt --debug fetch NAME` of a signed MIB MiB ACI over loopback HTTPS (the fetch
 * benchmark's set-up), printing each stderr line with the milliseconds since start: where a cold
 * fetch spends its time. usage: node dist/scripts/bench/fetch-trace.js [MIB]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { TestKey } from '../../__test__/e2e/support/gpg';
import { World } from '../../__test__/e2e/support/world';

const MIB = Number(process.argv[2] ?? 256);
const REPO = path.resolve(__dirname, '..', '..', '..');

async function main(): Promise<void> {
  const w = new World({ netns: true });
  let key: TestKey | undefined;
  try {
    key = new TestKey(w.path('keys'), 'bench', 'rsa');
    const rel = `images/example.com/bench-${MIB}-0-linux-amd64.aci`;
    const aci = path.join(w.www, 'example.com', rel);
    fs.mkdirSync(path.dirname(aci), { recursive: true });
    const tar = w.path('img.tar');
    await new Promise((res) => spawn(process.execPath, [path.join(REPO, 'dist/scripts/bench/make-tar.js'), tar, String(MIB), '0'], { stdio: 'inherit' }).on('exit', res));
    await new Promise((res) => spawn('bash', ['-c', `gzip -6 -c '${tar}' > '${aci}'`]).on('exit', res));
    key.sign(aci);
    w.servePage('example.com', [['ac-discovery', 'example.com https://example.com/images/{name}-{version}-{os}-{arch}.{ext}']]);
    const d = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, key.fingerprint), key.armored);
    await w.start();
    const url = `https://example.com/${rel}`;
    for (const peer of [`curl -sf --cacert '${w.pki.caFile}' '${url}' -o /dev/null`, `curl -sf --cacert '${w.pki.caFile}' '${url}' | gzip -dc | sha512sum`]) {
      const [c, a] = w.wrap('bash', ['-c', peer]);
      const t = process.hrtime.bigint();
      await new Promise((res) => spawn(c, a, { stdio: 'ignore' }).on('exit', res));
      console.log(`peer ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms: ${peer.replace(/--cacert '[^']*' /, '')}`);
    }
    const script = `NODE_EXTRA_CA_CERTS='${w.pki.caFile}' node '${REPO}/bin/rkt' --debug --dir='${w.path('data')}' --local-config='${w.localConfig}' --system-config='${w.systemConfig}' fetch example.com/bench:${MIB}-0`;
    const [cmd, args] = w.wrap('bash', ['-c', script]);
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let buf = '';
    p.stderr.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        console.log(`${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0).padStart(6)} ms  ${buf.slice(0, i)}`);
        buf = buf.slice(i + 1);
      }
    });
    await new Promise((res) => p.on('exit', res));
    console.log(`${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0).padStart(6)} ms  (exit)`);
  } finally {
    key?.kill();
    w.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
