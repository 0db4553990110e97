/**
 * Reading configuration directories (rkt/config/config.go): `auth.d`, `paths.d`, `stage1.d` under
 * each of the system, local and (optional) user directories, merged in that order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RktError } from '../errors';
import { native } from '../native';
import { goQuote } from '../util/go';
import { asObject, stringField } from './json';
import { PARSERS, SUBDIR_KINDS } from './kinds';
import { newConfig, type RktConfig } from './types';

const GO_ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
  ENAMETOOLONG: 'file name too long',
};

/** A Node fs error as Go's *PathError prints it: "open /x: permission denied". */
export function goPathError(op: string, p: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const text = code !== undefined ? GO_ERRNO_TEXT[code] : undefined;
  return `${op} ${p}: ${text ?? (err as Error)?.message ?? String(err)}`;
}

function configError(message: string, cause?: unknown): RktError {
  return new RktError('ECONFIG', message, cause === undefined ? {} : { cause });
}

/** validDir: false when missing, true for a directory (following symlinks), an error otherwise. */
function validDir(p: string): boolean {
  try {
    const fast = native.stat(p);
    if (fast === null) return false;
    if (fast.kind === 'dir') return true;
  } catch {
    /* reported below, as Node reports it */
  }
  let st: fs.Stats | undefined;
  try {
    // missing is the common case (six subdirectories are looked for): no exception made for it
    st = fs.statSync(p, { throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw configError(goPathError('stat', p, e), e);
  }
  if (st === undefined) return false;
  if (!st.isDirectory()) throw configError(`expected ${goQuote(p)} to be a directory`);
  return true;
}

/** Go's filepath.Ext: the suffix from the last dot of the base name ("" if none). */
function goExt(name: string): string {
  const i = name.lastIndexOf('.');
  return i < 0 ? '' : name.slice(i);
}

function parseConfigFile(config: RktConfig, file: string, kinds: ReadonlyArray<string>): void {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw configError(goPathError('open', file, e), e);
  }
  let doc: Record<string, unknown>;
  let kind: string;
  let version: string;
  try {
    doc = asObject(JSON.parse(raw), 'config.configHeader');
    kind = stringField(doc, 'configHeader', 'rktKind');
    version = stringField(doc, 'configHeader', 'rktVersion');
  } catch (e) {
    throw configError(`failed to parse ${goQuote(file)}: ${(e as Error).message}`, e);
  }
  if (kind === '') throw configError(`no rktKind specified in ${goQuote(file)}`);
  if (version === '') throw configError(`no rktVersion specified in ${goQuote(file)}`);
  if (!kinds.includes(kind)) {
    throw configError(
      `the configuration directory ${goQuote(path.dirname(file))} expects to have configuration files of kinds ` +
        `${kinds.map(goQuote).join(', ')}, but ${goQuote(path.basename(file))} has kind of ${goQuote(kind)}`,
    );
  }
  const byVersion = PARSERS[kind];
  if (byVersion === undefined) throw configError(`no parser available for configuration of kind ${goQuote(kind)}`);
  const parser = byVersion[version];
  if (parser === undefined) {
    throw configError(
      `no parser available for configuration of kind ${goQuote(kind)} and version ${goQuote(version)}`,
    );
  }
  try {
    parser(config, doc);
  } catch (e) {
    throw configError(`failed to parse ${goQuote(file)}: ${(e as Error).message}`, e);
  }
}

/**
 * Read one subdirectory: only regular files named `*.json`, in name order; subdirectories are not
 * descended into, symlinks and other files are ignored. Like Go's filepath.Walk, a subdirectory
 * that is itself a symlink is not read.
 */
function readSubDir(config: RktConfig, dir: string, kinds: ReadonlyArray<string>): void {
  const top = fs.lstatSync(dir);
  if (!top.isDirectory()) return;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw configError(goPathError('open', dir, e), e);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const file = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch (e) {
      throw configError(goPathError('lstat', file, e), e);
    }
    if (!st.isFile() || goExt(name) !== '.json') continue;
    parseConfigFile(config, file, kinds);
  }
}

/** GetConfigFromDir: the configuration found in one directory (empty when it does not exist). */
export function readConfigDir(dir: string): RktConfig {
  const config = newConfig();
  if (!validDir(dir)) return config;
  for (const [sub, kinds] of SUBDIR_KINDS) {
    const d = path.join(dir, sub);
    if (!validDir(d)) continue;
    readSubDir(config, d, kinds);
  }
  return config;
}

/**
 * Merge `sub` over `into`: auth per host and docker credentials per registry (later wins),
 * paths.data and paths.stage1-images individually, stage1 name+version as a pair, location alone.
 */
export function mergeConfig(into: RktConfig, sub: RktConfig): RktConfig {
  for (const [host, cred] of sub.authPerHost) into.authPerHost.set(host, cred);
  for (const [registry, cred] of sub.dockerCredentialsPerRegistry) into.dockerCredentialsPerRegistry.set(registry, cred);
  if (sub.paths.dataDir !== '') into.paths.dataDir = sub.paths.dataDir;
  if (sub.paths.stage1ImagesDir !== '') into.paths.stage1ImagesDir = sub.paths.stage1ImagesDir;
  if (sub.stage1.name !== '') {
    into.stage1.name = sub.stage1.name;
    into.stage1.version = sub.stage1.version;
  }
  if (sub.stage1.location !== '') into.stage1.location = sub.stage1.location;
  return into;
}

/** GetConfigFrom(dirs...): read each directory and merge them in order. */
export function loadConfig(dirs: ReadonlyArray<string>): RktConfig {
  const config = newConfig();
  for (const dir of dirs) mergeConfig(config, readConfigDir(dir));
  return config;
}
