/**
 * One progress line per layer, redrawn in place, only when stderr is a terminal (pipes and logs get
 * nothing, as with rkt's progress bars):
 * `Downloading sha256:8ddc19f1652 [=====     ]  668 KB / 1.3 MB`.
 */

import type { ProgressSink } from '../fetch/progress';

export type { ProgressSink };

const WIDTH = 20;
const REDRAW_MS = 100;

function size(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function progressLine(digest: string, done: number, total: number): string {
  const filled = total > 0 ? Math.min(WIDTH, Math.floor((done / total) * WIDTH)) : WIDTH;
  return `Downloading ${digest.slice(0, 18)} [${'='.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${size(done)} / ${size(total)}`;
}

export class LayerProgress {
  private readonly done: number[];
  private drawn = false;
  private last = 0;

  constructor(
    private readonly out: ProgressSink | undefined,
    private readonly layers: { digest: string; size: number }[],
  ) {
    this.done = layers.map(() => 0);
  }

  private get enabled(): boolean {
    return this.out?.isTTY === true && this.layers.length > 0;
  }

  update(i: number, n: number): void {
    this.done[i] = n;
    const now = Date.now();
    if (now - this.last >= REDRAW_MS) this.draw(now);
  }

  finish(): void {
    this.draw(Date.now());
  }

  private draw(now: number): void {
    if (!this.enabled || !this.out) return;
    this.last = now;
    let s = this.drawn ? `\x1b[${this.layers.length}A` : '';
    for (let i = 0; i < this.layers.length; i++) {
      s += `\x1b[2K${progressLine(this.layers[i].digest, this.done[i], this.layers[i].size)}\n`;
    }
    this.drawn = true;
    this.out.write(s);
  }
}
