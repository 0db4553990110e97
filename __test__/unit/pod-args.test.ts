/** rkt's per-app grammar, the pod manifest merge and the stage1 argv, without root. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseApps } from '../../src/pod/run-args';
import { buildPodManifest, parseEnvFile, parseSetEnv } from '../../src/pod/manifest';
import { hostsFile, resolvConf, stage1RunArgs } from '../../src/pod/run-options';
import type { ImageManifest } from '../../src/schema/image-manifest';
import { RktError } from '../../src/errors';

const usage = (re: RegExp) => (e: unknown) => e instanceof RktError && e.code === 'EUSAGE' && re.test(e.message);

describe('parseApps', () => {
  it('attaches flags and arguments to the preceding image', () => {
    const apps = parseApps(['a.aci', '--exec=/bin/x', '--user', 'u', '--', '-v', '--flag', '---', 'b', '--name=bee', '--environment=K=V', '--environment=L=W']);
    assert.equal(apps.length, 2);
    assert.equal(apps[0].image, 'a.aci');
    assert.equal(apps[0].exec, '/bin/x');
    assert.equal(apps[0].user, 'u');
    assert.deepEqual(apps[0].args, ['-v', '--flag']);
    assert.equal(apps[1].name, 'bee');
    assert.deepEqual(apps[1].environment, [['K', 'V'], ['L', 'W']]);
  });

  it('arguments run to the end without ---', () => {
    const apps = parseApps(['a', '--', 'b', '--exec=/not-a-flag']);
    assert.equal(apps.length, 1);
    assert.deepEqual(apps[0].args, ['b', '--exec=/not-a-flag']);
  });

  it("rejects rkt's grammar errors", () => {
    assert.throws(() => parseApps(['--', 'x']), usage(/an image is required before any app arguments/));
    assert.throws(() => parseApps(['--exec=/x', 'a']), usage(/--exec must follow an image/));
    assert.throws(() => parseApps(['a', '--exec=/x', '--exec=/y']), usage(/--exec specified multiple times for the same image/));
    assert.throws(() => parseApps(['a', '--', 'x', '---', '--', 'y']), usage(/only one set of app arguments allowed per image/));
    assert.throws(() => parseApps(['a', '--caps-retain=CAP_CHOWN', '--caps-remove=CAP_KILL']), usage(/cannot use both --caps-retain and --caps-remove/));
    assert.throws(() => parseApps(['a', '--bogus']), usage(/unknown flag: --bogus/));
    assert.throws(() => parseApps(['a', '--', 'x'], false), usage(/app arguments unsupported/));
    assert.throws(() => parseApps(['a', '--cpu-shares=many']), usage(/not an integer/));
  });
});

describe('pod manifest', () => {
  const image: ImageManifest = {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name: 'example.com/my_app',
    labels: [{ name: 'version', value: '1' }],
    app: { exec: ['/bin/app', '--default'], user: '0', group: '0', environment: [{ name: 'A', value: 'image' }, { name: 'B', value: 'image' }] },
  } as unknown as ImageManifest;

  it('merges exec, env precedence and isolators', () => {
    const [args] = parseApps(['x', '--exec=/bin/other', '--environment=D=app', '--memory=128Mi', '--oom-score-adj=42', '--', 'arg1']);
    const pm = buildPodManifest([{ args, key: 'sha512-' + 'a'.repeat(64), manifest: image }], {
      setEnv: parseSetEnv(['B=set', 'C=set']),
      setEnvFile: [['B', 'file'], ['E', 'file']],
      inheritEnv: { A: 'host', H: 'host' },
    });
    const app = pm.apps[0];
    assert.equal(app.name, 'my-app', 'default name: last path component, sanitized');
    assert.deepEqual(app.app?.exec, ['/bin/other', 'arg1']);
    const env = Object.fromEntries((app.app?.environment ?? []).map((e) => [e.name, e.value]));
    assert.deepEqual(env, { A: 'image', B: 'set', H: 'host', E: 'file', C: 'set', D: 'app' });
    const iso = Object.fromEntries((app.app?.isolators ?? []).map((i) => [i.name, i.value]));
    assert.deepEqual(iso['resource/memory'], { request: '128Mi', limit: '128Mi' });
    assert.equal(iso['os/linux/oom-score-adj'], 42);
    assert.equal(app.image.id, 'sha512-' + 'a'.repeat(64));
  });

  it('refuses duplicate app names and bad values', () => {
    const apps = parseApps(['x', '---', 'y']);
    assert.throws(() => buildPodManifest(apps.map((args) => ({ args, key: 'k', manifest: image })), { setEnv: [], setEnvFile: [] }), /multiple apps with name my-app/);
    assert.throws(() => parseSetEnv(['K=1', 'K=2']), /key "K" already set/);
    const [bad] = parseApps(['x', '--memory=lots']);
    assert.throws(() => buildPodManifest([{ args: bad, key: 'k', manifest: image }], { setEnv: [], setEnvFile: [] }), /--memory/);
  });

  it('reads env files like rkt', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-env-')), 'env');
    fs.writeFileSync(f, '# Comment\nVAR_OTHER=file\n; Comment\n\nVAR_2=2\n');
    assert.deepEqual(parseEnvFile(f), [['VAR_OTHER', 'file'], ['VAR_2', '2']]);
    fs.writeFileSync(f, 'novalue\n');
    assert.throws(() => parseEnvFile(f), /line 1/);
  });
});

describe('stage1 inputs', () => {
  it('builds resolv.conf from --dns flags, none without them', () => {
    assert.equal(resolvConf({ dns: [], dnsSearch: [], dnsOpt: [] }), undefined);
    assert.equal(
      resolvConf({ dns: ['8.8.8.8,8.8.4.4'], dnsSearch: ['a.example', 'b.example'], dnsOpt: ['ndots:2'], dnsDomain: 'example' }),
      '# Generated by rkt run\nnameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch a.example b.example\noptions ndots:2\ndomain example\n',
    );
    assert.equal(resolvConf({ dns: ['host'], dnsSearch: [], dnsOpt: [] }), 'host');
    assert.throws(() => resolvConf({ dns: ['host', '1.1.1.1'], dnsSearch: [], dnsOpt: [] }), /alone/);
    assert.throws(() => resolvConf({ dns: ['not-an-ip'], dnsSearch: [], dnsOpt: [] }), /not an IP/);
  });

  it('builds the hosts file from --hosts-entry', () => {
    assert.equal(hostsFile([]), undefined);
    assert.equal(hostsFile(['host']), 'host');
    assert.match(hostsFile(['10.0.0.1=db,10.0.0.2=cache']) as string, /10\.0\.0\.1 db\n10\.0\.0\.2 cache\n$/);
    assert.throws(() => hostsFile(['db']), /IP=HOST/);
  });

  it("emits the run entrypoint's argv in rkt's order", () => {
    const args = stage1RunArgs('u-u-i-d', {
      debug: true,
      interactive: true,
      hostname: 'h',
      ipc: 'private',
      insecure: new Set(['capabilities', 'paths']),
      dns: [],
      dnsSearch: [],
      dnsOpt: [],
      hostsEntries: [],
    });
    assert.deepEqual(args, ['--debug', '--net=host', '--interactive', '--hostname=h', '--disable-capabilities-restriction', '--disable-paths', '--ipc=private', 'u-u-i-d']);
  });
});
