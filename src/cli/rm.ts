/** `rkt rm UUID... | --uuid-file=FILE` */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { podArguments } from './uuid-args';
import { RktError } from '../errors';

export class RmCommand extends BaseCommand {
  static paths = [['rm']];
  static usage = BaseCommand.Usage({
    description: 'remove all files and resources associated with an exited pod',
    details: 'Removes exited and prepared pods at once (unmounting their root filesystems); running pods are refused.',
    examples: [
      ['Remove a pod', '$0 rm c9fad0e6'],
      ['Remove the pod whose UUID is in a file', '$0 rm --uuid-file=/tmp/uuid'],
    ],
  });

  uuidFile = Option.String('--uuid-file', { description: 'read pod UUID from file instead of argument' });
  uuids = Option.Rest();

  async execute(): Promise<number> {
    this.requireRoot();
    const args = podArguments(this.uuids, this.uuidFile);
    const { PodDirs } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const { removePod } = await import('../pod/gc');
    const layout = new DataLayout(this.globals().dataDir);
    const dirs = new PodDirs(layout.podsDir);
    let failed = 0;
    for (const a of args) {
      try {
        const uuid = dirs.resolveUuid(a);
        removePod(dirs, uuid, { treeDir: layout.treeDir, warn: (m) => this.log.print(m) });
        this.out(`"${uuid}"`);
      } catch (e) {
        failed++;
        this.log.error(e);
      }
    }
    if (failed) throw new RktError('EUSAGE', 'failed to remove one or more pods');
    return 0;
  }
}
