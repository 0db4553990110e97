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
  // The store keeps a stage1 by name and version and prefers that copy: a rebuilt binary must get a
  // new version, or every existing data dir would go on running the old one.
  const build = createHash('sha256').update(fs.readFileSync(bin)).digest('hex').slice(0, 12);
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
  await writeAci(
    out,
    aciEntries(manifest, [
      { name: 'init', data: fs.readFileSync(bin), mode: 0o755 },
      { name: 'enter', type: 'symlink', linkname: 'init' },
      { name: 'gc', type: 'symlink', linkname: 'init' },
      { name: 'stop', type: 'symlink', linkname: 'init' },
      { name: 'opt', type: 'directory' },
      { name: 'opt/stage2', type: 'directory' },
      { name: 'rkt', type: 'directory' },
      { name: 'rkt/status', type: 'directory' },
      { name: 'rkt/env', type: 'directory' },
      { name: 'etc', type: 'directory' },
    ]),
  );
}

main().catch((e) => {
  process.stderr.write(`build-stage1-aci: ${(e as Error).message}\n`);
  process.exit(1);
});
