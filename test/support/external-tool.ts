import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Programs some end-to-end tests drive for real; they live in sbin on Debian, often off a user's PATH. */
export type ExternalTool = 'nginx' | 'squid' | 'tinyproxy' | 'openssl' | 'systemd-analyze';

const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

/** Absolute path of an executable `name` on PATH or in the usual sbin directories, or undefined. */
export function findTool(name: ExternalTool): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether a missing tool must fail the run instead of skipping (CI sets PARECO_REQUIRE_TOOLS=1). */
export function toolsRequired(): boolean {
  return process.env.PARECO_REQUIRE_TOOLS === '1';
}

/**
 * The reason to skip tests that need `names`, or undefined when all are installed. Meant for
 * `describe(title, { skip: missingTools('nginx') }, …)`. With PARECO_REQUIRE_TOOLS=1 a missing
 * tool throws instead, so CI can never pass by silently skipping the real-world tests.
 */
export function missingTools(...names: ExternalTool[]): string | undefined {
  const missing = names.filter((name) => findTool(name) === undefined);
  if (missing.length === 0) return undefined;
  const reason = `not installed: ${missing.join(', ')} (apt-get install ${missing.map(debianPackage).join(' ')})`;
  if (toolsRequired()) throw new Error(`PARECO_REQUIRE_TOOLS=1 but ${reason}`);
  return reason;
}

/** The path of a tool the caller checked with missingTools(); throws if it vanished meanwhile. */
export function toolPath(name: ExternalTool): string {
  const path = findTool(name);
  if (path === undefined) throw new Error(`${name} is not installed`);
  return path;
}

function debianPackage(name: ExternalTool): string {
  return { nginx: 'nginx-light', squid: 'squid', tinyproxy: 'tinyproxy', openssl: 'openssl', 'systemd-analyze': 'systemd' }[name];
}
