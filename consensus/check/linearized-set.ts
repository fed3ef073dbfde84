// The set of operations linearized so far on the current search path, split in two:
// ok operations (ids in call-time order) and indeterminate ones (ids of their own).
//
// Because ok ids follow call order and an operation cannot be linearized after one that
// returned before its call, the ok set is always "every id below firstUnsetOk, plus a few
// just above it". The memo cache stores exactly that compact form (okKey) instead of the
// whole bitset, which keeps long histories' caches small.

import { Bitset } from './bitset.ts';

export const NO_INFO: readonly number[] = Object.freeze([]);

export class LinearizedSet {
  readonly ok: Bitset;
  readonly info: Bitset;
  private firstUnsetOk = 0;

  constructor(okCount: number, infoCount: number) {
    this.ok = new Bitset(okCount);
    this.info = new Bitset(infoCount);
  }

  get size(): number {
    return this.ok.count() + this.info.count();
  }

  setOk(id: number): void {
    this.ok.set(id);
    if (id === this.firstUnsetOk) {
      while (this.firstUnsetOk < this.ok.sizeBits && this.ok.has(this.firstUnsetOk)) this.firstUnsetOk++;
    }
  }

  clearOk(id: number): void {
    this.ok.clear(id);
    if (id < this.firstUnsetOk) this.firstUnsetOk = id;
  }

  setInfo(id: number): void {
    this.info.set(id);
  }

  clearInfo(id: number): void {
    this.info.clear(id);
  }

  /** Exact compact form of the ok set: [firstUnsetOk, ...words from its word to the last set bit]. */
  okKey(): number[] {
    const key: number[] = [];
    this.appendOkKey(key);
    return key;
  }

  /** Appends okKey() to target without allocating; returns its length. */
  appendOkKey(target: number[]): number {
    const from = this.firstUnsetOk >>> 5;
    const to = this.okWordsEnd();
    const words = this.ok.words;
    target.push(this.firstUnsetOk);
    for (let w = from; w < to; w++) target.push(words[w]);
    return 1 + to - from;
  }

  okKeyEquals(key: readonly number[]): boolean {
    return this.okKeyEqualsRange(key, 0, key.length);
  }

  /** Whether keys[start, end) is this set's okKey. */
  okKeyEqualsRange(keys: readonly number[], start: number, end: number): boolean {
    if (keys[start] !== this.firstUnsetOk) return false;
    const from = this.firstUnsetOk >>> 5;
    if (end - start !== 1 + this.okWordsEnd() - from) return false;
    const words = this.ok.words;
    for (let i = start + 1; i < end; i++) {
      if (words[from + i - start - 1] !== keys[i]) return false;
    }
    return true;
  }

  /** One past the last word holding a set ok bit at or above firstUnsetOk's word; O(window). */
  private okWordsEnd(): number {
    const words = this.ok.words;
    let word = this.firstUnsetOk >>> 5;
    // Set bits from the start of that word on: the low bits below firstUnsetOk, plus all above it.
    let remaining = (this.firstUnsetOk & 31) + (this.ok.count() - this.firstUnsetOk);
    while (remaining > 0) {
      remaining -= popcount32(words[word]);
      word++;
    }
    if (remaining !== 0) throw new Error('LinearizedSet: ok bit count out of step with its words');
    return word;
  }

  /** The info set's words, copied; all empty sets share one array. */
  infoKey(): readonly number[] {
    if (this.info.count() === 0) return NO_INFO;
    return Array.from(this.info.words);
  }

  /** true if every info id in `subset` (an infoKey) is in this set. */
  infoContains(subset: readonly number[]): boolean {
    const words = this.info.words;
    for (let i = 0; i < subset.length; i++) {
      if ((subset[i] & ~words[i]) !== 0) return false;
    }
    return true;
  }

  /** true if this set's info ids are all in `superset` (an infoKey). */
  infoWithin(superset: readonly number[]): boolean {
    const words = this.info.words;
    if (superset === NO_INFO) return this.info.count() === 0;
    for (let i = 0; i < words.length; i++) {
      if ((words[i] & ~superset[i]) !== 0) return false;
    }
    return true;
  }
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
