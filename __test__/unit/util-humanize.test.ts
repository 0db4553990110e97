import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { humanizeTime, iBytes, formatGoTime, relTime } from '../../src/util/humanize';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

test('humanizeTime thresholds (go-humanize Time)', () => {
  const now = Date.UTC(2020, 0, 1);
  const ago = (ms: number) => humanizeTime(now - ms, now);
  const cases: [number, string][] = [
    [0, 'now'],
    [999, 'now'],
    [S, '1 second ago'],
    [2 * S - 1, '1 second ago'],
    [2 * S, '2 seconds ago'],
    [MIN - 1, '59 seconds ago'],
    [MIN, '1 minute ago'],
    [2 * MIN - 1, '1 minute ago'],
    [2 * MIN, '2 minutes ago'],
    [H - 1, '59 minutes ago'],
    [H, '1 hour ago'],
    [2 * H, '2 hours ago'],
    [D - 1, '23 hours ago'],
    [D, '1 day ago'],
    [2 * D, '2 days ago'],
    [7 * D - 1, '6 days ago'],
    [7 * D, '1 week ago'],
    [14 * D, '2 weeks ago'],
    [30 * D - 1, '4 weeks ago'],
    [30 * D, '1 month ago'],
    [60 * D, '2 months ago'],
    [360 * D - 1, '11 months ago'],
    [360 * D, '1 year ago'],
    [540 * D - 1, '1 year ago'],
    [540 * D, '2 years ago'],
    [720 * D - 1, '2 years ago'],
    [720 * D, '2 years ago'],
    [1080 * D, '3 years ago'],
    [37 * 360 * D - 1, '36 years ago'],
    [37 * 360 * D, 'a long while ago'],
  ];
  for (const [ms, text] of cases) assert.equal(ago(ms), text, `${ms} ms`);
  assert.equal(humanizeTime(now + 5 * MIN, now), '5 minutes from now');
  assert.equal(relTime(new Date(now), new Date(now + 3 * D), 'earlier', 'later'), '3 days earlier');
});

test('iBytes (go-humanize IBytes as vendored by rkt: no space)', () => {
  const cases: [number, string][] = [
    [0, '0B'],
    [9, '9B'],
    [10, '10B'],
    [1023, '1023B'],
    [1024, '1.0KiB'],
    [1536, '1.5KiB'],
    [4608, '4.5KiB'],
    [10 * 1024, '10KiB'],
    [10 * 1024 + 512, '10KiB'], // 10.5 → Go's %.0f rounds half to even
    [11 * 1024 + 512, '12KiB'],
    [12 * 1024 * 1024, '12MiB'],
    [5.25 * 1024 ** 3, '5.3GiB'],
    [1024 ** 4, '1.0TiB'],
  ];
  for (const [n, text] of cases) assert.equal(iBytes(n), text, String(n));
  assert.equal(iBytes(12n * 1024n * 1024n), '12MiB');
});

test('formatGoTime: 2006-01-02 15:04:05.999 -0700 MST', () => {
  const cet = { offsetSeconds: 3600, abbr: 'CET' };
  assert.equal(formatGoTime(Date.UTC(2016, 0, 25, 16, 42, 32, 563), cet), '2016-01-25 17:42:32.563 +0100 CET');
  assert.equal(formatGoTime(Date.UTC(2016, 0, 25, 16, 42, 32, 560), cet), '2016-01-25 17:42:32.56 +0100 CET');
  assert.equal(formatGoTime(Date.UTC(2016, 0, 25, 16, 42, 32, 500), cet), '2016-01-25 17:42:32.5 +0100 CET');
  assert.equal(formatGoTime(Date.UTC(2016, 0, 25, 16, 42, 32, 0), cet), '2016-01-25 17:42:32 +0100 CET');
  assert.equal(formatGoTime(Date.UTC(2016, 0, 1, 3, 0, 0, 7), { offsetSeconds: -7 * 3600, abbr: 'PDT' }), '2015-12-31 20:00:00.007 -0700 PDT');
  assert.equal(formatGoTime(new Date(Date.UTC(2016, 0, 1)), { offsetSeconds: 19800, abbr: '' }), '2016-01-01 05:30:00 +0530 +0530');
  // nanoseconds since the epoch (rkt's JSON times): truncated to milliseconds like Go's .999
  const ns = BigInt(Date.UTC(2016, 0, 25, 16, 42, 32, 563)) * 1_000_000n + 999_999n;
  assert.equal(formatGoTime(ns, cet), '2016-01-25 17:42:32.563 +0100 CET');
});

test('formatGoTime uses the local zone from TZ like Go', (t) => {
  const saved = process.env.TZ;
  t.after(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });
  process.env.TZ = 'UTC';
  assert.equal(formatGoTime(Date.UTC(2016, 0, 26, 13, 23, 34, 631)), '2016-01-26 13:23:34.631 +0000 UTC');
  if (fs.existsSync('/usr/share/zoneinfo/Europe/Berlin')) {
    process.env.TZ = 'Europe/Berlin';
    assert.equal(formatGoTime(Date.UTC(2016, 0, 26, 13, 23, 34, 631)), '2016-01-26 14:23:34.631 +0100 CET');
    assert.equal(formatGoTime(Date.UTC(2016, 6, 26, 13, 23, 34, 0)), '2016-07-26 15:23:34 +0200 CEST');
  }
  if (fs.existsSync('/usr/share/zoneinfo/Asia/Dubai')) {
    process.env.TZ = 'Asia/Dubai';
    assert.equal(formatGoTime(Date.UTC(2020, 0, 1)), '2020-01-01 04:00:00 +0400 +04');
  }
});
