import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RktError } from '../../src/errors';
import {
  acIdentifierError,
  acNameError,
  goQuote,
  hashError,
  isACIdentifier,
  isACName,
  isEnvName,
  isUUID,
  labelsError,
  labelsFromMap,
  osArchError,
  parseHash,
  parseQuantity,
  parseQuantityExact,
  parseQuantityMilli,
  parseSemVer,
  parseUUID,
  quantityError,
  quantityValue,
  sanitizeACIdentifier,
  sanitizeACName,
  semVerError,
} from '../../src/schema/types';

describe('AC Identifier', () => {
  test('valid', () => {
    for (const s of ['a', 'example.com/app', 'coreos.com/etcd', 'a-b_c~d/e.f', 'a--b', 'a//b', '0']) {
      assert.ok(isACIdentifier(s), s);
    }
  });
  test('invalid, with appc reasons', () => {
    assert.equal(acIdentifierError(''), 'ACIdentifier cannot be empty');
    assert.equal(acIdentifierError('Foo'), 'ACIdentifier must contain only lower case alphanumeric characters plus "-._~/"');
    assert.equal(acIdentifierError('a b'), 'ACIdentifier must contain only lower case alphanumeric characters plus "-._~/"');
    assert.equal(acIdentifierError('-a'), 'ACIdentifier must start and end with only lower case alphanumeric characters');
    assert.equal(acIdentifierError('a/'), 'ACIdentifier must start and end with only lower case alphanumeric characters');
    assert.equal(isACIdentifier(3), false);
  });
  test('sanitize', () => {
    assert.equal(sanitizeACIdentifier('Example.COM/My App'), 'example.com/my_app');
    assert.equal(sanitizeACIdentifier('__foo__'), 'foo');
    assert.equal(sanitizeACIdentifier('/-foo#bar-/'), 'foo_bar');
    assert.equal(sanitizeACIdentifier('héllo'), 'h_llo');
    assert.equal(sanitizeACIdentifier('a😀b'), 'a_b', 'one replacement per code point');
    assert.throws(() => sanitizeACIdentifier('---'), (e: unknown) => e instanceof RktError && /at least one valid character/.test(e.message));
  });
});

describe('AC Name', () => {
  test('valid and invalid', () => {
    for (const s of ['a', 'my-app', 'a1', 'a--b']) assert.ok(isACName(s), s);
    assert.equal(acNameError(''), 'ACName cannot be empty');
    assert.equal(acNameError('a.b'), 'ACName must contain only lower case alphanumeric characters plus "-"');
    assert.equal(acNameError('a/b'), 'ACName must contain only lower case alphanumeric characters plus "-"');
    assert.equal(acNameError('-a'), 'ACName must start and end with only lower case alphanumeric characters');
  });
  test('sanitize', () => {
    assert.equal(sanitizeACName('etcd'), 'etcd');
    assert.equal(sanitizeACName('coreos.com/Etcd'), 'coreos-com-etcd');
    assert.equal(sanitizeACName('__busy_box__'), 'busy-box');
    assert.throws(() => sanitizeACName('...'), RktError);
  });
});

describe('SemVer', () => {
  test('accepts go-semver versions', () => {
    for (const s of ['0.8.11', '1.0.0', '1.2.3-alpha.1', '1.2.3+build.5', '1.2.3-rc1+meta', '01.2.3', '0.0.0-pre', '0.0.1', '1.2.3-']) {
      assert.equal(semVerError(s), undefined, s);
    }
    const v = parseSemVer('1.30.0-rc.1+git');
    assert.deepEqual(v, { major: 1n, minor: 30n, patch: 0n, preRelease: 'rc.1', metadata: 'git' });
  });
  test('rejects bad and zero versions', () => {
    assert.equal(semVerError('0.0.0'), 'SemVer cannot be zero');
    for (const s of ['', '1', '1.2', 'v1.2.3', '1.2.x', '1.2.3-a..b', '1..3']) {
      assert.equal(semVerError(s), 'SemVer is bad', s);
    }
    assert.throws(() => parseSemVer('0.0.0'), (e: unknown) => e instanceof RktError && e.code === 'EUSAGE');
  });
});

describe('labels', () => {
  test('set rules', () => {
    assert.equal(labelsError([{ name: 'version', value: '1' }, { name: 'os', value: 'linux' }, { name: 'arch', value: 'ppc64le' }]), undefined);
    assert.equal(labelsError([{ name: 'name', value: 'x' }]), 'invalid label name: "name"');
    assert.equal(labelsError([{ name: 'a', value: '1' }, { name: 'a', value: '2' }]), 'duplicate label name "a"');
    assert.equal(labelsError([{ name: 'os', value: 'darwin' }, { name: 'arch', value: 'x86_64' }]), undefined);
    assert.equal(labelsError([{ name: 'os', value: 'freebsd' }, { name: 'arch', value: 'arm' }]), undefined);
    assert.equal(labelsError([{ name: 'os', value: 'freebsd' }, { name: 'arch', value: 'armv7l' }]), 'bad arch "armv7l" for freebsd (must be one of: [amd64 i386 arm])');
  });
  test('osArchError with a custom table (stage0 ValidOSArch)', () => {
    const stage0 = { linux: ['amd64', 'i386', 'aarch64', 'aarch64_be', 'armv6l', 'armv7l', 'armv7b', 'ppc64le'] };
    assert.equal(osArchError(new Map([['os', 'linux'], ['arch', 's390x']]), stage0), 'bad arch "s390x" for linux (must be one of: [amd64 i386 aarch64 aarch64_be armv6l armv7l armv7b ppc64le])');
    assert.equal(osArchError(new Map([['os', 'darwin']]), stage0), 'bad os "darwin" (must be one of: [linux])');
    assert.equal(osArchError(new Map([['os', 'constructor']])), 'bad os "constructor" (must be one of: [darwin freebsd linux])');
  });
  test('labelsFromMap sorts by name', () => {
    assert.deepEqual(labelsFromMap(new Map([['version', '1'], ['arch', 'amd64'], ['os', 'linux']])), [
      { name: 'arch', value: 'amd64' },
      { name: 'os', value: 'linux' },
      { name: 'version', value: '1' },
    ]);
  });
});

