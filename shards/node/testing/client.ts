// What the node integration tests use to talk to a cluster: requests that never throw (a network
// failure is an outcome like a status), retries that are safe by the API's error model, and the
// bookkeeping of a write history (which writes were acknowledged, refused, or left in doubt).
import { randomUUID } from 'node:crypto';
import { startLocalCluster, type LocalCluster } from './local_cluster.ts';

export type Outcome =
  | { kind: 'status'; status: number; body: any; headers: Headers }
  /** The connection was refused: the request never reached a node, so nothing was applied. */
  | { kind: 'refused'; message: string }
  /** The request may have reached a node (reset, timeout): like a 504, it may or may not apply. */
  | { kind: 'lost'; message: string };

const REFUSED_CODES = new Set(['ECONNREFUSED']);

/** One HTTP request with a JSON body (a string is sent as is); never throws. */
export async function request(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Outcome> {
  try {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: the test asserts on it */
    }
    return { kind: 'status', status: res.status, body: parsed, headers: res.headers };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    if (cause?.code && REFUSED_CODES.has(cause.code)) return { kind: 'refused', message: cause.code };
    return { kind: 'lost', message: `${(e as Error).name}: ${(e as Error).message}${cause?.code ? ` (${cause.code})` : ''}` };
  }
}

export function describeOutcome(o: Outcome): string {
  return o.kind === 'status' ? `${o.status} ${JSON.stringify(o.body).slice(0, 300)}` : `${o.kind}: ${o.message}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends a request until it gets a final answer (not 503/504, not a network failure), with one
 * Idempotency-Key for every attempt, so a write applies at most once however often it is retried.
 */
export async function untilFinal(
  url: string,
  method: string,
  body?: unknown,
  opts: { idempotencyKey?: string; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const key = opts.idempotencyKey ?? `t-${randomUUID()}`;
  const headers = { ...(method === 'GET' ? {} : { 'idempotency-key': key }), ...opts.headers };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: Outcome | undefined;
  for (;;) {
    last = await request(url, method, body, headers);
    if (last.kind === 'status' && last.status !== 503 && last.status !== 504) return { status: last.status, body: last.body };
    if (Date.now() > deadline) throw new Error(`${method} ${url} got no final answer in time; last: ${describeOutcome(last)}`);
    await sleep(50);
  }
}

/** Like untilFinal, and the final answer must have status `expected`. */
export async function expectStatus(url: string, method: string, body: unknown, expected: number, opts: Parameters<typeof untilFinal>[3] = {}): Promise<any> {
  const r = await untilFinal(url, method, body, opts);
  if (r.status !== expected) throw new Error(`${method} ${url} answered ${r.status}, expected ${expected}: ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body;
}

export async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(50);
  }
}

export interface ShardSpec {
  geography: string;
  replicas: string[];
  id?: string;
}

/** Creates shards `{geography, *, *, *}` through /admin/shards (retried with one key each) and returns their ids. */
export async function createShards(url: string, specs: ShardSpec[]): Promise<string[]> {
  const ids: string[] = [];
  for (const s of specs) {
    const body = await expectStatus(`${url}/admin/shards`, 'POST', { key: { geography: s.geography, theme: '*', tier: '*', faction: '*' }, replicas: s.replicas, ...(s.id ? { id: s.id } : {}) }, 201);
    ids.push(body.shard.id);
  }
  return ids;
}

/**
 * Starts a local cluster, waits until it is ready (every node registered, the catalogue loaded),
 * creates the shards through node 1 and waits until each has a leader and is initialised.
 */
export async function startClusterWithShards(opts: Parameters<typeof startLocalCluster>[0] & { nodes: number }, specs: ShardSpec[]): Promise<{ cluster: LocalCluster; shards: string[] }> {
  const cluster = await startLocalCluster(opts);
  try {
    const all = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    // Healthy means the meta group has a leader and a catalogue, which it loads after registering the nodes.
    await waitHealthy(cluster, all);
    const shards = await createShards(cluster.url(1), specs);
    await waitHealthy(cluster, all);
    await waitShardsInitialised(cluster, 1, shards);
    return { cluster, shards };
  } catch (e) {
    for (let id = 1; id <= opts.nodes; id++) console.error(`--- n${id} log ---\n${cluster.logTail(id)}`);
    await cluster.stop();
    throw e;
  }
}

/** Waits until every running node answers /health 200 (every shard it hosts has a leader, the catalogue is loaded). */
export async function waitHealthy(cluster: LocalCluster, nodeIds: number[], timeoutMs = 30_000): Promise<void> {
  await Promise.all(
    nodeIds.map((id) =>
      waitFor(
        `n${id} healthy`,
        async () => {
          const r = await request(`${cluster.url(id)}/health`);
          if (r.kind === 'status' && r.status === 200) return true;
          // Thrown, not returned: a timeout then says why the node was last unhealthy (its /health reasons).
          throw new Error(r.kind === 'status' ? `/health answered ${r.status} ${JSON.stringify(r.body).slice(0, 300)}` : `/health: ${JSON.stringify(r).slice(0, 300)}`);
        },
        timeoutMs,
      ),
    ),
  );
}

