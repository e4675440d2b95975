import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, MessageDecoder } from '../../../protocol/codec.js';
import { ErrorCode, ParecoError } from '../../../protocol/errors.js';
import { parseRequest, parseResponse } from '../../../protocol/frames.js';
import { checkWirePath } from '../../../protocol/wire-path.js';

/** The only failure the boundary may produce: a typed PROTOCOL or BAD_PATH error. */
function onlyTypedErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ParecoError, `not a ParecoError: ${String(error)}`);
    assert.ok(error.code === ErrorCode.PROTOCOL || error.code === ErrorCode.BAD_PATH, error.code);
  }
}

const segment = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..');

test('checkWirePath: accepts exactly the relative, normalised paths', () => {
  fc.assert(
    fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), (segments) => {
      const path = segments.join('/');
      assert.equal(checkWirePath(path), path);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (path) => {
      let accepted = false;
      onlyTypedErrors(() => {
        checkWirePath(path);
        accepted = true;
      });
      if (accepted && path !== '') {
        const parts = path.split('/');
        assert.ok(!path.startsWith('/') && !path.includes('\0'), path);
        assert.ok(parts.every((p) => p !== '' && p !== '.' && p !== '..'), path);
      }
    }),
    { numRuns: 5000 },
  );
});

test('decodeFrame + parseRequest/parseResponse: arbitrary bytes only ever give typed errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      onlyTypedErrors(() => parseRequest(decodeFrame(Buffer.from(bytes))));
      onlyTypedErrors(() => parseResponse(decodeFrame(Buffer.from(bytes))));
    }),
    { numRuns: 5000 },
  );
});

test('parseRequest: arbitrary msgpack values shaped like frames only ever give typed errors', () => {
  const types = fc.constantFrom('open', 'join', 'list', 'hash', 'putmany', 'readmany', 'blocks', 'stat', 'read', 'begin', 'write', 'commit', 'meta', 'mkdir', 'symlink', 'delete', 'close', 'nope');
  const value = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 16 }), fc.array(fc.string(), { maxLength: 3 }));
  const frame = fc.record({ t: types, id: value, path: value, v: value, mode: value, dir: value, chunk: value, block: value, data: value, digest: value, files: value, seq: value }, { requiredKeys: ['t'] });
  fc.assert(
    fc.property(frame, (f) => {
      onlyTypedErrors(() => parseRequest(decodeFrame(encodeFrame(f))));
    }),
    { numRuns: 5000 },
  );
});

test('MessageDecoder: any sequence of messages only ever gives typed errors', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (messages) => {
      const decoder = new MessageDecoder(() => 32);
      for (const message of messages) {
        try {
          decoder.decode(Buffer.from(message));
        } catch (error) {
          assert.ok(error instanceof ParecoError && error.code === ErrorCode.PROTOCOL, String(error));
          return;
        }
      }
    }),
    { numRuns: 3000 },
  );
});
