/**
 * Command-line preprocessing before clipanion sees argv (cobra semantics clipanion lacks):
 * - global flags may come before the subcommand (`rkt --insecure-options=image fetch X`,
 *   `rkt --dir /x image list`): leading flags, with the value of the global flags that take one,
 *   are moved to just after the command path;
 * - command names may be abbreviated to an unambiguous prefix (`rkt stat` → `rkt status`);
 * - `-h` / `--help` anywhere before `--` asks for help.
 * Nothing after a `--` is ever touched.
 */

/** Stands for "no positional argument given" to non-interspersed commands (see runCli). */
export const NO_POSITIONAL = '@@rkt-no-positional@@';

/** Global flags that take a value (the next token unless given as --flag=value). */
export const GLOBAL_VALUE_FLAGS: ReadonlyArray<string> = [
  '--dir',
  '--system-config',
  '--local-config',
  '--user-config',
  '--insecure-options',
  '--cpuprofile',
  '--memprofile',
];

/** Global boolean flags (never consume the next token; `--flag=false` form allowed). */
export const GLOBAL_BOOL_FLAGS: ReadonlyArray<string> = ['--debug', '--trust-keys-from-https'];

export interface CommandNode {
  children: Map<string, CommandNode>;
  /** a command is registered at exactly this path */
  runnable: boolean;
}

export function buildCommandTree(paths: ReadonlyArray<ReadonlyArray<string>>): CommandNode {
  const root: CommandNode = { children: new Map(), runnable: false };
  for (const p of paths) {
    let node = root;
    for (const word of p) {
      let next = node.children.get(word);
      if (!next) {
        next = { children: new Map(), runnable: false };
        node.children.set(word, next);
      }
      node = next;
    }
    node.runnable = true;
  }
  return root;
}

/** The child named `word`, or the only child whose name starts with it (cobra prefix matching). */
export function matchChild(node: CommandNode, word: string): [string, CommandNode] | undefined {
  const exact = node.children.get(word);
  if (exact) return [word, exact];
  if (word === '') return undefined;
  const matches = [...node.children].filter(([name]) => name.startsWith(word));
  return matches.length === 1 ? matches[0] : undefined;
}

export function isHelpFlag(token: string): boolean {
  // the prefix test first: a regexp is compiled on its first use, and most tokens are other flags
  return (token.startsWith('-h') || token.startsWith('--help')) && /^(-h|--help)(=[0-9]+)?$/.test(token);
}

function isOptionToken(token: string): boolean {
  return token.startsWith('-') && token !== '-' && token !== '--';
}

export interface NormalizedArgv {
  /** path, then the moved flags, then the remaining tokens: what clipanion parses */
  argv: string[];
  /** the resolved command path (full names), possibly empty or a group */
  path: string[];
  node: CommandNode;
  /** flags (with values) found before or between the path words, in order */
  moved: string[];
  /** tokens after the path, untouched */
  rest: string[];
  /** -h/--help found among the flags before any `--` (cobra's default, interspersed flags) */
  help: boolean;
  /** -h/--help found before the command's first positional argument (non-interspersed commands) */
  helpBeforeArgs: boolean;
}

/**
 * clipanion only splits `--name=value` when the name is letters and dashes, so `--stage1-path=X`
 * would reach the command unsplit: hand it over as `--stage1-path X`.
 */
function splitDigitFlag(t: string): string[] {
  const eq = t.indexOf('=');
  // only a `--name=value` whose name has a digit can match (most have none): no regexp for the rest
  if (eq < 0 || !t.startsWith('--') || !hasDigit(t, eq)) return [t];
  const m = /^(--[a-z][a-z0-9-]*[0-9][a-z0-9-]*)=([\s\S]*)$/.exec(t);
  return m ? [m[1], m[2]] : [t];
}

function hasDigit(s: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

export function normalizeArgv(argv: ReadonlyArray<string>, tree: CommandNode): NormalizedArgv {
  const path: string[] = [];
  const moved: string[] = [];
  let movedHelp = false;
  let node = tree;
  let i = 0;
  while (i < argv.length) {
    const t = argv[i];
    if (t === '--') break;
    if (path.length > 0 && node.children.size === 0) break; // a leaf command: the rest is its own
    if (isOptionToken(t)) {
      movedHelp ||= isHelpFlag(t);
      moved.push(t);
      i++;
      if (!t.includes('=') && GLOBAL_VALUE_FLAGS.includes(t) && i < argv.length) {
        moved.push(argv[i]);
        i++;
      }
      continue;
    }
    const child = matchChild(node, t);
    if (!child) break;
    path.push(child[0]);
    node = child[1];
    i++;
  }
  const rest = argv.slice(i);
  const end = rest.indexOf('--');
  const flagsPart = end < 0 ? rest : rest.slice(0, end);
  const firstArg = flagsPart.findIndex((t) => !isOptionToken(t));
  const help = movedHelp || flagsPart.some(isHelpFlag);
  const helpBeforeArgs = movedHelp || (firstArg < 0 ? flagsPart : flagsPart.slice(0, firstArg)).some(isHelpFlag);
  return { argv: [...path, ...moved.flatMap(splitDigitFlag), ...rest.flatMap((t, j) => (end < 0 || j < end ? splitDigitFlag(t) : [t]))], path, node, moved, rest, help, helpBeforeArgs };
}
