import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RktError } from '../../src/errors';
import {
  parseImageManifest,
  validateImageManifest,
  labelsOf,
  versionOf,
  annotationOf,
  ImageManifest,
} from '../../src/schema/image-manifest';
import { isolatorValue, ResourceValue, SeccompValue } from '../../src/schema/isolators';
import { quantityMilliValue, quantityValue } from '../../src/schema/types';

/** A realistic manifest using every field. */
function full(): Record<string, any> {
  return {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name: 'example.com/reduce-worker',
    labels: [
      { name: 'version', value: '1.0.0' },
      { name: 'arch', value: 'amd64' },
      { name: 'os', value: 'linux' },
    ],
    app: {
      exec: ['/usr/bin/reduce-worker', '--quiet'],
      user: '100',
      group: '300',
      supplementaryGIDs: [400, 500],
      eventHandlers: [
        { exec: ['/usr/bin/data-downloader'], name: 'pre-start' },
        { exec: ['/usr/bin/deregister-worker', '--verbose'], name: 'post-stop' },
      ],
      workingDirectory: '/opt/work',
      environment: [
        { name: 'REDUCE_WORKER_DEBUG', value: 'true' },
        { name: 'my.var-1', value: 'x' },
      ],
      isolators: [
        { name: 'resource/cpu', value: { request: '250m', limit: '500m' } },
        { name: 'resource/memory', value: { request: '1G', limit: '2Gi' } },
        { name: 'resource/block-bandwidth', value: { default: true, limit: '1M' } },
        { name: 'resource/block-iops', value: { default: true, limit: 1000 } },
        { name: 'resource/network-bandwidth', value: { default: true, limit: '1Gi' } },
        { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'] } },
        { name: 'os/linux/seccomp-remove-set', value: { set: ['@docker/default-blacklist', 'reboot'], errno: 'ENOTSUP' } },
        { name: 'os/linux/no-new-privileges', value: true },
        { name: 'os/linux/oom-score-adj', value: -500 },
        { name: 'os/linux/cpu-shares', value: 2048 },
        { name: 'os/linux/selinux-context', value: { user: 'system_u', role: 'system_r', type: 'svirt_lxc_net_t', level: 's0:c1,c2' } },
        { name: 'os/linux/apparmor-profile', value: { profile: 'docker-default' } },
        { name: 'os/unix/sysctl', value: { 'net.ipv4.tcp_mtu_probing': '1' } },
      ],
      mountPoints: [
        { name: 'work', path: '/var/lib/work', readOnly: false },
        { name: 'config', path: '/etc/reduce', readOnly: true },
      ],
      ports: [
        { name: 'health', port: 4000, protocol: 'tcp', socketActivated: true },
        { name: 'range', port: 5000, protocol: 'udp', count: 10 },
        { name: 'top', port: 65535, protocol: 'tcp', count: 1 },
      ],
      userAnnotations: { 'irc-channel': '#reduce' },
      userLabels: { team: 'data' },
    },
    annotations: [
      { name: 'authors', value: 'Carly Container <carly@example.com>' },
      { name: 'created', value: '2014-10-27T19:32:58Z' },
      { name: 'documentation', value: 'https://example.com/docs' },
      { name: 'homepage', value: 'https://example.com' },
      { name: 'appc.io/executor/supports-systemd-notify', value: 'true' },
    ],
    dependencies: [
      {
        imageName: 'example.com/reduce-worker-base',
        imageID: 'sha512-' + 'a'.repeat(128),
        labels: [
          { name: 'os', value: 'linux' },
          { name: 'env', value: 'canary' },
        ],
        size: 1024,
      },
      { imageName: 'example.com/other' },
    ],
    pathWhitelist: ['/etc/ca/example.com/crt', '/usr/bin/map-reduce-worker', '/opt/libs/reduce-toolkit.so'],
  };
}

function errOf(m: unknown): RktError {
  try {
    parseImageManifest(typeof m === 'string' ? m : JSON.stringify(m));
  } catch (e) {
    assert.ok(e instanceof RktError, `not an RktError: ${e}`);
    assert.equal(e.code, 'EMANIFEST');
    assert.equal(e.exitCode, 254);
    return e;
  }
  assert.fail('manifest was accepted');
}

function rejects(mutate: (m: Record<string, any>) => void, message: string): void {
  const m = full();
  mutate(m);
  assert.equal(errOf(m).message, message);
}

describe('valid image manifests', () => {
  test('a realistic manifest with every field parses', () => {
    const m = parseImageManifest(JSON.stringify(full()));
    assert.equal(m.acKind, 'ImageManifest');
    assert.equal(m.name, 'example.com/reduce-worker');
    assert.equal(m.app?.user, '100');
    assert.deepEqual(m.app?.supplementaryGIDs, [400, 500]);
    assert.equal(m.app?.isolators?.length, 13);
    assert.equal(m.app?.ports?.[0].count, 1, 'count defaults to 1');
    assert.equal(m.app?.ports?.[1].count, 10);
    assert.equal(m.dependencies?.[0].labels?.length, 2);
    assert.equal(m.pathWhitelist?.length, 3);
    assert.equal(versionOf(m), '1.0.0');
    assert.deepEqual(labelsOf(m), new Map([['version', '1.0.0'], ['arch', 'amd64'], ['os', 'linux']]));
    assert.equal(annotationOf(m, 'homepage'), 'https://example.com');
  });

  test('a Buffer is accepted', () => {
    assert.equal(parseImageManifest(Buffer.from(JSON.stringify(full()))).name, 'example.com/reduce-worker');
  });

  test('minimal manifest: no app, no labels', () => {
    const m = parseImageManifest('{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/x"}');
    assert.deepEqual(m, { acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/x' });
    assert.equal(versionOf(m), undefined);
  });

  test('re-marshalling keeps known fields in Go order and drops unknown ones', () => {
    const src = full();
    src.unknownField = 1;
    src.app.somethingElse = true;
    const m = parseImageManifest(JSON.stringify(src));
    assert.deepEqual(Object.keys(m), ['acKind', 'acVersion', 'name', 'labels', 'app', 'annotations', 'dependencies', 'pathWhitelist']);
    assert.deepEqual(Object.keys(m.app!), [
      'exec', 'eventHandlers', 'user', 'group', 'supplementaryGIDs', 'workingDirectory', 'environment',
      'mountPoints', 'ports', 'isolators', 'userAnnotations', 'userLabels',
    ]);
    const again = parseImageManifest(JSON.stringify(m));
    assert.deepEqual(again, m);
  });

  test('keys match case-insensitively like Go (spec example spells supplementaryGids)', () => {
    const src = full();
    delete src.app.supplementaryGIDs;
    src.app.supplementaryGids = [7];
    assert.deepEqual(parseImageManifest(JSON.stringify(src)).app?.supplementaryGIDs, [7]);
  });

  test('null fields count as absent, environment defaults to []', () => {
    const m = parseImageManifest(
      '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","labels":null,"app":{"user":"0","group":"0","exec":null}}',
    );
    assert.equal(m.labels, undefined);
    assert.deepEqual(m.app, { user: '0', group: '0', environment: [] });
  });

  test('code-accepted oddities: consecutive separators in identifiers, relative exec, pre-release 0.0.0', () => {
    const src = full();
    src.name = 'example.com//a..b';
    src.app.exec = ['sh', '-c', 'true'];
    src.acVersion = '0.0.0-alpha';
    assert.equal(parseImageManifest(JSON.stringify(src)).name, 'example.com//a..b');
  });

  test('capability sets of the same type may repeat; typed isolator values', () => {
    const src = full();
    src.app.isolators = [
      { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_KILL'] } },
      { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN'] } },
      { name: 'resource/cpu', value: { request: '30m', limit: 1 } },
      { name: 'resource/memory', value: { request: '1G', limit: '2Gi' } },
      { name: 'os/linux/seccomp-retain-set', value: { set: ['@appc.io/all'], errno: 'E2BIG' } },
    ];
    const m = parseImageManifest(JSON.stringify(src));
    const cpu = isolatorValue(m.app!.isolators![2]) as ResourceValue;
    assert.equal(quantityMilliValue(cpu.request!), 30);
    assert.equal(quantityMilliValue(cpu.limit!), 1000);
    const mem = isolatorValue(m.app!.isolators![3]) as ResourceValue;
    assert.equal(quantityValue(mem.request!), 1_000_000_000);
    assert.equal(quantityValue(mem.limit!), 2147483648);
    assert.deepEqual(isolatorValue(m.app!.isolators![4]) as SeccompValue, { set: ['@appc.io/all'], errno: 'E2BIG' });
  });

  test('validateImageManifest takes decoded JSON', () => {
    const m: ImageManifest = validateImageManifest(full());
    assert.equal(m.name, 'example.com/reduce-worker');
  });
});

describe('invalid image manifests name the field', () => {
  test('invalid JSON', () => {
    assert.match(errOf('{"acKind": ').message, /^invalid manifest: .*JSON/);
    assert.equal(errOf('[]').message, 'invalid manifest: must be an object, got array');
  });

  test('wrong or missing acKind', () => {
    rejects((m) => (m.acKind = 'PodManifest'), 'invalid manifest: acKind: missing or bad ACKind (must be "ImageManifest")');
    rejects((m) => delete m.acKind, 'invalid manifest: acKind: missing or bad ACKind (must be "ImageManifest")');
  });

  test('acVersion: missing, bad, zero', () => {
    rejects((m) => delete m.acVersion, 'invalid manifest: acVersion must be set');
    rejects((m) => (m.acVersion = '1.2'), 'invalid manifest: acVersion: "1.2" is not a valid semantic version');
    rejects((m) => (m.acVersion = '0.0.0'), 'invalid manifest: acVersion: SemVer cannot be zero');
  });

  test('bad name', () => {
    rejects((m) => (m.name = 'Foo'), 'invalid manifest: name: "Foo" is not a valid AC Identifier');
    rejects((m) => (m.name = '-foo'), 'invalid manifest: name: "-foo" is not a valid AC Identifier');
    rejects((m) => (m.name = 'foo bar'), 'invalid manifest: name: "foo bar" is not a valid AC Identifier');
    rejects((m) => delete m.name, 'invalid manifest: name must be set');
    rejects((m) => (m.name = 42), 'invalid manifest: name: must be a string, got number');
  });

  test('bad label name', () => {
    rejects((m) => (m.labels[1].name = 'Arch'), 'invalid manifest: labels[1].name: "Arch" is not a valid AC Identifier');
  });

  test('duplicate label', () => {
    rejects((m) => m.labels.push({ name: 'version', value: '2' }), 'invalid manifest: labels: duplicate label name "version"');
  });

  test('label called "name"', () => {
    rejects((m) => m.labels.push({ name: 'name', value: 'x' }), 'invalid manifest: labels: invalid label name: "name"');
  });

  test('bad os / arch', () => {
    rejects(
      (m) => (m.labels[2].value = 'plan9'),
      'invalid manifest: labels: bad os "plan9" (must be one of: [darwin freebsd linux])',
    );
    rejects(
      (m) => (m.labels[1].value = 'sparc'),
      'invalid manifest: labels: bad arch "sparc" for linux (must be one of: [amd64 i386 aarch64 aarch64_be armv6l armv7l armv7b ppc64 ppc64le s390x])',
    );
    // arch without os is not checked
    const m = full();
    m.labels = [{ name: 'arch', value: 'sparc' }];
    assert.doesNotThrow(() => parseImageManifest(JSON.stringify(m)));
  });

  test('missing user / group', () => {
    rejects((m) => delete m.app.user, 'invalid manifest: app.user is required');
    rejects((m) => (m.app.user = ''), 'invalid manifest: app.user is required');
    rejects((m) => delete m.app.group, 'invalid manifest: app.group is required');
  });

  test('relative workingDirectory', () => {
    rejects((m) => (m.app.workingDirectory = 'opt/work'), 'invalid manifest: app.workingDirectory must be an absolute path');
  });

  test('bad environment variable name, duplicate variable', () => {
    rejects(
      (m) => (m.app.environment[1].name = '0DEBUG'),
      'invalid manifest: app.environment[1].name: "0DEBUG" is not a valid environment variable name',
    );
    rejects(
      (m) => (m.app.environment[1].name = 'A|B'),
      'invalid manifest: app.environment[1].name: "A|B" is not a valid environment variable name',
    );
    rejects(
      (m) => m.app.environment.push({ name: 'REDUCE_WORKER_DEBUG', value: 'x' }),
      'invalid manifest: app.environment: duplicate environment variable of name "REDUCE_WORKER_DEBUG"',
    );
  });

  test('ports out of range', () => {
    rejects((m) => (m.app.ports[0].port = 0), 'invalid manifest: app.ports[0].port must be in 1-65535 range');
    rejects((m) => (m.app.ports[0].port = 70000), 'invalid manifest: app.ports[0].port must be in 1-65535 range');
    rejects((m) => delete m.app.ports[0].port, 'invalid manifest: app.ports[0].port must be in 1-65535 range');
    rejects((m) => (m.app.ports[0].port = -1), 'invalid manifest: app.ports[0].port: must be an integer between 0 and 9007199254740991, got -1');
    rejects((m) => (m.app.ports[0].name = 'Health'), 'invalid manifest: app.ports[0].name: "Health" is not a valid AC Name');
    rejects((m) => delete m.app.ports[0].protocol, 'invalid manifest: app.ports[0].protocol must be set');
  });

  test('port + count overflow', () => {
    rejects((m) => (m.app.ports[2].count = 2), 'invalid manifest: app.ports[2]: end of port range must be in 1-65535 range');
    rejects((m) => (m.app.ports[1].count = 60537), 'invalid manifest: app.ports[1]: end of port range must be in 1-65535 range');
  });

  test('two pre-start handlers', () => {
    rejects(
      (m) => m.app.eventHandlers.push({ name: 'pre-start', exec: ['/bin/true'] }),
      'invalid manifest: app.eventHandlers: Only one eventHandler of name "pre-start" allowed',
    );
  });

  test('mount points', () => {
    rejects((m) => (m.app.mountPoints[0].name = 'Work'), 'invalid manifest: app.mountPoints[0].name: "Work" is not a valid AC Name');
    rejects((m) => (m.app.mountPoints[0].name = 'a.b'), 'invalid manifest: app.mountPoints[0].name: "a.b" is not a valid AC Name');
    rejects((m) => delete m.app.mountPoints[1].path, 'invalid manifest: app.mountPoints[1].path must be set');
  });

  test('bad isolator values', () => {
    const iso = (name: string, value: unknown) => (m: Record<string, any>) => (m.app.isolators = [{ name, value }]);
    rejects(iso('resource/cpu', { default: true, limit: '1' }), 'invalid manifest: app.isolators[0].value: default must be false');
    rejects(iso('resource/memory', { default: true }), 'invalid manifest: app.isolators[0].value: default must be false');
    rejects(iso('resource/block-bandwidth', { limit: '1G' }), 'invalid manifest: app.isolators[0].value: default must be true');
    rejects(
      iso('resource/block-iops', { default: true, request: '30G', limit: '1G' }),
      'invalid manifest: app.isolators[0].value: request not supported by this resource, must be empty',
    );
    rejects(iso('resource/network-bandwidth', { default: false, limit: '1G' }), 'invalid manifest: app.isolators[0].value: default must be true');
    rejects(iso('os/linux/capabilities-retain-set', { set: [] }), 'invalid manifest: app.isolators[0].value: set must be non-empty');
    rejects(iso('os/linux/capabilities-remove-set', { set: 'CAP_KILL' }), 'invalid manifest: app.isolators[0].value.set: must be an array, got string');
    rejects(iso('os/linux/seccomp-retain-set', { set: [] }), 'invalid manifest: app.isolators[0].value: set must be non-empty');
    rejects(
      iso('os/linux/seccomp-remove-set', { set: ['reboot'], errno: 'eperm' }),
      'invalid manifest: app.isolators[0].value.errno: "eperm" must be an upper case errno name starting with "E"',
    );
    rejects(iso('os/linux/no-new-privileges', 123), 'invalid manifest: app.isolators[0].value: must be a boolean, got number');
    rejects(
      iso('os/linux/oom-score-adj', -2500),
      'invalid manifest: app.isolators[0].value: os/linux/oom-score-adj must be between -1000 and 1000, got -2500',
    );
    rejects(iso('os/linux/oom-score-adj', 'pants'), 'invalid manifest: app.isolators[0].value: must be an integer, got "pants"');
    rejects(
      iso('os/linux/cpu-shares', 1),
      'invalid manifest: app.isolators[0].value: os/linux/cpu-shares must be between 2 and 262144, got 1',
    );
    rejects(iso('os/linux/cpu-shares', '262145'), 'invalid manifest: app.isolators[0].value: must be an integer, got "262145"');
    rejects(
      iso('os/linux/selinux-context', { user: 'u', role: 'role_r:type_t', type: 't', level: 's0' }),
      'invalid manifest: app.isolators[0].value: invalid role value "role_r:type_t"',
    );
    rejects(
      iso('os/linux/selinux-context', { user: 'u', role: 'r', type: 't', level: '' }),
      'invalid manifest: app.isolators[0].value: invalid level value ""',
    );
    rejects(iso('os/linux/apparmor-profile', {}), 'invalid manifest: app.isolators[0].value: profile must be set');
    rejects(iso('os/unix/sysctl', { 'net.ipv4.tcp_rfc1337': 1 }), 'invalid manifest: app.isolators[0].value.net.ipv4.tcp_rfc1337: must be a string, got number');
    rejects(iso('resource/cpu', undefined), 'invalid manifest: app.isolators[0].value must be set');
    rejects((m) => (m.app.isolators = [{ name: 'Resource/CPU', value: {} }]), 'invalid manifest: app.isolators[0].name: "Resource/CPU" is not a valid AC Identifier');
  });

  test('bad quantities', () => {
    const cpu = (limit: unknown) => (m: Record<string, any>) => (m.app.isolators = [{ name: 'resource/cpu', value: { limit } }]);
    rejects(cpu('1X'), `invalid manifest: app.isolators[0].value.limit: "1X" is not a valid quantity (quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$')`);
    rejects(cpu('1Gb'), `invalid manifest: app.isolators[0].value.limit: "1Gb" is not a valid quantity (quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$')`);
    rejects(cpu('1mi'), 'invalid manifest: app.isolators[0].value.limit: "1mi" is not a valid quantity (unable to parse quantity\'s suffix)');
    rejects(cpu('1.2.3'), 'invalid manifest: app.isolators[0].value.limit: "1.2.3" is not a valid quantity (unable to parse quantity\'s numeric part)');
    rejects(cpu(''), `invalid manifest: app.isolators[0].value.limit: "" is not a valid quantity (quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$')`);
    rejects(cpu('-1'), 'invalid manifest: app.isolators[0].value.limit: "-1" must not be negative');
    rejects(cpu(true), 'invalid manifest: app.isolators[0].value.limit: must be a quantity string');
  });

  test('conflicting capability sets', () => {
    rejects(
      (m) =>
        (m.app.isolators = [
          { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_KILL'] } },
          { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_CHOWN'] } },
        ]),
      'invalid manifest: app.isolators: isolators set contains incompatible types',
    );
  });

  test('conflicting seccomp sets, repeated single-instance isolator', () => {
    rejects(
      (m) =>
        (m.app.isolators = [
          { name: 'os/linux/seccomp-remove-set', value: { set: ['reboot'] } },
          { name: 'os/linux/seccomp-retain-set', value: { set: ['@appc.io/all'] } },
        ]),
      'invalid manifest: app.isolators: isolators set contains incompatible types',
    );
    rejects(
      (m) =>
        (m.app.isolators = [
          { name: 'os/linux/oom-score-adj', value: 1 },
          { name: 'os/linux/oom-score-adj', value: 2 },
        ]),
      'invalid manifest: app.isolators: isolators set contains too many instances of type os/linux/oom-score-adj',
    );
  });

  test('unknown isolator', () => {
    rejects(
      (m) => m.app.isolators.push({ name: 'resource/network-ponies', value: 0 }),
      'invalid manifest: app.isolators[13]: invalid isolator: unknown isolator name "resource/network-ponies"',
    );
  });

  test('annotations', () => {
    rejects((m) => m.annotations.push({ name: 'authors', value: 'x' }), 'invalid manifest: annotations: duplicate annotations of name "authors"');
    rejects((m) => (m.annotations[0].name = 'Authors'), 'invalid manifest: annotations[0].name: "Authors" is not a valid AC Identifier');
    rejects((m) => (m.annotations[1].value = 'yesterday'), 'invalid manifest: annotations: bad Date: "yesterday" is not an RFC 3339 timestamp');
    rejects((m) => (m.annotations[3].value = 'ftp://example.com'), 'invalid manifest: annotations: homepage: bad URL scheme, must be http/https');
  });

  test('bad dependency imageID and imageName', () => {
    rejects(
      (m) => (m.dependencies[0].imageID = 'sha256-abcd'),
      'invalid manifest: dependencies[0].imageID: "sha256-abcd" is not a valid image ID (unrecognized hash type: sha256)',
    );
    rejects(
      (m) => (m.dependencies[0].imageID = 'sha512abcd'),
      'invalid manifest: dependencies[0].imageID: "sha512abcd" is not a valid image ID (badly formatted hash string)',
    );
    rejects(
      (m) => (m.dependencies[0].imageID = 'sha512-'),
      'invalid manifest: dependencies[0].imageID: "sha512-" is not a valid image ID (unexpected empty hash value)',
    );
    rejects(
      (m) => (m.dependencies[0].imageID = 'sha512-xyz'),
      'invalid manifest: dependencies[0].imageID: "sha512-xyz" is not a valid image ID (hash value must be hexadecimal)',
    );
    rejects((m) => delete m.dependencies[1].imageName, 'invalid manifest: dependencies[1].imageName must be set');
    rejects((m) => (m.dependencies[0].labels[0].value = 'beos'), 'invalid manifest: dependencies[0].labels: bad os "beos" (must be one of: [darwin freebsd linux])');
    rejects((m) => (m.dependencies[0].size = -1), 'invalid manifest: dependencies[0].size: must be an integer between 0 and 9007199254740991, got -1');
  });

  test('relative pathWhitelist entry', () => {
    rejects((m) => (m.pathWhitelist[1] = 'usr/bin/x'), 'invalid manifest: pathWhitelist[1]: "usr/bin/x" must be an absolute path');
  });

  test('type errors name the field', () => {
    rejects((m) => (m.app.exec = '/bin/sh'), 'invalid manifest: app.exec: must be an array, got string');
    rejects((m) => (m.app.supplementaryGIDs = [1.5]), 'invalid manifest: app.supplementaryGIDs[0]: must be an integer, got number');
    rejects((m) => (m.app.userLabels = { a: 1 }), 'invalid manifest: app.userLabels.a: must be a string, got number');
    rejects((m) => (m.app = []), 'invalid manifest: app: must be an object, got array');
  });
});
