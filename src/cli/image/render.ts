/** `rkt image render IMAGE DIR` */
import { Option } from 'clipanion';
import { BaseCommand } from '../base';
import { GoBool } from '../options';
import { withImageStore } from '../store-session';

export class ImageRenderCommand extends BaseCommand {
  static paths = [['image', 'render']];
  static usage = BaseCommand.Usage({
    description: 'render a stored image to a directory with all its dependencies',
    details: `
      Renders the image with its dependencies and path whitelists through the tree store (checking the
      tree's hash and rebuilding a damaged tree), then copies the result into DIR.
    `,
    examples: [['Render an image', '$0 image render example.com/app:1.0 /tmp/app']],
  });

  rootfsOnly = GoBool('--rootfs-only', false, { description: 'render rootfs only' });
  overwrite = GoBool('--overwrite', false, { description: 'overwrite output directory' });
  image = Option.String();
  outputDir = Option.String();

  async execute(): Promise<number> {
    const { renderImage } = await import('../../images/extract');
    await withImageStore(this.globals(), (store) =>
      renderImage(store, this.image, this.outputDir, { rootfsOnly: this.rootfsOnly, overwrite: this.overwrite }, () =>
        this.log.print('warning: tree cache is in a bad state. Rebuilding...'),
      ),
    );
    return 0;
  }
}
