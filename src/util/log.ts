/**
 * rkt's stderr/stdout loggers (pkg/log): every stderr message is prefixed with `<command>: `,
 * where the command is the cobra command name, i.e. the last word of the command path
 * (`rkt image gc` logs `gc: `, `rkt fetch` logs `fetch: `). Library code logs under its own
 * prefix (`image: `, `pubkey: `), see `withPrefix`. stdout lines carry no prefix.
 */
import { describeError } from '../errors';

export interface Sink {
  write(chunk: string): unknown;
}

export interface Logger {
  /** the prefix word, without ": " */
  readonly prefix: string;
  readonly debugEnabled: boolean;
  /** stderr: `<prefix>: <msg>` (newline added when missing) */
  print(msg: string): void;
  /** stderr: `<prefix>: <msg>: <error>`; with --debug the error's causes follow as a tree */
  printE(msg: string, err: unknown): void;
  /** stderr: `<prefix>: <error>` */
  error(err: unknown): void;
  /** like print, only with --debug */
  debug(msg: string): void;
  /** stdout, no prefix (newline added when missing) */
  out(msg: string): void;
  /** a logger with the same streams and debug setting under another prefix */
  withPrefix(prefix: string): Logger;
}

export interface LoggerOptions {
  prefix: string;
  debug?: boolean;
  stderr?: Sink;
  stdout?: Sink;
}

function line(s: string): string {
  return s.endsWith('\n') ? s : s + '\n';
}

export function createLogger(opts: LoggerOptions): Logger {
  // the process's streams are looked up at the first write: creating them loads Node's stream modules
  const stderr: Sink = opts.stderr ?? { write: (c) => process.stderr.write(c) };
  const stdout: Sink = opts.stdout ?? { write: (c) => process.stdout.write(c) };
  const debug = opts.debug ?? false;
  const head = opts.prefix === '' ? '' : `${opts.prefix}: `;
  const print = (msg: string): void => {
    stderr.write(line(head + msg));
  };
  return {
    prefix: opts.prefix,
    debugEnabled: debug,
    print,
    printE(msg, err) {
      const e = describeError(err, debug);
      print(msg === '' ? e : `${msg}: ${e}`);
    },
    error(err) {
      print(describeError(err, debug));
    },
    debug(msg) {
      if (debug) print(msg);
    },
    out(msg) {
      stdout.write(line(msg));
    },
    withPrefix(prefix) {
      return createLogger({ prefix, debug, stderr, stdout });
    },
  };
}

/** The cobra command name for a command path: its last word, or "rkt" for the root. */
export function commandName(path: ReadonlyArray<string>): string {
  return path.length > 0 ? path[path.length - 1] : 'rkt';
}
