import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RktError } from '../../src/errors';
import { parsePodManifest, serializePodManifest } from '../../src/schema/pod-manifest';

const ID = 'sha512-' + '0123456789abcdef'.repeat(4);

function pod(): Record<string, any> {
  return {
    acVersion: '1.30.0',
    acKind: 'PodManifest',
    apps: [
      {
        name: 'reduce-worker',
        image: { name: 'example.com/reduce-worker', id: ID, labels: [{ name: 'version', value: '1.0.0' }] },
        app: {
          exec: ['/bin/reduce-worker'],
          user: '0',
          group: '0',
          ports: [{ name: 'http', protocol: 'tcp', port: 80 }],
          isolators: [{ name: 'resource/memory', value: { limit: '1G' } }],
        },
        readOnlyRootFS: true,
        mounts: [
          { volume: 'work', path: '/var/lib/work' },
          { volume: 'inline', path: '/inline', appVolume: { name: 'inline', kind: 'empty' } },
        ],
        annotations: [{ name: 'coreos.com/rkt/stage1/stdin', value: 'interactive' }],
      },
      { name: 'backup', image: { id: ID } },
    ],
    volumes: [
      { name: 'work', kind: 'host', source: '/opt/work', readOnly: true, recursive: false },
      { name: 'scratch', kind: 'empty', mode: '0700', uid: 1000 },
    ],
    isolators: [
      { name: 'os/unix/sysctl', value: { 'net.ipv4.ip_forward': '1' } },
      { name: 'vendor.com/custom', value: 42 },
    ],
    annotations: [{ name: 'coreos.com/rkt/stage1/mutable', value: 'false' }],
    ports: [{ name: 'http', hostPort: 8080, hostIP: '127.0.0.1' }],
    userAnnotations: { owner: 'ops' },
    userLabels: { tier: 'backend' },
  };
}

function rejects(mutate: (m: Record<string, any>) => void, message: string): void {
  const m = pod();
  mutate(m);
  assert.throws(
    () => parsePodManifest(JSON.stringify(m)),
    (e: unknown) => {
      assert.ok(e instanceof RktError);
      assert.equal(e.code, 'EMANIFEST');
      assert.equal(e.message, message);
      return true;
    },
  );
}

