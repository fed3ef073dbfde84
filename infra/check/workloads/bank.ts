// The bank workload: accounts are shard axes, two per shard; clients move small amounts between
// accounts of different shards (POST /transfers) and read balances (one shard's equilibrium,
// linearizable). After the heal, indeterminate transfers are resolved (GET /transfers/:id, else a
// retry of the same id, which must never apply twice) and the final balances are checked.
import { randomBytes } from 'node:crypto';
import { AXIS_SLOTS, axesWithRoom, axisKey, catalogueAxes, putAxisUntilDone, readShardAxes, axisValues } from '../axes.ts';
import { checkBank, type BalanceRead, type BankAccount, type TransferRecord } from '../checkers/bank.ts';
import { describeAnswer, outcomeOf, request, requestUntilDefinite, type HttpAnswer } from '../http.ts';
import { pick, type ClientState, type RunContext, type Violation, type Workload, type WorkloadResult } from '../workload.ts';
import { routeMissing } from './route_probe.ts';

/** Every catalogue axis spans at least 0..100: the accounts' total fits in every one. */
const ACCOUNT_SPAN = 100;
const AMOUNT_MAX = 5;
/** The rest are balance reads, as in Jepsen's bank (each one checked against the minimum). */
const TRANSFER_SHARE = 0.5;
/** After the heal, final balances are re-read until the total is conserved or this long passes (in-doubt transfers finish). */
const SETTLE_MS_MAX = 15_000;
const RESOLVE_ATTEMPTS_MAX = 5;

interface Transfer {
  id: string;
  from: { shard: string; axis: string };
  to: { shard: string; axis: string };
  amount: number;
}

const COMMITTED = new Set(['committed', 'applied', 'done', 'completed', 'succeeded']);
const ABORTED = new Set(['aborted', 'rejected', 'failed', 'cancelled', 'refused']);

/** What GET /transfers/:id says about a transfer: committed, aborted, or not (yet) decided. */
export function transferStatusOf(answer: HttpAnswer): 'committed' | 'aborted' | 'unknown' {
  if (answer.status !== 200) return 'unknown';
  const body = answer.body as { status?: unknown; state?: unknown; outcome?: unknown } | null;
  const status = String(body?.status ?? body?.state ?? body?.outcome ?? '').toLowerCase();
  if (COMMITTED.has(status)) return 'committed';
  if (ABORTED.has(status)) return 'aborted';
  return 'unknown';
}

export class BankWorkload implements Workload {
  readonly name = 'bank';
  private accounts: BankAccount[] = [];
  private readonly transfers = new Map<string, { t: Transfer; record: TransferRecord }>();
  private readonly reads: BalanceRead[] = [];
  private final: Record<string, number> = {};
  private readonly unexpected: Violation[] = [];
  private readonly runId = randomBytes(3).toString('hex');
  private settleMs: number | null = null;
  private resolvedBy = { get: 0, retry: 0 };

  async setup(ctx: RunContext): Promise<void> {
    if (await routeMissing(`${ctx.nodes[0]?.url}/transfers`, 'POST', ctx.options.requestTimeoutMs)) {
      throw new Error('this cluster does not serve POST /transfers (cross-shard transfers); the bank workload needs it — use --workload register or crdt');
    }
    if (ctx.shards.length < 2) throw new Error('the bank workload moves amounts between shards: it needs at least 2 shards (--shards)');
    const axes = axesWithRoom(await catalogueAxes(ctx), ACCOUNT_SPAN, AXIS_SLOTS.bank.count, AXIS_SLOTS.bank.skip);
    const refs = ctx.shards.flatMap((shard) => axes.map((a) => ({ shard, axis: a.id, min: a.min, max: a.max })));
    const initial = Math.floor(Math.min(...refs.map((r) => r.max)) / refs.length);
    if (initial < AMOUNT_MAX) throw new Error(`${refs.length} accounts leave each only ${initial}; run with fewer shards`);
    await Promise.all(refs.map((r) => putAxisUntilDone(ctx, r, initial)));
    this.accounts = refs.map((r) => ({ id: axisKey(r), min: r.min, max: r.max, initial }));
    ctx.log(`bank: ${this.accounts.length} accounts of ${initial} each (${ctx.shards.length} shards × ${axes.map((a) => a.id).join(', ')})`);
  }

  async step(ctx: RunContext, client: ClientState): Promise<void> {
    const base = ctx.pickOrigin(client.rng);
    if (client.rng() < TRANSFER_SHARE) await this.transfer(ctx, client, base);
    else await this.read(ctx, pick(client.rng, ctx.shards), base);
  }

  private async transfer(ctx: RunContext, client: ClientState, base: string): Promise<void> {
    const from = pick(client.rng, this.accounts);
    const to = pick(client.rng, this.accounts.filter((a) => shardOf(a.id) !== shardOf(from.id)));
    const t: Transfer = {
      id: `chk-${this.runId}-${client.id}-${client.invoked}`,
      from: refOf(from.id),
      to: refOf(to.id),
      amount: 1 + Math.floor(client.rng() * AMOUNT_MAX),
    };
    const startMs = ctx.now();
    const answer = await ctx.request({ method: 'POST', url: `${base}/transfers`, body: t });
    const outcome = outcomeOf(answer);
    // 409: the source would go below its minimum — refused, nothing applied.
    if (answer.status !== null && answer.status >= 400 && answer.status < 500 && answer.status !== 409) this.noteUnexpected(`transfer ${t.id}`, answer);
    this.transfers.set(t.id, { t, record: { id: t.id, from: from.id, to: to.id, amount: t.amount, outcome } });
    ctx.ops.record('transfer', outcome, startMs, ctx.now(), outcome === 'ok' ? undefined : describeAnswer(answer));
  }

