/** `rkt fetch IMAGE...` (rkt/fetch.go). */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { GoBool } from './options';
import { RktError } from '../errors';
import { withImageStore } from './store-session';

const POLICIES = ['never', 'new', 'update'] as const;

export class FetchCommand extends BaseCommand {
  static paths = [['fetch'], ['image', 'fetch']];
  static usage = BaseCommand.Usage({
    description: 'fetch image(s) and store them in the local store',
    details: `
      Locates and downloads remote images and their signatures (meta discovery for names, https
      URLs ending in \`.aci\`), or imports local ACI files, and stores them in the content-addressed
      store. Prints the image ID of each (\`sha512-\` + 32 hex digits, or the full 71-character ID
      with \`--full\`). When run as root, the image's tree is rendered into the tree store at once so
      pods can mount it.

      Every image must carry a detached signature (\`.aci.asc\` beside it, or \`--signature\`) by a
      key trusted for its name (see \`rkt trust\`), unless \`--insecure-options=image\` is given.
      Dependencies are fetched by name and verified the same way. TLS certificates are checked
      against Node's trusted roots plus the PEM file named by NODE_EXTRA_CA_CERTS.
    `,
    examples: [
      ['Fetch by name with meta discovery', '$0 fetch example.com/hello:0.1.0'],
      ['Fetch from a URL', '$0 fetch https://example.com/images/hello-0.1.0-linux-amd64.aci'],
      ['Import a local ACI without signature verification', '$0 --insecure-options=image fetch ./hello.aci'],
      ['Print the full image ID', '$0 fetch --insecure-options=image --full ./hello.aci'],
      ['Use an image already in the store, by name', '$0 fetch --pull-policy=never example.com/hello:0.1.0'],
    ],
  });

  full = GoBool('--full', false, { description: 'print the full image hash after fetching' });
  signature = Option.String('--signature', { description: 'local signature file to use in validating the preceding image' });
  pullPolicy = Option.String('--pull-policy', 'update', { description: 'when to fetch an image: never, new or update (default "update")' });
  storeOnly = GoBool('--store-only', false, { description: 'deprecated: use --pull-policy=never', hidden: true });
  noStore = GoBool('--no-store', false, { description: 'deprecated: use --pull-policy=update', hidden: true });
  images = Option.Rest();

  async execute(): Promise<number> {
    const g = this.globals();
    if (this.images.includes('--')) throw new RktError('EUSAGE', 'app arguments unsupported');
    if (this.images.length === 0) throw new RktError('EUSAGE', 'must provide at least one image');
    if (this.storeOnly && this.noStore) throw new RktError('EUSAGE', 'both --store-only and --no-store specified');
    let policy = this.pullPolicy;
    if (this.storeOnly) policy = 'never';
    if (this.noStore) policy = 'update';
    if (!(POLICIES as readonly string[]).includes(policy)) {
      throw new RktError('EUSAGE', `invalid argument "${policy}" for "--pull-policy" flag: must be one of never, new, update`);
    }
    if (this.signature !== undefined && this.images.length > 1) {
      throw new RktError('EUSAGE', '--signature applies to one image: fetch signed images one at a time');
    }
    const { fetchImage } = await import('../fetch/fetch');
    const { shortKey } = await import('../store/keys');
    const imageLog = g.log.withPrefix('image');
    const insecureImage = g.insecure.has('image');
    if (insecureImage) imageLog.print('warning: image signature verification has been disabled');
    const root = process.geteuid?.() === 0;
    await withImageStore(g, async (store) => {
      for (const arg of this.images) {
        const key = await fetchImage(store, arg, {
          insecureImage,
          pullPolicy: policy as (typeof POLICIES)[number],
          signature: this.signature,
          renderTree: root,
          log: (l) => imageLog.debug(l),
          env: this.fetchEnvironment(),
        });
        this.out(shortKey(key, this.full ? 'full' : 'fetch'));
      }
    });
    return 0;
  }
}
