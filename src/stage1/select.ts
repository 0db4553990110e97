/**
 * Which stage1 image a pod uses (rkt/stage1hash.go, §7.4): a --stage1-* flag, else the configured
 * or built-in name:version from the store, else the configured or shipped image file. The shipped
 * file is a trusted location: its signature is not checked, as rkt's build-time default.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import { native } from '../native';
import { packageRoot, packageVersion } from '../util/package-root';
import type { ImageStore } from '../store/image-store';
import type { RktConfig } from '../config/types';

export const STAGE1_NAME = 'coreos.com/rkt/stage1-native';
/**
 * The default stage1's version: the package version plus a hash of the stage1 binary, written by
 * the build next to the image (native/stage1-native.version); the package version without it.
 */
export function stage1Version(): string {
  try {
    return native.readFile(path.join(shippedStage1Dir(), 'stage1-native.version')).toString('utf8').trim() || packageVersion();
  } catch {
    return packageVersion();
  }
}

export function shippedStage1Dir(): string {
  return path.join(packageRoot(), 'native');
}

export function shippedStage1Path(): string {
  return path.join(shippedStage1Dir(), 'stage1-native.aci');
}

export interface Stage1Flags {
  path?: string;
  url?: string;
  name?: string;
  hash?: string;
  fromDir?: string;
}

export function checkStage1Flags(f: Stage1Flags): void {
  const set = Object.entries(f).filter(([, v]) => v !== undefined).map(([k]) => `--stage1-${k === 'fromDir' ? 'from-dir' : k}`);
  if (set.length > 1) throw new RktError('EUSAGE', `flags ${set[0]} and ${set[1]} are mutually exclusive`);
}

/**
 * `fetchUrl` fetches (and verifies, unless --insecure-options=image) a stage1 given by an http(s)
 * URL, as any image: such a stage1 is not from a trusted location.
 */
export async function selectStage1(
  store: ImageStore,
  flags: Stage1Flags,
  config: RktConfig,
  log: (l: string) => void,
  fetchUrl?: (url: string) => Promise<string>,
): Promise<string> {
  checkStage1Flags(flags);
  if (flags.hash) return store.resolveKey(flags.hash);
  if (flags.name) {
    const { parseAppString } = await import('../discovery/app-string');
    const ref = parseAppString(flags.name);
    return store.getByName(ref.name, ref.labels);
  }
  const importFile = async (file: string): Promise<string> => {
    log(`using image from file ${file}`);
    return (await store.importFile(file)).key;
  };
  if (flags.path) return importFile(path.resolve(flags.path));
  if (flags.url) {
    if (flags.url.startsWith('file://')) return importFile(new URL(flags.url).pathname);
    if (!/^https?:\/\//.test(flags.url) || !fetchUrl) throw new RktError('EUSAGE', `--stage1-url ${flags.url}: only file://, http:// and https:// URLs are supported`);
    log(`remote fetching from URL "${flags.url}"`);
    return fetchUrl(flags.url);
  }
  if (flags.fromDir) {
    const dir = config.paths.stage1ImagesDir || shippedStage1Dir();
    return importFile(path.join(dir, flags.fromDir));
  }
  const name = config.stage1.name || STAGE1_NAME;
  const version = config.stage1.version || stage1Version();
  try {
    const key = await store.getByName(name, new Map([['version', version]]));
    log(`using image from local store for image name ${name}:${version}`);
    return key;
  } catch {
    /* not in the store yet: import it from its location */
  }
  const location = config.stage1.location || shippedStage1Path();
  if (!path.isAbsolute(location) && !location.startsWith('file://')) {
    throw new RktError('ECONFIG', 'default stage1 image location is either a relative path or a URL without scheme');
  }
  const file = location.startsWith('file://') ? new URL(location).pathname : location;
  if (!fs.existsSync(file)) throw new RktError('ENOTFOUND', `stage1 image ${file} does not exist (run scripts/build.sh)`);
  return importFile(file);
}
