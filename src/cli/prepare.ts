/** `rkt prepare` */
import { PodCommand } from './pod-flags';
import { GoBool } from './options';
import { withImageStore } from './store-session';

export class PrepareCommand extends PodCommand {
  static paths = [['prepare']];
  static usage = PodCommand.Usage({
    description: 'prepare to run image(s) in a pod in rkt',
    details: `
      Fetches the images if needed, renders them in the tree store, allocates a pod UUID and mounts the
      apps' root filesystems, leaving the pod \`prepared\` for \`rkt run-prepared\`. Prints the UUID.
      Per-app flags follow their image: \`IMAGE [--exec=...] [--user=...] [-- args... ---] IMAGE2 ...\`.
    `,
    examples: [
      ['Prepare a local image', '$0 --insecure-options=image prepare ./inspect.aci'],
      ['Two apps with arguments', '$0 prepare example.com/a -- --flag --- example.com/b --name=b2'],
    ],
  });

  quiet = GoBool('--quiet', false, { description: 'suppress superfluous output on stdout, print only the UUID on success' });

  async execute(): Promise<number> {
    this.requireRoot();
    const opts = { ...(await this.prepareOptions()), durable: true };
    const { preparePod } = await import('../pod/prepare');
    const uuid = await withImageStore(this.globals(), async (store) => {
      const { pod } = await preparePod(store, opts);
      pod.markPrepared();
      return pod.uuid;
    });
    this.out(uuid);
    return 0;
  }
}
