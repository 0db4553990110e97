/**
 * A cache of clipanion's compiled parser. Clipanion builds a state machine from every option of the
 * registered commands on each `process()`, which for `rkt run` (some 60 options and the per-app
 * grammar) costs about 8 ms of a run's start-up: more than the rest of the parse. The machine is
 * plain data, so it is kept, per set of registered commands, as a file next to the bundle: a
 * header line, then the machine's nodes as a shared-json list (src/util/shared-json.ts), so that a
 * parse decodes only the nodes it visits; a stamp of the bundle (size, mtime), Node's version and clipanion's version must match or
 * the machine is compiled again and the file rewritten. Without a cache directory (the CLI running
 * from its modules, not the bundle) nothing is cached.
 *
 * Clipanion is pinned to exactly 3.2.1 (package.json): this reaches into its CliBuilder, whose
 * `compile()` result is replaced by one that runs the cached machine with clipanion's own
 * runMachineInternal and selectBestState, as its `runMachine` does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeSharedList, encodeSharedList } from '../util/shared-json';
import { didOneTimeWork } from '../util/code-cache';
import { native } from '../native';
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
  // no `i` flag: a case-insensitive class makes V8 build its case closure with ICU on first use (0.12 ms)
  return `${key.replace(/[^A-Za-z0-9+-]/g, '_')}.parser`;
}

function header(stamp: string): string {
  return `rkt-parser-cache 6|${stamp}|${process.version}|clipanion-${CLIPANION_VERSION}`;
}

function readMachine(file: string, stamp: string): Machine | undefined {
  // The file is ASCII (writeMachine), so its mapping serves as the string itself: 85 KB for run
  // that a read would copy into V8's young generation, most of it never parsed.
  let text: string;
  try {
    text = native.readMappedAscii(file);
  } catch {
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      return undefined;
    }
  }
  const nl = text.indexOf('\n');
  if (nl < 0 || text.slice(0, nl) !== header(stamp)) return undefined;
  try {
    return { nodes: decodeSharedList(text.slice(nl + 1)) };
  } catch {
    return undefined; // a torn or foreign file: compile and rewrite it
  }
}

function writeMachine(file: string, stamp: string, machine: Machine): void {
  const tmp = `${file}.${process.pid}`;
  try {
    // non-ASCII characters (in usage texts) escaped, so that the file reads back as latin1
    const text = `${header(stamp)}\n${encodeSharedList(machine.nodes)}`.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
    didOneTimeWork();
  } catch {
    // a read-only install, a full disk, or a machine shared-json cannot carry: no cache, just a slower parse
    fs.rmSync(tmp, { force: true });
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
