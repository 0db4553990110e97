/**
 * What one command's fetches share: the store, the HTTP clients (one with auth.d credentials for
 * discovery, images and signatures, one without for keys, as rkt), the keystore and the key
 * reviewer. Everything network- or OpenPGP-related is created on first use, so fetching from the
 * store alone loads neither undici nor openpgp.
 */
import type { RktConfig } from '../config/types';
import type { ImageStore } from '../store/image-store';
import type { Logger } from '../util/log';
import type { Keystore, KeystoreDirs } from '../trust/keystore';
import type { PubkeyManager } from '../trust/add-keys';
import type { Reviewer } from '../trust/review';
import type { HttpClient } from './http-client';
import type { ProgressSink } from './progress';

/** Settings for verification and the network; see FetchOptions.env. */
export interface FetchEnvironment {
  /** the parsed --insecure-options */
  insecure: ReadonlySet<string>;
  config: RktConfig;
  /** system and local config dirs: the keystore's */
  configDirs: KeystoreDirs;
  trustKeysFromHttps: boolean;
  /** the `image: ` logger: messages shown without --debug (signature verified, hints, warnings) */
  logger: Logger;
  /** stderr, for progress bars (drawn only if it is a TTY) and the review's TTY check */
  stderr?: ProgressSink;
  /** stdin, for answering the key review */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** stdout, where the review question goes */
  stdout?: NodeJS.WritableStream;
  /** fetch dependencies by name too (default true) */
  withDeps?: boolean;
}

export class FetchSession {
  /**
   * Render the tree of what is fetched now in the same pass as its import (the image the command
   * asked for, when its tree is wanted; not its dependencies, which only go into its tree).
   */
  renderTrees = false;
  private httpClient?: HttpClient;
  private keyClient?: HttpClient;
  private keystoreCache?: Keystore | null;
  private reviewer?: Reviewer;
  private warnedTLS = false;

  constructor(
    readonly store: ImageStore,
    readonly env: FetchEnvironment,
  ) {}

  get skipImageCheck(): boolean {
    return this.env.insecure.has('image');
  }
  get allowHTTP(): boolean {
    return this.env.insecure.has('http');
  }
  get insecureTLS(): boolean {
    return this.env.insecure.has('tls');
  }
  get log(): Logger {
    return this.env.logger;
  }

  /** No keystore at all with --insecure-options=image, as rkt's getKeystore. */
  async keystore(): Promise<Keystore | undefined> {
    if (this.keystoreCache === undefined) {
      if (this.skipImageCheck) this.keystoreCache = null;
      else {
        const { Keystore } = await import('../trust/keystore');
        this.keystoreCache = new Keystore(this.env.configDirs);
      }
    }
    return this.keystoreCache ?? undefined;
  }

  async client(): Promise<HttpClient> {
    if (!this.httpClient) {
      const { HttpClient } = await import('./http-client');
      this.httpClient = new HttpClient({ insecureTLS: this.insecureTLS, allowHTTP: this.allowHTTP, config: this.env.config });
      if (this.insecureTLS && !this.skipImageCheck && !this.warnedTLS) {
        this.warnedTLS = true;
        this.log.print('warning: TLS verification has been disabled');
      }
    }
    return this.httpClient;
  }

  /** Keys over http only with `pubkey` and `http` both (rkt's ConsiderInsecurePubKeys + AllowHTTP). */
  get allowHTTPKeys(): boolean {
    return this.env.insecure.has('pubkey') && this.allowHTTP;
  }

  async pubkeyManager(): Promise<PubkeyManager> {
    const { HttpClient } = await import('./http-client');
    const { PubkeyManager } = await import('../trust/add-keys');
    const { Reviewer } = await import('../trust/review');
    this.keyClient ??= new HttpClient({ insecureTLS: this.insecureTLS, allowHTTP: this.allowHTTPKeys });
    this.reviewer ??= new Reviewer({
      input: this.env.stdin ?? process.stdin,
      output: this.env.stdout ?? process.stdout,
      errIsTTY: this.env.stderr?.isTTY === true,
    });
    return new PubkeyManager({
      keystore: (await this.keystore())!,
      client: this.keyClient,
      allowHTTP: this.allowHTTPKeys,
      trustKeysFromHttps: this.env.trustKeysFromHttps,
      log: this.log.withPrefix('pubkey'),
      reviewer: this.reviewer,
    });
  }

  async close(): Promise<void> {
    this.reviewer?.close();
    await this.httpClient?.close();
    await this.keyClient?.close();
  }
}
