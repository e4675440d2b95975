import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeFrame, encodeFrame } from '../../../protocol/codec.js';
import { ErrorCode, ParecoError } from '../../../protocol/errors.js';
import { LIMITS, parseEntry, parseRequest, parseResponse } from '../../../protocol/frames.js';
import { PROTOCOL_VERSION } from '../../../protocol/version.js';
import { prng } from '../../support/seeded-random.js';


type Frame = Record<string, unknown>;

function assertCode(fn: () => unknown, code: string, what: string): void {
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof ParecoError, `${what}: expected a ParecoError, got ${String(error)}`);
      assert.equal(error.code, code, `${what}: ${error.message}`);
      return true;
    },
    what,
  );
}

const digest = Buffer.from('0102030405060708', 'hex');

/** One valid example of every request type, as it would arrive decoded. */
const validRequests: Record<string, Frame> = {
  open: {
    t: 'open',
    id: 1,
    v: PROTOCOL_VERSION,
    mode: 'upload',
    dir: '/srv/data',
    chunk: 1024 * 1024,
    block: 8192,
    hash: 'xxh64',
    include: ['*.txt', 'docs/'],
    exclude: [],
    inplace: true,
  },
  join: { t: 'join', id: 2, v: PROTOCOL_VERSION, session: 'abc123', key: 'k'.repeat(128) },
  list: { t: 'list', id: 3, seq: 0 },
  hash: { t: 'hash', id: 4, path: 'a/b.txt', from: 0, count: 1024 },
  stat: { t: 'stat', id: 5, path: '' },
  read: { t: 'read', id: 6, path: 'a/b.txt', offset: 2 ** 40, length: 65536 },
  begin: { t: 'begin', id: 7, path: 'a/b.txt', size: 0 },
  write: { t: 'write', id: 8, path: 'a/b.txt', offset: 10, size: 15, data: Buffer.from('hello'), digest },
  putmany: { t: 'putmany', id: 14, files: [{ path: 'a.txt', size: 2, mtime: 1, mode: 0o644, digest }, { path: 'b/c.txt', size: 3, mtime: 2, mode: 0o600, digest }], data: Buffer.from('abcde') },
  readmany: { t: 'readmany', id: 15, files: [{ path: 'a.txt', size: 2 }, { path: 'b/c.txt', size: 0 }] },
  commit: { t: 'commit', id: 9, path: 'a/b.txt', size: 5, mtime: 1700000000123.456, mode: 0o644 },
  meta: { t: 'meta', id: 10, path: 'a', mtime: -86400000.5, mode: 0o7777 },
  mkdir: { t: 'mkdir', id: 11, path: 'a/new dir' },
  symlink: { t: 'symlink', id: 12, path: 'a/link', target: '../elsewhere/x', mtime: 0 },
  delete: { t: 'delete', id: 13, path: 'a/old', recursive: true },
  close: { t: 'close', id: Number.MAX_SAFE_INTEGER },
};

/** Fields of each request that are required (everything except the optional booleans). */
const requiredFields: Record<string, string[]> = {
  open: ['id', 'v', 'mode', 'dir', 'chunk', 'block', 'hash', 'include', 'exclude'],
  join: ['id', 'v', 'session', 'key'],
  list: ['id', 'seq'],
  hash: ['id', 'path', 'from', 'count'],
  stat: ['id', 'path'],
  read: ['id', 'path', 'offset', 'length'],
  begin: ['id', 'path', 'size'],
  write: ['id', 'path', 'offset', 'size', 'data', 'digest'],
  putmany: ['id', 'files', 'data'],
  readmany: ['id', 'files'],
  commit: ['id', 'path', 'size', 'mtime', 'mode'],
  meta: ['id', 'path', 'mtime', 'mode'],
  mkdir: ['id', 'path'],
  symlink: ['id', 'path', 'target', 'mtime'],
  delete: ['id', 'path'],
  close: ['id'],
};

/** A value of the wrong type for a field. */
/** Fields that hold a name, which may travel as a string or (when it is not UTF-8) as bin. */
const NAME_FIELDS = new Set(['path', 'target']);

