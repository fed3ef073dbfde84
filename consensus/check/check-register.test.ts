import { describe, expect, it } from 'vitest';
import { checkOperations } from './check.ts';
import { registerModel } from './register-model.ts';
import { cas, failed, indeterminate, read, write, type RegisterOperation } from './testkit/history-dsl.ts';

function check(history: RegisterOperation[]): string {
  return checkOperations(registerModel, history).result;
}

describe('register histories that are linearizable', () => {
  it('accepts the empty history', () => {
    expect(check([])).toBe('ok');
  });

  it('accepts a read of the initial value (null) before any write', () => {
    expect(check([read(1, 0, 1, null), write(2, 2, 3, 7), read(1, 4, 5, 7)])).toBe('ok');
  });

  it('accepts a read concurrent with a write returning either the old or the new value', () => {
    expect(check([write(1, 0, 10, 1), read(2, 1, 2, null)])).toBe('ok');
    expect(check([write(1, 0, 10, 1), read(2, 1, 2, 1)])).toBe('ok');
  });

  it('accepts concurrent writes followed by reads of either winner', () => {
    const writes = [write(1, 0, 10, 1), write(2, 0, 10, 2)];
    expect(check([...writes, read(3, 11, 12, 1), read(3, 13, 14, 1)])).toBe('ok');
    expect(check([...writes, read(3, 11, 12, 2), read(3, 13, 14, 2)])).toBe('ok');
  });

  it('treats operations that touch at one instant as concurrent', () => {
    expect(check([write(1, 0, 5, 1), read(2, 5, 6, null)])).toBe('ok');
  });

  it('accepts a cas that swapped and a later read of the new value', () => {
    expect(check([write(1, 0, 1, 1), cas(2, 2, 3, 1, 2, true), read(1, 4, 5, 2)])).toBe('ok');
  });

  it('accepts a cas that found another value', () => {
    expect(check([write(1, 0, 1, 1), cas(2, 2, 3, 5, 2, false), read(1, 4, 5, 1)])).toBe('ok');
  });

  it('accepts two concurrent cas on one expected value when only one swapped', () => {
    expect(check([cas(1, 0, 5, null, 1, true), cas(2, 0, 5, null, 2, false), read(3, 6, 7, 1)])).toBe('ok');
  });
});

describe('register histories that are not linearizable', () => {
  it('rejects a stale read after a newer write completed', () => {
    expect(check([write(1, 0, 1, 1), write(1, 2, 3, 2), read(2, 4, 5, 1)])).toBe('illegal');
  });

  it('rejects a lost write: a completed write not seen by a later read', () => {
    expect(check([write(1, 0, 1, 1), read(2, 2, 3, null)])).toBe('illegal');
  });

  it('rejects reads that flip back after both concurrent writes completed', () => {
    const writes = [write(1, 0, 10, 1), write(2, 0, 10, 2)];
    expect(check([...writes, read(3, 11, 12, 2), read(3, 13, 14, 1)])).toBe('illegal');
  });

  it('rejects a read of a value nobody wrote', () => {
    expect(check([write(1, 0, 1, 1), read(2, 2, 3, 99)])).toBe('illegal');
  });

  it('rejects two cas on the same expected value that both swapped', () => {
    expect(check([cas(1, 0, 5, null, 1, true), cas(2, 0, 5, null, 2, true)])).toBe('illegal');
  });

  it('rejects a cas that reports no swap although the register held the expected value', () => {
    expect(check([write(1, 0, 1, 1), cas(2, 2, 3, 1, 2, false)])).toBe('illegal');
  });

  it('rejects a cas that reports a swap although the register held another value', () => {
    expect(check([write(1, 0, 1, 1), cas(2, 2, 3, 5, 2, true)])).toBe('illegal');
  });

  it('rejects a read of the old value after a cas swap completed', () => {
    expect(check([write(1, 0, 1, 1), cas(2, 2, 3, 1, 2, true), read(1, 4, 5, 1)])).toBe('illegal');
  });
});

