import { describe, expect, it } from 'vitest';
import { OpLog } from './op_log.ts';

describe('op log', () => {
  it('counts per kind and outcome, the final phase apart, and groups errors that differ only in ids and numbers', () => {
    const log = new OpLog();
    log.record('transfer', 'fail', 0, 10, "409 conflict: transfer 'chk-1-2' would go below 0");
    log.record('transfer', 'fail', 5, 12, "409 conflict: transfer 'chk-7-9' would go below 0");
    log.record('transfer', 'ok', 6, 9);
    log.beginFinalPhase();
    log.record('read', 'ok', 20, 21);
    expect(log.byKind()).toEqual({ transfer: { ok: 1, fail: 2, info: 0 } });
    expect(log.byKind('final')).toEqual({ read: { ok: 1, fail: 0, info: 0 } });
    expect(log.total()).toEqual({ ok: 1, fail: 2, info: 0 });
    expect(log.errors()).toEqual({ "transfer fail: 409 conflict: transfer '…' would go below N": 2 });
    expect(log.allSamples().map((s) => s.phase)).toEqual(['main', 'main', 'main', 'final']);
    expect(() => log.record('read', 'ok', 30, 29)).toThrow(/before it started/);
  });
});
