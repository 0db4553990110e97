import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCommandTree, normalizeArgv } from '../../src/cli/argv';

const tree = buildCommandTree([
  ['fetch'],
  ['version'],
  ['image', 'list'],
  ['image', 'gc'],
  ['run'],
  ['run-prepared'],
  ['rm'],
  ['status'],
]);
const norm = (...argv: string[]) => normalizeArgv(argv, tree);

test('global flags before the command move after the command path', () => {
  assert.deepEqual(norm('--insecure-options=image', 'fetch', 'X').argv, ['fetch', '--insecure-options=image', 'X']);
  assert.deepEqual(norm('--insecure-options', 'image', 'fetch', 'X').argv, ['fetch', '--insecure-options', 'image', 'X']);
  assert.deepEqual(norm('--dir', '/d', 'fetch', 'X').argv, ['fetch', '--dir', '/d', 'X']);
  assert.deepEqual(norm('--dir=/d', '--debug', 'fetch', 'X').argv, ['fetch', '--dir=/d', '--debug', 'X']);
  assert.deepEqual(norm('--debug=false', '--trust-keys-from-https', 'version').argv, [
    'version',
    '--debug=false',
    '--trust-keys-from-https',
  ]);
  // a value that looks like a command name is still the flag's value
  const r = norm('--dir', 'fetch', 'version');
  assert.deepEqual(r.path, ['version']);
  assert.deepEqual(r.argv, ['version', '--dir', 'fetch']);
});

test('flags after the command and between path words', () => {
  assert.deepEqual(norm('fetch', '--insecure-options=image', 'X').argv, ['fetch', '--insecure-options=image', 'X']);
  assert.deepEqual(norm('fetch', 'X', '--dir', '/d').argv, ['fetch', 'X', '--dir', '/d']);
  const r = norm('--debug', 'image', '--dir', '/x', 'list', '--no-legend');
  assert.deepEqual(r.path, ['image', 'list']);
  assert.deepEqual(r.argv, ['image', 'list', '--debug', '--dir', '/x', '--no-legend']);
});

test('nothing after -- is touched', () => {
  assert.deepEqual(norm('run', 'img', '--', '--dir', '/x', 'fetch').argv, ['run', 'img', '--', '--dir', '/x', 'fetch']);
  assert.deepEqual(norm('--debug', 'run', '--', '--dir', 'x').argv, ['run', '--debug', '--', '--dir', 'x']);
  const r = norm('--', 'fetch', '--dir', '/x');
  assert.deepEqual(r.path, []);
  assert.deepEqual(r.argv, ['--', 'fetch', '--dir', '/x']);
});

test('unambiguous prefixes resolve to the command (cobra prefix matching)', () => {
  assert.deepEqual(norm('stat', 'u').path, ['status']);
  assert.deepEqual(norm('ima', 'li').argv, ['image', 'list']);
  assert.deepEqual(norm('run-p', 'u').path, ['run-prepared']);
  assert.deepEqual(norm('run', 'u').path, ['run']); // exact match wins over prefixes
  assert.deepEqual(norm('r', 'u').path, []); // ambiguous
  assert.deepEqual(norm('image', 'rm').path, ['image']); // no such subcommand
});

test('help detection', () => {
  assert.equal(norm('--help').help, true);
  assert.equal(norm('-h', 'fetch').help, true);
  assert.equal(norm('fetch', 'X', '--help').help, true);
  assert.equal(norm('fetch', 'X', '--help').helpBeforeArgs, false);
  assert.equal(norm('fetch', '-h', 'X').helpBeforeArgs, true);
  assert.equal(norm('run', 'img', '--', '-h').help, false);
  assert.equal(norm('fetch', 'X').help, false);
});

test('--name=value with digits in the name is split for clipanion, never after --', () => {
  assert.deepEqual(norm('run', '--stage1-path=/s.aci', 'IMG', '--exec=/x').argv, ['run', '--stage1-path', '/s.aci', 'IMG', '--exec=/x']);
  assert.deepEqual(norm('--stage1-name=a:b', 'run', 'IMG').argv, ['run', '--stage1-name', 'a:b', 'IMG']);
  assert.deepEqual(norm('run', 'IMG', '--', '--stage1-path=/s.aci').argv, ['run', 'IMG', '--', '--stage1-path=/s.aci']);
});
