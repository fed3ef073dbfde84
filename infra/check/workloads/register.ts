// The register workload: read, write and compare-and-set on shard axes from concurrent clients,
// through random nodes (and sometimes the controller), recorded as a history and checked for
// linearizability per axis. Written values are unique per axis, which keeps the search cheap.
import { HistoryRecorder, type KvInput, type KvOutput } from '../../../consensus/check/index.ts';
import { AXIS_SLOTS, axesWithRoom, axisKey, axisPath, catalogueAxes, SETUP_DEADLINE_MS, type AxisRef } from '../axes.ts';
import { checkRegisterHistory } from '../checkers/register.ts';
import { describeAnswer, outcomeOf, requestUntilDefinite, type HttpAnswer, type Outcome } from '../http.ts';
import { pick, type ClientState, type RunContext, type Violation, type Workload, type WorkloadResult } from '../workload.ts';

/** Every register value lies in [0, VALUE_SPAN]; every catalogue axis spans at least 0..100. */
const VALUE_SPAN = 100;
/** Values step by 1/VALUE_STEPS_PER_UNIT, so each write's value is unique per register. */
const VALUE_STEPS_PER_UNIT = 1000;
const READ_SHARE = 0.5;
const WRITE_SHARE = 0.25;
/** Client ids of the setup writes and final reads, apart from the workload clients'. */
const SETUP_CLIENT_BASE = 1_000_000;
const FINAL_CLIENT_BASE = 2_000_000;

export class RegisterWorkload implements Workload {
  readonly name = 'register';
  private registers: AxisRef[] = [];
  private readonly history: HistoryRecorder<KvInput, KvOutput>;
  private valueSequence = 0;
  /** The last value each client saw per register: what its next cas expects. */
  private readonly lastSeen = new Map<number, Map<string, number>>();
  private readonly unexpected: Violation[] = [];

  constructor(ctx: { now(): number }) {
    this.history = new HistoryRecorder({ clock: () => ctx.now() });
  }

