import { describe, expect, it } from 'vitest';
import { checkOperations } from './check.ts';
import { kvModel, partitionByKey, type KvState } from './kv-model.ts';
import { cas, failed, indeterminate, onKey, read, write } from './testkit/history-dsl.ts';

describe('kvModel', () => {
  it('keeps keys independent', () => {
    const s1 = kvModel.step(kvModel.init(), { kind: 'write', key: 'a', value: 1 }, { ok: true }).state;
    expect(kvModel.step(s1, { kind: 'read', key: 'a' }, { ok: true, value: 1 }).ok).toBe(true);
    expect(kvModel.step(s1, { kind: 'read', key: 'b' }, { ok: true, value: null }).ok).toBe(true);
    expect(kvModel.step(s1, { kind: 'read', key: 'b' }, { ok: true, value: 1 }).ok).toBe(false);
  });

  it('does not mutate the state it steps from', () => {
    const before: KvState = kvModel.init();
    kvModel.step(before, { kind: 'write', key: 'a', value: 1 }, { ok: true });
    expect(before.size).toBe(0);
  });

  it('treats a key written null as equal to one never written', () => {
    const init = kvModel.init();
    const written = kvModel.step(init, { kind: 'write', key: 'a', value: 1 }, { ok: true }).state;
    const cleared = kvModel.step(written, { kind: 'write', key: 'a', value: null }, { ok: true }).state;
    expect(kvModel.equal(cleared, init)).toBe(true);
    expect(kvModel.hash?.(cleared)).toBe(kvModel.hash?.(init));
  });

  it('hashes equal maps equally regardless of insertion order', () => {
    const ab = new Map([['a', 1], ['b', 2]]);
    const ba = new Map([['b', 2], ['a', 1]]);
    expect(kvModel.equal(ab, ba)).toBe(true);
    expect(kvModel.hash?.(ab)).toBe(kvModel.hash?.(ba));
  });

  it('partitions a history per key, keeping every operation once', () => {
    const history = [onKey('a', write(1, 0, 1, 1)), onKey('b', write(2, 0, 1, 2)), onKey('a', read(1, 2, 3, 1))];
    const partitions = partitionByKey(history);
    expect(partitions).toEqual([[history[0], history[2]], [history[1]]]);
  });
});

describe('checking kv histories', () => {
  it('accepts interleaved operations on different keys', () => {
    const history = [
      onKey('a', write(1, 0, 10, 1)),
      onKey('b', write(2, 0, 10, 2)),
      onKey('a', read(3, 11, 12, 1)),
      onKey('b', cas(3, 13, 14, 2, 3, true)),
      onKey('b', read(1, 15, 16, 3)),
      onKey('c', read(2, 15, 16, null)),
    ];
    const result = checkOperations(kvModel, history);
    expect(result.result).toBe('ok');
    expect(result.stats.partitions).toBe(3);
    expect(result.stats.partitionsChecked).toBe(3);
  });

  it("rejects a read that sees another key's write", () => {
    const history = [onKey('a', write(1, 0, 1, 1)), onKey('b', read(2, 2, 3, 1))];
    expect(checkOperations(kvModel, history).result).toBe('illegal');
  });

  it('finds the one key with a stale read and explains it with the key', () => {
    const history = [
      onKey('a', write(1, 0, 1, 1)),
      onKey('b', write(1, 2, 3, 1)),
      onKey('b', write(1, 4, 5, 2)),
      onKey('a', read(2, 6, 7, 1)),
      onKey('b', read(2, 8, 9, 1)),
    ];
    const result = checkOperations(kvModel, history);
    if (result.result !== 'illegal') throw new Error(`expected illegal, got ${result.result}`);
    const e = result.explanation;
    expect(e.partitionCount).toBe(2);
    expect(e.partitionOperationCount).toBe(3);
    expect(e.stuck.index).toBe(4);
    expect(e.stuck.description).toContain('["b"] read() -> 1');
    expect(e.stateAfterPrefix).toBe('{"b"=2}');
  });

  it('applies fail and indeterminate semantics per key', () => {
    const legal = [onKey('a', indeterminate(write(1, 0, 1, 5))), onKey('b', failed(write(2, 0, 1, 6))), onKey('a', read(3, 9, 10, 5)), onKey('b', read(3, 9, 10, null))];
    expect(checkOperations(kvModel, legal).result).toBe('ok');
    const illegal = [onKey('b', failed(write(2, 0, 1, 6))), onKey('b', read(3, 9, 10, 6))];
    expect(checkOperations(kvModel, illegal).result).toBe('illegal');
  });
});
