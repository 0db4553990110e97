import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { runCli } from '../../src/cli/main';
import { loadAllCommands, registerCommand } from '../../src/cli/registry';
import { BaseCommand, requireRoot, setEuidProvider } from '../../src/cli/base';
import { rktVersion } from '../../src/cli/version';
import { RktError } from '../../src/errors';
import { Option } from 'clipanion';

class Capture extends Writable {
  data = '';
  _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.data += chunk.toString();
    cb();
  }
}

async function rkt(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(argv, { stdout, stderr });
  return { code, stdout: stdout.data, stderr: stderr.data };
}

// Commands registered for the duration of these tests only.
class NeedsRoot extends BaseCommand {
  static paths = [['needroot']];
  static usage = BaseCommand.Usage({ description: 'test', details: 'test', examples: [['x', '$0 needroot']] });
  async execute(): Promise<number> {
    this.requireRoot();
    this.out('ok');
    return 0;
  }
}
class FailingGc extends BaseCommand {
  static paths = [['test-image', 'gc']];
  static usage = BaseCommand.Usage({ description: 'test', details: 'test', examples: [['x', '$0 image gc']] });
  kind = Option.String('--kind', 'rkt');
  async execute(): Promise<number> {
    this.globals().log.print('collecting');
    if (this.kind === 'plain') throw new Error('plain failure');
    if (this.kind === 'one') throw new RktError('EIO', 'exit one', { exitCode: 1 });
    throw new RktError('ESTORE', 'cannot open store', { cause: new Error('disk on fire') });
  }
}
class ShowGlobals extends BaseCommand {
  static paths = [['show-globals']];
  static usage = BaseCommand.Usage({ description: 'test', details: 'test', examples: [['x', '$0 show-globals']] });
  async execute(): Promise<number> {
    const g = this.globals();
    this.out(
      JSON.stringify({
        dataDir: g.dataDir,
        configDirs: g.configDirs,
        insecure: [...g.insecure].sort(),
        trust: g.trustKeysFromHttps,
        debug: g.debug,
        prefix: g.log.prefix,
      }),
    );
    return 0;
  }
}
for (const c of [NeedsRoot, FailingGc, ShowGlobals]) registerCommand(c);

test('the registry table names the same paths as the command classes', () => {
  const { commandPaths } = require('../../src/cli/registry') as typeof import('../../src/cli/registry');
  const fromClasses = loadAllCommands().flatMap((c) => (c.paths ?? []).map((p) => p.join(' '))).sort();
  assert.deepEqual(commandPaths().map((p) => p.join(' ')).sort(), fromClasses);
});

test('no command: "missing command" and usage on stderr, exit 2', async () => {
  const r = await rkt();
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr.startsWith('rkt: missing command\n'));
  assert.ok(r.stderr.includes('$ rkt <command>'));
  const g = await rkt('--debug');
  assert.equal(g.code, 2);
});

test('unknown command and unknown flag: one line, exit 254', async () => {
  let r = await rkt('frobnicate', 'x');
  assert.equal(r.code, 254);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'rkt: unknown command "frobnicate" for "rkt"\n');

  r = await rkt('version', '--frobnicate');
  assert.equal(r.code, 254);
  assert.equal(r.stderr, 'version: unknown flag: --frobnicate\n');

  r = await rkt('image', 'frobnicate');
  assert.equal(r.code, 254);
  assert.equal(r.stderr, 'image: unknown command "frobnicate" for "rkt image"\n');

  r = await rkt('version', '--dir');
  assert.equal(r.code, 254);
  assert.equal(r.stderr, 'version: flag needs an argument: --dir\n');
});

test('bad global flag values: one line naming the flag, exit 254', async () => {
  let r = await rkt('--insecure-options=image,bogus', 'version');
  assert.equal(r.code, 254);
  assert.equal(r.stderr.split('\n').length, 2);
  assert.ok(r.stderr.startsWith('version: invalid argument "image,bogus" for "--insecure-options" flag: unknown option "bogus"'));
  r = await rkt('--dir=', 'version');
  assert.equal(r.stderr, 'version: invalid argument "" for "--dir" flag: "" is not a valid directory\n');
  r = await rkt('version', '--debug=maybe');
  assert.equal(r.stderr, 'version: invalid argument "maybe" for "--debug" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n');
});

test('--help / -h / help: usage on stdout, exit 0', async () => {
  for (const argv of [['--help'], ['-h'], ['help']]) {
    const r = await rkt(...argv);
    assert.equal(r.code, 0, argv.join(' '));
    assert.equal(r.stderr, '');
    assert.ok(r.stdout.includes('$ rkt <command>'));
    assert.ok(r.stdout.includes('rkt version'));
    assert.ok(r.stdout.includes('Global flags'));
  }
  for (const argv of [['version', '--help'], ['--debug', 'version', '-h'], ['help', 'version']]) {
    const r = await rkt(...argv);
    assert.equal(r.code, 0, argv.join(' '));
    assert.ok(r.stdout.includes('Print the version'), argv.join(' '));
    assert.ok(r.stdout.includes('$ rkt version'));
  }
  const g = await rkt('image');
  assert.equal(g.code, 0);
  assert.ok(g.stdout.includes('$ rkt image gc'));
});

test('rkt version', async () => {
  const r = await rkt('version');
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
  assert.equal(rktVersion(), pkg.version);
  assert.equal(
    r.stdout,
    `rkt Version: ${pkg.version}\nappc Version: 0.8.11\nNode Version: ${process.version}\n` +
      `OS/Arch: linux/${process.arch === 'x64' ? 'amd64' : process.arch}\nFeatures: -TPM -SDJOURNAL\n`,
  );
  // an abbreviated command and leading global flags
  const p = await rkt('--debug', '--insecure-options', 'image', 'vers');
  assert.equal(p.code, 0);
  assert.equal(p.stdout, r.stdout);
});

