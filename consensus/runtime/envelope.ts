// A proposal on the wire and in the log: who proposed it (node, sequence) and the command bytes.
// The origin lets the proposing node find its waiter when the entry applies, whoever led then.

const VERSION = 1;

export interface Envelope {
  originNode: number;
  seq: number;
  payload: Uint8Array;
}

function writeUvarint(buf: number[], v: number): void {
  while (v >= 0x80) {
    buf.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  buf.push(v);
}

export function encodeEnvelope(originNode: number, seq: number, payload: Uint8Array): Uint8Array {
  const head: number[] = [VERSION];
  writeUvarint(head, originNode);
  writeUvarint(head, seq);
  const out = new Uint8Array(head.length + payload.byteLength);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** Decodes an envelope; returns undefined for bytes that are not one (e.g. written by an older format). */
export function decodeEnvelope(data: Uint8Array): Envelope | undefined {
  if (data.byteLength < 3 || data[0] !== VERSION) return undefined;
  let pos = 1;
  const read = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (pos >= data.byteLength) return undefined;
      const b = data[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    return undefined;
  };
  const originNode = read();
  const seq = read();
  if (originNode === undefined || seq === undefined) return undefined;
  return { originNode, seq, payload: data.subarray(pos) };
}
