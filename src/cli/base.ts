/**
 * BaseCommand: the global (persistent) flags every rkt command accepts, the typed view of them
 * (GlobalContext), the root check, and the error convention: one stderr line
 * `<command>: <message>`, exit code from RktError (254 unless stated otherwise).
 */
import { Command } from 'clipanion';
import { RktError, describeError } from '../errors';
import { createLogger, commandName, type Logger } from '../util/log';
import { loadConfig } from '../config/read';
import {
  DEFAULT_LOCAL_CONFIG_DIR,
  DEFAULT_SYSTEM_CONFIG_DIR,
  configDirList,
  resolveDataDir,
  type ConfigDirs,
} from '../config/dirs';
import type { RktConfig } from '../config/types';
import type { FetchEnvironment } from '../fetch/session';
import { AbsDir, GoBool, ParsedString } from './options';
import { sinkFor } from '../util/stdio';
import { INSECURE_PERMISSIBLE, parseInsecureOptions, type InsecureFlag } from './insecure';

/** The global flags as the help text lists them. */
export const GLOBAL_FLAGS_HELP: ReadonlyArray<readonly [string, string]> = [
  ['--debug', 'print out more debug information to stderr'],
  ['--dir=DIR', 'rkt data directory (default "/var/lib/rkt")'],
  ['--insecure-options=LIST', `comma-separated list of security features to disable. Allowed values: ${INSECURE_PERMISSIBLE} (default "none")`],
  ['--local-config=DIR', 'local configuration directory (default "/etc/rkt")'],
  ['--system-config=DIR', 'system configuration directory (default "/usr/lib/rkt")'],
  ['--trust-keys-from-https', 'automatically trust gpg keys fetched from https'],
  ['--user-config=DIR', 'user configuration directory'],
];

export interface GlobalContext {
  /** --dir, else paths config `data`, else /var/lib/rkt; absolute, symlinks resolved. Computed on first access. */
  readonly dataDir: string;
  readonly configDirs: Readonly<ConfigDirs>;
  readonly insecure: ReadonlySet<InsecureFlag>;
  readonly trustKeysFromHttps: boolean;
  readonly debug: boolean;
  /** stderr logger prefixed with the command name; `log.out()` writes stdout */
  readonly log: Logger;
  /** the merged system → local → user configuration (read once, on first call) */
  config(): RktConfig;
}

/** Effective uid provider; replaceable so tests can exercise requireRoot without privileges. */
let euidProvider: () => number = () => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

/** Replace (or, with null, restore) the function requireRoot() uses to read the effective uid. */
export function setEuidProvider(fn: (() => number) | null): void {
  euidProvider = fn ?? (() => (typeof process.geteuid === 'function' ? process.geteuid() : 0));
}

/** Throws ENOTROOT unless the effective uid is 0 (rkt's ensureSuperuser). */
export function requireRoot(geteuid: () => number = euidProvider): void {
  if (geteuid() !== 0) throw new RktError('ENOTROOT', 'cannot run as unprivileged user');
}

/** The exit code for an error reaching the top: RktError's, else 254. */
export function exitCodeOf(err: unknown): number {
  return err instanceof RktError ? err.exitCode : 254;
}

export abstract class BaseCommand extends Command {
  // --- global flags (rkt/rkt.go persistent flags); hidden from per-command usage, listed once
  // under "Global flags" (GLOBAL_FLAGS_HELP) like cobra does ---
  dir = AbsDir('--dir', { hidden: true });
  systemConfig = AbsDir('--system-config', { hidden: true });
  localConfig = AbsDir('--local-config', { hidden: true });
  userConfig = AbsDir('--user-config', { hidden: true });
  insecureOptions = ParsedString('--insecure-options', parseInsecureOptions, { hidden: true });
  trustKeysFromHttps = GoBool('--trust-keys-from-https', false, { hidden: true });
  debug = GoBool('--debug', false, { hidden: true });
  // Go profiling flags: accepted and ignored
  cpuprofile = ParsedString('--cpuprofile', (v) => v, { hidden: true });
  memprofile = ParsedString('--memprofile', (v) => v, { hidden: true });

