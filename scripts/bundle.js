#!/usr/bin/env node
'use strict';
// Bundles the compiled CLI (dist/src) into dist/rkt.js, which bin/rkt prefers while it is newer than
// dist/src. Native modules and the big libraries only some commands load stay outside.
//
// Two start-up costs of clipanion are patched out of the bundle (clipanion is pinned to 3.2.1, and a
// patch that no longer matches fails the build): at load it requires `tty` (and with it `net` and
// `stream`) to compute a colour depth rkt never uses (main.ts forces depth 1), and it reads
// `process.stdin`, `process.stdout` and `process.stderr`, each of which builds a stream (a TTY, a
// socket, or a file stream, loading Node's stream modules) that a command may never write to: the
// context keeps them as getters (the stdin a command needs comes from BaseCommand.stdin).
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
    from: '    stdin: process.stdin,\n    stdout: process.stdout,\n    stderr: process.stderr,\n',
    to: '    get stdout() { return process.stdout; },\n    get stderr() { return process.stderr; },\n',
  },
  // both of its context merges, which would call those getters (and ours, main.ts) right away
  ...[0, 1].map(() => ({
    file: /clipanion[\\/]lib[\\/]advanced[\\/]Cli\.js$/,
    from: '        const context = {\n            ...Cli.defaultContext,\n            ...userContext,\n        };',
    to: '        const context = lazyMerge(Cli.defaultContext, userContext);',
  })),
  {
    file: /clipanion[\\/]lib[\\/]advanced[\\/]Cli\.js$/,
    from: "var platform = require('../platform');\n",
    to:
      "var platform = require('../platform');\n" +
      '// rkt: { ...a, ...b } with getters kept as getters (scripts/bundle.js)\n' +
      'function lazyMerge(a, b) {\n' +
      '    const out = {};\n' +
      '    for (const src of [a, b || {}])\n' +
      '        for (const k of Object.keys(src))\n' +
      '            Object.defineProperty(out, k, { ...Object.getOwnPropertyDescriptor(src, k), enumerable: true, configurable: true });\n' +
      '    return out;\n' +
      '}\n',
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
        text = text.replace(p.from, p.to); // the first occurrence; a patch listed twice takes two
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
    charset: 'ascii',
    minifyWhitespace: true,
    minifySyntax: true,
  })
  .then(() => {
    // bin/rkt reads the bundle as latin1, which is only the same text when it is ASCII
    const out = fs.readFileSync(path.join(root, 'dist/rkt.js'));
    const at = out.findIndex((b) => b > 0x7f);
    if (at !== -1) throw new Error(`dist/rkt.js has a non-ASCII byte at ${at}`);
  })
  .catch((e) => {
    process.stderr.write(`bundle: ${e.message}\n`);
    process.exit(1);
  });
