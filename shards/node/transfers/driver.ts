// The coordinator's driver of one transfer: begin on the source shard, prepare on the destination,
// record the decision on the source, finish on the destination, mark done — each step a Raft
// command, each idempotent by transfer id, so a driver that dies (or a second one running the
// same transfer) is harmless: recovery on the source's leader simply runs it again. What to do
// next is consensus/txn's coordinatorStep; this file only performs it.
import { IndeterminateError, UnavailableError } from '../../../consensus/runtime/index.ts';
import { coordinatorStep, type CoordinatorRecord, type Vote } from '../../../consensus/txn/index.ts';
import type { GmResult, TransferPayload, TxCommand } from '../../index.ts';
import type { NodeLogger } from '../gm_node.ts';
import type { TransferSettings } from './settings.ts';
import type { ShardSteps } from './shard_steps.ts';

export type TransferRecord = CoordinatorRecord<TransferPayload>;

/** Why a begin produced no record. */
export type BeginFailure =
  | { readonly kind: 'unavailable'; readonly message: string }
  | { readonly kind: 'indeterminate'; readonly message: string }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string };

export interface Run {
  readonly id: string;
  /** The newest coordinator record this driver has seen (undefined until begin answers). */
  latest: TransferRecord | undefined;
  beginFailure: BeginFailure | undefined;
  /** Settles once the outcome is known to both sides (the decision applied at the destination too), or the run ends. */
  readonly answerable: Promise<void>;
  readonly finished: Promise<void>;
}

/** The driver's side of a run: it fills the record in and says when the client may have its answer. */
type DrivenRun = { -readonly [K in keyof Run]: Run[K] } & { markAnswerable: () => void };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const retryable = (e: unknown) => e instanceof UnavailableError || e instanceof IndeterminateError;

export class TransferDriver {
  private readonly runs = new Map<string, Run>();
  private closed = false;

  constructor(
    private readonly steps: ShardSteps,
    private readonly settings: TransferSettings,
    private readonly log: NodeLogger,
  ) {}

  isRunning(id: string): boolean {
    return this.runs.has(id);
  }

  get runningCount(): number {
    return this.runs.size;
  }

  close(): void {
    this.closed = true;
  }

  /** Starts a transfer (or joins the run already going for its id). Undefined when too many run. */
  start(id: string, payload: TransferPayload): Run | undefined {
    return this.launch(id, (run) => this.drive(run, payload, undefined, 0));
  }

  /** Continues an in-doubt record found by recovery. */
  resume(record: TransferRecord, seenForMs: number): Run | undefined {
    if (record.payload === null) throw new Error(`invariant: in-doubt transfer '${record.id}' has no payload`);
    return this.launch(record.id, (run) => this.drive(run, record.payload!, record, seenForMs));
  }

  private launch(id: string, body: (run: DrivenRun) => Promise<void>): Run | undefined {
    const running = this.runs.get(id);
    if (running) return running;
    if (this.closed || this.runs.size >= this.settings.driversMax) return undefined;
    const run = { id, latest: undefined, beginFailure: undefined } as DrivenRun;
    run.answerable = new Promise<void>((resolve) => (run.markAnswerable = resolve));
    run.finished = body(run)
      .catch((e: unknown) => this.log.error({ transfer: id, err: e instanceof Error ? e.message : String(e) }, 'transfer driver stopped on an unexpected error; recovery will resume it'))
      .finally(() => {
        run.markAnswerable();
        this.runs.delete(id);
      });
    this.runs.set(id, run);
    return run;
  }

