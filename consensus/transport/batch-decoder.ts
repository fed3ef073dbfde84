// Reassembles batches from TCP chunks. A batch that lies inside one chunk is handed out as a
// view (no copy); one that spans chunks is copied once into a buffer of its exact, already
// bounds-checked size. Each byte is copied at most once, so cost is linear in bytes received,
// and the decoder never holds more than one header plus bodyBytesMax.

import { crc32 } from './crc32.ts';
import { TransportProtocolError } from './protocol-error.ts';
import { BATCH_HEADER_BYTES } from './wire.ts';

export class BatchDecoder {
  private bodyBytesMax: number;
  private readonly header = Buffer.alloc(BATCH_HEADER_BYTES);
  private headerFilledBytes = 0;
  /** The body being assembled across chunks; null while reading a header. */
  private body: Buffer | null = null;
  private bodyFilledBytes = 0;
  private bodyCrc = 0;

  constructor(bodyBytesMax: number) {
    this.bodyBytesMax = bodyBytesMax;
  }

  /** Raised after the handshake: unauthenticated peers get a small limit, known peers the full one. */
  setBodyBytesMax(bodyBytesMax: number): void {
    if (bodyBytesMax < this.bodyBytesMax) throw new Error('assertion: decoder limit may only grow');
    this.bodyBytesMax = bodyBytesMax;
  }

  /** Bytes held for an incomplete batch. */
  bufferedBytes(): number {
    return this.body === null ? this.headerFilledBytes : this.bodyFilledBytes;
  }

  /**
   * Feeds one chunk; calls `onBody` for every complete, checksum-verified body in order. `owned`:
   * the body is a buffer of its own (assembled across chunks) that the decoder never touches
   * again, so what is decoded from it may alias it; otherwise it is a view into `chunk`.
   * Throws TransportProtocolError on an oversized, empty or corrupt batch; the decoder is then unusable.
   */
  push(chunk: Buffer, onBody: (body: Buffer, owned: boolean) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.body === null) {
        let headerSource: Buffer;
        let headerOffset: number;
        if (this.headerFilledBytes === 0 && chunk.length - offset >= BATCH_HEADER_BYTES) {
          headerSource = chunk;
          headerOffset = offset;
          offset += BATCH_HEADER_BYTES;
        } else {
          const copied = chunk.copy(this.header, this.headerFilledBytes, offset, offset + BATCH_HEADER_BYTES - this.headerFilledBytes);
          this.headerFilledBytes += copied;
          offset += copied;
          if (this.headerFilledBytes < BATCH_HEADER_BYTES) return;
          this.headerFilledBytes = 0;
          headerSource = this.header;
          headerOffset = 0;
        }
        const bodyBytes = headerSource.readUInt32BE(headerOffset);
        const bodyCrc = headerSource.readUInt32BE(headerOffset + 4);
        if (bodyBytes > this.bodyBytesMax) {
          throw new TransportProtocolError(
            'batchTooLarge',
            `batch of ${bodyBytes} bytes exceeds the ${this.bodyBytesMax}-byte limit (a peer with a larger batchBytesMax, or not a nimmer transport)`,
          );
        }
        if (bodyBytes === 0) throw new TransportProtocolError('batchEmpty', 'batch with an empty body (no kind byte)');

        if (chunk.length - offset >= bodyBytes) {
          const body = chunk.subarray(offset, offset + bodyBytes);
          offset += bodyBytes;
          verifyCrc(body, bodyCrc);
          onBody(body, false);
        } else {
          this.body = Buffer.allocUnsafe(bodyBytes);
          this.bodyFilledBytes = chunk.copy(this.body, 0, offset);
          this.bodyCrc = bodyCrc;
          return;
        }
      } else {
        const copied = chunk.copy(this.body, this.bodyFilledBytes, offset, offset + this.body.length - this.bodyFilledBytes);
        this.bodyFilledBytes += copied;
        offset += copied;
        if (this.bodyFilledBytes < this.body.length) return;
        const body = this.body;
        this.body = null;
        this.bodyFilledBytes = 0;
        verifyCrc(body, this.bodyCrc);
        onBody(body, true);
      }
    }
  }
}

function verifyCrc(body: Buffer, expectedCrc: number): void {
  const actualCrc = crc32(body);
  if (actualCrc !== expectedCrc) {
    throw new TransportProtocolError(
      'checksumMismatch',
      `batch of ${body.length} bytes has crc32 ${actualCrc.toString(16)}, header says ${expectedCrc.toString(16)} (corrupted in transit)`,
    );
  }
}
