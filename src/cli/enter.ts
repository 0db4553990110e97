/** `rkt enter [--app=NAME] UUID [CMD [ARGS...]]` */
import { Option } from 'clipanion';
import { BaseCommand } from './base';

export class EnterCommand extends BaseCommand {
  static paths = [['enter']];
  static interspersed = false;
  static usage = BaseCommand.Usage({
    description: 'enter the namespaces of an app within a rkt pod',
    details: `
      Runs CMD (default /bin/bash, else /bin/sh) inside a running pod: in the pod's PID, mount, UTS
      and IPC namespaces, chrooted in the app's root filesystem, with the app's environment, user,
      groups and capabilities. With several apps in the pod, choose one with --app. Works with and
      without a terminal; exits with CMD's exit code.
    `,
    examples: [
      ['A shell in the only app of a pod', '$0 enter c9fad0e6'],
      ['A command in one app', '$0 enter --app=redis c9fad0e6 /bin/ls /data'],
    ],
  });

  app = Option.String('--app', { description: 'name of the app to enter within the specified pod' });
  uuid = Option.String();
  cmd = Option.Proxy();

  async execute(): Promise<number> {
    this.requireRoot();
    const { PodDirs } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const { prepareEnter } = await import('../pod/enter');
    const { execEntrypoint } = await import('../pod/entrypoint');
    const layout = new DataLayout(this.globals().dataDir);
    const dirs = new PodDirs(layout.podsDir);
    const uuid = dirs.resolveUuid(this.uuid);
    const e = await prepareEnter(dirs, uuid, { app: this.app, cmd: this.cmd, treeDir: layout.treeDir, warn: (m) => this.log.print(m) });
    return execEntrypoint(e.podPath, e.bin, e.args);
  }
}
