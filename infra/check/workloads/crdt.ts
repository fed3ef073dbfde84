// The crdt workload: clients increment a few counters on random nodes — partitioned ones
// included, which must still accept (202) — read counters from random nodes, and now and then
// write an axis (strong state that the eventual equilibrium view must catch up with). After the
// heal, every node's GET /counters and GET /equilibrium are polled until they agree.
import { randomBytes } from 'node:crypto';
import { AXIS_SLOTS, axesWithRoom, axisPath, catalogueAxes, readShardAxes, type AxisRef } from '../axes.ts';
import { checkCrdt, countersSettled, equilibriumDisagreements, type CounterRead, type IncrementRecord } from '../checkers/crdt.ts';
import { describeAnswer, outcomeOf } from '../http.ts';
import { pick, type ClientState, type RunContext, type Violation, type Workload, type WorkloadResult } from '../workload.ts';
import { routeMissing } from './route_probe.ts';

const COUNTERS = 5;
const BY_MAX = 5;
const INCREMENT_SHARE = 0.7;
const READ_SHARE = 0.2;
/** Axis writes span 0..this (every catalogue axis spans at least 0..100). */
const WRITTEN_VALUE_MAX = 100;
const POLL_MS = 200;

/** `{"counters":{"c":3}}`, `{"c":3}` or `{"counters":{"c":{"value":3}}}` → {c: 3}. */
export function counterValues(body: unknown): Record<string, number> {
  const b = body as { counters?: unknown } | null;
  const source = (b !== null && typeof b.counters === 'object' && b.counters !== null ? b.counters : b) as Record<string, unknown> | null;
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(source ?? {})) {
    const value = typeof v === 'number' ? v : (v as { value?: unknown } | null)?.value;
    if (typeof value === 'number') out[name] = value;
  }
  return out;
}

/** GET /equilibrium's `shards` part as shard → axis → value. */
export function equilibriumAxes(body: unknown): Record<string, Record<string, number>> {
  const shards = (body as { shards?: Record<string, unknown> } | null)?.shards ?? {};
  const out: Record<string, Record<string, number>> = {};
  for (const [id, s] of Object.entries(shards)) {
    const axes = (s as { axes?: Record<string, unknown> } | null)?.axes ?? {};
    out[id] = {};
    for (const [axis, v] of Object.entries(axes)) {
      const value = typeof v === 'number' ? v : (v as { value?: unknown } | null)?.value;
      if (typeof value === 'number') (out[id] as Record<string, number>)[axis] = value;
    }
  }
  return out;
}

export class CrdtWorkload implements Workload {
  readonly name = 'crdt';
  private counters: string[] = [];
  private readonly increments: IncrementRecord[] = [];
  private readonly reads: CounterRead[] = [];
  private finalViews: Record<string, Record<string, number | undefined>> = {};
  private convergenceMs: number | null = null;
  private equilibriumConvergenceMs: number | null = null;
  private equilibriumLeft: string[] = [];
  private readonly extra: Violation[] = [];
  private writtenAxes: AxisRef[] = [];

  async setup(ctx: RunContext): Promise<void> {
    const node = ctx.nodes[0]?.url ?? ctx.controllerUrl;
    if (await routeMissing(`${node}/counters`, 'GET', ctx.options.requestTimeoutMs)) {
      throw new Error('this cluster does not serve GET /counters (eventual state); the crdt workload needs it — use --workload register');
    }
    if (await routeMissing(`${node}/equilibrium`, 'GET', ctx.options.requestTimeoutMs)) {
      throw new Error('this cluster does not serve GET /equilibrium (the eventual global view); the crdt workload needs it');
    }
    const run = randomBytes(3).toString('hex');
    this.counters = Array.from({ length: COUNTERS }, (_, i) => `chk-${run}-c${i}`);
    const [axis] = axesWithRoom(await catalogueAxes(ctx), WRITTEN_VALUE_MAX, AXIS_SLOTS.crdt.count, AXIS_SLOTS.crdt.skip);
    this.writtenAxes = ctx.shards.map((shard) => ({ shard, axis: (axis as { id: string }).id }));
    ctx.log(`crdt: counters ${this.counters.join(', ')}; axis writes on ${axis?.id}`);
  }

