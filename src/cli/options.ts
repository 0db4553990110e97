/**
 * Option definitions shared by commands, kept apart from the command classes. Clipanion options
 * with cobra/pflag semantics: booleans that also take `--flag=true|false`, absolute directories.
 */
import { Option } from 'clipanion';
import { RktError } from '../errors';
import { goQuote, parseGoBool } from '../util/go';
import { absDir } from '../config/dirs';

interface FlagOpts {
  description?: string;
  hidden?: boolean;
}

function lastValue(state: { options: { name: string; value: unknown }[] }, names: Set<string>): { name: string; value: unknown } | undefined {
  let found: { name: string; value: unknown } | undefined;
  for (const o of state.options) if (names.has(o.name)) found = o;
  return found;
}

function invalidArgument(value: string, flag: string, reason: string): RktError {
  return new RktError('EUSAGE', `invalid argument ${goQuote(value)} for ${goQuote(flag)} flag: ${reason}`);
}

/**
 * A pflag-style boolean: `--flag` (true), `--flag=true|false|1|0|t|f…`, `--no-flag` (false).
 * Unlike clipanion's Option.Boolean it accepts the `=value` form rkt's docs use
 * (`--pretty-print=false`), and never consumes the next token.
 */
export function GoBool(descriptor: string, initial: boolean, opts: FlagOpts = {}): boolean {
  const names = descriptor.split(',');
  const nameSet = new Set(names);
  return Option.makeCommandOption<boolean>({
    definition(builder) {
      builder.addOption({ names, arity: 0, allowBinding: true, hidden: opts.hidden, description: opts.description });
    },
    transformer(_builder, _key, state) {
      const found = lastValue(state, nameSet);
      if (found === undefined) return initial;
      if (typeof found.value === 'boolean') return found.value;
      const parsed = parseGoBool(String(found.value));
      if (parsed === null) {
        throw invalidArgument(String(found.value), found.name, `strconv.ParseBool: parsing ${goQuote(String(found.value))}: invalid syntax`);
      }
      return parsed;
    },
  });
}

/** A string flag with a custom parser whose errors read `invalid argument "v" for "--flag" flag: …`. */
export function ParsedString<T>(descriptor: string, parse: (value: string) => T, opts: FlagOpts = {}): T | undefined {
  const names = descriptor.split(',');
  const nameSet = new Set(names);
  return Option.makeCommandOption<T | undefined>({
    definition(builder) {
      builder.addOption({ names, arity: 1, hidden: opts.hidden, description: opts.description });
    },
    transformer(_builder, _key, state) {
      const found = lastValue(state, nameSet);
      if (found === undefined || typeof found.value !== 'string') return undefined;
      try {
        return parse(found.value);
      } catch (e) {
        if (e instanceof RktError && e.message.startsWith('invalid argument ')) throw e;
        throw invalidArgument(found.value, found.name, (e as Error).message);
      }
    },
  });
}

/** rkt's absDir flag: `""` rejected, made absolute against the working directory. */
export function AbsDir(descriptor: string, opts: FlagOpts = {}): string | undefined {
  return ParsedString(descriptor, (v) => absDir(v), opts);
}
