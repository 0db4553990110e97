/** `rkt image extract IMAGE DIR` */
import { Option } from 'clipanion';
import { BaseCommand } from '../base';
import { GoBool } from '../options';
import { withImageStore } from '../store-session';

export class ImageExtractCommand extends BaseCommand {
  static paths = [['image', 'extract']];
  static usage = BaseCommand.Usage({
    description: 'extract a stored image to a directory',
    details: `
      Untars the image alone (no dependencies) into DIR: its \`manifest\` and \`rootfs/\`, or with
      \`--rootfs-only\` just the contents of the rootfs. Entries can never be written outside DIR.
    `,
    examples: [
      ['Extract an image', '$0 image extract example.com/hello:0.1.0 /tmp/hello'],
      ['Only the rootfs, replacing the directory', '$0 image extract --rootfs-only --overwrite sha512-a03f6bad952b /tmp/hello'],
    ],
  });

  rootfsOnly = GoBool('--rootfs-only', false, { description: 'extract rootfs only' });
  overwrite = GoBool('--overwrite', false, { description: 'overwrite output directory' });
  image = Option.String();
  outputDir = Option.String();

  async execute(): Promise<number> {
    const { extractImage } = await import('../../images/extract');
    await withImageStore(this.globals(), (store) => extractImage(store, this.image, this.outputDir, { rootfsOnly: this.rootfsOnly, overwrite: this.overwrite }));
    return 0;
  }
}
