// The public API end to end, as a simulator or cluster test would use it.

import { describe, expect, it } from 'vitest';
import { HistoryRecorder, checkOperations, kvModel, logicalClock, type KvInput, type KvOutput } from './index.ts';

describe('consensus/check public API', () => {
  it('records a client history and checks it per key', () => {
    const history = new HistoryRecorder<KvInput, KvOutput>({ clock: logicalClock() });
    const put = history.invoke(1, { kind: 'write', key: 'x', value: 1 });
    const get = history.invoke(2, { kind: 'read', key: 'x' });
    history.ok(put, { ok: true });
    history.ok(get, { ok: true, value: 1 });
    history.info(history.invoke(1, { kind: 'cas', key: 'x', expect: 1, value: 2 })); // timed out
    history.fail(history.invoke(2, { kind: 'write', key: 'y', value: 9 })); // rejected: 503
    history.ok(history.invoke(2, { kind: 'read', key: 'y' }), { ok: true, value: null });

    const result = checkOperations(kvModel, history.operations(), { timeoutMs: 10_000 });
    expect(result.result).toBe('ok');
    expect(result.stats).toMatchObject({ operations: 5, droppedFail: 1, indeterminate: 1, partitions: 2 });
  });

  it('explains a violation in words', () => {
    const history = new HistoryRecorder<KvInput, KvOutput>({ clock: logicalClock() });
    history.ok(history.invoke(1, { kind: 'write', key: 'x', value: 1 }), { ok: true });
    history.ok(history.invoke(1, { kind: 'write', key: 'x', value: 2 }), { ok: true });
    history.ok(history.invoke(2, { kind: 'read', key: 'x' }), { ok: true, value: 1 });

    const result = checkOperations(kvModel, history.operations());
    if (result.result !== 'illegal') throw new Error(`expected illegal, got ${result.result}`);
    expect(result.explanation.message).toMatchInlineSnapshot(`
      "not linearizable: partition 1 of 1 (3 operations) has no legal order.
      Longest linearizable prefix: 2 operation(s):
        #0 client 1 [call 0, ret 1] ["x"] write(1) -> ok
        #1 client 1 [call 2, ret 3] ["x"] write(2) -> ok
      State after the prefix: {"x"=2}
      Operation #2 returned at 5 but no pending operation could be linearized next:
        #2 client 2 [call 4, ret 5] ["x"] read() -> 1 — impossible from this state"
    `);
  });
});
