/** Reading OpenPGP public keys (armored or binary) and describing them the way rkt does. */
import * as openpgp from 'openpgp';
import type { PublicKey } from 'openpgp';
import { formatFingerprint } from './fingerprint';

function isArmored(data: Buffer): boolean {
  return data.subarray(0, 64).toString('latin1').trimStart().startsWith('-----BEGIN PGP');
}

/** Every key in the data; throws when there is none or it does not parse. */
export async function readPublicKeys(data: Buffer): Promise<PublicKey[]> {
  const keys = isArmored(data)
    ? await openpgp.readKeys({ armoredKeys: data.toString('utf8') })
    : await openpgp.readKeys({ binaryKeys: new Uint8Array(data) });
  if (keys.length === 0) throw new Error('no keys found');
  // Private key blocks are refused: a keystore holds public keys only.
  return keys.map((k) => (k.isPrivate() ? k.toPublic() : k)) as PublicKey[];
}

/** The user IDs of a key, in the order they appear (rkt prints one `\t<identity>` line each). */
export function identities(key: PublicKey): string[] {
  return key.getUserIDs();
}

/**
 * The lines rkt prints to stdout for each key it asks about (pubkey.Manager.AddKeys):
 * `gpg key fingerprint is: …`, `    Subkey fingerprint: …` per subkey, `\t<identity>` per user ID.
 */
export function describeKeyLines(keys: PublicKey[]): string[] {
  const lines: string[] = [];
  for (const k of keys) {
    lines.push(`gpg key fingerprint is: ${formatFingerprint(k.getFingerprint())}`);
    for (const s of k.getSubkeys()) lines.push(`    Subkey fingerprint: ${formatFingerprint(s.getFingerprint())}`);
    for (const id of identities(k)) lines.push(`\t${id}`);
  }
  return lines;
}
