/**
 * The fingerprint review (rkt/pubkey/pubkey.go reviewKey): ask on the terminal until the answer is
 * exactly `yes` or `no`. Without a terminal on both stdin and stderr nobody can answer, so rkt
 * refuses rather than trusting silently.
 */
import * as readline from 'node:readline';
import { RktError } from '../errors';

export const REVIEW_QUESTION = 'Are you sure you want to trust this key (yes/no)? ';
export const NO_TTY_ERROR = 'error reviewing key: unable to ask user to review fingerprint due to lack of tty';

export interface ReviewIO {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
  /** stderr's TTY-ness also counts (rkt checks both) */
  errIsTTY: boolean;
}

export function canReview(io: ReviewIO): boolean {
  return io.input.isTTY === true && io.errIsTTY;
}

/** One reader for the whole command, so several keys can be reviewed in turn. */
export class Reviewer {
  private rl?: readline.Interface;
  private lines: string[] = [];
  private waiting?: (line: string | undefined) => void;
  private closed = false;

  constructor(private readonly io: ReviewIO) {}

  /** Whether there is a terminal to ask on. */
  get interactive(): boolean {
    return canReview(this.io);
  }

  private nextLine(): Promise<string | undefined> {
    if (!this.rl) {
      this.rl = readline.createInterface({ input: this.io.input, terminal: false });
      this.rl.on('line', (l) => {
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = undefined;
          w(l);
        } else this.lines.push(l);
      });
      this.rl.on('close', () => {
        this.closed = true;
        this.waiting?.(undefined);
      });
    }
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** true for `yes`, false for `no`; asks again on anything else. */
  async review(): Promise<boolean> {
    if (!canReview(this.io)) throw new RktError('ETRUST', NO_TTY_ERROR);
    for (;;) {
      this.io.output.write(REVIEW_QUESTION);
      const answer = await this.nextLine();
      if (answer === undefined) throw new RktError('ETRUST', 'error reviewing key: no answer (end of input)');
      if (answer === 'yes') return true;
      if (answer === 'no') return false;
      this.io.output.write("Please enter 'yes' or 'no'\n");
    }
  }

  close(): void {
    this.rl?.close();
    this.rl = undefined;
  }
}
