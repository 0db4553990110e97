/**
 * The package's root directory (where package.json and native/ live), found by walking up from this
 * module: the same answer from dist/src/** and from the single-file bundle dist/rkt.js, in a clone
 * or a global npm install.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  // bin/rkt knows where it is (and looking would make existsSync's cold first call, 0.1 ms)
  const given = (globalThis as Record<symbol, unknown>)[Symbol.for('rkt.packageRoot')];
  if (typeof given === 'string') return (root = given);
  let d = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'native'))) return (root = d);
    const up = path.dirname(d);
    if (up === d) throw new Error(`cannot find the rkt package root above ${__dirname}`);
    d = up;
  }
}

/** Set by scripts/bundle.js in dist/rkt.js: the version in package.json when the bundle was built. */
declare const RKT_BUNDLED_VERSION: string | undefined;

/**
 * package.json's version. The bundle carries it (every command's parser needs it, and reading and
 * parsing package.json cost `rkt run` ~0.3 ms); the modules read it.
 */
export function packageVersion(): string {
  if (typeof RKT_BUNDLED_VERSION === 'string') return RKT_BUNDLED_VERSION;
  return String(JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version);
}
