/**
 * The last step shared by registry pulls and local OCI imports: squash the verified layer blobs
 * under the converted manifest into one ACI (Rust, one streaming pass, see rkt_core::layer_squash)
 * and commit it to the store. The ACI's `manifest` entry and the store's manifest copy are the
 * same bytes.
 */
import { native } from '../native';
import type { ImageManifest } from '../schema/image-manifest';
import type { ImageStore } from '../store/image-store';

export interface VerifiedLayer {
  /** the blob as downloaded or found in a layout, digest already checked */
  path: string;
  digest: string;
}

export async function storeConverted(store: ImageStore, layers: VerifiedLayer[], manifest: ImageManifest, latest: boolean): Promise<string> {
  const squashed = await native.squashLayers(
    layers.map((l) => ({ path: l.path, name: l.digest })),
    Buffer.from(JSON.stringify(manifest)),
    store.layout.casTmpDir,
  );
  const imported = await store.importBuilt(squashed, manifest, { latest });
  return imported.key;
}
