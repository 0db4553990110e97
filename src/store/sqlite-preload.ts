/**
 * sqlite3's native module, loaded by the addon on a thread of its own while the CLI goes on
 * (rkt_core::preload): `rkt run` requires it a few ms later, and then Node only registers it. The
 * path is where both a source build and a prebuilt binary put it, the one the bundle loads it from
 * (sqlite-path.ts). Best effort: on any failure require('sqlite3') does all the work, as before.
 */
import { native } from '../native';
import { sqlite3NativePath } from './sqlite-path';

export function preloadSqlite3(): void {
  try {
    native.preloadLibrary(sqlite3NativePath());
  } catch {
    /* the require loads it itself */
  }
}