  private async read(ctx: RunContext, shard: string, base: string): Promise<void> {
    const startMs = ctx.now();
    const answer = await ctx.request({ method: 'GET', url: `${base}/shards/${encodeURIComponent(shard)}/equilibrium?consistency=linearizable` });
    const outcome = outcomeOf(answer);
    if (outcome === 'ok') {
      const values = axisValues(answer.body);
      const balances: Record<string, number> = {};
      for (const a of this.accounts) {
        const ref = refOf(a.id);
        if (ref.shard === shard && typeof values[ref.axis] === 'number') balances[a.id] = values[ref.axis] as number;
      }
      this.reads.push({ atMs: ctx.now(), balances });
    }
    ctx.ops.record('read', outcome, startMs, ctx.now(), outcome === 'ok' ? undefined : describeAnswer(answer));
  }

  async finish(ctx: RunContext, healedAtMs: number): Promise<void> {
    for (const { t, record } of this.transfers.values()) {
      if (record.outcome === 'info') record.resolution = await this.resolve(ctx, t);
    }
    // Re-read until the total is conserved: an in-doubt transfer may still be finishing its second half.
    const total = this.accounts.reduce((s, a) => s + a.initial, 0);
    const deadlineMs = ctx.now() + SETTLE_MS_MAX;
    for (;;) {
      const startMs = ctx.now();
      const shards = [...new Set(this.accounts.map((a) => shardOf(a.id)))];
      const values = await Promise.all(shards.map(async (s) => [s, await readShardAxes(ctx, s)] as const));
      ctx.ops.record('read', 'ok', startMs, ctx.now());
      const byShard = new Map(values);
      this.final = Object.fromEntries(this.accounts.map((a) => [a.id, byShard.get(shardOf(a.id))?.[refOf(a.id).axis] as number]));
      const sum = Object.values(this.final).reduce((s, v) => s + v, 0);
      if (sum === total || ctx.now() > deadlineMs) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    this.settleMs = ctx.now() - healedAtMs;
  }

  /** Asks the cluster what became of a transfer whose answer was lost; retries the same id when it cannot say. */
  private async resolve(ctx: RunContext, t: Transfer): Promise<'committed' | 'aborted' | 'unknown'> {
    const startMs = ctx.now();
    const status = transferStatusOf(
      await requestUntilDefinite({ method: 'GET', url: `${ctx.controllerUrl}/transfers/${encodeURIComponent(t.id)}`, timeoutMs: ctx.options.requestTimeoutMs }, Date.now() + 10_000),
    );
    if (status !== 'unknown') {
      this.resolvedBy.get++;
      ctx.ops.record('resolve', 'ok', startMs, ctx.now());
      return status;
    }
    // The same id again: it must not apply twice, so its answer tells whether the first one did.
    for (let attempt = 0; attempt < RESOLVE_ATTEMPTS_MAX; attempt++) {
      const answer = await request({ method: 'POST', url: `${ctx.controllerUrl}/transfers`, body: t, timeoutMs: ctx.options.requestTimeoutMs * 2 });
      if (answer.status !== null && answer.status >= 200 && answer.status < 300) {
        this.resolvedBy.retry++;
        ctx.ops.record('resolve', 'ok', startMs, ctx.now());
        return 'committed';
      }
      if (answer.status === 409) {
        this.resolvedBy.retry++;
        ctx.ops.record('resolve', 'ok', startMs, ctx.now());
        return 'aborted';
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    ctx.ops.record('resolve', 'info', startMs, ctx.now());
    return 'unknown';
  }

  check(): WorkloadResult {
    const verdict = checkBank({ accounts: this.accounts, transfers: [...this.transfers.values()].map((x) => x.record), reads: this.reads, final: this.final });
    return {
      violations: [...this.unexpected, ...verdict.violations],
      inconclusive: false,
      convergenceMs: null,
      summary: {
        accounts: this.accounts.length,
        totals: verdict.totals,
        transfers: verdict.transfers,
        resolvedBy: this.resolvedBy,
        balanceReadsChecked: verdict.readsChecked,
        finalSettledAfterHealMs: this.settleMs === null ? null : Math.round(this.settleMs),
        expected: verdict.expected,
      },
    };
  }

  private noteUnexpected(what: string, answer: HttpAnswer): void {
    if (this.unexpected.length < 10) this.unexpected.push({ kind: 'unexpected-answer', message: `${what} got ${describeAnswer(answer)}` });
  }
}

const shardOf = (accountId: string) => accountId.slice(0, accountId.indexOf('/'));
const refOf = (accountId: string) => ({ shard: shardOf(accountId), axis: accountId.slice(accountId.indexOf('/') + 1) });

