#!/usr/bin/env node
'use strict';
// Bundles the compiled CLI (dist/src) into dist/rkt.js, which bin/rkt prefers while it is newer than
// dist/src. Native modules and the big libraries only some commands load stay outside.
//
// Two start-up costs of clipanion are patched out of the bundle (clipanion is pinned to 3.2.1, and a
// patch that no longer matches fails the build): at load it requires `tty` (and with it `net` and
// `stream`) to compute a colour depth rkt never uses (main.ts forces depth 1), and it reads
// `process.stdin`, which builds a stream (a TTY or a socket) that only `rkt trust` and the key
// review of a fetch need; those read it through BaseCommand.stdin instead.
//
// sqlite3's JavaScript is bundled too, with its loader replaced: it finds its compiled module
// through the `bindings` package, which stats a dozen candidate paths (and works out the package
// root from a stack trace, which a bundle would mislead); here the module is required from the
// sqlite3 package's own build/Release directory, where both a source build and a prebuilt binary put it.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');

const PATCHES = [
  {
    file: /clipanion[\\/]lib[\\/]platform[\\/]node\.js$/,
    from: "var tty = require('tty');",
    to: "var tty = { get default() { return require('tty'); } };",
  },
  {
    file: /clipanion[\\/]lib[\\/]platform[\\/]node\.js$/,
    from: "var tty__default = /*#__PURE__*/_interopDefaultLegacy(tty);",
    to: 'var tty__default = tty;',
  },
  {
    file: /clipanion[\\/]lib[\\/]advanced[\\/]Cli\.js$/,
    from: '    stdin: process.stdin,\n',
    to: '',
  },
  {
    file: /clipanion[\\/]lib[\\/]advanced[\\/]Cli\.js$/,
    from: '    colorDepth: platform.getDefaultColorDepth(),',
    to: '    colorDepth: 1,',
  },
];

const SQLITE3_BINDING = `
const path = require('path');
module.exports = require(path.join(path.dirname(require.resolve('sqlite3/package.json')), 'build', 'Release', 'node_sqlite3.node'));
`;

const loadSqlite3Directly = {
  name: 'sqlite3-binding',
  setup(build) {
    build.onLoad({ filter: /sqlite3[\\/]lib[\\/]sqlite3-binding\.js$/ }, () => ({ contents: SQLITE3_BINDING, loader: 'js' }));
  },
};

const patchClipanion = {
  name: 'patch-clipanion',
  setup(build) {
    build.onLoad({ filter: /clipanion[\\/]lib[\\/].*\.js$/ }, (args) => {
      const patches = PATCHES.filter((p) => p.file.test(args.path));
      if (patches.length === 0) return undefined;
      let text = fs.readFileSync(args.path, 'utf8');
      for (const p of patches) {
        if (!text.includes(p.from)) throw new Error(`bundle: clipanion changed, cannot patch ${args.path}: ${JSON.stringify(p.from)}`);
        text = text.replace(p.from, p.to);
      }
      return { contents: text, loader: 'js' };
    });
  },
};

esbuild
  .build({
    entryPoints: [path.join(root, 'dist/src/cli/main.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: path.join(root, 'dist/rkt.js'),
    external: ['openpgp', 'undici', '*.node', 'sqlite3/package.json'],
    plugins: [patchClipanion, loadSqlite3Directly],
    logLevel: 'warning',
  })
  .catch((e) => {
    process.stderr.write(`bundle: ${e.message}\n`);
    process.exit(1);
  });