function wrongTypeFor(value: unknown, field = ''): unknown[] {
  if (typeof value === 'number') return ['1', null, true, [1], { n: 1 }, Buffer.from([1])];
  if (typeof value === 'string' && NAME_FIELDS.has(field)) return [1, null, true, ['a'], { s: 'a' }];
  if (typeof value === 'string') return [1, null, true, ['a'], { s: 'a' }, Buffer.from('a')];
  if (typeof value === 'boolean') return [1, 'true', null, [true]];
  if (Buffer.isBuffer(value)) return ['abc', 1, [1, 2], null, { 0: 1 }];
  if (Array.isArray(value)) return ['*.txt', 1, null, { 0: '*.txt' }];
  return [1, 'x', null];
}

describe('parseRequest: valid frames', () => {
  for (const [type, frame] of Object.entries(validRequests)) {
    test(`${type} parses to the same fields`, () => {
      const parsed = parseRequest(frame) as unknown as Frame;
      assert.equal(parsed.t, type);
      for (const [key, value] of Object.entries(frame)) assert.deepEqual(parsed[key], value, `${type}.${key}`);
    });

    test(`${type} survives an encode/decode round trip`, () => {
      const parsed = parseRequest(decodeFrame(encodeFrame(frame))) as unknown as Frame;
      for (const [key, value] of Object.entries(frame)) assert.deepEqual(parsed[key], value, `${type}.${key}`);
    });

    test(`${type}: unknown extra fields are ignored`, () => {
      const parsed = parseRequest({ ...frame, extra: 'x', future: { nested: [1, 2] }, z: null }) as unknown as Frame;
      assert.equal(parsed.t, type);
      assert.equal('extra' in parsed, false);
      assert.equal('future' in parsed, false);
    });
  }

  test('optional booleans default to false', () => {
    const { inplace: _ignored, ...open } = validRequests.open!;
    assert.equal((parseRequest(open) as { inplace: boolean }).inplace, false);
    const { recursive: _r, ...del } = validRequests.delete!;
    assert.equal((parseRequest(del) as { recursive: boolean }).recursive, false);
  });

  test('every mode and hash name is accepted', () => {
    for (const mode of ['upload', 'download']) parseRequest({ ...validRequests.open, mode });
    for (const hash of ['xxh64', 'xxh32', 'crc32', 'md5', 'sha1', 'sha256', 'sha512']) parseRequest({ ...validRequests.open, hash });
  });

  test('a write whose data is a plain Uint8Array comes back as a Buffer over the same memory', () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5]).subarray(1, 4);
    const parsed = parseRequest({ ...validRequests.write, data: bytes }) as { data: Buffer };
    assert.ok(Buffer.isBuffer(parsed.data));
    assert.deepEqual([...parsed.data], [2, 3, 4]);
    assert.equal(parsed.data.buffer, bytes.buffer);
    assert.equal(parsed.data.byteOffset, 1);
  });

  test('id 0 and boundary values are accepted', () => {
    parseRequest({ t: 'list', id: 0, seq: 0 });
    parseRequest({ ...validRequests.open, chunk: LIMITS.maxChunk });
    parseRequest({ ...validRequests.open, chunk: 200, block: 200 });
    assertCode(() => parseRequest({ ...validRequests.open, chunk: 1000, block: 300 }), ErrorCode.PROTOCOL, 'block must divide chunk');
    assertCode(() => parseRequest({ ...validRequests.open, chunk: 4096, block: 256 }), ErrorCode.PROTOCOL, 'block too small');
    parseRequest({ ...validRequests.hash, count: LIMITS.hashBatch });
    parseRequest({ ...validRequests.join, session: 's'.repeat(64), key: 'k'.repeat(128) });
    parseRequest({ ...validRequests.open, include: Array.from({ length: LIMITS.maxPatterns }, (_, i) => `p${i}`) });
    parseRequest({ ...validRequests.write, digest: Buffer.alloc(LIMITS.maxDigest) });
  });
});

