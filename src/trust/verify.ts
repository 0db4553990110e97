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
 * The outcome of openpgp's verification: the first signature that verifies names the signer;
 * otherwise rkt's words for the last failure (a wrong digest means the bytes were changed).
 */
async function settle(signatures: { verified: Promise<unknown> }[], signer: PublicKey): Promise<VerifiedSigner> {
  let lastError: unknown;
  for (const s of signatures) {
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
  return settle(result.signatures, signer);
}

/** A signature check fed the image bytes as they arrive (see startStreamingCheck). */
export interface StreamingCheck {
  /** the next bytes of the file; resolves when openpgp is ready for more (backpressure) */
  write(chunk: Uint8Array): Promise<void>;
  /** all bytes given: the verdict */
  end(): Promise<VerifiedSigner>;
}

/**
 * Starts checking a detached signature over bytes not yet here, so that a download is verified as it
 * is written and the file needs no second read. Throws unknown entity at once when no trusted key
 * made the signature. The stream's queue holds at most ~4 MiB before write() waits for openpgp.
 */
export async function startStreamingCheck(ring: Keyring, sigData: Buffer): Promise<StreamingCheck> {
  const sig = await readDetachedSignature(sigData);
  const signer = signerFromKeyring(sig, ring);
  if (!signer) throw new RktError('ESIGNATURE', SIG_UNKNOWN_ENTITY);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let wake: (() => void) | undefined;
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        const w = wake;
        wake = undefined;
        w?.();
      },
    },
    { highWaterMark: 4 << 20, size: (c) => c.byteLength },
  );
  const message = await openpgp.createMessage({ binary: stream });
  // Run the verification alongside the writes; its output must be drained for the digest to advance.
  const verdict = (async () => {
    const result = await openpgp.verify({ message, signature: sig, verificationKeys: [signer], format: 'binary' });
    const reader = (result.data as unknown as ReadableStream<Uint8Array>).getReader();
    for (;;) if ((await reader.read()).done) break;
    return settle(result.signatures, signer);
  })();
  // settles when the check is over, so that a writer waiting for room never waits for a dead reader
  const settled = verdict.then(
    () => undefined,
    () => undefined,
  );
  return {
    async write(chunk) {
      controller.enqueue(chunk);
      if ((controller.desiredSize ?? 1) <= 0) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), settled]);
    },
    async end() {
      controller.close();
      return verdict;
    },
  };
}
