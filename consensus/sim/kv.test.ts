import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, KvStateMachine, type KvCommand } from './kv.ts';

describe('key-value state machine', () => {
  const write = (clientId: number, seq: number, value: number): KvCommand => ({ clientId, seq, op: { kind: 'write', key: 'k', value } });

  it('round-trips commands', () => {
    const cas: KvCommand = { clientId: 3, seq: 9, op: { kind: 'cas', key: 'x', expect: null, value: 4 } };
    expect(decodeCommand(encodeCommand(cas))).toEqual(cas);
    expect(decodeCommand(encodeCommand(write(1, 2, 3)))).toEqual(write(1, 2, 3));
  });

  it('applies a client command once, even when it is committed twice', () => {
    const sm = new KvStateMachine(0, true);
    expect(sm.apply(1, write(1, 1, 10)).duplicate).toBe(false);
    sm.apply(2, write(2, 1, 20));
    expect(sm.apply(3, write(1, 1, 10)).duplicate).toBe(true);
    expect(sm.read('k')).toBe(20);
  });

  it('restores from its snapshot bytes', () => {
    const sm = new KvStateMachine(0, true);
    sm.apply(1, write(1, 1, 10));
    sm.apply(2, { clientId: 2, seq: 1, op: { kind: 'cas', key: 'k', expect: 10, value: 11 } });
    const copy = KvStateMachine.decode(sm.encode(), 2, true);
    expect(copy.digest()).toBe(sm.digest());
    expect(copy.apply(3, write(1, 1, 10)).duplicate).toBe(true);
  });
});
