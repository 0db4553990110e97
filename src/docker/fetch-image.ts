/** The one entry point src/fetch/fetch.ts calls for docker://, oci-layout: and oci-archive: images. */
import type { ImageStore } from '../store/image-store';
import { fetchDocker, type DockerFetchOptions } from './fetch-docker';
import { fetchOciArchive, fetchOciLayout } from './oci-layout';

export type DockerOrOciArg = { kind: 'docker'; ref: string } | { kind: 'oci-layout'; spec: string } | { kind: 'oci-archive'; spec: string };

export function fetchDockerOrOci(store: ImageStore, what: DockerOrOciArg, opts: DockerFetchOptions): Promise<string> {
  switch (what.kind) {
    case 'docker':
      return fetchDocker(store, what.ref, opts);
    case 'oci-layout':
      return fetchOciLayout(store, what.spec, opts);
    case 'oci-archive':
      return fetchOciArchive(store, what.spec, opts);
  }
}
