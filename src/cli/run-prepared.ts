/** `rkt run-prepared UUID` */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { GoBool } from './options';
import { RktError } from '../errors';
import { runOptionsFrom } from './run-flags';

export class RunPreparedCommand extends BaseCommand {
  static paths = [['run-prepared']];
  static usage = BaseCommand.Usage({
    description: 'run a prepared application pod in rkt',
    details: `
      Runs a pod made by \`rkt prepare\`. UUIDs may be abbreviated to any unambiguous prefix.
    `,
    examples: [['Run a prepared pod', '$0 run-prepared c9fad0e6']],
  });

  net = Option.String('--net', 'host', { description: 'network to join: host (default here)' });
  dns = Option.Array('--dns', [], { description: 'name servers to write in /etc/resolv.conf, or host / none' });
  dnsSearch = Option.Array('--dns-search', [], { description: 'DNS search domains' });
  dnsOpt = Option.Array('--dns-opt', [], { description: 'DNS options' });
  dnsDomain = Option.String('--dns-domain', { description: 'DNS domain' });
  hostsEntry = Option.Array('--hosts-entry', [], { description: 'entries to add to /etc/hosts: IP=HOSTNAME, or host' });
  interactive = GoBool('--interactive', false, { description: "run pod interactively" });
  hostname = Option.String('--hostname', { description: "pod's hostname (default rkt-<uuid>)" });
  ipc = Option.String('--ipc', { description: 'IPC namespace: auto, private or parent' });
  uuid = Option.String();

  async execute(): Promise<number> {
    this.requireRoot();
    const g = this.globals();
    const runOpts = runOptionsFrom(this, g);
    const { execStage1, writeNameResolution } = await import('../pod/run');
    const { PodDirs, claimPrepared } = await import('../pod/pods');
    const { DataLayout } = await import('../store/layout');
    const dirs = new PodDirs(new DataLayout(g.dataDir).podsDir);
    const uuid = dirs.resolveUuid(this.uuid);
    if (dirs.locate(uuid) !== 'prepared') throw new RktError('EUSAGE', `pod "${uuid}" is not prepared`);
    const { readPodManifest } = await import('../pod/info');
    if (this.interactive && readPodManifest(dirs.podPath('prepared', uuid)).apps.length > 1) {
      throw new RktError('EUSAGE', 'interactive option only supports pods with one app');
    }
    const { path: podPath, lock } = await claimPrepared(dirs, uuid);
    writeNameResolution(podPath, runOpts);
    return execStage1(podPath, uuid, lock.fdNumber, runOpts);
  }
}
