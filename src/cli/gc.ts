/** `rkt gc` */
import { BaseCommand } from './base';
import { GoBool, ParsedString } from './options';
import { formatGoDuration, parseGoDuration } from '../util/duration';

export class GcCommand extends BaseCommand {
  static paths = [['gc']];
  static usage = BaseCommand.Usage({
    description: 'garbage collect rkt pods no longer in use',
    details: `
      Marks exited pods as garbage, then removes them once the grace period (counted from the
      marking) has passed; prepared pods older than --expire-prepared and aborted prepares are
      removed too. Every mount below a pod is unmounted first. Running pods are never touched.
    `,
    examples: [
      ['Collect with the defaults', '$0 gc'],
      ['Remove every exited and prepared pod now', '$0 gc --grace-period=0s --expire-prepared=0s'],
      ['Only mark exited pods', '$0 gc --mark-only'],
    ],
  });

  gracePeriod = ParsedString('--grace-period', parseGoDuration, { description: 'duration to wait before discarding inactive pods from garbage (default 30m0s)' });
  expirePrepared = ParsedString('--expire-prepared', parseGoDuration, { description: 'duration to wait before expiring prepared pods (default 24h0m0s)' });
  markOnly = GoBool('--mark-only', false, { description: 'move to the garbage directories without actually deleting' });

  async execute(): Promise<number> {
    this.requireRoot();
    const { PodDirs } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const { gcPods } = await import('../pod/gc');
    const layout = new DataLayout(this.globals().dataDir);
    const dirs = new PodDirs(layout.podsDir);
    let failed = 0;
    const grace = this.gracePeriod ?? 30 * 60_000;
    gcPods(
      dirs,
      {
        gracePeriodMs: grace,
        expirePreparedMs: this.expirePrepared ?? 24 * 3_600_000,
        markOnly: this.markOnly,
        treeDir: layout.treeDir,
        warn: (m) => this.log.print(m),
      },
      {
        marked: (m) => this.log.print(m),
        collected: (u) => this.out(`Garbage collecting pod "${u}"`),
        kept: (u) => this.log.print(`pod "${u}" not removed: still within grace period (${formatGoDuration(grace)})`),
        error: (u, e) => {
          failed++;
          this.log.printE(`unable to collect pod "${u}"`, e);
        },
      },
    );
    return failed ? 254 : 0;
  }
}