test('rkt version does not load the store or sqlite3', () => {
  const main = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
  const script = `
    const { Writable } = require('node:stream');
    const sink = new Writable({ write(c, e, cb) { cb(); } });
    require(${JSON.stringify(main)}).runCli(['version'], { stdout: sink, stderr: sink }).then((code) => {
      const heavy = Object.keys(require.cache).filter((k) => /sqlite3|[\\/]src[\\/](store|fetch|trust|docker)[\\/]/.test(k));
      process.stdout.write(JSON.stringify({ code, heavy }));
    });`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  assert.deepEqual(out, { code: 0, heavy: [] });
});

test('rkt config prints the merged configuration', async (t) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-cli-config-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  fs.mkdirSync(path.join(d, 'sys', 'paths.d'), { recursive: true });
  fs.mkdirSync(path.join(d, 'loc', 'stage1.d'), { recursive: true });
  fs.writeFileSync(path.join(d, 'sys', 'paths.d', 'p.json'), JSON.stringify({ rktKind: 'paths', rktVersion: 'v1', data: '/data' }));
  fs.writeFileSync(
    path.join(d, 'loc', 'stage1.d', 's.json'),
    JSON.stringify({ rktKind: 'stage1', rktVersion: 'v1', name: 'n', version: 'v', location: '/s.aci' }),
  );
  const expected = {
    stage0: [
      { rktVersion: 'v1', rktKind: 'paths', data: '/data', 'stage1-images': '' },
      { rktVersion: 'v1', rktKind: 'stage1', name: 'n', version: 'v', location: '/s.aci' },
    ],
  };
  const dirs = ['--system-config', path.join(d, 'sys'), `--local-config=${path.join(d, 'loc')}`];
  let r = await rkt(dirs[0], dirs[1], 'config', dirs[2]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, JSON.stringify(expected, null, '\t') + '\n');
  r = await rkt('config', '--pretty-print=false', ...dirs);
  assert.equal(r.stdout, JSON.stringify(expected) + '\n');
  r = await rkt('config', '--no-pretty-print', ...dirs);
  assert.equal(r.stdout, JSON.stringify(expected) + '\n');

  // a broken file: rkt prints one line and exits 1 for `rkt config`
  fs.writeFileSync(path.join(d, 'loc', 'stage1.d', 't.json'), JSON.stringify({ rktKind: 'stage1' }));
  r = await rkt('config', ...dirs);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `config: cannot get configuration: no rktVersion specified in "${path.join(d, 'loc', 'stage1.d', 't.json')}"\n`,
  );
});

test('requireRoot: "cannot run as unprivileged user", exit 254', async (t) => {
  t.after(() => setEuidProvider(null));
  assert.throws(() => requireRoot(() => 1000), (e: unknown) => {
    assert.ok(e instanceof RktError);
    assert.equal(e.code, 'ENOTROOT');
    assert.equal(e.message, 'cannot run as unprivileged user');
    assert.equal(e.exitCode, 254);
    return true;
  });
  assert.doesNotThrow(() => requireRoot(() => 0));

  setEuidProvider(() => 1000);
  let r = await rkt('needroot');
  assert.equal(r.code, 254);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'needroot: cannot run as unprivileged user\n');

  setEuidProvider(() => 0);
  r = await rkt('needroot');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'ok\n');
});

test('a failing command prints `<command>: <message>` once and exits with its code', async () => {
  let r = await rkt('test-image', 'gc');
  assert.equal(r.code, 254);
  assert.equal(r.stderr, 'gc: collecting\ngc: cannot open store\n');
  r = await rkt('--debug', 'test-image', 'gc');
  assert.equal(r.stderr, 'gc: collecting\ngc: cannot open store\n  └─disk on fire\n');
  r = await rkt('test-image', 'gc', '--kind', 'plain');
  assert.equal(r.code, 254);
  assert.equal(r.stderr, 'gc: collecting\ngc: plain failure\n');
  r = await rkt('test-image', 'gc', '--kind=one');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'gc: collecting\ngc: exit one\n');
});

test('GlobalContext reflects flags given before and after the command', async (t) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-cli-globals-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  fs.mkdirSync(path.join(d, 'data'));
  fs.symlinkSync(path.join(d, 'data'), path.join(d, 'data-link'));
  const r = await rkt(
    '--dir',
    path.join(d, 'data-link'),
    '--insecure-options=all-run,image',
    '--trust-keys-from-https',
    'show-globals',
    '--debug=true',
    '--system-config',
    path.join(d, 'sys'),
    '--user-config=rel',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    dataDir: fs.realpathSync(path.join(d, 'data')),
    configDirs: { system: path.join(d, 'sys'), local: '/etc/rkt', user: path.resolve('rel') },
    insecure: ['capabilities', 'image', 'paths', 'seccomp'],
    trust: true,
    debug: true,
    prefix: 'show-globals',
  });
  // data dir from the paths configuration when --dir is absent
  fs.mkdirSync(path.join(d, 'loc', 'paths.d'), { recursive: true });
  fs.writeFileSync(path.join(d, 'loc', 'paths.d', 'p.json'), JSON.stringify({ rktKind: 'paths', rktVersion: 'v1', data: path.join(d, 'cfgdata') }));
  const c = await rkt('show-globals', '--system-config', path.join(d, 'sys'), '--local-config', path.join(d, 'loc'));
  assert.equal(JSON.parse(c.stdout).dataDir, path.join(d, 'cfgdata'));
});
