/** `rkt version` (rkt/version.go). */
import { BaseCommand } from './base';
import { packageVersion } from '../util/package-root';

export const APPC_VERSION = '0.8.11';
export const FEATURES = '-TPM -SDJOURNAL';

const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

/** The package version from package.json. */
export function rktVersion(): string {
  try {
    return packageVersion();
  } catch {
    return 'unknown';
  }
}

/** The lines `rkt version` prints. */
export function versionLines(): string[] {
  return [
    `rkt Version: ${rktVersion()}`,
    `appc Version: ${APPC_VERSION}`,
    `Node Version: ${process.version}`,
    `OS/Arch: ${process.platform}/${GO_ARCH[process.arch] ?? process.arch}`,
    `Features: ${FEATURES}`,
  ];
}

export class VersionCommand extends BaseCommand {
  static paths = [['version']];
  static usage = BaseCommand.Usage({
    description: 'print the version and exit',
    details: 'Print the version of rkt, and various build and configuration information.',
    examples: [['Print the version', '$0 version']],
  });

  async execute(): Promise<number> {
    this.out(versionLines().join('\n'));
    return 0;
  }
}
