/**
 * `rkt fetch` for what this build can fetch: local ACI files (imported unverified only with
 * --insecure-options=image until signature checks land), and images already in the store by ID or
 * name. Every fetched image gets its tree store rendered when running as root, as rkt does.
 */
import { RktError } from '../errors';
import type { ImageStore } from '../store/image-store';
import { TreeStore } from '../store/tree-store';
import { parseAppString } from '../discovery/app-string';
import { classifyImageArg } from './classify';
import type { DockerEnv } from '../docker/fetch-docker';

export type PullPolicy = 'never' | 'new' | 'update';

export interface FetchOptions {
  insecureImage: boolean;
  pullPolicy: PullPolicy;
  signature?: string;
  renderTree: boolean;
  log: (line: string) => void;
  /** insecure options, auth config and stderr for registry fetches */
  env?: DockerEnv;
}

export async function fetchImage(store: ImageStore, arg: string, opts: FetchOptions): Promise<string> {
  const what = classifyImageArg(arg);
  let key: string;
  switch (what.kind) {
    case 'hash':
      key = await store.resolveKey(what.value);
      break;
    case 'file': {
      if (!opts.insecureImage) {
        throw new RktError(
          'EINSECURE',
          `cannot verify the signature of ${what.path}: signature verification is not available yet; use --insecure-options=image to import it unverified`,
        );
      }
      opts.log(`using image from file ${what.path}`);
      key = (await store.importFile(what.path)).key;
      break;
    }
    case 'name': {
      const ref = parseAppString(what.value);
      try {
        key = await store.getByName(ref.name, ref.labels);
        opts.log(`using image from local store for image name ${what.value}`);
      } catch (e) {
        if (opts.pullPolicy === 'never') {
          throw new RktError(
            'ENOTFOUND',
            `unable to fetch image from image name "${what.value}": either image was not found in the store or store was disabled and fetching from remote yielded nothing or it was disabled`,
          );
        }
        throw new RktError('EUNSUPPORTED', `fetching "${what.value}" by name over the network is not supported yet (meta discovery)`);
      }
      break;
    }
    case 'url':
      throw new RktError('EUNSUPPORTED', `fetching from ${what.url} is not supported yet (http/https fetch)`);
    case 'docker':
    case 'oci-layout':
    case 'oci-archive': {
      const docker = await import('../docker/fetch-image');
      key = await docker.fetchDockerOrOci(store, what, opts);
      break;
    }
  }
  if (opts.renderTree) await new TreeStore(store).render(key);
  return key;
}
