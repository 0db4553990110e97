/**
 * Renders an uncompressed ACI tar into DEST through the addon (as the tree store does) and prints
 * the seconds taken. MODE says how the blob is checked:
 * - `sha512`: hashed against its key (a row stored before blob digests existed);
 * - `digest`: checked against the BLAKE3 recorded at import (any later render);
 * - `verified`: not at all, as this process hashed it (the render right after an import or fetch).
 * usage: node render-one.js FILE.tar DEST MODE [SCRATCH] (SCRATCH: where the `digest` mode's import
 * writes, off the filesystem measured; default the system temp dir)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../src/native';

async function main(): Promise<void> {
  const [file, dest, mode, scratch = os.tmpdir()] = process.argv.slice(2);
  if (!['sha512', 'digest', 'verified'].includes(mode)) throw new Error(`unknown mode ${mode}`);
  const key = `sha512-${(await native.hashBlob(file)).slice(0, 64)}`;
  let blobDigest: string | undefined;
  if (mode === 'digest') {
    // What the import recorded for this blob (an import of a tar stores the tar as it is).
    const tmp = fs.mkdtempSync(path.join(scratch, 'render-one-'));
    try {
      blobDigest = (await native.importAci(file, tmp)).blobDigest;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  fs.mkdirSync(dest, { recursive: true });
  const t0 = process.hrtime.bigint();
  const stats = await native.renderTree([{ blobPath: file, key, level: 0, pathWhitelist: [], verified: mode === 'verified', blobDigest }], dest);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${secs.toFixed(3)} ${stats.files}\n`);
}

main().catch((e) => {
  process.stderr.write(`render-one: ${(e as Error).message}\n`);
  process.exit(1);
});