  private async drive(run: DrivenRun, payload: TransferPayload, record: TransferRecord | undefined, seenForMs: number): Promise<void> {
    const startedMs = performance.now() - seenForMs;
    const deadlineMs = performance.now() + this.settings.driverBudgetMs;
    const id = run.id;
    let rec = record ?? (await this.begin(run, payload));
    let vote: Vote | undefined;
    while (rec && !this.closed && performance.now() < deadlineMs) {
      run.latest = rec;
      const step = coordinatorStep(rec, vote, performance.now() - startedMs, this.settings);
      if (step.kind === 'done') return;
      try {
        if (step.kind === 'prepare') {
          const r = await this.steps.propose(payload.to.shard, { type: 'txPrepare', commandId: `tx-prepare-${id}`, transferId: id, transfer: payload });
          // A shard-level refusal (a destination not initialised yet) is no vote: retry until the timeout.
          if (!r.ok && !r.code.startsWith('txn_')) throw new UnavailableError(`destination ${payload.to.shard} cannot prepare yet: ${r.message}`);
          vote = voteFrom(r);
        } else if (step.kind === 'decide') {
          rec = coordinatorRecord(await this.steps.propose(payload.from.shard, { type: 'txDecide', commandId: `tx-decide-${id}`, transferId: id, decision: step.decision, reason: step.reason }));
        } else {
          const finished = await this.steps.propose(payload.to.shard, { type: 'txFinish', commandId: `tx-finish-${id}`, transferId: id, decision: step.decision, reason: rec.reason });
          if (!finished.ok && finished.code === 'txn_contradiction') throw new Error(`destination contradicts the decision: ${finished.message}`);
          // The client may have its answer now; marking the record done is bookkeeping.
          run.latest = rec;
          run.markAnswerable();
          rec = coordinatorRecord(await this.steps.propose(payload.from.shard, { type: 'txDone', commandId: `tx-done-${id}`, transferId: id }));
        }
      } catch (e) {
        if (!retryable(e)) throw e;
        await sleep(this.settings.retryPauseMs);
      }
    }
    if (rec) run.latest = rec;
  }

  /** Proposes txBegin until it is answered or the request budget runs out. */
  private async begin(run: Run, payload: TransferPayload): Promise<TransferRecord | undefined> {
    const cmd: TxCommand = { type: 'txBegin', commandId: `tx-begin-${run.id}`, transferId: run.id, transfer: payload };
    const deadlineMs = performance.now() + this.settings.requestBudgetMs;
    let maybeApplied = false;
    let lastMessage = '';
    for (;;) {
      try {
        const r = await this.steps.propose(payload.from.shard, cmd);
        if (r.ok && r.type === 'txCoordinator') return r.record;
        run.beginFailure = { kind: 'refused', code: r.ok ? r.type : r.code, message: r.ok ? `unexpected result ${r.type}` : r.message };
        return undefined;
      } catch (e) {
        if (!retryable(e)) throw e;
        if (e instanceof IndeterminateError) maybeApplied = true;
        lastMessage = (e as Error).message;
      }
      if (this.closed || performance.now() + this.settings.retryPauseMs >= deadlineMs) break;
      await sleep(this.settings.retryPauseMs);
    }
    // If the begin may have applied, recovery on the source's leader finds the record and drives it.
    run.beginFailure = maybeApplied ? { kind: 'indeterminate', message: lastMessage } : { kind: 'unavailable', message: lastMessage };
    return undefined;
  }
}

/** The destination's answer to a prepare, as a vote (a refusal is a no). */
function voteFrom(r: GmResult): Vote {
  if (!r.ok) return { yes: false, reason: r.code };
  if (r.type !== 'txParticipant') throw new Error(`a prepare answered ${r.type}, not a participant record`);
  // `committed` means the decision was already commit (and applied there): it had voted yes.
  if (r.record.phase === 'aborted') return { yes: false, reason: r.record.reason ?? 'aborted' };
  return { yes: true };
}

function coordinatorRecord(r: GmResult): TransferRecord {
  if (r.ok && r.type === 'txCoordinator') return r.record;
  throw new Error(`the source shard refused a transfer step: ${r.ok ? r.type : `${r.code}: ${r.message}`}`);
}
