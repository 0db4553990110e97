/**
 * Parsers for the configuration kinds (rkt/config/{auth,paths,stage1}.go). Each parser fills the
 * per-directory config and throws a plain Error with rkt's message; the caller wraps it with the file.
 */
import { asObject, field, objectField, stringArrayField, stringField, type JsonObject } from './json';
import type { AuthCredentials, BasicCredentials, RktConfig } from './types';
import { goQuote } from '../util/go';

export type KindParser = (config: RktConfig, doc: JsonObject) => void;

function basicV1(obj: JsonObject | undefined): BasicCredentials {
  const o = obj ?? {};
  const user = stringField(o, 'basicV1', 'user');
  const password = stringField(o, 'basicV1', 'password');
  if (user === '') throw new Error('user not specified');
  if (password === '') throw new Error('password not specified');
  return { user, password };
}

function parseAuthV1(config: RktConfig, doc: JsonObject): void {
  const domains = stringArrayField(doc, 'authV1', 'domains');
  const type = stringField(doc, 'authV1', 'type');
  if (domains.length === 0) throw new Error('no domains specified');
  if (type === '') throw new Error('no auth type specified');
  // credentials is a json.RawMessage in rkt: absent → unmarshalling nothing fails
  const raw = field(doc, 'credentials');
  const creds = (goType: string): JsonObject => {
    if (raw === undefined) throw new Error('unexpected end of JSON input');
    return asObject(raw, goType);
  };
  let cred: AuthCredentials;
  switch (type) {
    case 'basic':
      cred = { type: 'basic', ...basicV1(creds('config.basicV1')) };
      break;
    case 'oauth': {
      const token = stringField(creds('config.oauthV1'), 'oauthV1', 'token');
      if (token === '') throw new Error('no oauth bearer token specified');
      cred = { type: 'oauth', token };
      break;
    }
    case 'aws': {
      const c = creds('config.awsV1');
      const accessKeyID = stringField(c, 'awsV1', 'accessKeyID');
      const secretAccessKey = stringField(c, 'awsV1', 'secretAccessKey');
      const awsRegion = stringField(c, 'awsV1', 'awsRegion');
      if (accessKeyID === '') throw new Error('no AWS Access Key ID specified');
      if (secretAccessKey === '') throw new Error('no AWS Secret Access Key specified');
      cred = { type: 'aws', accessKeyID, secretAccessKey, awsRegion };
      break;
    }
    default:
      throw new Error(`unknown auth type: ${goQuote(type)}`);
  }
  for (const domain of domains) {
    if (config.authPerHost.has(domain)) throw new Error(`auth for domain ${goQuote(domain)} is already specified`);
    config.authPerHost.set(domain, cred);
  }
}

function parseDockerAuthV1(config: RktConfig, doc: JsonObject): void {
  const registries = stringArrayField(doc, 'dockerAuthV1', 'registries');
  if (registries.length === 0) throw new Error('no registries specified');
  const creds = basicV1(objectField(doc, 'dockerAuthV1', 'credentials', 'config.basicV1'));
  for (const registry of registries) {
    if (config.dockerCredentialsPerRegistry.has(registry)) {
      throw new Error(`credentials for docker registry ${goQuote(registry)} are already specified`);
    }
    config.dockerCredentialsPerRegistry.set(registry, { ...creds });
  }
}

function parsePathsV1(config: RktConfig, doc: JsonObject): void {
  const data = stringField(doc, 'pathsV1', 'data');
  const stage1Images = stringField(doc, 'pathsV1', 'stage1-images');
  if (data !== '') {
    if (config.paths.dataDir !== '') throw new Error('data directory is already specified');
    if (!data.startsWith('/')) throw new Error('data directory must be an absolute path');
    config.paths.dataDir = data;
  }
  if (stage1Images !== '') {
    if (config.paths.stage1ImagesDir !== '') throw new Error('stage1 images directory is already specified');
    if (!stage1Images.startsWith('/')) throw new Error('stage1 images directory must be an absolute path');
    config.paths.stage1ImagesDir = stage1Images;
  }
}

const STAGE1_SCHEMES = ['docker', 'file', 'http', 'https'];

/** Go's url.Parse scheme detection: "" when there is none; throws on a leading ':'. */
function urlScheme(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return '';
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new Error(`parse ${goQuote(s)}: missing protocol scheme`);
      return s.slice(0, i).toLowerCase();
    }
    return '';
  }
  return '';
}

function validateStage1V1(name: string, version: string, location: string): void {
  if (name === '' && version !== '') throw new Error('default stage1 image version specified, but name is missing');
  if (name !== '' && version === '') throw new Error('default stage1 image name specified, but version is missing');
  if (location !== '' && !location.startsWith('/')) {
    let scheme: string;
    try {
      scheme = urlScheme(location);
    } catch (e) {
      throw new Error(`default stage1 image location is an invalid URL: ${(e as Error).message}`);
    }
    if (scheme === '') {
      throw new Error('default stage1 image location is either a relative path or a URL without scheme');
    }
    if (!STAGE1_SCHEMES.includes(scheme)) {
      throw new Error(
        `default stage1 image location URL has invalid scheme ${goQuote(scheme)}, allowed schemes are ` +
          STAGE1_SCHEMES.map(goQuote).join(', '),
      );
    }
  }
}

function parseStage1V1(config: RktConfig, doc: JsonObject): void {
  const name = stringField(doc, 'stage1V1', 'name');
  const version = stringField(doc, 'stage1V1', 'version');
  const location = stringField(doc, 'stage1V1', 'location');
  try {
    validateStage1V1(name, version, location);
  } catch (e) {
    throw new Error(`invalid stage1 configuration: ${(e as Error).message}`);
  }
  if (name !== '') {
    if (config.stage1.name !== '') throw new Error('name and version of a default stage1 image are already specified');
    config.stage1.name = name;
    config.stage1.version = version;
  }
  if (location !== '') {
    if (config.stage1.location !== '') throw new Error('location of a default stage1 image is already specified');
    config.stage1.location = location;
  }
}

/** kind → version → parser */
export const PARSERS: Readonly<Record<string, Readonly<Record<string, KindParser>>>> = {
  auth: { v1: parseAuthV1 },
  dockerAuth: { v1: parseDockerAuthV1 },
  paths: { v1: parsePathsV1 },
  stage1: { v1: parseStage1V1 },
};

/** config subdirectory → kinds allowed in it (sorted, as rkt registers them) */
export const SUBDIR_KINDS: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ['auth.d', ['auth', 'dockerAuth']],
  ['paths.d', ['paths']],
  ['stage1.d', ['stage1']],
];
