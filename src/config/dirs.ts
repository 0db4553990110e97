/** Configuration and data directory locations (rkt/rkt.go, common/common.go). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError, describeError } from '../errors';
import { goQuote } from '../util/go';
import type { RktConfig } from './types';

export const DEFAULT_DATA_DIR = '/var/lib/rkt';
export const DEFAULT_SYSTEM_CONFIG_DIR = '/usr/lib/rkt';
export const DEFAULT_LOCAL_CONFIG_DIR = '/etc/rkt';

export interface ConfigDirs {
  /** --system-config, default /usr/lib/rkt */
  system: string;
  /** --local-config, default /etc/rkt */
  local: string;
  /** --user-config, none by default */
  user?: string;
}

export const DEFAULT_CONFIG_DIRS: Readonly<ConfigDirs> = {
  system: DEFAULT_SYSTEM_CONFIG_DIR,
  local: DEFAULT_LOCAL_CONFIG_DIR,
};

/** The directories to read, in merge order: system, local, then user if set. */
export function configDirList(dirs: ConfigDirs): string[] {
  const list = [dirs.system, dirs.local];
  if (dirs.user !== undefined && dirs.user !== '') list.push(dirs.user);
  return list;
}

/** rkt's absDir flag type: "" is rejected, anything else made absolute (not resolved). */
export function absDir(value: string, cwd: string = process.cwd()): string {
  if (value === '') throw new RktError('EUSAGE', '"" is not a valid directory');
  return path.resolve(cwd, value);
}

export interface DataDirOptions {
  /** the --dir flag value when given on the command line */
  dirFlag?: string;
  /** loads the merged configuration; only called when --dir is not given */
  config: () => RktConfig;
  cwd?: string;
}

/**
 * The data directory: --dir if given, else the `paths` config `data`, else /var/lib/rkt; made
 * absolute; symlinks resolved when the path exists (a missing path is kept as is).
 */
export function resolveDataDir(opts: DataDirOptions): string {
  let dir: string;
  if (opts.dirFlag !== undefined) {
    dir = absDir(opts.dirFlag, opts.cwd);
  } else {
    let configured: string;
    try {
      configured = opts.config().paths.dataDir;
    } catch (e) {
      throw new RktError('ECONFIG', `cannot get configuration: ${describeError(e)}`, { cause: e });
    }
    dir = configured !== '' ? path.resolve(opts.cwd ?? process.cwd(), configured) : DEFAULT_DATA_DIR;
  }
  try {
    // libuv's realpath(3): the JS realpathSync lstats each component itself
    return fs.realpathSync.native(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return dir;
    throw new RktError('EIO', `cannot evaluate dataDir ${goQuote(dir)} real path: ${describeError(e)}`, { cause: e });
  }
}