  private globalsCache?: GlobalContext;
  /** Set by catch(): the exit code of the error that ended execute(). */
  errorExitCode?: number;

  /** The cobra command name: last word of the command path ("gc" for `rkt image gc`). */
  get commandName(): string {
    const paths = (this.constructor as typeof Command).paths;
    return commandName(this.path.length > 0 ? this.path : paths?.[0] ?? []);
  }

  /** A logger for this command's streams and debug setting. */
  get log(): Logger {
    return this.globals().log;
  }

  /** Typed view of the global flags. Cheap: nothing is read from disk until dataDir/config() are used. */
  globals(): GlobalContext {
    if (this.globalsCache) return this.globalsCache;
    const configDirs: ConfigDirs = {
      system: this.systemConfig ?? DEFAULT_SYSTEM_CONFIG_DIR,
      local: this.localConfig ?? DEFAULT_LOCAL_CONFIG_DIR,
    };
    if (this.userConfig !== undefined) configDirs.user = this.userConfig;
    const log = createLogger({
      prefix: this.commandName,
      debug: this.debug,
      // the process's fds written directly, or the caller's streams (util/stdio.ts)
      stderr: { write: sinkFor(this.context, 'stderr') },
      stdout: { write: sinkFor(this.context, 'stdout') },
    });
    let config: RktConfig | undefined;
    let dataDir: string | undefined;
    const loadOnce = (): RktConfig => (config ??= loadConfig(configDirList(configDirs)));
    const dirFlag = this.dir;
    this.globalsCache = {
      get dataDir(): string {
        return (dataDir ??= resolveDataDir({ dirFlag, config: loadOnce }));
      },
      configDirs: Object.freeze({ ...configDirs }),
      insecure: this.insecureOptions ?? new Set<InsecureFlag>(),
      trustKeysFromHttps: this.trustKeysFromHttps,
      debug: this.debug,
      log,
      config: loadOnce,
    };
    return this.globalsCache;
  }

  /**
   * What fetching images needs from the command line (src/fetch): insecure options, config,
   * trust settings, the `image: ` logger and the terminal for prompts and progress.
   */
  fetchEnvironment(): FetchEnvironment {
    const g = this.globals();
    const context = this.context;
    return {
      insecure: g.insecure,
      config: g.config(),
      configDirs: g.configDirs,
      trustKeysFromHttps: g.trustKeysFromHttps,
      logger: g.log.withPrefix('image'),
      // a getter: the process's stderr is created when a progress bar or review needs it (main.ts commandContext)
      get stderr() {
        return context.stderr as NodeJS.WriteStream;
      },
      // undefined unless a caller gave one: the session falls back to process.stdin when it asks
      stdin: this.context.stdin as NodeJS.ReadableStream | undefined,
      get stdout() {
        return context.stdout;
      },
    };
  }

  /**
   * The command's stdin: the context's when a caller gave one, else the process's, created only
   * now (the bundle's clipanion leaves it out of its default context: building it costs start-up).
   */
  get stdin(): NodeJS.ReadableStream & { isTTY?: boolean } {
    return (this.context.stdin as NodeJS.ReadableStream | undefined) ?? process.stdin;
  }

  /** Fail with `cannot run as unprivileged user` unless running as root. */
  requireRoot(geteuid?: () => number): void {
    requireRoot(geteuid);
  }

  /** Write one line (newline added when missing) to stdout, unprefixed. */
  out(text: string): void {
    sinkFor(this.context, 'stdout')(text.endsWith('\n') ? text : text + '\n');
  }

  /**
   * Report an error the rkt way: one line `<command>: <message>` on stderr (with --debug, the
   * causes follow as a tree); returns the exit code (RktError.exitCode, 254 otherwise).
   */
  reportError(error: unknown): number {
    const debug = typeof this.debug === 'boolean' ? this.debug : false;
    sinkFor(this.context, 'stderr')(`${this.commandName}: ${describeError(error, debug)}\n`);
    return exitCodeOf(error);
  }

  /** clipanion's error hook: report instead of rethrowing; runCli returns errorExitCode. */
  async catch(error: unknown): Promise<void> {
    this.errorExitCode = this.reportError(error);
  }
}
