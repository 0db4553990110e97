/** src/docker pure parts: reference parsing, challenges, manifest checks, config conversion, progress lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerReference } from '../../src/docker/reference';
import { parseChallenges } from '../../src/docker/www-authenticate';
import { parseManifest, pickPlatform } from '../../src/docker/manifest';
import { convertConfig } from '../../src/docker/convert';
import { progressLine } from '../../src/docker/progress';
import { classifyImageArg } from '../../src/fetch/classify';
import { RktError } from '../../src/errors';

const D = 'sha256:' + 'a'.repeat(64);

test('docker references as ParseNormalizedNamed reads them', () => {
  assert.deepEqual(parseDockerReference('busybox'), { registry: 'registry-1.docker.io', repository: 'library/busybox', tag: 'latest', digest: undefined, original: 'busybox' });
  assert.equal(parseDockerReference('docker.io/redis:3.2').repository, 'library/redis');
  assert.equal(parseDockerReference('docker.io/redis:3.2').tag, '3.2');
  assert.equal(parseDockerReference('quay.io/zanui/nginx').registry, 'quay.io');
  assert.equal(parseDockerReference('quay.io/zanui/nginx').repository, 'zanui/nginx');
  const local = parseDockerReference(`127.0.0.1:5000/a/b@${D}`);
  assert.equal(local.registry, '127.0.0.1:5000');
  assert.equal(local.tag, undefined);
  assert.equal(local.digest, D);
  assert.equal(parseDockerReference('localhost/x').registry, 'localhost');
  assert.equal(parseDockerReference('user/repo').repository, 'user/repo'); // no dot/colon: a path
  for (const bad of ['', 'UPPER', 'a:b:c', 'x@sha256:zz', 'a//b', '-a', 'host:5000/Repo']) {
    assert.throws(() => parseDockerReference(bad), (e: RktError) => e.code === 'EUSAGE' && /^invalid docker URL /.test(e.message), bad);
  }
});

test('docker: and oci-* arguments are classified before anything else', () => {
  assert.deepEqual(classifyImageArg('docker://busybox'), { kind: 'docker', ref: 'busybox' });
  assert.deepEqual(classifyImageArg('docker:busybox'), { kind: 'docker', ref: 'busybox' });
  assert.deepEqual(classifyImageArg('oci-layout:/x:1'), { kind: 'oci-layout', spec: '/x:1' });
  assert.deepEqual(classifyImageArg('oci-archive:a.tar'), { kind: 'oci-archive', spec: 'a.tar' });
});

test('WWW-Authenticate challenges', () => {
  const [b] = parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"');
  assert.equal(b.scheme, 'bearer');
  assert.deepEqual(b.params, { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' });
  assert.deepEqual(parseChallenges(['Basic realm="R"']), [{ scheme: 'basic', params: { realm: 'R' } }]);
  assert.deepEqual(parseChallenges(undefined), []);
});

test('manifests: media types, descriptors, platform choice', () => {
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 3 };
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 2 };
  const m = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers: [layer] })), 'application/vnd.oci.image.manifest.v1+json', 'x');
  assert.equal(m.kind, 'image');
  const err = (body: object, ct: string | undefined, re: RegExp) =>
    assert.throws(() => parseManifest(Buffer.from(JSON.stringify(body)), ct, 'x'), (e: RktError) => e.code === 'EIMAGE_FORMAT' && re.test(e.message));
  err({ mediaType: 'application/x-weird' }, undefined, /unsupported manifest media type "application\/x-weird"/);
  err({ schemaVersion: 1, fsLayers: [] }, 'application/vnd.docker.distribution.manifest.v1+prettyjws', /schema1/);
  err({ schemaVersion: 2, config, layers: [{ ...layer, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }] }, 'application/vnd.oci.image.manifest.v1+json', /unsupported layer media type/);
  err({ schemaVersion: 2, config, layers: [{ ...layer, digest: 'md5:00' }] }, 'application/vnd.oci.image.manifest.v1+json', /invalid or unsupported digest/);
  const idx = [
    { mediaType: 'x', digest: D, size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    { mediaType: 'y', digest: D, size: 2, platform: { os: 'linux', architecture: 'amd64' } },
  ];
  assert.equal(pickPlatform(idx, 'x').mediaType, 'y');
  assert.throws(() => pickPlatform(idx.slice(0, 1), 'x'), /no linux\/amd64 image in the index \(it has: linux\/arm64\)/);
});

test('image config to ACI manifest, as docker2aci', () => {
  const m = convertConfig({
    name: 'registry-1.docker.io/library/redis',
    version: '3.2',
    config: {
      architecture: 'arm64',
      os: 'linux',
      config: {
        User: 'redis',
        Env: ['A=1', 'NOEQUALS', 'B=x=y'],
        Entrypoint: ['docker-entrypoint.sh'],
        Cmd: ['redis-server'],
        WorkingDir: '/data',
        Volumes: { '/var/lib/redis': {}, '/data': {} },
        ExposedPorts: { '6379/tcp': {}, '53/udp': {} },
      },
    },
    origin: { 'appc.io/docker/repository': 'library/redis' },
  });
  assert.equal(m.name, 'registry-1.docker.io/library/redis');
  assert.deepEqual(m.labels, [
    { name: 'version', value: '3.2' },
    { name: 'os', value: 'linux' },
    { name: 'arch', value: 'aarch64' },
  ]);
  assert.deepEqual(m.app?.exec, ['docker-entrypoint.sh', 'redis-server']);
  assert.equal(m.app?.user, 'redis');
  assert.equal(m.app?.group, 'redis');
  assert.deepEqual(m.app?.environment, [
    { name: 'A', value: '1' },
    { name: 'B', value: 'x=y' },
  ]);
  assert.deepEqual(m.app?.mountPoints?.map((p) => [p.name, p.path]), [
    ['volume-data', '/data'],
    ['volume-var-lib-redis', '/var/lib/redis'],
  ]);
  assert.deepEqual(m.app?.ports?.map((p) => [p.name, p.protocol, p.port]), [
    ['53-udp', 'udp', 53],
    ['6379-tcp', 'tcp', 6379],
  ]);
  assert.equal(m.annotations?.find((a) => a.name === 'appc.io/docker/cmd')?.value, '["redis-server"]');
  const u = convertConfig({ name: '127.0.0.1:5000/x', config: { config: { User: '1000:50' } }, origin: {} });
  assert.equal(u.name, '127.0.0.1_5000/x');
  assert.equal(u.app?.user, '1000');
  assert.equal(u.app?.group, '50');
  assert.equal(u.app?.exec, undefined);
  const root = convertConfig({ name: 'x', config: {}, origin: {} });
  assert.equal(root.app?.user, '0');
  assert.equal(root.app?.group, '0');
});

test('progress lines', () => {
  assert.equal(progressLine('sha256:8ddc19f16526912237dd8af81971d5e4dd0587907234be2b83e249518d5b673f', 334_000, 668_000), 'Downloading sha256:8ddc19f1652 [==========          ] 334 KB / 668 KB');
  assert.equal(progressLine(D, 668_000, 668_000), `Downloading ${D.slice(0, 18)} [====================] 668 KB / 668 KB`);
});
