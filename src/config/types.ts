/** The merged rkt configuration (rkt/config.Config). */

export interface BasicCredentials {
  user: string;
  password: string;
}

/** Credentials of an `auth` entry, by `type`. */
export type AuthCredentials =
  | { type: 'basic'; user: string; password: string }
  | { type: 'oauth'; token: string }
  | { type: 'aws'; accessKeyID: string; secretAccessKey: string; awsRegion: string };

export interface RktConfig {
  /** `auth` kind: per host[:port] */
  authPerHost: Map<string, AuthCredentials>;
  /** `dockerAuth` kind: per registry host */
  dockerCredentialsPerRegistry: Map<string, BasicCredentials>;
  /** `paths` kind ('' = not configured) */
  paths: { dataDir: string; stage1ImagesDir: string };
  /** `stage1` kind ('' = not configured) */
  stage1: { name: string; version: string; location: string };
}

export function newConfig(): RktConfig {
  return {
    authPerHost: new Map(),
    dockerCredentialsPerRegistry: new Map(),
    paths: { dataDir: '', stage1ImagesDir: '' },
    stage1: { name: '', version: '', location: '' },
  };
}