  async step(ctx: RunContext, client: ClientState): Promise<void> {
    const node = ctx.pickNode(client.rng);
    const roll = client.rng();
    const startMs = ctx.now();
    if (roll < INCREMENT_SHARE) {
      const counter = pick(client.rng, this.counters);
      const by = 1 + Math.floor(client.rng() * BY_MAX);
      const answer = await ctx.request({ method: 'POST', url: `${node.url}/counters/${encodeURIComponent(counter)}/increment`, body: { by } });
      const outcome = outcomeOf(answer);
      this.increments.push({ counter, by, node: node.name, outcome, startMs, endMs: ctx.now() });
      ctx.ops.record('increment', outcome, startMs, ctx.now(), outcome === 'ok' ? undefined : describeAnswer(answer));
    } else if (roll < INCREMENT_SHARE + READ_SHARE) {
      const incarnation = ctx.incarnation(node.name);
      const answer = await ctx.request({ method: 'GET', url: `${node.url}/counters` });
      const outcome = outcomeOf(answer);
      if (outcome === 'ok') {
        const values = counterValues(answer.body);
        // A read across a kill is not comparable with the earlier incarnation's reads.
        if (incarnation === ctx.incarnation(node.name)) {
          for (const counter of this.counters) {
            this.reads.push({ node: node.name, incarnation, counter, value: values[counter] ?? 0, startMs, endMs: ctx.now() });
          }
        }
      }
      ctx.ops.record('read', outcome, startMs, ctx.now(), outcome === 'ok' ? undefined : describeAnswer(answer));
    } else {
      const ref = pick(client.rng, this.writtenAxes);
      const value = Math.round(client.rng() * WRITTEN_VALUE_MAX);
      const answer = await ctx.request({ method: 'PUT', url: `${node.url}${axisPath(ref)}`, body: { value } });
      const outcome = outcomeOf(answer);
      ctx.ops.record('write', outcome, startMs, ctx.now(), outcome === 'ok' ? undefined : describeAnswer(answer));
    }
  }

  private converging: Promise<void> | null = null;

  onHeal(ctx: RunContext, healedAtMs: number): void {
    // Convergence is timed from the heal: the polls start now, not after the recovery period.
    this.converging = Promise.all([this.awaitCounters(ctx, healedAtMs), this.awaitEquilibrium(ctx, healedAtMs)]).then(() => undefined);
  }

  async finish(ctx: RunContext, healedAtMs: number): Promise<void> {
    this.converging ??= Promise.all([this.awaitCounters(ctx, healedAtMs), this.awaitEquilibrium(ctx, healedAtMs)]).then(() => undefined);
    await this.converging;
  }

  /** Every node's counters, until all agree within the bounds (or the convergence timeout). */
  private async awaitCounters(ctx: RunContext, healedAtMs: number): Promise<void> {
    const deadlineMs = healedAtMs + ctx.options.convergenceTimeoutMs;
    for (;;) {
      this.finalViews = await this.pollCounters(ctx);
      if (countersSettled(this.counters, this.increments, this.finalViews)) {
        this.convergenceMs = ctx.now() - healedAtMs;
        return;
      }
      if (ctx.now() > deadlineMs) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Every node's eventual equilibrium view, until it equals each shard's linearizable axes. */
  private async awaitEquilibrium(ctx: RunContext, healedAtMs: number): Promise<void> {
    const deadlineMs = healedAtMs + ctx.options.convergenceTimeoutMs;
    const truth: Record<string, Record<string, number>> = {};
    for (const shard of ctx.shards) truth[shard] = await readShardAxes(ctx, shard);
    for (;;) {
      const views: Record<string, Record<string, Record<string, number>>> = {};
      await Promise.all(
        ctx.nodes.map(async (n) => {
          const startMs = ctx.now();
          const answer = await ctx.request({ method: 'GET', url: `${n.url}/equilibrium` });
          ctx.ops.record('equilibrium', outcomeOf(answer), startMs, ctx.now());
          views[n.name] = answer.status === 200 ? equilibriumAxes(answer.body) : {};
        }),
      );
      this.equilibriumLeft = equilibriumDisagreements(views, truth);
      if (this.equilibriumLeft.length === 0) {
        this.equilibriumConvergenceMs = ctx.now() - healedAtMs;
        return;
      }
      if (ctx.now() > deadlineMs) {
        this.extra.push({
          kind: 'not-converged',
          message: `GET /equilibrium did not converge within ${ctx.options.convergenceTimeoutMs} ms of the heal: ${this.equilibriumLeft.slice(0, 8).join('; ')}${this.equilibriumLeft.length > 8 ? ` (+${this.equilibriumLeft.length - 8} more)` : ''}`,
        });
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private async pollCounters(ctx: RunContext): Promise<Record<string, Record<string, number | undefined>>> {
    const views: Record<string, Record<string, number | undefined>> = {};
    await Promise.all(
      ctx.nodes.map(async (n) => {
        const startMs = ctx.now();
        const answer = await ctx.request({ method: 'GET', url: `${n.url}/counters` });
        ctx.ops.record('read', outcomeOf(answer), startMs, ctx.now());
        const values = answer.status === 200 ? counterValues(answer.body) : {};
        views[n.name] = Object.fromEntries(this.counters.map((c) => [c, values[c]]));
      }),
    );
    return views;
  }

  check(): WorkloadResult {
    const verdict = checkCrdt({ counters: this.counters, increments: this.increments, reads: this.reads, finalViews: this.finalViews });
    return {
      violations: [...verdict.violations, ...this.extra],
      inconclusive: false,
      convergenceMs: this.convergenceMs === null ? null : Math.round(this.convergenceMs),
      summary: {
        converged: verdict.converged && this.convergenceMs !== null,
        counterConvergenceMs: this.convergenceMs === null ? null : Math.round(this.convergenceMs),
        equilibriumConvergenceMs: this.equilibriumConvergenceMs === null ? null : Math.round(this.equilibriumConvergenceMs),
        counters: verdict.bounds,
        readsChecked: verdict.readsChecked,
      },
    };
  }
}
