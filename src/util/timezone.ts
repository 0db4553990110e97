/**
 * The local zone's offset and abbreviation for a given instant, as Go prints them ("CET", "PDT",
 * "UTC", "+03"). The offset comes from the JS engine; the abbreviation from the TZif file Go itself
 * would read (TZ, else /etc/localtime), falling back to Intl when there is none.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Zone {
  /** seconds east of UTC */
  offsetSeconds: number;
  /** abbreviation; '' means "print the numeric offset instead" (Go's behaviour) */
  abbr: string;
}

export const UTC: Zone = { offsetSeconds: 0, abbr: 'UTC' };

interface TzInfo {
  transitions: number[]; // seconds since epoch
  transitionTypes: number[];
  types: { utoff: number; isdst: boolean; abbr: string }[];
  footer: { std?: [string, number]; dst?: [string, number] };
}

const ZONEINFO_DIRS = ['/usr/share/zoneinfo', '/usr/lib/zoneinfo', '/usr/share/lib/zoneinfo'];

function zoneFile(tz: string | undefined): string | null | 'UTC' {
  if (tz === undefined) return '/etc/localtime';
  if (tz === '' || tz === 'UTC' || tz === ':UTC') return 'UTC';
  const name = tz.startsWith(':') ? tz.slice(1) : tz;
  if (path.isAbsolute(name)) return name;
  for (const d of ZONEINFO_DIRS) {
    const p = path.join(d, name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** POSIX TZ footer like "CET-1CEST,M3.5.0,M10.5.0/3" or "<+03>-3": the names and their offsets. */
function parsePosixTz(s: string): TzInfo['footer'] {
  const name = /^(<[^>]*>|[A-Za-z]{3,})/;
  const offset = /^([+-]?)(\d{1,3})(?::(\d{1,2}))?(?::(\d{1,2}))?/;
  const res: TzInfo['footer'] = {};
  let rest = s;
  const readName = (): string | null => {
    const m = name.exec(rest);
    if (!m) return null;
    rest = rest.slice(m[0].length);
    return m[1].startsWith('<') ? m[1].slice(1, -1) : m[1];
  };
  const readOffset = (): number | null => {
    const m = offset.exec(rest);
    if (!m) return null;
    rest = rest.slice(m[0].length);
    const secs = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    return m[1] === '-' ? secs : -secs; // POSIX offsets are west-positive
  };
  const std = readName();
  if (std === null) return res;
  const stdOff = readOffset();
  if (stdOff === null) return res;
  res.std = [std, stdOff];
  const dst = readName();
  if (dst !== null) res.dst = [dst, readOffset() ?? stdOff + 3600];
  return res;
}

function parseTzif(buf: Buffer): TzInfo | null {
  if (buf.length < 44 || buf.toString('latin1', 0, 4) !== 'TZif') return null;
  const version = buf[4];
  const header = (at: number) => ({
    isutcnt: buf.readUInt32BE(at + 20),
    isstdcnt: buf.readUInt32BE(at + 24),
    leapcnt: buf.readUInt32BE(at + 28),
    timecnt: buf.readUInt32BE(at + 32),
    typecnt: buf.readUInt32BE(at + 36),
    charcnt: buf.readUInt32BE(at + 40),
  });
  let at = 0;
  let h = header(0);
  let timeSize = 4;
  const blockLen = (hh: ReturnType<typeof header>, ts: number) =>
    hh.timecnt * ts + hh.timecnt + hh.typecnt * 6 + hh.charcnt + hh.leapcnt * (ts + 4) + hh.isstdcnt + hh.isutcnt;
  if (version >= 0x32 /* '2' */) {
    at = 44 + blockLen(h, 4);
    if (buf.length < at + 44) return null;
    h = header(at);
    timeSize = 8;
  }
  let p = at + 44;
  const transitions: number[] = [];
  for (let i = 0; i < h.timecnt; i++, p += timeSize) {
    transitions.push(timeSize === 8 ? Number(buf.readBigInt64BE(p)) : buf.readInt32BE(p));
  }
  const transitionTypes: number[] = [];
  for (let i = 0; i < h.timecnt; i++, p++) transitionTypes.push(buf[p]);
  const rawTypes: { utoff: number; isdst: boolean; idx: number }[] = [];
  for (let i = 0; i < h.typecnt; i++, p += 6) {
    rawTypes.push({ utoff: buf.readInt32BE(p), isdst: buf[p + 4] === 1, idx: buf[p + 5] });
  }
  const chars = buf.subarray(p, p + h.charcnt);
  const types = rawTypes.map((t) => {
    const end = chars.indexOf(0, t.idx);
    return { utoff: t.utoff, isdst: t.isdst, abbr: chars.toString('latin1', t.idx, end < 0 ? chars.length : end) };
  });
  let footer: TzInfo['footer'] = {};
  if (timeSize === 8) {
    const end = p + h.charcnt + h.leapcnt * 12 + h.isstdcnt + h.isutcnt;
    const text = buf.toString('latin1', end).split('\n')[1];
    if (text) footer = parsePosixTz(text);
  }
  return { transitions, transitionTypes, types, footer };
}

const cache = new Map<string, TzInfo | null | 'UTC'>();

function loadZone(): TzInfo | null | 'UTC' {
  const key = process.env.TZ === undefined ? '\0unset' : process.env.TZ;
  if (cache.has(key)) return cache.get(key)!;
  const file = zoneFile(process.env.TZ);
  let info: TzInfo | null | 'UTC' = null;
  if (file === 'UTC') info = 'UTC';
  else if (file !== null) {
    try {
      info = parseTzif(fs.readFileSync(file));
    } catch {
      info = null;
    }
  }
  cache.set(key, info);
  return info;
}

function abbrFromTzif(info: TzInfo, secs: number, offset: number): string | null {
  // the type in force at that instant, when it agrees with the engine's offset
  let lo = 0;
  let hi = info.transitions.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (info.transitions[mid] <= secs) {
      idx = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (idx >= 0) {
    const t = info.types[info.transitionTypes[idx]];
    if (t && t.utoff === offset) return t.abbr;
  } else if (info.transitions.length === 0 && info.types.length > 0 && info.types[0].utoff === offset) {
    return info.types[0].abbr;
  }
  // past the last transition of a "slim" file: the footer rule's names
  if (info.footer.std && info.footer.std[1] === offset) return info.footer.std[0];
  if (info.footer.dst && info.footer.dst[1] === offset) return info.footer.dst[0];
  for (let i = info.types.length - 1; i >= 0; i--) if (info.types[i].utoff === offset) return info.types[i].abbr;
  return null;
}

function abbrFromIntl(ms: number, offset: number): string {
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
      .formatToParts(new Date(ms))
      .find((p) => p.type === 'timeZoneName')?.value;
    if (part === undefined) return '';
    if ((part === 'GMT' || part === 'UTC') && offset === 0) return 'UTC';
    if (/^(GMT|UTC)[+-]/.test(part)) {
      // Go names zones without letters like "+03" / "+0530"
      const off = Math.abs(offset);
      const hh = String(Math.floor(off / 3600)).padStart(2, '0');
      const mm = Math.floor((off % 3600) / 60);
      return `${offset < 0 ? '-' : '+'}${hh}${mm ? String(mm).padStart(2, '0') : ''}`;
    }
    return part;
  } catch {
    return '';
  }
}

/** The local zone (offset and abbreviation) in force at `at` (ms since epoch). */
export function localZone(at: number = Date.now()): Zone {
  const offsetSeconds = -new Date(at).getTimezoneOffset() * 60;
  const info = loadZone();
  if (info === 'UTC') return { offsetSeconds, abbr: offsetSeconds === 0 ? 'UTC' : abbrFromIntl(at, offsetSeconds) };
  const abbr = (info && abbrFromTzif(info, Math.floor(at / 1000), offsetSeconds)) ?? abbrFromIntl(at, offsetSeconds);
  return { offsetSeconds, abbr };
}