describe('parseRequest: malformed frames', () => {
  for (const [type, fields] of Object.entries(requiredFields)) {
    const frame = validRequests[type]!;
    test(`${type}: each missing required field is PROTOCOL`, () => {
      for (const field of fields) {
        const copy = { ...frame };
        delete copy[field];
        assertCode(() => parseRequest(copy), ErrorCode.PROTOCOL, `${type} without ${field}`);
      }
    });

    test(`${type}: each wrong-typed field is PROTOCOL`, () => {
      for (const field of Object.keys(frame)) {
        if (field === 't') continue;
        for (const wrong of wrongTypeFor(frame[field], field)) {
          assertCode(() => parseRequest({ ...frame, [field]: wrong }), ErrorCode.PROTOCOL, `${type}.${field} = ${String(wrong)}`);
        }
      }
    });

    test(`${type}: negative, fractional, non-finite and unsafe ids are PROTOCOL`, () => {
      for (const id of [-1, -0.5, 1.5, 0.1, NaN, Infinity, -Infinity, 2 ** 53, Number.MAX_VALUE]) {
        assertCode(() => parseRequest({ ...frame, id }), ErrorCode.PROTOCOL, `${type} id ${id}`);
      }
    });
  }

  test('negative or fractional offsets, sizes and counts are PROTOCOL', () => {
    const cases: [string, string, unknown][] = [
      ['read', 'offset', -1],
      ['read', 'offset', 0.5],
      ['read', 'length', -5],
      ['hash', 'from', 1.25],
      ['hash', 'count', -1],
      ['begin', 'size', -1],
      ['begin', 'size', 2.5],
      ['write', 'offset', -10],
      ['commit', 'size', 1e300],
      ['open', 'chunk', 0.5],
      ['open', 'v', -1],
    ];
    for (const [type, field, value] of cases) {
      assertCode(() => parseRequest({ ...validRequests[type], [field]: value }), ErrorCode.PROTOCOL, `${type}.${field} = ${value}`);
    }
  });

  test('values above their limits are PROTOCOL', () => {
    const cases: [string, string, unknown][] = [
      ['open', 'chunk', LIMITS.maxChunk + 1],
      ['hash', 'count', LIMITS.hashBatch + 1],
      ['commit', 'mode', 0o10000],
      ['meta', 'mode', 0o7777 + 1],
      ['join', 'session', 's'.repeat(65)],
      ['join', 'key', 'k'.repeat(129)],
      ['open', 'dir', 'd'.repeat(4097)],
      ['symlink', 'target', 't'.repeat(4097)],
      ['write', 'digest', Buffer.alloc(LIMITS.maxDigest + 1)],
      ['open', 'include', Array.from({ length: LIMITS.maxPatterns + 1 }, (_, i) => `p${i}`)],
      ['open', 'exclude', ['']],
      ['open', 'exclude', ['x'.repeat(1025)]],
      ['open', 'include', ['ok', 3]],
      ['open', 'mode', 'sideways'],
      ['open', 'hash', 'sha3'],
      ['open', 'hash', 'XXH64'],
      ['commit', 'mtime', NaN],
      ['meta', 'mtime', Infinity],
      ['symlink', 'mtime', '1'],
    ];
    for (const [type, field, value] of cases) {
      assertCode(() => parseRequest({ ...validRequests[type], [field]: value }), ErrorCode.PROTOCOL, `${type}.${field}`);
    }
  });

  test("a putmany's payload is its files end to end: their sizes must add up to it", () => {
    assertCode(() => parseRequest({ ...validRequests.putmany, data: Buffer.from('abcdef') }), ErrorCode.PROTOCOL, 'one byte too many');
    assertCode(() => parseRequest({ ...validRequests.putmany, data: Buffer.from('abcd') }), ErrorCode.PROTOCOL, 'one byte short');
    assertCode(() => parseRequest({ ...validRequests.readmany, files: [{ path: 'a', size: LIMITS.maxChunk }, { path: 'b', size: LIMITS.maxChunk }] }), ErrorCode.PROTOCOL, 'readmany beyond the batch bound');
  });

  test('data longer than the maxData limit is rejected', () => {
    const limits = { maxData: 16 };
    parseRequest({ ...validRequests.write, data: Buffer.alloc(16) }, limits);
    assertCode(() => parseRequest({ ...validRequests.write, data: Buffer.alloc(17) }, limits), ErrorCode.PROTOCOL, 'write 17 > 16');
    parseRequest({ ...validRequests.read, length: 16 }, limits);
    assertCode(() => parseRequest({ ...validRequests.read, length: 17 }, limits), ErrorCode.PROTOCOL, 'read 17 > 16');
  });

  test('the default maxData is the largest chunk size', () => {
    parseRequest({ ...validRequests.read, length: LIMITS.maxChunk });
    assertCode(() => parseRequest({ ...validRequests.read, length: LIMITS.maxChunk + 1 }), ErrorCode.PROTOCOL, 'read > maxChunk');
  });

  test('an unknown frame type is PROTOCOL', () => {
    for (const t of ['nope', 'ok', 'opened', 'OPEN', '', 'toString', 'constructor', '__proto__', 'hasOwnProperty', 'x'.repeat(1000)]) {
      assertCode(() => parseRequest({ t, id: 1 }), ErrorCode.PROTOCOL, `type ${t.slice(0, 20)}`);
    }
  });

  test('a missing or non-string type is PROTOCOL', () => {
    for (const t of [undefined, null, 1, true, ['open'], { open: 1 }, Buffer.from('open')]) {
      assertCode(() => parseRequest({ t, id: 1 }), ErrorCode.PROTOCOL, `type ${String(t)}`);
    }
  });

  test('non-map values are PROTOCOL', () => {
    const values: unknown[] = [
      null,
      undefined,
      [],
      ['open', 1],
      0,
      42,
      -1.5,
      NaN,
      '',
      'open',
      true,
      false,
      Buffer.from([0x81]),
      new Uint8Array([1, 2]),
      10n,
    ];
    for (const value of values) assertCode(() => parseRequest(value), ErrorCode.PROTOCOL, `value ${String(value)}`);
  });

  test('unsafe paths are BAD_PATH', () => {
    const bad = ['/abs', 'a/../b', '..', '.', 'a//b', 'a/', 'a/./b', 'a\0b', 'x'.repeat(256), '../x'];
    for (const type of ['hash', 'stat', 'read', 'begin', 'write', 'commit', 'meta', 'mkdir', 'symlink', 'delete']) {
      for (const path of bad) {
        assertCode(() => parseRequest({ ...validRequests[type], path }), ErrorCode.BAD_PATH, `${type} path ${JSON.stringify(path.slice(0, 20))}`);
      }
    }
  });

  test('a path longer than 4096 characters is rejected', () => {
    const long = Array.from({ length: 20 }, () => 'y'.repeat(250)).join('/');
    assert.ok(long.length > 4096);
    assert.throws(
      () => parseRequest({ ...validRequests.stat, path: long }),
      (error: unknown) => error instanceof ParecoError && (error.code === ErrorCode.PROTOCOL || error.code === ErrorCode.BAD_PATH),
    );
  });
});

