import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeName, encodeName, fsPath, isPlainName, nameByteLength } from '../../../protocol/byte-names.js';
import { decodeFrame, encodeMessages } from '../../../protocol/codec.js';
import { parseRequest, parseResponse } from '../../../protocol/frames.js';

describe('byte names', () => {
  test('valid UTF-8 is its ordinary string; every other byte is one lone surrogate U+DC80-U+DCFF', () => {
    assert.equal(decodeName(Buffer.from('café/日本/😀', 'utf8')), 'café/日本/😀');
    assert.equal(decodeName(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74])), 'caf\udce9.t');
    // A truncated sequence, an overlong one, a UTF-16 surrogate in UTF-8 and a stray continuation byte.
    assert.equal(decodeName(Buffer.from([0xe6, 0x97])), '\udce6\udc97');
    assert.equal(decodeName(Buffer.from([0xc0, 0xaf])), '\udcc0\udcaf');
    assert.equal(decodeName(Buffer.from([0xed, 0xa0, 0x80])), '\udced\udca0\udc80');
    assert.equal(decodeName(Buffer.from([0x80, 0x41, 0xc3, 0xa9])), '\udc80Aé');
  });

  test('encode gives the bytes back exactly, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const name = decodeName(bytes);
        assert.deepEqual(encodeName(name), Buffer.from(bytes));
        assert.equal(nameByteLength(name), bytes.length);
        assert.equal(isPlainName(name), isUtf8(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  test('plain names stay strings for the file system; others become their bytes', () => {
    assert.equal(fsPath('/a/b/café'), '/a/b/café');
    assert.deepEqual(fsPath('/a/caf\udce9'), Buffer.from([0x2f, 0x61, 0x2f, 0x63, 0x61, 0x66, 0xe9]));
    assert.equal(isPlainName('😀'), true);
    assert.equal(isPlainName('\udce9'), false);
  });

  test('on the wire a name that is not UTF-8 travels as bin and comes back the same', () => {
    const path = 'dir\udcff/caf\udce9.txt';
    const [header] = encodeMessages({ t: 'stat', id: 1, path });
    const raw = decodeFrame(header!) as { path: unknown };
    assert.ok(raw.path instanceof Uint8Array, 'bin on the wire');
    assert.equal((parseRequest(raw) as { path: string }).path, path);
    const entries = { t: 'entries', id: 2, done: true, entries: [{ path, kind: 'l', size: 0, mtime: 1, mode: 0o777, target: '../x\udc80' }, { path: 'plain', kind: 'f', size: 1, mtime: 1, mode: 0o644 }] };
    const [message] = encodeMessages(entries);
    const parsed = parseResponse(decodeFrame(message!)) as { entries: { path: string; target?: string }[] };
    assert.deepEqual(parsed.entries.map((e) => [e.path, e.target]), [[path, '../x\udc80'], ['plain', undefined]]);
  });

  test('a string name must be well-formed: the bin form is the only one for other names', () => {
    // msgpack `str` holding what would decode to a lone surrogate is refused, not silently taken.
    assert.throws(() => parseRequest({ t: 'stat', id: 1, path: 'a\udce9' }), /malformed stat frame: path must be valid Unicode/);
  });
});
