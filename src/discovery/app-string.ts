/**
 * `name[:version][,label=value]...` as appc's discovery.NewAppFromString parses it (§4.2).
 */
import { RktError } from '../errors';

export interface AppRef {
  name: string;
  labels: Map<string, string>;
}

const AC_IDENTIFIER = /^[a-z0-9]+([-._~/]+[a-z0-9]+)*$/;

export function parseAppString(s: string): AppRef {
  const comma = s.indexOf(',');
  const head = comma === -1 ? s : s.slice(0, comma);
  const rest = comma === -1 ? '' : s.slice(comma + 1);
  const colons = s.split(':').length - 1;
  if (colons > 1) throw new RktError('EUSAGE', `malformed app string - colon may appear at most once: "${s}"`);
  if (colons === 1 && !head.includes(':')) {
    throw new RktError('EUSAGE', `malformed app string - colon may appear only right after the app name: "${s}"`);
  }
  let name = head;
  const labels = new Map<string, string>();
  const colon = head.indexOf(':');
  if (colon !== -1) {
    name = head.slice(0, colon);
    labels.set('version', head.slice(colon + 1));
  }
  if (!AC_IDENTIFIER.test(name)) throw new RktError('EUSAGE', `invalid app name "${name}": not a valid AC Identifier`);
  if (rest) {
    for (const part of rest.split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new RktError('EUSAGE', `malformed label "${part}" in app string "${s}": expected name=value`);
      const k = part.slice(0, eq);
      const v = part.slice(eq + 1);
      if (!AC_IDENTIFIER.test(k)) throw new RktError('EUSAGE', `invalid label name "${k}": not a valid AC Identifier`);
      if (k === 'name') throw new RktError('EUSAGE', `label "name" is not allowed in app string "${s}"`);
      if (labels.has(k)) throw new RktError('EUSAGE', `label ${k} with multiple values`);
      labels.set(k, v);
    }
  }
  return { name, labels };
}
