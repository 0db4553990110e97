/**
 * The checks a fetched image passes before it is stored (rkt/image/validator.go): a trusted
 * signature over the file as downloaded, and for images fetched by name, the manifest's name and
 * the requested labels. Each failure is one error in rkt's words; an unknown signer also gets rkt's
 * `rkt trust --prefix` hint.
 */
import * as fs from 'node:fs';
import { RktError } from '../errors';
import type { ImageManifest } from '../schema/image-manifest';
import type { Logger } from '../util/log';
import type { Keystore } from '../trust/keystore';

/**
 * Verifies with the keys trusted for `name` and returns the signer's identities (the caller prints
 * `signature verified:` once the image is stored), or throws.
 */
export async function verifyImageSignature(ks: Keystore, name: string, file: string, sig: Buffer, log: Logger): Promise<string[]> {
  const { checkSignature, SIG_UNKNOWN_ENTITY } = await import('../trust/verify');
  try {
    return (await checkSignature(await ks.loadKeyring(name), file, sig)).identities;
  } catch (e) {
    throw verificationFailed(name, e, log, SIG_UNKNOWN_ENTITY);
  }
}

/** rkt's error for a failed check, after its hint when the signer is unknown. */
export function verificationFailed(name: string, e: unknown, log: Logger, unknownEntity: string): RktError {
  if (e instanceof RktError && e.message === unknownEntity) {
    log.print('If you expected the signing key to change, try running:');
    log.print(`    rkt trust --prefix ${JSON.stringify(name)}`);
  }
  const why = e instanceof Error ? e.message : String(e);
  return new RktError('ESIGNATURE', `image ${JSON.stringify(name)} verification failed: ${why}`, { cause: e });
}

/**
 * For fetch by name, where the keys are known before the download: a check that verifies the bytes
 * while they are downloaded (the file is then read once, by the import).
 */
export async function startImageCheck(ks: Keystore, name: string, sig: Buffer, log: Logger): Promise<{ tap: (c: Buffer) => Promise<void>; end: () => Promise<string[]> }> {
  const { startStreamingCheck, SIG_UNKNOWN_ENTITY } = await import('../trust/verify');
  let check;
  try {
    check = await startStreamingCheck(await ks.loadKeyring(name), sig);
  } catch (e) {
    throw verificationFailed(name, e, log, SIG_UNKNOWN_ENTITY);
  }
  return {
    tap: (c) => check.write(c),
    end: async () => {
      try {
        return (await check.end()).identities;
      } catch (e) {
        throw verificationFailed(name, e, log, SIG_UNKNOWN_ENTITY);
      }
    },
  };
}

/**
 * The early identity check of fetch-by-name: is the signature made by a key trusted for the name?
 * Saves downloading an image that would be refused anyway.
 */
export async function checkSignerKnown(ks: Keystore, name: string, sig: Buffer, log: Logger): Promise<void> {
  const { readDetachedSignature, signerFromKeyring, SIG_UNKNOWN_ENTITY } = await import('../trust/verify');
  let parsed;
  try {
    parsed = await readDetachedSignature(sig);
  } catch (e) {
    throw new RktError('ESIGNATURE', `image ${JSON.stringify(name)} verification failed: ${(e as Error).message}`, { cause: e });
  }
  if (!signerFromKeyring(parsed, await ks.loadKeyring(name))) {
    log.print('if you expected the signing key to change, try running:');
    log.print(`    rkt trust --prefix ${JSON.stringify(name)}`);
    throw new RktError('ESIGNATURE', `image ${JSON.stringify(name)} verification failed: ${SIG_UNKNOWN_ENTITY}`);
  }
}

/** Manifest name and requested labels, as rkt's validator (the `latest` default is not checked). */
export function validateManifest(m: ImageManifest, name: string, labels: ReadonlyMap<string, string>): void {
  if (m.name !== name) {
    throw new RktError('EMANIFEST', `error when reading the app name: ${JSON.stringify(name)} expected but ${JSON.stringify(m.name)} found`);
  }
  const have = new Map((m.labels ?? []).map((l) => [l.name, l.value]));
  for (const [k, want] of labels) {
    const got = have.get(k);
    if (got === undefined) throw new RktError('EMANIFEST', `requested label ${JSON.stringify(k)} not provided by the image manifest`);
    if (got !== want) {
      throw new RktError('EMANIFEST', `requested value for label ${JSON.stringify(k)}: ${JSON.stringify(want)} differs from fetched aci label value: ${JSON.stringify(got)}`);
    }
  }
}

/** A local signature file's bytes, or rkt's `error opening signature file`. */
export function readSignatureFile(p: string): Buffer {
  try {
    return fs.readFileSync(p);
  } catch (e) {
    throw new RktError('ESIGNATURE', `error opening signature file: ${(e as Error).message}`);
  }
}