  async setup(ctx: RunContext): Promise<void> {
    const axes = axesWithRoom(await catalogueAxes(ctx), VALUE_SPAN, AXIS_SLOTS.register.count, AXIS_SLOTS.register.skip);
    this.registers = ctx.shards.flatMap((shard) => axes.map((a) => ({ shard, axis: a.id })));
    // A known first value per register, recorded as the first operation of its history.
    await Promise.all(
      this.registers.map(async (ref, i) => {
        const input: KvInput = { kind: 'write', key: axisKey(ref), value: this.nextValue() };
        const deadlineMs = Date.now() + SETUP_DEADLINE_MS;
        for (;;) {
          const op = this.history.invoke(SETUP_CLIENT_BASE + i, input);
          const answer = await ctx.request({ method: 'PUT', url: `${ctx.controllerUrl}${axisPath(ref)}`, body: { value: input.value } });
          const outcome = outcomeOf(answer);
          if (outcome === 'ok') {
            this.history.ok(op, { ok: true });
            return;
          }
          this.history.complete(op, outcome, undefined);
          if ((answer.status !== null && answer.status >= 400 && answer.status < 500) || Date.now() > deadlineMs) {
            throw new Error(`setting ${axisKey(ref)} failed: ${describeAnswer(answer)}`);
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }),
    );
    ctx.log(`register: ${this.registers.length} registers (${ctx.shards.length} shards × ${axes.map((a) => a.id).join(', ')})`);
  }

  async step(ctx: RunContext, client: ClientState): Promise<void> {
    const ref = pick(client.rng, this.registers);
    const key = axisKey(ref);
    const seen = this.seenBy(client.id);
    const roll = client.rng();
    let input: KvInput;
    if (roll < READ_SHARE) input = { kind: 'read', key };
    else if (roll < READ_SHARE + WRITE_SHARE) input = { kind: 'write', key, value: this.nextValue() };
    else input = { kind: 'cas', key, expect: seen.get(key) ?? this.nextValue(), value: this.nextValue() };
    const base = ctx.pickOrigin(client.rng);
    const url = `${base}${axisPath(ref)}`;

    const startMs = ctx.now();
    const op = this.history.invoke(client.id, input);
    let answer: HttpAnswer;
    switch (input.kind) {
      case 'read':
        answer = await ctx.request({ method: 'GET', url: `${url}?consistency=linearizable` });
        break;
      case 'write':
        answer = await ctx.request({ method: 'PUT', url, body: { value: input.value } });
        break;
      case 'cas':
        answer = await ctx.request({ method: 'POST', url: `${url}/cas`, body: { expect: input.expect, value: input.value } });
        break;
    }
    const outcome = this.complete(op, input, answer, seen);
    ctx.ops.record(input.kind, outcome, startMs, ctx.now(), outcome === 'ok' ? undefined : describeAnswer(answer));
  }

  async finish(ctx: RunContext): Promise<void> {
    // A final linearizable read of every register joins the history: a lost write shows here.
    await Promise.all(
      this.registers.map(async (ref, i) => {
        const op = this.history.invoke(FINAL_CLIENT_BASE + i, { kind: 'read', key: axisKey(ref) });
        const startMs = ctx.now();
        const answer = await requestUntilDefinite(
          { method: 'GET', url: `${ctx.controllerUrl}${axisPath(ref)}?consistency=linearizable`, timeoutMs: ctx.options.requestTimeoutMs },
          Date.now() + 30_000,
        );
        const value = (answer.body as { value?: unknown } | null)?.value;
        if (answer.status === 200 && typeof value === 'number') this.history.ok(op, { ok: true, value });
        else this.history.complete(op, outcomeOf(answer) === 'ok' ? 'info' : outcomeOf(answer), undefined);
        ctx.ops.record('read', answer.status === 200 ? 'ok' : outcomeOf(answer), startMs, ctx.now());
      }),
    );
  }

  check(ctx: RunContext): WorkloadResult {
    const operations = this.history.operations();
    const verdict = checkRegisterHistory(operations, ctx.options.checkTimeoutMs);
    return {
      violations: [...this.unexpected, ...verdict.violations],
      inconclusive: verdict.result === 'unknown',
      convergenceMs: null,
      summary: {
        registers: this.registers.map(axisKey),
        historyOperations: operations.length,
        linearizability: verdict.result,
        ...(verdict.unknownReason ? { unknownReason: verdict.unknownReason } : {}),
        checker: verdict.stats,
      },
    };
  }

  private complete(op: number, input: KvInput, answer: HttpAnswer, seen: Map<string, number>): Outcome {
    const outcome = outcomeOf(answer);
    if (outcome !== 'ok') {
      // The API answers 4xx only to bad input, and this workload sends none.
      if (answer.status !== null && answer.status >= 400 && answer.status < 500) this.noteUnexpected(input, answer);
      this.history.complete(op, outcome, undefined);
      return outcome;
    }
    const body = answer.body as { value?: unknown; ok?: unknown } | null;
    switch (input.kind) {
      case 'read':
        if (typeof body?.value !== 'number') return this.malformed(op, input, answer);
        this.history.ok(op, { ok: true, value: body.value });
        seen.set(input.key, body.value);
        return 'ok';
      case 'write':
        this.history.ok(op, { ok: true });
        seen.set(input.key, input.value as number);
        return 'ok';
      case 'cas':
        if (typeof body?.ok !== 'boolean') return this.malformed(op, input, answer);
        this.history.ok(op, { ok: body.ok });
        if (body.ok) seen.set(input.key, input.value as number);
        else if (typeof body.value === 'number') seen.set(input.key, body.value);
        return 'ok';
    }
  }

  /** A 2xx without the fields API.md promises: recorded as indeterminate, reported as a violation. */
  private malformed(op: number, input: KvInput, answer: HttpAnswer): Outcome {
    this.noteUnexpected(input, answer);
    this.history.info(op);
    return 'info';
  }

  private noteUnexpected(input: KvInput, answer: HttpAnswer): void {
    if (this.unexpected.length >= 10) return;
    this.unexpected.push({ kind: 'unexpected-answer', message: `${input.kind} ${input.key} got ${describeAnswer(answer)} ${JSON.stringify(answer.body).slice(0, 200)}` });
  }

  private seenBy(clientId: number): Map<string, number> {
    let m = this.lastSeen.get(clientId);
    if (m === undefined) {
      m = new Map();
      this.lastSeen.set(clientId, m);
    }
    return m;
  }

  /** A fresh value in (0, VALUE_SPAN], never repeated within a run below VALUE_SPAN × 1000 writes. */
  private nextValue(): number {
    this.valueSequence++;
    const steps = VALUE_SPAN * VALUE_STEPS_PER_UNIT;
    return (1 + ((this.valueSequence - 1) % steps)) / VALUE_STEPS_PER_UNIT;
  }
}
