/**
 * Download progress the way rkt draws it (ioprogress, rkt/image/downloader.go): on stderr, redrawn
 * at most once a second, only when stderr is a terminal:
 *   `Downloading ACI: [=====        ] 3.25 MB/3.7 MB`
 *   `Downloading signature: 819 B of an unknown total size`
 */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** Go's `%.3g` of n in 1000-based units: `819 B`, `3.25 MB`, `3.7 MB`, `668 KB`. */
export function byteUnitStr(n: number): string {
  let size = n;
  let unit = UNITS[UNITS.length - 1];
  for (let i = 1; i < UNITS.length; i++) {
    if (size < 1000) {
      unit = UNITS[i - 1];
      break;
    }
    size /= 1000;
  }
  return `${formatG3(size)} ${unit}`;
}

function formatG3(x: number): string {
  if (x === 0) return '0';
  // %.3g: three significant digits, trailing zeros (and a bare dot) dropped
  return String(Number(x.toPrecision(3)));
}

/** `[====    ]` of total width `width` (brackets included). */
export function drawBar(progress: number, total: number, width: number): string {
  const inner = Math.max(0, width - 2);
  const filled = total > 0 ? Math.min(inner, Math.floor((progress / total) * inner)) : 0;
  return '[' + '='.repeat(filled) + ' '.repeat(inner - filled) + ']';
}

export function progressLine(label: string, progress: number, total: number | undefined): string {
  const prefix = `Downloading ${label}`;
  if (total === undefined || total < 0) return `${prefix}: ${byteUnitStr(progress)} of an unknown total size`;
  const barSize = 80 - prefix.length - 18;
  return `${prefix}: ${drawBar(progress, total, barSize)} ${byteUnitStr(progress)}/${byteUnitStr(total)}`;
}

export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class Progress {
  private last = 0;
  private drawn = false;
  constructor(
    private readonly sink: ProgressSink | undefined,
    private readonly label: string,
    private readonly total: number | undefined,
    private done = 0,
  ) {}

  private get enabled(): boolean {
    return this.sink?.isTTY === true;
  }

  add(n: number): void {
    this.done += n;
    if (!this.enabled) return;
    const now = Date.now();
    if (this.drawn && now - this.last < 1000) return;
    this.last = now;
    this.draw();
  }

  private draw(): void {
    this.sink!.write(`\r${progressLine(this.label, this.done, this.total)}`);
    this.drawn = true;
  }

  /** Final redraw and newline. */
  finish(): void {
    if (!this.enabled) return;
    this.draw();
    this.sink!.write('\n');
  }
}