const entry = { path: 'a/b.txt', kind: 'f', size: 5, mtime: 1700000000123.5, mode: 0o644 };

describe('parseEntry', () => {
  test('valid entries of every kind', () => {
    for (const kind of ['f', 'd', 'l', 'o', 'p']) assert.deepEqual(parseEntry({ ...entry, kind }), { ...entry, kind });
    assert.deepEqual(parseEntry({ ...entry, kind: 'l', target: '../x' }), { ...entry, kind: 'l', target: '../x' });
    assert.deepEqual(parseEntry({ ...entry, mtime: -1000.25 }), { ...entry, mtime: -1000.25 });
  });

  test('no target key when none was sent; extra fields are ignored', () => {
    const parsed = parseEntry({ ...entry, extra: 1 });
    assert.equal('target' in parsed, false);
    assert.equal('extra' in parsed, false);
  });

  test('missing or wrong fields are PROTOCOL', () => {
    for (const field of ['path', 'kind', 'size', 'mtime', 'mode']) {
      const copy: Frame = { ...entry };
      delete copy[field];
      assertCode(() => parseEntry(copy), ErrorCode.PROTOCOL, `without ${field}`);
    }
    for (const [field, value] of [
      ['kind', 'x'],
      ['kind', 'F'],
      ['size', -1],
      ['size', 1.5],
      ['mtime', NaN],
      ['mode', 0o10000],
      ['target', 5],
      ['path', 5],
    ] as const) {
      assertCode(() => parseEntry({ ...entry, [field]: value }), ErrorCode.PROTOCOL, `${field} = ${String(value)}`);
    }
    for (const value of [null, [], 'x', 1, Buffer.from('x')]) assertCode(() => parseEntry(value), ErrorCode.PROTOCOL, `entry ${String(value)}`);
  });

  test('unsafe paths and the root are BAD_PATH', () => {
    for (const path of ['', '/etc/passwd', '../x', 'a/../../b', 'a//b', '.']) {
      assertCode(() => parseEntry({ ...entry, path }), ErrorCode.BAD_PATH, `path ${JSON.stringify(path)}`);
    }
  });
});