/** Waits until every shard's equilibrium answers (its group has applied init) through node `id`. */
export async function waitShardsInitialised(cluster: LocalCluster, id: number, shards: string[], timeoutMs = 30_000): Promise<void> {
  for (const s of shards) {
    await waitFor(
      `shard ${s} initialised`,
      async () => {
        const r = await request(`${cluster.url(id)}/shards/${s}/equilibrium`);
        return r.kind === 'status' && r.status === 200 ? true : undefined;
      },
      timeoutMs,
    );
  }
}

/** A linearizable read of one axis through node `url`, retried while the answer is 503. */
export async function readAxis(url: string, shard: string, axis: string, consistency: 'linearizable' | 'stale' = 'linearizable'): Promise<number> {
  const body = await expectStatus(`${url}/shards/${shard}/axes/${axis}?consistency=${consistency}`, 'GET', undefined, 200);
  return body.value as number;
}

/** What became of one write in a history. */
export type WriteResult = 'ok' | 'unavailable' | 'indeterminate' | 'refused' | 'rejected';

export function classify(o: Outcome): WriteResult {
  if (o.kind === 'refused') return 'refused';
  if (o.kind === 'lost') return 'indeterminate';
  if (o.status === 200) return 'ok';
  if (o.status === 503) return 'unavailable';
  if (o.status === 504) return 'indeterminate';
  return 'rejected';
}

export interface Write {
  shard: string;
  axis: string;
  value: number;
  node: number;
  result: WriteResult;
  detail: string;
  /** When the request was sent and when its answer came (Date.now()). */
  sentAtMs: number;
  answeredAtMs: number;
}

/**
 * A history of single-writer registers: every (shard, axis) slot is written by one writer with
 * strictly increasing values, one attempt per value, so the value a slot ends with names the
 * last write that took effect. After the run, for each slot, the final value v must satisfy:
 *  - v ≥ the last acknowledged (200) value — an acknowledged write is never lost;
 *  - v is the initial value or a value whose write answered 200 or was indeterminate (504, reset)
 *    — a write answered 503 or refused must never have taken effect.
 */
export class RegisterHistory {
  readonly writes: Write[] = [];
  private readonly initial = new Map<string, number>();

  setInitial(shard: string, axis: string, value: number): void {
    this.initial.set(`${shard}/${axis}`, value);
  }

  record(w: Write): void {
    this.writes.push(w);
  }

  count(result: WriteResult, shard?: string): number {
    return this.writes.filter((w) => w.result === result && (shard === undefined || w.shard === shard)).length;
  }

  slots(): Array<{ shard: string; axis: string }> {
    return [...this.initial.keys()].map((k) => {
      const [shard, axis] = k.split('/');
      return { shard: shard!, axis: axis! };
    });
  }

  /** Problems with the final value of a slot; empty when it is consistent with the history. */
  check(shard: string, axis: string, finalValue: number): string[] {
    const key = `${shard}/${axis}`;
    const initial = this.initial.get(key);
    if (initial === undefined) throw new Error(`slot ${key} has no initial value`);
    const mine = this.writes.filter((w) => w.shard === shard && w.axis === axis);
    const problems: string[] = [];
    const acked = mine.filter((w) => w.result === 'ok');
    const lastAcked = acked.length > 0 ? acked[acked.length - 1]!.value : initial;
    if (finalValue < lastAcked) problems.push(`${key}: acknowledged write of ${lastAcked} was lost (final value ${finalValue})`);
    if (finalValue !== initial) {
      const w = mine.find((x) => x.value === finalValue);
      if (!w) problems.push(`${key}: final value ${finalValue} was never written`);
      else if (w.result !== 'ok' && w.result !== 'indeterminate') problems.push(`${key}: final value ${finalValue} comes from a write answered '${w.result}' (${w.detail}), which must not take effect`);
    }
    return problems;
  }
}

export interface WriteLoadOptions {
  url: (node: number) => string;
  /** The nodes a write may go through, asked before each write (a test removes a killed node). */
  nodes: () => number[];
  slots: Array<{ shard: string; axis: string }>;
  history: RegisterHistory;
  writers: number;
  /** Pause between two writes of one writer: keeps the load steady on a small machine. */
  pauseMs: number;
  /** The largest value written to a slot (values go 1, 2, 3, ...; a full slot is left alone). */
  valueMax: number;
}

/**
 * Concurrent writers over single-writer registers (see RegisterHistory): writer i owns the slots
 * i, i+writers, ...; each write is one attempt (no retry) of the slot's next value, through the
 * next node in turn, and its outcome goes into the history.
 */
export class WriteLoad {
  private stopping = false;
  private running: Promise<void>[] = [];
  private readonly next = new Map<string, number>();

  constructor(private readonly o: WriteLoadOptions) {}

