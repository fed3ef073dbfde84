import { describe, expect, it } from 'vitest';
import { Bitset } from './bitset.ts';
import { EntryList, NODE_NONE, NodeKind } from './entry-list.ts';
import { LinearizedSet } from './linearized-set.ts';

describe('Bitset', () => {
  it('sets, clears and counts bits across word boundaries', () => {
    const bits = new Bitset(100);
    for (const bit of [0, 31, 32, 99]) bits.set(bit);
    expect(bits.count()).toBe(4);
    expect(bits.has(31) && bits.has(32) && !bits.has(33)).toBe(true);
    bits.clear(31);
    expect(bits.has(31)).toBe(false);
    expect(bits.count()).toBe(3);
  });

  it('hashes by contents, not by the order bits were set in', () => {
    const a = new Bitset(64);
    const b = new Bitset(64);
    [3, 40, 7].forEach((bit) => a.set(bit));
    [7, 3, 40].forEach((bit) => b.set(bit));
    expect(a.hash()).toBe(b.hash());
    expect(a.equalsWords(b.copyWords())).toBe(true);
    b.clear(40);
    expect(a.hash()).not.toBe(b.hash());
    b.set(40);
    expect(a.hash()).toBe(b.hash());
  });

  it('asserts against double sets, double clears and out-of-range bits', () => {
    const bits = new Bitset(8);
    bits.set(1);
    expect(() => bits.set(1)).toThrow(/already set/);
    expect(() => bits.clear(2)).toThrow(/not set/);
    expect(() => bits.has(8)).toThrow(RangeError);
  });
});

describe('LinearizedSet', () => {
  it('compares ok sets exactly through their compact key', () => {
    const a = new LinearizedSet(70, 0);
    const b = new LinearizedSet(70, 0);
    for (let i = 0; i < 40; i++) a.setOk(i);
    a.setOk(45);
    const key = a.okKey();
    expect(key[0]).toBe(40);
    for (const i of [45, ...Array.from({ length: 40 }, (_, i) => 39 - i)]) b.setOk(i);
    expect(b.okKeyEquals(key)).toBe(true);
    b.setOk(69);
    expect(b.okKeyEquals(key)).toBe(false);
    b.clearOk(69);
    b.clearOk(3);
    expect(b.okKeyEquals(key)).toBe(false);
  });

  it('tests info-set inclusion both ways', () => {
    const small = new LinearizedSet(0, 40);
    const big = new LinearizedSet(0, 40);
    small.setInfo(33);
    big.setInfo(33);
    big.setInfo(2);
    expect(big.infoContains(small.infoKey())).toBe(true);
    expect(small.infoContains(big.infoKey())).toBe(false);
    expect(small.infoWithin(big.infoKey())).toBe(true);
    expect(new LinearizedSet(0, 40).infoWithin(small.infoKey())).toBe(true);
  });
});

describe('EntryList', () => {
  const walk = (list: EntryList, from: number): string[] => {
    const seen: string[] = [];
    for (let node = from; node !== NODE_NONE; node = list.next[node]) {
      seen.push(`${list.nodeKind[node] === NodeKind.Return ? 'ret' : 'call'}${list.nodeOp[node]}@${node}`);
    }
    return seen;
  };

  it('orders events by time, calls before returns at equal times, indeterminate calls in their own chain', () => {
    const list = new EntryList([
      { call: 0, ret: 5, indeterminate: false },
      { call: 5, ret: 6, indeterminate: false },
      { call: 1, ret: Infinity, indeterminate: true },
    ]);
    // Node ids follow time across both chains: the indeterminate call (t=1) is node 2.
    expect(walk(list, list.first())).toEqual(['call0@1', 'call1@3', 'ret0@4', 'ret1@5']);
    expect(walk(list, list.firstInfo())).toEqual(['call2@2']);
    expect(list.firstReturn()).toBe(4);
  });

  it('restores the exact chains when lifts are undone in reverse order', () => {
    const list = new EntryList([
      { call: 0, ret: 1, indeterminate: false },
      { call: 0, ret: 3, indeterminate: false },
      { call: 2, ret: Infinity, indeterminate: true },
    ]);
    const main = walk(list, list.first());
    const info = walk(list, list.firstInfo());
    const call0 = list.first();
    list.lift(call0);
    const infoCall = list.firstInfo();
    list.lift(infoCall);
    expect(walk(list, list.first())).toEqual(['call1@2', 'ret1@5']);
    expect(list.firstInfo()).toBe(NODE_NONE);
    list.unlift(infoCall);
    list.unlift(call0);
    expect(walk(list, list.first())).toEqual(main);
    expect(walk(list, list.firstInfo())).toEqual(info);
  });
});
