// The bank checker: transfers between accounts (shard axes) must conserve the total, never take
// an account below its minimum, and apply every acknowledged transfer exactly once — the final
// balances must be the initial ones plus the acknowledged transfers plus those indeterminate ones
// the cluster later reported committed. Transfers still unresolved widen the allowed range.
import type { Violation } from '../workload.ts';
import { ViolationList } from './violations.ts';

export interface BankAccount {
  /** `shard/axis` */
  id: string;
  min: number;
  max: number;
  initial: number;
}

/**
 * How a transfer ended for the client, and — for an indeterminate one — what the cluster said
 * after the heal: 'committed' (applied once), 'aborted' (never applied), 'unknown'.
 */
export interface TransferRecord {
  id: string;
  from: string;
  to: string;
  amount: number;
  outcome: 'ok' | 'fail' | 'info';
  resolution?: 'committed' | 'aborted' | 'unknown';
}

/** Balances seen by one read (any subset of the accounts), with when it was made. */
export interface BalanceRead {
  atMs: number;
  balances: Record<string, number>;
}

export interface BankInput {
  accounts: readonly BankAccount[];
  transfers: readonly TransferRecord[];
  reads: readonly BalanceRead[];
  final: Record<string, number>;
}

export interface BankVerdict {
  violations: Violation[];
  /** Per account: the final balance the acknowledged and committed transfers imply, and the range unknown ones allow. */
  expected: Record<string, { exact: number; low: number; high: number; final: number | null }>;
  totals: { initial: number; final: number };
  transfers: { acknowledged: number; failed: number; committedLater: number; abortedLater: number; unresolved: number };
  readsChecked: number;
}

/** Unresolved transfers up to this many are searched exhaustively for a subset that explains the final balances. */
export const SUBSET_SEARCH_TRANSFERS_MAX = 16;
/** Balances are sums of small integers; a larger difference than this is not rounding. */
const EPSILON = 1e-9;

const applied = (t: TransferRecord) => t.outcome === 'ok' || (t.outcome === 'info' && t.resolution === 'committed');
const unresolved = (t: TransferRecord) => t.outcome === 'info' && (t.resolution === undefined || t.resolution === 'unknown');

function applyTo(balances: Map<string, number>, t: TransferRecord, sign = 1): void {
  balances.set(t.from, (balances.get(t.from) ?? 0) - sign * t.amount);
  balances.set(t.to, (balances.get(t.to) ?? 0) + sign * t.amount);
}

/** Does some subset of `candidates`, applied on top of `base`, give exactly `final`? */
function someSubsetExplains(base: Map<string, number>, candidates: readonly TransferRecord[], final: Record<string, number>, ids: readonly string[]): boolean {
  const n = candidates.length;
  for (let mask = 0; mask < 2 ** n; mask++) {
    const b = new Map(base);
    for (let i = 0; i < n; i++) if (mask & (1 << i)) applyTo(b, candidates[i] as TransferRecord);
    if (ids.every((id) => Math.abs((b.get(id) ?? 0) - (final[id] ?? Number.NaN)) < EPSILON)) return true;
  }
  return false;
}

export function checkBank(input: BankInput): BankVerdict {
  const found = new ViolationList();
  const violate = (kind: string, message: string, details?: unknown) => found.add(kind, message, details);
  const accounts = new Map(input.accounts.map((a) => [a.id, a]));
  const ids = input.accounts.map((a) => a.id);
  for (const t of input.transfers) {
    if (!accounts.has(t.from) || !accounts.has(t.to)) throw new Error(`bank checker: transfer ${t.id} names an account that is not in the list (${t.from} → ${t.to})`);
    if (!(t.amount > 0)) throw new Error(`bank checker: transfer ${t.id} has amount ${t.amount}; amounts are positive`);
  }

  // Every balance any read saw stays within its account's range.
  for (const read of input.reads) {
    for (const [id, value] of Object.entries(read.balances)) {
      const a = accounts.get(id);
      if (a === undefined) continue;
      if (value < a.min - EPSILON) violate('below-min', `a read at ${(read.atMs / 1000).toFixed(2)} s saw ${id} = ${value}, below its minimum ${a.min}`, read);
      if (value > a.max + EPSILON) violate('above-max', `a read at ${(read.atMs / 1000).toFixed(2)} s saw ${id} = ${value}, above its maximum ${a.max}`, read);
    }
  }

  // The final state: conservation, range, and exactly-once.
  const totalInitial = input.accounts.reduce((s, a) => s + a.initial, 0);
  const missing = ids.filter((id) => typeof input.final[id] !== 'number');
  if (missing.length > 0) violate('final-read', `the final read has no balance for ${missing.join(', ')}`);
  const totalFinal = ids.reduce((s, id) => s + (input.final[id] ?? 0), 0);
  if (missing.length === 0 && Math.abs(totalFinal - totalInitial) > EPSILON) {
    violate('conservation', `the accounts held ${totalInitial} in total at the start and ${totalFinal} at the end: transfers created or destroyed ${totalFinal - totalInitial}`);
  }
  for (const id of ids) {
    const a = accounts.get(id) as BankAccount;
    const v = input.final[id];
    if (v !== undefined && v < a.min - EPSILON) violate('below-min', `the final balance of ${id} is ${v}, below its minimum ${a.min}`);
  }

  const base = new Map(input.accounts.map((a) => [a.id, a.initial]));
  for (const t of input.transfers) if (applied(t)) applyTo(base, t);
  const open = input.transfers.filter(unresolved);
  const expected: BankVerdict['expected'] = {};
  for (const id of ids) {
    let low = base.get(id) ?? 0;
    let high = low;
    for (const t of open) {
      if (t.from === id) low -= t.amount;
      if (t.to === id) high += t.amount;
    }
    expected[id] = { exact: base.get(id) ?? 0, low, high, final: input.final[id] ?? null };
  }
  if (missing.length === 0) {
    const describe = (id: string) => `${id}: final ${input.final[id]}, expected ${open.length === 0 ? expected[id]?.exact : `${expected[id]?.low}..${expected[id]?.high}`}`;
    const off = ids.filter((id) => {
      const e = expected[id] as { exact: number; low: number; high: number };
      const v = input.final[id] as number;
      return open.length === 0 ? Math.abs(v - e.exact) > EPSILON : v < e.low - EPSILON || v > e.high + EPSILON;
    });
    if (off.length > 0) {
      violate(
        'exactly-once',
        `the final balances do not match the acknowledged transfers (an acknowledged transfer lost, or one applied twice, or a refused one applied): ${off.map(describe).join('; ')}`,
      );
    } else if (open.length > 0 && open.length <= SUBSET_SEARCH_TRANSFERS_MAX && !someSubsetExplains(base, open, input.final, ids)) {
      violate('exactly-once', `no subset of the ${open.length} unresolved transfers explains the final balances (${ids.map(describe).join('; ')})`);
    }
  }

  const count = (p: (t: TransferRecord) => boolean) => input.transfers.filter(p).length;
  return {
    violations: found.items,
    expected,
    totals: { initial: totalInitial, final: totalFinal },
    transfers: {
      acknowledged: count((t) => t.outcome === 'ok'),
      failed: count((t) => t.outcome === 'fail'),
      committedLater: count((t) => t.outcome === 'info' && t.resolution === 'committed'),
      abortedLater: count((t) => t.outcome === 'info' && t.resolution === 'aborted'),
      unresolved: open.length,
    },
    readsChecked: input.reads.length,
  };
}
