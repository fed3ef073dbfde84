// A bounded ring of in-flight append messages to one follower (flow control by count and bytes).
import { assert } from './errors.ts';

export class Inflights {
  private start = 0;
  count = 0;
  bytes = 0;
  readonly size: number;
  readonly bytesMax: number;
  private indexes: number[];
  private sizes: number[];

  constructor(size: number, bytesMax: number) {
    assert(size > 0, 'inflights size must be positive');
    this.size = size;
    this.bytesMax = bytesMax;
    this.indexes = new Array<number>(size).fill(0);
    this.sizes = new Array<number>(size).fill(0);
  }

  clone(): Inflights {
    const c = new Inflights(this.size, this.bytesMax);
    c.start = this.start;
    c.count = this.count;
    c.bytes = this.bytes;
    c.indexes = this.indexes.slice();
    c.sizes = this.sizes.slice();
    return c;
  }

  /** Records an in-flight message whose last entry is `index`. Indexes must increase. */
  add(index: number, bytes: number): void {
    assert(!this.full(), 'cannot add into a full inflights');
    let next = this.start + this.count;
    if (next >= this.size) next -= this.size;
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every in-flight message with last index <= to. */
  freeLE(to: number): void {
    if (this.count === 0 || to < this.indexes[this.start]) return;
    let idx = this.start;
    let i = 0;
    let bytes = 0;
    for (; i < this.count; i++) {
      if (to < this.indexes[idx]) break;
      bytes += this.sizes[idx];
      idx++;
      if (idx >= this.size) idx -= this.size;
    }
    this.count -= i;
    this.bytes -= bytes;
    this.start = idx;
    if (this.count === 0) this.start = 0;
  }

  full(): boolean {
    return this.count === this.size || (this.bytesMax !== 0 && this.bytes >= this.bytesMax);
  }

  reset(): void {
    this.count = 0;
    this.start = 0;
    this.bytes = 0;
  }
}
