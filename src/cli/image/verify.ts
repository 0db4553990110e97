/** `rkt image verify IMAGE...` */
import { Option } from 'clipanion';
import { BaseCommand } from '../base';
import { RktError, describeError } from '../../errors';
import { withImageStore } from '../store-session';

export class ImageVerifyCommand extends BaseCommand {
  static paths = [['image', 'verify']];
  static usage = BaseCommand.Usage({
    description: 'verify the integrity of rendered images in the tree store',
    details: `
      Recomputes the hash of each image's rendered tree and compares it with the hash recorded when it
      was rendered; a damaged tree is rendered again.
    `,
    examples: [['Verify an image', '$0 image verify sha512-a03f6bad952b']],
  });

  images = Option.Rest();

  async execute(): Promise<number> {
    if (this.images.length === 0) throw new RktError('EUSAGE', 'at least one image must be specified');
    const { verifyImage } = await import('../../images/verify');
    let failed = 0;
    await withImageStore(this.globals(), async (store) => {
      for (const arg of this.images) {
        try {
          const r = await verifyImage(store, arg);
          if (r.status === 'verified') this.out(`successfully verified checksum for image: "${arg}" ("${r.key}")`);
          else if (r.status === 'not-rendered') this.out(`image "${arg}" not rendered; no verification needed`);
          else this.log.print(`tree cache verification failed for image ${arg}: ${r.reason};  rebuilding...`);
        } catch (e) {
          failed++;
          this.log.print(`cannot verify image "${arg}": ${describeError(e)}`);
        }
      }
    });
    return failed > 0 ? 254 : 0;
  }
}
