/** `rkt export [--app=NAME] [--overwrite] UUID OUTPUT.aci` */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { GoBool } from './options';

export class ExportCommand extends BaseCommand {
  static paths = [['export']];
  static usage = BaseCommand.Usage({
    description: 'export an app from an exited pod to an ACI file',
    details: `
      Writes the root filesystem of an exited pod's app, with everything the app wrote, as a new
      ACI carrying the app's image manifest. With several apps in the pod, choose one with --app.
    `,
    examples: [
      ['Export the only app of a pod', '$0 export c9fad0e6 out.aci'],
      ['Export one app, replacing the file', '$0 export --app=web --overwrite c9fad0e6 web.aci'],
    ],
  });

  app = Option.String('--app', { description: 'name of the app to export within the specified pod' });
  overwrite = GoBool('--overwrite', false, { description: 'overwrite output ACI' });
  uuid = Option.String();
  output = Option.String();

  async execute(): Promise<number> {
    this.requireRoot();
    const { PodDirs } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const { exportPod, checkOutput } = await import('../pod/export');
    checkOutput(this.output, this.overwrite);
    const layout = new DataLayout(this.globals().dataDir);
    const dirs = new PodDirs(layout.podsDir);
    const uuid = dirs.resolveUuid(this.uuid);
    exportPod(dirs, uuid, this.output, { app: this.app, overwrite: this.overwrite, tmpDir: layout.tmpDir, treeDir: layout.treeDir, warn: (m) => this.log.print(m) });
    return 0;
  }
}
