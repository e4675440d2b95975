import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../../../protocol/index.js';
import { bypassed, proxyFor, redactProxy } from '../../../src/transport/proxy-for.js';

const wss = new URL('wss://sync.example.com/pareco/v1/ws');
const ws = new URL('ws://10.1.2.3:8080/v1/ws');
const env = (vars: Record<string, string>): NodeJS.ProcessEnv => vars;

describe('proxyFor', () => {
  test('wss:// takes HTTPS_PROXY and ws:// takes HTTP_PROXY, lower case first', () => {
    const vars = env({ HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', HTTP_PROXY: 'plain:8080' });
    assert.equal(proxyFor(wss, { kind: 'env' }, vars)?.host, 'lower:3128');
    assert.equal(proxyFor(ws, { kind: 'env' }, vars)?.href, 'http://plain:8080/');
    assert.equal(proxyFor(wss, { kind: 'env' }, env({ HTTP_PROXY: 'http://p:1' })), undefined, 'HTTP_PROXY is not for wss://');
    assert.equal(proxyFor(wss, { kind: 'env' }, env({ WSS_PROXY: 'http://p:1' })), undefined);
  });

  test('ALL_PROXY is the fallback; empty values count as unset', () => {
    assert.equal(proxyFor(wss, { kind: 'env' }, env({ https_proxy: ' ', ALL_PROXY: 'http://all:1' }))?.host, 'all:1');
  });

  test('--proxy beats the environment and NO_PROXY; --no-proxy ignores both', () => {
    const vars = env({ HTTPS_PROXY: 'http://env:1', NO_PROXY: '*' });
    assert.equal(proxyFor(wss, { kind: 'url', url: 'http://u:p@explicit:3128' }, vars)?.username, 'u');
    assert.equal(proxyFor(wss, { kind: 'none' }, vars), undefined);
  });

  test('NO_PROXY exempts matching hosts', () => {
    assert.equal(proxyFor(wss, { kind: 'env' }, env({ HTTPS_PROXY: 'http://p:1', no_proxy: 'localhost,.example.com' })), undefined);
  });

  test('bad proxy URLs are usage errors naming their source', () => {
    assert.throws(() => proxyFor(wss, { kind: 'env' }, env({ HTTPS_PROXY: 'socks5://p:1080' })), { code: ErrorCode.USAGE, message: /HTTPS_PROXY.*socks5/ });
    assert.throws(() => proxyFor(wss, { kind: 'url', url: 'http://' }), { code: ErrorCode.USAGE, message: /--proxy/ });
  });
});

describe('bypassed (NO_PROXY)', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'wss://a.b/', true],
    ['example.com', 'wss://example.com/', true],
    ['example.com', 'wss://sync.example.com/', true],
    ['.example.com', 'wss://sync.example.com/', true],
    ['*.example.com', 'wss://sync.example.com/', true],
    ['example.com', 'wss://badexample.com/', false],
    ['EXAMPLE.com', 'wss://Example.COM/', true],
    ['example.com:443', 'wss://example.com/', true],
    ['example.com:8443', 'wss://example.com/', false],
    ['example.com:8443', 'wss://example.com:8443/', true],
    ['10.1.2.3', 'ws://10.1.2.3:8080/', true],
    ['10.1.2.3:8080', 'ws://10.1.2.3:8080/', true],
    ['2.3', 'ws://10.1.2.3/', false],
    ['::1', 'ws://[::1]:80/', true],
    ['[::1]:80', 'ws://[::1]/', true],
    ['a.com, b.com  c.com', 'wss://c.com/', true],
    ['', 'wss://c.com/', false],
  ];
  for (const [noProxy, target, expected] of cases) {
    test(`${JSON.stringify(noProxy)} ${expected ? 'exempts' : 'does not exempt'} ${target}`, () => {
      assert.equal(bypassed(new URL(target), noProxy), expected);
    });
  }
});

test('redactProxy hides the password only', () => {
  assert.equal(redactProxy('http://alice:s3cret@proxy:3128'), 'http://alice:***@proxy:3128');
  assert.equal(redactProxy(new URL('http://proxy:3128')), 'http://proxy:3128');
  assert.equal(redactProxy('not a url://bob:pw@x'), 'not a url://bob:***@x');
});
