/**
 * The rkt CLI entry point: builds the clipanion Cli from the registry, applies rkt's argv
 * conventions (argv.ts), and maps every outcome to rkt's exit codes:
 *   no command → `rkt: missing command` + usage on stderr, 2;
 *   unknown command, unknown flag, bad flag value → one line `<command>: <message>` on stderr, 254;
 *   -h / --help / `rkt help [command]` → usage on stdout, 0;
 *   a command's error → `<command>: <message>` on stderr, RktError.exitCode (254 by default).
 */
import { Cli, type BaseContext, type CommandClass } from 'clipanion';
import { RktError, describeError } from '../errors';
import { commandName } from '../util/log';
import { NO_POSITIONAL, buildCommandTree, normalizeArgv, type NormalizedArgv } from './argv';
import { BaseCommand, GLOBAL_FLAGS_HELP } from './base';
import { commandPaths, loadAllCommands, loadCommand } from './registry';
import { rktVersion } from './version';
import { mark } from '../util/timing';
import { processStdio, sinkFor, tagProcessGetter } from '../util/stdio';
import { useParserCache, type ParserCacheOptions } from './parser-cache';

export const EXIT_ERROR = 254;
export const EXIT_MISSING_COMMAND = 2;

export function buildCli(classes: ReadonlyArray<CommandClass>): Cli {
  const cli = new Cli({
    binaryName: 'rkt',
    binaryLabel: 'rkt, the application container runner',
    binaryVersion: rktVersion(),
    enableColors: false,
  });
  for (const c of classes) cli.register(c);
  return cli;
}

/** One line for a clipanion parse error, in pflag/cobra words. */
export function describeParseError(err: unknown): string {
  if (err instanceof RktError) return err.message;
  const e = err as { name?: string; message?: string; candidates?: { reason: string | null }[] };
  if (e?.name === 'UnknownSyntaxError') {
    const reason = e.candidates?.find((c) => c.reason !== null)?.reason ?? null;
    if (reason === null) return 'invalid arguments';
    let m: RegExpMatchArray | null;
    if ((m = reason.match(/^Unsupported option name \("(.*)"\)\.$/))) return `unknown flag: ${m[1]}`;
    if ((m = reason.match(/^Invalid option name \("(.*)"\)\.$/))) {
      const name = m[1].split('=')[0];
      return name.startsWith('--') ? `unknown flag: ${name}` : `unknown shorthand flag: ${JSON.stringify(name)}`;
    }
    if ((m = reason.match(/^Not enough arguments to option (.*)\.$/))) return `flag needs an argument: ${m[1]}`;
    if ((m = reason.match(/^Extraneous positional argument \("(.*)"\)\.$/))) return `unexpected argument "${m[1]}"`;
    if (reason.startsWith('Not enough positional arguments')) return 'missing argument(s)';
    return reason.replace(/\.$/, '').replace(/^./, (c) => c.toLowerCase());
  }
  if (e?.name === 'AmbiguousSyntaxError') return 'ambiguous command line';
  const msg = describeError(err);
  return msg.split('\n')[0].replace(/\.$/, '');
}

function classForPath(classes: ReadonlyArray<CommandClass>, path: ReadonlyArray<string>): CommandClass | undefined {
  const key = path.join(' ');
  return classes.find((c) => (c.paths ?? []).some((p) => p.join(' ') === key));
}

function globalFlagsHelp(): string {
  const width = Math.max(...GLOBAL_FLAGS_HELP.map(([f]) => f.length));
  return '\nGlobal flags\n\n' + GLOBAL_FLAGS_HELP.map(([f, d]) => `  ${f.padEnd(width)}    ${d}\n`).join('');
}

/** Usage text for a path: a command's detailed usage, a group's command list, or the whole CLI. */
export function usageFor(cli: Cli, classes: ReadonlyArray<CommandClass>, path: ReadonlyArray<string>): string {
  const cls = path.length > 0 ? classForPath(classes, path) : undefined;
  let text: string;
  if (cls) text = cli.usage(cls, { colored: false, detailed: true });
  else if (path.length === 0) text = cli.usage(null, { colored: false });
  else {
    const prefix = path.join(' ') + ' ';
    const members = classes.filter((c) => (c.paths ?? []).some((p) => (p.join(' ') + ' ').startsWith(prefix)));
    text = members.map((c) => cli.usage(c, { colored: false })).join('');
  }
  return text + globalFlagsHelp();
}

function isInterspersed(cls: CommandClass | undefined): boolean {
  return (cls as { interspersed?: boolean } | undefined)?.interspersed !== false;
}

/**
 * Run the CLI in-process. `argv` excludes the node and script paths. Output goes to the given
 * streams (default: the process's). Resolves to the exit code; never calls process.exit.
 */
