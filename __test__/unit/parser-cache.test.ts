import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cli, type CommandClass } from 'clipanion';
import { loadAllCommands, loadCommand } from '../../src/cli/registry';
import { cacheFileName, useParserCache } from '../../src/cli/parser-cache';

function cliFor(cls: CommandClass): Cli {
  const cli = new Cli({ binaryName: 'rkt' });
  cli.register(cls);
  return cli;
}

type Builder = { compile: () => { machine: unknown; process: (input: string[]) => unknown } };
const builderOf = (cli: Cli): Builder => (cli as unknown as { builder: Builder }).builder;

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rkt-parser-cache-'));
}

/** What a parse selected, without the command instance: path, positionals and options seen. */
function parseState(cli: Cli, argv: string[]): unknown {
  try {
    const cmd = cli.process(argv) as unknown as Record<string, unknown>;
    return { path: cmd.path, fields: Object.fromEntries(Object.entries(cmd).filter(([k]) => k !== 'context' && k !== 'cli')) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const SAMPLES: Record<string, string[][]> = {
  run: [
    ['run', 'example.com/app:1.0'],
    ['run', '--net=host', '--dns=8.8.8.8', 'example.com/a', '--exec=/bin/sh', '--', '-c', 'true', '---', 'example.com/b'],
    ['run', '--insecure-options=image', '--interactive', './x.aci'],
    ['run', '--bogus-flag', 'x'],
    ['run'],
  ],
  fetch: [['fetch', 'example.com/app'], ['fetch', '--pull-policy=update', 'a', 'b'], ['fetch', '--nope']],
  'image list': [['image', 'list'], ['image', 'list', '--no-legend', '--fields=id,name'], ['image', 'list', 'extra']],
  gc: [['gc', '--grace-period=0s'], ['gc', '--expire-prepared=1h', '--mark-only']],
  trust: [['trust', '--prefix=example.com', 'key.gpg'], ['trust', '--root', '--skip-fingerprint-review', 'k']],
};

test('every command: the cached parser is the compiled one, and parses the same', () => {
  const dir = tmpDir();
  try {
    for (const cls of loadAllCommands()) {
      const paths = [cls.paths ?? []];
      const fresh = cliFor(cls);
      const expected = builderOf(fresh).compile().machine;
      // first use writes the cache, second reads it back
      const writer = cliFor(cls);
      useParserCache(writer, paths, { dir, stamp: 's1' });
      builderOf(writer).compile();
      assert.ok(fs.existsSync(path.join(dir, cacheFileName(paths))), `cache file for ${cls.paths?.[0].join(' ')}`);
      const reader = cliFor(cls);
      useParserCache(reader, paths, { dir, stamp: 's1' });
      assert.deepEqual(builderOf(reader).compile().machine, expected, `machine of ${cls.paths?.[0].join(' ')}`);
      const key = (cls.paths?.[0] ?? []).join(' ');
      for (const argv of SAMPLES[key] ?? [[...(cls.paths?.[0] ?? []), '--help']]) {
        assert.deepEqual(parseState(reader, argv), parseState(cliFor(cls), argv), `parse of ${argv.join(' ')}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a cache from another stamp, or a torn file, is compiled again and rewritten', () => {
  const dir = tmpDir();
  try {
    const cls = loadCommand(['run']) as CommandClass;
    const paths = [cls.paths ?? []];
    const file = path.join(dir, cacheFileName(paths));
    const expected = builderOf(cliFor(cls)).compile().machine;

    const a = cliFor(cls);
    useParserCache(a, paths, { dir, stamp: 'old' });
    builderOf(a).compile();
    const old = fs.readFileSync(file);

    // a different stamp must not use the old file, and replaces it
    const b = cliFor(cls);
    useParserCache(b, paths, { dir, stamp: 'new' });
    assert.deepEqual(builderOf(b).compile().machine, expected);
    assert.notDeepEqual(fs.readFileSync(file), old, 'the file is rewritten with the new stamp');

    fs.writeFileSync(file, old.subarray(0, old.length >> 1));
    const c = cliFor(cls);
    useParserCache(c, paths, { dir, stamp: 'new' });
    assert.deepEqual(builderOf(c).compile().machine, expected);
    assert.equal(parseState(c, ['run', 'example.com/x']) !== undefined, true);
    const d = cliFor(cls);
    useParserCache(d, paths, { dir, stamp: 'new' });
    assert.deepEqual(builderOf(d).compile().machine, expected, 'the torn file was replaced by a whole one');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without a cache directory nothing is written, and the machine is compiled once per process', () => {
  const cls = loadCommand(['run']) as CommandClass;
  const cli = cliFor(cls);
  useParserCache(cli, [cls.paths ?? []], undefined);
  const b = builderOf(cli);
  assert.equal(b.compile(), b.compile(), 'the same compiled parser both times');
});

test('cache file names stay inside the directory', () => {
  assert.equal(cacheFileName([[['image', 'list']]]), 'image-list.parser');
  assert.equal(cacheFileName([[['../x']]]), '___x.parser');
  assert.equal(cacheFileName([[['run']], [['fetch'], ['image', 'fetch']]]), 'run+fetch.parser');
});

test('a usage text that is not ASCII is kept exactly, in an ASCII file read from its mapping', async () => {
  const dir = tmpDir();
  try {
    const { Command, Option } = await import('clipanion');
    class Odd extends Command {
      static paths = [['odd']];
      flag = Option.String('--naïve', { description: 'déjà vu — “quoted” ✓ 😀' });
      async execute(): Promise<number> {
        return 0;
      }
    }
    const paths = [Odd.paths];
    const expected = builderOf(cliFor(Odd)).compile().machine;
    const writer = cliFor(Odd);
    useParserCache(writer, paths, { dir, stamp: 's' });
    builderOf(writer).compile();
    const bytes = fs.readFileSync(path.join(dir, cacheFileName(paths)));
    assert.ok(bytes.every((b) => b < 0x80), 'the cache file is ASCII');
    const reader = cliFor(Odd);
    useParserCache(reader, paths, { dir, stamp: 's' });
    assert.deepEqual(builderOf(reader).compile().machine, expected);
    assert.deepEqual(parseState(reader, ['odd', '--naïve=x']), parseState(cliFor(Odd), ['odd', '--naïve=x']));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
