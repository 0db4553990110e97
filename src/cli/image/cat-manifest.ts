/** `rkt image cat-manifest IMAGE` */
import { Option } from 'clipanion';
import { BaseCommand } from '../base';
import { GoBool } from '../options';
import { withImageStore } from '../store-session';

export class ImageCatManifestCommand extends BaseCommand {
  static paths = [['image', 'cat-manifest']];
  static usage = BaseCommand.Usage({
    description: 'inspect and print the image manifest',
    examples: [
      ['By name', '$0 image cat-manifest example.com/hello:0.1.0'],
      ['By ID, on one line', '$0 image cat-manifest --pretty-print=false sha512-a03f6bad952b'],
    ],
  });

  prettyPrint = GoBool('--pretty-print', true, { description: 'apply indent to format the output (default true)' });
  image = Option.String();

  async execute(): Promise<number> {
    const { goJson } = await import('../../util/go');
    const manifest = await withImageStore(this.globals(), async (store) => store.readManifest(await store.resolve(this.image)));
    this.out(goJson(manifest, this.prettyPrint));
    return 0;
  }
}
