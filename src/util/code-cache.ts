/**
 * bin/rkt writes a command's V8 code cache after the command's first successful run, and V8 keeps
 * in it every function that run compiled. A run that also did one-time work (compiling clipanion's
 * parser into the parser cache; for run and prepare, adding an image to the store, as a first run
 * in a new store does with the shipped stage1) would leave that work's code in the cache for good,
 * a tenth more for every later start to load: such a run leaves the cache to the next one.
 */
const ONE_TIME_WORK = Symbol.for('rkt.oneTimeWork');

export function didOneTimeWork(): void {
  (globalThis as Record<symbol, unknown>)[ONE_TIME_WORK] = true;
}
