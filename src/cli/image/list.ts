/** `rkt image list` */
import { Option } from 'clipanion';
import { BaseCommand } from '../base';
import { GoBool, ParsedString } from '../options';
import { RktError } from '../../errors';
import { withImageStore } from '../store-session';
import { parseFields, parseSort, LIST_FIELDS, type ListField, type SortField } from '../../images/list-options';
import { sinkFor } from '../../util/stdio';

export class ImageListCommand extends BaseCommand {
  static paths = [['image', 'list']];
  static usage = BaseCommand.Usage({
    description: 'list images in the local store',
    details: `
      Prints one row per stored image: its short ID (\`sha512-\` + 12 hex digits, usable with the other
      image commands), name with version label, size (image + rendered tree), import and last-use times.
    `,
    examples: [
      ['List images', '$0 image list'],
      ['Full IDs and exact times, no header', '$0 image list --full --no-legend'],
      ['Only IDs and names, by name descending', '$0 image list --fields=id,name --sort=name --order=desc'],
      ['As JSON', '$0 image list --format=json-pretty'],
    ],
  });

  fields = ParsedString<ListField[]>('--fields', parseFields, { description: `comma-separated list of fields to display. Accepted values: ${LIST_FIELDS.join(', ')}` });
  sort = ParsedString<SortField>('--sort', parseSort, { description: 'sort the output according to the provided field: name, importtime, lastused, size (default importtime)' });
  order = Option.String('--order', 'asc', { description: 'choose the sorting order: asc or desc (default "asc")' });
  noLegend = GoBool('--no-legend', false, { description: 'suppress a legend with the list' });
  full = GoBool('--full', false, { description: 'use long output format' });
  format = Option.String('--format', '', { description: 'choose the output format: json, json-pretty (default tabbed)' });

  async execute(): Promise<number> {
    if (this.order !== 'asc' && this.order !== 'desc') throw new RktError('EUSAGE', `invalid argument "${this.order}" for "--order" flag: must be asc or desc`);
    const format = this.format === '' || this.format === 'tabbed' ? 'tabbed' : this.format;
    if (format !== 'tabbed' && format !== 'json' && format !== 'json-pretty') {
      throw new RktError('EUSAGE', `invalid argument "${this.format}" for "--format" flag: must be json or json-pretty`);
    }
    const { renderImageList } = await import('../../images/list');
    const text = await withImageStore(this.globals(), async (store) => {
      const rows = [];
      for (const info of await store.list()) {
        const m = store.readManifest(info.blobKey);
        const version = m.labels?.find((l) => l.name === 'version')?.value;
        rows.push({ key: info.blobKey, displayName: version ? `${m.name}:${version}` : m.name, info });
      }
      return renderImageList(rows, {
        fields: this.fields ?? [...LIST_FIELDS],
        sort: this.sort ?? 'importtime',
        order: this.order as 'asc' | 'desc',
        noLegend: this.noLegend,
        full: this.full,
        format,
      });
    });
    sinkFor(this.context, 'stdout')(text);
    return 0;
  }
}
