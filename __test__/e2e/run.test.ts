/**
 * Real pods, as root: `rkt run`, `prepare`, `run-prepared`, `status`, `list`, `cat-manifest`, with
 * the inspect binary inside the image reporting what the app sees.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { aciEntries, exampleRootfs, inspectBinaryPath, manifestFor, writeAci } from '../../scripts/fixtures/aci';
import { RKT, RktContext } from './harness';
import { kv } from './pod-util';

const inspect = fs.readFileSync(inspectBinaryPath());

describe('rkt run', () => {
  const ctx = new RktContext('rkt-run-');
  let image: string;
  before(async () => {
    const m = manifestFor('example.com/inspect', { version: '0.1.0', exec: ['/inspect', '--print-msg=default exec'] });
    (m.app as { environment: unknown }).environment = [
      { name: 'VAR_FROM_MANIFEST', value: 'manifest' },
      { name: 'VAR_OVERRIDDEN', value: 'manifest' },
    ];
    image = ctx.path('inspect.aci');
    await writeAci(image, aciEntries(m, exampleRootfs(inspect)));
    ctx.ok(['fetch', '--insecure-options=image', image]);
  });
  after(() => ctx.cleanup());

  const run = (args: string[]) => ctx.run(['--insecure-options=image', 'run', ...args]);

  it('runs the image exec and exits 0', () => {
    const r = run([image]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /default exec/);
  });

  it('loads only what run needs: no stream, crypto, network or v8 modules before the exec', () => {
    // a preload that records Node's loaded modules at the moment bin/rkt hands over to stage1
    const preload = ctx.path('record-modules.js');
    const out = ctx.path('modules.txt');
    fs.writeFileSync(
      preload,
      `process.once('rkt:before-exec', () => require('fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')));`,
    );
    const r = spawnSync(process.execPath, ['-r', preload, RKT, ...ctx.globalArgs(), '--insecure-options=image', 'run', image], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const loaded = new Set(fs.readFileSync(out, 'utf8').split('\n'));
    assert.ok(loaded.has('NativeModule fs'), 'the record is the module list');
    for (const m of ['stream', 'internal/streams/readable', 'v8', 'crypto', 'net', 'tls', 'http', 'https', 'zlib', 'readline', 'child_process', 'worker_threads']) {
      assert.ok(!loaded.has(`NativeModule ${m}`), `${m} is not loaded by rkt run`);
    }
  });

  it('compiles the bundle from mappings of its file and code cache, used in place by V8', () => {
    // bin/rkt hands V8 the mapped text as an external string and the cache as a Buffer over its
    // mapping (rkt_core::mapped). The preload sees the mappings as the bundle is compiled, and the
    // text's again at the exec: had V8 copied it, the addon would have unmapped it at once.
    const bundle = fs.realpathSync(path.join(path.dirname(RKT), '..', 'dist', 'rkt.js'));
    const cache = `${bundle}.run+file.cache`; // the image is given as a file (bin/rkt's cacheKey)
    const argv = [RKT, ...ctx.globalArgs(), '--insecure-options=image', 'run', image];
    assert.equal(spawnSync(process.execPath, argv).status, 0, 'a first run leaves the code cache');
    assert.ok(fs.existsSync(cache), cache);
    const preload = ctx.path('record-maps.js');
    const out = ctx.path('maps');
    fs.writeFileSync(
      preload,
      `const fs = require('fs'), vm = require('vm'), out = ${JSON.stringify(out)};
      const record = (name) => fs.writeFileSync(out + '.' + name, fs.readFileSync('/proc/self/maps'));
      const Script = vm.Script;
      vm.Script = class extends Script {
        constructor(...args) {
          super(...args);
          if (args[1] && args[1].filename === ${JSON.stringify(bundle)}) {
            record('compile');
            fs.writeFileSync(out + '.rejected', String(this.cachedDataRejected));
          }
        }
      };
      process.once('rkt:before-exec', () => record('exec'));`,
    );
    const r = spawnSync(process.execPath, ['-r', preload, ...argv], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const mappings = (moment: string, file: string) =>
      fs
        .readFileSync(`${out}.${moment}`, 'utf8')
        .split('\n')
        .filter((l) => l.endsWith(' ' + file));
    for (const [moment, file] of [['compile', bundle], ['compile', cache], ['exec', bundle]]) {
      const m = mappings(moment, file);
      assert.equal(m.length, 1, `one mapping of ${file} at ${moment}`);
      assert.match(m[0], /^\S+ r--p /, 'read-only');
    }
    assert.equal(fs.readFileSync(`${out}.rejected`, 'utf8'), 'false', 'V8 took the mapped code cache');
  });

  it("records the image's last use, written while the pod is set up", () => {
    type Row = { name: string; last_used_time: number };
    const lastUsed = (): number => {
      const rows = JSON.parse(ctx.ok(['image', 'list', '--format=json'])) as Row[];
      const row = rows.find((i) => i.name === 'example.com/inspect:0.1.0');
      assert.ok(row, `the image is listed: ${JSON.stringify(rows)}`);
      return row.last_used_time;
    };
    const before = lastUsed();
    const r = run(['example.com/inspect:0.1.0', '--exec=/inspect', '--', '--exit-code=0']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lastUsed() > before, 'last_used_time moved forward');
  });

  it('propagates the app exit code', () => {
    const r = run([image, '--exec=/inspect', '--', '--exit-code=5']);
    assert.equal(r.code, 5, r.stderr);
  });

  it('isolates PID, UTS and IPC namespaces and sets the hostname', () => {
    const uuidFile = ctx.path('uuid');
    const r = run(['--uuid-file-save', uuidFile, image, '--exec=/inspect', '--', '--print-ns', '--print-hostname', '--print-pid']);
    assert.equal(r.code, 0, r.stderr);
    const facts = kv(r.stdout);
    const uuid = fs.readFileSync(uuidFile, 'utf8');
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.equal(facts.get('hostname'), `rkt-${uuid}`);
    for (const ns of ['pid', 'uts', 'ipc', 'mnt']) {
      assert.notEqual(facts.get(`ns-${ns}`), fs.readlinkSync(`/proc/self/ns/${ns}`), `${ns} namespace differs from the host's`);
    }
    assert.notEqual(facts.get('pid'), '1', 'stage1 is PID 1, not the app');
    const h = run(['--hostname=web-1', image, '--exec=/inspect', '--', '--print-hostname']);
    assert.equal(kv(h.stdout).get('hostname'), 'web-1');
  });

  it('layers the environment: image < --set-env-file < --set-env < --environment', () => {
    fs.writeFileSync(ctx.path('env'), '# comment\nVAR_FILE=file\n; other comment\nVAR_OVERRIDDEN=file\n');
    const r = run([
      `--set-env-file=${ctx.path('env')}`,
      '--set-env=VAR_SET=set',
      image,
      '--environment=VAR_APP=app',
      '--exec=/inspect',
      '--',
      '--print-env=VAR_FROM_MANIFEST',
      '--print-env=VAR_OVERRIDDEN',
      '--print-env=VAR_FILE',
      '--print-env=VAR_SET',
      '--print-env=VAR_APP',
      '--print-env=AC_APP_NAME',
      '--print-env=PATH',
      '--print-env=HOME',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const e = kv(r.stdout);
    assert.equal(e.get('VAR_FROM_MANIFEST'), 'manifest');
    assert.equal(e.get('VAR_OVERRIDDEN'), 'file');
    assert.equal(e.get('VAR_FILE'), 'file');
    assert.equal(e.get('VAR_SET'), 'set');
    assert.equal(e.get('VAR_APP'), 'app');
    assert.equal(e.get('AC_APP_NAME'), 'inspect');
    assert.equal(e.get('PATH'), '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    assert.equal(e.get('HOME'), '/root');
    const inherit = ctx.run(['--insecure-options=image', 'run', '--inherit-env', image, '--exec=/inspect', '--', '--print-env=FROM_HOST', '--print-env=VAR_FROM_MANIFEST'], {
      env: { ...process.env, FROM_HOST: 'host', VAR_FROM_MANIFEST: 'host' },
    });
    assert.equal(kv(inherit.stdout).get('FROM_HOST'), 'host');
    assert.equal(kv(inherit.stdout).get('VAR_FROM_MANIFEST'), 'manifest', 'inherited env never overrides the image');
  });

  it('resolves users and groups by name from the image', () => {
    const r = run([image, '--user=user1', '--group=users', '--exec=/inspect', '--', '--print-user', '--print-env=USER']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /uid=1000 gid=100 euid=1000/);
    const bad = run([image, '--user=nosuchuser', '--exec=/inspect']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid user "nosuchuser"/);
  });

  it('gives the default capability bounding set to root apps', () => {
    const r = run([image, '--exec=/inspect', '--', '--print-caps']);
    const bnd = BigInt('0x' + (kv(r.stdout).get('CapBnd') ?? '0'));
    const CAP_SYS_ADMIN = 21n;
    const CAP_CHOWN = 0n;
    assert.equal((bnd >> CAP_SYS_ADMIN) & 1n, 0n, 'no CAP_SYS_ADMIN');
    assert.equal((bnd >> CAP_CHOWN) & 1n, 1n, 'CAP_CHOWN kept');
    const all = ctx.run(['--insecure-options=image,capabilities', 'run', image, '--exec=/inspect', '--', '--print-caps']);
    assert.equal((BigInt('0x' + (kv(all.stdout).get('CapBnd') ?? '0')) >> CAP_SYS_ADMIN) & 1n, 1n, 'all caps with insecure capabilities');
  });

  it('reports a missing exec the way rkt does', () => {
    const r = run([image, '--exec=/foo-not-there']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error: Unable to open "\/foo-not-there": No such file or directory/);
  });

  it('stops the other apps when one fails and exits with its code', () => {
    const uuidFile = ctx.path('uuid-multi');
    const r = run([
      `--uuid-file-save=${uuidFile}`,
      image, '--name=hello0', '--exec=/inspect', '--', '--print-msg=zero', '---',
      image, '--name=hello1', '--exec=/inspect', '--', '--sleep=300', '--exit-code=5', '---',
      image, '--name=hello2', '--exec=/inspect', '--', '--sleep=20000', '--exit-code=6',
    ]);
    assert.equal(r.code, 5, r.stderr);
    const uuid = fs.readFileSync(uuidFile, 'utf8');
    const rows = ctx.ok(['list', '--full', '--no-legend']).split('\n');
    const first = rows.findIndex((l) => l.startsWith(uuid));
    assert.deepEqual(rows.slice(first, first + 3).map((l) => l.split('\t').filter(Boolean)[l.startsWith(uuid) ? 1 : 0]), ['hello0', 'hello1', 'hello2'], 'one list row per app, the UUID on the first');
    const st = kv(ctx.ok(['status', uuid]));
    assert.equal(st.get('state'), 'exited');
    assert.equal(st.get('app-hello0'), '0');
    assert.equal(st.get('app-hello1'), '5');
    assert.equal(st.get('app-hello2'), '0');
  });

  it('prepare, then status, list, cat-manifest and run-prepared', () => {
    const uuid = ctx.ok(['--insecure-options=image', 'prepare', image, '--exec=/inspect', '--', '--print-msg=prepared run']).trim();
    assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(fs.existsSync(path.join(ctx.dataDir, 'pods', 'prepared', uuid)));
    assert.equal(kv(ctx.ok(['status', uuid.slice(0, 8)])).get('state'), 'prepared');
    assert.match(ctx.ok(['list']), new RegExp(`${uuid.slice(0, 8)}\\tinspect\\texample\\.com/inspect:0\\.1\\.0\\tprepared`));
    const pm = JSON.parse(ctx.ok(['cat-manifest', uuid]));
    assert.deepEqual(pm.apps[0].app.exec, ['/inspect', '--print-msg=prepared run']);
    const r = ctx.run(['run-prepared', uuid]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /prepared run/);
    const st = kv(ctx.ok(['status', uuid]));
    assert.equal(st.get('state'), 'exited');
    assert.equal(st.get('exited'), 'true');
    assert.match(st.get('pid') ?? '', /^\d+$/);
    assert.equal(st.get('app-inspect'), '0');
    const again = ctx.run(['run-prepared', uuid]);
    assert.equal(again.code, 254);
    assert.match(again.stderr, /is not prepared/);
    const json = JSON.parse(ctx.ok(['status', '--format=json', uuid]));
    assert.equal(json.name, uuid);
    assert.equal(json.state, 'exited');
  });

  it('forwards SIGTERM to the apps', async () => {
    const uuidFile = ctx.path('uuid-term');
    const p = ctx.spawn(['--insecure-options=image', 'run', `--uuid-file-save=${uuidFile}`, image, '--exec=/inspect', '--', '--print-msg=started', '--sleep=30000']);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const t0 = Date.now();
    while (!out.includes('started') && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => p.on('close', (c) => r(c)));
    assert.ok(Date.now() - t0 < 25_000, 'stopped long before the app would have');
    // A stop asked from outside is graceful: an app that dies of the signal it was sent is recorded
    // as a clean exit, as systemd does in rkt's stage1.
    assert.equal(code, 0, 'a graceful stop exits 0');
    const st = kv(ctx.ok(['status', fs.readFileSync(uuidFile, 'utf8')]));
    assert.equal(st.get('state'), 'exited');
    assert.equal(st.get('app-inspect'), '0');
  });

  it('refuses bad per-app grammar before creating a pod', () => {
    const before = fs.readdirSync(path.join(ctx.dataDir, 'pods', 'prepare')).length;
    const r1 = run([image, '--bogus-flag=1']);
    assert.equal(r1.code, 254);
    assert.match(r1.stderr, /unknown flag: --bogus-flag/);
    const r2 = run([image, '--exec=/a', '--exec=/b']);
    assert.equal(r2.code, 254);
    assert.match(r2.stderr, /--exec specified multiple times for the same image/);
    const r3 = run(['--exec=/inspect', image]);
    assert.equal(r3.code, 254);
    assert.equal(r3.stderr, 'run: --exec must follow an image\n');
    const r4 = run(['--', image]);
    assert.equal(r4.code, 254);
    assert.equal(r4.stderr, 'run: an image is required before any app arguments\n');
    const r5 = run([image, '--', 'a', '---', '--', 'b']);
    assert.equal(r5.code, 254);
    assert.match(r5.stderr, /only one set of app arguments allowed per image/);
    assert.equal(fs.readdirSync(path.join(ctx.dataDir, 'pods', 'prepare')).length, before);
  });

  it('a bad per-app flag leaves no store behind in a data dir that had none', () => {
    const fresh = new RktContext('rkt-run-fresh-');
    try {
      for (const args of [[image, '--bogus-flag=1'], [image, '--exec=/a', '--exec=/b'], [image, '--environment=novalue']]) {
        const r = fresh.run(['--insecure-options=image', 'run', ...args]);
        assert.equal(r.code, 254, r.stderr);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
      assert.equal(fs.existsSync(fresh.dataDir), false, 'the data dir was not created');
    } finally {
      fresh.cleanup();
    }
  });

  it('run, prepare and run-prepared need root', () => {
    for (const cmd of [['run', image], ['prepare', image], ['run-prepared', 'abc']]) {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, RKT, `--dir=${ctx.path('nobody')}`, ...cmd], { encoding: 'utf8' });
      assert.equal(r.status, 254, r.stderr);
      assert.equal(r.stderr, `${cmd[0]}: cannot run as unprivileged user\n`);
    }
  });
});

describe('rkt run NAME on the name index', () => {
  // src/store/name-index.ts: a run of stored images by name reads cas/db/names, not the database,
  // and every write to the store keeps that file true (or removes it, which sends runs back to
  // the database). RKT_TIMING=1 makes StoreDb.open leave a `timing: db-open` line on stderr.
  const ctx = new RktContext('rkt-run-index-');
  const keys: Record<string, string> = {};
  const index = () => path.join(ctx.dataDir, 'cas', 'db', 'names');
  const runTimed = (args: string[]) => ctx.run(['--insecure-options=image', 'run', ...args], { env: { ...process.env, RKT_TIMING: '1' } });
  const openedDb = (stderr: string) => /^timing: db-open /m.test(stderr);
  const listed = () => JSON.parse(ctx.ok(['image', 'list', '--format=json'])) as { id: string; name: string; last_used_time: number }[];
  before(async () => {
    for (const v of ['1', '2']) {
      const file = ctx.path(`idx-${v}.aci`);
      await writeAci(file, aciEntries(manifestFor('example.com/idx', { version: v, exec: ['/inspect', `--print-msg=version ${v}`] }), exampleRootfs(inspect)));
      ctx.ok(['fetch', '--insecure-options=image', file]);
      keys[v] = listed().find((i) => i.name === `example.com/idx:${v}`)!.id;
    }
    // the first run imports stage1, a write, which opens the database
    const first = runTimed(['example.com/idx:1']);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(openedDb(first.stderr), first.stderr);
  });
  after(() => ctx.cleanup());

  it('finds the latest import of a name without opening the database', () => {
    const r = runTimed(['example.com/idx']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /version 2/);
    assert.equal(openedDb(r.stderr), false, r.stderr);
    const v1 = runTimed(['example.com/idx:1']);
    assert.equal(v1.code, 0, v1.stderr);
    assert.match(v1.stdout, /version 1/);
    assert.equal(openedDb(v1.stderr), false, v1.stderr);
  });

  it('follows an image removal: the name then resolves to what is left', () => {
    ctx.ok(['image', 'rm', keys['2']]);
    const r = runTimed(['example.com/idx']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /version 1/);
    assert.equal(openedDb(r.stderr), false, r.stderr);
    const gone = runTimed(['--pull-policy=never', 'example.com/idx:2']);
    assert.equal(gone.code, 254, gone.stdout);
    assert.match(gone.stderr, /example\.com\/idx:2/);
  });

  it('runs from the database when the index is missing or torn, and writes it again', () => {
    for (const damage of [() => fs.rmSync(index()), () => fs.writeFileSync(index(), '{"v":1,"images":[["example.com/idx",')]) {
      damage();
      const r = runTimed(['example.com/idx']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /version 1/);
      assert.ok(openedDb(r.stderr), `the run opened the database: ${r.stderr}`);
      const images = JSON.parse(fs.readFileSync(index(), 'utf8')).images as string[][];
      assert.deepEqual(images.map((i) => i[1]).sort(), listed().map((i) => i.id).sort(), 'the index holds every stored image');
      assert.ok(images.some((i) => i[1] === keys['1']));
    }
  });

  it('image gc removes an index file a killed writer left half-written, and only that', () => {
    const dead = spawnSync('true').pid as number; // exited: its pid names no process now
    const left = path.join(ctx.dataDir, 'cas', 'db', `names.tmp-${dead}-1`);
    const live = path.join(ctx.dataDir, 'cas', 'db', `names.tmp-${process.pid}-1`);
    fs.writeFileSync(left, '{"v":1,"images":[');
    fs.writeFileSync(live, '{"v":1,"images":[');
    ctx.ok(['image', 'gc']);
    assert.equal(fs.existsSync(left), false, "the dead writer's file is gone");
    assert.ok(fs.existsSync(live), "a live writer's file is kept");
    fs.rmSync(live);
    assert.ok(fs.existsSync(index()), 'the index itself stays');
  });

  it("records each run's last use, which image list then shows", () => {
    const lastUsed = (): number => listed().find((i) => i.id === keys['1'])!.last_used_time;
    const before = lastUsed();
    const r = runTimed(['example.com/idx']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(openedDb(r.stderr), false, r.stderr);
    const log = fs.readFileSync(path.join(ctx.dataDir, 'cas', 'db', 'lastused'), 'utf8');
    assert.match(log, new RegExp(`^${keys['1']} \\d+$`, 'm'), 'the run appended its use');
    assert.ok(lastUsed() > before, 'folded into the database when image list opened it');
    assert.equal(fs.readFileSync(path.join(ctx.dataDir, 'cas', 'db', 'lastused'), 'utf8'), '', 'and the log emptied');
  });
});
