/**
 * Pulls and converts one docker:// image into a fresh store without rendering its tree, and prints
 * `seconds maxRssMiB` — the "pull + convert + store" part of scripts/bench/docker-pull.sh.
 * usage: node docker-pull-one.js DATADIR docker://127.0.0.1:PORT/NAME:TAG
 */
import { ImageStore } from '../../src/store/image-store';
import { fetchImage } from '../../src/fetch/fetch';

async function main(): Promise<void> {
  const [dataDir, ref] = process.argv.slice(2);
  const t0 = process.hrtime.bigint();
  const store = await ImageStore.open(dataDir);
  try {
    await fetchImage(store, ref, {
      insecureImage: true,
      pullPolicy: 'update',
      renderTree: false,
      log: () => undefined,
      env: { insecure: new Set(['image', 'http']) },
    });
  } finally {
    await store.close();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${secs.toFixed(3)} ${(process.resourceUsage().maxRSS / 1024).toFixed(1)}\n`);
}

main().catch((e) => {
  process.stderr.write(`docker-pull-one: ${(e as Error).message}\n`);
  process.exit(1);
});
