#!/usr/bin/env node
'use strict';
// Bundles the compiled CLI (dist/src) into dist/rkt.js, which bin/rkt prefers while it is newer than
// dist/src, and openpgp + undici into dist/rkt-net.js (see NET below). Native modules stay outside.
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
// sqlite3 package's own build/Release directory, where both a source build and a prebuilt binary put it
// (src/store/sqlite-path.ts, shared with the preload).
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');

const PATCHES = [
  // register() makes an instance of the command to read its options, and process() made another:
  // the first parse uses the registration's (fields not yet overwritten), later ones a new one
  {
    file: /clipanion[\\/]lib[\\/]advanced[\\/]Cli\.js$/,
    from: '        this.registrations.set(commandClass, { specs, builder, index });',
    to: '        this.registrations.set(commandClass, { specs, builder, index, unused: command });',
  },
  {
    file: /clipanion[\\/]lib[\\/]advanced[\\/]Cli\.js$/,
    from: '                    const command = new commandClass();\n                    command.context = context;',
    to: '                    const command = record.unused || new commandClass();\n                    record.unused = undefined;\n                    command.context = context;',
  },
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
  // The parse's state machine runs every test of a node's dynamic transitions (one per option that
  // takes a value: ~50 for run) on every argument. Each call destructured its callback array and
  // each loop step its transition, which in the interpreter allocates an iterator, a result object
  // per step and a rest array: ~150 KB of run's ~1.6 MB young allocation, what made its scavenge.
  {
    file: /clipanion[\\/]lib[\\/]core\.js$/,
    from: '        const [name, ...args] = callback;\n        return store[name](state, segment, ...args);\n',
    to:
      '        // rkt: the same call without destructuring (scripts/bundle.js)\n' +
      '        const fn = store[callback[0]];\n' +
      '        switch (callback.length) {\n' +
      '            case 1: return fn.call(store, state, segment);\n' +
      '            case 2: return fn.call(store, state, segment, callback[1]);\n' +
      '            case 3: return fn.call(store, state, segment, callback[1], callback[2]);\n' +
      '            default: return fn.call(store, state, segment, ...callback.slice(1));\n' +
      '        }\n',
  },
  {
    file: /clipanion[\\/]lib[\\/]core\.js$/,
    from: '                for (const [test, { to, reducer }] of nodeDef.dynamics) {\n',
    to:
      '                // rkt: indexed, no iterator (scripts/bundle.js)\n' +
      '                for (let d = 0; d < nodeDef.dynamics.length; ++d) {\n' +
      '                    const test = nodeDef.dynamics[d][0];\n' +
      '                    const { to, reducer } = nodeDef.dynamics[d][1];\n',
  },
  // its trace lines (DEBUG_CLI=1) were built, arrays joined and all, and then dropped
  {
    file: /clipanion[\\/]lib[\\/]core\.js$/,
    from: 'debug(`',
    to: 'constants.DEBUG && debug(`',
    count: 14,
  },
  // an internal sanity check on every branch at every argument; console.assert goes through the
  // inspector's console wrapper each time (~0.1 ms of a run's parse)
  {
    file: /clipanion[\/]lib[\/]core\.js$/,
    from: '            console.assert(nodeDef.shortcuts.length === 0, `Shortcuts should have been eliminated by now`);\n',
    to: '',
  },
];

