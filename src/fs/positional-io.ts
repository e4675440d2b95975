import type { FileHandle } from 'node:fs/promises';

/** Reads up to `length` bytes at `offset`, fewer only at end of file. */
export async function readAt(fh: FileHandle, buffer: Buffer, offset: number, length: number): Promise<Buffer> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/** Writes all of `data` at `offset`. */
export async function writeAt(fh: FileHandle, data: Uint8Array, offset: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
    done += bytesWritten;
  }
}
