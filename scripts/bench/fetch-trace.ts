/**
 * One cold `rkt --debug fetch NAME` of a signed MIB MiB ACI over loopback HTTPS (the fetch
 * benchmark's set-up), printing each stderr line with the milliseconds since start: where a cold
 * fetch spends its time. usage: node dist/scripts/bench/fetch-trace.js [MIB]
 */
import { spawn } from 'node:child_process';
import { REPO, signedWorld } from './signed-world';

const MIB = Number(process.argv[2] ?? 256);

async function main(): Promise<void> {
  const { w, url, cleanup } = await signedWorld(MIB);
  try {
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
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
