import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const stdio = path.resolve(__dirname, '..', '..', 'src', 'util', 'stdio.js');

/** Runs a Node child whose script uses util/stdio (as `w`). */
function child(script: string, opts: { input?: string; stdio?: ('pipe' | 'ignore')[] } = {}) {
  const src = `const w = require(${JSON.stringify(stdio)});\n${script}`;
  return spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', ...opts });
}

test('writes reach fd 1 and 2 in order, without creating the streams or loading stream modules', () => {
  const r = child(`
    w.writeStdio('stdout', 'one\\n');
    w.writeStdio('stderr', 'err ✓\\n');
    w.writeStdio('stdout', 'two ✓\\n');
    const loaded = process.moduleLoadList.filter((m) => m === 'NativeModule stream' || m === 'NativeModule internal/fs/sync_write_stream');
    w.writeStdio('stdout', 'loaded=' + loaded.length + '\\n');
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'one\ntwo ✓\nloaded=0\n');
  assert.equal(r.stderr, 'err ✓\n');
});

test('once the stream exists, writes go through it, after what it queued', () => {
  const r = child(`
    w.processStdio('stdout').write('a\\n');
    w.writeStdio('stdout', 'b\\n');
    process.stdout.write('c\\n');
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'a\nb\nc\n');
});

test('a closed stdout ends the program quietly with its exit code', () => {
  // the reader end is closed before the child writes: EPIPE, which must not print a stack
  const r = spawnSync('bash', ['-c', `exec 3>&1; ( sleep 0.2; "${process.execPath}" -e 'const w = require(${JSON.stringify(stdio)}); process.exitCode = 3; for (let i = 0; i < 1000; i++) w.writeStdio("stdout", "x".repeat(1000) + "\\n"); require("fs").writeSync(2, "not reached\\n");' ) | true; echo "rc=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
  assert.match(r.stderr, /rc=3/, r.stderr);
  assert.doesNotMatch(r.stderr, /not reached|Error|EPIPE/);
});

test('a non-blocking pipe that fills up hands the rest to the stream, losing nothing', () => {
  // python makes fd 1 a non-blocking pipe and reads it slowly, so write(2) meets EAGAIN
  const py = `
import os, subprocess, sys, time
r, w = os.pipe()
os.set_blocking(w, False)
p = subprocess.Popen([sys.argv[1], "-e", sys.argv[2]], stdout=w)
os.close(w)
time.sleep(0.3)
data = b""
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    data += chunk
print(p.wait(), len(data), data.count(b"\\n"), data.endswith(b"end\\n"))
`;
  const script = `const w = require(${JSON.stringify(stdio)}); for (let i = 0; i < 200; i++) w.writeStdio('stdout', String(i).padStart(4, '0') + 'y'.repeat(995) + '\\n'); w.writeStdio('stdout', 'end\\n');`;
  const r = spawnSync('python3', ['-c', py, process.execPath, script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `0 ${200 * 1000 + 4} 201 True`);
});
