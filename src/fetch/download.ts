/**
 * Resumable downloads into `cas/tmp` (rkt/image/resumablesession.go, reference §4.4). The partial
 * file is named after the URL (`dl-<sha512 of URL>`), with the server's ETag beside it
 * (`….etag`), so that a download cut short (network error, kill -9) continues on the next fetch with
 * `Range: bytes=<size>-` when the server allows it and the resource is unchanged, and restarts
 * otherwise. A per-URL lock keeps two fetches of the same URL from writing the same file.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RktError } from '../errors';
import { FileLock } from '../store/locks';
import { maxAgeFrom } from './cache-control';
import { header, networkError, type HttpClient, type HttpResponse } from './http-client';
import { Progress, type ProgressSink } from './progress';

export interface DownloadOptions {
  client: HttpClient;
  /** cas/tmp */
  tmpDir: string;
  /** where the per-URL lock file lives (cas/imagelocks) */
  lockDir: string;
  /** the stored ETag of this URL, sent as If-None-Match */
  etag?: string;
  /** `ACI` or `signature`, for the progress bar */
  label: string;
  progress?: ProgressSink;
  debug?: (line: string) => void;
  /**
   * Sees every byte of the file in order as it is written (a streaming signature check): on a
   * resumed download, first the partial file's bytes, then the rest from the network.
   */
  tap?: (chunk: Buffer) => Promise<void>;
  /**
   * Hands the writing of the partial file to the tap: called once per download, when it is known to
   * continue after `from` bytes already in `file` (0: from scratch), before the first tap. The tap
   * then writes every later byte to `file`, in order, and download() writes none (the streamed
   * import keeps that file as the blob of a gzip image, so its bytes are written once).
   */
  tapWrites?: (file: string, from: number) => void;
}

export type DownloadResult =
  | { kind: 'downloaded'; file: string; etag: string; maxAge: number; discard: () => void }
  | { kind: 'not-modified'; etag: string; maxAge: number }
  | { kind: 'deferred' };

/** Bytes gathered from the network before they are passed on (see the counter in download()). */
const BATCH = 1 << 20;

export function partialPath(tmpDir: string, url: string): string {
  return path.join(tmpDir, 'dl-sha512-' + crypto.createHash('sha512').update(url).digest('hex').slice(0, 64));
}

function removePartial(file: string): void {
  fs.rmSync(file, { force: true });
  fs.rmSync(file + '.etag', { force: true });
}

function sizeOf(file: string): { size: number; mtime: Date } | undefined {
  try {
    const st = fs.statSync(file);
    return { size: st.size, mtime: st.mtime };
  } catch {
    return undefined;
  }
}

/** Whether the partial file can be continued: the server does ranges and the resource is the same one. */
async function canResume(client: HttpClient, url: string, file: string, st: { mtime: Date }): Promise<boolean> {
  let res: HttpResponse;
  try {
    res = await client.request(url, { method: 'HEAD' });
    await res.body.dump().catch(() => undefined);
  } catch {
    return false;
  }
  if (res.statusCode !== 200 || header(res, 'accept-ranges') !== 'bytes') return false;
  const etag = header(res, 'etag');
  let saved = '';
  try {
    saved = fs.readFileSync(file + '.etag', 'utf8');
  } catch {
    saved = '';
  }
  if (etag !== undefined && saved !== '' && etag === saved) return true;
  const lm = header(res, 'last-modified');
  return lm !== undefined && new Date(lm).getTime() <= st.mtime.getTime();
}

