import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInsecureOptions, INSECURE_OPTIONS, insecure } from '../../src/cli/insecure';
import { RktError } from '../../src/errors';

const sorted = (s: Set<string>) => [...s].sort();

test('single values and groups', () => {
  assert.deepEqual(sorted(parseInsecureOptions('none')), []);
  assert.deepEqual(sorted(parseInsecureOptions('')), []);
  assert.deepEqual(sorted(parseInsecureOptions('image')), ['image']);
  assert.deepEqual(sorted(parseInsecureOptions('ondisk')), []); // accepted, ignored
  assert.deepEqual(sorted(parseInsecureOptions('image,tls')), ['image', 'tls']);
  assert.deepEqual(sorted(parseInsecureOptions('all-fetch')), ['http', 'image', 'pubkey', 'tls']);
  assert.deepEqual(sorted(parseInsecureOptions('all-run')), ['capabilities', 'paths', 'seccomp']);
  assert.deepEqual(sorted(parseInsecureOptions('all')), ['capabilities', 'http', 'image', 'paths', 'pubkey', 'seccomp', 'tls']);
  assert.deepEqual(sorted(parseInsecureOptions('HTTP,Seccomp')), ['http', 'seccomp']); // lower-cased like rkt
  const s = parseInsecureOptions('image,pubkey');
  assert.equal(insecure.skipImageCheck(s), true);
  assert.equal(insecure.considerInsecurePubKeys(s), true);
  assert.equal(insecure.skipTLSCheck(s), false);
});

test('an unknown value is named and the valid ones listed', () => {
  assert.throws(
    () => parseInsecureOptions('image,bogus'),
    (e: unknown) => {
      assert.ok(e instanceof RktError);
      assert.equal(e.code, 'EUSAGE');
      assert.equal(e.exitCode, 254);
      assert.equal(
        e.message,
        'invalid argument "image,bogus" for "--insecure-options" flag: unknown option "bogus" (allowed values: ' +
          '"none", "image", "tls", "ondisk", "http", "pubkey", "capabilities", "paths", "seccomp", "all-fetch", "all-run", "all")',
      );
      for (const v of INSECURE_OPTIONS) assert.ok(e.message.includes(`"${v}"`));
      return true;
    },
  );
});

test('a repeated value is an error', () => {
  assert.throws(() => parseInsecureOptions('tls,tls'), /duplicated option "tls"/);
});
