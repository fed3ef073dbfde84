import { describe, expect, it } from 'vitest';
import { checkBank, type BankAccount, type BankInput, type TransferRecord } from './bank.ts';

const accounts: BankAccount[] = [
  { id: 's-north/order', min: 0, max: 100, initial: 10 },
  { id: 's-south/order', min: 0, max: 100, initial: 10 },
  { id: 's-east/order', min: 0, max: 100, initial: 10 },
];
let n = 0;
const t = (from: string, to: string, amount: number, outcome: TransferRecord['outcome'], resolution?: TransferRecord['resolution']): TransferRecord => ({
  id: `t${n++}`,
  from: `s-${from}/order`,
  to: `s-${to}/order`,
  amount,
  outcome,
  ...(resolution ? { resolution } : {}),
});
const final = (north: number, south: number, east: number) => ({ 's-north/order': north, 's-south/order': south, 's-east/order': east });
const kinds = (input: BankInput) => checkBank(input).violations.map((v) => v.kind);

describe('bank checker', () => {
  it('passes when the final balances are the initial ones plus the acknowledged transfers, refused and failed ones left out', () => {
    const transfers = [t('north', 'south', 3, 'ok'), t('south', 'east', 5, 'ok'), t('east', 'north', 7, 'fail'), t('north', 'east', 2, 'ok')];
    const v = checkBank({ accounts, transfers, reads: [{ atMs: 1, balances: { 's-north/order': 7 } }], final: final(5, 8, 17) });
    expect(v.violations).toEqual([]);
    expect(v.transfers).toMatchObject({ acknowledged: 3, failed: 1, unresolved: 0 });
    expect(v.expected['s-east/order']).toMatchObject({ exact: 17, low: 17, high: 17, final: 17 });
  });

  it('finds an acknowledged transfer that was lost', () => {
    expect(kinds({ accounts, transfers: [t('north', 'south', 3, 'ok')], reads: [], final: final(10, 10, 10) })).toEqual(['exactly-once']);
  });

  it('finds a transfer applied twice (a retried id applied again)', () => {
    expect(kinds({ accounts, transfers: [t('north', 'south', 3, 'ok')], reads: [], final: final(4, 16, 10) })).toEqual(['exactly-once']);
  });

  it('finds a refused (409) or unavailable (503) transfer that was applied after all', () => {
    expect(kinds({ accounts, transfers: [t('north', 'south', 3, 'fail')], reads: [], final: final(7, 13, 10) })).toEqual(['exactly-once']);
  });

  it('finds a half-applied transfer: money created or destroyed', () => {
    expect(kinds({ accounts, transfers: [t('north', 'south', 3, 'ok')], reads: [], final: final(7, 10, 10) })).toEqual(['conservation', 'exactly-once']);
  });

  it('finds a balance below the minimum in a read during the run and in the final state', () => {
    const transfers = [t('north', 'south', 12, 'ok'), t('south', 'north', 2, 'ok')];
    const v = kinds({ accounts, transfers, reads: [{ atMs: 5, balances: { 's-north/order': -2, 's-south/order': 22 } }], final: final(0, 20, 10) });
    expect(v).toEqual(['below-min']);
    expect(kinds({ accounts, transfers: [t('north', 'south', 12, 'ok')], reads: [], final: final(-2, 22, 10) })).toEqual(['below-min']);
  });

  it('counts indeterminate transfers the cluster later reported committed, and not the aborted ones', () => {
    const transfers = [t('north', 'south', 3, 'info', 'committed'), t('north', 'east', 4, 'info', 'aborted')];
    expect(kinds({ accounts, transfers, reads: [], final: final(7, 13, 10) })).toEqual([]);
    expect(kinds({ accounts, transfers, reads: [], final: final(3, 13, 14) })).toEqual(['exactly-once']);
  });

  it('accepts any subset of still-unresolved transfers, but not balances no subset explains', () => {
    const transfers = [t('north', 'south', 3, 'info'), t('south', 'east', 4, 'info', 'unknown'), t('east', 'north', 1, 'ok')];
    // Neither, the first only, both.
    expect(kinds({ accounts, transfers, reads: [], final: final(11, 10, 9) })).toEqual([]);
    expect(kinds({ accounts, transfers, reads: [], final: final(8, 13, 9) })).toEqual([]);
    expect(kinds({ accounts, transfers, reads: [], final: final(8, 9, 13) })).toEqual([]);
    // Within each account's range, conserved, but no subset gives it.
    expect(kinds({ accounts, transfers, reads: [], final: final(9, 12, 9) })).toEqual(['exactly-once']);
    const v = checkBank({ accounts, transfers, reads: [], final: final(11, 10, 9) });
    expect(v.expected['s-south/order']).toMatchObject({ exact: 10, low: 6, high: 13 });
    expect(v.transfers.unresolved).toBe(2);
  });

  it('reports a missing final balance rather than guessing', () => {
    expect(kinds({ accounts, transfers: [], reads: [], final: { 's-north/order': 10, 's-south/order': 10 } })).toEqual(['final-read']);
  });

  it('refuses a history that names unknown accounts', () => {
    expect(() => checkBank({ accounts, transfers: [{ id: 'x', from: 's-x/order', to: 's-north/order', amount: 1, outcome: 'ok' }], reads: [], final: final(10, 10, 10) })).toThrow(
      /not in the list/,
    );
  });
});
