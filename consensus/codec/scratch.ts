import { Writer } from './writer.ts';

// One reusable writer for the encode* functions: encoding is synchronous, so it is never shared
// by two encodings at once. It is shrunk back after an unusually large value so one big snapshot
// does not pin its buffer forever.
const scratchBytesKept = 1 << 20;
let scratch = new Writer(4096);

export function encodeWith(write: (w: Writer) => void): Uint8Array {
  const w = scratch;
  w.reset();
  try {
    write(w);
    return w.finish();
  } finally {
    if (w.capacityBytes > scratchBytesKept) scratch = new Writer(4096);
  }
}
