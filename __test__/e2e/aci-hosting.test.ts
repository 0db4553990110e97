/**
 * The seed's "ACI server example" (Documentation/aci-hosting.md) as written: a directory with an
 * index.html meta tag and postgres-latest-linux-amd64.aci, served by `python3 -m http.server 80`
 * (inside the test's own network namespace, so port 80 and "localhost" are ours), then
 * `rkt --insecure-options=http,image fetch localhost/postgres`. On a terminal the progress bar shows.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aciEntries, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { keyOf } from './harness';
import { World } from './support/world';
import { byteUnitStr } from '../../src/fetch/progress';

describe('ACI hosting with python3 -m http.server (the seed example)', () => {
  const w = new World({ netns: true, hosts: ['localhost'] });
  const dir = w.path('acis');
  let tar: Buffer;
  before(async () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'index.html'),
      `<html>
    <head>
        <meta name="ac-discovery" content="localhost/postgres http://localhost/postgres-{version}-{os}-{arch}.{ext}">
    </head>
</html>
`,
    );
    const payload = Buffer.alloc(3 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
    tar = await writeAci(path.join(dir, 'postgres-latest-linux-amd64.aci'), aciEntries(manifestFor('localhost/postgres'), [{ name: 'data', data: payload }]));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['index.html', 'postgres-latest-linux-amd64.aci']);
    const py = w.startProcess('python3', ['-m', 'http.server', '80'], dir);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (c: Buffer) => {
        out += String(c);
        if (out.includes('Serving HTTP')) resolve();
      };
      py.stdout!.on('data', onData);
      py.stderr!.on('data', onData);
      py.once('exit', (code) => reject(new Error(`python3 exited ${code}: ${out}`)));
      setTimeout(() => reject(new Error(`python3 did not start: ${out}`)), 15_000);
    });
  });
  after(() => w.cleanup());

  it('rkt --insecure-options=http,image fetch localhost/postgres', () => {
    const r = w.run(['--insecure-options=http,image', 'fetch', 'localhost/postgres']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), keyOf(tar).slice(0, 39));
    assert.equal(r.stderr.trim(), 'image: warning: image signature verification has been disabled', 'no progress bar when stderr is not a terminal');
  });

  it('on a terminal: Downloading ACI: [=====] 66.4 KB/66.4 KB', () => {
    const r = w.runTTY(['--insecure-options=http,image', 'fetch', 'localhost/postgres'], '');
    assert.equal(r.code, 0, r.stdout);
    const size = fs.statSync(path.join(dir, 'postgres-latest-linux-amd64.aci')).size;
    const shown = byteUnitStr(size).replace('.', '\\.');
    assert.match(shown, /^\d+(\\\.\d+)? [KM]B$/);
    assert.match(r.stdout, new RegExp(`\\rDownloading ACI: \\[=+\\] ${shown}/${shown}\\n`));
    assert.ok(r.stdout.trim().endsWith(keyOf(tar).slice(0, 39)));
  });

  it('without http allowed, rkt does not fall back to plain HTTP', () => {
    const r = w.run(['--insecure-options=image', 'fetch', 'localhost/other']);
    assert.equal(r.code, 254);
    assert.match(r.stderr.trim().split('\n').pop()!, /^fetch: discovery failed for "localhost\/other": localhost\/other: error fetching https:\/\/localhost\/other\?ac-discovery=1: .*ECONNREFUSED/);
  });
});
