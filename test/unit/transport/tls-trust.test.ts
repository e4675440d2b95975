import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { rootCertificates } from 'node:tls';
import { ErrorCode } from '../../../protocol/index.js';
import { tlsTrust } from '../../../src/transport/tls-trust.js';
import { tempDir } from '../../support/temp-dir.js';

// Any PEM certificate will do to check how files are combined (Node's first public root).
const pem = rootCertificates[0]!;

test('default: Node trust store, verified; --insecure: not verified', () => {
  assert.deepEqual(tlsTrust({}, {}), { rejectUnauthorized: true });
  assert.deepEqual(tlsTrust({ insecure: true, caFile: '/nonexistent' }, {}), { rejectUnauthorized: false });
});

test('--ca adds to the public roots and keeps NODE_EXTRA_CA_CERTS', async () => {
  const dir = await tempDir();
  const ca = join(dir, 'ca.pem');
  const extra = join(dir, 'extra.pem');
  await writeFile(ca, `${pem}\n`);
  await writeFile(extra, `${pem}\n# extra\n`);
  const trust = tlsTrust({ caFile: ca }, { NODE_EXTRA_CA_CERTS: extra });
  assert.equal(trust.rejectUnauthorized, true);
  assert.equal(trust.caFile, ca);
  assert.equal(trust.ca!.length, rootCertificates.length + 2);
  assert.ok(trust.ca!.at(-1)!.endsWith('# extra\n'));
  // An unreadable NODE_EXTRA_CA_CERTS is ignored, as Node itself does.
  assert.equal(tlsTrust({ caFile: ca }, { NODE_EXTRA_CA_CERTS: join(dir, 'missing') }).ca!.length, rootCertificates.length + 1);
});

test('--ca that is missing or not PEM is a usage error', async () => {
  const dir = await tempDir();
  const notPem = join(dir, 'key.txt');
  await writeFile(notPem, 'hello');
  assert.throws(() => tlsTrust({ caFile: join(dir, 'none.pem') }, {}), { code: ErrorCode.USAGE, message: /--ca: cannot read .*ENOENT/ });
  assert.throws(() => tlsTrust({ caFile: notPem }, {}), { code: ErrorCode.USAGE, message: /no PEM certificate/ });
});
