// A tiny bank on top of the txn tables, for the protocol tests: groups of accounts (each group a
// Raft group in miniature: commands apply one at a time, in the order delivered), drivers that
// run coordinatorStep, askers that run participantStep, and a network of proposals that can be
// delayed, reordered, duplicated and lost, with drivers that crash and are re-driven by recovery.
// Every scheduling choice comes from a `choose(n)` function, so the same model runs seeded random
// schedules and exhaustive enumeration of short ones.
import { CoordinatorTable } from '../coordinator.ts';
import { ParticipantTable } from '../participant.ts';
import { coordinatorStep, participantStep, type TxnTimeouts } from '../rules.ts';
import { decisionOf, type CoordinatorRecord, type Decision, type Vote } from '../types.ts';

export interface Account {
  readonly group: number;
  readonly name: string;
}
export interface Payload {
  readonly from: Account;
  readonly to: Account;
  readonly amount: number;
}

type Cmd =
  | { t: 'begin'; id: string; payload: Payload }
  | { t: 'prepare'; id: string; payload: Payload }
  | { t: 'decide'; id: string; decision: Decision; reason: string | null }
  | { t: 'finish'; id: string; decision: Decision; reason: string | null }
  | { t: 'done'; id: string };

type Reply = { kind: 'driver'; id: string; incarnation: number } | { kind: 'asker'; id: string; incarnation: number };
interface Pending {
  group: number;
  cmd: Cmd;
  reply: Reply;
}

const MIN = 0;
const MAX = 100;
const same = (a: Payload, b: Payload) => JSON.stringify(a) === JSON.stringify(b);

export class BankGroup {
  readonly coordinator: CoordinatorTable<Payload>;
  readonly participant: ParticipantTable<Payload>;
  readonly balances = new Map<string, number>();
  applied = 0;

  constructor(
    readonly id: number,
    accounts: readonly string[],
    start: number,
    limits: { inDoubtMax: number; finishedMax: number },
  ) {
    this.coordinator = new CoordinatorTable(limits, same);
    this.participant = new ParticipantTable(limits, same);
    for (const a of accounts) this.balances.set(a, start);
  }

  heldOut(acct: string): number {
    return this.coordinator.inDoubt().reduce((s, r) => s + (r.phase === 'preparing' && r.payload!.from.name === acct ? r.payload!.amount : 0), 0);
  }

  heldIn(acct: string): number {
    return this.participant.prepared().reduce((s, r) => s + (r.payload!.to.name === acct ? r.payload!.amount : 0), 0);
  }

  apply(cmd: Cmd): unknown {
    this.applied++;
    const idx = this.applied;
    switch (cmd.t) {
      case 'begin': {
        const bal = this.balances.get(cmd.payload.from.name)!;
        const vote: Vote = bal - this.heldOut(cmd.payload.from.name) - cmd.payload.amount >= MIN ? { yes: true } : { yes: false, reason: 'insufficient' };
        return this.coordinator.begin(cmd.id, cmd.payload, idx, vote);
      }
      case 'prepare': {
        const bal = this.balances.get(cmd.payload.to.name)!;
        const vote: Vote = bal + this.heldIn(cmd.payload.to.name) + cmd.payload.amount <= MAX ? { yes: true } : { yes: false, reason: 'full' };
        return this.participant.prepare(cmd.id, cmd.payload, idx, vote);
      }
      case 'decide': {
        const r = this.coordinator.decide(cmd.id, cmd.decision, cmd.reason, idx);
        if (r.kind === 'decided' && r.record.phase === 'committed') this.move(r.record.payload!.from.name, -r.record.payload!.amount);
        return r;
      }
      case 'finish': {
        const r = this.participant.finish(cmd.id, cmd.decision, cmd.reason, idx);
        if (r.kind === 'contradiction') throw new Error(`contradiction: ${cmd.id} finished ${r.record.phase}, asked to ${cmd.decision}`);
        if (r.kind === 'applied' && r.record.phase === 'committed') this.move(r.record.payload!.to.name, r.record.payload!.amount);
        return r;
      }
      case 'done':
        return this.coordinator.participantDone(cmd.id);
    }
  }

