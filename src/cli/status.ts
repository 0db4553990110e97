/** `rkt status [--wait[=…]] [--wait-ready[=…]] [--format=…] UUID | --uuid-file=FILE` */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { singlePodArgument } from './uuid-args';
import { RktError } from '../errors';

/** rkt's wait flags: bare or true → forever; false or 0 → no wait; a Go duration → timeout. */
export function parseWait(v: string | boolean | undefined): number | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true || v === '' || v === 'true') return Infinity;
  if (v === 'false' || v === '0') return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseGoDuration } = require('../util/duration') as typeof import('../util/duration');
  const ms = parseGoDuration(v);
  return ms < 0 ? Infinity : ms === 0 ? undefined : ms;
}

export class StatusCommand extends BaseCommand {
  static paths = [['status']];
  static usage = BaseCommand.Usage({
    description: 'check the status of a rkt pod',
    details: `
      Prints key=value lines: state, created, started, pid, exited, and app-<name>=<exit code> for
      each app once the pod has stopped. \`--wait\` waits for the pod to finish (optionally with a
      timeout such as \`--wait=10s\`), \`--wait-ready\` waits until its apps are started.
    `,
    examples: [
      ['Status of a pod', '$0 status c9fad0e6'],
      ['Wait up to a minute for it to exit', '$0 status --wait=1m c9fad0e6'],
      ['As JSON', '$0 status --format=json-pretty --uuid-file=/tmp/uuid'],
    ],
  });

  wait = Option.String('--wait', { tolerateBoolean: true, description: 'wait for the pod to exit (true, false or a duration)' });
  waitReady = Option.String('--wait-ready', { tolerateBoolean: true, description: 'wait for the pod to be ready (true, false or a duration)' });
  format = Option.String('--format', '', { description: 'json or json-pretty' });
  uuidFile = Option.String('--uuid-file', { description: 'read pod UUID from file instead of argument' });
  uuid = Option.String({ required: false });

  async execute(): Promise<number> {
    const arg = singlePodArgument(this.uuid, this.uuidFile, 1);
    const wait = parseWait(this.wait);
    const waitReady = parseWait(this.waitReady);
    if (!['', 'json', 'json-pretty'].includes(this.format)) throw new RktError('EUSAGE', `invalid argument "${this.format}" for "--format" flag: must be json or json-pretty`);
    const { PodDirs } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const { podInfo, isAfterRun, podToJson } = await import('../pod/info');
    const { waitForPod } = await import('../pod/wait');
    const dirs = new PodDirs(new DataLayout(this.globals().dataDir).podsDir);
    const uuid = dirs.resolveUuid(arg);
    if (waitReady !== undefined) await waitForPod(dirs, uuid, 'ready', waitReady);
    if (wait !== undefined) await waitForPod(dirs, uuid, 'finished', wait);
    const info = podInfo(dirs, uuid);
    if (this.format) {
      const { goJson } = await import('../util/go');
      this.out(goJson(podToJson(info), this.format === 'json-pretty'));
      return 0;
    }
    const { formatGoTime } = await import('../util/humanize');
    const lines = [`state=${info.state}`];
    if (info.created) lines.push(`created=${formatGoTime(info.created)}`);
    if (info.started) lines.push(`started=${formatGoTime(info.started)}`);
    if (info.state === 'running' || info.state === 'exited') lines.push('networks=');
    if (info.state === 'running' || isAfterRun(info.state)) {
      if (info.pid !== undefined) lines.push(`pid=${info.pid}`);
      lines.push(`exited=${info.state === 'exited' || info.state === 'exited garbage'}`);
    }
    if (info.state !== 'running') for (const a of info.apps) if (a.exitCode !== undefined) lines.push(`app-${a.name}=${a.exitCode}`);
    this.out(lines.join('\n'));
    return 0;
  }
}
