import * as ws from 'ws';

/**
 * Buffers for received WebSocket messages, used again once their payload is written.
 *
 * `ws` copies a message that spans several socket reads (every chunk payload: 1 MiB arrives in
 * 64 KiB reads) into a fresh buffer. A fresh buffer of that size is new memory from the kernel:
 * every page of it faults in, and it goes back at a garbage collection. On these machines that
 * cost more than the copy: a 1 GiB download took 3.4 s, 1.7 s with glibc keeping such buffers
 * (MALLOC_MMAP_THRESHOLD_). So the receiver's copy goes into a buffer from this pool, and the
 * code that writes a payload gives it back (`release`) once the write is done. A buffer never
 * given back is only collected as before: nothing else refers to the pool.
 */

/** Messages below this come from `ws` as before (a slice of one socket read, or small). */
export const POOLED_FROM = 128 * 1024;
/** Bytes of free buffers kept at most: enough for the flow of a sync, which gives back as fast as it takes. */
const KEPT_BYTES = 16 * 1024 * 1024;

/** Free buffers by size class (a power of two), and the total size they hold. */
const free = new Map<number, Buffer[]>();
let keptBytes = 0;
/**
 * Each buffer handed out is a loan: the memory's current loan, and the loan each handed-out view
 * belongs to. A release names the view it was given (not a slice of it), counts once, and does
 * nothing when that loan is over (the memory may be someone else's message by then).
 */
const currentLoan = new WeakMap<ArrayBuffer, number>();
const loanOf = new WeakMap<Uint8Array, number>();
let loans = 0;

/** A buffer of `length` bytes from the pool (uninitialised, like Buffer.allocUnsafe). */
export function takeReceiveBuffer(length: number): Buffer {
  const size = sizeClass(length);
  const whole = free.get(size)?.pop();
  if (whole !== undefined) keptBytes -= size;
  const buffer = whole ?? Buffer.allocUnsafeSlow(size);
  const view = buffer.subarray(0, length);
  currentLoan.set(buffer.buffer as ArrayBuffer, ++loans);
  loanOf.set(view, loans);
  return view;
}

/**
 * Gives back a received message once nothing reads it any more: its owner calls this right
 * after its last use, with the message itself. Anything else is ignored: a buffer that did not
 * come from the pool, a slice, a message given back already.
 */
export function releaseReceiveBuffer(view: Uint8Array): void {
  receiveBufferReleaser(view)();
}

/**
 * A function that gives back the message `view`, for code that may call it late or more than
 * once (several files sharing one message each hold one): only the first call of its loan counts.
 */
export function receiveBufferReleaser(view: Uint8Array): () => void {
  const loan = loanOf.get(view);
  if (loan === undefined) return () => {};
  const memory = view.buffer as ArrayBuffer;
  return () => giveBack(memory, loan);
}

function giveBack(memory: ArrayBuffer, loan: number): void {
  if (currentLoan.get(memory) !== loan) return;
  currentLoan.delete(memory);
  const size = memory.byteLength;
  if (keptBytes + size > KEPT_BYTES) return;
  let list = free.get(size);
  if (list === undefined) free.set(size, (list = []));
  list.push(Buffer.from(memory, 0, size));
  keptBytes += size;
}

function sizeClass(length: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(length, POOLED_FROM)));
}

const pooled = Symbol('pareco pooled receive');

interface ReceiverInternals {
  _buffers: Buffer[];
  _bufferedBytes: number;
  consume(n: number): Buffer;
}

/**
 * Makes every `ws` receiver of this process copy a message that spans several socket reads
 * into a pooled buffer (ws 8's `Receiver#consume`, the one place it allocates for a message).
 * Idempotent.
 */
export function poolReceivedMessages(): void {
  const receiver = (ws as unknown as { Receiver?: { prototype: ReceiverInternals & { [pooled]?: true } } }).Receiver;
  const proto = receiver?.prototype;
  if (proto === undefined || proto[pooled] === true || typeof proto.consume !== 'function') return;
  const original = proto.consume;
  proto.consume = function consume(this: ReceiverInternals, n: number): Buffer {
    const first = this._buffers[0];
    if (n < POOLED_FROM || first === undefined || n <= first.length) return original.call(this, n);
    this._bufferedBytes -= n;
    const dst = takeReceiveBuffer(n);
    let at = 0;
    while (at < n) {
      const buf = this._buffers[0]!;
      const want = n - at;
      if (want >= buf.length) {
        dst.set(buf, at);
        this._buffers.shift();
        at += buf.length;
      } else {
        dst.set(buf.subarray(0, want), at);
        this._buffers[0] = buf.subarray(want);
        at += want;
      }
    }
    return dst;
  };
  proto[pooled] = true;
}

