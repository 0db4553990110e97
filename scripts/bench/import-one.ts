/**
 * Imports one ACI through the addon into a scratch store dir and prints
 * `seconds maxRssMiB` — used by the import benchmarks.
 * usage: node import-one.js FILE TMPDIR
 */
import * as fs from 'node:fs';
import { native } from '../../src/native';

async function main(): Promise<void> {
  const [file, tmp] = process.argv.slice(2);
  const t0 = process.hrtime.bigint();
  const r = await native.importAci(file, tmp);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.rmSync(r.tmpPath, { force: true });
  process.stdout.write(`${secs.toFixed(3)} ${(process.resourceUsage().maxRSS / 1024).toFixed(1)}\n`);
}

main().catch((e) => {
  process.stderr.write(`import-one: ${(e as Error).message}\n`);
  process.exit(1);
});