  start(): void {
    for (let w = 0; w < this.o.writers; w++) this.running.push(this.writer(w));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
    this.running = [];
    this.stopping = false;
  }

  private async writer(w: number): Promise<void> {
    const mine = this.o.slots.filter((_, i) => i % this.o.writers === w);
    let turn = w;
    while (!this.stopping) {
      const slot = mine[turn % mine.length]!;
      turn++;
      const key = `${slot.shard}/${slot.axis}`;
      const value = (this.next.get(key) ?? 0) + 1;
      if (value > this.o.valueMax) {
        if (mine.every((s) => (this.next.get(`${s.shard}/${s.axis}`) ?? 0) >= this.o.valueMax)) return;
        continue;
      }
      this.next.set(key, value);
      const nodes = this.o.nodes();
      const node = nodes[turn % nodes.length]!;
      const sentAtMs = Date.now();
      const o = await request(`${this.o.url(node)}/shards/${slot.shard}/axes/${slot.axis}`, 'PUT', { value });
      this.o.history.record({ ...slot, value, node, result: classify(o), detail: describeOutcome(o), sentAtMs, answeredAtMs: Date.now() });
      await sleep(this.o.pauseMs);
    }
  }
}

/** The current leader of each shard as node `id` sees it (GET /cluster). */
export async function leaders(url: string): Promise<Map<string, string | null>> {
  const body = await expectStatus(`${url}/cluster`, 'GET', undefined, 200);
  return new Map((body.shards as Array<{ id: string; leader: string | null }>).map((s) => [s.id, s.leader]));
}

export const nodeNumber = (name: string): number => Number(name.replace(/^n/, ''));

/**
 * Reads every slot of the history linearizably through each of `nodes` (one equilibrium read per
 * shard and node) and returns the problems: nodes disagreeing, or a final value the history rules
 * out (an acknowledged write lost, a 503 applied).
 */
export async function checkHistory(url: (node: number) => string, nodes: number[], history: RegisterHistory): Promise<string[]> {
  const problems: string[] = [];
  const shards = [...new Set(history.slots().map((s) => s.shard))];
  for (const shard of shards) {
    const views = await Promise.all(nodes.map(async (id) => ({ id, eq: await expectStatus(`${url(id)}/shards/${shard}/equilibrium`, 'GET', undefined, 200) })));
    for (const { axis } of history.slots().filter((s) => s.shard === shard)) {
      const values = views.map((v) => v.eq.axes[axis]?.value as number);
      if (new Set(values).size !== 1) problems.push(`${shard}/${axis}: nodes disagree after linearizable reads: ${views.map((v, i) => `n${v.id}=${values[i]}`).join(' ')}`);
      problems.push(...history.check(shard, axis, values[0]!));
    }
  }
  return problems;
}

export interface GroupStatus {
  groupId: number;
  shard: string | null;
  role: string;
  leader: string | null;
  term: number;
  commitIndex: number;
  appliedIndex: number;
}

/** GET /admin/status of node `id`: the Raft groups it hosts. */
export async function groupsOf(url: string): Promise<GroupStatus[]> {
  return (await expectStatus(`${url}/admin/status`, 'GET', undefined, 200)).groups as GroupStatus[];
}

/** The node that leads `shard` by its own account (role leader, highest term), among `nodes`. */
export async function leaderOf(url: (node: number) => string, nodes: number[], shard: string): Promise<number> {
  return waitFor(`a leader of ${shard}`, async () => {
    let best: { id: number; term: number } | undefined;
    for (const id of nodes) {
      const g = (await groupsOf(url(id))).find((x) => x.shard === shard);
      if (g?.role === 'leader' && (!best || g.term > best.term)) best = { id, term: g.term };
    }
    return best?.id;
  });
}

export interface EventAttempt {
  node: number;
  result: WriteResult;
  eventUid?: string;
  shard?: string;
  detail: string;
}

/**
 * One writer posting events with `body` through the nodes in turn (one attempt each, no retry),
 * until stopped. The register of the owning shard then holds between `ok` and `ok + indeterminate`
 * more events than before: more would mean a refused (503) event was applied.
 */
export class EventLoad {
  readonly attempts: EventAttempt[] = [];
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(private readonly o: { url: (node: number) => string; nodes: () => number[]; body: unknown; pauseMs: number }) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  count(result: WriteResult): number {
    return this.attempts.filter((a) => a.result === result).length;
  }

  private async loop(): Promise<void> {
    for (let turn = 0; !this.stopping; turn++) {
      const nodes = this.o.nodes();
      const node = nodes[turn % nodes.length]!;
      const o = await request(`${this.o.url(node)}/events`, 'POST', this.o.body);
      const result = o.kind === 'status' && o.status === 202 ? 'ok' : classify(o) === 'ok' ? 'rejected' : classify(o);
      this.attempts.push({ node, result, detail: describeOutcome(o), ...(result === 'ok' && o.kind === 'status' ? { eventUid: o.body.eventUid, shard: o.body.shard } : {}) });
      await sleep(this.o.pauseMs);
    }
  }
}
