/**
 * A port of Go's `text/tabwriter` for the configuration rkt uses everywhere (`getTabOutWithWriter`):
 * minwidth 0, tabwidth 8, padding 1, padchar '\t', no flags.
 *
 * Semantics (as Go): text is split into lines; every line is split into cells at '\t'. Only
 * tab-terminated cells belong to a column; the last cell of a line (the text before the newline)
 * is written as is. A column is a block of consecutive lines that all have a cell in that column;
 * a line with fewer cells ends the block, so the next block is sized independently. With TAB
 * padding the column width (widest text + padding) is rounded up to a multiple of tabwidth, and a
 * cell of text width w is followed by ceil((cellw - w) / tabwidth) tabs.
 */
export interface TabWriterOptions {
  minwidth?: number;
  tabwidth?: number;
  padding?: number;
  /** Only '\t' (rkt's choice) and ' ' are supported. */
  padchar?: '\t' | ' ';
}

const RKT_OPTIONS: Required<TabWriterOptions> = { minwidth: 0, tabwidth: 8, padding: 1, padchar: '\t' };

/** Text width as Go counts it: one per Unicode code point (utf8.RuneCount). */
function textWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Format a whole buffer the way a Go tabwriter would after a final Flush(). */
export function tabwrite(text: string, options: TabWriterOptions = {}): string {
  const opts = { ...RKT_OPTIONS, ...options };
  const raw = text.split('\n');
  // A trailing empty line (text ending in '\n') has no cells at all; every other line has >= 1 cell.
  const lines: string[][] = raw.map((l, i) => (i === raw.length - 1 && l === '' ? [] : l.split('\t')));
  const widths: number[] = [];
  const out: string[] = [];

  const padding = (textw: number, cellw: number): string => {
    if (opts.padchar === '\t') {
      if (opts.tabwidth === 0) return '';
      const rounded = Math.ceil(cellw / opts.tabwidth) * opts.tabwidth;
      return '\t'.repeat(Math.ceil((rounded - textw) / opts.tabwidth));
    }
    return ' '.repeat(Math.max(0, cellw - textw));
  };

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i];
      let s = '';
      for (let j = 0; j < line.length; j++) {
        s += line[j];
        if (j < widths.length) s += padding(textWidth(line[j]), widths[j]);
      }
      out.push(i + 1 === lines.length ? s : s + '\n');
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= lines[cur].length - 1) continue;
      // a cell exists in this column: print the lines before the block, then size the block
      writeLines(line0, cur);
      line0 = cur;
      let width = opts.minwidth;
      for (; cur < line1; cur++) {
        const line = lines[cur];
        if (column >= line.length - 1) break;
        const w = textWidth(line[column]) + opts.padding;
        if (w > width) width = w;
      }
      widths.push(width);
      format(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('');
}

/** Rows of cells → newline-terminated, tab-separated lines → aligned text (rkt's table output). */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<string>>, options?: TabWriterOptions): string {
  return tabwrite(rows.map((r) => r.join('\t') + '\n').join(''), options);
}

/** Incremental form, like Go's *tabwriter.Writer: write() buffers, flush() returns the aligned text. */
export class TabWriter {
  private buf = '';
  constructor(private readonly options: TabWriterOptions = {}) {}
  write(s: string): this {
    this.buf += s;
    return this;
  }
  /** Aligned text of everything written since the last flush. */
  flush(): string {
    const s = tabwrite(this.buf, this.options);
    this.buf = '';
    return s;
  }
}
