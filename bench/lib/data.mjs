// Deterministic test data: a seeded PRNG (mulberry32), big files built from one seeded 1 MiB block
// varied cheaply per MiB (rotation + XOR with a per-MiB word, so no two MiB, and no two aligned
// sub-blocks, are equal), small files filled straight from the PRNG, and seeded edits.

import fs from 'node:fs';
import path from 'node:path';

export const MiB = 1024 * 1024;
/** Fixed mtimes (whole seconds) so runs are reproducible: 2024-01-01T00:00:00Z. */
export const T0 = 1704067200;

export function rng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Integer in [lo, hi] inclusive. */
export function randInt(r, lo, hi) {
  return lo + Math.floor((r() / 4294967296) * (hi - lo + 1));
}

export function fillRandom(buf, r) {
  const words = Math.floor(buf.length / 4);
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset, words);
  if (buf.byteOffset % 4 === 0) {
    for (let i = 0; i < words; i++) u32[i] = r();
  } else {
    for (let i = 0; i < words; i++) buf.writeUInt32LE(r(), i * 4);
  }
  for (let i = words * 4; i < buf.length; i++) buf[i] = r() & 0xff;
  return buf;
}

/** Writes a file of `size` bytes (a multiple of 4 is not required) derived from `seed`. */
export function writeBigFile(file, size, seed, mtime = T0) {
  const r = rng(seed);
  const base = new Uint32Array(MiB / 4);
  for (let i = 0; i < base.length; i++) base[i] = r();
  const mask = base.length - 1;
  const batchMiB = 8;
  const out = Buffer.allocUnsafe(batchMiB * MiB);
  const o32 = new Uint32Array(out.buffer, out.byteOffset, out.length / 4);
  const fd = fs.openSync(file, 'w');
  try {
    let written = 0;
    while (written < size) {
      const n = Math.min(batchMiB * MiB, size - written);
      const mibs = Math.ceil(n / MiB);
      for (let m = 0; m < mibs; m++) {
        const off = r() & mask;
        const k = r() | 1;
        const o = m * (MiB / 4);
        const first = base.length - off;
        for (let j = 0; j < first; j++) o32[o + j] = base[off + j] ^ k;
        for (let j = first; j < base.length; j++) o32[o + j] = base[j - first] ^ k;
      }
      let p = 0;
      while (p < n) p += fs.writeSync(fd, out, p, n - p, written + p);
      written += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.utimesSync(file, mtime, mtime);
}

/**
 * `count` edits of `len` random bytes at random offsets (aligned to `align` if given; distinct
 * positions when `distinct`). Sets the file's mtime to `mtime` (an edit makes a file newer).
 * Returns the sorted offsets.
 */
export function applyEdits(file, { count, len, align = 1, distinct = true, seed, mtime }) {
  const size = fs.statSync(file).size;
  const r = rng(seed);
  const slots = Math.floor((size - len) / align) + 1;
  const chosen = new Set();
  while (chosen.size < count) {
    const s = randInt(r, 0, slots - 1);
    if (distinct && chosen.has(s)) continue;
    chosen.add(s);
  }
  const offsets = [...chosen].map((s) => s * align).sort((a, b) => a - b);
  const buf = Buffer.allocUnsafe(len);
  const fd = fs.openSync(file, 'r+');
  try {
    for (const off of offsets) {
      fillRandom(buf, r);
      fs.writeSync(fd, buf, 0, len, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.utimesSync(file, mtime, mtime);
  return offsets;
}

/**
 * `count` files with sizes uniform in [minSize, maxSize], spread over `dirs` directories
 * (d000/f00000.bin …). Every file has its own PRNG content and a fixed mtime. Returns total bytes.
 */
export function writeSmallFiles(root, { count, dirs, minSize, maxSize, seed }) {
  const r = rng(seed);
  const buf = Buffer.allocUnsafe(Math.max(4, maxSize));
  let total = 0;
  const width = String(dirs - 1).length;
  fs.mkdirSync(root, { recursive: true });
  const dirNames = [];
  for (let d = 0; d < dirs; d++) {
    const dn = path.join(root, `d${String(d).padStart(Math.max(3, width), '0')}`);
    fs.mkdirSync(dn, { recursive: true });
    dirNames.push(dn);
  }
  for (let i = 0; i < count; i++) {
    const size = randInt(r, minSize, maxSize);
    const b = buf.subarray(0, size);
    if (size > 0) fillRandom(b, r);
    const f = path.join(dirNames[i % dirs], `f${String(i).padStart(6, '0')}.bin`);
    fs.writeFileSync(f, b);
    fs.utimesSync(f, T0 + (i % 1000), T0 + (i % 1000));
    total += size;
  }
  for (const dn of dirNames) fs.utimesSync(dn, T0, T0);
  fs.utimesSync(root, T0, T0);
  return total;
}

/** `size` bytes straight from the PRNG: nothing in it for a compressor to find. */
export function writeRandomFile(file, size, seed, mtime = T0) {
  const r = rng(seed);
  const batch = Buffer.allocUnsafe(8 * MiB);
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0; written < size;) {
      const n = Math.min(batch.length, size - written);
      fillRandom(batch.subarray(0, n), r);
      let p = 0;
      while (p < n) p += fs.writeSync(fd, batch, p, n - p, written + p);
      written += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.utimesSync(file, mtime, mtime);
}
