/** `rkt cat-manifest UUID` */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { singlePodArgument } from './uuid-args';
import { GoBool } from './options';

export class CatManifestCommand extends BaseCommand {
  static paths = [['cat-manifest']];
  static usage = BaseCommand.Usage({
    description: 'inspect and print the pod manifest',
    examples: [['Print the manifest of a pod', '$0 cat-manifest c9fad0e6']],
  });

  prettyPrint = GoBool('--pretty-print', true, { description: 'apply indent to format the output (default true)' });
  uuidFile = Option.String('--uuid-file', { description: 'read pod UUID from file instead of argument' });
  uuid = Option.String({ required: false });

  async execute(): Promise<number> {
    const arg = singlePodArgument(this.uuid, this.uuidFile);
    const { PodDirs } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const { readPodManifest } = await import('../pod/info');
    const { goJson } = await import('../util/go');
    const dirs = new PodDirs(new DataLayout(this.globals().dataDir).podsDir);
    const uuid = dirs.resolveUuid(arg);
    const dir = dirs.locate(uuid);
    this.out(goJson(readPodManifest(dirs.podPath(dir as 'run', uuid)), this.prettyPrint));
    return 0;
  }
}
