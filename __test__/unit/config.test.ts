import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  readConfigDir,
  loadConfig,
  formatConfig,
  configToJson,
  resolveDataDir,
  configDirList,
  authorizationFor,
  newConfig,
  DEFAULT_DATA_DIR,
} from '../../src/config';
import { RktError } from '../../src/errors';

function tmpdir(t: { after: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-config-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function put(dir: string, sub: string, name: string, content: unknown): string {
  const file = path.join(dir, sub, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const auth = (domains: string[], type: string, credentials?: unknown) => ({
  rktKind: 'auth',
  rktVersion: 'v1',
  domains,
  type,
  ...(credentials === undefined ? {} : { credentials }),
});

/** Assert readConfigDir(dir) fails with exactly `message` (an RktError ECONFIG). */
function fails(dir: string, message: string): void {
  assert.throws(
    () => readConfigDir(dir),
    (e: unknown) => {
      assert.ok(e instanceof RktError, String(e));
      assert.equal(e.code, 'ECONFIG');
      assert.equal(e.message, message);
      return true;
    },
  );
}

test('header errors: missing rktKind / rktVersion, kind not allowed, unknown version', (t) => {
  let d = tmpdir(t);
  let f = put(d, 'auth.d', 'a.json', { rktVersion: 'v1' });
  fails(d, `no rktKind specified in "${f}"`);

  d = tmpdir(t);
  f = put(d, 'paths.d', 'p.json', { rktKind: 'paths' });
  fails(d, `no rktVersion specified in "${f}"`);

  d = tmpdir(t);
  put(d, 'auth.d', 'x.json', { rktKind: 'paths', rktVersion: 'v1', data: '/d' });
  fails(
    d,
    `the configuration directory "${d}/auth.d" expects to have configuration files of kinds "auth", "dockerAuth", but "x.json" has kind of "paths"`,
  );

  d = tmpdir(t);
  put(d, 'stage1.d', 's.json', { rktKind: 'auth', rktVersion: 'v1' });
  fails(
    d,
    `the configuration directory "${d}/stage1.d" expects to have configuration files of kinds "stage1", but "s.json" has kind of "auth"`,
  );

  d = tmpdir(t);
  put(d, 'auth.d', 'a.json', { rktKind: 'auth', rktVersion: 'v2' });
  fails(d, 'no parser available for configuration of kind "auth" and version "v2"');
});

test('auth and dockerAuth errors', (t) => {
  const cases: [unknown, string][] = [
    [auth([], 'basic', { user: 'u', password: 'p' }), 'no domains specified'],
    [auth(['a.com'], ''), 'no auth type specified'],
    [auth(['a.com'], 'digest', {}), 'unknown auth type: "digest"'],
    [auth(['a.com'], 'basic'), 'unexpected end of JSON input'],
    [auth(['a.com'], 'basic', { password: 'p' }), 'user not specified'],
    [auth(['a.com'], 'basic', { user: 'u' }), 'password not specified'],
    [auth(['a.com'], 'oauth', {}), 'no oauth bearer token specified'],
    [auth(['a.com'], 'aws', { secretAccessKey: 's' }), 'no AWS Access Key ID specified'],
    [auth(['a.com'], 'aws', { accessKeyID: 'k' }), 'no AWS Secret Access Key specified'],
    [auth(['a.com', 'a.com'], 'oauth', { token: 't' }), 'auth for domain "a.com" is already specified'],
    [{ rktKind: 'dockerAuth', rktVersion: 'v1', credentials: { user: 'u', password: 'p' } }, 'no registries specified'],
    [{ rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['r.io'], credentials: { user: 'u' } }, 'password not specified'],
    [{ rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['r.io'] }, 'user not specified'],
    [
      { rktKind: 'auth', rktVersion: 'v1', domains: 'a.com', type: 'basic' },
      'json: cannot unmarshal string into Go struct field authV1.domains of type []string',
    ],
  ];
  for (const [doc, inner] of cases) {
    const d = tmpdir(t);
    const f = put(d, 'auth.d', 'a.json', doc);
    fails(d, `failed to parse "${f}": ${inner}`);
  }
});

test('duplicates within one directory are errors, across files too', (t) => {
  let d = tmpdir(t);
  put(d, 'auth.d', 'a.json', auth(['a.com'], 'oauth', { token: 't' }));
  let f = put(d, 'auth.d', 'b.json', auth(['b.com', 'a.com'], 'basic', { user: 'u', password: 'p' }));
  fails(d, `failed to parse "${f}": auth for domain "a.com" is already specified`);

  d = tmpdir(t);
  const docker = { rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['r.io'], credentials: { user: 'u', password: 'p' } };
  put(d, 'auth.d', '1.json', docker);
  f = put(d, 'auth.d', '2.json', docker);
  fails(d, `failed to parse "${f}": credentials for docker registry "r.io" are already specified`);

  d = tmpdir(t);
  put(d, 'paths.d', '1.json', { rktKind: 'paths', rktVersion: 'v1', data: '/a' });
  f = put(d, 'paths.d', '2.json', { rktKind: 'paths', rktVersion: 'v1', data: '/b' });
  fails(d, `failed to parse "${f}": data directory is already specified`);

  d = tmpdir(t);
  put(d, 'paths.d', '1.json', { rktKind: 'paths', rktVersion: 'v1', 'stage1-images': '/a' });
  f = put(d, 'paths.d', '2.json', { rktKind: 'paths', rktVersion: 'v1', 'stage1-images': '/b' });
  fails(d, `failed to parse "${f}": stage1 images directory is already specified`);

  d = tmpdir(t);
  put(d, 'stage1.d', '1.json', { rktKind: 'stage1', rktVersion: 'v1', name: 'n', version: 'v' });
  f = put(d, 'stage1.d', '2.json', { rktKind: 'stage1', rktVersion: 'v1', name: 'm', version: 'w' });
  fails(d, `failed to parse "${f}": name and version of a default stage1 image are already specified`);

  d = tmpdir(t);
  put(d, 'stage1.d', '1.json', { rktKind: 'stage1', rktVersion: 'v1', location: '/s1.aci' });
  f = put(d, 'stage1.d', '2.json', { rktKind: 'stage1', rktVersion: 'v1', location: '/s2.aci' });
  fails(d, `failed to parse "${f}": location of a default stage1 image is already specified`);
});

test('paths and stage1 validation errors', (t) => {
  const cases: [string, unknown, string][] = [
    ['paths.d', { rktKind: 'paths', rktVersion: 'v1', data: 'rel/dir' }, 'data directory must be an absolute path'],
    ['paths.d', { rktKind: 'paths', rktVersion: 'v1', 'stage1-images': 'x' }, 'stage1 images directory must be an absolute path'],
    [
      'stage1.d',
      { rktKind: 'stage1', rktVersion: 'v1', version: '1' },
      'invalid stage1 configuration: default stage1 image version specified, but name is missing',
    ],
    [
      'stage1.d',
      { rktKind: 'stage1', rktVersion: 'v1', name: 'n' },
      'invalid stage1 configuration: default stage1 image name specified, but version is missing',
    ],
    [
      'stage1.d',
      { rktKind: 'stage1', rktVersion: 'v1', location: 'images/stage1.aci' },
      'invalid stage1 configuration: default stage1 image location is either a relative path or a URL without scheme',
    ],
    [
      'stage1.d',
      { rktKind: 'stage1', rktVersion: 'v1', location: 'ftp://example.com/s.aci' },
      'invalid stage1 configuration: default stage1 image location URL has invalid scheme "ftp", allowed schemes are "docker", "file", "http", "https"',
    ],
  ];
  for (const [sub, doc, inner] of cases) {
    const d = tmpdir(t);
    const f = put(d, sub, 'c.json', doc);
    fails(d, `failed to parse "${f}": ${inner}`);
  }
  // accepted locations
  for (const location of ['/abs/s.aci', 'file:///s.aci', 'HTTPS://x/s.aci', 'docker://s1', 'http://x/s.aci']) {
    const d = tmpdir(t);
    put(d, 'stage1.d', 'c.json', { rktKind: 'stage1', rktVersion: 'v1', location });
    assert.equal(readConfigDir(d).stage1.location, location);
  }
});

test('directory problems and malformed JSON', (t) => {
  let d = tmpdir(t);
  fs.writeFileSync(path.join(d, 'auth.d'), 'not a dir');
  fails(d, `expected "${d}/auth.d" to be a directory`);

  d = tmpdir(t);
  const f = put(d, 'paths.d', 'p.json', '{"rktKind": "paths",');
  assert.throws(() => readConfigDir(d), (e: unknown) => e instanceof RktError && e.message.startsWith(`failed to parse "${f}": `));

  d = tmpdir(t);
  const g = put(d, 'paths.d', 'p.json', '[1]');
  fails(d, `failed to parse "${g}": json: cannot unmarshal array into Go value of type config.configHeader`);

  // a missing directory is just empty configuration
  assert.deepEqual(configToJson(readConfigDir(path.join(d, 'nope'))), configToJson(newConfig()));
});

test('only regular *.json files are read: subdirs, symlinks and other files are skipped', (t) => {
  const d = tmpdir(t);
  const bad = '{"garbage"';
  put(d, 'auth.d', 'README', bad);
  put(d, 'auth.d', 'a.json.bak', bad);
  put(d, 'auth.d', 'sub/b.json', bad);
  fs.mkdirSync(path.join(d, 'auth.d', 'dir.json'));
  const outside = put(d, 'elsewhere', 'bad.json', bad);
  fs.symlinkSync(outside, path.join(d, 'auth.d', 'link.json'));
  put(d, 'auth.d', 'ok.json', auth(['a.com'], 'oauth', { token: 't' }));
  // keys match case-insensitively, like Go's encoding/json
  put(d, 'paths.d', 'p.json', { RKTKIND: 'paths', rktversion: 'v1', Data: '/data' });
  const cfg = readConfigDir(d);
  assert.deepEqual([...cfg.authPerHost.keys()], ['a.com']);
  assert.equal(cfg.paths.dataDir, '/data');
  assert.equal(authorizationFor(cfg, 'a.com'), 'Bearer t');
});

test('merge: system → local → user, per kind', (t) => {
  const sys = tmpdir(t);
  const loc = tmpdir(t);
  const usr = tmpdir(t);
  put(sys, 'auth.d', 'a.json', auth(['a.com', 'b.com'], 'basic', { user: 'u1', password: 'p1' }));
  put(loc, 'auth.d', 'a.json', auth(['a.com'], 'oauth', { token: 'local' }));
  put(sys, 'auth.d', 'd.json', { rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['r.io', 's.io'], credentials: { user: 'su', password: 'sp' } });
  put(usr, 'auth.d', 'd.json', { rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['s.io'], credentials: { user: 'uu', password: 'up' } });
  put(sys, 'paths.d', 'p.json', { rktKind: 'paths', rktVersion: 'v1', data: '/sys-data', 'stage1-images': '/sys-s1' });
  put(loc, 'paths.d', 'p.json', { rktKind: 'paths', rktVersion: 'v1', data: '/loc-data' });
  put(sys, 'stage1.d', 's.json', { rktKind: 'stage1', rktVersion: 'v1', name: 'sys/s1', version: '1', location: '/sys.aci' });
  put(loc, 'stage1.d', 's.json', { rktKind: 'stage1', rktVersion: 'v1', location: '/loc.aci' });
  put(usr, 'stage1.d', 's.json', { rktKind: 'stage1', rktVersion: 'v1', name: 'usr/s1', version: '2' });

  const cfg = loadConfig(configDirList({ system: sys, local: loc, user: usr }));
  assert.deepEqual(cfg.authPerHost.get('a.com'), { type: 'oauth', token: 'local' });
  assert.deepEqual(cfg.authPerHost.get('b.com'), { type: 'basic', user: 'u1', password: 'p1' });
  assert.equal(authorizationFor(cfg, 'b.com'), 'Basic ' + Buffer.from('u1:p1').toString('base64'));
  assert.deepEqual(cfg.dockerCredentialsPerRegistry.get('r.io'), { user: 'su', password: 'sp' });
  assert.deepEqual(cfg.dockerCredentialsPerRegistry.get('s.io'), { user: 'uu', password: 'up' });
  assert.deepEqual(cfg.paths, { dataDir: '/loc-data', stage1ImagesDir: '/sys-s1' });
  assert.deepEqual(cfg.stage1, { name: 'usr/s1', version: '2', location: '/loc.aci' });

  // without the user dir, the local values stand
  const noUser = loadConfig(configDirList({ system: sys, local: loc }));
  assert.deepEqual(noUser.stage1, { name: 'sys/s1', version: '1', location: '/loc.aci' });
  assert.deepEqual(configDirList({ system: sys, local: loc, user: '' }), [sys, loc]);
});

test('rkt config output: stage0 entries, TAB-indented', (t) => {
  const d = tmpdir(t);
  put(d, 'auth.d', 'a.json', auth(['b.com', 'a.com'], 'basic', { user: 'u', password: 'p&<>' }));
  put(d, 'auth.d', 'd.json', { rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['r.io'], credentials: { user: 'du', password: 'dp' } });
  put(d, 'paths.d', 'p.json', { rktKind: 'paths', rktVersion: 'v1', data: '/data' });
  put(d, 'stage1.d', 's.json', { rktKind: 'stage1', rktVersion: 'v1', name: 'example.com/s1', version: '1.0', location: '/s1.aci' });
  const cfg = readConfigDir(d);
  const basic = { user: 'u', password: 'p&<>' };
  const expected = {
    stage0: [
      { rktVersion: 'v1', rktKind: 'auth', domains: ['a.com'], type: 'basic', credentials: basic },
      { rktVersion: 'v1', rktKind: 'auth', domains: ['b.com'], type: 'basic', credentials: basic },
      { rktVersion: 'v1', rktKind: 'dockerAuth', registries: ['r.io'], credentials: { user: 'du', password: 'dp' } },
      { rktVersion: 'v1', rktKind: 'paths', data: '/data', 'stage1-images': '' },
      { rktVersion: 'v1', rktKind: 'stage1', name: 'example.com/s1', version: '1.0', location: '/s1.aci' },
    ],
  };
  const goEscaped = (s: string) => s.replaceAll('p&<>', 'p\\u0026\\u003c\\u003e');
  assert.equal(formatConfig(cfg), goEscaped(JSON.stringify(expected, null, '\t')));
  assert.equal(formatConfig(cfg, false), goEscaped(JSON.stringify(expected)));
  assert.ok(formatConfig(cfg).startsWith('{\n\t"stage0": [\n\t\t{\n\t\t\t"rktVersion": "v1",'));
});

test('data directory resolution', (t) => {
  const d = tmpdir(t);
  const noConfig = () => {
    throw new Error('configuration must not be read when --dir is given');
  };
  // --dir wins, made absolute, not required to exist
  assert.equal(resolveDataDir({ dirFlag: '/tmp/x/../y-rkt-missing', config: noConfig }), '/tmp/y-rkt-missing');
  assert.equal(resolveDataDir({ dirFlag: 'rel', config: noConfig, cwd: '/base' }), '/base/rel');
  assert.throws(() => resolveDataDir({ dirFlag: '', config: noConfig }), { message: '"" is not a valid directory' });
  // symlinks resolved when the path exists
  fs.mkdirSync(path.join(d, 'real'));
  fs.symlinkSync(path.join(d, 'real'), path.join(d, 'link'));
  assert.equal(resolveDataDir({ dirFlag: path.join(d, 'link'), config: noConfig }), fs.realpathSync(path.join(d, 'real')));
  assert.equal(resolveDataDir({ dirFlag: path.join(d, 'link', 'missing'), config: noConfig }), path.join(d, 'link', 'missing'));
  // else the paths config, else the default
  const withData = newConfig();
  withData.paths.dataDir = '/cfg-data-missing';
  assert.equal(resolveDataDir({ config: () => withData }), '/cfg-data-missing');
  const def = resolveDataDir({ config: () => newConfig() });
  assert.equal(def, fs.existsSync(DEFAULT_DATA_DIR) ? fs.realpathSync(DEFAULT_DATA_DIR) : DEFAULT_DATA_DIR);
  assert.throws(
    () =>
      resolveDataDir({
        config: () => {
          throw new RktError('ECONFIG', 'no rktKind specified in "/x.json"');
        },
      }),
    { message: 'cannot get configuration: no rktKind specified in "/x.json"' },
  );
});
