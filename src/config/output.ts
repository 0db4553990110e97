/** `rkt config` output (Config.MarshalJSON in rkt/config/config.go). */
import { goJson } from '../util/go';
import type { AuthCredentials, RktConfig } from './types';

function credentialsJson(c: AuthCredentials): Record<string, string> {
  switch (c.type) {
    case 'basic':
      return { user: c.user, password: c.password };
    case 'oauth':
      return { token: c.token };
    case 'aws':
      return { accessKeyID: c.accessKeyID, secretAccessKey: c.secretAccessKey, awsRegion: c.awsRegion };
  }
}

const byKey = <T>(m: Map<string, T>): [string, T][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * `{"stage0": [...]}`: one `auth` entry per domain, one `dockerAuth` entry per registry (both
 * sorted by name; rkt's order is Go's random map order), then one `paths` and one `stage1` entry.
 */
export function configToJson(config: RktConfig): { stage0: object[] } {
  const stage0: object[] = [];
  for (const [host, cred] of byKey(config.authPerHost)) {
    stage0.push({
      rktVersion: 'v1',
      rktKind: 'auth',
      domains: [host],
      type: cred.type,
      credentials: credentialsJson(cred),
    });
  }
  for (const [registry, cred] of byKey(config.dockerCredentialsPerRegistry)) {
    stage0.push({
      rktVersion: 'v1',
      rktKind: 'dockerAuth',
      registries: [registry],
      credentials: { user: cred.user, password: cred.password },
    });
  }
  stage0.push({
    rktVersion: 'v1',
    rktKind: 'paths',
    data: config.paths.dataDir,
    'stage1-images': config.paths.stage1ImagesDir,
  });
  stage0.push({
    rktVersion: 'v1',
    rktKind: 'stage1',
    name: config.stage1.name,
    version: config.stage1.version,
    location: config.stage1.location,
  });
  return { stage0 };
}

/** The text `rkt config` prints (without the trailing newline): TAB-indented when pretty. */
export function formatConfig(config: RktConfig, pretty = true): string {
  return goJson(configToJson(config), pretty);
}