describe('indeterminate (info) and failed operations', () => {
  it('accepts an indeterminate write that takes effect long after the client gave up', () => {
    const history = [indeterminate(write(1, 0, 2, 1)), read(2, 5, 6, null), read(2, 7, 8, null), read(2, 20, 21, 1)];
    expect(check(history)).toBe('ok');
  });

  it('accepts an indeterminate write that never takes effect', () => {
    const history = [indeterminate(write(1, 0, 2, 1)), read(2, 5, 6, null), read(2, 20, 21, null)];
    expect(check(history)).toBe('ok');
  });

  it('rejects an indeterminate write that appears and then disappears', () => {
    const history = [indeterminate(write(1, 0, 2, 1)), read(2, 5, 6, 1), read(2, 7, 8, null)];
    expect(check(history)).toBe('illegal');
  });

  it('never lets an indeterminate write take effect before its call', () => {
    const history = [read(2, 0, 1, 1), indeterminate(write(1, 2, 3, 1))];
    expect(check(history)).toBe('illegal');
  });

  it('rejects a read of a value only a failed write wrote', () => {
    const history = [failed(write(1, 0, 1, 1)), read(2, 2, 3, 1)];
    expect(check(history)).toBe('illegal');
  });

  it('rejects reading a failed write even while it was in flight', () => {
    const history = [failed(write(1, 0, 10, 1)), read(2, 2, 3, 1)];
    expect(check(history)).toBe('illegal');
  });

  it('drops failed operations and indeterminate reads before searching', () => {
    const history = [failed(write(1, 0, 1, 1)), indeterminate(read(2, 0, 1, 42)), write(3, 2, 3, 2), read(3, 4, 5, 2)];
    const result = checkOperations(registerModel, history);
    expect(result.result).toBe('ok');
    expect(result.stats).toMatchObject({ operations: 4, checked: 2, droppedFail: 1, droppedIndeterminateReads: 1, indeterminate: 0 });
  });

  it('accepts an indeterminate cas that swapped, or that never ran', () => {
    const pendingCas = indeterminate(cas(1, 0, 1, null, 5, true));
    expect(check([pendingCas, read(2, 2, 3, 5)])).toBe('ok');
    expect(check([pendingCas, read(2, 2, 3, null)])).toBe('ok');
    expect(check([pendingCas, read(2, 2, 3, 5), read(2, 4, 5, null)])).toBe('illegal');
  });

  it('lets several indeterminate writes take effect in any order, or not at all', () => {
    const lost = [1, 2, 3].map((v) => indeterminate(write(v, 0, 1, v)));
    expect(check([...lost, read(9, 2, 3, 3), read(9, 4, 5, 1), read(9, 6, 7, 2)])).toBe('ok');
    expect(check([...lost, read(9, 2, 3, 3), read(9, 4, 5, 1), read(9, 6, 7, 3)])).toBe('illegal');
  });
});

describe('the explanation of an illegal history', () => {
  it('names the longest linearizable prefix, the state it leaves and the operation that cannot fit', () => {
    const history = [write(1, 0, 1, 1), write(1, 2, 3, 2), read(2, 4, 5, 1)];
    const result = checkOperations(registerModel, history);
    if (result.result !== 'illegal') throw new Error(`expected illegal, got ${result.result}`);
    const e = result.explanation;
    expect(e.linearizedPrefix.map((op) => op.index)).toEqual([0, 1]);
    expect(e.stateAfterPrefix).toBe('2');
    expect(e.stuck.index).toBe(2);
    expect(e.stuck.operation).toBe(history[2]);
    expect(e.candidates).toEqual([expect.objectContaining({ index: 2, verdict: 'impossible' })]);
    expect(e.message).toContain('#2 client 2 [call 4, ret 5] read() -> 1');
    expect(e.message).toContain('State after the prefix: 2');
    expect(e.message).toContain('impossible from this state');
  });

  it('marks candidates that could go next but lead nowhere as dead ends', () => {
    // Either write may go first, but the reads demand 1 then 2 then 1.
    const history = [write(1, 0, 10, 1), write(2, 0, 10, 2), read(3, 11, 12, 1), read(3, 13, 14, 2)];
    const result = checkOperations(registerModel, history);
    if (result.result !== 'illegal') throw new Error(`expected illegal, got ${result.result}`);
    const e = result.explanation;
    expect(e.linearizedPrefix.length).toBeGreaterThanOrEqual(2);
    expect(e.candidates.length).toBeGreaterThan(0);
    expect(e.candidates.some((c) => c.index === e.stuck.index)).toBe(true);
  });

  it('reports original history indices when failed operations were dropped', () => {
    const history = [failed(write(1, 0, 1, 9)), write(1, 2, 3, 1), read(2, 4, 5, 9)];
    const result = checkOperations(registerModel, history);
    if (result.result !== 'illegal') throw new Error(`expected illegal, got ${result.result}`);
    expect(result.explanation.stuck.index).toBe(2);
    expect(result.explanation.linearizedPrefix.map((op) => op.index)).toEqual([1]);
  });
});
