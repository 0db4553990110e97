/**
 * A test CA and a server certificate made by openssl at test time. rkt trusts the CA through
 * Node's NODE_EXTRA_CA_CERTS (see src/fetch/http-client.ts), set only in the rkt child's env.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

export interface TestPKI {
  caFile: string;
  keyFile: string;
  certFile: string;
  /** a certificate for the same names, self-signed (not from the CA) */
  selfSignedCertFile: string;
  selfSignedKeyFile: string;
}

export function makePKI(dir: string, names: string[]): TestPKI {
  fs.mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=rkt test CA'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=rkt test server'], dir);
  const san = 'subjectAltName=' + [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), san + '\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf'], dir);
  openssl(['req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=rkt self-signed', '-addext', san], dir);
  return {
    caFile: path.join(dir, 'ca.pem'),
    keyFile: path.join(dir, 'server.key'),
    certFile: path.join(dir, 'server.pem'),
    selfSignedCertFile: path.join(dir, 'self.pem'),
    selfSignedKeyFile: path.join(dir, 'self.key'),
  };
}
