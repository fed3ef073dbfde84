// A fixed-size bitset over operation ids (the "linearized" set of the search) that keeps a
// Zobrist-style hash up to date in O(1) per set/clear, so memo lookups never rescan words.

export const BITSET_BITS_MAX = 1 << 28;

/** murmur3's 32-bit finaliser: a cheap, well-mixed hash of a small integer. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function bitKeyLow(bit: number): number {
  return mix32(bit * 2 + 1);
}

function bitKeyHigh(bit: number): number {
  return mix32((bit * 2 + 2) ^ 0x9e3779b9);
}

export class Bitset {
  readonly sizeBits: number;
  readonly words: Uint32Array;
  private hashLow = 0;
  private hashHigh = 0;
  private countBits = 0;

  constructor(sizeBits: number) {
    if (!Number.isInteger(sizeBits) || sizeBits < 0 || sizeBits > BITSET_BITS_MAX) {
      throw new RangeError(`Bitset size ${sizeBits} is not an integer in [0, ${BITSET_BITS_MAX}]`);
    }
    this.sizeBits = sizeBits;
    this.words = new Uint32Array(Math.ceil(sizeBits / 32));
  }

  has(bit: number): boolean {
    this.assertInRange(bit);
    return (this.words[bit >>> 5] & (1 << (bit & 31))) !== 0;
  }

  set(bit: number): void {
    if (this.has(bit)) throw new Error(`Bitset.set(${bit}): bit already set`);
    this.words[bit >>> 5] |= 1 << (bit & 31);
    this.toggleHash(bit);
    this.countBits++;
  }

  clear(bit: number): void {
    if (!this.has(bit)) throw new Error(`Bitset.clear(${bit}): bit not set`);
    this.words[bit >>> 5] &= ~(1 << (bit & 31));
    this.toggleHash(bit);
    this.countBits--;
  }

  count(): number {
    return this.countBits;
  }

  /** A 53-bit hash of the set contents, independent of the order bits were set in. */
  hash(): number {
    return this.hashHigh * 0x200000 + (this.hashLow >>> 11);
  }

  equalsWords(other: Uint32Array): boolean {
    const words = this.words;
    if (other.length !== words.length) return false;
    for (let i = 0; i < words.length; i++) {
      if (words[i] !== other[i]) return false;
    }
    return true;
  }

  copyWords(): Uint32Array {
    return this.words.slice();
  }

  private toggleHash(bit: number): void {
    this.hashLow = (this.hashLow ^ bitKeyLow(bit)) >>> 0;
    this.hashHigh = (this.hashHigh ^ bitKeyHigh(bit)) >>> 0;
  }

  private assertInRange(bit: number): void {
    if (!(bit >= 0 && bit < this.sizeBits && Number.isInteger(bit))) {
      throw new RangeError(`Bitset bit ${bit} out of range [0, ${this.sizeBits})`);
    }
  }
}
