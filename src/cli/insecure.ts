/** `--insecure-options` (rkt/flag/secflags.go): a comma-separated list of security checks to skip. */
import { RktError } from '../errors';
import { goQuote } from '../util/go';

export type InsecureFlag = 'image' | 'tls' | 'http' | 'pubkey' | 'capabilities' | 'paths' | 'seccomp';

/** The accepted values, in rkt's order. */
export const INSECURE_OPTIONS = [
  'none',
  'image',
  'tls',
  'ondisk',
  'http',
  'pubkey',
  'capabilities',
  'paths',
  'seccomp',
  'all-fetch',
  'all-run',
  'all',
] as const;

const EXPANSION: Record<(typeof INSECURE_OPTIONS)[number], ReadonlyArray<InsecureFlag>> = {
  none: [],
  image: ['image'],
  tls: ['tls'],
  ondisk: [], // accepted for backward compatibility, ignored
  http: ['http'],
  pubkey: ['pubkey'],
  capabilities: ['capabilities'],
  paths: ['paths'],
  seccomp: ['seccomp'],
  'all-fetch': ['image', 'tls', 'http', 'pubkey'],
  'all-run': ['capabilities', 'paths', 'seccomp'],
  all: ['image', 'tls', 'http', 'pubkey', 'capabilities', 'paths', 'seccomp'],
};

/** `"none", "image", …` as rkt's flag help lists them. */
export const INSECURE_PERMISSIBLE = INSECURE_OPTIONS.map(goQuote).join(', ');

/**
 * Parse the flag value: values are lower-cased and split on ','; an empty value means none.
 * Unknown or repeated values are errors naming the value (and, for unknown ones, the valid list).
 */
export function parseInsecureOptions(value: string): Set<InsecureFlag> {
  const flags = new Set<InsecureFlag>();
  if (value === '') return flags;
  const seen = new Set<string>();
  for (const opt of value.toLowerCase().split(',')) {
    if (!(INSECURE_OPTIONS as ReadonlyArray<string>).includes(opt)) {
      throw new RktError(
        'EUSAGE',
        `invalid argument ${goQuote(value)} for "--insecure-options" flag: unknown option ${goQuote(opt)}` +
          ` (allowed values: ${INSECURE_PERMISSIBLE})`,
      );
    }
    if (seen.has(opt)) {
      throw new RktError(
        'EUSAGE',
        `invalid argument ${goQuote(value)} for "--insecure-options" flag: duplicated option ${goQuote(opt)}`,
      );
    }
    seen.add(opt);
    for (const f of EXPANSION[opt as keyof typeof EXPANSION]) flags.add(f);
  }
  return flags;
}

/** rkt's accessors over the parsed set. */
export const insecure = {
  skipImageCheck: (s: ReadonlySet<InsecureFlag>) => s.has('image'),
  skipTLSCheck: (s: ReadonlySet<InsecureFlag>) => s.has('tls'),
  allowHTTP: (s: ReadonlySet<InsecureFlag>) => s.has('http'),
  considerInsecurePubKeys: (s: ReadonlySet<InsecureFlag>) => s.has('pubkey'),
  skipCapabilities: (s: ReadonlySet<InsecureFlag>) => s.has('capabilities'),
  skipPaths: (s: ReadonlySet<InsecureFlag>) => s.has('paths'),
  skipSeccomp: (s: ReadonlySet<InsecureFlag>) => s.has('seccomp'),
};
