// Cluster-shaped histories (ms timestamps, several registers, 503s and timeouts) through the
// register workload's check. The search itself is tested in consensus/check.
import { describe, expect, it } from 'vitest';
import type { KvInput, KvOutput, Operation } from '../../../consensus/check/index.ts';
import { checkRegisterHistory } from './register.ts';

type Op = Operation<KvInput, KvOutput>;
const key = 's-north/order';
const other = 's-south/order';
const write = (clientId: number, k: string, value: number, call: number, ret: number, status: Op['status'] = 'ok'): Op => ({
  clientId,
  input: { kind: 'write', key: k, value },
  call,
  ret: status === 'info' ? Infinity : ret,
  output: status === 'ok' ? { ok: true } : undefined,
  status,
});
const read = (clientId: number, k: string, value: number, call: number, ret: number): Op => ({ clientId, input: { kind: 'read', key: k }, call, ret, output: { ok: true, value }, status: 'ok' });
const cas = (clientId: number, k: string, expect: number, value: number, swapped: boolean, call: number, ret: number): Op => ({
  clientId,
  input: { kind: 'cas', key: k, expect, value },
  call,
  ret,
  output: { ok: swapped },
  status: 'ok',
});

// Setup writes first (as the workload records them), then the clients.
const setup = [write(1_000_000, key, 1, 0, 8), write(1_000_001, other, 50, 0, 9)];

describe('register check on cluster histories', () => {
  it('passes a history with timeouts, 503s and concurrent writes that has a legal order', () => {
    const history = [
      ...setup,
      write(0, key, 2, 10, 40),
      read(1, key, 2, 20, 30), // overlaps the write: may see it
      write(2, key, 3, 45, 0, 'info'), // timed out: may land any time later, or never
      read(0, key, 2, 50, 60),
      read(1, key, 3, 70, 80), // …it landed
      write(3, other, 51, 12, 18, 'fail'), // 503: never applied
      read(3, other, 50, 90, 95),
      cas(4, key, 3, 4, true, 100, 120),
      cas(5, key, 3, 5, false, 110, 130),
      read(4, key, 4, 140, 150),
    ];
    const v = checkRegisterHistory(history, 10_000);
    expect(v.result).toBe('ok');
    expect(v.violations).toEqual([]);
    expect(v.stats.partitions).toBe(2);
  });

  it('finds a stale read: a deposed leader answering after a newer write was acknowledged', () => {
    const history = [...setup, write(0, key, 2, 10, 20), read(1, key, 1, 30, 40)];
    const v = checkRegisterHistory(history, 10_000);
    expect(v.result).toBe('illegal');
    expect(v.violations[0]?.kind).toBe('linearizability');
    expect(v.violations[0]?.message).toContain('read() -> 1');
  });

  it('finds a write that answered 503 (definitely not applied) but was applied', () => {
    const history = [...setup, write(0, key, 7, 10, 20, 'fail'), read(1, key, 7, 30, 40)];
    expect(checkRegisterHistory(history, 10_000).result).toBe('illegal');
  });

  it('finds split brain: two compare-and-sets from the same value both succeeding', () => {
    const history = [...setup, cas(0, key, 1, 2, true, 10, 30), cas(1, key, 1, 3, true, 15, 35), read(2, key, 3, 40, 50)];
    expect(checkRegisterHistory(history, 10_000).result).toBe('illegal');
  });

  it('finds a lost acknowledged write in the final read after the heal', () => {
    const history = [...setup, write(0, key, 2, 10, 20), write(1, key, 3, 25, 0, 'info'), read(1_000_002, key, 1, 500, 510)];
    expect(checkRegisterHistory(history, 10_000).result).toBe('illegal');
  });
});
