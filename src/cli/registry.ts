/**
 * The commands of the CLI, as a table of paths and loaders: a run of `rkt` loads only the module of
 * the command it runs (and registers only that class with clipanion, whose parser grows with every
 * option it knows), so `rkt run` pays for `run` alone. Help for the whole CLI loads them all.
 * Add a command by writing a class extending BaseCommand (static `paths`, static `usage`,
 * `execute()`) and a row here with the same paths (a unit test checks they agree). Keep command
 * modules thin: load heavy dependencies (store, sqlite3, openpgp, undici, the native addon) inside
 * execute() with `await import(...)`.
 */
import type { CommandClass } from 'clipanion';

export interface CommandEntry {
  paths: ReadonlyArray<ReadonlyArray<string>>;
  load: () => CommandClass;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const entries: CommandEntry[] = [
  { paths: [['version']], load: () => (require('./version') as typeof import('./version')).VersionCommand },
  { paths: [['config']], load: () => (require('./config') as typeof import('./config')).ConfigCommand },
  { paths: [['fetch'], ['image', 'fetch']], load: () => (require('./fetch') as typeof import('./fetch')).FetchCommand },
  { paths: [['image', 'list']], load: () => (require('./image/list') as typeof import('./image/list')).ImageListCommand },
  { paths: [['image', 'rm']], load: () => (require('./image/rm') as typeof import('./image/rm')).ImageRmCommand },
  { paths: [['image', 'export']], load: () => (require('./image/export') as typeof import('./image/export')).ImageExportCommand },
  { paths: [['image', 'extract']], load: () => (require('./image/extract') as typeof import('./image/extract')).ImageExtractCommand },
  { paths: [['image', 'render']], load: () => (require('./image/render') as typeof import('./image/render')).ImageRenderCommand },
  { paths: [['image', 'cat-manifest']], load: () => (require('./image/cat-manifest') as typeof import('./image/cat-manifest')).ImageCatManifestCommand },
  { paths: [['image', 'verify']], load: () => (require('./image/verify') as typeof import('./image/verify')).ImageVerifyCommand },
  { paths: [['image', 'gc']], load: () => (require('./image/gc') as typeof import('./image/gc')).ImageGcCommand },
  { paths: [['prepare']], load: () => (require('./prepare') as typeof import('./prepare')).PrepareCommand },
  { paths: [['run']], load: () => (require('./run') as typeof import('./run')).RunCommand },
  { paths: [['run-prepared']], load: () => (require('./run-prepared') as typeof import('./run-prepared')).RunPreparedCommand },
  { paths: [['status']], load: () => (require('./status') as typeof import('./status')).StatusCommand },
  { paths: [['list']], load: () => (require('./list') as typeof import('./list')).ListCommand },
  { paths: [['cat-manifest']], load: () => (require('./cat-manifest') as typeof import('./cat-manifest')).CatManifestCommand },
  { paths: [['gc']], load: () => (require('./gc') as typeof import('./gc')).GcCommand },
  { paths: [['rm']], load: () => (require('./rm') as typeof import('./rm')).RmCommand },
  { paths: [['stop']], load: () => (require('./stop') as typeof import('./stop')).StopCommand },
  { paths: [['enter']], load: () => (require('./enter') as typeof import('./enter')).EnterCommand },
  { paths: [['export']], load: () => (require('./export') as typeof import('./export')).ExportCommand },
  { paths: [['trust']], load: () => (require('./trust') as typeof import('./trust')).TrustCommand },
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** Every command path (for the command tree and prefix matching), without loading any module. */
export function commandPaths(): ReadonlyArray<ReadonlyArray<string>> {
  return entries.flatMap((e) => e.paths);
}

/** The class of the command at exactly `path`, loaded now. */
export function loadCommand(path: ReadonlyArray<string>): CommandClass | undefined {
  const key = path.join(' ');
  return entries.find((e) => e.paths.some((p) => p.join(' ') === key))?.load();
}

/** Every command class (help for the whole CLI or a group). */
export function loadAllCommands(): CommandClass[] {
  return entries.map((e) => e.load());
}

/** Adds a command at run time (tests register fake commands this way). */
export function registerCommand(cls: CommandClass): void {
  entries.push({ paths: cls.paths ?? [], load: () => cls });
}
