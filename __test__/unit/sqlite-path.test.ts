import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sqlite3NativePath } from '../../src/store/sqlite-path';

describe('sqlite3NativePath', () => {
  it("is the module Node's resolution of sqlite3 leads to, and it exists", () => {
    // the shortcut (a stat in rkt's own node_modules) must agree with require.resolve
    const byNode = path.join(path.dirname(require.resolve('sqlite3/package.json')), 'build', 'Release', 'node_sqlite3.node');
    assert.equal(sqlite3NativePath(), byNode);
    assert.ok(fs.statSync(sqlite3NativePath()).isFile());
  });
});
