/** `rkt image rm IMAGE...` */
import { Option } from 'clipanion';
import { BaseCommand } from '../base';
import { RktError } from '../../errors';
import { withImageStore } from '../store-session';

export class ImageRmCommand extends BaseCommand {
  static paths = [['image', 'rm']];
  static usage = BaseCommand.Usage({
    description: 'remove one or more images with the given IDs or image names from the local store',
    details: `
      Removes the image blob, its manifest and its index row. Tree stores are left for \`rkt image gc\`;
      pods keep their own copies or mounts of the images they use.
    `,
    examples: [
      ['Remove by short ID', '$0 image rm sha512-a03f6bad952b'],
      ['Remove by name', '$0 image rm example.com/hello:0.1.0'],
    ],
  });

  images = Option.Rest();

  async execute(): Promise<number> {
    if (this.images.length === 0) throw new RktError('EUSAGE', 'at least one image must be specified');
    const { removeImages } = await import('../../images/remove');
    const report = await withImageStore(this.globals(), (store) => removeImages(store, this.images));
    for (const f of report.failed) this.log.print(f.error);
    for (const key of [...report.removed, ...report.stale]) this.out(`successfully removed aci for image: "${key}"`);
    if (report.removed.length > 0) this.log.print(`${report.removed.length} image(s) successfully removed`);
    if (report.stale.length > 0) this.log.print(`${report.stale.length} image(s) removed but left some stale files`);
    if (report.failed.length > 0) {
      this.log.print(`${report.failed.length} image(s) cannot be removed`);
      return 254;
    }
    return 0;
  }
}