  private move(acct: string, delta: number): void {
    this.balances.set(acct, this.balances.get(acct)! + delta);
  }

  /** min + heldOut ≤ balance ≤ max − heldIn, for every account. */
  checkHolds(): string[] {
    const problems: string[] = [];
    for (const [a, v] of this.balances) {
      if (v - this.heldOut(a) < MIN) problems.push(`g${this.id}/${a}: balance ${v} with ${this.heldOut(a)} held out goes below ${MIN}`);
      if (v + this.heldIn(a) > MAX) problems.push(`g${this.id}/${a}: balance ${v} with ${this.heldIn(a)} reserved in goes above ${MAX}`);
    }
    return problems;
  }
}

interface Driver {
  id: string;
  incarnation: number;
  payload: Payload;
  rec: CoordinatorRecord<Payload> | undefined;
  vote: Vote | undefined;
  startedAt: number;
  outstanding: boolean;
  /** The finish step answered; the `done` step is next. */
  finished: boolean;
  gaveUp: boolean;
}

interface Asker {
  id: string;
  incarnation: number;
  group: number;
  coordinatorGroup: number;
  decision: Decision | null;
  reason: string | null;
  outstanding: boolean;
}

export interface ModelOptions {
  groups: number;
  accountsPerGroup: number;
  start: number;
  timeouts: TxnTimeouts;
  limits: { inDoubtMax: number; finishedMax: number };
}

export class BankModel {
  readonly groups: BankGroup[];
  readonly pending: Pending[] = [];
  readonly drivers = new Map<string, Driver>();
  readonly askers = new Map<string, Asker>();
  readonly payloads = new Map<string, Payload>();
  clock = 0;
  private incarnations = 0;
  readonly total: number;

  constructor(readonly opts: ModelOptions) {
    this.groups = Array.from({ length: opts.groups }, (_, g) => new BankGroup(g, Array.from({ length: opts.accountsPerGroup }, (_, i) => `a${i}`), opts.start, opts.limits));
    this.total = opts.groups * opts.accountsPerGroup * opts.start;
  }

  /** A client starts a transfer: a driver that will propose begin at the source. */
  startTransfer(id: string, payload: Payload): void {
    if (payload.from.group === payload.to.group) throw new Error('the model moves between groups only');
    this.payloads.set(id, payload);
    this.drivers.set(id, { id, incarnation: ++this.incarnations, payload, rec: undefined, vote: undefined, startedAt: this.clock, outstanding: false, finished: false, gaveUp: false });
  }

  /** Idle drivers and askers propose their next step. */
  stepActors(): void {
    for (const d of [...this.drivers.values()]) if (!d.outstanding) this.stepDriver(d);
    for (const a of [...this.askers.values()]) if (!a.outstanding) this.stepAsker(a);
  }

  private send(group: number, cmd: Cmd, reply: Reply): void {
    this.pending.push({ group, cmd, reply });
  }

  private stepDriver(d: Driver): void {
    const reply: Reply = { kind: 'driver', id: d.id, incarnation: d.incarnation };
    if (!d.rec) {
      d.outstanding = true;
      this.send(d.payload.from.group, { t: 'begin', id: d.id, payload: d.payload }, reply);
      return;
    }
    if (d.finished) {
      d.outstanding = true;
      this.send(d.payload.from.group, { t: 'done', id: d.id }, reply);
      return;
    }
    const step = coordinatorStep(d.rec, d.vote, this.clock - d.startedAt, this.opts.timeouts);
    if (step.kind === 'done') {
      this.drivers.delete(d.id);
      return;
    }
    d.outstanding = true;
    if (step.kind === 'prepare') this.send(d.payload.to.group, { t: 'prepare', id: d.id, payload: d.payload }, reply);
    else if (step.kind === 'decide') this.send(d.payload.from.group, { t: 'decide', id: d.id, decision: step.decision, reason: step.reason }, reply);
    else this.send(d.payload.to.group, { t: 'finish', id: d.id, decision: step.decision, reason: d.rec.reason }, reply);
  }