describe('parseResponse', () => {
  const validResponses: Record<string, Frame> = {
    ok: { t: 'ok', id: 1 },
    opened: { t: 'opened', id: 2, session: 's1', key: 'k1', server: 'pareco 0.1.0', joined: false, zstd: true },
    closed: { t: 'closed', id: 8, cachedFiles: 3, cachedBytes: 300 },
    entries: { t: 'entries', id: 3, entries: [entry, { ...entry, path: 'a', kind: 'd' }], done: true },
    hashes: { t: 'hashes', id: 4, size: 100, partial: true, digests: [digest, Buffer.alloc(0)] },
    stat: { t: 'stat', id: 5, entry },
    data: { t: 'data', id: 6, data: Buffer.from('abc'), digest, size: 3, mtime: 1700000000000.5 },
    error: { t: 'error', id: 7, code: 'NOT_FOUND', message: 'a/b: no such file or directory' },
  };

  for (const [type, frame] of Object.entries(validResponses)) {
    test(`${type} parses (also after an encode/decode round trip)`, () => {
      assert.deepEqual(parseResponse(frame), frame);
      assert.deepEqual(parseResponse(decodeFrame(encodeFrame(frame))), frame);
      assert.deepEqual(parseResponse({ ...frame, extra: [1, 2] }), frame);
    });

    test(`${type}: a negative, fractional or missing id is PROTOCOL`, () => {
      for (const id of [-1, 0.5, undefined, '1']) assertCode(() => parseResponse({ ...frame, id }), ErrorCode.PROTOCOL, `id ${String(id)}`);
    });
  }

  test('stat with a null or absent entry', () => {
    assert.deepEqual(parseResponse({ t: 'stat', id: 1, entry: null }), { t: 'stat', id: 1, entry: null });
    assert.deepEqual(parseResponse({ t: 'stat', id: 1 }), { t: 'stat', id: 1, entry: null });
  });

  test('optional booleans default to false', () => {
    assert.equal((parseResponse({ t: 'entries', id: 1, entries: [] }) as { done: boolean }).done, false);
    assert.equal((parseResponse({ t: 'hashes', id: 1, size: 0, digests: [] }) as { partial: boolean }).partial, false);
  });

  test('an error response with an unknown code maps to IO', () => {
    const parsed = parseResponse({ t: 'error', id: 7, code: 'WHATEVER', message: 'm' });
    assert.deepEqual(parsed, { t: 'error', id: 7, code: 'IO', message: 'm' });
    assert.equal((parseResponse({ t: 'error', id: 7, code: 'toString', message: 'm' }) as { code: string }).code, 'IO');
    assert.equal((parseResponse({ t: 'error', id: 7, code: '', message: 'm' }) as { code: string }).code, 'IO');
  });

  test('every known error code is kept', () => {
    for (const code of Object.values(ErrorCode)) {
      assert.equal((parseResponse({ t: 'error', id: 1, code, message: '' }) as { code: string }).code, code);
    }
  });

  test('malformed responses are PROTOCOL', () => {
    const cases: Frame[] = [
      { t: 'error', id: 1, code: 5, message: 'm' },
      { t: 'error', id: 1, code: 'IO' },
      { t: 'error', id: 1, code: 'x'.repeat(65), message: 'm' },
      { t: 'data', id: 1, data: 'abc', digest },
      { t: 'data', id: 1, data: Buffer.from('abc'), digest: Buffer.alloc(LIMITS.maxDigest + 1) },
      { t: 'hashes', id: 1, size: 1, digests: ['ab'] },
      { t: 'hashes', id: 1, size: 1, digests: Array.from({ length: LIMITS.hashBatch + 1 }, () => digest) },
      { t: 'entries', id: 1, entries: Array.from({ length: LIMITS.listBatch + 1 }, (_, i) => ({ ...entry, path: `f${i}` })) },
      { t: 'entries', id: 1, entries: [{ ...entry, kind: 'q' }] },
      { t: 'entries', id: 1, entries: 'none' },
      { t: 'stat', id: 1, entry: 'x' },
      { t: 'opened', id: 1, session: 's', key: 'k' },
      { t: 'open', id: 1 },
      { t: 'write', id: 1 },
      { id: 1 },
    ];
    for (const frame of cases) assertCode(() => parseResponse(frame), ErrorCode.PROTOCOL, JSON.stringify(frame).slice(0, 80));
    for (const value of [null, [], 1, 'ok', Buffer.from('x')]) assertCode(() => parseResponse(value), ErrorCode.PROTOCOL, `value ${String(value)}`);
  });

  test('data responses follow the maxData limit', () => {
    parseResponse({ t: 'data', id: 1, data: Buffer.alloc(8), digest, size: 8, mtime: 0 }, { maxData: 8 });
    assertCode(() => parseResponse({ t: 'data', id: 1, data: Buffer.alloc(9), digest, size: 9, mtime: 0 }, { maxData: 8 }), ErrorCode.PROTOCOL, 'data 9 > 8');
  });

  test('unsafe entry paths in listings are BAD_PATH', () => {
    assertCode(
      () => parseResponse({ t: 'entries', id: 1, entries: [entry, { ...entry, path: '../../etc/passwd' }] }),
      ErrorCode.BAD_PATH,
      'entries with ../',
    );
    assertCode(() => parseResponse({ t: 'stat', id: 1, entry: { ...entry, path: '/x' } }), ErrorCode.BAD_PATH, 'stat with /x');
  });
});

