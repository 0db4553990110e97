/**
 * Fetching one image from its URL, shared by fetch-by-URL and fetch-by-name (rkt's httpfetcher and
 * namefetcher, reference §4.4–4.5): reuse the stored blob while the recorded max-age is fresh,
 * else download the signature, then the image with If-None-Match (304 → the stored blob), verify
 * the signature over the file as downloaded, validate the manifest, store, and record the `remote`
 * row. The image is verified and imported (its tree rendered too, when wanted) while it downloads;
 * the import is committed only once the verdict and the manifest checks have passed. Any failure
 * leaves no blob, no row, and no temp file but a resumable partial download.
 */
import { RktError, describeError } from '../errors';
import type { RemoteRow } from '../store/db';
import type { ImportResult, ImportStream } from '../native';
import { useCached } from './cache-control';
import { mark } from '../util/timing';
import { download, type DownloadResult } from './download';
import { readSignatureFile, validateManifest } from './image-check';
import type { FetchSession } from './session';

export interface RemoteImage {
  aciUrl: string;
  ascUrl: string;
  /** --signature: a local signature file instead of ascUrl */
  signatureFile?: string;
  /** fetched by name without a version label */
  latest: boolean;
  /** fetch by name: the name and labels the manifest must have (and whose keys verify) */
  expect?: { name: string; labels: ReadonlyMap<string, string> };
  debug: (line: string) => void;
}

/** The signature URL of an image URL: its path's `.aci` becomes `.aci.asc`. */
export function signatureURLFor(aciUrl: string): string {
  const u = new URL(aciUrl);
  u.pathname = u.pathname.replace(/\.aci$/, '') + '.aci.asc';
  return u.href;
}

/** The stored remote row for the URL, if its image is still in the store. */
export async function liveRemote(s: FetchSession, url: string): Promise<RemoteRow | undefined> {
  const db = await s.store.database();
  const rem = await db.getRemote(url);
  if (!rem) return undefined;
  return (await db.getAciInfo(rem.blobKey)) ? rem : undefined;
}

async function downloadSignature(s: FetchSession, url: string, debug: (l: string) => void): Promise<Buffer | 'deferred'> {
  const client = await s.client();
  debug(`Downloading signature from ${url}`);
  let r: DownloadResult;
  try {
    r = await download(url, { client, tmpDir: s.store.layout.casTmpDir, lockDir: s.store.layout.imageLocksDir, label: 'signature', progress: s.env.stderr, debug });
  } catch (e) {
    throw new RktError(e instanceof RktError ? e.code : 'ENETWORK', `error downloading the signature file: ${describeError(e)}`, { cause: e });
  }
  if (r.kind === 'deferred') return 'deferred';
  if (r.kind !== 'downloaded') throw new RktError('ENETWORK', `error downloading the signature file: unexpected reply for ${url}`);
  try {
    return readSignatureFile(r.file);
  } finally {
    r.discard();
  }
}

