/**
 * The stage1 run options shared by `rkt run` and `rkt run-prepared` (networking, name resolution,
 * interactive, hostname, IPC), checked before any pod is created or claimed.
 */
import { RktError } from '../errors';
import type { GlobalContext } from './base';
import { checkIpc, hostsFile, resolvConf, type RunOptions } from '../pod/run-options';

export interface RunFlags {
  net: string;
  dns: string[];
  dnsSearch: string[];
  dnsOpt: string[];
  dnsDomain?: string;
  hostsEntry: string[];
  interactive: boolean;
  hostname?: string;
  ipc?: string;
}

export function runOptionsFrom(f: RunFlags, g: GlobalContext): RunOptions {
  if (f.net !== 'host') throw new RktError('EUNSUPPORTED', `--net=${f.net}: only host networking is supported in this version`);
  checkIpc(f.ipc);
  const o: RunOptions = {
    debug: g.debug,
    interactive: f.interactive,
    hostname: f.hostname,
    ipc: f.ipc,
    insecure: g.insecure as ReadonlySet<string>,
    dns: f.dns,
    dnsSearch: f.dnsSearch,
    dnsOpt: f.dnsOpt,
    dnsDomain: f.dnsDomain,
    hostsEntries: f.hostsEntry,
  };
  resolvConf(o);
  hostsFile(o.hostsEntries);
  return o;
}
