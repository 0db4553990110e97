/** HTTP caching as rkt applies it to images (rkt/image/httpops.go, reference §4.4–4.5). */

/** Seconds the reply may be reused: `no-store`/`no-cache` → 0, `max-age=N` (N>0, no leading zero) → N. */
export function maxAgeFrom(cacheControl: string | undefined): number {
  if (!cacheControl) return 0;
  let maxAge = 0;
  for (const raw of cacheControl.split(',')) {
    const d = raw.trim().toLowerCase();
    if (d === 'no-store' || d === 'no-cache') return 0;
    const m = /^max-age=([1-9][0-9]*)$/.exec(d);
    if (m) maxAge = Number(m[1]);
  }
  return maxAge;
}

/** rkt's useCached: reuse iff max-age > 0 and the download is younger than it. */
export function useCached(downloadTime: Date, cacheMaxAge: number, now: Date = new Date()): boolean {
  return cacheMaxAge > 0 && (now.getTime() - downloadTime.getTime()) / 1000 < cacheMaxAge;
}
