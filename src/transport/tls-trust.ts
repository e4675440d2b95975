import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ErrorCode, ParecoError } from '../../protocol/index.js';

/** How a wss:// lane checks the server's certificate. */
export interface TlsTrust {
  /** Certificates to trust instead of Node's default store (which it then includes). */
  ca?: string[];
  /** False only with --insecure. */
  rejectUnauthorized: boolean;
  /** The --ca file, to name in errors. */
  caFile?: string;
}

/**
 * The trust for wss:// lanes. `--ca FILE` adds a private CA to the public ones Node trusts, and
 * to NODE_EXTRA_CA_CERTS (which Node drops once a connection names its own CAs). `--insecure`
 * turns verification off.
 */
export function tlsTrust(options: { caFile?: string; insecure?: boolean }, env: NodeJS.ProcessEnv = process.env): TlsTrust {
  if (options.insecure) return { rejectUnauthorized: false };
  if (options.caFile === undefined) return { rejectUnauthorized: true };
  const ca = [...rootCertificates, readCertificates(options.caFile, '--ca')];
  const extra = env.NODE_EXTRA_CA_CERTS;
  if (extra) {
    try {
      ca.push(readCertificates(extra, 'NODE_EXTRA_CA_CERTS'));
    } catch {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; so do we, by ignoring it.
    }
  }
  return { ca, rejectUnauthorized: true, caFile: options.caFile };
}

function readCertificates(file: string, source: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ParecoError(ErrorCode.USAGE, `${source}: cannot read ${file} (${code})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ParecoError(ErrorCode.USAGE, `${source}: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return text;
}
