/** `rkt image export IMAGE OUTPUT` */
import { Option } from 'clipanion';
import { BaseCommand } from '../base';
import { GoBool } from '../options';
import { withImageStore } from '../store-session';

export class ImageExportCommand extends BaseCommand {
  static paths = [['image', 'export']];
  static usage = BaseCommand.Usage({
    description: 'export a stored image to an ACI file',
    details: `
      Writes the stored, uncompressed image tar, so the SHA-512 of the output is the image ID.
    `,
    examples: [['Export by name', '$0 image export example.com/hello:0.1.0 hello.aci']],
  });

  overwrite = GoBool('--overwrite', false, { description: 'overwrite output ACI' });
  image = Option.String();
  output = Option.String();

  async execute(): Promise<number> {
    const { exportImage } = await import('../../images/export');
    await withImageStore(this.globals(), (store) => exportImage(store, this.image, this.output, this.overwrite));
    return 0;
  }
}
