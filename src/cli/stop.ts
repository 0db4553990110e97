/** `rkt stop [--force] UUID... | --uuid-file=FILE` */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { podArguments } from './uuid-args';
import { GoBool } from './options';
import { RktError } from '../errors';

export class StopCommand extends BaseCommand {
  static paths = [['stop']];
  static usage = BaseCommand.Usage({
    description: 'stop a pod',
    details: `
      Asks each running pod's stage1 to stop it: its apps get SIGTERM and, if still running after
      the grace period, SIGKILL; \`--force\` kills them at once. The command returns once the pod
      has exited and its apps' exit statuses are recorded (see \`rkt status\`).
    `,
    examples: [
      ['Stop a pod', '$0 stop c9fad0e6'],
      ['Kill a pod', '$0 stop --force c9fad0e6'],
      ['Stop the pod whose UUID is in a file', '$0 stop --uuid-file=/tmp/uuid'],
    ],
  });

  force = GoBool('--force', false, { description: 'forced stopping' });
  uuidFile = Option.String('--uuid-file', { description: 'read pod UUID from file instead of argument' });
  uuids = Option.Rest();

  async execute(): Promise<number> {
    this.requireRoot();
    const args = podArguments(this.uuids, this.uuidFile, 1);
    const { PodDirs } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const { stopPod } = await import('../pod/stop');
    const layout = new DataLayout(this.globals().dataDir);
    const dirs = new PodDirs(layout.podsDir);
    let failed = 0;
    for (const a of args) {
      try {
        const uuid = dirs.resolveUuid(a);
        const r = stopPod(dirs, uuid, { force: this.force, treeDir: layout.treeDir });
        this.out(r === 'already-stopped' ? `pod "${uuid}" is already stopped` : `"${uuid}"`);
      } catch (e) {
        failed++;
        this.log.error(e);
      }
    }
    if (failed) throw new RktError('EUSAGE', `failed to stop ${failed} pod(s)`);
    return 0;
  }
}
