import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, commandName } from '../../src/util/log';
import { RktError } from '../../src/errors';

function sink() {
  const s = { data: '', write: (c: string) => ((s.data += c), true) };
  return s;
}

test('stderr lines carry the command prefix, stdout lines none', () => {
  const err = sink();
  const out = sink();
  const log = createLogger({ prefix: commandName(['image', 'gc']), stderr: err, stdout: out });
  log.print('moving pod "x" to garbage');
  log.print('already terminated\n');
  log.out('Garbage collecting pod "x"');
  assert.equal(err.data, 'gc: moving pod "x" to garbage\ngc: already terminated\n');
  assert.equal(out.data, 'Garbage collecting pod "x"\n');
});

test('debug lines only with --debug', () => {
  const quiet = sink();
  createLogger({ prefix: 'fetch', stderr: quiet }).debug('hidden');
  assert.equal(quiet.data, '');
  const loud = sink();
  const log = createLogger({ prefix: 'fetch', debug: true, stderr: loud });
  log.debug('shown');
  assert.equal(log.debugEnabled, true);
  assert.equal(loud.data, 'fetch: shown\n');
});

test('printE / error / withPrefix', () => {
  const err = sink();
  const log = createLogger({ prefix: 'fetch', stderr: err });
  log.printE('unable to fetch image', new RktError('ENOTFOUND', 'no such image'));
  log.error(new Error('plain'));
  log.withPrefix('image').print('using image from local store');
  assert.equal(
    err.data,
    'fetch: unable to fetch image: no such image\nfetch: plain\nimage: using image from local store\n',
  );
});

test('commandName is the last path word, rkt for the root', () => {
  assert.equal(commandName(['fetch']), 'fetch');
  assert.equal(commandName(['image', 'gc']), 'gc');
  assert.equal(commandName([]), 'rkt');
});
