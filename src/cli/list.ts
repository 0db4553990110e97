/** `rkt list` */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { GoBool } from './options';
import { RktError } from '../errors';
import { sinkFor } from '../util/stdio';

export class ListCommand extends BaseCommand {
  static paths = [['list']];
  static usage = BaseCommand.Usage({
    description: 'list pods',
    details: `
      One row per app: pod UUID, app, image name, state, creation and start times. \`--full\` shows
      full UUIDs, image IDs and absolute times.
    `,
    examples: [
      ['List pods', '$0 list'],
      ['Full details without header', '$0 list --full --no-legend'],
      ['As JSON', '$0 list --format=json-pretty'],
    ],
  });

  full = GoBool('--full', false, { description: 'use long output format' });
  noLegend = GoBool('--no-legend', false, { description: 'suppress a legend with the list' });
  format = Option.String('--format', '', { description: 'json or json-pretty' });

  async execute(): Promise<number> {
    if (!['', 'json', 'json-pretty'].includes(this.format)) throw new RktError('EUSAGE', `invalid argument "${this.format}" for "--format" flag: must be json or json-pretty`);
    const { PodDirs } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const { podInfo, podToJson } = await import('../pod/info');
    const dirs = new PodDirs(new DataLayout(this.globals().dataDir).podsDir);
    const pods = dirs
      .list(['prepare', 'prepared', 'run', 'exited-garbage'])
      .sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0))
      .map((p) => podInfo(dirs, p.uuid, p.dir, { statuses: this.format !== '' }))
      .filter((i) => i.dir !== undefined);
    if (this.format) {
      const { goJson } = await import('../util/go');
      this.out(goJson(pods.map(podToJson), this.format === 'json-pretty'));
      return 0;
    }
    const { formatTable } = await import('../util/tabwriter');
    const { formatGoTime, humanizeTime } = await import('../util/humanize');
    const time = (d: Date | undefined) => (d ? (this.full ? formatGoTime(d) : humanizeTime(d)) : '');
    const rows: string[][] = [];
    if (!this.noLegend) rows.push(this.full ? ['UUID', 'APP', 'IMAGE NAME', 'IMAGE ID', 'STATE', 'CREATED', 'STARTED', 'NETWORKS'] : ['UUID', 'APP', 'IMAGE NAME', 'STATE', 'CREATED', 'STARTED', 'NETWORKS']);
    for (const p of pods) {
      const uuid = this.full ? p.uuid : p.uuid.slice(0, 8);
      const apps = p.apps.length ? p.apps : [{ name: '-', imageName: '-', imageId: '' }];
      apps.forEach((a, i) => {
        const first = i === 0;
        const cells = [first ? uuid : '', a.name, a.imageName];
        if (this.full) cells.push(a.imageId.slice(0, 19));
        cells.push(first ? p.state : '', first ? time(p.created) : '', first ? time(p.started) : '', '');
        rows.push(cells);
      });
    }
    if (rows.length) sinkFor(this.context, 'stdout')(formatTable(rows));
    return 0;
  }
}