export async function download(url: string, opts: DownloadOptions): Promise<DownloadResult> {
  const file = partialPath(opts.tmpDir, url);
  const lock = await FileLock.key(opts.lockDir, path.basename(file), true);
  let keep = false;
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const st = sizeOf(file);
      let from = 0;
      if (st && st.size > 0) {
        if (await canResume(opts.client, url, file, st)) from = st.size;
        else removePartial(file);
      }
      const headers: Record<string, string> = {};
      if (from > 0) headers.range = `bytes=${from}-`;
      else if (opts.etag) headers['if-none-match'] = opts.etag;
      if (from > 0) opts.debug?.(`resuming ${url} at byte ${from}`);
      const res = await opts.client.request(url, { headers });
      switch (res.statusCode) {
        case 304:
          await res.body.dump().catch(() => undefined);
          return { kind: 'not-modified', etag: header(res, 'etag') ?? opts.etag ?? '', maxAge: maxAgeFrom(header(res, 'cache-control')) };
        case 202:
          await res.body.dump().catch(() => undefined);
          return { kind: 'deferred' };
        case 416:
          // our partial is no longer a prefix of what the server has: start over
          await res.body.dump().catch(() => undefined);
          removePartial(file);
          continue;
        case 200:
          from = 0;
          break;
        case 206: {
          const m = /^bytes (\d+)-/.exec(header(res, 'content-range') ?? '');
          if (!m || Number(m[1]) !== from) {
            await res.body.dump().catch(() => undefined);
            removePartial(file);
            continue;
          }
          break;
        }
        default:
          await res.body.dump().catch(() => undefined);
          throw new RktError('ENETWORK', `error downloading ${url}: bad HTTP status code: ${res.statusCode}`);
      }
      opts.tapWrites?.(file, from);
      if (opts.tap && from > 0) {
        // the bytes we already have: read once, now, instead of the whole file after the download
        for await (const c of fs.createReadStream(file, { start: 0, end: from - 1, highWaterMark: 1 << 20 })) await opts.tap(c as Buffer);
      }
      const etag = header(res, 'etag') ?? '';
      if (from === 0) fs.writeFileSync(file + '.etag', etag, { mode: 0o640 });
      const len = header(res, 'content-length');
      const expected = len === undefined ? undefined : from + Number(len);
      const progress = new Progress(opts.progress, opts.label, expected, from);
      let written = from;
      const tap = opts.tap;
      // The network hands over TLS-record-sized pieces (16-64 KiB). Passed on one by one, their
      // per-chunk costs (the signature check's web streams, promises, writes) made the JS thread the
      // bottleneck of a cold fetch; 1 MiB batches cut those calls ~30-fold for one memcpy.
      let batch: Buffer[] = [];
      let batched = 0;
      const emit = (self: Transform, cb: (e?: Error | null) => void): void => {
        const out = batch.length === 1 ? batch[0] : Buffer.concat(batch, batched);
        batch = [];
        batched = 0;
        if (tap) {
          tap(out).then(() => {
            self.push(out);
            cb();
          }, cb);
        } else {
          self.push(out);
          cb();
        }
      };
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          written += chunk.length;
          progress.add(chunk.length);
          batch.push(chunk);
          batched += chunk.length;
          if (batched >= BATCH) emit(this, cb);
          else cb();
        },
        flush(cb) {
          if (batched > 0) emit(this, cb);
          else cb();
        },
      });
      keep = true; // from here a failure leaves a partial worth resuming
      try {
        const sink = opts.tapWrites ? new Writable({ write: (_c, _e, cb) => cb() }) : fs.createWriteStream(file, { flags: from > 0 ? 'a' : 'w', mode: 0o640, highWaterMark: 1 << 20 });
        await pipeline(res.body, counter, sink);
      } catch (e) {
        throw networkError(url, e);
      }
      if (expected !== undefined && written !== expected) {
        throw new RktError('ENETWORK', `error downloading ${url}: unexpected EOF after ${written} of ${expected} bytes`);
      }
      progress.finish();
      keep = false;
      // Complete: moved to a name of this process's own before the URL's lock is released, so a
      // concurrent fetch of the URL starts afresh instead of resuming from (or deleting) this file
      // while it is verified and committed. gc sweeps the name if this process dies.
      const done = path.join(opts.tmpDir, `import-${process.pid}-dl${crypto.randomBytes(8).toString('hex')}`);
      fs.renameSync(file, done);
      fs.rmSync(file + '.etag', { force: true });
      return { kind: 'downloaded', file: done, etag, maxAge: maxAgeFrom(header(res, 'cache-control')), discard: () => fs.rmSync(done, { force: true }) };
    }
    throw new RktError('ENETWORK', `error downloading ${url}: the server keeps refusing the requested range`);
  } catch (e) {
    if (!keep) removePartial(file);
    throw e;
  } finally {
    lock.release();
  }
}
