// Directors and compositors against a real Postgres, compositors as real child processes: no event
// composed twice with two workers (SKIP LOCKED), a worker killed mid-event leaves it to another,
// the pool scales on queue depth and drains before stopping.
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalogue } from '../catalogue/index.ts';
import { DirectorSupervisor, listenComposed, PgRegisterStore, type CommittedEvent, type GatewayResult, type OutcomeProposal, type ShardGateway } from '../directors/index.ts';
import type { Postgres } from '../infra/launcher/index.ts';
import { startRegisterDb, type RegisterDb } from '../infra/testing/register_db.ts';
import { AutoscalePolicySchema } from './autoscale_policy.ts';
import { forkCompositor, WorkerPool } from './pool.ts';

const catalogue = defaultCatalogue();
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
let db: RegisterDb;
let postgres: Postgres;
let pool: pg.Pool;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  db = await startRegisterDb('compositor-pg');
  ({ postgres, pool } = db);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await db?.stop();
});

interface Worker {
  child: ChildProcess;
  picked: string[];
  composed: string[];
  exited: Promise<number | null>;
}

function startWorker(id: string, config: object): Promise<Worker> {
  const child = fork(MAIN, ['--pg', postgres.url, '--id', id, '--config-json', JSON.stringify(config)], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.add(child);
  const w: Worker = { child, picked: [], composed: [], exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  return new Promise((resolve, reject) => {
    child.on('message', (m: { type: string; uid?: string }) => {
      if (m.type === 'ready') resolve(w);
      if (m.type === 'picked') w.picked.push(m.uid!);
      if (m.type === 'composed') w.composed.push(m.uid!);
    });
    void w.exited.then((code) => reject(new Error(`worker ${id} exited (${code}) before ready`)));
  });
}

class Gateway implements ShardGateway {
  readonly applied = new Map<string, OutcomeProposal>();
  async applyOutcome(p: OutcomeProposal): Promise<GatewayResult> {
    if (this.applied.has(p.eventUid)) return 'already';
    this.applied.set(p.eventUid, p);
    return 'applied';
  }
  async closeEvent(): Promise<GatewayResult> {
    return 'applied';
  }
}

async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ev = (uid: string, shard: string, template = 'market_festival'): CommittedEvent => ({ uid, shard, template, district: 'square', participants: ['p1', 'p2', 'p3'], catalogueVersion: catalogue.version });
const q = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await pool.query<T>(sql, params)).rows;

function directors(gateway: ShardGateway) {
  return new DirectorSupervisor({ store: new PgRegisterStore(pool), gateway, catalogue: () => catalogue, config: { composedPollMs: 200, restartDelayMs: 20 } });
}

describe('pipeline: directors → register → compositor processes → canon', () => {
  it('two workers compose every event exactly once; routines apply each outcome once and prune the register', async () => {
    const [a, b] = await Promise.all([startWorker('w-a', { eventsInFlightMax: 3, idlePollMs: 50 }), startWorker('w-b', { eventsInFlightMax: 3, idlePollMs: 50 })]);
    const gateway = new Gateway();
    const sup = directors(gateway);
    const stop = await listenComposed(postgres.url, (uid) => sup.notifyComposed(uid));
    try {
      const uids = Array.from({ length: 60 }, (_, i) => `ev-two${i}`);
      for (const [i, uid] of uids.entries()) sup.start(ev(uid, 's-two', i % 3 === 0 ? 'coronation' : 'market_festival'), 1);
      await until(() => gateway.applied.size === 60 && sup.stats().live === 0, 60_000, 'all 60 events to end');
      // Exactly once: each event picked and composed by one worker, and no canon slot written twice.
      const composed = [...a.composed, ...b.composed];
      expect(composed.sort()).toEqual([...uids].sort());
      expect(a.composed.length).toBeGreaterThan(0);
      expect(b.composed.length).toBeGreaterThan(0);
      expect(await q(`SELECT event_uid, district, scene, slot FROM nimmer.canon WHERE event_uid LIKE 'ev-two%' GROUP BY 1, 2, 3, 4 HAVING count(*) > 1`)).toEqual([]);
      expect(await q(`SELECT count(DISTINCT event_uid)::int AS n FROM nimmer.canon WHERE event_uid LIKE 'ev-two%'`)).toEqual([{ n: 60 }]);
      // The outcome follows the audits in canon.
      for (const uid of uids) {
        const verdicts = (await q<{ v: string }>(`SELECT body->>'verdict' AS v FROM nimmer.canon WHERE event_uid = $1 AND body->>'kind' = 'audit'`, [uid])).map((r) => r.v);
        const expected = verdicts.includes('block') ? 'failure' : verdicts.includes('warn') ? 'partial' : 'success';
        expect(gateway.applied.get(uid)!.outcome).toBe(expected);
      }
      // Pruned at every step: no register row, no flag.
      expect(await q(`SELECT 1 FROM nimmer.register_events WHERE shard = 's-two'`)).toEqual([]);
      expect(await q(`SELECT 1 FROM nimmer.register_waiting`)).toEqual([]);
    } finally {
      sup.close();
      await stop();
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a.exited).toBe(0); // drained cleanly
      expect(await b.exited).toBe(0);
    }
  });

  it('a worker killed mid-event (SIGKILL, transaction open) leaves the event to another worker, composed once', async () => {
    const slow = await startWorker('w-slow', { eventsInFlightMax: 1, idlePollMs: 50, adapter: { kind: 'builtin', slotDelayMs: 60_000 } });
    const gateway = new Gateway();
    const sup = directors(gateway);
    const stop = await listenComposed(postgres.url, (uid) => sup.notifyComposed(uid));
    try {
      sup.start(ev('ev-kill', 's-kill'), 1);
      await until(() => slow.picked.includes('ev-kill'), 30_000, 'the slow worker to pick the event');
      // The event is locked: the row is invisible to SKIP LOCKED pickers, but still waiting.
      expect(await q(`SELECT event_uid FROM nimmer.register_waiting WHERE event_uid = 'ev-kill'`)).toHaveLength(1);
      expect(await q(`SELECT event_uid FROM nimmer.register_waiting FOR UPDATE SKIP LOCKED`)).toEqual([]);
      slow.child.kill('SIGKILL');
      await slow.exited;
      const fast = await startWorker('w-fast', { eventsInFlightMax: 1, idlePollMs: 50 });
      try {
        await until(() => gateway.applied.has('ev-kill'), 30_000, 'the other worker to complete the event');
        expect(fast.composed).toEqual(['ev-kill']);
        expect(await q(`SELECT count(*)::int AS n FROM nimmer.canon WHERE event_uid = 'ev-kill' AND slot = 'canon_audit'`)).toEqual([{ n: 1 }]);
        await until(async () => (await q(`SELECT 1 FROM nimmer.register_events WHERE event_uid = 'ev-kill'`)).length === 0, 10_000, 'pruning');
      } finally {
        fast.child.kill('SIGTERM');
        await fast.exited;
      }
    } finally {
      sup.close();
      await stop();
    }
  });

  it('an event whose composition keeps failing fails closed after attemptsMax tries (outcome failure), instead of waiting forever', async () => {
    // A model server that is not there: every slot fails.
    const dead = { kind: 'openai', baseUrl: 'http://127.0.0.1:9', models: { deep: 'd', small_lora: 's', classifier: 'c' }, timeoutMs: 1_000 };
    const w = await startWorker('w-dead', { eventsInFlightMax: 1, idlePollMs: 50, retryDelayMs: 50, attemptsMax: 2, adapter: dead });
    const gateway = new Gateway();
    const sup = directors(gateway);
    const stop = await listenComposed(postgres.url, (uid) => sup.notifyComposed(uid));
    try {
      sup.start(ev('ev-dead', 's-dead'), 1);
      await until(() => gateway.applied.has('ev-dead'), 30_000, 'the event to fail closed');
      expect(gateway.applied.get('ev-dead')!.outcome).toBe('failure');
      expect(w.picked.filter((u) => u === 'ev-dead')).toHaveLength(3); // two failed attempts, then the fail-closed commit
      const rows = await q<{ body: { verdict: string; failedClosed: boolean; attempts: number } }>(`SELECT body FROM nimmer.canon WHERE event_uid = 'ev-dead'`);
      expect(rows.map((r) => r.body)).toMatchObject([{ verdict: 'block', failedClosed: true, attempts: 2 }]);
    } finally {
      sup.close();
      await stop();
      w.child.kill('SIGTERM');
      await w.exited;
    }
  });

  it('the pool scales up on queue depth and drains workers (finishing their events) when the queue empties', async () => {
    const gateway = new Gateway();
    const sup = directors(gateway);
    const stop = await listenComposed(postgres.url, (uid) => sup.notifyComposed(uid));
    const changes: string[] = [];
    const workerPool = new WorkerPool({
      policy: AutoscalePolicySchema.parse({ minWorkers: 1, maxWorkers: 3, upPerWorker: 4, downPerWorker: 1, stepMax: 2, upCooldownMs: 0, downStableMs: 300 }),
      launch: forkCompositor(postgres.url, JSON.stringify({ eventsInFlightMax: 2, idlePollMs: 50, adapter: { kind: 'builtin', slotDelayMs: 150 } })),
      queueDepth: async () => Number((await q<{ n: string }>('SELECT count(*) AS n FROM nimmer.register_waiting'))[0]!.n),
      intervalMs: 100,
      onChange: (e) => changes.push(`${e.kind}:${e.workers}`),
    });
    try {
      await workerPool.tick();
      expect(workerPool.workers).toBe(1);
      const uids = Array.from({ length: 30 }, (_, i) => `ev-pool${i}`);
      for (const uid of uids) sup.start(ev(uid, 's-pool'), 1);
      await until(async () => Number((await q<{ n: string }>('SELECT count(*) AS n FROM nimmer.register_waiting'))[0]!.n) >= 20, 10_000, 'a queue');
      workerPool.start();
      await until(() => workerPool.workers === 3, 30_000, 'scale-up to 3');
      await until(() => gateway.applied.size === 30, 60_000, 'all events composed');
      await until(() => workerPool.workers === 1 && workerPool.drainingCount === 0, 30_000, 'scale-down to 1');
      expect(changes).toContain('draining:2');
      expect(changes.filter((c) => c.startsWith('exited'))).toHaveLength(2);
      expect(await q(`SELECT count(DISTINCT event_uid)::int AS n FROM nimmer.canon WHERE event_uid LIKE 'ev-pool%'`)).toEqual([{ n: 30 }]);
      expect(await q(`SELECT event_uid FROM nimmer.canon WHERE event_uid LIKE 'ev-pool%' AND slot = 'canon_audit' GROUP BY 1 HAVING count(*) > 1`)).toEqual([]);
    } finally {
      await workerPool.stop();
      sup.close();
      await stop();
    }
    expect(workerPool.workers).toBe(0);
  });
});
