import { describe, expect, it } from 'vitest';
import { checkOperations } from './check.ts';
import { registerModel, type RegisterInput, type RegisterOutput } from './register-model.ts';
import { HistoryRecorder, logicalClock } from './recorder.ts';

function recorder(clock = logicalClock()): HistoryRecorder<RegisterInput, RegisterOutput> {
  return new HistoryRecorder<RegisterInput, RegisterOutput>({ clock });
}

describe('HistoryRecorder', () => {
  it('records invoke and completion times from the injected clock', () => {
    const history = recorder();
    const w = history.invoke(1, { kind: 'write', value: 5 });
    const r = history.invoke(2, { kind: 'read' });
    history.ok(w, { ok: true });
    history.ok(r, { ok: true, value: 5 });
    expect(history.operations()).toEqual([
      { clientId: 1, input: { kind: 'write', value: 5 }, call: 0, output: { ok: true }, ret: 2, status: 'ok' },
      { clientId: 2, input: { kind: 'read' }, call: 1, output: { ok: true, value: 5 }, ret: 3, status: 'ok' },
    ]);
  });

  it('records fail and info outcomes without outputs, and reports pending operations as info', () => {
    const history = recorder();
    history.fail(history.invoke(1, { kind: 'write', value: 1 }));
    history.info(history.invoke(2, { kind: 'write', value: 2 }));
    history.invoke(3, { kind: 'write', value: 3 });
    const ops = history.operations();
    expect(ops.map((op) => [op.status, op.output])).toEqual([
      ['fail', undefined],
      ['info', undefined],
      ['info', undefined],
    ]);
    expect(ops[2].ret).toBe(Infinity);
    expect(history.pendingCount).toBe(1);
  });

  it('produces histories the checker accepts or rejects as the outcomes dictate', () => {
    const history = recorder();
    history.ok(history.invoke(1, { kind: 'write', value: 1 }), { ok: true });
    history.info(history.invoke(1, { kind: 'write', value: 2 }));
    history.ok(history.invoke(2, { kind: 'read' }), { ok: true, value: 2 });
    expect(checkOperations(registerModel, history.operations()).result).toBe('ok');
    history.ok(history.invoke(2, { kind: 'read' }), { ok: true, value: 1 });
    expect(checkOperations(registerModel, history.operations()).result).toBe('illegal');
  });

  it('accepts a simulated clock that repeats a time, and treats touching operations as concurrent', () => {
    let nowMs = 10;
    const history = recorder(() => nowMs);
    const w = history.invoke(1, { kind: 'write', value: 1 });
    history.ok(w, { ok: true });
    const r = history.invoke(2, { kind: 'read' });
    nowMs = 11;
    history.ok(r, { ok: true, value: null });
    expect(history.operations().map((op) => [op.call, op.ret])).toEqual([
      [10, 10],
      [10, 11],
    ]);
    expect(checkOperations(registerModel, history.operations()).result).toBe('ok');
  });

  it('rejects a clock that goes backwards', () => {
    let nowMs = 10;
    const history = recorder(() => nowMs);
    const w = history.invoke(1, { kind: 'write', value: 1 });
    nowMs = 9;
    expect(() => history.ok(w, { ok: true })).toThrow(/monotonic/);
  });

  it('rejects misuse: a second pending operation per client, double completion, ok without output', () => {
    const history = recorder();
    const w = history.invoke(1, { kind: 'write', value: 1 });
    expect(() => history.invoke(1, { kind: 'read' })).toThrow(/pending/);
    expect(() => history.complete(w, 'ok', undefined)).toThrow(/without an output/);
    history.ok(w, { ok: true });
    expect(() => history.ok(w, { ok: true })).toThrow(/already completed/);
    expect(() => history.ok(99, { ok: true })).toThrow(/unknown operation handle/);
  });

  it('lets a client invoke again after an indeterminate outcome', () => {
    const history = recorder();
    history.info(history.invoke(1, { kind: 'write', value: 1 }));
    expect(() => history.invoke(1, { kind: 'read' })).not.toThrow();
  });

  it('enforces operationsMax', () => {
    const history = new HistoryRecorder<RegisterInput, RegisterOutput>({ clock: logicalClock(), operationsMax: 1 });
    history.fail(history.invoke(1, { kind: 'read' }));
    expect(() => history.invoke(1, { kind: 'read' })).toThrow(/operationsMax/);
  });
});
