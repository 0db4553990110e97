/** `rkt trust [--prefix=PREFIX] [--root] [--skip-fingerprint-review] [--insecure-allow-http] [PUBKEY...]` (rkt/trust.go). */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { GoBool } from './options';
import { RktError, describeError } from '../errors';

export class TrustCommand extends BaseCommand {
  static paths = [['trust']];
  static usage = BaseCommand.Usage({
    description: 'trust a key for image verification',
    details: `
      Adds keys to the local keystore (\`<local-config>/trustedkeys\`), scoped to the images whose
      names start with \`--prefix\`, or to all images with \`--root\`. With \`--prefix\` and no key
      given, the key locations are found by meta discovery (\`ac-discovery-pubkeys\`). Each key's
      fingerprint is shown for review on the terminal unless \`--skip-fingerprint-review\` is given
      (or, with \`--trust-keys-from-https\`, for keys fetched over https).
    `,
    examples: [
      ['Trust the keys the prefix publishes', '$0 trust --prefix=coreos.com/etcd'],
      ['Trust a key file for a prefix', '$0 trust --prefix=example.com/app ./pubkey.gpg'],
      ['Trust a key for every image', '$0 trust --root ./pubkey.gpg'],
    ],
  });

  prefix = Option.String('--prefix', { description: 'prefix to limit trust to' });
  root = GoBool('--root', false, { description: 'add root key from filesystem without a prefix' });
  skipFingerprintReview = GoBool('--skip-fingerprint-review', false, { description: 'accept key without fingerprint confirmation' });
  insecureAllowHttp = GoBool('--insecure-allow-http', false, { description: 'allow HTTP use for key discovery and/or retrieval' });
  keys = Option.Rest();

  async execute(): Promise<number> {
    const g = this.globals();
    const prefix = this.prefix ?? '';
    if (prefix === '' && !this.root) {
      if (this.keys.length === 0) {
        this.context.stderr.write(this.cli.usage(TrustCommand, { detailed: false }));
        return 254;
      }
      throw new RktError(
        'EUSAGE',
        'aborting due to implicit unbounded trust (root domain): add --prefix "example.com/foo" to limit the trust, ' +
          'e.g. rkt trust --prefix "example.com/foo" [PUBKEY], or trust for all images with rkt trust --root PUBKEY',
      );
    }
    if (prefix !== '' && this.root) throw new RktError('EUSAGE', '--root and --prefix usage mutually exclusive');
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(prefix)) throw new RktError('EUSAGE', '--prefix must not contain a URL scheme, omit <scheme>://');
    if (this.root && this.keys.length === 0) throw new RktError('EUSAGE', '--root requires at least one PUBKEY (root keys are never discovered)');
    const { checkPrefix } = await import('../trust/keystore');
    if (prefix !== '') checkPrefix(prefix);
    if (g.insecure.has('image')) throw new RktError('ETRUST', 'could not get the keystore');

    const { Keystore } = await import('../trust/keystore');
    const { PubkeyManager } = await import('../trust/add-keys');
    const { Reviewer } = await import('../trust/review');
    const { HttpClient } = await import('../fetch/http-client');
    const client = new HttpClient({ insecureTLS: g.insecure.has('tls'), allowHTTP: this.insecureAllowHttp });
    const reviewer = new Reviewer({
      input: this.stdin,
      output: this.context.stdout,
      errIsTTY: (this.context.stderr as { isTTY?: boolean }).isTTY === true,
    });
    try {
      let locations = this.keys;
      if (locations.length === 0) {
        const { discoverPublicKeys } = await import('../discovery/discover');
        try {
          locations = await discoverPublicKeys(prefix, { client, allowHTTP: this.insecureAllowHttp, debug: (l) => g.log.debug(l) });
        } catch (e) {
          throw new RktError('EDISCOVERY', `error determining key location: ${describeError(e)}`, { cause: e });
        }
      }
      const manager = new PubkeyManager({
        keystore: new Keystore(g.configDirs),
        client,
        allowHTTP: this.insecureAllowHttp,
        trustKeysFromHttps: g.trustKeysFromHttps,
        log: g.log.withPrefix('pubkey'),
        reviewer,
      });
      try {
        await manager.addKeys(locations, prefix, this.skipFingerprintReview ? 'force' : 'ask');
      } catch (e) {
        throw new RktError(e instanceof RktError ? e.code : 'ETRUST', `error adding keys: ${describeError(e)}`, { cause: e });
      }
    } finally {
      reviewer.close();
      await client.close();
    }
    return 0;
  }
}
