/**
 * Where sqlite3's compiled module is: its package's build/Release directory, where both a source
 * build and a prebuilt binary put it. Both the preload (sqlite-preload.ts) and the bundle's loader
 * (scripts/bundle.js) ask here, so they load the same file.
 *
 * Node would find the package first in the rkt package's own node_modules (nothing lies between
 * dist/ and it), and a stat there is cheaper than require.resolve's walk (~0.8 ms: candidate
 * paths, the package's exports, a realpath). Anywhere else (a dependency hoisted above rkt, as
 * when rkt is installed into a project) require.resolve finds it as before.
 */
import * as path from 'node:path';
import { native } from '../native';
import { packageRoot } from '../util/package-root';

let found: string | undefined;

export function sqlite3NativePath(): string {
  if (found) return found;
  let dir: string | undefined;
  try {
    const own = path.join(packageRoot(), 'node_modules', 'sqlite3');
    if (native.stat(path.join(own, 'package.json'))?.kind === 'file') dir = own;
  } catch {
    /* no package root: resolve as Node does */
  }
  dir ??= path.dirname(require.resolve('sqlite3/package.json'));
  return (found = path.join(dir, 'build', 'Release', 'node_sqlite3.node'));
}
