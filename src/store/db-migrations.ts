/**
 * The image index schema, as a list of migrations. `MIGRATIONS[i]` holds the SQL statements that take
 * the database from version `i` to version `i + 1`; the current version is `MIGRATIONS.length`.
 * Never edit a released step: append a new one.
 *
 * rkt's logical tables (reference §3.3) in SQLite: times are INTEGER milliseconds since the epoch,
 * booleans INTEGER 0/1, sizes INTEGER bytes.
 */
export const MIGRATIONS: readonly (readonly string[])[] = Object.freeze([
  // 0 → 1: rkt's remote and aciinfo tables with their indexes
  Object.freeze([
    `CREATE TABLE remote (
       aciurl       TEXT    NOT NULL,
       sigurl       TEXT    NOT NULL DEFAULT '',
       etag         TEXT    NOT NULL DEFAULT '',
       blobkey      TEXT    NOT NULL,
       cachemaxage  INTEGER NOT NULL DEFAULT 0,
       downloadtime INTEGER NOT NULL DEFAULT 0
     )`,
    `CREATE UNIQUE INDEX aciurlidx ON remote (aciurl)`,
    `CREATE INDEX remoteblobkeyidx ON remote (blobkey)`,
    `CREATE TABLE aciinfo (
       blobkey       TEXT    NOT NULL,
       name          TEXT    NOT NULL,
       importtime    INTEGER NOT NULL,
       lastused      INTEGER NOT NULL,
       latest        INTEGER NOT NULL DEFAULT 0 CHECK (latest IN (0, 1)),
       size          INTEGER NOT NULL DEFAULT 0,
       treestoresize INTEGER NOT NULL DEFAULT 0
     )`,
    `CREATE UNIQUE INDEX blobkeyidx ON aciinfo (blobkey)`,
    `CREATE INDEX nameidx ON aciinfo (name)`,
  ]),
  // 1 → 2: the BLAKE3 of each blob's bytes, taken at import from the bytes hashed to its key, so
  // that a render checks a blob at several times the speed of SHA-512 ('' = not known: SHA-512)
  Object.freeze([`ALTER TABLE aciinfo ADD COLUMN blobdigest TEXT NOT NULL DEFAULT ''`]),
]);

/** The schema version this code writes and understands. */
export const DB_VERSION = MIGRATIONS.length;
