#!/usr/bin/env node
/**
 * Fills a data dir with real pod directories for the list/status/gc benchmarks, fast: it clones
 * the files of one pod that really ran (and one really prepared) — `pod`, `pod-created`, `pid`,
 * `stage1TreeStoreID`, `stage1/manifest`, `appsinfo/<app>/manifest` and `treeStoreID`,
 * `overlay-prepared`, and the app's exit status where rkt reads it once the overlay is unmounted
 * (`overlay/<stage1 tree>/upper/rkt/status/<app>`) — under fresh UUIDs. They hold no mounts and no
 * lock, so rkt sees them as `exited` (in run/) and `prepared`, as after a reboot.
 *
 * usage: pod-gen.js DATA_DIR EXITED_UUID PREPARED_UUID N_EXITED N_PREPARED
 */
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const [dataDir, exitedUuid, preparedUuid, nExited, nPrepared] = process.argv.slice(2);
const pods = path.join(dataDir, 'pods');

function snapshot(dir) {
  const files = {};
  const take = (rel) => {
    const p = path.join(dir, rel);
    if (fs.existsSync(p) && fs.statSync(p).isFile()) files[rel] = fs.readFileSync(p);
  };
  for (const f of ['pod', 'pod-created', 'pid', 'stage1TreeStoreID', 'stage1/manifest', 'overlay-prepared']) take(f);
  for (const app of fs.readdirSync(path.join(dir, 'appsinfo'))) {
    take(`appsinfo/${app}/manifest`);
    take(`appsinfo/${app}/treeStoreID`);
  }
  const s1 = files.stage1TreeStoreID?.toString().trim();
  if (s1) {
    const st = path.join(dir, 'stage1', 'rootfs', 'rkt', 'status');
    if (fs.existsSync(st)) for (const a of fs.readdirSync(st)) files[`overlay/${s1}/upper/rkt/status/${a}`] = fs.readFileSync(path.join(st, a));
  }
  return files;
}

function clone(files, stateDir, n) {
  const created = new Date(Date.now() - 3600_000);
  for (let i = 0; i < n; i++) {
    const dir = path.join(pods, stateDir, crypto.randomUUID());
    for (const [rel, data] of Object.entries(files)) {
      const p = path.join(dir, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o750 });
      fs.writeFileSync(p, data, { mode: 0o640 });
    }
    for (const f of ['pod-created', 'pid']) if (files[f]) fs.utimesSync(path.join(dir, f), created, created);
  }
}

const t0 = process.hrtime.bigint();
clone(snapshot(path.join(pods, 'run', exitedUuid)), 'run', Number(nExited));
clone(snapshot(path.join(pods, 'prepared', preparedUuid)), 'prepared', Number(nPrepared));
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.error(`pod-gen: ${Number(nExited) + Number(nPrepared)} pods in ${ms.toFixed(0)} ms`);
