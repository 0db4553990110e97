/**
 * Packs the stage1 binary into the default stage1 ACI shipped with the package
 * (native/stage1-native.aci): /init plus /enter, /gc, /stop, with rkt's entrypoint annotations.
 * usage: node build-stage1-aci.js STAGE1_BINARY OUT.aci
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { writeAci, aciEntries } from './fixtures/aci';

async function main(): Promise<void> {
  const [bin, out] = process.argv.slice(2);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkgVersion: string = require('../../package.json').version;
  const init = fs.readFileSync(bin);
  const rootfs = [
    { name: 'init', data: init, mode: 0o755 },
    { name: 'enter', type: 'symlink' as const, linkname: 'init' },
    { name: 'gc', type: 'symlink' as const, linkname: 'init' },
    { name: 'stop', type: 'symlink' as const, linkname: 'init' },
    // No empty opt/stage2, rkt/ or etc/: stage0 and stage1 create them in each pod, and in the
    // pod's overlay a directory that comes from the image is copied up to its upper dir before
    // anything is written in it (a few tenths of a ms each), while a new one is made there directly.
  ];
  // The store keeps a stage1 by name and version and prefers that copy: a rebuilt binary or a
  // changed layout must get a new version, or every existing data dir would go on running the old one.
  const layout = JSON.stringify(rootfs.map(({ data: _, ...entry }) => entry));
  const build = createHash('sha256').update(init).update(layout).digest('hex').slice(0, 12);
  const version = `${pkgVersion}+${build}`;
  fs.writeFileSync(out.replace(/\.aci$/, '.version'), version + '\n');
  const manifest = {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name: 'coreos.com/rkt/stage1-native',
    labels: [
      { name: 'version', value: version },
      { name: 'os', value: 'linux' },
      { name: 'arch', value: 'amd64' },
    ],
    annotations: [
      { name: 'coreos.com/rkt/stage1/run', value: '/init' },
      { name: 'coreos.com/rkt/stage1/enter', value: '/enter' },
      { name: 'coreos.com/rkt/stage1/gc', value: '/gc' },
      { name: 'coreos.com/rkt/stage1/stop', value: '/stop' },
      { name: 'coreos.com/rkt/stage1/interface-version', value: '6' },
    ],
  };
  await writeAci(out, aciEntries(manifest, rootfs));
}

main().catch((e) => {
  process.stderr.write(`build-stage1-aci: ${(e as Error).message}\n`);
  process.exit(1);
});
