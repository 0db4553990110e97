/**
 * A cache of clipanion's compiled parser. Clipanion builds a state machine from every option of the
 * registered commands on each `process()`, which for `rkt run` (some 60 options and the per-app
 * grammar) costs about 8 ms of a run's start-up: more than the rest of the parse. The machine is
 * plain data, so it is kept, per set of registered commands, as a V8-serialised file next to the
 * bundle; a stamp of the bundle (size, mtime), Node's version and clipanion's version must match or
 * the machine is compiled again and the file rewritten. Without a cache directory (the CLI running
 * from its modules, not the bundle) nothing is cached.
 *
 * Clipanion is pinned to exactly 3.2.1 (package.json): this reaches into its CliBuilder, whose
 * `compile()` result is replaced by one that runs the cached machine with clipanion's own
 * runMachineInternal and selectBestState, as its `runMachine` does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type { Cli } from 'clipanion';

export interface ParserCacheOptions {
  /** directory for the cache files (created if missing) */
  dir: string;
  /** changes whenever the command classes may have changed (the bundle's size and mtime) */
  stamp: string;
}

interface Machine {
  nodes: unknown[];
}
interface Compiled {
  machine: Machine;
  contexts: unknown[];
  process: (input: string[]) => unknown;
  suggest: (input: string[], partial: boolean) => unknown;
}
interface BuilderInternals {
  builders: { context?: unknown }[];
  compile: () => Compiled;
}
interface Core {
  runMachineInternal: (machine: Machine, input: string[], partial?: boolean) => { state: unknown }[];
  selectBestState: (input: string[], states: unknown[]) => unknown;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const core = (): Core => require('clipanion/lib/core') as Core;
const END_OF_INPUT = (): string => (require('clipanion/lib/constants') as { END_OF_INPUT: string }).END_OF_INPUT;
/* eslint-enable @typescript-eslint/no-require-imports */

const CLIPANION_VERSION = '3.2.1';

/** The file name for a set of commands: their first paths, joined. */
export function cacheFileName(paths: ReadonlyArray<ReadonlyArray<ReadonlyArray<string>>>): string {
  const key = paths.map((p) => (p[0] ?? []).join('-') || 'root').join('+');
  return `${key.replace(/[^a-z0-9+-]/gi, '_')}.parser`;
}

function header(stamp: string): string {
  return `${stamp}|${process.version}|clipanion-${CLIPANION_VERSION}`;
}

function readMachine(file: string, stamp: string): Machine | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    const v = v8.deserialize(buf) as { header?: string; machine?: Machine };
    return v.header === header(stamp) && Array.isArray(v.machine?.nodes) ? v.machine : undefined;
  } catch {
    return undefined; // a torn or foreign file: compile and rewrite it
  }
}

function writeMachine(file: string, stamp: string, machine: Machine): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, v8.serialize({ header: header(stamp), machine }));
    fs.renameSync(tmp, file);
  } catch {
    /* a read-only install: no cache, just a slower parse */
  }
}

/**
 * Makes `cli` (with every command already registered) compile its parser at most once per
 * process, from the cache file when it is current.
 */
export function useParserCache(cli: Cli, paths: ReadonlyArray<ReadonlyArray<ReadonlyArray<string>>>, opts: ParserCacheOptions | undefined): void {
  const builder = (cli as unknown as { builder: BuilderInternals }).builder;
  const original = builder.compile.bind(builder);
  const file = opts ? path.join(opts.dir, cacheFileName(paths)) : undefined;
  let compiled: Compiled | undefined;
  builder.compile = () => {
    if (compiled) return compiled;
    const machine = file && opts ? readMachine(file, opts.stamp) : undefined;
    if (!machine) {
      compiled = original();
      if (file && opts) writeMachine(file, opts.stamp, compiled.machine);
      return compiled;
    }
    const c = core();
    const end = END_OF_INPUT();
    compiled = {
      machine,
      contexts: builder.builders.map((b) => b.context),
      process: (input) => c.selectBestState(input, c.runMachineInternal(machine, [...input, end]).map(({ state }) => state)),
      // completion is not on a hot path: let clipanion build it
      suggest: (input, partial) => original().suggest(input, partial),
    };
    return compiled;
  };
}
