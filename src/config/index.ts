export * from './types';
export * from './dirs';
export { readConfigDir, loadConfig, mergeConfig } from './read';
export { configToJson, formatConfig } from './output';
export { authorizationFor, authorizationHeader, dockerCredentialsFor } from './auth';