describe('environment variable names', () => {
  test('pattern', () => {
    for (const s of ['DEBUG', '_0_DEBUG_0_', 'DEBUG.0', 'DEBUG-0', 'a']) assert.ok(isEnvName(s), s);
    for (const s of ['', '0DEBUG', 'VERBOSE|DEBUG', 'A B', '.A', '-A']) assert.ok(!isEnvName(s), s);
  });
});

describe('hashes', () => {
  test('sha512-<hex>', () => {
    assert.equal(hashError('sha512-' + 'ab'.repeat(64)), undefined);
    assert.deepEqual(parseHash('sha512-abc'), { typ: 'sha512', val: 'abc' });
    assert.equal(hashError('sha512'), 'badly formatted hash string');
    assert.equal(hashError('sha512-a-b'), 'badly formatted hash string');
    assert.equal(hashError('-abc'), 'unexpected empty hash type');
    assert.equal(hashError('sha256-abc'), 'unrecognized hash type: sha256');
    assert.equal(hashError('sha512-'), 'unexpected empty hash value');
    assert.equal(hashError('sha512-zz'), 'hash value must be hexadecimal');
    assert.throws(() => parseHash('md5-00'), (e: unknown) => e instanceof RktError && e.message === '"md5-00" is not a valid image ID: unrecognized hash type: md5');
  });
});

describe('resource quantities', () => {
  test('parse to base units', () => {
    assert.equal(parseQuantity('250m'), 0.25);
    assert.equal(parseQuantity('1.5'), 1.5);
    assert.equal(parseQuantity('1'), 1);
    assert.equal(parseQuantity(2), 2);
    assert.equal(parseQuantity('1K'), 1000);
    assert.equal(parseQuantity('1k'), 1000);
    assert.equal(parseQuantity('1M'), 1e6);
    assert.equal(parseQuantity('1G'), 1e9);
    assert.equal(parseQuantity('1T'), 1e12);
    assert.equal(parseQuantity('1P'), 1e15);
    assert.equal(parseQuantity('1E'), 1e18);
    assert.equal(parseQuantity('1Ki'), 1024);
    assert.equal(parseQuantity('128Mi'), 128 * 1024 * 1024);
    assert.equal(parseQuantity('2Gi'), 2 ** 31);
    assert.equal(parseQuantity('1Ti'), 2 ** 40);
    assert.equal(parseQuantity('1Pi'), 2 ** 50);
    assert.equal(parseQuantity('1Ei'), 2 ** 60);
    assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('5E-3'), 0.005);
    assert.equal(parseQuantity(' 100Mi '), 100 * 2 ** 20);
    assert.equal(parseQuantity('.5'), 0.5);
  });
  test('milli precision for CPU, rounded up', () => {
    assert.equal(parseQuantityMilli('250m'), 250);
    assert.equal(parseQuantityMilli('1.5'), 1500);
    assert.equal(parseQuantityMilli('2'), 2000);
    assert.equal(parseQuantityMilli('0.0001'), 1);
    assert.equal(parseQuantityMilli('100u'), 1);
    assert.equal(quantityValue(parseQuantityExact('1500m')), 2);
    assert.equal(quantityValue(parseQuantityExact('1G')), 1_000_000_000);
  });
  test('errors', () => {
    for (const s of ['', 'abc', '1X', '1Gb', '1 G', 'G']) assert.match(quantityError(s)!, /regular expression/, s);
    assert.equal(quantityError('1mi'), "unable to parse quantity's suffix");
    assert.equal(quantityError('1.2.3'), "unable to parse quantity's numeric part");
    assert.equal(quantityError('.'), "unable to parse quantity's numeric part");
    assert.throws(() => parseQuantity('1X'), (e: unknown) => e instanceof RktError && e.code === 'EUSAGE');
  });
});

describe('UUIDs', () => {
  test('32 hex digits with or without dashes', () => {
    assert.equal(parseUUID('6733C088-A507-4694-AABF-EDBE4FC5266F'), '6733c088-a507-4694-aabf-edbe4fc5266f');
    assert.equal(parseUUID('6733C088A5074694AABFEDBE4FC5266F'), '6733c088-a507-4694-aabf-edbe4fc5266f');
    assert.equal(parseUUID('6733c088-a5074694-aabfedbe-4fc5266f'), '6733c088-a507-4694-aabf-edbe4fc5266f');
    assert.ok(!isUUID('6733c088'));
    assert.ok(!isUUID('6733C088-A507-4694-AABF-EDBE4FC5266G'));
    assert.throws(() => parseUUID('abc'), (e: unknown) => e instanceof RktError && e.message === '"abc" is not a valid UUID: bad UUID length != 32');
  });
});

describe('goQuote', () => {
  test('escapes like Go %q', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('\n\t\x00\x7f'), '"\\n\\t\\x00\\x7f"');
    assert.equal(goQuote('héllo'), '"héllo"');
  });
});
