/** The library API for Node services embedding rkt's image store. */
export { RktError, isRktError, type RktErrorCode } from './errors';
export { ImageStore, type ImportedImage, type ImportOptions } from './store/image-store';
export { TreeStore, dependencyList, treeStoreId } from './store/tree-store';
export { DataLayout } from './store/layout';
export type { AciInfo, RemoteRow } from './store/db';
export { parseImageManifest, type ImageManifest } from './schema/image-manifest';
export { parsePodManifest, type PodManifest } from './schema/pod-manifest';
export { parseAppString, type AppRef } from './discovery/app-string';
export { classifyImageArg, type ImageArg } from './fetch/classify';
export { runCli } from './cli/main';
