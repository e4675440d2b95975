import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeFrame, encodeFrame, encodeMessages, MessageDecoder } from '../../../protocol/codec.js';
import { ErrorCode, ParecoError } from '../../../protocol/errors.js';
import { prng } from '../../support/seeded-random.js';


/** A Buffer over its own, unpooled ArrayBuffer holding a copy of `bytes`. */
function ownBuffer(bytes: Uint8Array): Buffer {
  const ab = new ArrayBuffer(bytes.length);
  new Uint8Array(ab).set(bytes);
  return Buffer.from(ab);
}

function assertProtocolError(fn: () => unknown, what: string): void {
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof ParecoError, `${what}: expected a ParecoError, got ${String(error)}`);
      assert.equal(error.code, ErrorCode.PROTOCOL, `${what}: code`);
      return true;
    },
    what,
  );
}

describe('encodeFrame / decodeFrame', () => {
  test('round trip of a map with Buffers, strings, numbers, booleans, lists and nested maps', () => {
    const frame = {
      t: 'write',
      id: 42,
      path: 'a/b c/ü 日本.txt',
      offset: 2 ** 40 + 3,
      mtime: 1700000000123.4567,
      neg: -17,
      flag: true,
      off: false,
      nothing: null,
      data: Buffer.from('hello world'),
      digest: Buffer.from([0, 1, 2, 255]),
      empty: Buffer.alloc(0),
      list: ['x', 1, Buffer.from([9])],
      nested: { a: { b: [1, 2, { c: 'd' }] } },
    };
    const decoded = decodeFrame(encodeFrame(frame)) as Record<string, unknown>;
    assert.deepEqual(decoded, frame);
    assert.ok(Buffer.isBuffer(decoded.data));
    assert.ok(Buffer.isBuffer(decoded.digest));
    assert.ok(Buffer.isBuffer(decoded.empty));
    assert.equal((decoded.empty as Buffer).length, 0);
    assert.ok(Buffer.isBuffer((decoded.list as unknown[])[2]));
  });

  test('a Uint8Array is encoded as bin and comes back as a Buffer', () => {
    const decoded = decodeFrame(encodeFrame({ data: new Uint8Array([1, 2, 3]) })) as { data: unknown };
    assert.ok(Buffer.isBuffer(decoded.data));
    assert.deepEqual([...(decoded.data as Buffer)], [1, 2, 3]);
  });

  test('maps are plain msgpack maps (no records), so the first byte is a map header', () => {
    const bytes = encodeFrame({ t: 'list', id: 1 });
    const first = bytes[0]!;
    assert.ok((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf, `map header, got 0x${first.toString(16)}`);
    // A second frame of the same shape must also be a plain map (records would reuse a structure id).
    const second = encodeFrame({ t: 'list', id: 2 })[0]!;
    assert.ok((second >= 0x80 && second <= 0x8f) || second === 0xde || second === 0xdf);
  });

  test('large integers stay numbers', () => {
    const decoded = decodeFrame(encodeFrame({ n: Number.MAX_SAFE_INTEGER, m: 2 ** 33 })) as Record<string, unknown>;
    assert.equal(decoded.n, Number.MAX_SAFE_INTEGER);
    assert.equal(decoded.m, 2 ** 33);
    // A uint64 on the wire decodes as a number, not a bigint.
    const u64 = Buffer.from('81a16ecf0000000100000000', 'hex');
    assert.deepEqual(decodeFrame(u64), { n: 2 ** 32 });
  });

  for (const size of [0, 5, 300, 70_000]) {
    test(`decoded bin fields share memory with the input (zero copy, ${size} bytes)`, () => {
      const data = Buffer.alloc(size, 7);
      const input = ownBuffer(encodeFrame({ t: 'data', id: 1, data, digest: Buffer.from([1, 2, 3, 4]) }));
      const decoded = decodeFrame(input) as { data: Buffer; digest: Buffer };
      assert.ok(Buffer.isBuffer(decoded.data));
      assert.equal(decoded.data.length, size);
      assert.equal(decoded.data.buffer, input.buffer);
      assert.equal(decoded.digest.buffer, input.buffer);
      assert.ok(decoded.data.byteOffset >= input.byteOffset);
      assert.ok(decoded.data.byteOffset + decoded.data.length <= input.byteOffset + input.length);
      // Writing through the input is visible through the decoded view.
      input[decoded.digest.byteOffset - input.byteOffset] = 0xaa;
      assert.equal(decoded.digest[0], 0xaa);
    });
  }

  test('zero copy also holds for an input that is a slice of a larger buffer', () => {
    const encoded = encodeFrame({ data: Buffer.from('payload') });
    const big = Buffer.alloc(encoded.length + 20);
    encoded.copy(big, 10);
    const input = big.subarray(10, 10 + encoded.length);
    const decoded = decodeFrame(input) as { data: Buffer };
    assert.equal(decoded.data.toString(), 'payload');
    assert.equal(decoded.data.buffer, big.buffer);
  });

  test('decodes scalars and lists as single values', () => {
    assert.equal(decodeFrame(Buffer.from([0x01])), 1);
    assert.equal(decodeFrame(Buffer.from([0xc0])), null);
    assert.deepEqual(decodeFrame(Buffer.from([0x92, 0x01, 0x02])), [1, 2]);
  });

  test('empty input is a PROTOCOL error', () => {
    assertProtocolError(() => decodeFrame(Buffer.alloc(0)), 'empty');
  });

  test('two concatenated values are a PROTOCOL error', () => {
    const one = encodeFrame({ t: 'list', id: 1 });
    assertProtocolError(() => decodeFrame(Buffer.concat([one, one])), 'two maps');
    assertProtocolError(() => decodeFrame(Buffer.from([0x01, 0x02])), 'two ints');
    assertProtocolError(() => decodeFrame(Buffer.concat([one, Buffer.from([0xc0])])), 'map then nil');
  });

  test('every truncation of a valid frame is a PROTOCOL error', () => {
    const frame = encodeFrame({
      t: 'write',
      id: 7,
      path: 'dir/ü.txt',
      offset: 123456789,
      data: Buffer.alloc(40, 1),
      digest: Buffer.alloc(8, 2),
      mtime: 1.5,
    });
    for (let end = 0; end < frame.length; end++) {
      assertProtocolError(() => decodeFrame(frame.subarray(0, end)), `truncated to ${end} of ${frame.length}`);
    }
  });

  test('truncated headers of each msgpack type are PROTOCOL errors', () => {
    const cases = [
      'c4', // bin8 without length
      'c405', // bin8 missing data
      'c50001', // bin16 short
      'd9', // str8 without length
      'a3616263'.slice(0, 4), // fixstr 3 with one byte
      'cb0000', // float64 short
      'cf00', // uint64 short
      'dc0002', // array16 missing items
      'de0001a174', // map16 missing value
      '82a17401', // fixmap 2 with one pair
      '91', // fixarray 1 with no item
    ];
    for (const hex of cases) assertProtocolError(() => decodeFrame(Buffer.from(hex, 'hex')), hex);
  });

  test('structurally invalid maps are PROTOCOL errors', () => {
    // A map whose key is a map cannot become a plain object.
    assertProtocolError(() => decodeFrame(Buffer.from('818002', 'hex')), 'map key');
  });

  test('the never-used byte 0xc1 is not a well-formed msgpack value', () => {
    // The msgpack spec reserves 0xc1 ("never used"); decodeFrame promises that anything that is
    // not exactly one well-formed msgpack value is a PROTOCOL error.
    assertProtocolError(() => decodeFrame(Buffer.from([0xc1])), '0xc1 alone');
    assertProtocolError(() => decodeFrame(Buffer.from('81a174c1', 'hex')), '0xc1 as a map value');
  });

  test('random bytes either decode to exactly one value or throw a PROTOCOL error (never anything else)', () => {
    const random = prng(0xc0dec);
    let threw = 0;
    for (let i = 0; i < 5000; i++) {
      const length = Math.floor(random() * 24);
      const bytes = Buffer.alloc(length);
      for (let j = 0; j < length; j++) bytes[j] = Math.floor(random() * 256);
      try {
        decodeFrame(bytes);
      } catch (error) {
        threw++;
        assert.ok(error instanceof ParecoError, `bytes ${bytes.toString('hex')}: ${String(error)}`);
        assert.equal(error.code, ErrorCode.PROTOCOL, `bytes ${bytes.toString('hex')}`);
      }
    }
    assert.ok(threw > 1000, `most random inputs are malformed (${threw} threw)`);
  });

  test('random bytes appended to a valid frame are always a PROTOCOL error', () => {
    const random = prng(42);
    const frame = encodeFrame({ t: 'stat', id: 3, path: 'x' });
    for (let i = 0; i < 500; i++) {
      const extra = Buffer.alloc(1 + Math.floor(random() * 8));
      for (let j = 0; j < extra.length; j++) extra[j] = Math.floor(random() * 256);
      assertProtocolError(() => decodeFrame(Buffer.concat([frame, extra])), `frame + ${extra.toString('hex')}`);
    }
  });

  test('the PROTOCOL error keeps the decoder failure as its cause', () => {
    try {
      decodeFrame(Buffer.from([0x92, 0x01]));
      assert.fail('should throw');
    } catch (error) {
      assert.ok(error instanceof ParecoError);
      assert.ok((error as Error).cause !== undefined);
      assert.match((error as Error).message, /undecodable frame/);
    }
  });
});

describe('encodeMessages / MessageDecoder (payload as its own message)', () => {
  test('a frame without data is one message; with data, a header then the raw payload', () => {
    assert.equal(encodeMessages({ t: 'ok', id: 1 }).length, 1);
    const data = Buffer.from('chunk bytes');
    const [header, payload] = encodeMessages({ t: 'write', id: 2, path: 'a', offset: 0, digest: Buffer.alloc(8), data });
    assert.equal(payload!.buffer, data.buffer, 'payload is not copied');
    const decoder = new MessageDecoder(() => 1024);
    assert.equal(decoder.decode(header!), undefined);
    const frame = decoder.decode(payload!) as Record<string, unknown>;
    assert.deepEqual(frame.data, data);
    assert.equal('len' in frame, false);
    assert.equal(frame.t, 'write');
  });

  test('a payload over the limit, of the wrong length, or announced twice is a PROTOCOL error', () => {
    const [header] = encodeMessages({ t: 'write', id: 2, data: Buffer.alloc(100) });
    assertProtocolError(() => new MessageDecoder(() => 99).decode(header!), 'len over the limit');
    const decoder = new MessageDecoder(() => 1000);
    decoder.decode(header!);
    assertProtocolError(() => decoder.decode(Buffer.alloc(99)), 'short payload');
    assertProtocolError(() => new MessageDecoder(() => 1000).decode(encodeFrame({ t: 'write', len: 1, data: Buffer.alloc(1) })), 'len and data');
    assertProtocolError(() => new MessageDecoder(() => 1000).decode(encodeFrame({ t: 'write', len: -1 })), 'negative len');
  });
});
