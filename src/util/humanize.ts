/**
 * go-humanize `Time()` / `IBytes()` and Go's time layout `2006-01-02 15:04:05.999 -0700 MST`,
 * as rkt prints them (`rkt list`, `rkt status`, `rkt image list`).
 */
import { localZone, type Zone } from './timezone';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 12 * MONTH;
const LONG_TIME = 37 * YEAR;

/** go-humanize's defaultMagnitudes, in milliseconds: [upper bound (exclusive), format, divisor]. */
const MAGNITUDES: ReadonlyArray<readonly [number, string, number]> = [
  [SECOND, 'now', SECOND],
  [2 * SECOND, '1 second %s', 1],
  [MINUTE, '%d seconds %s', SECOND],
  [2 * MINUTE, '1 minute %s', 1],
  [HOUR, '%d minutes %s', MINUTE],
  [2 * HOUR, '1 hour %s', 1],
  [DAY, '%d hours %s', HOUR],
  [2 * DAY, '1 day %s', 1],
  [WEEK, '%d days %s', DAY],
  [2 * WEEK, '1 week %s', 1],
  [MONTH, '%d weeks %s', WEEK],
  [2 * MONTH, '1 month %s', 1],
  [YEAR, '%d months %s', MONTH],
  [18 * MONTH, '1 year %s', 1],
  [2 * YEAR, '2 years %s', 1],
  [LONG_TIME, '%d years %s', YEAR],
  [Number.POSITIVE_INFINITY, 'a long while %s', 1],
];

/** A point in time: a Date, milliseconds since the epoch, or nanoseconds since the epoch as a bigint. */
export type TimeLike = Date | number | bigint;

function toMs(t: TimeLike): number {
  if (typeof t === 'bigint') return Number(t / 1_000_000n) - (t < 0n && t % 1_000_000n !== 0n ? 1 : 0);
  return typeof t === 'number' ? t : t.getTime();
}

/** go-humanize RelTime(a, b, albl, blbl): a before b → albl, else blbl. */
export function relTime(a: TimeLike, b: TimeLike, albl: string, blbl: string): string {
  const am = toMs(a);
  const bm = toMs(b);
  let lbl = albl;
  let diff = bm - am;
  if (am > bm) {
    lbl = blbl;
    diff = am - bm;
  }
  const [, fmt, divBy] = MAGNITUDES.find(([bound]) => bound > diff)!;
  return fmt.replace('%d', String(Math.trunc(diff / divBy))).replace('%s', lbl);
}

/** go-humanize Time(then): "now", "3 minutes ago", "2 days from now", "a long while ago". */
export function humanizeTime(then: TimeLike, now: TimeLike = Date.now()): string {
  return relTime(then, now, 'ago', 'from now');
}

const IEC_SIZES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Go's %.0f: round half to even on exact ties (JS toFixed rounds them up). */
function goFixed0(v: number): string {
  const f = Math.floor(v);
  const frac = v - f;
  if (frac === 0.5) return String(f % 2 === 0 ? f : f + 1);
  return v.toFixed(0);
}

/** go-humanize IBytes as vendored in rkt: "4B", "4.5KiB", "12MiB" (no space). */
export function iBytes(size: number | bigint): string {
  const s = Number(size);
  if (s < 10) return `${s}B`;
  const e = Math.floor(Math.log(s) / Math.log(1024));
  const suffix = IEC_SIZES[e];
  const val = Math.floor((s / Math.pow(1024, e)) * 10 + 0.5) / 10;
  return val < 10 ? `${val.toFixed(1)}${suffix}` : `${goFixed0(val)}${suffix}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Go's `t.Format("2006-01-02 15:04:05.999 -0700 MST")`: milliseconds with trailing zeros dropped
 * (and the dot when the fraction is zero), numeric offset, zone abbreviation. The zone defaults to
 * the local one (TZ / /etc/localtime, like Go); pass one to format in a fixed zone.
 */
export function formatGoTime(t: TimeLike, zone?: Zone): string {
  const ms = toMs(t);
  const z = zone ?? localZone(ms);
  const d = new Date(ms + z.offsetSeconds * 1000);
  const frac = ((ms % 1000) + 1000) % 1000;
  let fraction = '';
  if (frac !== 0) fraction = '.' + pad(frac, 3).replace(/0+$/, '');
  const off = Math.abs(z.offsetSeconds);
  const sign = z.offsetSeconds < 0 ? '-' : '+';
  const offset = `${sign}${pad(Math.floor(off / 3600), 2)}${pad(Math.floor((off % 3600) / 60), 2)}`;
  const name = z.abbr !== '' ? z.abbr : offset;
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}${fraction} ` +
    `${offset} ${name}`
  );
}
