import { describe, expect, it } from 'vitest';
import { checkOperations } from './check.ts';
import { HistoryError } from './history.ts';
import { kvModel } from './kv-model.ts';
import type { Model, Operation } from './model.ts';
import { registerModel, type RegisterInput, type RegisterOutput, type RegisterValue } from './register-model.ts';
import { onKey, read, write, type RegisterOperation } from './testkit/history-dsl.ts';

/** Many concurrent writes, then a read no order can explain: the search must try them all. */
function hardIllegalHistory(writes: number): RegisterOperation[] {
  const history = Array.from({ length: writes }, (_, i) => write(i, 0, 100, i + 1));
  history.push(read(writes, 101, 102, -1));
  return history;
}

describe('limits: the check stops with unknown, never ok', () => {
  it('proves the hard history illegal when the budget allows', () => {
    expect(checkOperations(registerModel, hardIllegalHistory(10)).result).toBe('illegal');
  });

  it('reports step-limit when stepsMax runs out', () => {
    const result = checkOperations(registerModel, hardIllegalHistory(14), { stepsMax: 1_000 });
    expect(result).toMatchObject({ result: 'unknown', reason: 'step-limit' });
  });

  it('reports timeout when the time limit runs out', () => {
    const result = checkOperations(registerModel, hardIllegalHistory(14), { timeoutMs: 0 });
    expect(result).toMatchObject({ result: 'unknown', reason: 'timeout' });
  });

  it('reports cache-limit when the memo cache outgrows its byte budget', () => {
    const result = checkOperations(registerModel, hardIllegalHistory(14), { cacheBytesMax: 10_000 });
    expect(result).toMatchObject({ result: 'unknown', reason: 'cache-limit' });
  });

  it('does not call a history ok when one key could not be finished', () => {
    const history = [...hardIllegalHistory(14).map((op) => onKey('hard', op)), onKey('easy', write(1, 0, 1, 1))];
    const result = checkOperations(kvModel, history, { stepsMax: 1_000 });
    expect(result.result).toBe('unknown');
  });

  it('still finds an illegal small key when a big key is too hard to finish', () => {
    const history = [
      ...hardIllegalHistory(14).map((op) => onKey('hard', op)),
      onKey('easy', write(1, 0, 1, 1)),
      onKey('easy', read(2, 2, 3, null)),
    ];
    const result = checkOperations(kvModel, history, { stepsMax: 1_000 });
    if (result.result !== 'illegal') throw new Error(`expected illegal, got ${result.result}`);
    expect(result.explanation.stuck.index).toBe(16);
  });

  it('checks a 100,000-operation sequential history without overflowing the call stack', () => {
    const history: RegisterOperation[] = [];
    for (let i = 0; i < 50_000; i++) {
      history.push(write(1, 4 * i, 4 * i + 1, i), read(1, 4 * i + 2, 4 * i + 3, i));
    }
    expect(checkOperations(registerModel, history).result).toBe('ok');
    history.push(read(1, 400_000, 400_001, 3));
    const result = checkOperations(registerModel, history);
    if (result.result !== 'illegal') throw new Error(`expected illegal, got ${result.result}`);
    expect(result.explanation.linearizedPrefix).toHaveLength(100_000);
    expect(result.explanation.message.split('\n').length).toBeLessThan(30);
  });

  it('rejects invalid options with a RangeError naming the option', () => {
    expect(() => checkOperations(registerModel, [], { timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(() => checkOperations(registerModel, [], { stepsMax: 1.5 })).toThrow(RangeError);
  });
});

describe('malformed histories', () => {
  const op = (overrides: Partial<RegisterOperation>): RegisterOperation => ({ ...write(1, 0, 1, 1), ...overrides });

  it('rejects a return before the call', () => {
    expect(() => checkOperations(registerModel, [op({ call: 5, ret: 4 })])).toThrow(HistoryError);
  });

  it('rejects an ok operation without an output', () => {
    expect(() => checkOperations(registerModel, [op({ output: undefined })])).toThrow(/no output/);
  });

  it('rejects an unknown status and a non-finite call time', () => {
    expect(() => checkOperations(registerModel, [op({ status: 'maybe' as 'ok' })])).toThrow(/status/);
    expect(() => checkOperations(registerModel, [op({ call: Number.NaN })])).toThrow(/call time/);
  });

  it('accepts an info operation with no return time', () => {
    expect(checkOperations(registerModel, [op({ status: 'info', output: undefined, ret: Infinity })]).result).toBe('ok');
  });

  it('rejects a model whose partition loses or duplicates operations', () => {
    const dropping: Model<RegisterValue, RegisterInput, RegisterOutput> = {
      ...registerModel,
      partition: (history: Operation<RegisterInput, RegisterOutput>[]) => [history.slice(1)],
    };
    const duplicating: Model<RegisterValue, RegisterInput, RegisterOutput> = {
      ...registerModel,
      partition: (history: Operation<RegisterInput, RegisterOutput>[]) => [history, history],
    };
    const history = [write(1, 0, 1, 1), read(1, 2, 3, 1)];
    expect(() => checkOperations(dropping, history)).toThrow(/exactly once/);
    expect(() => checkOperations(duplicating, history)).toThrow(/two partitions/);
  });
});
