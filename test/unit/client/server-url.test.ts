import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, ParecoError } from '../../../protocol/errors.js';
import { toWebSocketUrl, withRoute } from '../../../src/client/server-url.js';

describe('toWebSocketUrl', () => {
  const cases: [string, string][] = [
    ['http://host:8080', 'ws://host:8080/v1/ws'],
    ['https://host:8443', 'wss://host:8443/v1/ws'],
    ['ws://host:8080', 'ws://host:8080/v1/ws'],
    ['wss://host', 'wss://host/v1/ws'],
    ['HTTP://Host:1', 'ws://host:1/v1/ws'],
    ['host:1234', 'ws://host:1234/v1/ws'],
    ['localhost', 'ws://localhost/v1/ws'],
    ['127.0.0.1:9000', 'ws://127.0.0.1:9000/v1/ws'],
    ['[::1]:9000', 'ws://[::1]:9000/v1/ws'],
    ['http://host', 'ws://host/v1/ws'],
    ['http://host/', 'ws://host/v1/ws'],
    ['http://host//', 'ws://host/v1/ws'],
    ['http://host/pareco', 'ws://host/pareco/v1/ws'],
    ['http://host/pareco/', 'ws://host/pareco/v1/ws'],
    ['https://host:443/a/b/pareco///', 'wss://host/a/b/pareco/v1/ws'],
    ['host:1234/pareco', 'ws://host:1234/pareco/v1/ws'],
    ['http://host/v1/ws', 'ws://host/v1/ws'],
    ['http://host/v1/ws/', 'ws://host/v1/ws'],
    ['wss://host/pareco/v1/ws', 'wss://host/pareco/v1/ws'],
    ['http://host/pareco/v1/ws/', 'ws://host/pareco/v1/ws'],
    ['http://host/x/v1/wsx', 'ws://host/x/v1/wsx/v1/ws'],
    ['http://host/myv1/ws', 'ws://host/myv1/ws/v1/ws'],
    ['http://host:80/?q=1#frag', 'ws://host/v1/ws'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(toWebSocketUrl(input), expected));
  }

  test('the result is idempotent', () => {
    for (const [input] of cases) {
      const once = toWebSocketUrl(input);
      assert.equal(toWebSocketUrl(once), once, input);
    }
  });

  const invalid = ['ftp://x', 'file:///tmp/x', 'http://', 'https://', 'ws://', '::::', 'http://host:99999', 'http://ho st', ''];
  for (const input of invalid) {
    test(`${JSON.stringify(input)} is a USAGE error`, () => {
      assert.throws(
        () => toWebSocketUrl(input),
        (error: unknown) => {
          assert.ok(error instanceof ParecoError, `expected a ParecoError, got ${String(error)}`);
          assert.equal(error.code, ErrorCode.USAGE);
          return true;
        },
      );
    });
  }
});

test('withRoute adds the same route key to the lane URL, keeping its path', () => {
  const url = withRoute(toWebSocketUrl('https://host/pareco'), 'k3y-_');
  assert.equal(url, 'wss://host/pareco/v1/ws?route=k3y-_');
});