  private stepAsker(a: Asker): void {
    const reply: Reply = { kind: 'asker', id: a.id, incarnation: a.incarnation };
    a.outstanding = true;
    if (a.decision === null) this.send(a.coordinatorGroup, { t: 'decide', id: a.id, decision: 'abort', reason: 'participant_timeout' }, reply);
    else this.send(a.group, { t: 'finish', id: a.id, decision: a.decision, reason: a.reason }, reply);
  }

  /** Applies pending proposal `i` in its group; a duplicate leaves a copy to apply again later. */
  deliver(i: number, duplicate = false): void {
    const p = this.pending[i]!;
    if (!duplicate) this.pending.splice(i, 1);
    const result = this.groups[p.group]!.apply(p.cmd) as { kind: string; record?: never };
    this.onReply(p, result);
  }

  drop(i: number): void {
    const p = this.pending.splice(i, 1)[0]!;
    // The proposer learns nothing (a timeout): it will retry the same step.
    const actor = p.reply.kind === 'driver' ? this.drivers.get(p.reply.id) : this.askers.get(p.reply.id);
    if (actor && actor.incarnation === p.reply.incarnation) actor.outstanding = false;
  }

  private onReply(p: Pending, result: { kind: string; record?: unknown }): void {
    if (p.reply.kind === 'asker') {
      const a = this.askers.get(p.reply.id);
      if (!a || a.incarnation !== p.reply.incarnation) return;
      a.outstanding = false;
      if (p.cmd.t === 'decide') {
        const rec = result.record as CoordinatorRecord<Payload>;
        a.decision = decisionOf(rec);
        a.reason = rec.reason;
      } else this.askers.delete(a.id);
      return;
    }
    const d = this.drivers.get(p.reply.id);
    if (!d || d.incarnation !== p.reply.incarnation) return;
    d.outstanding = false;
    switch (p.cmd.t) {
      case 'begin':
        if (result.kind === 'busy' || result.kind === 'conflict') {
          d.gaveUp = true;
          this.drivers.delete(d.id);
        } else d.rec = result.record as CoordinatorRecord<Payload>;
        break;
      case 'prepare': {
        const rec = result.record as { phase: string; reason: string | null };
        d.vote = rec.phase === 'aborted' ? { yes: false, reason: rec.reason ?? 'aborted' } : { yes: true };
        break;
      }
      case 'decide':
      case 'done':
        // No record: an id pruned long ago (only with tiny tables); keep what the driver knew.
        if (result.record) d.rec = result.record as CoordinatorRecord<Payload>;
        if (p.cmd.t === 'done') d.finished = false;
        break;
      case 'finish':
        d.finished = true;
        break;
    }
  }

  /** A driver (or asker) process dies: it forgets everything; its proposals in flight may still apply. */
  crash(id: string): void {
    this.drivers.delete(id);
    this.askers.delete(id);
  }

  /** Recovery on the coordinators' leaders: every in-doubt record without a driver gets one. */
  recover(): void {
    for (const g of this.groups) {
      for (const rec of g.coordinator.inDoubt()) {
        if (this.drivers.has(rec.id)) continue;
        this.drivers.set(rec.id, { id: rec.id, incarnation: ++this.incarnations, payload: rec.payload!, rec, vote: undefined, startedAt: this.clock, outstanding: false, finished: false, gaveUp: false });
      }
    }
  }

  /** Participants holding a prepare past the timeout ask their coordinator. */
  participantsAsk(heldSince: Map<string, number>): void {
    for (const g of this.groups) {
      for (const r of g.participant.prepared()) {
        const since = heldSince.get(r.id) ?? (heldSince.set(r.id, this.clock), this.clock);
        if (participantStep(r, this.clock - since, this.opts.timeouts).kind !== 'ask' || this.askers.has(r.id)) continue;
        this.askers.set(r.id, { id: r.id, incarnation: ++this.incarnations, group: g.id, coordinatorGroup: r.payload!.from.group, decision: null, reason: null, outstanding: false });
      }
    }
  }

