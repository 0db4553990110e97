/** Turning `auth` / `dockerAuth` configuration into request credentials. */
import type { AuthCredentials, BasicCredentials, RktConfig } from './types';

/**
 * The Authorization header value for a host's `auth` entry: `Basic base64(user:password)` or
 * `Bearer <token>`; undefined for `aws` (requests are signed with SigV4 instead) and unknown hosts.
 * rkt sends it over https only and drops it when a redirect changes host (the fetcher's job).
 */
export function authorizationFor(config: RktConfig, host: string): string | undefined {
  const cred = config.authPerHost.get(host);
  return cred === undefined ? undefined : authorizationHeader(cred);
}

export function authorizationHeader(cred: AuthCredentials): string | undefined {
  switch (cred.type) {
    case 'basic':
      return 'Basic ' + Buffer.from(`${cred.user}:${cred.password}`).toString('base64');
    case 'oauth':
      return 'Bearer ' + cred.token;
    case 'aws':
      return undefined;
  }
}

/** Docker registry credentials, looked up by index host (default `registry-1.docker.io`). */
export function dockerCredentialsFor(config: RktConfig, registry = 'registry-1.docker.io'): BasicCredentials | undefined {
  return config.dockerCredentialsPerRegistry.get(registry);
}
