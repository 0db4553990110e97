/** appc 0.8.11 schema: basic types, ImageManifest, PodManifest, isolators. */
export * from './types';
export * from './isolators';
export * from './image-manifest';
export * from './pod-manifest';
