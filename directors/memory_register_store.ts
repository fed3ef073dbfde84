// The register in memory, with the same fencing rules as Postgres: for unit tests of routines and
// the supervisor, and for the directors benchmark (which measures the routines, not Postgres).
// `compose` plays the compositor's part: prune the flag, record audit verdicts.
import type { Outcome } from '../shards/index.ts';
import { FencedError } from './errors.ts';
import type { AuditVerdict } from './outcome.ts';
import type { LiveEntry, OpenResult, RegisterStage, RegisterStore } from './register_store.ts';
import type { CommittedEvent, Unfolding } from './unfold.ts';

interface Row {
  event: CommittedEvent;
  term: number;
  stage: RegisterStage;
  outcome: Outcome | null;
  waiting: boolean;
  /** Kept only when the store is asked to (the benchmark measures routines, not unfoldings at rest). */
  unfolding: Unfolding | null;
}

export class MemoryRegisterStore implements RegisterStore {
  readonly rows = new Map<string, Row>();
  private readonly fences = new Map<string, number>();
  private readonly verdicts = new Map<string, AuditVerdict[]>();
  /** Called when a flag is raised (a test's stand-in compositor may compose at once). */
  onWaiting: ((uid: string) => void) | null = null;
  /** Fails the next N calls of a method, to exercise crashes. */
  readonly failNext = new Map<keyof RegisterStore, number>();

  constructor(private readonly keepUnfoldings = true) {}

  private maybeFail(method: keyof RegisterStore): void {
    const n = this.failNext.get(method) ?? 0;
    if (n > 0) {
      this.failNext.set(method, n - 1);
      throw new Error(`injected failure of register ${method}`);
    }
  }

  private fence(shard: string, term: number): void {
    const t = this.fences.get(shard);
    if (t !== undefined && t > term) throw new FencedError(shard, term, `shard ${shard} is directed under term ${t} now; a routine of term ${term} may not write`);
    this.fences.set(shard, term);
  }

  async open(term: number, event: CommittedEvent, unfolding: Unfolding): Promise<OpenResult> {
    this.maybeFail('open');
    this.fence(event.shard, term);
    const row = this.rows.get(event.uid);
    if (row !== undefined) {
      row.term = term;
      return { stage: row.stage, outcome: row.outcome, created: false };
    }
    this.rows.set(event.uid, { event, term, stage: 'waiting', outcome: null, waiting: true, unfolding: this.keepUnfoldings ? unfolding : null });
    this.onWaiting?.(event.uid);
    return { stage: 'waiting', outcome: null, created: true };
  }

  /** The compositor's transaction: prune the flag and leave the audit verdicts in "canon". */
  compose(uid: string, verdicts: AuditVerdict[] = ['pass']): boolean {
    const row = this.rows.get(uid);
    if (row === undefined || !row.waiting) return false;
    row.waiting = false;
    this.verdicts.set(uid, verdicts);
    return true;
  }

  async composed(uids: readonly string[]): Promise<string[]> {
    this.maybeFail('composed');
    return uids.filter((u) => this.rows.get(u)?.waiting !== true);
  }

  async auditVerdicts(uid: string): Promise<AuditVerdict[]> {
    this.maybeFail('auditVerdicts');
    return this.verdicts.get(uid) ?? [];
  }

  async setOutcome(term: number, shard: string, uid: string, outcome: Outcome): Promise<void> {
    this.maybeFail('setOutcome');
    this.fence(shard, term);
    const row = this.rows.get(uid);
    if (row !== undefined && row.stage === 'waiting') Object.assign(row, { stage: 'outcome', outcome, term });
  }

  async prune(term: number, shard: string, uid: string): Promise<void> {
    this.maybeFail('prune');
    this.fence(shard, term);
    this.rows.delete(uid);
    this.verdicts.delete(uid);
  }

  async live(shard: string): Promise<LiveEntry[]> {
    this.maybeFail('live');
    return [...this.rows.values()].filter((r) => r.event.shard === shard).map((r) => ({ event: r.event, term: r.term, stage: r.stage }));
  }
}
