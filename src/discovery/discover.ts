/**
 * appc meta discovery (reference §4.1): GET `https://<prefix>?ac-discovery=1` for the name and then
 * each parent, read the `ac-discovery` / `ac-discovery-pubkeys` tags whose prefix the name starts
 * with, and stop at the first prefix that yields something. Plain http is tried only when allowed
 * (`--insecure-options=http`), after https failed for that prefix — never instead of it.
 */
import { RktError, describeError } from '../errors';
import type { HttpClient } from '../fetch/http-client';
import { extractMetaTags, type MetaTag } from './meta-tags';
import { namePrefixes, renderTemplate } from './templates';

export interface DiscoveryOptions {
  client: HttpClient;
  allowHTTP: boolean;
  debug?: (line: string) => void;
}

export interface AciEndpoint {
  aci: string;
  asc: string;
}

export interface Attempt {
  prefix: string;
  error: string;
}

/** The discovery page of one prefix: https first, http after it only when allowed. */
async function fetchPage(prefix: string, opts: DiscoveryOptions): Promise<string> {
  const query = '?ac-discovery=1';
  try {
    return (await opts.client.getBuffer(`https://${prefix}${query}`, 4 << 20)).toString('utf8');
  } catch (e) {
    if (!opts.allowHTTP) throw e;
    opts.debug?.(`https discovery for ${prefix} failed (${describeError(e)}), trying http`);
    return (await opts.client.getBuffer(`http://${prefix}${query}`, 4 << 20)).toString('utf8');
  }
}

async function walk<T>(name: string, opts: DiscoveryOptions, pick: (tags: MetaTag[]) => T[]): Promise<{ found: T[]; attempts: Attempt[] }> {
  const attempts: Attempt[] = [];
  for (const prefix of namePrefixes(name)) {
    let html: string;
    try {
      html = await fetchPage(prefix, opts);
    } catch (e) {
      attempts.push({ prefix, error: describeError(e) });
      continue;
    }
    const found = pick(extractMetaTags(html).filter((t) => name.startsWith(t.prefix)));
    if (found.length > 0) return { found, attempts };
    attempts.push({ prefix, error: 'found no ACI meta tags' });
  }
  return { found: [], attempts };
}

/** One line naming what went wrong at each prefix tried. */
export function describeAttempts(attempts: Attempt[]): string {
  return attempts.map((a) => `${a.prefix}: ${a.error}`).join('; ');
}

/** The image (and signature) URLs for name + labels; throws EDISCOVERY when the walk finds none. */
export async function discoverImage(name: string, labels: ReadonlyMap<string, string>, opts: DiscoveryOptions): Promise<AciEndpoint[]> {
  const { found, attempts } = await walk(name, opts, (tags) => {
    const eps: AciEndpoint[] = [];
    for (const t of tags) {
      if (t.name !== 'ac-discovery') continue;
      const aci = renderTemplate(t.uri, name, labels, 'aci');
      const asc = renderTemplate(t.uri, name, labels, 'aci.asc');
      if (aci !== undefined && asc !== undefined) eps.push({ aci, asc });
    }
    return eps;
  });
  if (found.length === 0) {
    const why = attempts.length > 0 ? describeAttempts(attempts) : 'no ac-discovery template matched';
    throw new RktError('EDISCOVERY', `discovery failed for "${name}": ${why}`);
  }
  return found;
}

/** The public key URLs for a prefix (`ac-discovery-pubkeys`); throws EDISCOVERY when none. */
export async function discoverPublicKeys(name: string, opts: DiscoveryOptions): Promise<string[]> {
  const { found, attempts } = await walk(name, opts, (tags) => tags.filter((t) => t.name === 'ac-discovery-pubkeys').map((t) => t.uri));
  if (found.length === 0) {
    const allFailed = attempts.every((a) => a.error !== 'found no ACI meta tags');
    if (allFailed && attempts.length > 0) throw new RktError('EDISCOVERY', `prefix meta discovery error: ${describeAttempts(attempts)}`);
    throw new RktError('EDISCOVERY', `meta discovery on ${name} resulted in no keys`);
  }
  return found;
}