// process.dlopen, as Node's loader loads a .node file but without its resolution (a realpath in JS
// that lstats every component of the path, and node_modules may be a symlink)
const SQLITE3_BINDING = `
const binding = { exports: {} };
process.dlopen(binding, require(${JSON.stringify(path.join(root, 'dist/src/store/sqlite-path.js'))}).sqlite3NativePath());
module.exports = binding.exports;
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
        const changed = () => new Error(`bundle: clipanion changed, cannot patch ${args.path}: ${JSON.stringify(p.from)}`);
        if (p.count !== undefined) {
          // every occurrence, and exactly as many as there were
          const parts = text.split(p.from);
          if (parts.length - 1 !== p.count) throw changed();
          text = parts.join(p.to);
          continue;
        }
        if (!text.includes(p.from)) throw changed();
        text = text.replace(p.from, p.to); // the first occurrence; a patch listed twice takes two
      }
      return { contents: text, loader: 'js' };
    });
  },
};

// tsc's `import * as fs from 'node:fs'` is `__importStar(require("node:fs"))`, a copy of the module
// as an object of getters (plus `default`), made anew in every module that imports it: 64 copies of
// fs and path, ~100 properties each, on every start. Our code only reads the module's own functions
// through it (default imports compile to __importDefault, not this), so the bundle takes the
// builtin module itself.
const BUILTIN_IMPORT_STAR = /__importStar\((require\("node:[a-z_/]+"\))\)/g;
const plainBuiltinImports = {
  name: 'plain-builtin-imports',
  setup(build) {
    build.onLoad({ filter: /dist[\\/]src[\\/].*\.js$/ }, (args) => {
      const text = fs.readFileSync(args.path, 'utf8');
      return { contents: text.replace(BUILTIN_IMPORT_STAR, '$1'), loader: 'js' };
    });
  },
};

// openpgp and undici (1.1 MB of the 1.6 MB a bundle of everything would be) live in a bundle of
// their own, dist/rkt-net.js, which bin/rkt compiles with its own per-command code cache when a
// command first requires either: in the main bundle they would grow every command's code cache (and
// its load) by a third, left out they were compiled from source, ~150 ms, on every fetch.
const NET = ['openpgp', 'undici'];
const netFromItsBundle = {
  name: 'net-bundle',
  setup(build) {
    build.onResolve({ filter: /^(openpgp|undici)$/ }, (args) => ({ path: args.path, namespace: 'rkt-net' }));
    build.onLoad({ filter: /.*/, namespace: 'rkt-net' }, (args) => ({
      // the bundle runs only under bin/rkt, which provides the loader
      contents: `const load = globalThis[Symbol.for('rkt.loadNet')]; if (!load) throw new Error('dist/rkt.js needs bin/rkt'); module.exports = load()[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  charset: 'ascii',
  minifyWhitespace: true,
  minifySyntax: true,
  // a quarter less source to read and a smaller code cache to load on every start; nothing in rkt
  // reads a function's or a class's own name (errors carry their codes and names as properties)
  minifyIdentifiers: true,
  // The bundles carry Node's CommonJS wrapper (Module.wrap) themselves: bin/rkt compiles the file's
  // text as it was read, where wrapping it would copy 400 KB into a new string on every start.
  banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
  footer: { js: '\n});' },
};

function checkAscii(file) {
  // bin/rkt reads the bundles as latin1, which is only the same text when it is ASCII
  const out = fs.readFileSync(file);
  const at = out.findIndex((b) => b > 0x7f);
  if (at !== -1) throw new Error(`${path.relative(root, file)} has a non-ASCII byte at ${at}`);
}

// A running rkt compiles a bundle from a mapping of its file (bin/rkt): a file rewritten in place
// would change, or truncated, fault, under it. Each output is written to a temp file and renamed
// over the old one, which stays intact for whoever has it mapped.
async function build(options) {
  const result = await esbuild.build({ ...options, write: false });
  for (const out of result.outputFiles) {
    const tmp = `${out.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, out.contents);
    fs.renameSync(tmp, out.path);
  }
  return result;
}

const netBundle = () =>
  build({
    ...common,
    stdin: {
      // getters: a command that needs one of them does not evaluate the other
      contents: NET.map((m) => `Object.defineProperty(exports, ${JSON.stringify(m)}, { enumerable: true, get: () => require(${JSON.stringify(m)}) });`).join('\n'),
      resolveDir: root,
      loader: 'js',
    },
    outfile: path.join(root, 'dist/rkt-net.js'),
    // the licences of bundled code go to dist/rkt-net.js.LEGAL.txt (some are not ASCII)
    legalComments: 'external',
  });

netBundle()
  .then(() => checkAscii(path.join(root, 'dist/rkt-net.js')))
  .then(() =>
    build({
      ...common,
      entryPoints: [path.join(root, 'dist/src/cli/main.js')],
      outfile: path.join(root, 'dist/rkt.js'),
      external: ['*.node', 'sqlite3/package.json'],
      // src/util/package-root.ts: the version is built in rather than read from package.json on every start
      define: { RKT_BUNDLED_VERSION: JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version) },
      plugins: [patchClipanion, loadSqlite3Directly, netFromItsBundle, plainBuiltinImports],
    }),
  )
  .then(() => checkAscii(path.join(root, 'dist/rkt.js')))
  .then(() => {
    // a tsc that emits the helper differently would silently bring the copies back
    if (/__importStar\(require\("node:/.test(fs.readFileSync(path.join(root, 'dist/rkt.js'), 'latin1'))) throw new Error('dist/rkt.js still copies builtin modules (__importStar)');
  })
  .catch((e) => {
    process.stderr.write(`bundle: ${e.message}\n`);
    process.exit(1);
  });