describe('parseRequest: randomized property', () => {
  const random = prng(0x5eed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

  const types = [...Object.keys(validRequests), 'ok', 'error', 'bogus', ''];
  const fieldNames = ['t', 'id', 'v', 'mode', 'dir', 'chunk', 'hash', 'include', 'exclude', 'inplace', 'session', 'key', 'path',
    'from', 'count', 'offset', 'length', 'size', 'data', 'digest', 'mtime', 'target', 'recursive', 'x', '__proto__', 'constructor'];
  const strings = ['', 'a', 'a/b', '/abs', '..', 'a/../b', 'a//b', 'a/', '.', 'a\0b', 'ü 日本', 'upload', 'download', 'xxh64', 'sha256',
    '*.txt', 'x'.repeat(300), 'open', 'list', 'toString'];
  const numbers = [0, 1, -1, 0.5, -0.5, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity, 1e300, 0o7777, 0o10000,
    LIMITS.maxChunk, LIMITS.maxChunk + 1, 1024, 1025];

  function randomValue(depth: number): unknown {
    switch (int(depth > 2 ? 6 : 9)) {
      case 0: return pick(numbers);
      case 1: return (random() - 0.5) * 10 ** int(16);
      case 2: return pick(strings);
      case 3: return pick([true, false, null, undefined]);
      case 4: { const b = Buffer.alloc(int(80)); for (let i = 0; i < b.length; i++) b[i] = int(256); return b; }
      case 5: return int(1000);
      case 6: return Array.from({ length: int(4) }, () => randomValue(depth + 1));
      case 7: return randomMap(depth + 1);
      default: return Array.from({ length: int(3) }, () => pick(strings));
    }
  }

  /** Sets an own property, even for '__proto__' (plain assignment would replace the prototype). */
  function put(map: Frame, key: string, value: unknown): void {
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  }

  function randomMap(depth: number): Frame {
    const map: Frame = {};
    for (let i = int(6); i > 0; i--) put(map, pick(fieldNames), randomValue(depth));
    return map;
  }

  /** A frame that is nearly valid: a valid example with a few fields replaced, removed or added. */
  function mutatedFrame(): Frame {
    const frame: Frame = { ...validRequests[pick(Object.keys(validRequests))]! };
    for (let i = 1 + int(3); i > 0; i--) {
      const field = pick(random() < 0.7 ? Object.keys(frame) : fieldNames);
      if (random() < 0.2) delete frame[field];
      else put(frame, field, field === 't' && random() < 0.5 ? pick(types) : randomValue(1));
    }
    // Often keep the frame valid but for its path, to reach the path check.
    if ('path' in frame && random() < 0.3) put(frame, 'path', pick(strings));
    return frame;
  }

  function randomInput(): unknown {
    const r = random();
    if (r < 0.15) return randomValue(0);
    if (r < 0.3) {
      const map = randomMap(0);
      put(map, 't', pick(types));
      return map;
    }
    if (r < 0.75) return mutatedFrame();
    // Through the codec, so the values have the shapes the decoder produces.
    const encoded = encodeFrame({ v: random() < 0.5 ? mutatedFrame() : randomMap(0) });
    const decoded = decodeFrame(encoded) as { v: unknown };
    return decoded.v;
  }

  test('2000 random inputs: either a valid request or a PROTOCOL/BAD_PATH ParecoError', () => {
    let accepted = 0;
    const codes = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const input = randomInput();
      try {
        const request = parseRequest(input, { maxData: 64 });
        accepted++;
        assert.equal(typeof request.t, 'string');
        assert.ok(Number.isSafeInteger(request.id) && request.id >= 0, 'id is a non-negative safe integer');
        assert.equal(request.t, (input as Frame).t);
      } catch (error) {
        assert.ok(error instanceof ParecoError, `input #${i}: ${String(error)}`);
        assert.ok(error.code === ErrorCode.PROTOCOL || error.code === ErrorCode.BAD_PATH, `input #${i}: code ${error.code}`);
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
    }
    // The generator should exercise both outcomes and both error codes.
    assert.ok(accepted > 20, `accepted ${accepted}`);
    assert.ok((codes.get(ErrorCode.PROTOCOL) ?? 0) > 100);
    assert.ok((codes.get(ErrorCode.BAD_PATH) ?? 0) > 10, `BAD_PATH ${codes.get(ErrorCode.BAD_PATH)}`);
  });

  test('2000 random msgpack byte strings through decodeFrame then parseRequest only throw PROTOCOL/BAD_PATH', () => {
    for (let i = 0; i < 2000; i++) {
      const base = encodeFrame(mutatedFrame());
      const bytes = Buffer.from(base);
      // Flip a few bytes so the decoder sees near-valid msgpack.
      for (let k = int(3); k > 0; k--) bytes[int(bytes.length)] = int(256);
      try {
        parseRequest(decodeFrame(bytes));
      } catch (error) {
        assert.ok(error instanceof ParecoError, `bytes ${bytes.toString('hex')}: ${String(error)}`);
        assert.ok(error.code === ErrorCode.PROTOCOL || error.code === ErrorCode.BAD_PATH, `code ${error.code}`);
      }
    }
  });
});
