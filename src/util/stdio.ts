/**
 * Writing to the process's stdout and stderr without creating process.stdout / process.stderr.
 * Node builds those streams on first use, loading its stream modules (and tty or net): about 10 ms,
 * which `rkt run` would pay for one warning line. On Linux Node writes stdio files, pipes and
 * terminals synchronously anyway, so a synchronous write(2) on fd 1 or 2 is what the stream would
 * do. Two cases go to the stream itself: an fd left non-blocking by whoever opened it (EAGAIN: the
 * stream queues the rest), and everything once the stream exists (so nothing overtakes its queue).
 */
import * as fs from 'node:fs';

export type StdioName = 'stdout' | 'stderr';

const useStream: Record<StdioName, boolean> = { stdout: false, stderr: false };

/** The process's stream, created now; later writeStdio calls go through it. */
export function processStdio(name: StdioName): NodeJS.WriteStream {
  useStream[name] = true;
  return process[name];
}

function onClosedStdout(): never {
  // `rkt … | head`: a closed stdout ends the program quietly, as SIGPIPE does for Go's rkt
  process.exit(process.exitCode ?? 0);
}

export function writeStdio(name: StdioName, text: string): void {
  if (useStream[name]) {
    processStdio(name).write(text);
    return;
  }
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < buf.length) off += fs.writeSync(name === 'stdout' ? 1 : 2, buf, off);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') processStdio(name).write(buf.subarray(off));
    else if (code === 'EPIPE' && name === 'stdout') onClosedStdout();
    else if (code !== 'EPIPE') throw e; // a closed stderr loses the message, as the stream would
  }
}

const PROCESS_STDIO = Symbol('rkt.processStdio');

/** Tags a context getter as the one that yields the process's own stream (see sinkFor). */
export function tagProcessGetter(get: () => unknown, name: StdioName): void {
  (get as { [PROCESS_STDIO]?: StdioName })[PROCESS_STDIO] = name;
}

/**
 * A write function for a command context's stdout or stderr: writeStdio when the context holds the
 * process's stream behind a tagged getter (main.ts commandContext; not yet created), else the
 * context's stream (a caller's, or tests').
 */
export function sinkFor(ctx: object, name: StdioName): (text: string) => void {
  const get = Object.getOwnPropertyDescriptor(ctx, name)?.get as { [PROCESS_STDIO]?: StdioName } | undefined;
  if (get?.[PROCESS_STDIO] === name) return (text) => writeStdio(name, text);
  return (text) => void (ctx as Record<StdioName, NodeJS.WritableStream>)[name].write(text);
}
