/**
 * Fetch benchmark (not a test): a signed gzip ACI of MIB MiB (default 256, uncompressed) served by
 * the test web server over HTTPS inside a network namespace of our own, fetched by name (discovery,
 * signature, download, verification, import) from a cold store, against the peers on the same
 * files in the same run: `curl -s URL | gzip -dc | sha512sum` plus `gpg --verify` of the signature.
 * Then the warm fetch: by URL with a fresh Cache-Control max-age (no request at all) and by name
 * with --pull-policy=new, end to end through the CLI.
 * usage: node dist/scripts/bench/fetch.js [MIB] [RUNS]
 */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { World } from '../../__test__/e2e/support/world';
import { REPO, signedWorld } from './signed-world';

const MIB = Number(process.argv[2] ?? 256);
const RUNS = Number(process.argv[3] ?? 3);

function sh(w: World, script: string, env: NodeJS.ProcessEnv = {}): number {
  const [cmd, args] = w.wrap('bash', ['-c', script]);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr}`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (bytes: number, s: number) => (bytes / 1048576 / s).toFixed(0);

async function main(): Promise<void> {
  const { w, url, rel, aci, gpgHome, tarBytes, aciBytes, cleanup } = await signedWorld(MIB);
  try {
    const rkt = (data: string, args: string) =>
      `NODE_EXTRA_CA_CERTS='${w.pki.caFile}' node '${REPO}/bin/rkt' --dir='${data}' --local-config='${w.localConfig}' --system-config='${w.systemConfig}' ${args} >/dev/null`;

    const peerDl: number[] = [];
    const peerGpg: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      peerDl.push(sh(w, `curl -sf --cacert '${w.pki.caFile}' '${url}' | gzip -dc | sha512sum >/dev/null`));
      peerGpg.push(sh(w, `curl -sf --cacert '${w.pki.caFile}' -o '${w.path('sig.asc')}' '${url}.asc' && gpg --batch -q --verify '${w.path('sig.asc')}' '${aci}' 2>/dev/null`, { GNUPGHOME: gpgHome }));
      const data = w.path(`data${i}`);
      ours.push(sh(w, rkt(data, `fetch example.com/bench:${MIB}-0`)));
      if (i < RUNS - 1) fs.rmSync(data, { recursive: true, force: true });
    }
    // the store's own share (decompress + hash + write, and the tree render when root): the same
    // file imported from disk
    const local = median(Array.from({ length: RUNS }, (_, i) => sh(w, rkt(w.path(`local${i}`), `--insecure-options=image fetch '${aci}'`))));
    const peer = median(peerDl) + median(peerGpg);
    const cold = median(ours);
    // warm: by name from the store, and by URL with a fresh max-age (the URL's first fetch records it)
    const warmData = w.path(`data${RUNS - 1}`);
    const warmName = median(Array.from({ length: RUNS }, () => sh(w, rkt(warmData, `fetch --pull-policy=new example.com/bench:${MIB}-0`))));
    w.rules({ [`example.com/${rel}`]: { headers: { 'cache-control': 'max-age=3600' } } });
    sh(w, rkt(warmData, `fetch '${url}'`));
    w.clearRequests();
    const warmURL = median(Array.from({ length: RUNS }, () => sh(w, rkt(warmData, `fetch '${url}'`))));
    const requests = w.requests().length;
    const version = median(Array.from({ length: RUNS }, () => sh(w, `node '${REPO}/bin/rkt' version >/dev/null`)));

    console.log(`fetch of a signed ${MIB} MiB ACI (${(aciBytes / 1048576).toFixed(0)} MiB gzip) from a loopback HTTPS server, median of ${RUNS} runs`);
    console.log(`  curl | gzip -dc | sha512sum : ${median(peerDl).toFixed(3)} s  ${mbps(tarBytes, median(peerDl))} MB/s`);
    console.log(`  curl sig + gpg --verify     : ${median(peerGpg).toFixed(3)} s`);
    console.log(`  peers' sum                  : ${peer.toFixed(3)} s  ${mbps(tarBytes, peer)} MB/s`);
    console.log(`  rkt fetch NAME (cold)       : ${cold.toFixed(3)} s  ${mbps(tarBytes, cold)} MB/s  (${(peer / cold).toFixed(2)}x the peers' speed)`);
    console.log(`  of which store${process.getuid?.() === 0 ? ' + tree render' : ''} (same file from disk, unverified): ${local.toFixed(3)} s`);
    console.log(`  so discovery + download + verification: ${(cold - local).toFixed(3)} s (the peers, who also decompress and hash: ${peer.toFixed(3)} s)`);
    console.log(`  rkt fetch NAME (warm, new)  : ${(warmName * 1000).toFixed(0)} ms`);
    console.log(`  rkt fetch URL (warm, max-age): ${(warmURL * 1000).toFixed(0)} ms, ${requests} requests`);
    console.log(`  rkt version (CLI start-up)  : ${(version * 1000).toFixed(0)} ms`);
  } finally {
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
