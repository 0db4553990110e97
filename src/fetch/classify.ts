/**
 * How rkt reads an image argument (rkt/image/common.go DistFromImageString, §4.3).
 */
import * as path from 'node:path';
import { RktError } from '../errors';
import { native } from '../native';

export type ImageArg =
  | { kind: 'hash'; value: string }
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'docker'; ref: string }
  | { kind: 'oci-layout'; spec: string }
  | { kind: 'oci-archive'; spec: string }
  | { kind: 'name'; value: string };

function isRegularFile(p: string): boolean {
  try {
    // an image name is looked for as a file first: its absence makes no exception
    return native.stat(p)?.kind === 'file';
  } catch {
    return false;
  }
}

export function classifyImageArg(arg: string, cwd = process.cwd()): ImageArg {
  if (arg === '') throw new RktError('EUSAGE', 'invalid image string ""');
  if (arg.startsWith('sha512-')) return { kind: 'hash', value: arg };
  if (arg.startsWith('docker://')) return { kind: 'docker', ref: arg.slice('docker://'.length) };
  if (arg.startsWith('docker:')) return { kind: 'docker', ref: arg.slice('docker:'.length) };
  // Local OCI images (src/docker/oci-layout.ts): not rkt syntax, named like skopeo's transports.
  if (arg.startsWith('oci-layout:')) return { kind: 'oci-layout', spec: arg.slice('oci-layout:'.length) };
  if (arg.startsWith('oci-archive:')) return { kind: 'oci-archive', spec: arg.slice('oci-archive:'.length) };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(arg);
  if (scheme) {
    const s = scheme[1].toLowerCase();
    if (s === 'file' || s === 'http' || s === 'https') {
      const u = new URL(arg);
      if (!u.pathname.endsWith('.aci')) throw new RktError('EUSAGE', `invalid image string "${arg}": the URL path must end in .aci`);
      if (s === 'file') return { kind: 'file', path: decodeURIComponent(u.pathname) };
      return { kind: 'url', url: arg };
    }
    return { kind: 'name', value: arg };
  }
  // guessAppcOrPath
  const abs = path.resolve(cwd, arg);
  if (path.isAbsolute(arg)) return { kind: 'file', path: arg };
  if (isRegularFile(abs)) return { kind: 'file', path: abs };
  if (arg.includes(':')) return { kind: 'name', value: arg };
  if (arg.includes('./')) return { kind: 'file', path: abs };
  if (arg.endsWith('.aci')) return { kind: 'file', path: abs };
  return { kind: 'name', value: arg };
}
