import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from './external-tool.js';
import { tempDir } from './temp-dir.js';

const run = promisify(execFile);

/** PEM files of a private CA and of a server certificate it signed (by default for 127.0.0.1 and localhost). */
export interface TestCertificates {
  dir: string;
  /** The CA certificate: what a client passes to --ca or NODE_EXTRA_CA_CERTS. */
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/**
 * Makes a throwaway CA and a server certificate with openssl (P-256 keys: fast to generate),
 * the way an administrator with a private PKI would, so the tests exercise real verification.
 */
export async function makeTestCertificates(options: { subjectAltName?: string } = {}): Promise<TestCertificates> {
  const openssl = toolPath('openssl');
  const dir = await tempDir('pareco-tls-');
  const at = (name: string) => join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run(openssl, [
    'req', '-x509', ...key, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=Pareco Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run(openssl, ['req', '-new', ...key, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=localhost']);
  await writeFile(
    at('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${options.subjectAltName ?? 'IP:127.0.0.1,DNS:localhost'}`,
      '',
    ].join('\n'),
  );
  await run(openssl, [
    'x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
    '-out', at('server.crt'), '-days', '2', '-extfile', at('server.ext'),
  ]);
  return { dir, caCert: at('ca.crt'), serverCert: at('server.crt'), serverKey: at('server.key') };
}
