import { describe, expect, it } from 'vitest';
import { registerModel, stepRegister } from './register-model.ts';

describe('registerModel.step', () => {
  it('starts empty (null)', () => {
    expect(registerModel.init()).toBeNull();
  });

  it('accepts a read only of the current value', () => {
    expect(stepRegister(3, { kind: 'read' }, { ok: true, value: 3 })).toEqual({ ok: true, state: 3 });
    expect(stepRegister(3, { kind: 'read' }, { ok: true, value: 4 }).ok).toBe(false);
    expect(stepRegister(null, { kind: 'read' }, { ok: true, value: null }).ok).toBe(true);
    expect(stepRegister(null, { kind: 'read' }, { ok: true }).ok).toBe(false);
  });

  it('makes a write replace the value', () => {
    expect(stepRegister(3, { kind: 'write', value: 5 }, { ok: true })).toEqual({ ok: true, state: 5 });
  });

  it('swaps on cas only when the register holds the expected value', () => {
    expect(stepRegister(3, { kind: 'cas', expect: 3, value: 4 }, { ok: true })).toEqual({ ok: true, state: 4 });
    expect(stepRegister(3, { kind: 'cas', expect: 3, value: 4 }, { ok: false }).ok).toBe(false);
    expect(stepRegister(3, { kind: 'cas', expect: 1, value: 4 }, { ok: false })).toEqual({ ok: true, state: 3 });
    expect(stepRegister(3, { kind: 'cas', expect: 1, value: 4 }, { ok: true }).ok).toBe(false);
  });

  it('applies the effect of an operation whose output is unknown', () => {
    expect(stepRegister(3, { kind: 'write', value: 5 }, undefined)).toEqual({ ok: true, state: 5 });
    expect(stepRegister(3, { kind: 'cas', expect: 3, value: 4 }, undefined)).toEqual({ ok: true, state: 4 });
    expect(stepRegister(3, { kind: 'cas', expect: 9, value: 4 }, undefined)).toEqual({ ok: true, state: 3 });
    expect(stepRegister(3, { kind: 'read' }, undefined)).toEqual({ ok: true, state: 3 });
  });

  it('knows reads are read-only', () => {
    expect(registerModel.readOnly?.({ kind: 'read' })).toBe(true);
    expect(registerModel.readOnly?.({ kind: 'write', value: 1 })).toBe(false);
    expect(registerModel.readOnly?.({ kind: 'cas', expect: 1, value: 2 })).toBe(false);
  });

  it('describes operations for explanations', () => {
    expect(registerModel.describe?.({ kind: 'read' }, { ok: true, value: 7 })).toBe('read() -> 7');
    expect(registerModel.describe?.({ kind: 'write', value: 7 }, undefined)).toBe('write(7) -> ?');
    expect(registerModel.describe?.({ kind: 'cas', expect: null, value: 1 }, { ok: false })).toBe('cas(null -> 1) -> unchanged');
  });
});
