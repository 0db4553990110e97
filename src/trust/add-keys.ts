/**
 * Adding keys to the keystore (rkt/pubkey/pubkey.go Manager.AddKeys, reference §5.4): fetch each
 * key, show its fingerprint and identities, have it reviewed (or accept it when forced), store it.
 * Used by `rkt trust` and by fetch's automatic key discovery.
 */
import * as fs from 'node:fs';
import { RktError, describeError } from '../errors';
import type { Logger } from '../util/log';
import type { HttpClient } from '../fetch/http-client';
import type { Keystore } from './keystore';
import { describeKeyLines, readPublicKeys } from './keys';
import { NO_TTY_ERROR, type Reviewer } from './review';

export type AcceptOption = 'ask' | 'force';

export interface PubkeyManagerOptions {
  keystore: Keystore;
  /** client for key downloads (no credentials), TLS per --insecure-options=tls */
  client: HttpClient;
  /** http:// key URLs allowed (trust --insecure-allow-http; fetch: --insecure-options=pubkey,http) */
  allowHTTP: boolean;
  /** --trust-keys-from-https: keys fetched over https are accepted without review */
  trustKeysFromHttps: boolean;
  /** `pubkey: ` logger; its out() is stdout */
  log: Logger;
  reviewer: Reviewer;
}

/** The key bytes from a local path or an http(s) URL, as rkt's getPubKeyLocations allows. */
export async function fetchKey(location: string, opts: Pick<PubkeyManagerOptions, 'client' | 'allowHTTP'>): Promise<Buffer> {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    try {
      return fs.readFileSync(location);
    } catch (e) {
      throw new RktError('ETRUST', `error opening key file ${location}: ${(e as Error).message}`);
    }
  }
  if (scheme === 'http' && !opts.allowHTTP) throw new RktError('EINSECURE', '--insecure-allow-http required for http URLs');
  if (scheme !== 'http' && scheme !== 'https') throw new RktError('EUSAGE', 'only local files and http or https URLs supported');
  return opts.client.getBuffer(location, 1 << 20);
}

export class PubkeyManager {
  constructor(readonly opts: PubkeyManagerOptions) {}

  /** The non-TTY advice rkt prints before refusing to trust without review. */
  private adviseNoTTY(prefix: string): void {
    const l = this.opts.log;
    l.print(`To trust the key for "${prefix}", do one of the following:`);
    l.print(' - call rkt with --trust-keys-from-https');
    l.print(` - run: rkt trust --prefix "${prefix}"`);
  }

  /**
   * Adds every key location for `prefix` ('' = root). Returns the paths written. A `no` answer
   * skips that key (`not trusting "<location>"`) and goes on with the next.
   */
  async addKeys(locations: string[], prefix: string, accept: AcceptOption): Promise<string[]> {
    const { log, keystore } = this.opts;
    const added: string[] = [];
    for (const location of locations) {
      const data = await fetchKey(location, this.opts);
      let keys;
      try {
        keys = await readPublicKeys(data);
      } catch (e) {
        throw new RktError('ETRUST', `error reading key ${location}: ${describeError(e)}`);
      }
      log.print(`prefix: "${prefix}"`);
      log.print(`key: "${location}"`);
      for (const line of describeKeyLines(keys)) log.out(line);
      const fpr = keys[0].getFingerprint();
      if (keystore.hasKey(prefix, fpr, data)) {
        log.out(`Key "${location}" already in the keystore`);
        continue;
      }
      const forced = accept === 'force' || (this.opts.trustKeysFromHttps && location.toLowerCase().startsWith('https://'));
      if (!forced) {
        if (!this.opts.reviewer.interactive) {
          this.adviseNoTTY(prefix);
          throw new RktError('ETRUST', NO_TTY_ERROR);
        }
        if (!(await this.opts.reviewer.review())) {
          log.print(`not trusting "${location}"`);
          continue;
        }
      }
      log.out(`Trusting "${location}" for prefix "${prefix}" ${forced ? 'without' : 'after'} fingerprint review.`);
      const dest = keystore.storeTrustedKey(prefix, fpr, data);
      log.out(prefix === '' ? `Added root key at "${dest}"` : `Added key for prefix "${prefix}" at "${dest}"`);
      added.push(dest);
    }
    return added;
  }
}
