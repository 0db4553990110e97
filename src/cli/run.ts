/** `rkt run` */
import { Option } from 'clipanion';
import { PodCommand } from './pod-flags';
import { GoBool } from './options';
import { RktError } from '../errors';
import { runOptionsFrom } from './run-flags';
import { mark } from '../util/timing';

export class RunCommand extends PodCommand {
  static paths = [['run']];
  static usage = PodCommand.Usage({
    description: 'run image(s) in a pod in rkt',
    details: `
      Runs the images' apps in one pod: each app chrooted in its own root filesystem, all sharing
      PID, UTS and IPC namespaces, started by stage1 as the pod's PID 1. rkt exits with the exit
      code of the first app that failed (0 if none did). Per-app flags follow their image:
      \`IMAGE [--exec=...] [--user=...] [--environment=K=V] [-- args... ---] IMAGE2 ...\`.
      Networking is the host's (\`--net=host\`) in this version.
    `,
    examples: [
      ['Run a local image', '$0 --insecure-options=image run ./inspect.aci'],
      ['Override the command and pass arguments', '$0 run example.com/inspect --exec=/inspect -- --print-msg=hi'],
      ['Two apps, env for both, hostname', '$0 run --set-env=A=1 --hostname=web example.com/a --- example.com/b'],
    ],
  });

  net = Option.String('--net', 'host', { description: 'network to join: host (default here)' });
  dns = Option.Array('--dns', [], { description: 'name servers to write in /etc/resolv.conf, or host / none' });
  dnsSearch = Option.Array('--dns-search', [], { description: 'DNS search domains to write in /etc/resolv.conf' });
  dnsOpt = Option.Array('--dns-opt', [], { description: 'DNS options to write in /etc/resolv.conf' });
  dnsDomain = Option.String('--dns-domain', { description: 'DNS domain to write in /etc/resolv.conf' });
  hostsEntry = Option.Array('--hosts-entry', [], { description: 'entries to add to the pod-wide /etc/hosts: IP=HOSTNAME, or host' });
  interactive = GoBool('--interactive', false, { description: "run pod interactively: the app gets rkt's stdin and TTY" });
  uuidFileSave = Option.String('--uuid-file-save', { description: 'write out pod UUID to specified file' });
  hostname = Option.String('--hostname', { description: "pod's hostname (default rkt-<uuid>)" });
  ipc = Option.String('--ipc', { description: 'IPC namespace: auto, private or parent' });

  async execute(): Promise<number> {
    this.requireRoot();
    const g = this.globals();
    const runOpts = runOptionsFrom(this, g); // flag errors before any pod exists
    const { ImageStore } = await import('../store/image-store');
    // sqlite3's module loads on another thread while the rest loads here, unless the name index
    // will spare this run the database (image-store.ts, openIfPresent)
    const indexed = ImageStore.hasNameIndex(g.dataDir);
    if (!indexed) (await import('../store/sqlite-preload')).preloadSqlite3();
    // An existing store opens now, its database on libuv's threads while the rest of the flags are
    // read and the pod modules load here; a new one only once every flag is good.
    let opening = ImageStore.openIfPresent(g.dataDir);
    opening?.catch(() => undefined); // awaited below: a failure must not go unhandled meanwhile
    const giveUp = async (e: unknown): Promise<never> => {
      await opening?.then((s) => s.close()).catch(() => undefined);
      throw e;
    };
    let opts: import('../pod/prepare').PrepareOptions;
    try {
      opts = await this.prepareOptions();
      mark('options');
      opts.uuidFileSave = this.uuidFileSave;
      if (this.interactive && opts.apps.length > 1) throw new RktError('EUSAGE', 'interactive option only supports one image');
    } catch (e) {
      return giveUp(e);
    }
    if (!opening) {
      opening = ImageStore.open(g.dataDir);
      opening.catch(() => undefined);
    }
    let pod: typeof import('../pod/run');
    let prepare: typeof import('../pod/prepare');
    let embryo: import('../pod/pods').NewPod;
    try {
      // one turn of the event loop: the database's open completes on this thread and sends its
      // first statement off before the modules below keep this thread busy (with the name index
      // there is no database to wait for, and a first setImmediate costs ~0.1 ms of Node's JS)
      if (!indexed) await new Promise<void>((resolve) => setImmediate(resolve));
      pod = await import('../pod/run');
      prepare = await import('../pod/prepare');
      mark('modules');
      // made while the database is still opening (preparePod discards it if the images fail)
      embryo = await prepare.podEmbryo(g.dataDir);
    } catch (e) {
      return giveUp(e);
    }
    let store: import('../store/image-store').ImageStore;
    try {
      store = await opening;
    } catch (e) {
      embryo.discard();
      throw e;
    }
    mark('store');
    try {
      const prepared = await prepare.preparePod(store, opts, embryo);
      pod.writeNameResolution(prepared.pod.path, runOpts);
      prepared.pod.markRunning();
      // The store stays open into the exec, which closes its lock and database fds (O_CLOEXEC):
      // a WAL database is consistent without a close, and closing first would only checkpoint.
      return pod.execStage1(prepared.pod.path, prepared.pod.uuid, prepared.pod.lock.fdNumber, runOpts, prepared);
    } catch (e) {
      await store.close();
      throw e;
    }
  }
}