/**
 * The context commands get: the caller's streams, else the process's, each created on first use
 * (a getter): Node builds process.stdout and friends lazily, loading its stream modules and, for a
 * TTY or pipe, tty or net, which costs a command that never prints (`rkt run`) a few ms. The
 * bundle's clipanion keeps these getters when it merges contexts (scripts/bundle.js); stdin is
 * left out for BaseCommand.stdin.
 */
function commandContext(given: Partial<BaseContext>): BaseContext {
  const ctx: Record<string, unknown> = { env: given.env ?? process.env, colorDepth: 1 };
  if (given.stdin) ctx.stdin = given.stdin;
  for (const name of ['stdout', 'stderr'] as const) {
    let stream = given[name];
    const get = (): NodeJS.WritableStream => (stream ??= processStream(name));
    // the command's loggers write the process's fd directly while the stream does not exist (util/stdio.ts)
    if (!stream) tagProcessGetter(get, name);
    Object.defineProperty(ctx, name, { enumerable: true, configurable: true, get });
  }
  return ctx as unknown as BaseContext;
}

let epipeHandled = false;

function processStream(name: 'stdout' | 'stderr'): NodeJS.WriteStream {
  const s = processStdio(name);
  if (name === 'stdout' && !epipeHandled) {
    epipeHandled = true;
    // `rkt … | head`: a closed stdout ends the program quietly, as SIGPIPE does for Go's rkt
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  return s;
}

export interface RunCliOptions {
  /** where clipanion's compiled parser is kept between runs (bin/rkt passes one for the bundle) */
  parserCache?: ParserCacheOptions;
}

export async function runCli(argv: ReadonlyArray<string>, context: Partial<BaseContext> = {}, opts: RunCliOptions = {}): Promise<number> {
  mark('cli');
  const ctx = commandContext(context);
  const tree = buildCommandTree(commandPaths());
  const norm: NormalizedArgv = normalizeArgv(argv, tree);
  // Help needs every class; a command run needs only its own.
  const helpFor = (path: ReadonlyArray<string>): string => {
    const all = loadAllCommands();
    return usageFor(buildCli(all), all, path);
  };

  // `rkt help [command...]`, cobra's implicit help command
  if (norm.path.length === 0 && norm.rest[0] === 'help' && !tree.children.has('help')) {
    const target = normalizeArgv(norm.rest.slice(1), tree);
    sinkFor(ctx, 'stdout')(helpFor(target.path));
    return 0;
  }

  const name = commandName(norm.path);
  const fail = (message: string, code = EXIT_ERROR): number => {
    sinkFor(ctx, 'stderr')(`${name}: ${message}\n`);
    return code;
  };
  const cls = norm.node.runnable ? loadCommand(norm.path) : undefined;

  if (cls ? (isInterspersed(cls) ? norm.help : norm.helpBeforeArgs) : norm.help) {
    sinkFor(ctx, 'stdout')(helpFor(norm.path));
    return 0;
  }

  if (!cls) {
    const word = norm.rest.find((t) => !t.startsWith('-'));
    if (word !== undefined) {
      return fail(`unknown command ${JSON.stringify(word)} for ${JSON.stringify(['rkt', ...norm.path].join(' '))}`);
    }
    if (norm.path.length > 0) {
      // a command group without a subcommand: cobra shows the group's help
      sinkFor(ctx, 'stdout')(helpFor(norm.path));
      return 0;
    }
    sinkFor(ctx, 'stderr')(`${name}: missing command\n`);
    sinkFor(ctx, 'stderr')(helpFor([]));
    return EXIT_MISSING_COMMAND;
  }

  const cli = buildCli([cls]);
  useParserCache(cli, [cls.paths ?? []], opts.parserCache);
  let command;
  try {
    (cls as { checkArgv?: (rest: ReadonlyArray<string>) => void }).checkArgv?.(norm.rest);
  } catch (e) {
    return fail(describeParseError(e), e instanceof RktError ? e.exitCode : EXIT_ERROR);
  }
  try {
    mark('parse');
    command = cli.process(norm.argv as string[], ctx);
    mark('parsed');
  } catch (e) {
    // `rkt run --pod-manifest=F` has no IMAGE: clipanion cannot have an optional positional before
    // the proxy that holds the per-app grammar, so the missing image is marked and the command decides.
    let retried;
    if (!isInterspersed(cls)) {
      try {
        retried = cli.process([...norm.argv, NO_POSITIONAL], ctx);
      } catch {
        /* report the first error */
      }
    }
    if (!retried) return fail(describeParseError(e), e instanceof RktError ? e.exitCode : EXIT_ERROR);
    command = retried;
  }
  const code = await cli.run(command, ctx);
  if (command instanceof BaseCommand && command.errorExitCode !== undefined) return command.errorExitCode;
  return code;
}

/** bin/rkt entry: run with process.argv and set the exit code. */
export async function main(argv: ReadonlyArray<string> = process.argv.slice(2), opts: RunCliOptions = {}): Promise<void> {
  process.exitCode = await runCli(argv, {}, opts);
}
