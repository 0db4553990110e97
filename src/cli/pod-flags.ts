/**
 * Flags shared by `rkt run` and `rkt prepare` (pod-level flags before the first image), and the
 * translation into plain options for src/pod. Everything from the first image on is rkt's per-app
 * grammar, parsed by src/pod/run-args.
 */
import { Option } from 'clipanion';
import { BaseCommand } from './base';
import { GoBool } from './options';
import { NO_POSITIONAL } from './argv';
import { checkBeforeFirstImage } from '../pod/run-args';
import { RktError } from '../errors';
import type { PullPolicy } from '../fetch/fetch';

export abstract class PodCommand extends BaseCommand {
  static interspersed = false;
  static checkArgv = checkBeforeFirstImage;

  stage1Path = Option.String('--stage1-path', { description: 'path to an image to use as stage1' });
  stage1Url = Option.String('--stage1-url', { description: 'URL to an image to use as stage1 (file:// for now)' });
  stage1Name = Option.String('--stage1-name', { description: 'name of an image in the store to use as stage1' });
  stage1Hash = Option.String('--stage1-hash', { description: 'hash of an image in the store to use as stage1' });
  stage1FromDir = Option.String('--stage1-from-dir', { description: 'filename of an image in the stage1 images directory to use as stage1' });
  inheritEnv = GoBool('--inherit-env', false, { description: "inherit all environment variables not set by apps" });
  noOverlay = GoBool('--no-overlay', false, { description: 'disable overlay filesystem' });
  privateUsers = GoBool('--private-users', false, { description: 'run within user namespaces (implies copying the app trees, as --no-overlay)' });
  setEnv = Option.Array('--set-env', [], { description: 'environment variable to set for all the apps in the form key=value' });
  setEnvFile = Option.String('--set-env-file', { description: 'path to an environment variables file' });
  pullPolicy = Option.String('--pull-policy', 'new', { description: 'when to fetch an image: never, new or update (default "new")' });
  storeOnly = GoBool('--store-only', false, { description: 'deprecated: use --pull-policy=never', hidden: true });
  noStore = GoBool('--no-store', false, { description: 'deprecated: use --pull-policy=update', hidden: true });
  podManifest = Option.String('--pod-manifest', { description: 'the path to the pod manifest; when given, images and per-app flags are not accepted' });
  volume = Option.Array('--volume', [], { description: 'volumes to make available in the pod: NAME,kind=host,source=PATH[,readOnly=true] or NAME,kind=empty[,mode=0755,uid=0,gid=0]' });
  mount = Option.Array('--mount', [], { description: 'mount point binding a volume to a path within all apps (after an image: that app only): volume=NAME,target=PATH' });
  firstImage = Option.String({ name: 'IMAGE' });
  rest = Option.Proxy();

  /** Flags of `run` only (ports, mounts) that a pod manifest also rules out. */
  protected conflictsWithPodManifest(): boolean {
    return false;
  }

  protected async prepareOptions(): Promise<import('../pod/prepare').PrepareOptions> {
    const g = this.globals();
    const { parseApps } = await import('../pod/run-args');
    const { parseEnvFile, parseSetEnv } = await import('../pod/manifest');
    const images = this.firstImage === NO_POSITIONAL ? this.rest : [this.firstImage, ...this.rest];
    if (this.storeOnly && this.noStore) throw new RktError('EUSAGE', 'both --store-only and --no-store specified');
    let podManifest: import('../schema/pod-manifest').PodManifest | undefined;
    if (this.podManifest !== undefined) {
      // rkt's rule: the pod manifest says everything the pod gets; only --pull-policy=new (no fetching) fits.
      const conflicting =
        images.length > 0 || this.volume.length > 0 || this.mount.length > 0 || this.conflictsWithPodManifest() || this.pullPolicy !== 'new' || this.storeOnly || this.noStore || this.inheritEnv || this.setEnv.length > 0 || this.setEnvFile !== undefined;
      if (conflicting) throw new RktError('EUSAGE', 'conflicting flags set with --pod-manifest (see --help)');
      const { readPodManifestFile } = await import('../pod/manifest');
      podManifest = readPodManifestFile(this.podManifest);
    } else if (images.length === 0) {
      throw new RktError('EUSAGE', 'must provide at least one image or specify the pod manifest');
    }
    const apps = podManifest ? [] : parseApps(images);
    const { parseVolumeFlag } = await import('../pod/manifest');
    const { parseMountFlag } = await import('../pod/run-args');
    const mounts = this.mount.map(parseMountFlag);
    const volumes = this.volume.map(parseVolumeFlag);
    let policy = this.pullPolicy;
    if (this.storeOnly) policy = 'never';
    if (this.noStore) policy = 'update';
    if (!['never', 'new', 'update'].includes(policy)) throw new RktError('EUSAGE', `invalid argument "${policy}" for "--pull-policy" flag: must be one of never, new, update`);
    const imageLog = g.log.withPrefix('image');
    return {
      apps,
      podManifest,
      volumes,
      env: {
        setEnv: parseSetEnv(this.setEnv),
        setEnvFile: this.setEnvFile ? parseEnvFile(this.setEnvFile) : [],
        inheritEnv: this.inheritEnv ? process.env : undefined,
        mounts,
      },
      stage1: { path: this.stage1Path, url: this.stage1Url, name: this.stage1Name, hash: this.stage1Hash, fromDir: this.stage1FromDir },
      config: g.config(),
      pullPolicy: policy as PullPolicy,
      insecureImage: g.insecure.has('image'),
      fetchEnv: this.fetchEnvironment(),
      noOverlay: this.noOverlay,
      privateUsers: this.privateUsers,
      log: (l) => imageLog.debug(l),
      warn: (l) => g.log.print(l),
    };
  }
}
