import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as openpgp from 'openpgp';
import { checkSignature, readDetachedSignature, SIG_BAD_DIGEST, SIG_NO_VALID, SIG_UNKNOWN_ENTITY } from '../../src/trust/verify';
import { describeKeyLines, readPublicKeys } from '../../src/trust/keys';
import type { Keyring } from '../../src/trust/keystore';

async function makeKey(name: string) {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name, email: `${name}@example.com` }], format: 'armored' });
  return { priv: await openpgp.readPrivateKey({ armoredKey: privateKey }), pubArmored: publicKey };
}

test('detached signatures: good, tampered, unknown signer, garbage', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sig-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'a.aci');
  fs.writeFileSync(file, Buffer.alloc(300_000, 7));
  const alice = await makeKey('alice');
  const bob = await makeKey('bob');
  const sig = Buffer.from(
    (await openpgp.sign({ message: await openpgp.createMessage({ binary: fs.readFileSync(file) }), signingKeys: alice.priv, detached: true, format: 'armored' })) as string,
  );
  const [aliceKey] = await readPublicKeys(Buffer.from(alice.pubArmored));
  const [bobKey] = await readPublicKeys(Buffer.from(bob.pubArmored));
  const ring: Keyring = new Map([[aliceKey.getFingerprint(), { key: aliceKey, file: 'x' }]]);
  const ok = await checkSignature(ring, file, sig);
  assert.equal(ok.fingerprint, aliceKey.getFingerprint());
  assert.deepEqual(ok.identities, ['alice <alice@example.com>']);
  const onlyBob: Keyring = new Map([[bobKey.getFingerprint(), { key: bobKey, file: 'y' }]]);
  await assert.rejects(checkSignature(onlyBob, file, sig), { message: SIG_UNKNOWN_ENTITY });
  const tampered = path.join(dir, 'b.aci');
  const data = fs.readFileSync(file);
  data[1000] ^= 1;
  fs.writeFileSync(tampered, data);
  await assert.rejects(checkSignature(ring, tampered, sig), { message: SIG_BAD_DIGEST });
  await assert.rejects(readDetachedSignature(Buffer.from('')), { message: SIG_NO_VALID });
  await assert.rejects(readDetachedSignature(sig.subarray(0, 40)), { message: SIG_NO_VALID });
  // binary (unarmored) signatures are accepted too, as rkt retries them
  const bin = (await openpgp.readSignature({ armoredSignature: sig.toString() })).write();
  assert.equal((await checkSignature(ring, file, Buffer.from(bin))).fingerprint, aliceKey.getFingerprint());
  const lines = describeKeyLines([aliceKey]);
  assert.match(lines[0], /^gpg key fingerprint is: [0-9A-F]{4}( [0-9A-F]{4}){4}  [0-9A-F]{4}( [0-9A-F]{4}){4}$/);
  assert.match(lines[1], /^    Subkey fingerprint: /);
  assert.equal(lines[2], '\talice <alice@example.com>');
});