export async function fetchRemoteImage(s: FetchSession, img: RemoteImage): Promise<string> {
  const { debug } = img;
  debug(`remote fetching from URL ${JSON.stringify(img.aciUrl)}`);
  const rem = await liveRemote(s, img.aciUrl);
  if (rem && useCached(rem.downloadTime, rem.cacheMaxAge)) {
    debug(`image for ${img.aciUrl} isn't expired, not fetching.`);
    return rem.blobKey;
  }
  const ks = await s.keystore();
  let sig: Buffer | 'deferred' | undefined;
  if (ks) {
    sig = img.signatureFile !== undefined ? readSignatureFile(img.signatureFile) : await downloadSignature(s, img.ascUrl, debug);
    if (sig !== 'deferred' && img.expect) {
      const { checkSignerKnown } = await import('./image-check');
      await checkSignerKnown(ks, img.expect.name, sig, s.log);
    }
  }
  debug(`fetching image from ${img.aciUrl}`);
  mark('fetch-start');
  const client = await s.client();
  // With the signature at hand, the bytes are verified while they are downloaded; and they are
  // imported (decompressed, hashed, stored, rendered) as they arrive, so the file is never read
  // back. Nothing is committed before the verdict.
  const { startImageCheck, verifyImageSignature } = await import('./image-check');
  const streaming = ks && Buffer.isBuffer(sig) ? await startImageCheck(ks, sig, s.log, img.expect?.name) : undefined;
  // Started by download() once it knows where the download starts (always before the first tap):
  // the import writes the partial file itself.
  let started: ImportStream | undefined;
  const importer = (): ImportStream => {
    if (!started) throw new RktError('EIO', 'internal error: image bytes before the import started');
    return started;
  };
  let r: DownloadResult;
  try {
    r = await download(img.aciUrl, {
      tapWrites: (file, from) => void (started = s.store.startImport(s.renderTrees, { path: file, have: from })),
      tap: streaming ? async (c) => void (await Promise.all([streaming.tap(c), importer().push(c)])) : (c) => importer().push(c),
      client,
      tmpDir: s.store.layout.casTmpDir,
      lockDir: s.store.layout.imageLocksDir,
      etag: rem?.etag || undefined,
      label: 'ACI',
      progress: s.env.stderr,
      debug,
    });
  } catch (e) {
    await started?.abort();
    throw e;
  }
  if (r.kind !== 'downloaded') await started?.abort();
  if (r.kind === 'not-modified') {
    if (rem) {
      debug(`using image from local store for url ${img.aciUrl} (not modified)`);
      // Unlike rkt (a TODO in its code), a 304 renews the cache period: the server just said the
      // stored copy is current, and its Cache-Control applies from now.
      await (await s.store.database()).upsertRemote({ ...rem, etag: r.etag || rem.etag, cacheMaxAge: r.maxAge, downloadTime: new Date() });
      return rem.blobKey;
    }
    throw new RktError('ENETWORK', `error downloading ${img.aciUrl}: 304 Not Modified for an image not in the store`);
  }
  if (r.kind === 'deferred') throw new RktError('ENETWORK', `error downloading ${img.aciUrl}: bad HTTP status code: 202`);
  mark('fetch-downloaded');
  let finished = false;
  try {
    if (sig === 'deferred') {
      sig = await downloadSignature(s, img.ascUrl, debug);
      if (sig === 'deferred') throw new RktError('ENETWORK', 'error downloading the signature file: server asked to defer the download again');
    }
    let identities: string[] | undefined;
    // By name the keys are the name's: the verdict comes before the image is imported. By URL they
    // are the manifest's name's, known once the import has read the manifest (still before anything
    // is stored).
    const verify = (name: string) => (streaming ? streaming.finish(name) : verifyImageSignature(ks!, name, r.file, sig as Buffer, s.log));
    const finish = async (): Promise<ImportResult> => {
      finished = true;
      const b = await importer().finish();
      mark('fetch-import-finished');
      // A gzip image's blob is the downloaded file itself, which download() has moved since.
      if (b.blobIsSource) b.tmpPath = r.file;
      return b;
    };
    // A check of the file (no streaming check) must wait until the import has written all of it;
    // an import error then still comes after the signature's verdict, as rkt checks that first.
    const early = ks && !streaming ? await finish().catch((e: unknown) => ({ failed: e })) : undefined;
    if (ks && img.expect) {
      try {
        identities = await verify(img.expect.name);
      } catch (e) {
        if (early && !('failed' in early)) s.store.discardImport(early);
        throw e;
      }
    }
    if (early && 'failed' in early) throw early.failed;
    const built = early ?? (await finish());
    const imported = await s.store.finishImport(built, {
      latest: img.latest,
      check: async (m) => {
        if (img.expect) validateManifest(m, img.expect.name, img.expect.labels);
        else if (ks) identities = await verify(m.name);
      },
    });
    mark('fetch-committed');
    if (identities) {
      s.log.print('signature verified:');
      for (const id of identities) s.log.print(`  ${id}`);
    }
    await (await s.store.database()).upsertRemote({
      aciUrl: img.aciUrl,
      sigUrl: img.signatureFile ?? img.ascUrl,
      etag: r.etag,
      blobKey: imported.key,
      cacheMaxAge: r.maxAge,
      downloadTime: new Date(),
    });
    return imported.key;
  } finally {
    if (!finished) await started?.abort();
    r.discard();
  }
}
