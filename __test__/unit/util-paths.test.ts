import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { under } from '../../src/util/paths';
import { RktError } from '../../src/errors';

test('under() is path.join for a normalized dir and single components', () => {
  const dir = '/var/lib/rkt/pods/run/0a9d9917-de5e-407b-8371-2ab19c37934b';
  for (const names of [[], ['pod'], ['stage1', 'rootfs', 'opt', 'stage2', 'app-1'], ['overlay', 'deps-sha512-' + 'ab'.repeat(32), 'upper', 'x.y']]) {
    assert.equal(under(dir, ...names), path.join(dir, ...names), names.join('/'));
  }
  assert.equal(under('/', 'cas', 'db'), '/cas/db');
  assert.equal(under('/'), '/');
});

test('under() refuses what is not one path component', () => {
  for (const bad of ['', '.', '..', 'a/b', '/abs', 'x/']) {
    assert.throws(() => under('/d', 'ok', bad), (e: unknown) => e instanceof RktError && e.code === 'EINTERNAL', JSON.stringify(bad));
  }
});
