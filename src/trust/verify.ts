/**
 * Detached signature check (pkg/keystore CheckSignature, reference §5.3), with openpgp: the
 * signature is over the image file exactly as downloaded. A signature made by a signing subkey is
 * attributed to its primary key, and trust is decided by the primary key's fingerprint.
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import type { PublicKey, Signature } from 'openpgp';
import { RktError } from '../errors';
import type { Keyring } from './keystore';

/** rkt's (Go openpgp's) words for the ways a signature check fails. */
export const SIG_UNKNOWN_ENTITY = 'openpgp: signature made by unknown entity';
export const SIG_NO_VALID = 'keystore: no valid signatures found in signature file';
export const SIG_BAD_DIGEST = "openpgp: invalid signature: hash tag doesn't match";

export interface VerifiedSigner {
  key: PublicKey;
  fingerprint: string;
  identities: string[];
}

/** Parses an armored (or, failing that, binary) detached signature. */
export async function readDetachedSignature(data: Buffer): Promise<Signature> {
  const text = data.toString('latin1');
  try {
    if (text.trimStart().startsWith('-----BEGIN PGP SIGNATURE')) return await openpgp.readSignature({ armoredSignature: data.toString('utf8') });
    if (data.length > 0) return await openpgp.readSignature({ binarySignature: new Uint8Array(data) });
  } catch (e) {
    throw new RktError('ESIGNATURE', SIG_NO_VALID, { cause: e });
  }
  throw new RktError('ESIGNATURE', SIG_NO_VALID);
}

/** The trusted key (by primary fingerprint) that holds the key ID that made the signature. */
export function signerFromKeyring(sig: Signature, ring: Keyring): PublicKey | undefined {
  for (const id of sig.getSigningKeyIDs()) {
    for (const { key } of ring.values()) {
      if (key.getKeys(id).length > 0) return key;
    }
  }
  return undefined;
}

/**
 * Verifies `file` against the detached signature with the keys of the ring. Throws ESIGNATURE with
 * rkt's texts: unknown entity when no trusted key made it, bad digest when the bytes differ.
 */
export async function checkSignature(ring: Keyring, file: string, sigData: Buffer): Promise<VerifiedSigner> {
  const sig = await readDetachedSignature(sigData);
  const signer = signerFromKeyring(sig, ring);
  if (!signer) throw new RktError('ESIGNATURE', SIG_UNKNOWN_ENTITY);
  // Stream the file through openpgp (hashing uses node:crypto) rather than loading it whole.
  const message = await openpgp.createMessage({ binary: Readable.toWeb(fs.createReadStream(file, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array> });
  const result = await openpgp.verify({ message, signature: sig, verificationKeys: [signer], format: 'binary' });
  // The data must be consumed for a streamed message's digest to be computed.
  const reader = (result.data as unknown as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
  let lastError: unknown;
  for (const s of result.signatures) {
    try {
      await s.verified;
      return { key: signer, fingerprint: signer.getFingerprint(), identities: signer.getUserIDs() };
    } catch (e) {
      lastError = e;
    }
  }
  const msg = (lastError as Error | undefined)?.message ?? '';
  if (/digest did not match/i.test(msg)) throw new RktError('ESIGNATURE', SIG_BAD_DIGEST, { cause: lastError });
  throw new RktError('ESIGNATURE', `openpgp: invalid signature: ${msg}`, { cause: lastError });
}
