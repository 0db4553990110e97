import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxAgeFrom, useCached } from '../../src/fetch/cache-control';
import { byteUnitStr, drawBar, progressLine } from '../../src/fetch/progress';
import { signatureURLFor } from '../../src/fetch/remote';
import { withDefaultLabels } from '../../src/fetch/fetch';

test('Cache-Control as rkt reads it', () => {
  assert.equal(maxAgeFrom(undefined), 0);
  assert.equal(maxAgeFrom('max-age=60'), 60);
  assert.equal(maxAgeFrom('public, max-age=3600'), 3600);
  assert.equal(maxAgeFrom('max-age=3600, no-cache'), 0);
  assert.equal(maxAgeFrom('no-store'), 0);
  assert.equal(maxAgeFrom('max-age=0'), 0);
  assert.equal(maxAgeFrom('max-age=060'), 0, 'no leading zero');
  const t = new Date('2020-01-01T00:00:00Z');
  assert.equal(useCached(t, 60, new Date(t.getTime() + 59_000)), true);
  assert.equal(useCached(t, 60, new Date(t.getTime() + 60_000)), false);
  assert.equal(useCached(t, 0, t), false);
});

test("progress: ioprogress's %.3g byte units and bar", () => {
  assert.equal(byteUnitStr(819), '819 B');
  assert.equal(byteUnitStr(3_250_000), '3.25 MB');
  assert.equal(byteUnitStr(3_700_000), '3.7 MB');
  assert.equal(byteUnitStr(668_000), '668 KB');
  assert.equal(byteUnitStr(7_460_000), '7.46 MB');
  assert.equal(byteUnitStr(0), '0 B');
  assert.equal(drawBar(5, 10, 12), '[=====     ]');
  assert.equal(drawBar(10, 10, 12), '[==========]');
  const line = progressLine('ACI', 3_250_000, 3_700_000);
  assert.match(line, /^Downloading ACI: \[=+ +\] 3\.25 MB\/3\.7 MB$/);
  assert.equal(line.length, 'Downloading ACI: '.length + 47 + ' 3.25 MB/3.7 MB'.length);
  assert.equal(progressLine('signature', 819, undefined), 'Downloading signature: 819 B of an unknown total size');
});

test('signature URL and default labels', () => {
  assert.equal(signatureURLFor('https://h/a/b.aci'), 'https://h/a/b.aci.asc');
  assert.equal(signatureURLFor('https://h/a/b.aci?x=1'), 'https://h/a/b.aci.asc?x=1');
  const l = withDefaultLabels(new Map([['version', '1']]));
  assert.equal(l.get('os'), 'linux');
  assert.equal(l.get('arch'), process.arch === 'x64' ? 'amd64' : l.get('arch'));
  assert.equal(withDefaultLabels(new Map([['os', 'freebsd']])).get('os'), 'freebsd');
});
