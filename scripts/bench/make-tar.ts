/**
 * Writes an uncompressed ACI tar for benchmarks: `small` files of a few KiB plus large files up to
 * `mib` MiB in total, half random (incompressible) and half text-like, from a fixed seed.
 * usage: node make-tar.js OUT.tar MIB SMALL_FILES
 */
import * as fs from 'node:fs';
import { pack, type Header } from 'tar-stream';

let seed = 0x9e3779b9;
function fill(buf: Buffer, random: boolean): Buffer {
  if (random) {
    for (let i = 0; i + 4 <= buf.length; i += 4) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      buf.writeUInt32LE(seed >>> 0, i);
    }
  } else {
    const words = ['container ', 'pod ', 'image ', 'sha512 ', 'rootfs ', 'manifest\n', 'stage1 ', 'overlay '];
    let o = 0;
    while (o < buf.length) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      o += buf.write(words[seed % words.length], o);
    }
  }
  return buf;
}

async function main(): Promise<void> {
  const [out, mibArg, smallArg] = process.argv.slice(2);
  const total = Number(mibArg) * 1024 * 1024;
  const small = Number(smallArg);
  const p = pack();
  const ws = fs.createWriteStream(out);
  p.pipe(ws);
  const entry = (h: Partial<Header>, data?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const header = { mode: h.type === 'directory' ? 0o755 : 0o644, mtime: new Date(0), uid: 0, gid: 0, ...h } as Header;
      const cb = (e?: Error | null) => (e ? reject(e) : resolve());
      if (data) p.entry(header, data, cb);
      else p.entry(header, cb);
    });
  const manifest = { acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/bench', labels: [{ name: 'version', value: `${mibArg}-${small}` }, { name: 'os', value: 'linux' }, { name: 'arch', value: 'amd64' }] };
  await entry({ name: 'manifest' }, Buffer.from(JSON.stringify(manifest)));
  await entry({ name: 'rootfs', type: 'directory' });
  let written = 0;
  const dirs = Math.max(1, Math.ceil(small / 500));
  for (let d = 0; d < dirs; d++) await entry({ name: `rootfs/d${d}`, type: 'directory' });
  for (let i = 0; i < small; i++) {
    const size = 1024 + ((i * 7919) % 8192);
    // files grouped by directory, as tar(1) and image builders write them
    await entry({ name: `rootfs/d${Math.floor((i * dirs) / small)}/f${i}` }, fill(Buffer.alloc(size), i % 2 === 0));
    written += size;
  }
  let n = 0;
  const chunk = 16 * 1024 * 1024;
  while (written < total) {
    const size = Math.min(chunk, total - written);
    await entry({ name: `rootfs/large${n}` }, fill(Buffer.alloc(size), n % 2 === 0));
    written += size;
    n++;
  }
  p.finalize();
  await new Promise<void>((r) => ws.on('close', () => r()));
}

main().catch((e) => {
  process.stderr.write(`make-tar: ${(e as Error).message}\n`);
  process.exit(1);
});
