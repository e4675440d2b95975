/**
 * The bytes of a batch of small files as one payload. The files of a batch are read into one
 * buffer, one after the other (LocalTree.readMany), so the payload is usually a view of that
 * buffer; only parts that do not lie end to end are copied. (Copying every batch cost a tenth
 * of an upload of 10,000 small files.)
 */
export function batchPayload(parts: Buffer[]): Buffer {
  const first = parts[0];
  if (first === undefined) return Buffer.alloc(0);
  let end = first.byteOffset + first.length;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.buffer !== first.buffer || part.byteOffset !== end) return Buffer.concat(parts);
    end += part.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}
