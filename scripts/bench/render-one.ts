/**
 * Renders an uncompressed ACI tar into DEST through the addon (as the tree store does) and prints
 * the seconds taken. With `verified`, the blob counts as hashed by this process (as after an import
 * or a fetch, whose render does not check it again). usage: node render-one.js FILE.tar DEST [verified]
 */
import * as fs from 'node:fs';
import { native } from '../../src/native';

async function main(): Promise<void> {
  const [file, dest, verified] = process.argv.slice(2);
  const key = `sha512-${(await native.hashBlob(file)).slice(0, 64)}`;
  fs.mkdirSync(dest, { recursive: true });
  const t0 = process.hrtime.bigint();
  const stats = await native.renderTree([{ blobPath: file, key, level: 0, pathWhitelist: [], verified: verified === 'verified' }], dest);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${secs.toFixed(3)} ${stats.files}\n`);
}

main().catch((e) => {
  process.stderr.write(`render-one: ${(e as Error).message}\n`);
  process.exit(1);
});