  /** Safety, checked after every step: holds respected, no transfer both committed and aborted, money conserved. */
  check(): string[] {
    const problems = this.groups.flatMap((g) => g.checkHolds());
    let sum = 0;
    for (const g of this.groups) for (const v of g.balances.values()) sum += v;
    let inFlight = 0;
    for (const [id, payload] of this.payloads) {
      const c = this.groups[payload.from.group]!.coordinator.get(id);
      const p = this.groups[payload.to.group]!.participant.get(id);
      if (c && p && decisionOf(c) !== null && decisionOf(p) !== null && decisionOf(c) !== decisionOf(p)) problems.push(`${id}: coordinator ${c.phase}, participant ${p.phase}`);
      if (p?.phase === 'committed' && c?.phase !== 'committed') problems.push(`${id}: participant committed, coordinator ${c?.phase ?? 'unknown'}`);
      if (c?.phase === 'committed' && p?.phase !== 'committed') inFlight += payload.amount;
      if (c?.phase === 'committed' && c.participantDone && p?.phase !== 'committed') problems.push(`${id}: coordinator done before the participant committed`);
    }
    if (sum + inFlight !== this.total) problems.push(`sum ${sum} + in flight ${inFlight} ≠ ${this.total}`);
    return problems;
  }

  /** True when nothing is in flight, no driver or asker runs, and no record is in doubt. */
  quiescent(): boolean {
    return (
      this.pending.length === 0 &&
      this.drivers.size === 0 &&
      this.askers.size === 0 &&
      this.groups.every((g) => g.coordinator.inDoubtCount === 0 && g.participant.preparedCount === 0)
    );
  }

  /** Runs without faults until quiescent; returns problems (including not getting there). */
  settle(stepsMax = 20_000): string[] {
    const heldSince = new Map<string, number>();
    for (let i = 0; i < stepsMax; i++) {
      if (this.quiescent()) return this.checkFinal();
      this.stepActors();
      if (this.pending.length > 0) this.deliver(0);
      else {
        this.recover();
        this.participantsAsk(heldSince);
        this.clock++;
      }
      const p = this.check();
      if (p.length > 0) return p;
    }
    return [`not quiescent after ${stepsMax} steps: ${this.pending.length} pending, ${this.drivers.size} drivers, ${this.askers.size} askers`];
  }

  /** At quiescence: both sides agree on every transfer, balances equal the ledger of commits. */
  checkFinal(): string[] {
    const problems = this.check();
    const expected = new Map<string, number>();
    for (const g of this.groups) for (const a of g.balances.keys()) expected.set(`${g.id}/${a}`, this.opts.start);
    for (const [id, payload] of this.payloads) {
      const c = this.groups[payload.from.group]!.coordinator.get(id);
      const p = this.groups[payload.to.group]!.participant.get(id);
      if (c && !c.participantDone) problems.push(`${id}: coordinator record not done at quiescence`);
      const committed = c?.phase === 'committed';
      if (committed !== (p?.phase === 'committed')) problems.push(`${id}: coordinator ${c?.phase ?? 'unknown'}, participant ${p?.phase ?? 'unknown'}`);
      if (!committed) continue;
      const f = `${payload.from.group}/${payload.from.name}`;
      const t = `${payload.to.group}/${payload.to.name}`;
      expected.set(f, expected.get(f)! - payload.amount);
      expected.set(t, expected.get(t)! + payload.amount);
    }
    for (const g of this.groups) for (const [a, v] of g.balances) if (v !== expected.get(`${g.id}/${a}`)) problems.push(`${g.id}/${a}: ${v}, ledger says ${expected.get(`${g.id}/${a}`)}`);
    return problems;
  }
}
