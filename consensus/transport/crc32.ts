// CRC-32 (IEEE, as zlib) over a batch body: TCP's 16-bit checksum is too weak to trust
// alone, and a proxy or framing bug must surface as a closed link, not a corrupt Raft message.

import zlib from 'node:zlib';

type Crc32 = (data: Uint8Array) => number;

const CRC32_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Portable fallback for Node 20 releases before 20.15, which lack zlib.crc32. */
export function crc32Portable(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

export const crc32: Crc32 = typeof zlibCrc32 === 'function' ? (data) => zlibCrc32(data) : crc32Portable;