describe('pod manifests', () => {
  test('a full pod manifest parses, with empty-volume defaults', () => {
    const pm = parsePodManifest(JSON.stringify(pod()));
    assert.equal(pm.apps.length, 2);
    assert.equal(pm.apps[0].image.id, ID);
    assert.equal(pm.apps[0].app?.ports?.[0].count, 1);
    assert.equal(pm.apps[1].app, undefined);
    assert.deepEqual(pm.volumes[1], { name: 'scratch', kind: 'empty', mode: '0700', uid: 1000, gid: 0 });
    assert.deepEqual(pm.apps[0].mounts?.[1].appVolume, { name: 'inline', kind: 'empty', mode: '0755', uid: 0, gid: 0 });
    assert.equal(pm.isolators.length, 2, 'unknown pod isolators are kept');
    assert.equal(pm.ports[0].hostIP, '127.0.0.1');
    assert.deepEqual(pm.userLabels, { tier: 'backend' });
  });

  test('serialization emits empty pod-level lists as null, like Go', () => {
    const pm = parsePodManifest('{"acVersion":"1.30.0","acKind":"PodManifest","apps":[]}');
    assert.equal(
      serializePodManifest(pm),
      '{"acVersion":"1.30.0","acKind":"PodManifest","apps":[],"volumes":null,"isolators":null,"annotations":null,"ports":null}',
    );
    const round = parsePodManifest(serializePodManifest(parsePodManifest(JSON.stringify(pod()))));
    assert.deepEqual(round, parsePodManifest(JSON.stringify(pod())));
  });

  test('kind and version', () => {
    rejects((m) => (m.acKind = 'ImageManifest'), 'invalid pod manifest: acKind: missing or bad ACKind (must be "PodManifest")');
    rejects((m) => delete m.acVersion, 'invalid pod manifest: acVersion must be set');
    rejects((m) => (m.acVersion = '0.0.0'), 'invalid pod manifest: acVersion: SemVer cannot be zero');
    assert.throws(() => parsePodManifest('{'), (e: unknown) => e instanceof RktError && /^invalid pod manifest: /.test(e.message));
  });

  test('apps', () => {
    rejects((m) => (m.apps[1].name = 'reduce-worker'), 'invalid pod manifest: apps: duplicate apps of name "reduce-worker"');
    rejects((m) => (m.apps[1].name = 'Backup'), 'invalid pod manifest: apps[1].name: "Backup" is not a valid AC Name');
    rejects((m) => delete m.apps[1].name, 'invalid pod manifest: apps[1].name must be set');
    rejects((m) => (m.apps[1].image.id = 'sha256-00'), 'invalid pod manifest: apps[1].image.id: "sha256-00" is not a valid image ID (unrecognized hash type: sha256)');
    rejects((m) => (m.apps[0].image.name = 'Example'), 'invalid pod manifest: apps[0].image.name: "Example" is not a valid AC Identifier');
    rejects((m) => delete m.apps[0].app.user, 'invalid pod manifest: apps[0].app.user is required');
    rejects((m) => delete m.apps[0].mounts[0].path, 'invalid pod manifest: apps[0].mounts[0].path must be set');
    rejects((m) => (m.apps[0].mounts[0].volume = 'Work'), 'invalid pod manifest: apps[0].mounts[0].volume: "Work" is not a valid AC Name');
    rejects((m) => m.apps[0].annotations.push({ name: 'coreos.com/rkt/stage1/stdin', value: 'x' }), 'invalid pod manifest: apps[0].annotations: duplicate annotations of name "coreos.com/rkt/stage1/stdin"');
  });

  test('volumes', () => {
    rejects((m) => m.volumes.push({ name: 'work', kind: 'empty' }), 'invalid pod manifest: volumes: duplicate volume name "work"');
    rejects((m) => (m.volumes[0].source = 'opt/work'), 'invalid pod manifest: volumes[0]: source for host volume must be absolute path');
    rejects((m) => delete m.volumes[0].source, 'invalid pod manifest: volumes[0]: source for host volume cannot be empty');
    rejects((m) => (m.volumes[0].mode = '0755'), 'invalid pod manifest: volumes[0]: mode for host volume cannot be set');
    rejects((m) => (m.volumes[0].uid = 0), 'invalid pod manifest: volumes[0]: uid for host volume cannot be set');
    rejects((m) => (m.volumes[1].source = '/x'), 'invalid pod manifest: volumes[1]: source for empty volume must be empty');
    rejects((m) => (m.volumes[1].kind = 'tmpfs'), 'invalid pod manifest: volumes[1].kind: unrecognized volume kind: should be one of "empty", "host"');
    rejects((m) => (m.volumes[1].name = 'a_b'), 'invalid pod manifest: volumes[1].name: "a_b" is not a valid AC Name');
  });

  test('pod isolators and ports', () => {
    rejects((m) => (m.isolators[0].value = { a: 1 }), 'invalid pod manifest: isolators[0].value.a: must be a string, got number');
    rejects((m) => (m.ports[0].hostIP = '300.1.1.1'), 'invalid pod manifest: ports[0].hostIP: invalid IP address "300.1.1.1"');
    rejects((m) => (m.ports[0].hostPort = 70000), 'invalid pod manifest: ports[0].hostPort: must be an integer between 0 and 65535, got 70000');
    rejects((m) => (m.ports[0].podPort = { name: 'http', protocol: 'tcp', port: 0 }), 'invalid pod manifest: ports[0].podPort.port must be in 1-65535 range');
  });
});
