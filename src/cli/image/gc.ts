/** `rkt image gc` */
import { BaseCommand } from '../base';
import { ParsedString } from '../options';
import { parseGoDuration } from '../../util/duration';
import { withImageStore } from '../store-session';

export class ImageGcCommand extends BaseCommand {
  static paths = [['image', 'gc']];
  static usage = BaseCommand.Usage({
    description: 'garbage collect local store',
    details: `
      Removes tree stores that no pod references, then images not used for longer than the grace period
      (never one a running pod uses), and the leftovers of interrupted commands (temp files, blobs
      without an index row).
    `,
    examples: [
      ['Collect with the default 24h grace period', '$0 image gc'],
      ['Remove every unused image now', '$0 image gc --grace-period=0s'],
    ],
  });

  gracePeriod = ParsedString('--grace-period', parseGoDuration, { description: 'duration to wait since an image was last used before removing it (default 24h0m0s)' });

  async execute(): Promise<number> {
    const { gcImages } = await import('../../images/gc');
    const report = await withImageStore(this.globals(), (store) => gcImages(store, this.gracePeriod ?? 24 * 3_600_000));
    for (const id of report.removedTrees) this.log.print(`removed treestore "${id}"`);
    for (const t of report.treeErrors) this.log.print(`error removing treestore "${t.id}": ${t.error}`);
    for (const f of report.images.failed) this.log.print(f.error);
    for (const key of [...report.images.removed, ...report.images.stale]) this.out(`successfully removed aci for image: "${key}"`);
    if (report.images.removed.length > 0) this.log.print(`${report.images.removed.length} image(s) successfully removed`);
    if (report.images.failed.length > 0) {
      this.log.print(`${report.images.failed.length} image(s) cannot be removed`);
      return 254;
    }
    return 0;
  }
}
